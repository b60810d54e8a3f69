"""Run a function right after a module is imported, without importing it early.

Importing TensorFlow costs seconds; the shims must not pay that for a
notebook that never uses it. A meta-path finder wraps the loader of the
modules we care about so that our patch runs as soon as each one executes --
before any later module can copy its attributes (e.g. Keras' public API
modules re-export ``load_data`` from ``keras.src``).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from types import ModuleType

Patcher = Callable[[ModuleType], None]


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, patcher: Patcher) -> None:
        self._inner = inner
        self._patcher = patcher

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        self._patcher(module)


class PostImportFinder(importlib.abc.MetaPathFinder):
    """Calls ``match(name)``'s patcher on every module whose name it selects."""

    def __init__(self, match: Callable[[str], Patcher | None]) -> None:
        self._match = match
        self._busy: set[str] = set()

    def find_spec(self, fullname: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        patcher = self._match(fullname)
        if patcher is None or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)  # type: ignore[arg-type]
                if spec is not None and spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, patcher)
                    return spec
            return None
        finally:
            self._busy.discard(fullname)


def install(match: Callable[[str], Patcher | None]) -> None:
    """Patch modules already imported, and every matching module imported later."""
    for name, module in list(sys.modules.items()):
        patcher = match(name)
        if patcher is not None and module is not None:
            patcher(module)
    sys.meta_path.insert(0, PostImportFinder(match))
