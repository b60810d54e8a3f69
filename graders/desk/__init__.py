"""The examiners' input: the desk (a local web app to mark vivas and answers into the gradebook as overrides) and
the marks files they import.

graders.desk.app           create_app(course, token=...), serve(course, host, port, token)
graders.desk.sheets        Desk, DeskError: what the desk's pages show
graders.desk.marks_import  a whole class's marks from a CSV, validated as a whole
"""
