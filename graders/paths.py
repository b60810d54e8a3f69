"""Where the harness finds its experiments, its sandbox runtime and its cache.

From a source checkout (an editable install, or running in the clone) the
experiments are the checkout's ``rubrics/`` (each with its course files under
``rubrics/<id>/data/``) and ``reference/``, and the stand-in generators they
share are ``standins/``; from a wheel they are the copies shipped inside the
``graders`` package. ``LABGRADE_HOME`` points elsewhere, e.g. at a course's
own copy of ``rubrics/`` and ``reference/`` (and ``standins/``: without one
there, the shipped library serves). ``LABGRADE_CACHE`` (default: ``$XDG_CACHE_HOME/labgrade``,
i.e. ``~/.cache/labgrade``) holds every cache: the served datasets under
``data/`` and the grading image's build stages under ``sandbox/``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _home() -> Path:
    if os.environ.get("LABGRADE_HOME"):
        return Path(os.environ["LABGRADE_HOME"])
    if (_CHECKOUT / "rubrics").is_dir() and (_CHECKOUT / "pyproject.toml").is_file():
        return _CHECKOUT
    return _PACKAGE  # a wheel: rubrics/ and reference/ ship as package data


def _runtime_package() -> Path:
    spec = importlib.util.find_spec("labgrade_runtime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the sandbox runtime (labgrade_runtime) is not installed beside graders")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _cache() -> Path:
    if os.environ.get("LABGRADE_CACHE"):
        return Path(os.environ["LABGRADE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labgrade"


HOME = _home()
RUBRICS_DIR = HOME / "rubrics"
REFERENCE_DIR = HOME / "reference"
STANDINS_DIR = next(  # the stand-in generators' library, beside the rubrics
    (d / "standins" for d in (HOME, _CHECKOUT, _PACKAGE) if (d / "standins" / "__init__.py").is_file()),
    HOME / "standins",
)
COURSE_DATA = "data"  # an experiment's own course files: rubrics/<id>/data/


def course_data(experiment_folder: Path) -> Path:
    """The folder of an experiment's real course files (and their variants): ``rubrics/<id>/data/``."""
    return experiment_folder / COURSE_DATA


RUNTIME_PACKAGE = _runtime_package()  # the labgrade_runtime package folder, mounted into every job
CACHE_DIR = _cache()
SANDBOX_CACHE = CACHE_DIR / "sandbox"  # the grading image's build stages and its locks
