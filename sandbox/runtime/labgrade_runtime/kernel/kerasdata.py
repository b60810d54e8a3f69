"""``keras.datasets.<name>.load_data()`` answered from the harness's files instead of a download.

Every Keras dataset module (Keras 3, ``tf.keras``, tf-keras; the public API
module and ``keras.src``) is patched as it is imported: a *registered*
dataset's ``load_data`` (and extras such as ``get_word_index``) serve the
files the job spec lists under ``keras_datasets``; any other one raises a
clear ``needs network`` status at once. A served dataset nobody registered is
read as an image-class dataset (``x_/y_train``, ``x_/y_test`` in one npz); an
experiment whose files differ registers its own loader from a kernel adapter
(``rubrics/<id>/kernel/*.py``)::

    kerasdata.register_dataset("reviews", load_reviews, extra={"get_word_index": word_index})
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from labgrade_runtime.kernel.state import JOB, note

KERAS_DOWNLOADS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_KERAS_PACKAGES = ("keras", "tf_keras", "tensorflow")
_DATASET_MODULE = re.compile(r"(^|\.)datasets\.([a-z0-9_]+)$")

Loader = Callable[..., Any]
_LOADERS: dict[str, Loader] = {}
_EXTRAS: dict[str, dict[str, Callable[..., Any]]] = {}


def dataset_of(module_name: str) -> str | None:
    """The Keras dataset a module is (``keras.src.datasets.mnist`` -> ``mnist``), or None."""
    if module_name.split(".", 1)[0] not in _KERAS_PACKAGES:
        return None
    found = _DATASET_MODULE.search(module_name)
    return found.group(2) if found else None


def data_file(name: str, call: str = "") -> str:
    """The served file of ``name`` (a key of the job spec's ``keras_datasets``), noting that it was served.

    Raises ``LabgradeNeedsNetwork`` when this experiment does not serve it:
    the sandbox is offline, so a download could only fail later and less clearly.
    """
    files = JOB.spec.keras_datasets
    if name not in files:
        from labgrade_runtime.errors import LabgradeNeedsNetwork

        raise LabgradeNeedsNetwork(f"{KERAS_DOWNLOADS}{name} (keras.datasets.{name} is not served for this experiment)")
    sources = JOB.spec.dataset_source
    # a provider may name its source otherwise than the loader: a single source is that one
    source = sources.get(name) or (next(iter(sources.values())) if len(sources) == 1 else "harness store")
    what = call or f"{name}.load_data()"
    note("dataset_served", f"keras.datasets.{what} served offline from the harness store ({source})")
    return str(files[name])


def image_classes(name: str) -> Loader:
    """``load_data`` of an image-class dataset: ``(x_train, y_train), (x_test, y_test)`` from ``<name>.npz``."""

    def load_data(*args: Any, **kwargs: Any) -> Any:
        import numpy as np

        with np.load(data_file(name), allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])

    return load_data


def patch_module(module: ModuleType) -> None:
    """Point a Keras dataset module's ``load_data`` (and registered extras) at the served files."""
    name = dataset_of(module.__name__)
    if name is None:
        return
    if hasattr(module, "load_data"):
        # unregistered: the image-class layout, whose load_data raises "needs network" when nothing is served
        module.load_data = _LOADERS.get(name) or image_classes(name)  # type: ignore[attr-defined]
    for attr, func in _EXTRAS.get(name, {}).items():
        if hasattr(module, attr):
            setattr(module, attr, func)


def register_dataset(name: str, loader: Loader, *, extra: dict[str, Callable[..., Any]] | None = None) -> None:
    """Serve ``keras.datasets.<name>.load_data`` with ``loader``, and each ``extra`` attribute (``get_word_index``...).

    Modules already imported are patched at once; later imports as they happen.
    """
    _LOADERS[name] = loader
    _EXTRAS[name] = dict(extra or {})
    for module_name, module in list(sys.modules.items()):
        if module is not None and dataset_of(module_name) == name:
            patch_module(module)
