"""Mini project 1 scoring: identity accuracy on held-out photos of the same people.

Loaded by the trusted evaluator (labgrade_runtime.evaluator.evaluate) in a fresh
process; ``score`` gets the safely loaded model and the hidden holdout
(``x`` uint8 (N, S, S, 3), ``y`` int identity labels). The holdout is resized
to the model's input size and scaled as the student's training inputs were;
when those were not recorded (a Keras data generator fed fit()), each of the
standard pixel scalings is tried and the one that suits the model is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labgrade_runtime.evaluator.kit import EvalSpec, FitRecord, model_images, predict_first, scalings


def score(model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec) -> tuple[dict[str, float], str]:
    """Identity accuracy on the hidden photos (classes numbered as the served ``label`` column)."""
    from labgrade_runtime.evaluator.kit import classification_metrics

    x = model_images(model, holdout["x"])
    best: tuple[float, str] = (-1.0, "")
    for how, transform in scalings(fit.x, spec.raw_stats["x"]):
        acc = classification_metrics(predict_first(model, transform(x)), holdout["y"])["accuracy"]
        best = max(best, (acc, how))
    chance = 1.0 / max(1, len(np.unique(holdout["y"])))
    return {"accuracy": best[0], "chance": chance}, best[1]
