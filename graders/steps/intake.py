"""Step 1, intake: is there something to run?

Reading, validating, hashing and detecting happen when a task is made
(:mod:`graders.submissions`, over the student's folder); this step turns what was
found into the run's outcome when there is nothing to execute: nothing
handed in, or a file that is not a readable notebook, module or safe archive.
"""

from __future__ import annotations

from graders.models import Status
from graders.state import GradeState


def intake(state: GradeState) -> None:
    """Settle ``missing`` or ``invalid_submission`` before anything is prepared."""
    sub = state.task.submission
    if sub is None:
        state.settle(Status.missing, f"no submission for {state.task.rubric.id} was found in the student's folder")
    elif sub.notebook is None:
        state.settle(Status.invalid_submission, sub.error)
