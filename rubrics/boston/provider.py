"""Experiment 1's data: the real Boston housing rows (StatLib), served three ways, some held out.

``BostonHousing.csv`` (clean, lower-case columns), ``HousingData.csv`` (Kaggle's
copy: upper-case columns, NA cells) and ``boston_housing.npz`` for
``keras.datasets.boston_housing``: the same rows, minus a seeded hidden holdout.
The served rows are also returned as canonical cell text (``canonical_rows``),
from which the store writes the copy of the file a notebook's evidence matches
(``variants.toml``): every variant holds exactly the served rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graders.kit import ProfileSpec, course_data, feature_stats, load_variants, read_canonical

DATA = course_data(Path(__file__).parent)  # the real course files: rubrics/boston/data/


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """Real Boston housing: a seeded hidden holdout, the rest served as CSVs and npz."""
    clean = pd.read_csv(DATA / "BostonHousing.csv")
    kaggle = pd.read_csv(DATA / "HousingData.csv")
    order = np.random.RandomState(seed).permutation(len(clean))
    n_hold = profile.holdout_size or 56
    hold, keep = np.sort(order[:n_hold]), np.sort(order[n_hold:])
    files = served / "files"
    files.mkdir(parents=True, exist_ok=True)
    clean.iloc[keep].to_csv(files / "BostonHousing.csv", index=False)
    kaggle.iloc[keep].to_csv(files / "HousingData.csv", index=False, na_rep="NA")
    x = clean.iloc[:, :13].to_numpy("float64")
    y = clean.iloc[:, 13].to_numpy("float64")
    np.savez(served / "boston_housing.npz", x=x[keep], y=y[keep])
    return {
        "keras": {"boston_housing": "boston_housing.npz"},
        "canonical_rows": {c.name: read_canonical(c).iloc[keep] for c in load_variants(Path(__file__).parent)},
        "holdout": {"x": x[hold], "y": y[hold]},
        "raw_stats": {"x": feature_stats(x[keep], True), "y": feature_stats(y[keep], False)},
        "source": {"boston": f"real Boston housing (StatLib), {len(keep)} rows served, {n_hold} held out"},
    }
