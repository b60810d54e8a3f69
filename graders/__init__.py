"""labgrade: an autograding harness for deep-learning lab submissions."""

__version__ = "0.1.0"
