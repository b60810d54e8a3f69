"""What the marks become: the pages, the curves, the sheet's formatting and the LMS exports."""
