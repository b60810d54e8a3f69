"""Step 4, evaluate (trusted code, a fresh sandboxed process): score the saved model, then say how the run ended.

The evaluator (``python -m labgrade_runtime.evaluator``) loads the model with
Keras ``safe_mode`` and scores it on the hidden holdout, which is mounted
only here, never into the student's run. Once execution and evaluation are
both known, :func:`status_of` names the run's one status and reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from graders.backends import Ending, Job, JobResult, Limits, Mount
from graders.models import CellError, Status
from graders.state import Execution, GradeState
from graders.steps.execute import SCRATCH, job_env, python, runtime_mount
from labgrade_runtime.contract import (
    CLEAR_STATUSES,
    EVAL_STAGE_FILE,
    EVALUATION_FILE,
    HOLDOUT_FILE,
    EvalResult,
    EvalRoots,
    EvalSpec,
    EvalStage,
    OwnSplitScore,
    read_artifact,
)

EVAL_WALL_SECONDS = 300
EVAL_ROOTS = EvalRoots(artifacts=Path("/artifacts"), holdout=Path("/holdout"), out=Path("/out"), rubric=Path("/rubric"))


def evaluate(state: GradeState) -> None:
    """Score the model if one was saved; then settle the run's status."""
    if not state.runnable:
        return
    execution, ws, ctx, rubric = state.execution, state.workspace, state.ctx, state.task.rubric
    assert execution is not None and ws is not None
    if execution.probe is not None and execution.probe.model_saved:
        hold = ws.dir("holdout")
        shutil.copyfile(ws.data.holdout, hold / HOLDOUT_FILE)
        spec = EvalSpec(kind=rubric.kind, input=rubric.input, raw_stats=ws.data.raw_stats)
        (ws.dir("evaljob") / "spec.json").write_text(spec.dump(), encoding="utf-8")
        limits = state.task.limits(ctx.limits)
        job = Job(
            name="evaluate",
            argv=(python(ctx), "-m", "labgrade_runtime.evaluator", "/job/spec.json"),
            mounts=(
                Mount(ws.dir("out"), "/artifacts"),
                Mount(hold, "/holdout"),
                Mount(ws.dir("eval"), "/out", read_only=False),
                Mount(ws.dir("evaljob"), "/job"),
                runtime_mount(),
                Mount(ws.dir("evalscratch"), SCRATCH, read_only=False),
                Mount(rubric.folder, "/rubric"),
            ),
            cwd="/out",
            env=job_env(ctx, EVAL_ROOTS),
            limits=Limits(
                wall_seconds=EVAL_WALL_SECONDS,
                memory_mb=limits.memory_mb,
                cpus=limits.cpus,
                pids=limits.pids,
                output_bytes=200_000,
                disk_mb=256,
            ),
            gpu=ctx.gpus,
        )
        result = ctx.backend.run(job)
        state.evaluation = settled_evaluation(ws.dir("eval"), result)
    state.settle(*status_of(execution, state.evaluation))


# Exit statuses of a process a signal ended: negative (the local backend) or 128 + n (a shell, docker).
_SIGNALS = {
    6: "aborted (SIGABRT)",
    11: "crashed (SIGSEGV)",
    4: "crashed (SIGILL)",
    7: "crashed (SIGBUS)",
    8: "crashed (SIGFPE)",
    9: "was killed (SIGKILL)",
}


def _death(result: JobResult) -> str:
    """How the evaluator process ended when it did not finish, in words."""
    if result.ending is Ending.exited and result.exit_code is not None:
        code = result.exit_code
        number = -code if code < 0 else code - 128 if code > 128 else 0
        if number in _SIGNALS:
            return f"TensorFlow {_SIGNALS[number]}" if number != 9 else f"the evaluator {_SIGNALS[number]}"
        return f"the evaluator exited with code {code}"
    words = {
        Ending.timeout: f"the evaluator ran out of time ({EVAL_WALL_SECONDS} s)",
        Ending.memory: "the evaluator ran out of memory",
    }
    return words.get(result.ending, f"the evaluator did not finish ({result.ending.value})")


def settled_evaluation(folder: Path, result: JobResult) -> EvalResult:
    """The evaluation as it stands once the evaluator's process ended, however it ended.

    The evaluator writes its main result before any secondary scoring and keeps a note of the stage it is
    in (``evaluation.stage.json``, removed when it finishes). A process TensorFlow killed natively (an
    abort in a CPU kernel, a segfault) leaves that note: the reason names the stage in words, and a result
    already written is kept, with the secondary score it did not reach said to be lost.
    """
    evaluation = read_artifact(folder / EVALUATION_FILE, EvalResult)
    stage = read_artifact(folder / EVAL_STAGE_FILE, EvalStage)
    if stage is None:
        if evaluation is not None:
            return evaluation
        tail = result.output_tail.strip().splitlines()[-1:] or [result.message or result.ending.value]
        return EvalResult(ok=False, reason=f"the evaluator did not finish ({result.ending.value}): {tail[0][:200]}")
    what = f"{_death(result)} while {stage.stage}" + (f": {stage.detail}" if stage.detail else "")
    if evaluation is not None and evaluation.ok and stage.secondary:
        return evaluation.model_copy(update={"own_split": OwnSplitScore(reason=what)})
    return EvalResult(ok=False, reason=what)


def status_of(execution: Execution, evaluation: EvalResult | None) -> tuple[Status, str, CellError | None]:
    """How the run ended, in the student's terms."""
    job, run = execution.job, execution.run
    killed = job.message or "killed"
    by_ending = {
        Ending.timeout: (Status.timeout, f"the run exceeded its total time limit ({killed})"),
        Ending.memory: (Status.memory_exceeded, f"the run used more memory than allowed ({killed})"),
        Ending.output: (Status.output_exceeded, f"the run printed far more output than allowed ({killed})"),
        Ending.disk: (Status.disk_exceeded, f"the run wrote more data than allowed ({killed})"),
        Ending.error: (Status.sandbox_error, f"the sandbox could not run the job: {job.message}"),
    }
    if job.ending in by_ending and (run is None or job.ending is not Ending.exited):
        status, reason = by_ending[job.ending]
        return status, reason, None
    if run is None:
        last = next((ln for ln in reversed(job.output_tail.splitlines()) if ln.strip()), "no output")
        return Status.kernel_died, f"the run ended without reporting (exit code {job.exit_code}): {last[:200]}", None
    if run.status in {s.value for s in CLEAR_STATUSES}:
        return Status(run.status), run.reason or run.status.replace("_", " "), run.cell_error
    if run.status in (Status.cell_error.value, Status.timeout.value) and run.cell_error is not None:
        err = run.cell_error
        status = Status.timeout if run.status == Status.timeout.value else Status.cell_error
        what = err.evalue if status is Status.timeout else f"{err.ename}: {err.evalue}"
        return status, f"cell {err.cell_index} failed: {what}", err
    if run.status == Status.kernel_died.value:
        return Status.kernel_died, run.reason or "the kernel died", None
    status, reason, _ = _completed_status(execution, evaluation)
    # the runner's own word on a run that ended early or ran past a cell (both noted as adaptations)
    return status, "; ".join(r for r in (reason, run.reason) if r), None


def _completed_status(execution: Execution, evaluation: EvalResult | None) -> tuple[Status, str, CellError | None]:
    probe = execution.probe
    if probe is None or not probe.model_found:
        found = ", ".join(probe.sklearn_estimators) if probe else ""
        extra = f" (found scikit-learn {found})" if found else ""
        return Status.no_model, f"the notebook ran, but no trained Keras model was found{extra}", None
    if not probe.model_saved:
        return (
            Status.evaluation_failed,
            f"the trained model could not be saved for evaluation: {probe.save_error}",
            None,
        )
    if evaluation is None or not evaluation.ok:
        return Status.evaluation_failed, (evaluation.reason if evaluation else "not evaluated"), None
    return Status.completed, "", None
