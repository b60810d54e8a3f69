"""Step 5, check: the checks' view of the run, and the rubric's pytest checks over it (no student code on the host).

:class:`graders.models.Artifacts` nests what the sandbox reported; the
targets are the variant's reference when the run's metrics say which variant
it is; the viva questions are drawn from the student's own model.
"""

from __future__ import annotations

from graders.marking.answers import printed_metrics
from graders.marking.checks.plugin import run_checks
from graders.marking.viva import viva_questions
from graders.models import Artifacts, Status, Targets
from graders.rubric import load_targets, targets_for
from graders.state import GradeState


def artifacts_of(state: GradeState) -> Artifacts:
    """Assemble the checks' view of a run from the validated pieces (or, for a re-score, from the stored ones)."""
    if state.stored is not None:
        return _rescored(state, state.stored)
    ctx, task, execution = state.ctx, state.task, state.execution
    sub = task.submission
    evaluation = state.evaluation
    targets = state.targets or Targets()
    if evaluation is not None and evaluation.ok:
        targets = targets_for(task.rubric, targets, evaluation.metrics)
    base = Artifacts(
        experiment=task.rubric.id,
        profile=ctx.profile,
        status=state.status or Status.sandbox_error,
        reason=state.reason,
        cell_error=state.cell_error,
        run=execution.run if execution else None,
        probe=execution.probe if execution else None,
        evaluation=evaluation,
        markdown=sub.markdown if sub is not None else [],
        markdown_cells=sub.markdown_cells if sub is not None else [],
        writeups=list(task.writeups),
        printed=printed_metrics(execution.executed) if execution else {},
        submitted_at=sub.submitted_at if sub else None,
        due=task.due,
        late_policy=ctx.late_policy,
        targets=targets,
        adaptations=execution.adaptations if execution else [],
    )
    if execution is None:
        return base
    return base.model_copy(update={"viva": viva_questions(task.rubric, base)})


def _rescored(state: GradeState, stored: Artifacts) -> Artifacts:
    """Stored artifacts under today's scoring inputs: targets, due date, late policy, viva keys."""
    task = state.task
    targets = state.targets or Targets()
    if stored.scored is not None:
        targets = targets_for(task.rubric, targets, stored.scored.metrics)
    sub = task.submission
    base = stored.model_copy(
        update={
            "targets": targets,
            "due": task.due,
            "late_policy": state.ctx.late_policy,
            "writeups": list(task.writeups),
            "submitted_at": sub.submitted_at if sub else stored.submitted_at,
        }
    )
    if stored.probe is None and stored.run is None:
        return base
    return base.model_copy(update={"viva": viva_questions(task.rubric, base)})


def check(state: GradeState) -> None:
    """Run every check of the rubric over the run's artifacts."""
    if state.targets is None and state.stored is not None:
        state.targets = load_targets(state.task.rubric.id, state.ctx.profile, course_targets=state.ctx.targets_dir)
    state.artifacts = artifacts_of(state)
    state.checks = run_checks(state.task.rubric, state.artifacts)
