"""Runs in the student's kernel after the last cell: exports what was trained.

The probe's files are *untrusted* (they come from the student's process): the
host validates them, and the evaluator recomputes everything that scores
from the saved model file alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from labgrade_runtime.contract import MODEL_FILE, PROBE_FILE, ProbeResult, WindowFeatures
from labgrade_runtime.kernel import embedding, preprocess, sktext, watch, windows
from labgrade_runtime.kernel.state import JOB, STATE, note


def _keras_models_in(namespace: dict[str, Any]) -> list[Any]:
    found = []
    for module_name in ("keras", "tf_keras"):
        module = sys.modules.get(module_name)
        model_cls = getattr(module, "Model", None) if module else None
        if model_cls is None:
            continue
        found += [v for v in namespace.values() if isinstance(v, model_cls)]
    return found


def _sklearn_estimators(namespace: dict[str, Any]) -> list[str]:
    if "sklearn" not in sys.modules:
        return []
    from sklearn.base import BaseEstimator

    return sorted({type(v).__name__ for v in namespace.values() if isinstance(v, BaseEstimator)})


def _pick_model(namespace: dict[str, Any]) -> tuple[Any, str]:
    if STATE.get("model") is not None:
        return STATE["model"], "the last model trained with fit()"
    candidates = [m for m in _keras_models_in(namespace) if getattr(m, "built", False)]
    if candidates:
        return candidates[-1], "a built Keras model found in the notebook (fit() was never called)"
    return None, ""


def _save(model: Any, out: Path) -> str:
    try:
        model.save(str(out / MODEL_FILE))
    except Exception as exc:  # the student's model may be unsaveable; that is a finding
        return f"{type(exc).__name__}: {exc}"
    return ""


def export(namespace: dict[str, Any]) -> None:
    """Write model.keras and probe.json into the job's artifact directory."""
    out = Path(JOB.spec.out_dir)
    _note_embedding_lookups()
    model, how = _pick_model(namespace)
    save_error = _save(model, out) if model is not None else ""
    runtime = STATE["fits"][-1]["runtime"] if STATE["fits"] else ("tf_keras" if "tf_keras" in sys.modules else "keras3")
    probe = {
        "model_found": model is not None,
        "model_how": how,
        "model_saved": model is not None and not save_error,
        "save_error": save_error,
        "keras_runtime": runtime,
        "fits": STATE["fits"],
        "history": _merge(STATE["histories"]),
        "sklearn_estimators": _sklearn_estimators(namespace),
        "preprocessing": _text_encoding(namespace, model),  # the notebook's own text encoding
        "window_features": _window_features(namespace),  # a sequence model's training windows, per feature
    }
    probe.update(watch.export(model, out))  # integrity evidence: shared rows, replaced methods, the own split
    # Through JSON first: the fit records may hold values (numpy scalars) only json's default= can write.
    result = ProbeResult.model_validate_json(json.dumps(probe, default=str))
    (out / PROBE_FILE).write_text(result.dump(), encoding="utf-8")


def _text_encoding(namespace: dict[str, Any], model: Any) -> dict[str, Any] | None:
    """A Keras Tokenizer / TextVectorization that fed the last fit(), else scikit-learn text features that did."""
    keras_text = preprocess.capture(namespace, STATE["fits"])
    if keras_text is None or keras_text.get("kind") == "unmatched":
        features = sktext.capture(namespace, model)
        if features is not None and (keras_text is None or features.get("kind") == "sklearn"):
            return features
    return keras_text


def _window_features(namespace: dict[str, Any]) -> dict[str, Any] | None:
    """The training windows per feature, if the contract takes them (never at the cost of the whole probe)."""
    found = windows.capture(namespace, STATE["fits"])
    if found is None:
        return None
    try:
        return WindowFeatures.model_validate_json(json.dumps(found, default=str)).model_dump()
    except ValueError:  # numbers the contract refuses: the evaluator falls back to the fit() record
        return None


def _note_embedding_lookups() -> None:
    """Say so when Embedding lookups fell outside the vocabulary (zeros, as on the students' GPU)."""
    try:
        detail = embedding.report()
    except Exception:  # the counter could not be read: nothing to say, nothing lost
        return
    if detail:
        note(embedding.KIND, detail)


def _merge(histories: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Concatenate the histories of successive fit() calls of the run."""
    merged: dict[str, list[float]] = {}
    for hist in histories:
        for key, values in hist.items():
            merged.setdefault(key, []).extend(values)
    return merged
