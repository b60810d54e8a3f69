"""What turns a run into marks: the checks, the answers, the write-ups and the viva."""
