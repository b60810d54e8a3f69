"""Kernel adapter: the Boston files under fuzzy names, and their well-known other formats.

* any CSV named like Boston/housing means ``HousingData.csv`` (Kaggle's, with
  NA cells) or ``BostonHousing.csv`` (clean): the one whose columns the code
  names, and the clean one when the code never fills NA cells;
* the UCI whitespace ``housing.csv`` (no header), for code that reads it so;
* StatLib's original ``datasets/boston`` (22 lines of preamble, each row on
  two lines), as the scikit-learn deprecation message tells students to read it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from labgrade_runtime.kernel import datafiles, derived
from labgrade_runtime.kernel.state import JOB

CLEAN, KAGGLE = "BostonHousing.csv", "HousingData.csv"
FILLS_NA = r"fillna|dropna|isnull|isna|SimpleImputer"
_READS_WHITESPACE = r"delim_whitespace|\\s\+|sep\s*=\s*['\"] +['\"]|header\s*=\s*None"


def _uci_housing(files: dict[str, str]) -> derived.Maker | None:
    if CLEAN not in files or not re.search(_READS_WHITESPACE, JOB.spec.code):
        return None

    def make(out: Path) -> None:
        with open(files[CLEAN], encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
            rows = csv.reader(src)
            next(rows)
            for row in rows:
                dst.write(" ".join(f"{float(v):>10.5g}" for v in row) + "\n")

    return make


def _statlib(files: dict[str, str]) -> derived.Maker | None:
    if CLEAN not in files:
        return None

    def make(out: Path) -> None:
        with open(files[CLEAN], encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
            dst.writelines(f" The Boston house-price data (course copy), preamble line {i + 1}\n" for i in range(22))
            rows = csv.reader(src)
            next(rows)
            for row in rows:
                values = [f"{float(v):.4f}" for v in row]
                dst.write(" " + "  ".join(values[:11]) + "\n")
                dst.write("     " + "  ".join(values[11:]) + "\n")

    return make


def find_format(key: str, files: dict[str, str], url: bool) -> derived.Maker | None:
    """``housing.csv`` / ``housing.data`` in UCI's layout; StatLib's file (no suffix: only its URL means it)."""
    if key in ("housingcsv", "housingdata"):
        return _uci_housing(files)
    if key == "boston" and url:
        return _statlib(files)
    return None


def install() -> None:
    """Register the family (Kaggle's NA file last unless the code fills NA) and the derived formats."""
    datafiles.register_family(r"boston|housing", (KAGGLE, CLEAN), demote_unless={KAGGLE: FILLS_NA})
    derived.register(find_format)
