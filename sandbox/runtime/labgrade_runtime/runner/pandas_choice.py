"""Which pandas generation a notebook's author ran, read off the saved outputs before the kernel starts.

The grading runtime has pandas 2 (Colab 2024-25). Notebooks of the 2023
generation ran on pandas 1.5, which dropped the columns a reduction could not
use (``df.corr()`` on a frame that still holds date strings) with a
FutureWarning, where pandas 2 raises. The saved outputs say which one the
author had: pandas 1.x's own warnings ("The default value of numeric_only in
DataFrame.corr is deprecated", "Dropping of nuisance columns", "The
frame.append method is deprecated", "iteritems is deprecated") or pip's
"Requirement already satisfied: pandas … (1.5.3)". Python 3.10 paths are
named beside them as the same generation's evidence, but never decide alone:
Colab kept Python 3.10 into 2025, long after pandas 2 arrived. The kernel side
is :func:`labgrade_runtime.kernel.compat.use_pandas15`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from labgrade_runtime.runner.evidence import SavedCell

PANDAS1_SIGNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"The default value of numeric_only in DataFrame(GroupBy)?\.\w+ is deprecated"),
        "pandas 1.5's numeric_only FutureWarning",
    ),
    (re.compile(r"Dropping of nuisance columns in DataFrame reductions"), "pandas 1.x's nuisance-columns warning"),
    (re.compile(r"The frame\.append method is deprecated"), "pandas 1.4-1.5's frame.append warning"),
    (re.compile(r"iteritems is deprecated and will be removed"), "pandas 1.5's iteritems warning"),
    (re.compile(r"Requirement already satisfied: pandas[^\n]*\((1\.\d+\.\d+)\)"), "pip's pandas 1.x line"),
)
PYTHON310 = re.compile(r"/python3\.10/(dist|site)-packages/")


def choose(cells: Iterable[SavedCell]) -> list[str]:
    """Why the saved outputs show the pandas 1.5 generation (empty: the runtime's pandas 2, as it is)."""
    cells = list(cells)
    found = [
        f"saved output of cell {cell.index} shows {why}"
        for cell in cells
        for pattern, why in PANDAS1_SIGNS
        if pattern.search(cell.text)
    ][:1]
    if found and any(PYTHON310.search(cell.text + cell.traceback) for cell in cells):
        found.append("its paths are Python 3.10's (Colab 2023)")
    return found
