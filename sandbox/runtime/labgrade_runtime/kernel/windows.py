"""The training windows of a sequence model, per feature, captured at probe time for the trusted evaluator.

A stock model trained on windows of several columns a day (Open, High, Low,
Close, Volume; shapes such as (10, 5) or (60, 2)) can only be scored on the
hidden days if they are fed the same columns, in the same order, scaled the
same way. The fit() record keeps the whole array's statistics only; here the
array fit() was given is found in the namespace (its shape and mean) and its
per-feature minimum, maximum, mean and spread are recorded, with the fitted
scikit-learn scalers of the notebook as plain numbers (and the column names
they were fitted on, when the notebook fitted them on a DataFrame). The
evaluator matches each feature to a served column from these numbers.

Runs in the student's process: what it writes is untrusted (the contract
validates it) and can only change how the holdout is fed to the student's
own model.
"""

from __future__ import annotations

import math
from typing import Any

MAX_FEATURES = 512
MAX_VALUES = 10_000_000  # windows of prices are small; a stack of images (60,000 x 28 x 28) is not a window array
_SCALERS = ("MinMaxScaler", "StandardScaler", "RobustScaler", "MaxAbsScaler")


def _scaler(name: str, value: Any) -> dict[str, Any] | None:
    """A fitted scaler as (scale, offset) per column: transformed = value * scale + offset."""
    import numpy as np

    kind = type(value).__name__
    if kind not in _SCALERS or not type(value).__module__.startswith("sklearn.") or not hasattr(value, "scale_"):
        return None
    ones = np.ones(int(value.n_features_in_))
    if kind == "MinMaxScaler":
        scale, offset = np.asarray(value.scale_, float), np.asarray(value.min_, float)
    elif kind == "StandardScaler":
        scale = 1.0 / np.asarray(value.scale_, float) if value.scale_ is not None else ones
        offset = -np.asarray(value.mean_, float) * scale if value.mean_ is not None else 0.0 * ones
    elif kind == "RobustScaler":
        scale = 1.0 / np.asarray(value.scale_, float) if value.scale_ is not None else ones
        offset = -np.asarray(value.center_, float) * scale if value.center_ is not None else 0.0 * ones
    else:
        scale, offset = 1.0 / np.asarray(value.scale_, float), 0.0 * ones
    names = getattr(value, "feature_names_in_", None)
    if len(scale) > MAX_FEATURES or not all(math.isfinite(v) for v in (*scale, *offset)):
        return None
    return {
        "variable": name,
        "scaler": kind,
        "names": [str(n) for n in names] if names is not None else [],
        "scale": [float(v) for v in scale],
        "offset": [float(v) for v in offset],
    }


def _training_windows(namespace: dict[str, Any], fit_x: dict[str, Any]) -> Any:
    """The 3-D array fit() was given: one in the namespace with its shape and mean."""
    import numpy as np

    shape = tuple(fit_x.get("shape") or ())
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, type) or getattr(value, "shape", None) is None:
            continue
        try:
            if tuple(int(d) for d in value.shape) != shape:
                continue
            arr = np.asarray(value, dtype="float64")
            if abs(float(arr.mean()) - float(fit_x.get("mean", 0.0))) <= 1e-6 * max(1.0, abs(float(arr.mean()))):
                return arr
        except Exception:  # a tensor on a device, a dataset: not comparable here
            continue
    return None


def capture(namespace: dict[str, Any], fits: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Per-feature statistics of the last fit()'s 3-D input, and the notebook's scalers; None when not found.

    Never raises: a failure here must not lose the rest of the probe.
    """
    try:
        return _capture(namespace, fits)
    except Exception:  # nothing recorded: the evaluator falls back to the whole array's statistics
        return None


def _capture(namespace: dict[str, Any], fits: list[dict[str, Any]]) -> dict[str, Any] | None:
    import numpy as np

    fit = fits[-1] if fits else {}
    fit_x, fit_y = fit.get("x") or {}, fit.get("y") or {}
    shape = list(fit_x.get("shape") or [])
    if len(shape) != 3 or not 0 < shape[-1] <= MAX_FEATURES or math.prod(shape) > MAX_VALUES:
        return None
    arr = _training_windows(namespace, fit_x)
    if arr is None or not np.all(np.isfinite(arr)):
        return None
    y_shape = list(fit_y.get("shape") or [])
    scalers = [s for s in (_scaler(n, v) for n, v in list(namespace.items()) if not n.startswith("_")) if s]
    return {
        "shape": [int(d) for d in arr.shape],
        "min": arr.min(axis=(0, 1)).tolist(),
        "max": arr.max(axis=(0, 1)).tolist(),
        "mean": arr.mean(axis=(0, 1)).tolist(),
        "std": arr.std(axis=(0, 1)).tolist(),
        "y_columns": max(1, min(int(np.prod(y_shape[1:])), MAX_FEATURES)) if len(y_shape) > 1 else 1,
        "scalers": scalers[:32],
    }
