"""Stand-ins, inside the sandbox only, for modules that exist only on a student's machine.

* ``google.colab`` (``drive.mount`` a no-op, ``files.upload`` handing over
  what the code then reads -- the course files, or an image for code that
  reads the upload as images -- ``patches.cv2_imshow`` showing the image
  inline as Colab did, ``output.eval_js`` -- the Colab camera snippet -- a
  clear "needs a camera");
* ``tkinter`` when there is no display (:mod:`labgrade_runtime.kernel.tkstub`):
  windows that are built but never shown, ``mainloop()`` returning at once;
* Keras 2's ``keras.wrappers.scikit_learn``;
* whatever an experiment's kernel adapter registers with :func:`register`
  (e.g. a download library answered from the course files), only when the
  real package is not installed.

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
from labgrade_runtime.kernel.state import JOB, note


def _course_bytes() -> dict[str, bytes]:
    cwd = Path(JOB.spec.cwd)
    return {n: (cwd / n).read_bytes() for n in JOB.spec.data_files if (cwd / n).is_file()}


def _mount(mountpoint: str = "/content/drive", *args: Any, **kwargs: Any) -> None:
    note("colab", f"google.colab.drive.mount({mountpoint!r}) skipped: Drive paths are answered from the course files")
    print(f"Mounted at {mountpoint} (labgrade: course files are served offline)")


class Uploaded(dict[str, bytes]):
    """What ``files.upload()`` returns: any name the code indexes it by is answered through the course files."""

    def __missing__(self, key: str) -> bytes:
        from labgrade_runtime.kernel import datafiles

        found = datafiles.resolve(str(key))
        if found is None:
            raise KeyError(key)
        note("colab", f"files.upload()[{key!r}] answered with {datafiles.describe(found)}")
        data = Path(found).read_bytes()
        self[key] = data
        return data


def _upload(*args: Any, **kwargs: Any) -> dict[str, bytes]:
    from labgrade_runtime.kernel import uploads

    window = uploads.code_after_call()
    if uploads.reads_images(window):
        images = uploads.images_to_hand(window)
        names = ", ".join(images) or "none (as if no file was chosen): no image was handed in or served"
        note("colab", f"google.colab.files.upload() answered with images (the code reads them as images): {names}")
        return Uploaded(images)
    files = _course_bytes()
    note("colab", f"google.colab.files.upload() answered with the course files: {', '.join(files) or 'none'}")
    return Uploaded(files)


def _cv2_imshow(image: Any, *args: Any, **kwargs: Any) -> None:
    """Colab's cv2_imshow: the BGR(A) array shown inline (kept in the executed notebook), nothing blocks."""
    note("headless", "google.colab.patches.cv2_imshow() shown inline as in Colab")
    try:
        import numpy as np
        from IPython.display import display
        from PIL import Image
    except ImportError:
        return
    arr = np.clip(np.asarray(image), 0, 255).astype("uint8")
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = arr[..., [2, 1, 0] + ([3] if arr.shape[2] == 4 else [])]
    display(Image.fromarray(arr.squeeze()))  # type: ignore[no-untyped-call]


def _patches_imports(name: str) -> ModuleType:
    """What the real google.colab.patches holds from its own imports: `from google.colab.patches import cv2`."""
    imported = {"cv2": "cv2", "PIL": "PIL", "display": "IPython.display"}
    if name not in imported:
        raise AttributeError(f"module 'google.colab.patches' has no attribute {name!r}")
    return importlib.import_module(imported[name])


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
        "patches": {"cv2_imshow": _cv2_imshow, "__getattr__": _patches_imports},
        "output": {
            "eval_js": _eval_js,
            "clear": _quiet("output.clear()"),
            "enable_custom_widget_manager": _quiet("output widgets"),
        },
        "data_table": {
            "enable_dataframe_formatter": _quiet("data_table"),
            "disable_dataframe_formatter": _quiet("data_table"),
        },
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
        module.__path__ = []
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


Builder = Callable[[], dict[str, ModuleType]]
# Module name -> what builds it (and any submodules): the stand-ins every run has, and those adapters register.
_STUBS: dict[str, Builder] = {"google.colab": build_colab}


def register(module_name: str, build: Builder, *, unless_installed: bool = True) -> bool:
    """Answer ``import module_name`` with ``build()`` (name -> module, the named one included).

    With ``unless_installed`` (the default) a real installed package wins and
    nothing is registered. Returns whether the stand-in was registered.
    """
    if unless_installed and module_name not in _STUBS and importlib.util.find_spec(module_name) is not None:
        return False
    _STUBS[module_name] = build
    return True


class StubFinder(importlib.abc.MetaPathFinder):
    """Serves the registered stand-ins and Keras 2's scikit-learn wrappers."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        build = _STUBS.get(fullname)
        for prefix in _KERAS_PREFIXES:
            if fullname == f"{prefix}.wrappers.scikit_learn":
                build = build_wrappers(fullname)
            elif fullname == f"{prefix}.wrappers" and not _real_submodule(fullname):
                build = _package(fullname)
        if build is None:
            return None
        return importlib.util.spec_from_loader(fullname, _StubLoader(build), is_package=True)


def provides(module: str) -> bool:
    """Whether an installed stand-in answers ``import module`` (one an adapter registered, the package being absent)."""
    return module in _STUBS and any(isinstance(f, StubFinder) for f in sys.meta_path)


def install() -> None:
    """Put the stand-ins on the import path (tkinter's too when there is no display)."""
    from labgrade_runtime.kernel import tkstub, uploads

    uploads.snapshot()
    if tkstub.headless() and "tkinter" not in _STUBS:
        register("tkinter", tkstub.build, unless_installed=False)
    if not any(isinstance(f, StubFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, StubFinder())
