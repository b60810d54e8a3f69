"""scikit-learn APIs that students' notebooks still call, offline and on today's version.

* removed dataset loaders (``sklearn.datasets.load_<name>``) and
  ``fetch_openml`` datasets are answered from the course's data when an
  experiment's kernel adapter registers them (:func:`register_loader`,
  :func:`register_openml`); any other ``fetch_openml`` is a clear
  ``needs network`` status;
* ``fetch_california_housing`` and other downloads have no course file: a
  clear ``needs network`` status;
* ``mean_squared_error(squared=False)`` (removed) and ``plot_confusion_matrix``
  / ``plot_roc_curve`` (removed) map onto their replacements.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labgrade_runtime.errors import LabgradeNeedsNetwork
from labgrade_runtime.kernel.state import note

# Function name on sklearn.datasets -> the stand-in (e.g. a loader scikit-learn removed).
_LOADERS: dict[str, Callable[..., Any]] = {}


@dataclass(frozen=True)
class OpenML:
    """An OpenML dataset answered offline: the names and ids ``fetch_openml`` may ask it by, and what answers."""

    names: frozenset[str]
    data_ids: frozenset[int]
    fetch: Callable[..., Any]  # called with fetch_openml's keyword arguments (name included)


_OPENML: list[OpenML] = []


def _datasets_module() -> Any:
    """sklearn.datasets if it is already imported (then a registration patches it at once)."""
    return sys.modules.get("sklearn.datasets")


def register_loader(name: str, loader: Callable[..., Any]) -> None:
    """Put ``loader`` on ``sklearn.datasets`` as ``name`` (e.g. a removed ``load_<dataset>``)."""
    _LOADERS[name] = loader
    module = _datasets_module()
    if module is not None:
        setattr(module, name, loader)


def register_openml(fetch: Callable[..., Any], *, names: tuple[str, ...] = (), data_ids: tuple[int, ...] = ()) -> None:
    """Answer ``fetch_openml(name=...)`` / ``fetch_openml(data_id=...)`` for these names and ids with ``fetch``."""
    _OPENML.append(OpenML(frozenset(n.lower() for n in names), frozenset(data_ids), fetch))


def _fetch_openml(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fetch_openml(name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        for entry in reversed(_OPENML):  # the latest registration wins
            if str(name).lower() in entry.names or kwargs.get("data_id") in entry.data_ids:
                return entry.fetch(name=name, **kwargs)
        asked = f"fetch_openml name={name!r}, data_id={kwargs.get('data_id')}"
        raise LabgradeNeedsNetwork(f"https://www.openml.org ({asked})")

    fetch_openml._labgrade = True  # type: ignore[attr-defined]
    return fetch_openml


def _needs_download(name: str, url: str) -> Callable[..., Any]:
    def fetch(*args: Any, **kwargs: Any) -> Any:
        raise LabgradeNeedsNetwork(f"{url} (sklearn.datasets.{name})")

    return fetch


def patch_datasets(module: Any) -> None:
    """The registered loaders back; fetch_openml of registered datasets from course data; other downloads clear."""
    for name, loader in _LOADERS.items():
        setattr(module, name, loader)
    if getattr(module.fetch_openml, "_labgrade", False):
        return
    module.fetch_openml = _fetch_openml(module.fetch_openml)
    module.fetch_california_housing = _needs_download(
        "fetch_california_housing", "https://ndownloader.figshare.com/files/5976036"
    )


def _with_squared(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def metric(*args: Any, squared: bool = True, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        if squared:
            return value
        note(
            "sklearn_compat",
            f"{original.__name__}(squared=False) (removed from scikit-learn) computed as its square root",
        )
        import numpy as np

        return np.sqrt(value)

    metric._labgrade = True  # type: ignore[attr-defined]
    return metric


def _display(kind: str, old: str) -> Callable[..., Any]:
    def plot(estimator: Any, x: Any, y: Any, **kwargs: Any) -> Any:
        import sklearn.metrics as metrics

        note("sklearn_compat", f"{old}() (removed from scikit-learn) drawn with {kind}.from_estimator()")
        return getattr(metrics, kind).from_estimator(estimator, x, y, **kwargs)

    return plot


def patch_metrics(module: Any) -> None:
    """``squared=`` and the removed ``plot_*`` helpers, on today's scikit-learn."""
    for name in ("mean_squared_error", "mean_squared_log_error"):
        func = getattr(module, name, None)
        if func is not None and not getattr(func, "_labgrade", False):
            setattr(module, name, _with_squared(func))
    for old, kind in (
        ("plot_confusion_matrix", "ConfusionMatrixDisplay"),
        ("plot_roc_curve", "RocCurveDisplay"),
        ("plot_precision_recall_curve", "PrecisionRecallDisplay"),
    ):
        if not hasattr(module, old):
            setattr(module, old, _display(kind, old))
