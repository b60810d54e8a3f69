"""Realistic fixtures:
heavy analysis under the run's budget, run-past across Keras generations, prose in code cells, Colab's memory,
GPU lookups, older pandas generations.

Each case is a small notebook written to a pattern seen in students' work (never a copy of one), with the
outcome it deserves; ``cases.CASES`` includes them, so ``test_realistic.py`` grades them and
``benchmarks/realistic.py`` lists their expected statuses.
"""

from __future__ import annotations

from cases import Case

CASES: list[Case] = []
