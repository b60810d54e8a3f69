"""The host-side kit for experiment authors: all a ``rubrics/<id>/provider.py`` or ``checks.py`` may import.

The sandbox side has its own kit (``labgrade_runtime.evaluator.kit``) for an
experiment's trusted ``evaluate.py``; this is its host-side mirror. An
experiment's data provider builds what is served from these pieces, its
checks score the run's :class:`Artifacts` with them, and nothing else of the
harness is theirs to import (``tests/test_kit.py`` keeps it so): the harness
may then move its modules without breaking an experiment.

- The profile a run is built for: :class:`ProfileSpec` (sizes, epochs).
- Arrays: :func:`feature_stats` (the scale statistics the evaluator matches),
  :func:`cut_to_profile` (train and test cut to the profile's sizes).
- Images: :func:`save_images`, :func:`image_stats`; Keras image-class datasets
  from an instructor's cache or a stand-in: :func:`image_classes`,
  :func:`serve_image_classes`.
- Course files and their variants: :class:`CourseFile`, :func:`load_variants`,
  :func:`read_canonical`, :func:`course_data` (``rubrics/<id>/data/``).
- Stand-ins: :func:`standins`, the shared library of stand-in generators
  (``standins/`` beside ``rubrics/``).
- Checks: :class:`Artifacts` (what a run left), :class:`Award` (points with
  evidence).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from graders.data.datasets.arrays import cut_to_profile, feature_stats
from graders.data.datasets.images import image_stats, save_images
from graders.data.datasets.keras_images import image_classes, serve_image_classes
from graders.data.variants import CourseFile, load_variants, read_canonical
from graders.marking.checks.plugin import Award
from graders.models import Artifacts
from graders.paths import STANDINS_DIR, course_data
from graders.rubric import ProfileSpec

__all__ = [
    "Artifacts",
    "Award",
    "CourseFile",
    "ProfileSpec",
    "course_data",
    "cut_to_profile",
    "feature_stats",
    "image_classes",
    "image_stats",
    "load_variants",
    "read_canonical",
    "save_images",
    "serve_image_classes",
    "standins",
]

STANDINS_MODULE = "labgrade_standins"  # the name the library is imported under (pickling finds it by it)


@cache
def standins() -> ModuleType:
    """The stand-in generators (``standins/`` beside ``rubrics/``), imported once per process.

    Each generator copies a real dataset's format and is deterministic in its
    arguments; see the library's ``describe()``.
    """
    init = STANDINS_DIR / "__init__.py"
    spec = importlib.util.spec_from_file_location(STANDINS_MODULE, init, submodule_search_locations=[str(STANDINS_DIR)])
    if spec is None or spec.loader is None or not init.is_file():
        raise ImportError(f"the stand-in library is missing: no {init}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[STANDINS_MODULE] = module  # its modules import each other relatively, under this name
    spec.loader.exec_module(module)
    return module
