"""Step 3, execute (untrusted, sandboxed): run the notebook and read what it left.

The runner (``python -m labgrade_runtime.runner``) runs inside the backend
with the job's limits and no network; everything it writes is read back
through :func:`labgrade_runtime.contract.read_artifact`, which treats what
does not validate as missing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat

from graders.backends import Job, Mount, runtime_env
from graders.config import kill_memory_mb
from graders.models import Adaptation
from graders.paths import RUNTIME_PACKAGE
from graders.state import Execution, GradeContext, GradeState
from labgrade_runtime.contract import (
    ADAPTATIONS_FILE,
    EXECUTED_FILE,
    PROBE_FILE,
    RUN_FILE,
    ProbeResult,
    Roots,
    RunResult,
    RunRoots,
    read_artifact,
)

RUNTIME_TARGET = "/opt/labgrade-runtime"
SCRATCH = "/scratch"
RUN_ROOTS = RunRoots(work=Path("/work"), out=Path("/out"), data=Path("/data"), adapters=Path("/adapters"))
MAX_ADAPTATIONS = 200


def python(ctx: GradeContext) -> str:
    """The interpreter inside the sandbox: the grading runtime's locally (built from the lock), the image's in a
    container (which installs the same lock)."""
    return runtime_env.local_python() if ctx.backend.name == "local" else "python3"


def runtime_mount() -> Mount:
    """The sandbox runtime, read-only, where a container's PYTHONPATH finds it."""
    return Mount(RUNTIME_PACKAGE, f"{RUNTIME_TARGET}/labgrade_runtime")


def job_env(ctx: GradeContext, roots: Roots) -> dict[str, str]:
    """The environment of a sandboxed job: its roots (as the sandbox sees them), a scratch folder for every cache.

    A local job imports the sandbox runtime's code from where the host has it (its packages are the lock's);
    a container imports the mounted copy.
    """
    env = roots.env()
    pythonpath = str(RUNTIME_PACKAGE.parent) if ctx.backend.name == "local" else RUNTIME_TARGET
    # Every job gets its own scratch folder (HOME, TMPDIR, caches): nothing is shared between students.
    env.update(
        PYTHONPATH=pythonpath,
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        HOME=SCRATCH,
        TMPDIR=SCRATCH,
        KERAS_HOME=f"{SCRATCH}/keras",
        MPLCONFIGDIR=f"{SCRATCH}/matplotlib",
        JUPYTER_RUNTIME_DIR=f"{SCRATCH}/jupyter",
        JUPYTER_DATA_DIR=f"{SCRATCH}/jupyter",
    )
    return env


def execute(state: GradeState) -> None:
    """Run the notebook in the sandbox and read its artifacts."""
    if not state.runnable:
        return
    ctx, ws = state.ctx, state.workspace
    assert ws is not None
    adapters = state.task.rubric.kernel_dir
    reserved = state.task.limits(ctx.limits)  # what an executor reserved for this run
    limits = dataclasses.replace(
        reserved, memory_mb=kill_memory_mb(reserved.memory_mb, colab_mb=reserved.memory_ceiling_mb)
    )
    job = Job(
        name="execute",
        argv=(python(ctx), "-m", "labgrade_runtime.runner", "/job/spec.json"),
        mounts=(
            Mount(ws.dir("work"), "/work", read_only=False),
            Mount(ws.dir("out"), "/out", read_only=False),
            Mount(ws.dir("job"), "/job"),
            Mount(ws.data.served_dir, "/data"),
            runtime_mount(),
            Mount(adapters if adapters.is_dir() else ws.dir("no-adapters"), "/adapters"),
            Mount(ws.dir("scratch"), SCRATCH, read_only=False),
        ),
        cwd="/work",
        env=job_env(ctx, RUN_ROOTS),
        limits=limits,
        gpu=ctx.gpus,
    )
    result = ctx.backend.run(job)
    if limits.memory_mb > reserved.memory_mb:
        memory = f"up to {limits.memory_mb} MB as Colab gave (the pool reserved {reserved.memory_mb} MB)"
        result = dataclasses.replace(result, isolation={**result.isolation, "memory": memory})
    out = ws.dir("out")
    state.execution = Execution(
        job=result,
        run=read_artifact(out / RUN_FILE, RunResult),
        probe=read_artifact(out / PROBE_FILE, ProbeResult),
        adaptations=[*_repairs(state), *_adaptations(out / ADAPTATIONS_FILE)],
        executed=_read_executed(out / EXECUTED_FILE),
    )


def _repairs(state: GradeState) -> list[Adaptation]:
    """What intake repaired to read the notebook as Jupyter does, as one adaptation."""
    sub = state.task.submission
    if sub is None or not sub.repairs:
        return []
    return [Adaptation(kind="notebook_repaired", detail=f"{'; '.join(sub.repairs)}: repaired as Jupyter does")]


def _adaptations(path: Path) -> list[Adaptation]:
    seen: dict[tuple[str, str], Adaptation] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:MAX_ADAPTATIONS]
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
