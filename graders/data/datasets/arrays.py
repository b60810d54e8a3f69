"""What a provider reports about the arrays it serves, and how it cuts them to a profile's sizes."""

from __future__ import annotations

from typing import Any

import numpy as np

from graders.rubric import ProfileSpec


def feature_stats(x: Any, per_feature: bool) -> dict[str, Any]:
    """Scale of the served training inputs, which the evaluator compares with the student's.

    ``per_feature`` adds each column's mean and spread (2-D inputs only): a
    student who standardised per feature is matched column by column.
    """
    x = np.asarray(x, dtype="float64")
    stats: dict[str, Any] = {
        "mean": float(x.mean()),
        "std": float(x.std()),
        "min": float(x.min()),
        "max": float(x.max()),
    }
    if per_feature and x.ndim == 2:
        stats["feature_mean"] = x.mean(axis=0).tolist()
        stats["feature_std"] = x.std(axis=0).tolist()
    return stats


def cut_to_profile(data: dict[str, np.ndarray], profile: ProfileSpec, seed: int) -> None:
    """Cut the served ``x_/y_train`` and ``x_/y_test`` to the profile's sizes (seeded, order kept), in place."""
    rng = np.random.RandomState(seed)
    for split, size in (("train", profile.train_size), ("test", profile.test_size)):
        if size and len(data[f"x_{split}"]) > size:
            pick = np.sort(rng.choice(len(data[f"x_{split}"]), size, replace=False))
            data[f"x_{split}"], data[f"y_{split}"] = data[f"x_{split}"][pick], data[f"y_{split}"][pick]
