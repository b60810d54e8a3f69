"""Stand-ins, inside the sandbox only, for modules that exist only on a student's machine.

* ``google.colab`` (``drive.mount`` a no-op, ``files.upload`` serving the
  course files, ``patches.cv2_imshow`` headless, ``output.eval_js`` -- the
  Colab camera snippet -- a clear "needs a camera");
* ``yfinance`` (only when the real one is not installed): ``download`` and
  ``Ticker.history`` of GOOG/GOOGL answered from the course's stock files.

A meta-path finder builds them on import, so nothing is shadowed on disk
(``google`` stays the namespace package protobuf lives in).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from labgrade_runtime.errors import LabgradeNeedsCamera, LabgradeNeedsNetwork
from labgrade_runtime.kernel.state import SPEC, note


def _course_bytes() -> dict[str, bytes]:
    cwd = Path(SPEC.get("cwd", "."))
    return {n: (cwd / n).read_bytes() for n in SPEC.get("data_files", []) if (cwd / n).is_file()}


def _mount(mountpoint: str = "/content/drive", *args: Any, **kwargs: Any) -> None:
    note("colab", f"google.colab.drive.mount({mountpoint!r}) skipped: Drive paths are answered from the course files")
    print(f"Mounted at {mountpoint} (labgrade: course files are served offline)")


def _upload(*args: Any, **kwargs: Any) -> dict[str, bytes]:
    files = _course_bytes()
    note("colab", f"google.colab.files.upload() answered with the course files: {', '.join(files) or 'none'}")
    return files


def _quiet(what: str) -> Callable[..., None]:
    def call(*args: Any, **kwargs: Any) -> None:
        note("headless", f"{what} skipped (non-interactive run)")

    return call


def _eval_js(*args: Any, **kwargs: Any) -> Any:
    raise LabgradeNeedsCamera("google.colab.output.eval_js (a browser camera capture)")


def _auth(*args: Any, **kwargs: Any) -> None:
    raise LabgradeNeedsNetwork("google.colab.auth.authenticate_user()")


def build_colab() -> dict[str, ModuleType]:
    """google.colab and its submodules."""
    parts: dict[str, dict[str, Any]] = {
        "drive": {"mount": _mount, "flush_and_unmount": _quiet("drive.flush_and_unmount()")},
        "files": {"upload": _upload, "download": _quiet("files.download()"), "view": _quiet("files.view()")},
        "patches": {"cv2_imshow": _quiet("cv2_imshow()")},
        "output": {"eval_js": _eval_js, "clear": _quiet("output.clear()"), "enable_custom_widget_manager": _quiet("output widgets")},
        "data_table": {"enable_dataframe_formatter": _quiet("data_table"), "disable_dataframe_formatter": _quiet("data_table")},
        "auth": {"authenticate_user": _auth},
    }
    top = ModuleType("google.colab", "labgrade's offline stand-in for Google Colab")
    modules = {"google.colab": top}
    for name, attrs in parts.items():
        sub = ModuleType(f"google.colab.{name}")
        sub.__dict__.update(attrs)
        setattr(top, name, sub)
        modules[f"google.colab.{name}"] = sub
    top.__path__ = []  # a package: `import google.colab.drive` works
    return modules


def build_yfinance() -> dict[str, ModuleType]:
    """yfinance, answered from the course's Google stock files."""
    from labgrade_runtime.kernel import stock

    module = ModuleType("yfinance", "labgrade's offline stand-in for yfinance (course stock files)")
    module.download = stock.download  # type: ignore[attr-defined]
    module.Ticker = stock.Ticker  # type: ignore[attr-defined]
    module.__version__ = "0.0-labgrade"  # type: ignore[attr-defined]
    return {"yfinance": module}


_KERAS_PREFIXES = ("keras", "tensorflow.keras", "tf_keras")


def build_wrappers(name: str) -> Callable[[], dict[str, ModuleType]]:
    """keras.wrappers.scikit_learn (removed from Keras) with Keras 2's KerasRegressor/KerasClassifier."""

    def build() -> dict[str, ModuleType]:
        from labgrade_runtime.kernel import wrappers

        module = ModuleType(name, "labgrade's stand-in for Keras 2's scikit-learn wrappers")
        module.KerasRegressor = wrappers.KerasRegressor  # type: ignore[attr-defined]
        module.KerasClassifier = wrappers.KerasClassifier  # type: ignore[attr-defined]
        return {name: module}

    return build


def _package(name: str) -> Callable[[], dict[str, ModuleType]]:
    def build() -> dict[str, ModuleType]:
        module = ModuleType(name)
        module.__path__ = []  # type: ignore[attr-defined]
        return {name: module}

    return build


def _real_submodule(fullname: str) -> bool:
    """Whether an installed package has this submodule (asked of the path finder only: no recursion)."""
    parent = sys.modules.get(fullname.rsplit(".", 1)[0])
    path = getattr(parent, "__path__", None)
    return path is not None and importlib.machinery.PathFinder.find_spec(fullname, list(path)) is not None


class _StubLoader(importlib.abc.Loader):
    def __init__(self, build: Callable[[], dict[str, ModuleType]]) -> None:
        self._build = build

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        modules = self._build()
        for name, module in modules.items():
            if name != spec.name:
                sys.modules[name] = module
        return modules[spec.name]

    def exec_module(self, module: ModuleType) -> None:
        return None


class StubFinder(importlib.abc.MetaPathFinder):
    """Serves the stand-ins (yfinance only when the real package is absent)."""

    def __init__(self) -> None:
        self._stubs: dict[str, Callable[[], dict[str, ModuleType]]] = {"google.colab": build_colab}
        if importlib.util.find_spec("yfinance") is None:
            self._stubs["yfinance"] = build_yfinance

    def find_spec(self, fullname: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        build = self._stubs.get(fullname)
        for prefix in _KERAS_PREFIXES:
            if fullname == f"{prefix}.wrappers.scikit_learn":
                build = build_wrappers(fullname)
            elif fullname == f"{prefix}.wrappers" and not _real_submodule(fullname):
                build = _package(fullname)
        if build is None:
            return None
        return importlib.util.spec_from_loader(fullname, _StubLoader(build), is_package=True)


def provides(module: str) -> bool:
    """Whether an installed stand-in answers ``import module`` (e.g. yfinance when it is not installed)."""
    return any(isinstance(f, StubFinder) and module in f._stubs for f in sys.meta_path)


def install() -> None:
    """Put the stand-ins on the import path."""
    if not any(isinstance(f, StubFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, StubFinder())
