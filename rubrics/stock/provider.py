"""Experiment 5 (Google stock price, RNN): real prices, and a hidden future.

Served beside the notebook, as students' course material ships them:

* ``Google_Stock_Price_Train.csv`` (2012-01-03..2016-12-30, 1258 rows) and
  ``Google_Stock_Price_Test.csv`` (January 2017, 20 rows), the Kaggle course
  files, byte for byte (quoted Volume with thousands separators, Close not
  split-adjusted before 2014: the traps stay where students meet them);
* ``GOOGL.csv`` (Yahoo-style, 2004-08-19..) **truncated after 2017-01-31**,
  the last day the Kaggle files cover, so the hidden period is in no file.

The hidden holdout is the *future*: the trading days from 2017-02-01 on
(``holdout_size`` of them; all 231 of 2017 by default). Only GOOGL.csv
continues past January 2017, and it is a different share class: the Kaggle
``Open`` is Alphabet class C (GOOG) from the April 2014 split on, while
GOOGL is class A, which trades a few percent higher. Over the 20 days of
the Kaggle test file GOOG/GOOGL Open has median 0.9730 (std 0.0018, min 0.9707,
max 0.9768; it was 0.9953 before the split and 0.95-0.99 since), so the
holdout is GOOGL's Open x that median ratio: a continuation on the scale
the students trained on, with GOOGL's day-to-day moves (class C's own 2017
prices are not in any file we have). The evaluator builds its windows and the
naive "tomorrow = today" baseline from this one calibrated series, so the
model and the baseline are judged on the same consistent prices; the
drift of the true class spread in 2017 (about 1 %) is below the level errors
of the models being graded.

The holdout file also carries the served Open series (``context``), which
the evaluator needs to build the first windows and to infer the student's
scaling; nothing in it is hidden except ``y``. The split is fixed by the
calendar, so ``seed`` changes nothing (the same seed gives the same files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graders.kit import CourseFile, ProfileSpec, course_data, load_variants, read_canonical

TRAIN_FILE = "Google_Stock_Price_Train.csv"
TEST_FILE = "Google_Stock_Price_Test.csv"
YAHOO_FILE = "GOOGL.csv"
LAST_SERVED_DAY = "2017-01-31"
DEFAULT_HOLDOUT_DAYS = 231  # 2017-02-01..2017-12-29


def _source_dir(real: Path | None) -> Path:
    """The instructor's copy of the three CSVs if it has them, else the project's."""
    if real is not None and all((real / "stock" / f).is_file() for f in (TRAIN_FILE, TEST_FILE, YAHOO_FILE)):
        return real / "stock"
    return course_data(Path(__file__).parent)


def _truncated_yahoo(text: str, last_day: str) -> tuple[str, str]:
    """GOOGL.csv's lines up to ``last_day`` (served) and the rest (hidden), verbatim."""
    lines = text.splitlines(keepends=True)
    # ISO dates compare correctly as strings; the header stays with the served part.
    cut = next((i for i, line in enumerate(lines[1:], 1) if line[:10] > last_day), len(lines))
    return "".join(lines[:cut]), "".join(lines[:1] + lines[cut:])


def _class_ratio(kaggle_test: pd.DataFrame, yahoo: pd.DataFrame) -> float:
    """Median GOOG/GOOGL Open ratio over the Kaggle test days (the latest overlap)."""
    dates = pd.to_datetime(kaggle_test["Date"], format="%m/%d/%Y")
    both = pd.DataFrame({"Date": dates, "goog": kaggle_test["Open"].astype(float)}).merge(yahoo, on="Date")
    if len(both) < 10:
        raise ValueError(
            f"{YAHOO_FILE} overlaps the Kaggle test file on {len(both)} days only; cannot match the scales"
        )
    return float(np.median(both["goog"] / both["Open"]))


def _hidden_future(hidden_text: str, days: int) -> pd.DataFrame:
    """The first ``days`` trading days after the served period (Date, Open and the file's other columns)."""
    from io import StringIO

    future = pd.read_csv(StringIO(hidden_text), parse_dates=["Date"]).dropna(subset=["Open"])
    if len(future) < days:
        raise ValueError(
            f"{YAHOO_FILE} has only {len(future)} days after {LAST_SERVED_DAY}, {days} asked for the holdout"
        )
    return future.iloc[:days].reset_index(drop=True)


def _canonical_rows(course: CourseFile) -> pd.DataFrame:
    """A course file's served rows as canonical cell text: every row dated up to the last served day.

    The variants of it (``variants.toml``) are written from these, so none can show the hidden future.
    """
    rows = read_canonical(course)
    if not course.date_column or not course.canonical_date_format:
        return rows
    days = pd.to_datetime(rows[course.date_column], format=course.canonical_date_format)
    return rows[days <= pd.Timestamp(LAST_SERVED_DAY)]


def _stats(x: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(x.mean()),
        "std": float(x.std()),
        "min": float(x.min()),
        "max": float(x.max()),
        "n": int(len(x)),
    }


def _numbers(column: pd.Series) -> np.ndarray:
    """A column as floats, thousands separators ('7,380,500') read as students convert them."""
    return pd.to_numeric(column.astype(str).str.replace(",", ""), errors="coerce").to_numpy("float64")


def _tables(
    train: pd.DataFrame, test: pd.DataFrame, yahoo: pd.DataFrame, future: pd.DataFrame, ratio: float
) -> dict[str, np.ndarray]:
    """Every price column (and Volume) of the served days and of the hidden future, for models of several features.

    The Kaggle files' columns continue into the hidden days as GOOGL's on the class C scale: prices times the
    class ratio, volume times the median GOOG/GOOGL volume ratio of the Kaggle test days (class C trades fewer
    shares). GOOGL.csv's own columns continue as they are.
    """
    kaggle = pd.concat([train, test], ignore_index=True)
    dates = pd.to_datetime(test["Date"], format="%m/%d/%Y")
    both = pd.DataFrame({"Date": dates, "goog": _numbers(test["Volume"])}).merge(yahoo, on="Date")
    volume_ratio = float(np.median(both["goog"] / both["Volume"])) if len(both) else 1.0
    columns = ["Open", "High", "Low", "Close", "Volume"]
    scale = {c: ratio for c in columns} | {"Volume": volume_ratio}
    googl = [c for c in ("Open", "High", "Low", "Close", "Adj Close", "Volume") if c in yahoo.columns]
    return {
        "table_columns": np.array(columns),
        "context_table": np.stack([_numbers(kaggle[c]) for c in columns], axis=1),
        "future_table": np.stack([_numbers(future[c]) * scale[c] for c in columns], axis=1),
        "table_columns_googl": np.array(googl),
        "context_table_googl": np.stack([_numbers(yahoo[c]) for c in googl], axis=1),
        "future_table_googl": np.stack([_numbers(future[c]) for c in googl], axis=1),
    }


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """Serve the three CSVs (GOOGL truncated) and hold back the calibrated 2017 future."""
    src = _source_dir(real)
    files = served / "files"
    files.mkdir(parents=True, exist_ok=True)
    for name in (TRAIN_FILE, TEST_FILE):
        (files / name).write_bytes((src / name).read_bytes())
    shown, hidden = _truncated_yahoo((src / YAHOO_FILE).read_text(encoding="utf-8"), LAST_SERVED_DAY)
    (files / YAHOO_FILE).write_text(shown, encoding="utf-8")
    train = pd.read_csv(src / TRAIN_FILE)
    test = pd.read_csv(src / TEST_FILE)
    yahoo = pd.read_csv(files / YAHOO_FILE, parse_dates=["Date"])
    ratio = _class_ratio(test, yahoo)
    future = _hidden_future(hidden, profile.holdout_size or DEFAULT_HOLDOUT_DAYS)
    served_open = np.concatenate([train["Open"].to_numpy("float64"), test["Open"].to_numpy("float64")])
    yahoo_open = yahoo["Open"].to_numpy("float64")
    holdout = {
        "y": future["Open"].to_numpy("float64") * ratio,  # first: its length is the holdout size
        "y_googl": future["Open"].to_numpy("float64"),
        "day": future["Date"].dt.strftime("%Y%m%d").astype("int64").to_numpy(),
        "context": served_open,
        "n_train": np.array([len(train)]),
        "context_googl": yahoo_open,
    }
    holdout.update(_tables(train, test, yahoo, future, ratio))
    first, last = future["Date"].iloc[0], future["Date"].iloc[-1]
    return {
        "keras": {},
        "canonical_rows": {c.name: _canonical_rows(c) for c in load_variants(Path(__file__).parent)},
        "holdout": holdout,
        "raw_stats": {
            "open": _stats(served_open[: len(train)]),
            "open_all": _stats(served_open),
            "googl_open": _stats(yahoo_open),
            "class_ratio": ratio,
        },
        "source": {
            "stock": (
                f"real Google prices: Kaggle course files (train {len(train)} rows, test {len(test)}) and "
                f"{YAHOO_FILE} up to {LAST_SERVED_DAY} served; "
                f"hidden future {first:%Y-%m-%d}..{last:%Y-%m-%d} ({len(future)} days) = GOOGL Open x "
                f"{ratio:.4f} (class C scale)"
            )
        },
    }
