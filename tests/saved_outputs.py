"""Notebooks with saved outputs, as the runner's evidence readers see them (for the fast runtime-fidelity tests)."""

from __future__ import annotations

import sys
from typing import Any

import nbformat

from graders.paths import RUNTIME_PACKAGE

sys.path.insert(0, str(RUNTIME_PACKAGE.parent))

from labgrade_runtime.runner import evidence  # noqa: E402


def notebook(*cells: tuple[str, list[dict[str, Any]], int | None]) -> list[evidence.SavedCell]:
    """The saved cells of a notebook (a markdown title first, as students' notebooks have)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# lab"))
    for source, outputs, count in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cell.execution_count = count
        nb.cells.append(cell)
    return evidence.saved_cells(nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4)))


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    """A saved stream output."""
    return {"output_type": "stream", "name": name, "text": text}


def error(ename: str, evalue: str, traceback: list[str] | None = None) -> dict[str, Any]:
    """A saved error output."""
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback or []}
