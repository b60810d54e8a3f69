"""The trusted evaluator: scores a student's saved model on the hidden holdout.

    python -m labgrade_runtime.evaluator /job/spec.json

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from labgrade_runtime.contract import (
    EVAL_STAGE_FILE,
    EVALUATION_FILE,
    HOLDOUT_FILE,
    MODEL_FILE,
    PROBE_FILE,
    ArrayStats,
    ArtifactError,
    EvalResult,
    EvalRoots,
    EvalSpec,
    EvalStage,
    FitRecord,
    Layer,
    ProbeResult,
    check_artifact,
    written_here,
)
from labgrade_runtime.evaluator import own_split
from labgrade_runtime.evaluator.kit import EvaluationError, affine, classification_metrics, input_transform, reshape_for
from labgrade_runtime.kernel import embedding

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _regression(pred: np.ndarray, y: np.ndarray, y_back: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    pred = y_back(np.asarray(pred, float).reshape(-1))
    y = np.asarray(y, float).reshape(-1)
    err = pred - y
    mse = float(np.mean(err**2))
    var = float(np.var(y))
    return {
        "mse": mse,
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(mse)),
        "r2": 1.0 - mse / var if var > 0 else 0.0,
    }


def _target_back(fit_y: ArrayStats | None, raw_y: dict[str, Any]) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    if not fit_y:
        return (lambda p: p), "targets as served"
    scale, shift = affine(fit_y.mean, fit_y.std, raw_y["mean"], raw_y["std"])
    a, b = float(scale), float(shift)
    if abs(a - 1.0) <= 0.05 and abs(b) <= 0.05 * max(abs(raw_y["mean"]), 1.0):
        return (lambda p: p), "targets as served"
    return (lambda p: (p - b) / a), "predictions mapped back from the student's scaled targets"


# ---------------------------------------------------------------- model


def architecture(model: Any) -> list[Layer]:
    """Layers of the loaded model: name, class, output shape, parameters, config bits."""
    layers = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
            out_shape = [None if d is None else int(d) for d in tuple(shape)]
        except (AttributeError, ValueError):
            out_shape = []
        cfg = layer.get_config()
        layers.append(
            Layer(
                name=layer.name,
                class_name=type(layer).__name__,
                output_shape=out_shape,
                params=int(layer.count_params()),
                activation=str(cfg.get("activation", "")),
                units=cfg.get("units", cfg.get("filters")),
            )
        )
    return layers


def _compile_info(model_path: Path) -> dict[str, str]:
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
        "loss": loss
        if isinstance(loss, str)
        else (loss or {}).get("class_name", "")
        if isinstance(loss, dict)
        else str(loss or ""),
        "optimizer": optimizer
        if isinstance(optimizer, str)
        else (optimizer or {}).get("class_name", "")
        if isinstance(optimizer, dict)
        else "",
    }


def load_model(path: str, runtime: str) -> Any:
    """Load with safe_mode in the Keras generation the model was saved by."""
    if runtime == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras as keras

        return keras.models.load_model(path, compile=False, safe_mode=True)
    import keras

    return keras.models.load_model(path, compile=False, safe_mode=True)


def _experiment_hook(folder: Path | None) -> Any:
    """The experiment's own scoring module (rubrics/<id>/evaluate.py), if it has one."""
    if folder is None or not (folder / "evaluate.py").is_file():
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("labgrade_experiment_evaluate", folder / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def builtin_metrics(
    model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec
) -> tuple[dict[str, float], str]:
    """Classification accuracy or regression errors on x/y holdouts of images or tables."""
    transform, how = input_transform(fit.x, spec.raw_stats["x"], spec.input == "tabular")
    x = reshape_for(model, transform(holdout["x"].astype("float64")))
    pred = model.predict(x, verbose=0, batch_size=256)
    if isinstance(pred, (list, tuple)):
        pred = pred[0]
    if spec.kind == "classification":
        return classification_metrics(pred, holdout["y"]), how
    back, back_how = _target_back(fit.y, spec.raw_stats["y"])
    return _regression(pred, holdout["y"], back), f"{how}; {back_how}"


def read_probe(path: Path) -> ProbeResult:
    """The run's probe.json, validated by the contract: written inside the student's kernel, so never trusted.

    Anything the contract does not accept, or a training record whose numbers
    cannot describe real data, fails the evaluation with the reason.
    """
    try:
        probe = check_artifact(path, ProbeResult)
    except ArtifactError as exc:
        raise EvaluationError(f"the run's record cannot be trusted: {exc}") from None
    for i, fit in enumerate(probe.fits):
        for name, stats in (("x", fit.x), ("y", fit.y)):
            problem = stats.out_of_range() if stats is not None else ""
            if problem:
                raise EvaluationError(f"the run's record cannot be trusted: {path.name}: fits.{i}.{name}: {problem}")
    return probe


class Progress:
    """The evaluator's steps on disk: the stage it is in (``evaluation.stage.json``) and each result as it is known.

    TensorFlow can abort the process natively while a model is fed (an assertion in a oneDNN kernel, exit
    134): nothing of Python runs after that. So the main result is written the moment it is measured, before
    any secondary scoring, and the stage file says what was being done; the host turns a native death into
    those words and keeps the result already written.
    """

    def __init__(self, out: Path | None) -> None:
        self.out = out

    def stage(self, stage: str, detail: str = "", *, secondary: bool = False) -> None:
        """Enter a stage (replacing the previous one)."""
        if self.out is not None:
            self._replace(EVAL_STAGE_FILE, EvalStage(stage=stage, detail=detail[:300], secondary=secondary).dump())

    def result(self, result: EvalResult) -> None:
        """Write (or rewrite) the result file."""
        if self.out is not None:
            self._replace(EVALUATION_FILE, result.dump())

    def done(self) -> None:
        """Finished: no stage is in progress."""
        if self.out is not None:
            (self.out / EVAL_STAGE_FILE).unlink(missing_ok=True)

    def _replace(self, name: str, text: str) -> None:
        assert self.out is not None
        tmp = self.out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.out / name)  # never a half-written file, even if the process dies next


def _input_shape(model: Any) -> str:
    try:
        shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
        return str(tuple(None if d is None else int(d) for d in tuple(shape)))
    except Exception:  # a model without a single input: described by its class only
        return "?"


def _model_words(model: Any) -> str:
    """'Conv2D model taking (None, 28, 28, 1)': its first weighted layer's class and its input shape."""
    first = next((type(layer).__name__ for layer in getattr(model, "layers", []) if layer.weights), "Keras")
    return f"{first} model taking {_input_shape(model)}"


def evaluate(spec: EvalSpec, roots: EvalRoots, progress: Progress | None = None) -> EvalResult:
    """Score the model the run saved in ``roots.artifacts``; raises EvaluationError with a reason.

    With ``progress``, the main result is written as soon as it is measured, then the notebook's own split
    is scored and the result rewritten with it.
    """
    progress = progress or Progress(None)
    progress.stage("reading the run's record")
    probe = read_probe(roots.artifacts / PROBE_FILE)
    fit = probe.fits[-1] if probe.fits else FitRecord()
    try:
        model_file = written_here(roots.artifacts / MODEL_FILE)
    except ArtifactError as exc:
        raise EvaluationError(f"the saved model cannot be trusted: {exc}") from None
    progress.stage("loading the saved model", f"saved by {probe.keras_runtime}")
    try:
        embedding.patch_loaded(probe.keras_runtime)  # out-of-range lookups as on the students' GPU, as in the run
        model = load_model(str(model_file), probe.keras_runtime)
    except Exception as exc:  # any failure to load safely is the submission's outcome
        raise EvaluationError(
            f"the saved model could not be loaded safely: {type(exc).__name__}: {str(exc)[:300]}"
        ) from exc
    with np.load(roots.holdout / HOLDOUT_FILE, allow_pickle=False) as data:
        holdout = {k: data[k] for k in data.files}
    hook = _experiment_hook(roots.rubric)
    # The notebook's own text encoding (a fitted Tokenizer / TextVectorization), for hooks that score text;
    # a sequence model's training windows per feature, for hooks that build windows.
    spec = spec.model_copy(update={"preprocessing": probe.preprocessing, "window_features": probe.window_features})
    progress.stage("scoring the hidden holdout", _model_words(model))
    try:
        if hook is not None:
            metrics, how = hook.score(model, holdout, fit, spec)
        else:
            metrics, how = builtin_metrics(model, holdout, fit, spec)
    except EvaluationError:
        raise
    except Exception as exc:  # a model that cannot take the holdout is the submission's outcome
        raise EvaluationError(
            f"the model could not be run on the holdout: {type(exc).__name__}: {str(exc)[:300]}"
        ) from exc
    outside, top, _ = embedding.out_of_range()
    if outside:
        how += (
            f"; {outside:,} Embedding lookups beyond the vocabulary (indices up to {top:,}) gave zero vectors, "
            "as on a GPU"
        )
    result = EvalResult(
        ok=True,
        metrics={k: float(v) for k, v in metrics.items()},
        architecture=architecture(model),
        total_params=int(model.count_params()),
        compile=_compile_info(model_file),
        input_transform=how,
        holdout_size=int(len(next(iter(holdout.values())))) if holdout else 0,
    )
    progress.result(result)  # the main result, before anything secondary can kill the process
    if probe.own_split is not None:
        progress.stage(
            "scoring the notebook's own test split",
            f"{_model_words(model)} fed {own_split.saved_shape(probe, roots.artifacts)}",
            secondary=True,
        )
        # the notebook's own test rows
        result = result.model_copy(update={"own_split": own_split.score(model, probe, roots.artifacts)})
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m labgrade_runtime.evaluator SPEC``; writes the result file."""
    args = sys.argv[1:] if argv is None else argv
    spec = EvalSpec.model_validate_json(Path(args[0]).read_text(encoding="utf-8"))
    roots = EvalRoots.from_env()
    progress = Progress(roots.out)
    try:
        result = evaluate(spec, roots, progress)
    except EvaluationError as exc:
        result = EvalResult(ok=False, reason=str(exc))
    progress.result(result)
    progress.done()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
