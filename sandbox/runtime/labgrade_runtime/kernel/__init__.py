"""Inside the student's kernel: the shims that make a Colab notebook run offline and headless, and the probe.

Untrusted company: everything here runs in the same process as student code,
so nothing here scores anything (that is :mod:`labgrade_runtime.evaluator`).
"""
