"""Mini project 2 scoring: gender accuracy and age MAE (years) on hidden UTKFace-like photos.

The model should have two outputs: a gender head (one sigmoid unit or a
2-way softmax) and an age head (one linear unit). Which output is which is
read from the output layers' activations, falling back to the values (a
head whose values are probabilities is the gender head). A single 2-unit
output is read as the manual's ``Dense(2)``: column 0 gender, column 1 age.

Label conventions the evaluator cannot know are resolved openly: gender is
scored under the better of "1 = female" (UTKFace) and "1 = male" (the
manual's ``male`` column); the age head's scale (years, age/100, age/max,
standardised) is the one whose predictions match the served ages' mean.
The image helpers repeat rubrics/face/evaluate.py's: only this folder is
mounted into the evaluator's sandbox.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labgrade_runtime.evaluator.kit import EvalSpec, EvaluationError, FitRecord, model_images, scalings


def _activation(model: Any, index: int, name: str = "") -> str:
    """Activation of the layer producing output ``index`` (or named ``name``); '' when it cannot be told."""
    try:
        layer = model.get_layer(name) if name else model.outputs[index]._keras_history[0]
        return str(layer.get_config().get("activation", ""))
    except (AttributeError, IndexError, TypeError, ValueError):
        return ""


def heads(model: Any, pred: Any) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    """(gender probability of class 1, raw age output, number of separate heads)."""
    named = (
        list(pred.items())
        if isinstance(pred, dict)
        else [("", p) for p in (pred if isinstance(pred, (list, tuple)) else [pred])]
    )
    outs = [
        (np.asarray(o, dtype="float64").reshape(len(o), -1), _activation(model, i, name))
        for i, (name, o) in enumerate(named)
    ]
    first = outs[0][0]
    if len(outs) == 1 and first.shape[1] == 2 and not np.allclose(first.sum(axis=1), 1.0, atol=1e-3):
        return first[:, 0], first[:, 1], 1  # the manual's Dense(2): [male, age]
    gender = age = None
    for out, act in outs:
        probs = out.min() >= 0 and out.max() <= 1
        if gender is None and (act in ("sigmoid", "softmax") or (not act and probs)) and out.shape[1] in (1, 2):
            gender = out[:, -1]  # sigmoid: P(class 1); softmax: column 1 = P(class 1)
        elif age is None and out.shape[1] == 1:
            age = out[:, 0]
    return gender, age, len(outs)


def age_back(pred: np.ndarray, raw_age: dict[str, Any]) -> tuple[np.ndarray, str]:
    """Predictions mapped back to years by the scale whose mean matches the served ages."""
    mean, std, top = float(raw_age["mean"]), max(float(raw_age["std"]), 1e-6), max(float(raw_age["max"]), 1.0)
    candidates = [
        ("years", pred),
        ("age/100", pred * 100.0),
        (f"age/{top:g}", pred * top),
        ("standardised age", pred * std + mean),
    ]
    name, back = min(candidates, key=lambda c: abs(float(np.mean(c[1])) - mean))
    return back, f"age head read as {name}"


def _gender_accuracy(p: np.ndarray, gender: np.ndarray) -> tuple[float, str]:
    said = (p >= 0.5).astype(int)
    female, male = float((said == gender).mean()), float((said == 1 - gender).mean())
    return (female, "gender 1 = female") if female >= male else (male, "gender 1 = male")


def score(model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec) -> tuple[dict[str, float], str]:
    """Gender accuracy, age MAE in years (and the predict-the-mean baseline), number of heads."""
    x = model_images(model, holdout["x"])
    raw = spec.raw_stats
    best: tuple[float, dict[str, float], str] | None = None
    for how, transform in scalings(fit.x, raw["x"]):
        gender_p, age_raw, n_heads = heads(
            model, model.predict(transform(x).astype("float32"), verbose=0, batch_size=128)
        )
        if gender_p is None or age_raw is None:
            raise EvaluationError(
                f"could not find both a gender output (sigmoid/softmax) and an age output (one linear unit) "
                f"among the model's {n_heads} output(s)"
            )
        acc, convention = _gender_accuracy(gender_p, holdout["gender"])
        years, age_how = age_back(age_raw, raw["age"])
        mae = float(np.mean(np.abs(years - holdout["age"])))
        metrics = {
            "accuracy": acc,
            "mae": mae,
            "mae_baseline": float(np.mean(np.abs(raw["age"]["mean"] - holdout["age"]))),
            "heads": float(n_heads),
        }
        if best is None or acc - mae / 100 > best[0]:
            best = (acc - mae / 100, metrics, f"{how}; {convention}; {age_how}")
    assert best is not None
    return best[1], best[2]
