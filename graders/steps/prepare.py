"""Step 2, prepare: a fresh work folder with the submission, the served data and the job spec. Nothing else.

The calibrated targets are loaded here too, before anything runs: an
experiment that was never calibrated fails fast with the command to fix it.

Students had different copies of a course file (upper-case names, an index
column, UCI fixed width...). The notebook is run as its author ran it, so the
copy its own code and saved outputs match (:mod:`graders.data.evidence`) is served
for each read: the job spec maps the read, as the notebook writes it, to that
variant's file, and says why. A read with no evidence gets the canonical file.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import nbformat

from graders.data.store import ServedData, served_data, variant_files
from graders.data.variants import load_variants
from graders.rubric import Rubric, load_targets
from graders.state import GradeState, Workspace
from labgrade_runtime.contract import JobSpec

log = logging.getLogger(__name__)

JOBS_ROOT = Path(tempfile.gettempdir()) / "labgrade-jobs"
NOTEBOOK_NAME = "submission.ipynb"


def prepare(state: GradeState) -> None:
    """Load the targets, then lay out the workspace the sandboxed steps mount."""
    ctx, task = state.ctx, state.task
    if not state.runnable:
        return
    if state.targets is None:
        state.targets = load_targets(task.rubric.id, ctx.profile, course_targets=ctx.targets_dir)
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
    data_map, reasons = matched_variants(task.rubric, data, task.submission.notebook)
    profile = task.rubric.profiles.get(ctx.profile)
    spec = JobSpec(
        notebook=ws.notebook_name,
        cell_seconds=ctx.limits.cell_seconds,
        wall_seconds=ctx.limits.wall_seconds,
        output_bytes=ctx.limits.output_bytes,
        profile=ctx.profile,
        fit_updates=profile.fit_updates if profile and not task.uncapped else 0,
        seed=ctx.seed,
        keras_datasets=data.keras,
        dataset_source=data.source,
        data_files=list(data.files),
        aliases=dict(task.rubric.data.aliases),
        adapters=[p.name for p in task.rubric.kernel_adapters()],
        data_map=data_map,
        data_reasons=reasons,
    )
    (ws.dir("job") / "spec.json").write_text(spec.dump(), encoding="utf-8")
    ws.dir("out")


def matched_variants(
    rubric: Rubric, data: ServedData, nb: nbformat.NotebookNode
) -> tuple[dict[str, str], dict[str, str]]:
    """Read name -> the variant file its evidence matched (under the data root), and the reasons.

    Only reads the notebook says something about are mapped: without evidence the canonical course
    file is served as before. Matching never fails a submission: if it cannot be done the canonical
    files are served, as they would be without evidence.
    """
    from graders.data.evidence.choice import choose_for_notebook
    from graders.data.evidence.served import served_matches

    course_files = load_variants(rubric.folder)
    try:
        choices = {k: c for k, c in choose_for_notebook(nb, course_files).items() if c.decided_by != "default"}
        files = variant_files(data, choices, course_files) if choices else {}
        found, why = served_matches(nb, data.served_dir / "files", data.files, course_files, rubric.data.aliases)
    except Exception:  # noqa: BLE001 - an odd notebook must not stop grading; canonical files are served
        log.warning("matching course-file variants failed; serving the canonical files", exc_info=True)
        return {}, {}
    return {**found, **files}, {**why, **{k: c.reason for k, c in choices.items()}}


def cleanup(state: GradeState) -> None:
    """Remove the workspace, whatever happened (the pipeline calls this last)."""
    if state.workspace is not None:
        shutil.rmtree(state.workspace.root, ignore_errors=True)
