"""Kernel adapter: the names students give the Google stock files (beyond the rubric's exact aliases).

A read of ``goog_test_2017.csv`` means the Kaggle test file, one of
``google_train.csv`` or ``GOOG.csv`` the training file (else the Yahoo one).
"""

from __future__ import annotations

from labgrade_runtime.kernel import datafiles


def install() -> None:
    """Register the fuzzy families, most specific first."""
    datafiles.register_family(r"goog.*test|test.*goog", ("Google_Stock_Price_Test.csv",))
    datafiles.register_family(r"goog.*train|train.*goog|goog", ("Google_Stock_Price_Train.csv", "GOOGL.csv"))
