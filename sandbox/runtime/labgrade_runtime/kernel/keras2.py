"""Keras 2 code on a machine with both Keras generations.

* the runner picks the runtime before the kernel starts
  (:mod:`labgrade_runtime.runner.keras_choice`); with tf-keras the shims set
  ``TF_USE_LEGACY_KERAS=1`` so ``tf.keras`` is tf-keras, and
  :class:`KerasAlias` makes ``import keras`` resolve to ``tf_keras``;
* in both runtimes, Keras 2 module paths (``keras.layers.core``,
  ``keras.utils.np_utils``) resolve to today's, optimizers accept ``lr=`` and
  ``decay=`` with Keras 2's meaning, and ``predict_classes`` /
  ``fit_generator`` exist.

Imported only inside the kernel.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

# Keras 2 module paths -> where today's Keras keeps the same names.
LEGACY = {
    "layers.core": "layers",
    "layers.embeddings": "layers",
    "layers.recurrent": "layers",
    "layers.convolutional": "layers",
    "layers.pooling": "layers",
    "layers.normalization": "layers",
    "layers.merge": "layers",
    "layers.advanced_activations": "layers",
    "layers.wrappers": "layers",
    "layers.noise": "layers",
    "utils.np_utils": "utils",
    "utils.vis_utils": "utils",
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an existing module under another name (no second copy of its classes)."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._spec: Any = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self._target)
        self._spec = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # the import system stamped the alias spec on the real module


class KerasAlias(importlib.abc.MetaPathFinder):
    """``keras`` -> ``tf_keras`` (Keras 2 runtime) and Keras 2 module paths in either runtime."""

    def __init__(self, to_tf_keras: bool) -> None:
        self._to_tf_keras = to_tf_keras

    def target(self, fullname: str) -> str | None:
        """The real module an alias name stands for, or None."""
        if ".wrappers" in fullname:
            return None  # Keras 2's scikit-learn wrappers are the stand-ins' (stubs.py)
        for prefix in ("keras.", "tf_keras.", "tensorflow.keras."):
            rest = fullname[len(prefix) :] if fullname.startswith(prefix) else None
            if rest in LEGACY:
                base = "tf_keras" if (self._to_tf_keras or prefix == "tf_keras.") else prefix.rstrip(".")
                return f"{base}.{LEGACY[rest]}"
        if self._to_tf_keras and (fullname == "keras" or fullname.startswith("keras.")):
            return "tf_keras" + fullname[len("keras") :]
        return None

    def find_spec(self, fullname: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        real = self.target(fullname)
        if real is None:
            return None
        if importlib.util.find_spec(real.split(".")[0]) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real), is_package=True)


# ---------------------------------------------------------------- Keras 2 behaviour in either runtime


def _learning_rate(base: Any, lr: Any, decay: Any, schedules: Any) -> Any:
    rate = lr if lr is not None else base
    if decay:
        # Keras 2: lr_t = lr / (1 + decay * iterations)
        return schedules.InverseTimeDecay(rate, decay_steps=1, decay_rate=float(decay))
    return rate


def patch_keras3_optimizer(module: ModuleType) -> None:
    """Keras 3's BaseOptimizer accepts ``lr=`` and ``decay=`` with Keras 2's meaning."""
    cls = module.BaseOptimizer
    if getattr(cls.__init__, "_labgrade", False):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        lr, decay = kwargs.pop("lr", None), kwargs.pop("decay", None)
        if lr is not None or decay:
            from keras.src.optimizers import schedules

            base = kwargs.get("learning_rate", args[0] if args else 0.001)
            rate = _learning_rate(base, lr, decay, schedules)
            args, kwargs = (((rate,) + args[1:]), kwargs) if args else (args, {**kwargs, "learning_rate": rate})
            _note_optimizer(lr, decay)
        original(self, *args, **kwargs)

    __init__._labgrade = True  # type: ignore[attr-defined]
    cls.__init__ = __init__


def patch_tf_keras_optimizer(module: ModuleType) -> None:
    """tf-keras' new optimizers silently ignore ``lr=`` and reject ``decay=``: give both Keras 2's meaning."""
    cls = module.Optimizer
    if getattr(cls._process_kwargs, "_labgrade", False):
        return
    process, build = cls._process_kwargs, cls._build_learning_rate

    def _process_kwargs(self: Any, kwargs: dict[str, Any]) -> Any:
        self._labgrade_lr = (kwargs.pop("lr", None), kwargs.pop("decay", None))
        return process(self, kwargs)

    def _build_learning_rate(self: Any, learning_rate: Any) -> Any:
        lr, decay = getattr(self, "_labgrade_lr", (None, None))
        if lr is not None or decay:
            from tf_keras.src.optimizers import schedules

            learning_rate = _learning_rate(learning_rate, lr, decay, schedules)
            _note_optimizer(lr, decay)
        return build(self, learning_rate)

    _process_kwargs._labgrade = True  # type: ignore[attr-defined]
    cls._process_kwargs, cls._build_learning_rate = _process_kwargs, _build_learning_rate


def _note_optimizer(lr: Any, decay: Any) -> None:
    from labgrade_runtime.kernel.state import note

    parts = ([f"lr={lr} read as learning_rate"] if lr is not None else []) + (
        [f"decay={decay} applied as Keras 2's 1/(1 + decay·step) schedule"] if decay else []
    )
    note("keras2_compat", "optimizer " + " and ".join(parts))


def _predict_classes(self: Any, x: Any, batch_size: int = 32, verbose: int = 0, **kwargs: Any) -> Any:
    """Keras 2's Sequential.predict_classes: argmax for softmax outputs, a 0.5 threshold for one sigmoid unit."""
    from labgrade_runtime.kernel.state import note

    note("keras2_compat", "Model.predict_classes() (removed) computed from predict()")
    proba = self.predict(x, batch_size=batch_size, verbose=verbose)
    return proba.argmax(axis=-1) if proba.shape[-1] > 1 else (proba > 0.5).astype("int32")


def _predict_proba(self: Any, x: Any, batch_size: int = 32, verbose: int = 0, **kwargs: Any) -> Any:
    return self.predict(x, batch_size=batch_size, verbose=verbose)


_GENERATOR_DROPPED = ("workers", "use_multiprocessing", "max_queue_size")


def _via(method: str, old: str) -> Callable[..., Any]:
    def call(self: Any, generator: Any, *args: Any, **kwargs: Any) -> Any:
        from labgrade_runtime.kernel.state import note

        note("keras2_compat", f"Model.{old}() (removed) run as {method}()")
        for key in _GENERATOR_DROPPED:
            kwargs.pop(key, None)
        return getattr(self, method)(generator, *args, **kwargs)

    return call


def patch_model_class(model_cls: type) -> None:
    """predict_classes / predict_proba everywhere; the *_generator methods where they are gone (Keras 3)."""
    for name, func in (
        ("predict_classes", _predict_classes),
        ("predict_proba", _predict_proba),
        ("fit_generator", _via("fit", "fit_generator")),
        ("evaluate_generator", _via("evaluate", "evaluate_generator")),
        ("predict_generator", _via("predict", "predict_generator")),
    ):
        if not hasattr(model_cls, name):
            setattr(model_cls, name, func)


def install(runtime: str) -> None:
    """Put the alias finder first on the import path."""
    if not any(isinstance(f, KerasAlias) for f in sys.meta_path):
        sys.meta_path.insert(0, KerasAlias(to_tf_keras=runtime == "tf_keras"))
