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
"""

from __future__ import annotations

from labgrade_runtime.runner.evidence import SavedCell, by_index, ran_later, same_error, stale_history_key

MAX_RAN_ON = 3


def ran_past(saved: list[SavedCell], index: int, ename: str, evalue: str) -> str | None:
    """Why the run goes on past the failed cell ``index`` (the reason and hint text), or None to stop."""
    cell = by_index(saved).get(index)
    if cell is None:
        return None
    first = (evalue.splitlines() or [""])[0][:160]
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
