"""Step 2, prepare: a fresh work folder with the submission, the served data and the job spec. Nothing else.

The calibrated targets are loaded here too, before anything runs: an
experiment that was never calibrated fails fast with the command to fix it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
from labgrade_runtime.contract import JobSpec

from graders.datastore import served_data
from graders.rubric import load_targets
from graders.state import GradeState, Workspace

JOBS_ROOT = Path(tempfile.gettempdir()) / "labgrade-jobs"
NOTEBOOK_NAME = "submission.ipynb"


def prepare(state: GradeState) -> None:
    """Load the targets, then lay out the workspace the sandboxed steps mount."""
    ctx, task = state.ctx, state.task
    if not state.runnable:
        return
    if state.targets is None:
        state.targets = load_targets(task.rubric.id, ctx.profile)
    assert task.submission is not None and task.submission.notebook is not None
    JOBS_ROOT.mkdir(mode=0o711, exist_ok=True)
    JOBS_ROOT.chmod(0o711)
    root = Path(tempfile.mkdtemp(prefix="job-", dir=JOBS_ROOT))
    root.chmod(0o711)
    data = served_data(task.rubric, ctx.profile, ctx.seed, ctx.real_data)
    ws = state.workspace = Workspace(root, NOTEBOOK_NAME, data)
    work = ws.dir("work")
    nbformat.write(task.submission.notebook, work / ws.notebook_name)
    for name in data.files:
        source = data.served_dir / "files" / name
        if source.is_dir():  # an image folder tree (the mini projects' datasets)
            shutil.copytree(source, work / name)
        else:
            shutil.copyfile(source, work / name)
    profile = task.rubric.profiles.get(ctx.profile)
    spec = JobSpec(
        notebook=ws.notebook_name,
        cell_seconds=ctx.limits.cell_seconds,
        output_bytes=ctx.limits.output_bytes,
        profile=ctx.profile,
        epoch_cap=profile.epoch_cap if profile else 0,
        seed=ctx.seed,
        keras_datasets=data.keras,
        dataset_source=data.source,
        data_files=list(data.files),
        aliases=dict(task.rubric.data.aliases),
        adapters=[p.name for p in task.rubric.kernel_adapters()],
    )
    (ws.dir("job") / "spec.json").write_text(spec.dump(), encoding="utf-8")
    ws.dir("out")


def cleanup(state: GradeState) -> None:
    """Remove the workspace, whatever happened (the pipeline calls this last)."""
    if state.workspace is not None:
        shutil.rmtree(state.workspace.root, ignore_errors=True)
