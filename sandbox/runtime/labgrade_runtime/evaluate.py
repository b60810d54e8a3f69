"""The trusted evaluator: scores a student's saved model on the hidden holdout.

    python -m labgrade_runtime.evaluate /eval/spec.json

Runs in a fresh process that executes no student code: the model is loaded
with Keras ``safe_mode`` (no lambdas, no custom objects), its architecture is
read from the loaded model, and the holdout is fed the way the student's own
training data was shaped and scaled (inferred from the training inputs'
statistics, compared with the raw data the student was served). Numbers
printed inside the student's process are never used.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if __name__ == "__main__":
    # Run as `python -m`, this module is __main__; experiment hooks that import
    # labgrade_runtime.evaluate must get this very module (one EvaluationError class).
    sys.modules.setdefault("labgrade_runtime.evaluate", sys.modules[__name__])


class EvaluationError(Exception):
    """The model cannot be scored; the message says why, for the student."""


# ---------------------------------------------------------------- scaling


def _affine(fit_mean: Any, fit_std: Any, raw_mean: Any, raw_std: Any) -> tuple[np.ndarray, np.ndarray]:
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


def input_transform(fit_x: dict[str, Any] | None, raw: dict[str, Any], per_feature: bool) -> tuple[Any, str]:
    """The map from raw holdout inputs to what the model was trained on."""
    if not fit_x:
        return (lambda x: x.astype("float32")), "as served (training inputs were not recorded)"
    if per_feature and "feature_mean" in fit_x and len(fit_x["feature_mean"]) == len(raw["feature_mean"]):
        a, b = _affine(fit_x["feature_mean"], fit_x["feature_std"], raw["feature_mean"], raw["feature_std"])
        if np.allclose(a, 1.0, atol=0.03) and np.allclose(b, 0.0, atol=0.05 * max(1.0, float(np.max(np.abs(raw["feature_mean"]))))):
            return (lambda x: x.astype("float32")), "as served"
        return (lambda x: (x * a + b).astype("float32")), "per-feature standardisation matched to the training inputs"
    a, b = _affine(fit_x["mean"], fit_x["std"], raw["mean"], raw["std"])
    sa, sb, how = _snap_scalar(float(a), float(b), float(raw["max"]))
    return (lambda x: (x * sa + sb).astype("float32")), how


def _reshape_for(model: Any, x: np.ndarray) -> np.ndarray:
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    per_sample = tuple(int(d) for d in tuple(shape)[1:])
    if int(np.prod(per_sample)) != int(np.prod(x.shape[1:])):
        raise EvaluationError(
            f"the model expects inputs of shape {per_sample}, but each {x.shape[1:]} holdout sample has "
            f"{int(np.prod(x.shape[1:]))} values; the harness can only feed the experiment's standard inputs"
        )
    return x.reshape((len(x),) + per_sample)


# ---------------------------------------------------------------- metrics


def _classification(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    pred = np.asarray(pred)
    if pred.ndim == 2 and pred.shape[1] > 1:
        labels = pred.argmax(axis=1)
    else:
        labels = (pred.reshape(-1) >= 0.5).astype(int)
    y = np.asarray(y).reshape(-1) if np.asarray(y).ndim == 1 else np.asarray(y).argmax(axis=1)
    return {"accuracy": float((labels == y).mean())}


def _regression(pred: np.ndarray, y: np.ndarray, y_back: Any) -> dict[str, float]:
    pred = y_back(np.asarray(pred, float).reshape(-1))
    y = np.asarray(y, float).reshape(-1)
    err = pred - y
    mse = float(np.mean(err**2))
    var = float(np.var(y))
    return {"mse": mse, "mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(mse)), "r2": 1.0 - mse / var if var > 0 else 0.0}


def _target_back(fit_y: dict[str, Any] | None, raw_y: dict[str, Any]) -> tuple[Any, str]:
    if not fit_y:
        return (lambda p: p), "targets as served"
    a, b = _affine(fit_y["mean"], fit_y["std"], raw_y["mean"], raw_y["std"])
    a, b = float(a), float(b)
    if abs(a - 1.0) <= 0.05 and abs(b) <= 0.05 * max(abs(raw_y["mean"]), 1.0):
        return (lambda p: p), "targets as served"
    return (lambda p: (p - b) / a), "predictions mapped back from the student's scaled targets"


# ---------------------------------------------------------------- model


def architecture(model: Any) -> list[dict[str, Any]]:
    """Layers of the loaded model: name, class, output shape, parameters, config bits."""
    layers = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
            out_shape = [None if d is None else int(d) for d in tuple(shape)]
        except (AttributeError, ValueError):
            out_shape = []
        cfg = layer.get_config()
        layers.append({
            "name": layer.name,
            "class_name": type(layer).__name__,
            "output_shape": out_shape,
            "params": int(layer.count_params()),
            "activation": str(cfg.get("activation", "")),
            "units": cfg.get("units", cfg.get("filters")),
        })
    return layers


def _compile_info(model_path: str) -> dict[str, Any]:
    """Loss and optimizer names from the saved file's config (no objects built)."""
    import zipfile

    try:
        with zipfile.ZipFile(model_path) as zf:
            config = json.loads(zf.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return {}
    compile_cfg = config.get("compile_config") or {}
    loss = compile_cfg.get("loss")
    optimizer = compile_cfg.get("optimizer")
    return {
        "loss": loss if isinstance(loss, str) else (loss or {}).get("class_name", "") if isinstance(loss, dict) else str(loss or ""),
        "optimizer": optimizer if isinstance(optimizer, str) else (optimizer or {}).get("class_name", "") if isinstance(optimizer, dict) else "",
    }


def load_model(path: str, runtime: str) -> Any:
    """Load with safe_mode in the Keras generation the model was saved by."""
    if runtime == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras as keras  # type: ignore[import-not-found]

        return keras.models.load_model(path, compile=False, safe_mode=True)
    import keras

    return keras.models.load_model(path, compile=False, safe_mode=True)


def _experiment_hook(folder: str | None) -> Any:
    """The experiment's own scoring module (rubrics/<id>/evaluate.py), if it has one."""
    if not folder or not (Path(folder) / "evaluate.py").is_file():
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("labgrade_experiment_evaluate", Path(folder) / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def builtin_metrics(model: Any, holdout: dict[str, np.ndarray], fit: dict[str, Any], spec: dict[str, Any]) -> tuple[dict[str, float], str]:
    """Classification accuracy or regression errors on x/y holdouts of images or tables."""
    transform, how = input_transform(fit.get("x"), spec["raw_stats"]["x"], spec["input"] == "tabular")
    x = _reshape_for(model, transform(holdout["x"].astype("float64")))
    pred = model.predict(x, verbose=0, batch_size=256)
    if isinstance(pred, (list, tuple)):
        pred = pred[0]
    if spec["kind"] == "classification":
        return _classification(pred, holdout["y"]), how
    back, back_how = _target_back(fit.get("y"), spec["raw_stats"]["y"])
    return _regression(pred, holdout["y"], back), f"{how}; {back_how}"


def evaluate(spec: dict[str, Any]) -> dict[str, Any]:
    """Score the model described by ``spec``; raises EvaluationError with a reason."""
    probe = json.loads(Path(spec["probe"]).read_text(encoding="utf-8"))
    fit = probe["fits"][-1] if probe.get("fits") else {}
    try:
        model = load_model(spec["model"], probe.get("keras_runtime", "keras3"))
    except Exception as exc:  # any failure to load safely is the submission's outcome
        raise EvaluationError(f"the saved model could not be loaded safely: {type(exc).__name__}: {str(exc)[:300]}") from exc
    with np.load(spec["holdout"], allow_pickle=False) as data:
        holdout = {k: data[k] for k in data.files}
    hook = _experiment_hook(spec.get("rubric_dir"))
    try:
        if hook is not None:
            metrics, how = hook.score(model, holdout, fit, spec)
        else:
            metrics, how = builtin_metrics(model, holdout, fit, spec)
    except EvaluationError:
        raise
    except Exception as exc:  # a model that cannot take the holdout is the submission's outcome
        raise EvaluationError(f"the model could not be run on the holdout: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return {
        "metrics": {k: float(v) for k, v in metrics.items()},
        "architecture": architecture(model),
        "total_params": int(model.count_params()),
        "compile": _compile_info(spec["model"]),
        "input_transform": how,
        "holdout_size": int(len(next(iter(holdout.values())))) if holdout else 0,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m labgrade_runtime.evaluate SPEC``; writes the result file."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    artifacts, holdout, out = (Path(os.environ[v]) for v in ("LABGRADE_ARTIFACTS", "LABGRADE_HOLDOUT", "LABGRADE_OUT"))
    spec.update(model=str(artifacts / "model.keras"), probe=str(artifacts / "probe.json"), holdout=str(holdout / "holdout.npz"), result=str(out / "evaluation.json"))
    if os.environ.get("LABGRADE_RUBRIC"):
        spec["rubric_dir"] = os.environ["LABGRADE_RUBRIC"]
    try:
        result: dict[str, Any] = {"ok": True, **evaluate(spec)}
    except EvaluationError as exc:
        result = {"ok": False, "reason": str(exc)}
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
