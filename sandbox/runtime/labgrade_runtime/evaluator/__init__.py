"""Trusted scoring, in a fresh process that never ran student code.

    python -m labgrade_runtime.evaluator /job/spec.json

:mod:`labgrade_runtime.evaluator.kit` holds the public helpers an
experiment's own ``rubrics/<id>/evaluate.py`` builds on.
"""
