"""One submission's way through the harness: the steps, in order, in one place.

    intake -> prepare -> execute -> evaluate -> check -> score -> record   (STEPS, per submission)
    integrity -> report                                                    (CLASS_STEPS, per class)

Each step is a function over one :class:`graders.state.GradeState`
(:mod:`graders.steps`). :func:`grade_task` runs them in order, times each,
and turns any failure -- the student's or the harness's -- into a graded
:class:`~graders.models.RunRecord` with a status and a reason: one place for
that conversion, so a crashed step is never a silent 0. After the runs,
:func:`run_class_steps` runs the class-wide steps over one
:class:`graders.state.ClassState`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from graders import __version__
from graders.models import RunRecord, Status, Targets
from graders.state import ClassState, GradeContext, GradeState, Task, bare_failure
from graders.steps import check, evaluate, execute, intake, integrity, prepare, record, report, score

S = TypeVar("S", GradeState, ClassState)


@dataclass(frozen=True)
class Step(Generic[S]):
    """A named step of the pipeline, over one submission's state or the whole class's."""

    name: str
    run: Callable[[S], None]


STEPS: tuple[Step[GradeState], ...] = (
    Step("intake", intake.intake),
    Step("prepare", prepare.prepare),
    Step("execute", execute.execute),
    Step("evaluate", evaluate.evaluate),
    Step("check", check.check),
    Step("score", score.score),
    Step("record", record.record),
)
SANDBOXED = ("prepare", "execute", "evaluate")  # the steps a calibration runs

CLASS_STEPS: tuple[Step[ClassState], ...] = (
    Step("integrity", integrity.compare),
    Step("report", report.render),
)


def _timed(state: S, steps: tuple[Step[S], ...]) -> S:
    """Run ``steps`` over the state in order, each one's seconds into ``state.durations``."""
    for step in steps:
        started = time.perf_counter()
        try:
            step.run(state)
        finally:
            state.durations[step.name] = time.perf_counter() - started
    return state


def run_steps(state: GradeState, steps: tuple[Step[GradeState], ...] = STEPS) -> GradeState:
    """Run ``steps`` over one submission's state; the workspace is removed afterwards, whatever happened."""
    try:
        return _timed(state, steps)
    finally:
        prepare.cleanup(state)


def run_class_steps(state: ClassState, steps: tuple[Step[ClassState], ...] = CLASS_STEPS) -> ClassState:
    """Run the class-wide steps over the state."""
    return _timed(state, steps)


def grade_task(ctx: GradeContext, task: Task) -> RunRecord:
    """Grade one submission; any failure becomes a status with a reason (and is still recorded)."""
    state = GradeState(ctx, task)
    try:
        run_steps(state)
    except Exception as exc:  # a crashed grader is a status of its own, never a silent 0
        return _failure_record(ctx, task, f"the harness failed: {type(exc).__name__}: {exc}")
    assert state.run is not None
    return state.run


def _failure_record(ctx: GradeContext, task: Task, reason: str) -> RunRecord:
    """A harness failure as a graded outcome: through check, score and record when they still work."""
    state = GradeState(ctx, task)
    state.settle(Status.sandbox_error, reason)
    try:
        run_steps(state, tuple(s for s in STEPS if s.name in ("check", "score", "record")))
    except Exception as exc:  # even the failure's checks failed (e.g. a broken rubric): the bare record
        state.run = bare_failure(ctx.course, task, f"{reason}; then {type(exc).__name__}: {exc}")
        run_steps(state, tuple(s for s in STEPS if s.name == "record"))
    assert state.run is not None
    return state.run


def calibration_run(ctx: GradeContext, task: Task) -> dict[str, Any]:
    """Run a reference solution through the sandboxed steps; the targets to store for its profile."""
    # A reference is what targets are made from: it is never compared with any.
    state = GradeState(ctx, task, targets=Targets())
    run_steps(state, tuple(s for s in STEPS if s.name in ("intake", *SANDBOXED)))
    evaluation = state.evaluation
    if state.status is not Status.completed or evaluation is None:
        status = state.status.value if state.status else "not run"
        raise RuntimeError(f"the reference solution did not complete: {status}: {state.reason}")
    probe = state.execution.probe if state.execution else None
    prov = score.provenance(state)
    return {
        "experiment": task.rubric.id,
        "profile": ctx.profile,
        "seed": ctx.seed,
        "metrics": evaluation.metrics,
        "total_params": evaluation.total_params,
        "train_seconds": round(probe.train_seconds, 2) if probe else 0.0,
        "train_cpu_seconds": round(probe.train_cpu_seconds, 2) if probe else 0.0,
        "dataset_source": prov.dataset_source if prov else {},
        "dataset_kind": prov.dataset_kind if prov else {},
        "runtime": prov.runtime if prov else {},
        "harness_version": __version__,
        "calibrated_at": datetime.now().isoformat(timespec="seconds"),
    }
