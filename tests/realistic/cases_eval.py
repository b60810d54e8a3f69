"""Realistic fixtures:
what the evaluator scores: scikit-learn text features, multi-feature stock windows, models that abort
TensorFlow natively.

Each case is a small notebook written to a pattern seen in students' work (never a copy of one), with the
outcome it deserves; ``cases.CASES`` includes them, so ``test_realistic.py`` grades them and
``benchmarks/realistic.py`` lists their expected statuses.
"""

from __future__ import annotations

from cases import Case

CASES: list[Case] = []
