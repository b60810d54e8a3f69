"""Write the realistic fixture notebooks from ``cases.py``.

    python tests/realistic/make_notebooks.py

Also writes ``notebooks/b_broken_json.ipynb`` (a notebook cut off mid-file,
as a failed upload leaves it). The written files are the fixtures: re-run
this after changing a case.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import CASES, Case  # noqa: E402

OUT = HERE / "notebooks"
BROKEN = "b_broken_json.ipynb"


def _id(case: Case, index: int) -> str:
    """A cell id that is the same every time the fixtures are written (nbformat's own are random)."""
    return hashlib.sha1(f"{case.name}/{index}".encode()).hexdigest()[:8]


def notebook(case: Case) -> nbformat.NotebookNode:
    """The case as a notebook: a title cell, its code cells, stored outputs where the case has them."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    title = f"# {case.name}\nA student's notebook, as handed in."
    nb.cells.append(nbformat.v4.new_markdown_cell(title, id=_id(case, -1)))
    for index, source in enumerate(case.cells):
        cell = nbformat.v4.new_code_cell(source, id=_id(case, index))
        if index in case.outputs:
            cell.outputs = [nbformat.from_dict(o) for o in case.outputs[index]]
            # a case may give each cell its own In [n] (the order its author ran the cells in)
            cell.execution_count = getattr(case, "counts", {}).get(index, 41)
        nb.cells.append(cell)
    return nb


def script(case: Case) -> str:
    """The case as a .py module with ``# %%`` cell markers (shell and magic lines cannot appear in one)."""
    return "\n\n".join(f"# %%\n{source}" for source in case.cells) + "\n"


def main() -> int:
    """Write every fixture; returns 0."""
    OUT.mkdir(exist_ok=True)
    for case in CASES:
        path = OUT / f"{case.name}{case.suffix}"
        if case.suffix == ".py":
            path.write_text(script(case), encoding="utf-8")
        else:
            nbformat.validate(notebook(case))
            nbformat.write(notebook(case), path)
    whole = nbformat.writes(notebook(CASES[0]))
    (OUT / BROKEN).write_text(whole[: len(whole) // 2], encoding="utf-8")
    print(f"wrote {len(CASES) + 1} fixtures under {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
