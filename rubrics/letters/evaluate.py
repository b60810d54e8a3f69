"""Experiment 2B's scoring: the letters holdout or the digits holdout, by the model.

The holdout has held-out UCI rows (``x_letters`` 16 integer features,
``y_letters`` 0..25 for A..Z) and held-out MNIST images (``x_mnist`` uint8
28x28, ``y_mnist``). A 26-way output is scored on the letters, a 10-way one
on the digits; inputs are scaled the way the student's training inputs were
(per feature for the letters: standardised, min-max, /15 or raw all match).
Runs in the trusted evaluator process; no student code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labgrade_runtime.evaluator.kit import (
    EvalSpec,
    EvaluationError,
    FitRecord,
    classification_metrics,
    input_transform,
    reshape_for,
)

VARIANTS = {26: ("letters", True, "UCI letters"), 10: ("mnist", False, "MNIST digits")}


def _output_units(model: Any) -> int:
    shape = model.outputs[0].shape if getattr(model, "outputs", None) else model.output_shape
    return int(tuple(shape)[-1])


def score(model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec) -> tuple[dict[str, float], str]:
    """Accuracy on the held-out letters (26-way output) or digits (10-way output)."""
    units = _output_units(model)
    if units not in VARIANTS:
        raise EvaluationError(f"the model has {units} outputs; the letters need 26 (A-Z), the manual's MNIST digits 10")
    name, per_feature, label = VARIANTS[units]
    transform, how = input_transform(fit.x, spec.raw_stats[name]["x"], per_feature)
    x = reshape_for(model, transform(holdout[f"x_{name}"].astype("float64")))
    pred = model.predict(x, verbose=0, batch_size=256)
    if isinstance(pred, (list, tuple)):
        pred = pred[0]
    metrics = classification_metrics(pred, holdout[f"y_{name}"])
    return {**metrics, f"accuracy_{name}": metrics["accuracy"]}, f"{label} holdout; inputs {how}"
