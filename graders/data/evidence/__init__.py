"""Which variant of a course file a notebook was written against: evidence from its code and saved outputs.

A notebook's author had one copy of each course file, and the notebook remembers it: the names its code
indexes (``df["MEDV"]``), how it reads (``header=None``, ``sep=r"\\s+"``, ``thousands=","``), whether it
handles NA, and above all the outputs saved with it (``df.head()`` tables, ``df.info()``, ``df.shape``).

The matcher does not guess from keywords alone: for each declared variant it rebuilds the student's copy
host side, reads it *with the student's own read call*, replays the simple pandas steps the notebook took
on the frame (``dropna()``, ``drop(...)``, ``inplace=True`` calls), renders each expression whose output was
saved (``head()``, ``info()``, ``shape``, ``describe()``, ``isnull().sum()``...) and compares the rendering
with the saved output. The variant that reproduces the saved outputs wins; code heuristics (column names
that would raise KeyError, NA left in a model's input, thousands separators read as text, a header line
read as data) decide only where the outputs do not, and a conflict is said in the reason. A file's name
never picks a variant; it only routes a read with no evidence at all to a course file's canonical copy.
Nothing of the notebook is executed: expressions are interpreted from a short whitelist of pandas calls.

The package reads in the order of the work: :mod:`.model` (what the evidence is), :mod:`.walk` (walking the
notebook's cells), :mod:`.reads` (the evidence of each read), :mod:`.replay` (a read and its saved outputs
replayed on one variant) and :mod:`.choice` (every variant scored, the best one served, with a reason).
"""
