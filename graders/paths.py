"""Where the project's own folders are (the harness is run from a checkout).

``LABGRADE_HOME`` points elsewhere, e.g. at a course's own copy of
``rubrics/`` and ``reference/``.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME = Path(os.environ.get("LABGRADE_HOME", Path(__file__).resolve().parent.parent))
RUBRICS_DIR = HOME / "rubrics"
REFERENCE_DIR = HOME / "reference"
RUNTIME_DIR = HOME / "sandbox" / "runtime"
DATASETS_DIR = HOME / "reference" / "datasets"
CACHE_DIR = Path(os.environ.get("LABGRADE_CACHE", HOME / ".labgrade"))
