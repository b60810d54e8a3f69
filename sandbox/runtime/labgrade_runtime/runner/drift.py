"""Restart & Run All drift: a cell that fails now, where the saved outputs show how the author got past it.

Decision: the grader runs on past such a cell -- it grades the notebook as
its author ran it -- in exactly two cases, each noted as an adaptation and
named in the run's reason (nothing is hidden from the examiner):

* the saved output shows the *same* error, and later cells have saved
  outputs with higher execution counts: the student saw the error and ran
  the later cells anyway;
* the cell reads a training-history key (``history.history['val_loss']``)
  that today's ``fit()`` does not record, while its saved output shows it ran
  without error: that output came from an earlier version of the code (e.g.
  validation removed from ``fit()`` after the plot was drawn).

Anything else -- an error the student never saw, or one after which they ran
nothing -- stops the run as before (``cell_error``). At most
:data:`MAX_RAN_ON` cells are run past: more means the notebook as handed in
does not run.

Prose in a code cell (:func:`prose_cell`): a code cell the author never ran
(no execution count, no outputs) that does not compile, even as IPython
reads it, and reads as prose -- a Markdown fence, or sentences rather than
code -- is notes pasted into the wrong kind of cell. Jupyter would show it as
text had it been a Markdown cell; the run treats it as one, noted, instead of
stopping at a SyntaxError the author never met.
"""

from __future__ import annotations

import re

from labgrade_runtime.runner.evidence import SavedCell, by_index, message, ran_later, same_error, stale_history_key

MAX_RAN_ON = 3


def ran_past(saved: list[SavedCell], index: int, ename: str, evalue: str) -> str | None:
    """Why the run goes on past the failed cell ``index`` (the reason and hint text), or None to stop."""
    cell = by_index(saved).get(index)
    if cell is None:
        return None
    first = (message(evalue) or (evalue.splitlines() or [""])[0])[:160]  # inside tf-keras' "in user code:"
    later = ran_later(saved, cell)
    if same_error(cell, ename, evalue) and later:
        return (
            f"Restart & Run All fails at cell {index}: your saved output shows the same error, and you ran the "
            f"later cells anyway ({ename}: {first}; cells {_span(later)} ran after it); the grader ran on past it "
            "as you did"
        )
    key = stale_history_key(cell, ename, evalue)
    if key:
        return (
            f"Restart & Run All fails at cell {index} ({ename}: {first}): its saved output comes from an earlier "
            f"version of your code -- fit() no longer records {key!r}, so the saved plot or numbers cannot be "
            "reproduced; the grader ran on past it"
        )
    return None


def _span(indices: list[int]) -> str:
    return f"{indices[0]}-{indices[-1]}" if len(indices) > 1 else str(indices[0])


_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
_WORD = re.compile(r"^[(\"'*_]*[A-Za-z][A-Za-z'’\-]*[)\"'*_.,;:!?]*$")
_MARKDOWN_LINE = re.compile(r"^\s*(#{1,6} |[-*+] |\d+\. |> |\|)")


def _prose_line(line: str) -> bool:
    """Words, not code: four or more, three in four of them plain words (a sentence, a list item, a heading)."""
    text = _MARKDOWN_LINE.sub("", line).strip()
    words = text.split()
    return len(words) >= 4 and sum(bool(_WORD.match(w)) for w in words) >= 0.75 * len(words)


def compiles(source: str) -> bool:
    """Whether the cell is Python as IPython runs it (magics and ``!`` lines transformed first)."""
    try:
        compile(source, "<cell>", "exec")
        return True
    except SyntaxError:
        pass
    except (ValueError, OverflowError):
        return False
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        compile(TransformerManager().transform_cell(source), "<cell>", "exec")  # type: ignore[no-untyped-call]
    except Exception:  # SyntaxError, or a transformer giving up on the text
        return False
    return True


def reads_as_prose(source: str) -> bool:
    """A Markdown fence, or at least half of the non-empty lines are sentences rather than code."""
    if _FENCE.search(source):
        return True
    lines = [line for line in source.splitlines() if line.strip()]
    return bool(lines) and sum(_prose_line(line) for line in lines) * 2 >= len(lines)


def prose_cell(cell: SavedCell) -> str | None:
    """The note for a never-run code cell that does not compile and reads as prose (None: run it as code)."""
    if cell.execution_count is not None or cell.has_outputs or not cell.source.strip():
        return None
    if compiles(cell.source) or not reads_as_prose(cell.source):
        return None
    first = next(line.strip() for line in cell.source.splitlines() if line.strip())[:80]
    return (
        f"cell {cell.index} is prose in a code cell that was never run ({first!r}...): it does not compile as "
        "Python and was treated as Markdown, as Jupyter would show it"
    )
