"""Step 6, score: check results become the four columns of the marks sheet, in one immutable run record.

Each column is the sum of its checks' awarded points (the rubric makes them
add up to 5). Examiner overrides are layered on top at report time
(:func:`graders.gradebook.effective_marks`), never written into a run.
"""

from __future__ import annotations

import platform
from collections.abc import Collection
from datetime import datetime

from packaging.utils import canonicalize_name

from graders import __version__
from graders.backends import runtime_env
from graders.integrity.forgery import discrepancy_flags, forgery_flags
from graders.integrity.leakage import leakage_flags
from graders.marking.writeups.match import answer_sources, nothing_written
from graders.models import (
    COMPONENT_MAX,
    CheckResult,
    Component,
    ComponentMarks,
    IntegrityFlag,
    Provenance,
    RunRecord,
    Status,
)
from graders.state import GradeState, new_run_id

RUNTIME_DISTRIBUTIONS = ("tensorflow", "keras", "tf-keras", "nbclient", "numpy", "pandas", "scikit-learn")


def component_marks(checks: list[CheckResult], pending: Collection[Component] = ()) -> ComponentMarks:
    """Sum awarded points per column, clamped to the column's maximum; ``pending`` columns stay unmarked."""
    totals = {c.value: 0.0 for c in Component}
    for check in checks:
        totals[check.component.value] += check.awarded
    return ComponentMarks(
        **{c.value: None if c in pending else round(min(COMPONENT_MAX, totals[c.value]), 2) for c in Component}
    )


def pending_columns(state: GradeState) -> set[Component]:
    """The columns only an examiner can mark for this run: nobody has given them yet.

    The viva is held by an examiner (what the notebook's text answers is only a
    suggestion, counted when the course says so); Answers wait for the examiner
    when the student wrote nothing to score; a column with an inconclusive check
    waits for a run without the quick profile's budget; nothing handed in, or a
    harness failure, leaves every column to be given.
    """
    if state.status in (Status.missing, Status.sandbox_error):
        return set(Component)
    pending = set() if state.ctx.count_suggested_viva else {Component.viva}
    art = state.artifacts
    if art is not None and nothing_written(answer_sources(art, state.task.rubric)):
        pending.add(Component.answers)
    # A check the run could not decide (a fit cut by the quick profile's budget while still improving) leaves
    # its column pending until the run is repeated without the budget: its points are not given, nor a 0.
    pending.update(c.component for c in state.checks if c.inconclusive)
    return pending


def score(state: GradeState) -> None:
    """Build the run record from the checks and the artifacts they read."""
    assert state.artifacts is not None and state.status is not None
    task, sub = state.task, state.task.submission
    pending = pending_columns(state)
    suggested = component_marks(state.checks).as_dict()
    suggested = {c: suggested[c.value] for c in Component}
    state.run = RunRecord(
        run_id=new_run_id(),
        course=state.ctx.course,
        roll_no=task.student.roll_no,
        name=task.student.name,
        experiment=task.rubric.id,
        status=state.status,
        reason="; ".join(r for r in (state.reason, task.note) if r),
        submission_path=str(sub.path) if sub else "",
        submission_sha256=sub.sha256 if sub else "",
        submitted_at=sub.submitted_at if sub else None,
        detected_experiment=sub.detected if sub else "",
        checks=state.checks,
        marks=component_marks(state.checks, pending),
        suggested={c.value: suggested.get(c) or 0.0 for c in pending if c in (Component.viva, Component.answers)},
        artifacts=state.artifacts,
        provenance=provenance(state),
        inputs=dict(task.inputs),
        graded_at=datetime.now(),
        flags=integrity_flags(state),
    )


def integrity_flags(state: GradeState) -> list[IntegrityFlag]:
    """Forgery and leakage evidence from the run's artifacts, for the examiner: marks are never changed by it.

    Recomputed from the stored artifacts on a re-score, so today's thresholds apply; the handed-in notebook
    (when there is one) names the cells.
    """
    art, sub = state.artifacts, state.task.submission
    if art is None or not art.status.ran:
        return []
    notebook = sub.notebook if sub is not None else None
    rule = state.task.rubric.metric
    forged = forgery_flags(art, rule, notebook)
    dataset = state.task.rubric.data.holdout
    disagrees = [] if forged else discrepancy_flags(art, rule, notebook, dataset=dataset)  # forgery explains it
    return forged + disagrees + leakage_flags(art.probe, notebook)


def provenance(state: GradeState) -> Provenance | None:
    """Where this result came from: versions, data, machine, timings, isolation (None when nothing ran)."""
    ctx, ws, execution = state.ctx, state.workspace, state.execution
    if ws is None or execution is None:
        return None
    # The grading runtime is the lock (every run's environment is checked against it): its versions and digest.
    locked = runtime_env.pins()
    runtime = {d: locked.get(canonicalize_name(d), "absent") for d in RUNTIME_DISTRIBUTIONS}
    runtime["lock"] = runtime_env.lock_digest()
    runtime["python"] = platform.python_version()
    if execution.probe is not None:
        runtime["keras_runtime_used"] = execution.probe.keras_runtime
    durations = {k: v for k, v in state.durations.items() if k in ("prepare", "execute", "evaluate")}
    durations["total"] = sum(durations.values())
    return Provenance(
        harness_version=__version__,
        backend=ctx.backend.name,
        image=execution.job.image,
        profile=ctx.profile,
        seed=ctx.seed,
        dataset_source=dict(ws.data.source),
        dataset_kind=dict(ws.data.kind),
        runtime=runtime,
        hardware={
            "machine": platform.machine(),
            "cpus": str(ctx.limits.cpus),
            "gpu": execution.job.isolation.get("gpu", "none"),
        },
        durations={k: round(v, 2) for k, v in durations.items()},
        isolation=dict(execution.job.isolation),
    )
