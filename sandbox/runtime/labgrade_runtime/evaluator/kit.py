"""Trusted helpers for the built-in evaluator and the experiments' own scoring modules (rubrics/<id>/evaluate.py).

This is the public surface an experiment's ``evaluate.py`` builds on: the
error that makes a run ``evaluation_failed`` with a reason, the affine match
of training-input moments, reshaping, and the standard metrics.

Image experiments share them: feed a holdout image batch to whatever input
size and channel count the student's model takes, scaled the way the
student's training inputs were (or, when a data generator hid them, the
standard scalings students write).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from labgrade_runtime.contract import ArrayStats, EvalSpec, FitRecord, TextPreprocessing, WindowFeatures

# What an experiment's ``score(model, holdout, fit, spec)`` is given, typed by the contract, and what it may use.
__all__ = [
    "STANDARD_SCALINGS",
    "ArrayStats",
    "EvalSpec",
    "EvaluationError",
    "FitRecord",
    "TextPreprocessing",
    "Transform",
    "WindowFeatures",
    "affine",
    "classification_metrics",
    "input_transform",
    "model_images",
    "predict_first",
    "reshape_for",
    "scalings",
]

Transform = Callable[[np.ndarray], np.ndarray]


class EvaluationError(Exception):
    """The model cannot be scored; the message says why, for the student."""


# ---------------------------------------------------------------- scaling


def affine(fit_mean: Any, fit_std: Any, raw_mean: Any, raw_std: Any) -> tuple[np.ndarray, np.ndarray]:
    """Scale a, shift b with fit ~= a * raw + b, by matching the first two moments."""
    fm, fs = np.asarray(fit_mean, float), np.asarray(fit_std, float)
    rm, rs = np.asarray(raw_mean, float), np.asarray(raw_std, float)
    a = np.where(rs > 1e-12, fs / np.where(rs > 1e-12, rs, 1.0), 1.0)
    b = fm - a * rm
    return a, b


def _snap_scalar(a: float, b: float, spread: float) -> tuple[float, float, str]:
    """Prefer the transforms students actually write when the moments agree."""
    for scale, name in ((1.0, "as served"), (1 / 255.0, "divided by 255")):
        if abs(a - scale) <= 0.03 * scale and abs(b) <= 0.03 * scale * max(spread, 1.0):
            return scale, 0.0, name
    return a, b, f"affine x*{a:.4g}{b:+.4g} (matched to the training inputs' mean and spread)"


def input_transform(fit_x: ArrayStats | None, raw: dict[str, Any], per_feature: bool) -> tuple[Transform, str]:
    """The map from raw holdout inputs to what the model was trained on."""
    if not fit_x:
        return (lambda x: x.astype("float32")), "as served (training inputs were not recorded)"
    if per_feature and fit_x.feature_mean is not None and len(fit_x.feature_mean) == len(raw["feature_mean"]):
        a, b = affine(fit_x.feature_mean, fit_x.feature_std, raw["feature_mean"], raw["feature_std"])
        if np.allclose(a, 1.0, atol=0.03) and np.allclose(
            b, 0.0, atol=0.05 * max(1.0, float(np.max(np.abs(raw["feature_mean"]))))
        ):
            return (lambda x: x.astype("float32")), "as served"
        return (lambda x: (x * a + b).astype("float32")), "per-feature standardisation matched to the training inputs"
    a, b = affine(fit_x.mean, fit_x.std, raw["mean"], raw["std"])
    sa, sb, how = _snap_scalar(float(a), float(b), float(raw["max"]))
    return (lambda x: (x * sa + sb).astype("float32")), how


def reshape_for(model: Any, x: np.ndarray) -> np.ndarray:
    """The holdout reshaped to the model's own input shape (flat vectors for a Dense net, images for a CNN)."""
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    per_sample = tuple(int(d) for d in tuple(shape)[1:])
    if int(np.prod(per_sample)) != int(np.prod(x.shape[1:])):
        raise EvaluationError(
            f"the model expects inputs of shape {per_sample}, but each {x.shape[1:]} holdout sample has "
            f"{int(np.prod(x.shape[1:]))} values; the harness can only feed the experiment's standard inputs"
        )
    return x.reshape((len(x),) + per_sample)


def classification_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy of class scores (softmax rows or one sigmoid) against integer or one-hot labels."""
    pred = np.asarray(pred)
    if pred.ndim == 2 and pred.shape[1] > 1:
        labels = pred.argmax(axis=1)
    else:
        labels = (pred.reshape(-1) >= 0.5).astype(int)
    y = np.asarray(y).reshape(-1) if np.asarray(y).ndim == 1 else np.asarray(y).argmax(axis=1)
    return {"accuracy": float((labels == y).mean())}


# The scalings students write for images, as (name, transform of 0..255 pixels).
STANDARD_SCALINGS = (
    ("divided by 255", lambda x: x / 255.0),
    ("as served (0..255)", lambda x: x),
    ("scaled to [-1, 1]", lambda x: x / 127.5 - 1.0),
)


def model_images(model: Any, x: np.ndarray) -> np.ndarray:
    """Holdout images resized to the model's input height/width, gray if it takes one channel."""
    import tensorflow as tf

    shape = tuple(model.inputs[0].shape)
    if len(shape) == 2 and shape[1] == int(np.prod(x.shape[1:])):
        return np.asarray(x, dtype="float64").reshape(len(x), -1)  # a dense network on flattened pixels
    if len(shape) != 4:
        raise EvaluationError(f"the model takes inputs of shape {shape[1:]}, not images (height, width, channels)")
    h, w, c = shape[1], shape[2], shape[3]
    out = np.asarray(x, dtype="float32")
    if h is not None and w is not None and (int(h), int(w)) != out.shape[1:3]:
        out = tf.image.resize(out, (int(h), int(w))).numpy()
    if c == 1:
        out = out @ np.array([[0.299], [0.587], [0.114]], "float32")
    return out.astype("float64")


def scalings(fit_x: ArrayStats | None, raw_x: dict[str, Any]) -> list[tuple[str, Transform]]:
    """The input transform(s) to try: the recorded one, else every standard scaling."""
    if fit_x:
        transform, how = input_transform(fit_x, raw_x, False)
        return [(how, transform)]
    note = "training inputs not recorded (a data generator fed fit()); best standard scaling: "
    return [(note + name, fn) for name, fn in STANDARD_SCALINGS]


def predict_first(model: Any, x: np.ndarray) -> np.ndarray:
    """The model's (first) output on x."""
    pred = model.predict(x.astype("float32"), verbose=0, batch_size=128)
    if isinstance(pred, dict):
        pred = next(iter(pred.values()))
    if isinstance(pred, (list, tuple)):
        pred = pred[0]
    return np.asarray(pred)
