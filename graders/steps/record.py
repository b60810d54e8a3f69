"""Step 7, record: the run goes into the gradebook the moment it exists, in a transaction of its own.

A batch that is killed afterwards loses nothing that was recorded. Without a
gradebook (a student's self-check, a calibration) there is nothing to write.
"""

from __future__ import annotations

from graders.gradebook import Gradebook
from graders.state import GradeState


def record(state: GradeState) -> None:
    """Append the run to the session's gradebook, if it has one."""
    if state.ctx.gradebook is None or state.run is None:
        return
    state.ctx.gradebook.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(state.ctx.gradebook) as book:
        book.record_run(state.run)
