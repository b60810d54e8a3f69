"""What the harness changes inside the student's kernel, and the record of it.

Installed by the runner as the kernel's first (hidden) cell:

* ``keras.datasets.*.load_data`` (Keras 3, ``tf.keras`` and tf-keras) serve the
  harness's own files for the profile instead of downloading (``kerasdata``);
* ``Model.fit`` runs as written while it fits the quick profile's budget of
  gradient updates, and a fit over it is cut to the budget in batches per
  epoch (``budget``; what the notebook loads keeps the real dataset's shapes
  in every profile: the time is saved here, never at load time); keeps one
  line per epoch, and records the trained model, its loss, its training
  inputs' shape and scale, its updates and its history for the probe;
* the offline/headless environment of real students' notebooks, each in its
  own module: course files under any name or path (``datafiles``,
  ``derived``), downloads (``network``), removed scikit-learn APIs
  (``sklearn_compat``), ``!pip``/``input()``/OpenCV windows (``environment``),
  Colab and Keras 2 scikit-learn wrapper stand-ins (``stubs``, ``wrappers``),
  Keras 2 code (``keras2``);
* the experiment's own kernel adapters (``rubrics/<id>/kernel/*.py``), which
  register what only that experiment needs through the modules' registration
  APIs: ``kerasdata.register_dataset``, ``stubs.register``,
  ``datafiles.register_family``, ``derived.register``,
  ``sklearn_compat.register_loader`` / ``register_openml``.

Every change that acts on the run is appended to ``adaptations.jsonl`` in the
artifact directory as it happens, so it survives a crash of the kernel.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from labgrade_runtime.kernel import budget, hooks, kerasdata, watch
from labgrade_runtime.kernel.state import JOB, STATE, note

_FIT_MODULES = {
    "keras.src.models.model": ("Model", "keras3"),
    "tf_keras.src.engine.training": ("Model", "tf_keras"),
}
# Module name -> "package.module:function" patching it right after import (resolved lazily).
_PATCHERS = {
    "tensorflow": "labgrade_runtime.kernel.shims:seed_tensorflow",
    "pandas": "labgrade_runtime.kernel.datafiles:patch_pandas",
    "PIL.Image": "labgrade_runtime.kernel.datafiles:patch_pil_image",
    "cv2": "labgrade_runtime.kernel.environment:patch_cv2",
    "sklearn.datasets": "labgrade_runtime.kernel.sklearn_compat:patch_datasets",
    "sklearn.metrics": "labgrade_runtime.kernel.sklearn_compat:patch_metrics",
    "keras.src.optimizers.base_optimizer": "labgrade_runtime.kernel.keras2:patch_keras3_optimizer",
    "tf_keras.src.optimizers.optimizer": "labgrade_runtime.kernel.keras2:patch_tf_keras_optimizer",
    "sklearn.preprocessing": "labgrade_runtime.kernel.watch:patch_scalers",
    "keras.src.trainers.trainer": "labgrade_runtime.kernel.compat:patch_keras3_compile",
    "keras.src.utils.model_visualization": "labgrade_runtime.kernel.compat:patch_plot_model",
    "tf_keras.src.utils.vis_utils": "labgrade_runtime.kernel.compat:patch_plot_model",
    "seaborn": "labgrade_runtime.kernel.compat:patch_seaborn",
    "keras.src.layers.core.embedding": "labgrade_runtime.kernel.embedding:patch_module",
    "tf_keras.src.layers.core.embedding": "labgrade_runtime.kernel.embedding:patch_module",
}


# ---------------------------------------------------------------- fit hook


def _array_stats(a: Any) -> dict[str, Any] | None:
    """Shape and scale of a training array (never the data itself), in two chunked passes.

    ``arr.std()`` would make a float64 copy of the whole array: 3.2 GB beside a
    40,000 x 10,000 multi-hot matrix, enough to push the manual's own IMDB code
    past its memory.
    """
    import numpy as np

    if not hasattr(a, "shape") or isinstance(a, dict):
        return None
    try:
        arr = np.asarray(a)
        if arr.dtype.kind not in "biuf":
            arr = arr.astype("float64")
    except (TypeError, ValueError):
        return None
    stats: dict[str, Any] = {"shape": [int(d) for d in arr.shape], "dtype": str(getattr(a, "dtype", arr.dtype))}
    if not arr.size:
        return {**stats, "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    flat = arr.reshape(len(arr), -1) if arr.ndim >= 2 else arr.reshape(-1, 1)
    step = watch.chunk_rows(flat.shape[1])
    chunks = [slice(i, i + step) for i in range(0, len(flat), step)]
    sums = np.zeros(flat.shape[1])
    low, high = np.inf, -np.inf
    for part in chunks:
        block = flat[part].astype("float64")
        sums += block.sum(axis=0)
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    means = sums / len(flat)
    squares = np.zeros(flat.shape[1])
    mean = float(means.mean())
    spread = 0.0
    for part in chunks:
        block = flat[part].astype("float64")
        squares += ((block - means) ** 2).sum(axis=0)
        spread += float(((block - mean) ** 2).sum())
    stats.update(mean=mean, std=float(np.sqrt(spread / arr.size)), min=low, max=high)
    if arr.ndim == 2 and arr.shape[1] <= 512:
        stats["feature_mean"] = means.tolist()
        stats["feature_std"] = np.sqrt(squares / len(flat)).tolist()
    return stats


def _input_stats(x: Any, y: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Stats of fit()'s inputs; for a Keras 2 batch iterator (ImageDataGenerator.flow) from its first batch."""
    if hasattr(x, "shape") or y is not None or not hasattr(x, "__getitem__") or not hasattr(x, "n"):
        return _array_stats(x), _array_stats(y)
    try:
        batch = x[0]
    except Exception:  # a generator we cannot index: no stats, still trained
        return None, None
    stats = [_array_stats(part) for part in batch[:2]] if isinstance(batch, tuple) else [_array_stats(batch), None]
    for item in stats:
        if item:
            item["shape"][0] = int(x.n)  # the whole set, scaled as the iterator feeds it
    return stats[0], stats[1]


def _note_empty(bound: inspect.BoundArguments) -> None:
    """An empty training set is said, not trained silently."""
    if budget.length(bound.arguments.get("x")) == 0:
        note(
            "empty_training_set",
            "fit() was given 0 training samples (an empty x): nothing was trained; "
            "the data the notebook loaded has the real dataset's shapes, so its own code left x empty",
            once=False,
        )


def _quiet_progress(bound: inspect.BoundArguments) -> None:
    if bound.arguments.get("verbose", "auto") in ("auto", 1):
        bound.arguments["verbose"] = 2
        note("progress", "Keras progress bars printed as one line per epoch (non-interactive run)")


def _wrap_fit(fit: Callable[..., Any], runtime: str) -> Callable[..., Any]:
    signature = inspect.signature(fit)

    def fit_recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        _quiet_progress(bound)
        x_stats, y_stats = _input_stats(bound.arguments.get("x"), bound.arguments.get("y"))
        _note_empty(bound)
        record = {
            "runtime": runtime,
            "x": x_stats,
            "y": y_stats,
            "epochs": bound.arguments.get("epochs"),
            "validation_split": bound.arguments.get("validation_split"),
            "has_validation_data": bound.arguments.get("validation_data") is not None,
            "loss": budget.loss_name(self),
        }
        watch.on_fit(self, bound.arguments, record)  # the rows the notebook gave, before any cut
        cut = budget.plan(bound.arguments, record)
        start, start_cpu = time.perf_counter(), time.process_time()
        with budget.quiet_cut(cut):
            history = fit(*bound.args, **bound.kwargs)
        record["seconds"] = time.perf_counter() - start
        # CPU time is what the efficiency check compares: it does not grow when other jobs share the host.
        record["cpu_seconds"] = time.process_time() - start_cpu
        STATE["model"] = self
        STATE["fits"].append(record)
        hist = getattr(history, "history", None)
        if isinstance(hist, dict):
            STATE["histories"].append({k: [float(v) for v in vals] for k, vals in hist.items()})
            record["losses"] = [float(v) for v in hist.get("loss", [])]
        return history

    fit_recorded.__wrapped__ = fit  # type: ignore[attr-defined]
    fit_recorded._labgrade = True  # type: ignore[attr-defined]
    fit_recorded.__doc__ = fit.__doc__
    return fit_recorded


def _patch_model_module(module: ModuleType) -> None:
    from labgrade_runtime.kernel import keras2

    class_name, runtime = _FIT_MODULES[module.__name__]
    model_cls = getattr(module, class_name, None)
    if model_cls is None or getattr(model_cls.fit, "_labgrade", False):
        return
    model_cls.fit = _wrap_fit(model_cls.fit, runtime)
    keras2.patch_model_class(model_cls)
    watch.patch_model_class(model_cls)
    _note_runtime(runtime)


def _note_runtime(runtime: str) -> None:
    from importlib import metadata

    dist = "tf-keras" if runtime == "tf_keras" else "keras"
    why = "; ".join(JOB.spec.keras_reasons) or "the default"
    label = "Keras 2 (tf-keras" if runtime == "tf_keras" else "Keras 3 (keras"
    note("keras_runtime", f"{label} {metadata.version(dist)}) used: {why}")


def _lazy(target: str) -> hooks.Patcher:
    def patch(module: ModuleType) -> None:
        import importlib

        module_name, func = target.split(":")
        getattr(importlib.import_module(module_name), func)(module)

    return patch


def seed_tensorflow(tf: Any) -> None:
    """Seed TensorFlow's global generator (fit's shuffling, dropout) with the course seed.

    With Python's and NumPy's generators seeded too, a submission trains the
    same way alone, in a busy batch or on a re-grade, so its marks do not
    depend on chance.
    """
    tf.random.set_seed(JOB.spec.seed)


def _match(name: str) -> hooks.Patcher | None:
    if name in _FIT_MODULES:
        return _patch_model_module
    if name in _PATCHERS:
        return _lazy(_PATCHERS[name])
    if kerasdata.dataset_of(name):
        return kerasdata.patch_module
    return None


def install(spec_json: str) -> None:
    """Install every shim into this (the kernel's) process, from the resolved job spec."""
    from labgrade_runtime.contract import JobSpec

    JOB.spec = JobSpec.model_validate_json(spec_json)
    os.environ.setdefault("MPLBACKEND", "Agg")
    seed = JOB.spec.seed
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    import random

    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    _install_environment()
    hooks.install(_match)
    from labgrade_runtime.kernel import keras2, stubs

    stubs.install()
    keras2.install(JOB.spec.keras_runtime)  # first on the path: `import keras` may mean tf_keras
    _install_adapters()


def _install_adapters() -> None:
    """The experiment's own kernel adapters (``rubrics/<id>/kernel/*.py``, mounted read-only): each ``install()``.

    An adapter registers what only its experiment needs (a dataset loader, a
    stand-in module, file names and formats) through the kernel modules'
    registration APIs; the shims themselves name no experiment.
    """
    import importlib.util

    folder = Path(JOB.spec.adapters_dir or ".")
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # the folder is read-only
    try:
        for name in JOB.spec.adapters:
            spec = importlib.util.spec_from_file_location(f"labgrade_adapter_{Path(name).stem}", folder / name)
            if spec is None or spec.loader is None:
                raise ImportError(f"the experiment's kernel adapter {name} cannot be loaded from {folder}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            module.install()
    finally:
        sys.dont_write_bytecode = writes_bytecode


def _install_environment() -> None:
    """Files, network, shell commands and input(): what every notebook may touch."""
    from labgrade_runtime.kernel import datafiles, environment, network

    # Before TensorFlow is imported: tf.keras is tf-keras exactly when the runner chose it (the kernel
    # was launched before the choice was made, so this is where it takes effect, for subprocesses too).
    if JOB.spec.keras_runtime == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    else:
        os.environ.pop("TF_USE_LEGACY_KERAS", None)
    try:
        from IPython.core.getipython import get_ipython

        shell = get_ipython()  # type: ignore[no-untyped-call]
    except ImportError:
        shell = None
    datafiles.install(shell.user_ns if shell is not None else None)
    network.install()
    environment.install(shell)
    watch.count_cells(shell)
