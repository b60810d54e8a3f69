"""Score: check results become the four columns of the marks sheet.

Each column is the sum of its checks' awarded points (the rubric makes them
add up to 5). Examiner overrides are layered on top at report time
(graders.store.effective_marks), never written into a run.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from graders.artifacts import Artifacts
from graders.checks.plugin import run_checks
from graders.models import COMPONENT_MAX, CheckResult, Component, ComponentMarks, Provenance, RunRecord, Status

if TYPE_CHECKING:
    from graders.pipeline import GradeContext, Task


def component_marks(checks: list[CheckResult]) -> ComponentMarks:
    """Sum awarded points per column, clamped to the column's maximum."""
    totals = {c.value: 0.0 for c in Component}
    for check in checks:
        totals[check.component.value] += check.awarded
    return ComponentMarks(**{k: round(min(COMPONENT_MAX, v), 2) for k, v in totals.items()})


def grade_artifacts(ctx: GradeContext, task: Task, artifacts: Artifacts, provenance: Provenance | None) -> RunRecord:
    """Run the rubric's checks and build the immutable run record."""
    from graders.pipeline import new_run_id

    checks = run_checks(task.rubric, artifacts)
    sub = task.submission
    return RunRecord(
        run_id=new_run_id(),
        course=ctx.course,
        roll_no=task.student.roll_no,
        name=task.student.name,
        experiment=task.rubric.id,
        status=artifacts.status,
        reason="; ".join(r for r in (artifacts.reason, task.note) if r),
        submission_path=str(sub.path) if sub else "",
        submission_sha256=sub.sha256 if sub else "",
        submitted_at=sub.submitted_at if sub else None,
        detected_experiment=sub.detected if sub else "",
        cell_error=artifacts.cell_error,
        metrics=artifacts.metrics,
        checks=checks,
        marks=component_marks(checks),
        viva=artifacts.viva,
        adaptations=artifacts.adaptations,
        history=artifacts.history,
        architecture=artifacts.architecture,
        provenance=provenance,
        graded_at=datetime.now(),
    )


def unrunnable_record(ctx: GradeContext, task: Task, *, status: Status | None = None, reason: str = "") -> RunRecord:
    """A graded outcome for what cannot run: nothing handed in, an unreadable file, a harness failure."""
    sub = task.submission
    if status is None:
        if sub is None:
            status, reason = Status.missing, f"no submission for {task.rubric.id} was found in the student's folder"
        else:
            status, reason = Status.invalid_submission, sub.error
    artifacts = Artifacts(
        experiment=task.rubric.id,
        profile=ctx.profile,
        status=status,
        reason=reason,
        markdown=sub.markdown if sub else [],
        submitted_at=sub.submitted_at if sub else None,
        due=task.due,
        late_policy=ctx.late_policy.model_dump(),
    )
    return grade_artifacts(ctx, task, artifacts, None)
