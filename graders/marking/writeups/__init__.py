"""Write-ups handed in beside a notebook: finding them, reading them, and taking the answers from them.

Students of this lab answer the assignment questions in a Word journal, a PDF
exported from Word or Google Docs, or a text file, more often than in the
notebook's markdown. Grading only the markdown gave those students 0 Answers.
This module finds the write-ups in the student's folder (or inside a .zip),
attributes each to an experiment by its text first and its file name second
(file names lie, as with notebooks), reads them into located sections (so
evidence can cite ``answers.docx, paragraph 14`` or ``answers.pdf, page 2``)
and, for each question, keeps the better of the notebook's and the write-ups'
answers. Matching and scoring are those of :mod:`graders.marking.answers`.

Nothing here raises on a student's file: a broken, encrypted or scanned
write-up becomes a note that the examiner sees, never a silent 0.

:mod:`.read` reads a write-up into located sections, :mod:`.match` keeps each question's better answer,
:mod:`.find` finds the write-ups that belong to an experiment.
"""
