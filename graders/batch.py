"""A class at scale: what to execute, what to re-score, what to reuse, and each result recorded as it arrives.

Every run records two keys of what decided it (:func:`inputs_of`):

* ``execution`` -- what the sandboxed run depends on: the submission's content
  hash, the experiment's provider, kernel adapters, evaluator and data and
  profile settings, the profile, seed, limits, the harness version and the
  sandbox runtime (its code, the backend, the grading image and the
  digest of the lock the runtime is built from);
* ``scoring`` -- what turns the stored artifacts into marks: the rubric and
  check files, the calibrated targets, the due date, the late policy, the
  submission time.

On the next ``grade`` a (student, experiment) whose latest run has the same
two keys is reused as it is; one whose execution key matches but whose
scoring changed is re-scored from the artifacts the gradebook keeps (a new
run record naming the run it re-scored, no kernel started); everything else
is executed. The gradebook is written from the driver as each result arrives,
each run in its own transaction, so a batch killed at any moment keeps what
it finished and the next ``grade`` grades only what is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from graders import __version__
from graders.backends import runtime_env
from graders.config import GradeSettings
from graders.data.store import real_fingerprint
from graders.executors import get_executor
from graders.executors.grading import GradeJob, grade_job, lost_record
from graders.gradebook import Gradebook
from graders.marking.checks.plugin import COMMON_CHECKS, check_files
from graders.models import RunRecord, Status
from graders.paths import RUNTIME_PACKAGE
from graders.rubric import targets_file
from graders.state import GradeContext, GradeState, Task, new_run_id
from graders.steps import check, score

Progress = Callable[[RunRecord], None]


def _digest(parts: Iterable[str | bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:20]


def _files(paths: Iterable[Path]) -> list[bytes]:
    return [p.name.encode() + b":" + (p.read_bytes() if p.is_file() else b"absent") for p in paths]


def runtime_fingerprint(ctx: GradeContext) -> str:
    """The sandbox runtime a run executed on: its code, the backend, the image, and the lock both install (a
    changed lock executes again)."""
    code = _files(sorted(RUNTIME_PACKAGE.rglob("*.py")))
    image = getattr(ctx.backend, "image", "")
    return _digest([ctx.backend.name, str(image), f"lock={runtime_env.lock_digest()}", *code])


def inputs_of(ctx: GradeContext, task: Task, runtime: str) -> dict[str, str]:
    """The execution and scoring keys of ``task`` in the session ``ctx``."""
    rubric, sub = task.rubric, task.submission
    folder = rubric.folder
    execution_files = [folder / "provider.py", folder / "evaluate.py", *rubric.kernel_adapters()]
    execution = _digest(
        [
            sub.sha256 if sub is not None else "missing",
            sub.error if sub is not None else "",
            rubric.data.model_dump_json(),
            json.dumps({k: v.model_dump() for k, v in rubric.profiles.items()}),
            rubric.resources.model_dump_json(),
            rubric.kind,
            rubric.input,
            ctx.profile,
            str(ctx.seed),
            repr(ctx.limits),
            str(ctx.real_data),
            real_fingerprint(ctx.real_data),
            str(ctx.gpus),
            __version__,
            runtime,
            *_files(execution_files),
            *(["uncapped"] if task.uncapped else []),
        ]
    )
    policy = ctx.late_policy.model_dump_json()
    scoring = _digest(
        [
            *_files(
                [
                    folder / "rubric.toml",
                    COMMON_CHECKS,
                    *check_files(rubric),
                    targets_file(rubric.id, ctx.profile, ctx.targets_dir),
                ]
            ),
            str(task.due),
            policy,
            str(sub.submitted_at if sub else ""),
            task.student.name,
            task.note,
            ctx.course,
            *(w.model_dump_json() for w in task.writeups),
        ]
    )
    return {"execution": execution, "scoring": scoring}


@dataclass
class Plan:
    """What a batch will do with each task."""

    execute: list[Task] = field(default_factory=list)
    rescore: list[tuple[Task, RunRecord]] = field(default_factory=list)
    reuse: list[RunRecord] = field(default_factory=list)


def plan(ctx: GradeContext, tasks: Sequence[Task], book: Gradebook, *, regrade: bool = False) -> Plan:
    """Sort the tasks into executed, re-scored and reused by the keys of their latest recorded runs."""
    latest = {(r.roll_no, r.experiment): r for r in book.latest_runs(ctx.course)}
    runtime = runtime_fingerprint(ctx)
    out = Plan()
    for task in tasks:
        last = latest.get((task.student.roll_no, task.rubric.id))
        task = _as_last_ran(ctx, task, last, runtime)
        inputs = inputs_of(ctx, task, runtime)
        task = Task(
            task.student, task.rubric, task.submission, task.due, task.note, inputs=inputs, uncapped=task.uncapped
        )
        if (
            regrade
            or last is None
            or last.status is Status.sandbox_error
            or last.inputs.get("execution") != inputs["execution"]
        ):
            out.execute.append(task)
        elif last.inputs.get("scoring") != inputs["scoring"] and last.artifacts is not None:
            out.rescore.append((task, last))
        elif last.inputs.get("scoring") != inputs["scoring"]:
            out.execute.append(task)  # a run without stored artifacts cannot be re-scored
        else:
            out.reuse.append(last)
    return out


UNCAPPED_NOTE = "repeated without the quick profile's training budget: its metric was inconclusive under it"


def _uncapped(task: Task) -> Task:
    return replace(task, uncapped=True, note="; ".join(filter(None, (task.note, UNCAPPED_NOTE))))


def _as_last_ran(ctx: GradeContext, task: Task, last: RunRecord | None, runtime: str) -> Task:
    """A run repeated without the fit budget (``grade --uncapped-inconclusive``) stays so while nothing that
    executed it changed: the next plain ``grade`` reuses or re-scores it instead of capping it again."""
    if task.uncapped or last is None:
        return task
    uncapped = _uncapped(task)
    return uncapped if last.inputs.get("execution") == inputs_of(ctx, uncapped, runtime)["execution"] else task


def inconclusive_tasks(tasks: Sequence[Task], book: Gradebook, course: str) -> list[Task]:
    """The tasks whose latest run left a check inconclusive, to be repeated without the fit budget."""
    latest = {(r.roll_no, r.experiment): r for r in book.latest_runs(course)}
    out = []
    for task in tasks:
        last = latest.get((task.student.roll_no, task.rubric.id))
        if last is not None and any(c.inconclusive for c in last.checks):
            out.append(_uncapped(task))
    return out


def rescored(ctx: GradeContext, task: Task, last: RunRecord) -> RunRecord:
    """A new run from ``last``'s artifacts under today's scoring inputs: check and score, nothing executed."""
    assert last.artifacts is not None
    state = GradeState(ctx, task)
    state.settle(last.artifacts.status, last.artifacts.reason, last.artifacts.cell_error)
    state.stored = last.artifacts
    check.check(state)
    score.score(state)
    assert state.run is not None
    return state.run.model_copy(
        update={
            "rescored_from": last.run_id,
            "provenance": last.provenance,
            "run_id": new_run_id(),
            "graded_at": datetime.now(),
        }
    )


def run_batch(
    ctx: GradeContext,
    todo: Plan,
    settings: GradeSettings,
    *,
    on_result: Progress | None,
) -> list[RunRecord]:
    """Re-score and execute what the plan says, recording every run in the gradebook the moment it arrives."""
    assert ctx.gradebook is not None
    ctx.gradebook.parent.mkdir(parents=True, exist_ok=True)
    runs: list[RunRecord] = []
    with Gradebook(ctx.gradebook) as book:

        def arrived(run: RunRecord) -> None:
            book.record_run(run)  # its own transaction: nothing finished is lost if the batch dies next
            runs.append(run)
            if on_result:
                on_result(run)

        for task, last in todo.rescore:
            arrived(rescored(ctx, task, last))
        pool = get_executor(settings.executor, **_executor_options(settings))
        jobs = [GradeJob(t, settings) for t in todo.execute]
        pool.run(jobs, grade_job, on_result=lambda _job, run: arrived(run), on_lost=lost_record)
    return runs


def _executor_options(settings: GradeSettings) -> dict[str, object]:
    """What the configured executor takes: the GPUs, and a local pool's size or a Ray cluster's address."""
    if settings.executor == "local":
        return {"gpus": settings.gpus or None, "workers": settings.workers}
    return {"gpus": settings.gpus or None, "address": settings.address}
