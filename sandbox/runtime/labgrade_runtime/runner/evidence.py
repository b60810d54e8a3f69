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
    traceback: str = field(default="", repr=False)  # the saved errors' tracebacks, ANSI colours removed


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
        tracebacks: list[str] = []
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
                frames = out.get("traceback") or []
                tracebacks.append(
                    ANSI.sub("", "\n".join(map(str, frames)) if isinstance(frames, list) else str(frames))
                )
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
                "\n".join(tracebacks),
            )
        )
    return cells


def by_index(cells: list[SavedCell]) -> dict[int, SavedCell]:
    """The saved cells keyed by their index in the notebook."""
    return {c.index: c for c in cells}


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Lines a Keras generation wraps the same error in: tf-keras' "in user code:" and its frames, Keras 3's
# "Exception encountered when calling ...", the "Arguments received by ..." trailer.
_WRAPPER = re.compile(
    r"^\s*(in user code:|File \"|Exception encountered when calling|Arguments received by|Call arguments received|•)"
)
_CLASS_PREFIX = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Warning)):\s*")
_QUOTED = re.compile(r"[\"'`][^\"'`]{0,80}[\"'`]")


def _norm(text: str) -> str:
    """An error message without what changes from run to run (numbers, addresses, paths, layer names)."""
    text = re.sub(r"0x[0-9a-f]+|\d+(\.\d+)?", "#", ANSI.sub("", text).lower())
    return re.sub(r"(/[\w.\-]+)+", "/…", text).strip()


def message(evalue: str) -> str:
    """The error's own message: its first line, or -- where a Keras generation wrapped it (tf-keras' "in user
    code:" and frames, Keras 3's "Exception encountered when calling ...") -- the message inside the wrapper."""
    lines = [ANSI.sub("", line).strip() for line in (evalue or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    if not _WRAPPER.match(lines[0]):
        return _CLASS_PREFIX.sub("", lines[0])
    inner = [line for line in lines[1:] if not _WRAPPER.match(line)]
    named = [line for line in inner if _CLASS_PREFIX.match(line)]  # tf-keras: "    ValueError: the message"
    return _CLASS_PREFIX.sub("", (named or inner or lines)[-1 if named else 0])


# The same error worded by each Keras generation (Keras 3's words | tf-keras' words): one phrase for both.
SAME_ACROSS_GENERATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"arguments `?target`? and `?output`? must have the same (rank|shape)|shapes \(.*\) and \(.*\) are "
            r"incompatible|logits and labels must have the same (first dimension|shape)"
        ),
        "target and output shapes differ",
    ),
    (
        re.compile(r"invalid dtype: object|failed to convert a numpy array to a tensor"),
        "arrays of python objects fed to the model",
    ),
    (
        re.compile(r"input # of layer .* is incompatible with the layer"),
        "input # of layer … is incompatible with the layer",
    ),
)


def leading_phrase(evalue: str) -> str:
    """What an error says before its details: the message up to its first colon (else its first six words),
    normalised. Quoted names (a layer's "dense" or "sequential_1") are one placeholder where the phrase says
    enough without them (five words or more), else kept: "name 'x' is not defined" is not "name 'y' ..."."""
    text = re.sub(r"_#\b", "", _norm(message(evalue)))
    for pattern, phrase in SAME_ACROSS_GENERATIONS:
        if pattern.search(text):
            return phrase
    head = text.split(":", 1)[0] if ":" in text[:120] else " ".join(text.split()[:6])
    placed = _QUOTED.sub("…", head)
    own = [w for w in placed.split() if w != "…"]
    return " ".join((placed if len(own) >= 5 else head).split())


def exception_class(ename: str) -> str:
    """The exception's class without its module (``tensorflow.python.framework.errors_impl.X`` is ``X``)."""
    return (ename or "").rsplit(".", 1)[-1]


def same_error(cell: SavedCell, ename: str, evalue: str) -> bool:
    """Whether the cell's saved output shows the error it raises now: the same exception class and the same
    leading phrase (or nearly the same message), however a Keras generation wrapped or worded the rest."""
    now, now_head = _norm(message(evalue)), leading_phrase(evalue)
    for saved_name, saved_value in cell.errors:
        if exception_class(saved_name) != exception_class(ename):
            continue
        then = _norm(message(saved_value))
        if then == now or (now_head and leading_phrase(saved_value) == now_head):
            return True
        quoted_then, quoted_now = set(_QUOTED.findall(then)), set(_QUOTED.findall(now))
        names_agree = quoted_then <= quoted_now or quoted_now <= quoted_then  # 'x' is not 'model'
        if names_agree and difflib.SequenceMatcher(None, then, now).ratio() >= 0.6:
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
