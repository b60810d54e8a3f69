"""What the notebook's saved outputs say about the student's own run, read before they are stripped.

The outputs never count as results (stale numbers must not score), but they
are evidence of how the author ran the notebook: which Keras printed the
progress lines (:mod:`labgrade_runtime.runner.keras_choice`), what was typed
at an ``input()`` prompt (replayed), whether a cell that fails now failed the
same way for the student, who then ran the later cells anyway, and whether a
cell's saved output came from an earlier version of the code.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SavedCell:
    """One code cell as handed in: where it is, when the student ran it, what it printed."""

    index: int  # in the notebook's cells (markdown included), as cell errors count
    execution_count: int | None
    text: str = ""  # stdout/stderr streams and text/plain results
    stdin: str = ""  # JupyterLab's record of what was typed at input() prompts
    stdout: tuple[str, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()  # (ename, evalue)
    has_outputs: bool = False
    source: str = field(default="", repr=False)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def saved_cells(nb: Any) -> list[SavedCell]:
    """The code cells of a notebook read with its outputs (an nbformat node or plain JSON dict)."""
    cells: list[SavedCell] = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        text: list[str] = []
        stdin: list[str] = []
        stdout: list[str] = []
        errors: list[tuple[str, str]] = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                chunk = _text(out.get("text"))
                (stdin if out.get("name") == "stdin" else text).append(chunk)
                if out.get("name") == "stdout":
                    stdout.extend(chunk.splitlines())
            elif kind in ("execute_result", "display_data"):
                text.append(_text(out.get("data", {}).get("text/plain", "")))
            elif kind == "error":
                errors.append((str(out.get("ename", "")), _text(out.get("evalue", ""))))
        count = cell.get("execution_count")
        cells.append(
            SavedCell(
                index,
                count if isinstance(count, int) else None,
                "".join(text),
                "".join(stdin),
                tuple(stdout),
                tuple(errors),
                bool(cell.get("outputs")),
                _text(cell.get("source")),
            )
        )
    return cells


def by_index(cells: list[SavedCell]) -> dict[int, SavedCell]:
    """The saved cells keyed by their index in the notebook."""
    return {c.index: c for c in cells}


def _norm(text: str) -> str:
    """An error message without what changes from run to run (numbers, addresses, paths)."""
    text = re.sub(r"0x[0-9a-f]+|\d+(\.\d+)?", "#", text.lower())
    return re.sub(r"(/[\w.\-]+)+", "/…", text).strip()


def same_error(cell: SavedCell, ename: str, evalue: str) -> bool:
    """Whether the cell's saved output shows the error it raises now."""
    now = _norm(evalue.splitlines()[0] if evalue else "")
    for saved_name, saved_value in cell.errors:
        then = _norm(saved_value.splitlines()[0] if saved_value else "")
        if saved_name == ename and (then == now or difflib.SequenceMatcher(None, then, now).ratio() >= 0.6):
            return True
    return False


def ran_later(cells: list[SavedCell], cell: SavedCell) -> list[int]:
    """The later cells the student ran after this one, in the same session (saved outputs, higher counts)."""
    if cell.execution_count is None:
        return []
    return [
        c.index
        for c in cells
        if c.index > cell.index
        and c.has_outputs
        and c.execution_count is not None
        and c.execution_count > cell.execution_count
    ]


_HISTORY_KEY = re.compile(r"^'?(val_)?(loss|acc|accuracy|mae|mse|mean_\w+|\w*_accuracy|auc|precision|recall)'?$")


def stale_history_key(cell: SavedCell, ename: str, evalue: str) -> str | None:
    """The training-history key (``val_loss``...) the cell reads and fit() no longer records, when its saved
    output shows the cell ran without that error: the output came from an earlier version of the code."""
    if ename != "KeyError" or not cell.has_outputs or cell.errors:
        return None
    key = evalue.strip().strip("'\"")
    return key if _HISTORY_KEY.match(key) else None


def replies(cell: SavedCell) -> tuple[str, list[str]] | None:
    """(stdin text, stdout lines) when the saved output may hold what was typed at this cell's input() prompts."""
    if "input(" not in cell.source:
        return None
    if cell.stdin or cell.stdout:
        return cell.stdin, list(cell.stdout)
    return None
