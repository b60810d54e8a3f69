"""One submission's way through the harness, as a list of small named steps.

    intake -> prepare -> execute -> evaluate -> check -> score -> record -> report

``intake`` (graders.intake) happens before a task exists; ``record`` and
``report`` act on the whole class (graders.store, graders.reports). This
module holds the per-submission steps in between and ``grade_task``, which
runs them and turns every failure -- the student's or the harness's -- into
a graded RunRecord with a status and a reason.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat

from graders import __version__
from graders.artifacts import Artifacts, EvalResult, ProbeResult, RunResult, read_json_model
from graders.config import LatePolicy
from graders.datastore import ServedData, served_data
from graders.intake import Student, Submission
from graders.models import Adaptation, CellError, ComponentMarks, Provenance, RunRecord, Status
from graders.paths import RUNTIME_DIR
from graders.rubric import Rubric, load_targets, targets_for
from graders.sandbox import Ending, Job, JobResult, Limits, Mount, Sandbox

STEPS = ("intake", "prepare", "execute", "evaluate", "check", "score", "record", "report")
RUNTIME_TARGET = "/opt/labgrade-runtime"
SCRATCH = "/scratch"
JOBS_ROOT = Path(tempfile.gettempdir()) / "labgrade-jobs"


@dataclass(frozen=True)
class GradeContext:
    """What every task of one grading session shares."""

    course: str
    profile: str
    seed: int
    limits: Limits
    late_policy: LatePolicy
    backend: Sandbox
    real_data: Path | None = None
    gpus: bool = False


@dataclass(frozen=True)
class Task:
    """One student x experiment to grade."""

    student: Student
    rubric: Rubric
    submission: Submission | None
    due: datetime | None
    note: str = ""


@dataclass
class Workspace:
    """A fresh per-submission folder tree on the host (step: prepare)."""

    root: Path
    notebook_name: str
    data: ServedData

    def dir(self, name: str) -> Path:
        """A sub-folder of the workspace, created on first use."""
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path


@dataclass
class Execution:
    """What the execute step observed (step: execute)."""

    job: JobResult
    run: RunResult | None
    probe: ProbeResult | None
    adaptations: list[Adaptation] = field(default_factory=list)
    executed: nbformat.NotebookNode | None = None


# ---------------------------------------------------------------- prepare


def prepare(ctx: GradeContext, task: Task) -> Workspace:
    """A fresh work dir: the submission, the served data, the job spec. Nothing else."""
    assert task.submission is not None and task.submission.notebook is not None
    JOBS_ROOT.mkdir(mode=0o711, exist_ok=True)
    JOBS_ROOT.chmod(0o711)
    root = Path(tempfile.mkdtemp(prefix="job-", dir=JOBS_ROOT))
    root.chmod(0o711)
    data = served_data(task.rubric, ctx.profile, ctx.seed, ctx.real_data)
    ws = Workspace(root, "submission.ipynb", data)
    work = ws.dir("work")
    nbformat.write(task.submission.notebook, work / ws.notebook_name)
    for name in data.files:
        source = data.served_dir / "files" / name
        if source.is_dir():  # an image folder tree (the mini projects' datasets)
            shutil.copytree(source, work / name)
        else:
            shutil.copyfile(source, work / name)
    profile = task.rubric.profiles.get(ctx.profile)
    spec = {
        "notebook": ws.notebook_name,
        "cell_seconds": ctx.limits.cell_seconds,
        "output_bytes": ctx.limits.output_bytes,
        "profile": ctx.profile,
        "epoch_cap": profile.epoch_cap if profile else 0,
        "seed": ctx.seed,
        "keras_datasets": data.keras,
        "dataset_source": data.source,
        "data_files": list(data.files),
        "aliases": dict(task.rubric.data.aliases),
    }
    (ws.dir("job") / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    ws.dir("out")
    return ws


def _python(ctx: GradeContext) -> str:
    """The interpreter inside the sandbox: the harness's own locally, the image's in a container."""
    return sys.executable if ctx.backend.name == "local" else "python3"


def _env(**roots: str) -> dict[str, str]:
    env = {f"LABGRADE_{k.upper()}": v for k, v in roots.items()}
    # Every job gets its own scratch folder (HOME, TMPDIR, caches): nothing is shared between students.
    env.update(PYTHONPATH=RUNTIME_TARGET, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONDONTWRITEBYTECODE="1", HOME=SCRATCH, TMPDIR=SCRATCH, KERAS_HOME=f"{SCRATCH}/keras",
               MPLCONFIGDIR=f"{SCRATCH}/matplotlib", JUPYTER_RUNTIME_DIR=f"{SCRATCH}/jupyter", JUPYTER_DATA_DIR=f"{SCRATCH}/jupyter")
    return env


# ---------------------------------------------------------------- execute


def execute(ctx: GradeContext, ws: Workspace) -> Execution:
    """Run the notebook in the sandbox (untrusted) and read what it left."""
    job = Job(
        name="execute",
        argv=(_python(ctx), "-m", "labgrade_runtime.run", "/job/spec.json"),
        mounts=(
            Mount(ws.dir("work"), "/work", read_only=False),
            Mount(ws.dir("out"), "/out", read_only=False),
            Mount(ws.dir("job"), "/job"),
            Mount(ws.data.served_dir, "/data"),
            Mount(RUNTIME_DIR, RUNTIME_TARGET),
            Mount(ws.dir("scratch"), SCRATCH, read_only=False),
        ),
        cwd="/work",
        env=_env(work="/work", out="/out", data="/data", spec="/job/spec.json"),
        limits=ctx.limits,
        gpu=ctx.gpus,
    )
    result = ctx.backend.run(job)
    out = ws.dir("out")
    return Execution(
        job=result,
        run=read_json_model(out / "run.json", RunResult),
        probe=read_json_model(out / "probe.json", ProbeResult),
        adaptations=_adaptations(out / "adaptations.jsonl"),
        executed=_read_executed(out / "executed.ipynb"),
    )


def _adaptations(path: Path) -> list[Adaptation]:
    seen: dict[tuple[str, str], Adaptation] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:200]
    except OSError:
        return []
    for line in lines:
        try:
            item = Adaptation.model_validate_json(line)
        except ValueError:
            continue
        seen.setdefault((item.kind, item.detail), item)
    return list(seen.values())


def _read_executed(path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # the executed copy is informational; any failure means "none"
        return None


# ---------------------------------------------------------------- evaluate


def evaluate(ctx: GradeContext, task: Task, ws: Workspace, execution: Execution) -> EvalResult | None:
    """Score the saved model on the hidden holdout in a fresh sandboxed process."""
    if execution.probe is None or not execution.probe.model_saved:
        return None
    hold = ws.dir("holdout")
    shutil.copyfile(ws.data.holdout, hold / "holdout.npz")
    spec = {"kind": task.rubric.kind, "input": task.rubric.input, "raw_stats": ws.data.raw_stats, "n_classes": task.rubric.n_classes}
    (ws.dir("evaljob") / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    job = Job(
        name="evaluate",
        argv=(_python(ctx), "-m", "labgrade_runtime.evaluate", "/job/spec.json"),
        mounts=(
            Mount(ws.dir("out"), "/artifacts"),
            Mount(hold, "/holdout"),
            Mount(ws.dir("eval"), "/out", read_only=False),
            Mount(ws.dir("evaljob"), "/job"),
            Mount(RUNTIME_DIR, RUNTIME_TARGET),
            Mount(ws.dir("evalscratch"), SCRATCH, read_only=False),
            Mount(task.rubric.folder, "/rubric"),
        ),
        cwd="/out",
        env=_env(artifacts="/artifacts", holdout="/holdout", out="/out", rubric="/rubric"),
        limits=Limits(wall_seconds=300, memory_mb=ctx.limits.memory_mb, cpus=ctx.limits.cpus, pids=ctx.limits.pids, output_bytes=200_000, disk_mb=256),
        gpu=ctx.gpus,
    )
    result = ctx.backend.run(job)
    evaluation = read_json_model(ws.dir("eval") / "evaluation.json", EvalResult)
    if evaluation is None:
        tail = result.output_tail.strip().splitlines()[-1:] or [result.message or result.ending.value]
        return EvalResult(ok=False, reason=f"the evaluator did not finish ({result.ending.value}): {tail[0][:200]}")
    return evaluation


# ---------------------------------------------------------------- status


# Statuses the runner gives a failing cell when the harness knows what the notebook needed.
CLEAR_STATUSES = ("needs_network", "missing_data_file", "missing_package", "needs_input", "needs_camera")


def status_of(execution: Execution, evaluation: EvalResult | None) -> tuple[Status, str, CellError | None]:
    """How the run ended, in the student's terms."""
    job, run = execution.job, execution.run
    by_ending = {
        Ending.timeout: (Status.timeout, f"the run exceeded its total time limit ({job.message or 'killed'})"),
        Ending.memory: (Status.memory_exceeded, f"the run used more memory than allowed ({job.message or 'killed'})"),
        Ending.output: (Status.output_exceeded, f"the run printed far more output than allowed ({job.message or 'killed'})"),
        Ending.disk: (Status.disk_exceeded, f"the run wrote more data than allowed ({job.message or 'killed'})"),
        Ending.error: (Status.sandbox_error, f"the sandbox could not run the job: {job.message}"),
    }
    if job.ending in by_ending and (run is None or job.ending is not Ending.exited):
        status, reason = by_ending[job.ending]
        return status, reason, None
    if run is None:
        last = next((ln for ln in reversed(job.output_tail.splitlines()) if ln.strip()), "no output")
        return Status.kernel_died, f"the run ended without reporting (exit code {job.exit_code}): {last[:200]}", None
    if run.status in CLEAR_STATUSES:
        return Status(run.status), run.reason or run.status.replace("_", " "), run.cell_error
    if run.status in ("cell_error", "timeout") and run.cell_error is not None:
        err = run.cell_error
        status = Status.timeout if run.status == "timeout" else Status.cell_error
        what = err.evalue if run.status == "timeout" else f"{err.ename}: {err.evalue}"
        return status, f"cell {err.cell_index} failed: {what}", err
    if run.status == "kernel_died":
        return Status.kernel_died, run.reason or "the kernel died", None
    return _completed_status(execution, evaluation)


def _completed_status(execution: Execution, evaluation: EvalResult | None) -> tuple[Status, str, CellError | None]:
    probe = execution.probe
    if probe is None or not probe.model_found:
        extra = f" (found scikit-learn {', '.join(probe.sklearn_estimators)})" if probe and probe.sklearn_estimators else ""
        return Status.no_model, f"the notebook ran, but no trained Keras model was found{extra}", None
    if not probe.model_saved:
        return Status.evaluation_failed, f"the trained model could not be saved for evaluation: {probe.save_error}", None
    if evaluation is None or not evaluation.ok:
        return Status.evaluation_failed, (evaluation.reason if evaluation else "not evaluated"), None
    return Status.completed, "", None


# ---------------------------------------------------------------- grade


@dataclass
class Outcome:
    """What prepare, execute and evaluate produced for one submission."""

    execution: Execution
    evaluation: EvalResult | None
    status: Status
    reason: str
    cell_error: CellError | None
    provenance: Provenance


def run_steps(ctx: GradeContext, task: Task) -> Outcome:
    """prepare -> execute -> evaluate, timed, with the workspace removed afterwards."""
    started, durations = time.perf_counter(), {}
    ws: Workspace | None = None
    try:
        t = time.perf_counter()
        ws = prepare(ctx, task)
        durations["prepare"] = time.perf_counter() - t
        t = time.perf_counter()
        execution = execute(ctx, ws)
        durations["execute"] = time.perf_counter() - t
        t = time.perf_counter()
        evaluation = evaluate(ctx, task, ws, execution)
        durations["evaluate"] = time.perf_counter() - t
        durations["total"] = time.perf_counter() - started
        status, reason, cell_error = status_of(execution, evaluation)
        return Outcome(execution, evaluation, status, reason, cell_error, provenance(ctx, ws, execution, durations))
    finally:
        if ws is not None:
            shutil.rmtree(ws.root, ignore_errors=True)


def grade_task(ctx: GradeContext, task: Task) -> RunRecord:
    """Run every per-submission step; any failure becomes a status with a reason."""
    from graders.scoring import grade_artifacts, unrunnable_record

    sub = task.submission
    if sub is None or sub.notebook is None:
        return unrunnable_record(ctx, task)
    try:
        targets = load_targets(task.rubric.id, ctx.profile)
        out = run_steps(ctx, task)
        if out.evaluation is not None and out.evaluation.ok:
            targets = targets_for(task.rubric, targets, out.evaluation.metrics)
        artifacts = Artifacts.build(task=task, ctx=ctx, execution=out.execution, evaluation=out.evaluation, status=out.status,
                                    reason=out.reason, cell_error=out.cell_error, targets=targets)
        return grade_artifacts(ctx, task, artifacts, out.provenance)
    except Exception as exc:  # a crashed grader is a status of its own, never a silent 0
        return unrunnable_record(ctx, task, status=Status.sandbox_error, reason=f"the harness failed: {type(exc).__name__}: {exc}")


def calibration_run(ctx: GradeContext, task: Task) -> dict[str, Any]:
    """Run a reference solution and return the targets to store for its profile."""
    out = run_steps(ctx, task)
    if out.status is not Status.completed or out.evaluation is None:
        raise RuntimeError(f"the reference solution did not complete: {out.status.value}: {out.reason}")
    probe = out.execution.probe
    return {
        "experiment": task.rubric.id,
        "profile": ctx.profile,
        "seed": ctx.seed,
        "metrics": out.evaluation.metrics,
        "total_params": out.evaluation.total_params,
        "train_seconds": round(probe.train_seconds, 2) if probe else 0.0,
        "train_cpu_seconds": round(probe.train_cpu_seconds, 2) if probe else 0.0,
        "dataset_source": out.provenance.dataset_source,
        "runtime": out.provenance.runtime,
        "harness_version": __version__,
        "calibrated_at": datetime.now().isoformat(timespec="seconds"),
    }


def provenance(ctx: GradeContext, ws: Workspace, execution: Execution, durations: dict[str, float]) -> Provenance:
    """Where this result came from: versions, data, machine, timings, isolation."""
    from importlib import metadata

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "absent"

    runtime = {d: version(d) for d in ("tensorflow", "keras", "tf-keras", "nbclient", "numpy")}
    runtime["python"] = platform.python_version()
    if execution.probe is not None:
        runtime["keras_runtime_used"] = execution.probe.keras_runtime
    return Provenance(
        harness_version=__version__,
        backend=ctx.backend.name,
        image=execution.job.image,
        profile=ctx.profile,
        seed=ctx.seed,
        dataset_source=dict(ws.data.source),
        runtime=runtime,
        hardware={"machine": platform.machine(), "cpus": str(ctx.limits.cpus), "gpu": execution.job.isolation.get("gpu", "none")},
        durations={k: round(v, 2) for k, v in durations.items()},
        isolation=dict(execution.job.isolation),
    )


def new_run_id() -> str:
    """A unique, sortable run id."""
    return f"{datetime.now().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
