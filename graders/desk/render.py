"""Re-render what one override changes, in about a second instead of minutes.

An override changes one student × experiment's marks sheet, feedback and viva
pages, the class register, the index and the CSV, never a training-curve
picture. ``graders.api.report`` redraws every picture (about a second each with
matplotlib, minutes for a class), so after a save the desk renders the whole
course from the gradebook into a scratch folder with the curves of every other
run left out, then moves only the changed files into the reports folder. Each
file is replaced atomically, so a reader never sees half a page, and the pages
are the very ones ``labgrade report`` would write.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from graders import api
from graders.config import CourseConfig
from graders.models import RunRecord
from graders.reports import export_rows, render_reports, write_csv
from graders.store import Gradebook

COURSE_PAGES = ("register.html", "index.html")
ENTRY_PAGES = ("marks.html", "feedback.html", "viva.html", "curves.png")


def _without_curves(runs: list[RunRecord], keep: tuple[str, str]) -> list[RunRecord]:
    """The runs with training histories dropped, except the one whose pages are being replaced."""
    return [r if (r.roll_no, r.experiment) == keep else r.model_copy(update={"history": {}}) for r in runs]


def _replace(source: Path, target: Path) -> None:
    """Move ``source`` over ``target`` in one step (same file system: both are under the reports folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


def rerender_entry(cfg: CourseConfig, roll_no: str, experiment: str) -> list[Path]:
    """Refresh the pages one override of ``roll_no`` × ``experiment`` changes; returns the files replaced."""
    infos, students = report_inputs(cfg)  # the reports' own view of roster and experiments
    with Gradebook(cfg.gradebook) as book:
        runs = book.latest_runs(cfg.name)
        overrides = book.all_overrides(cfg.name)
    out = Path(cfg.reports)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".desk-render-", dir=out))
    try:
        render_reports(course_name=cfg.name, experiments=infos, students=students, overrides=overrides,
                       runs=_without_curves(runs, (roll_no, experiment)), out_dir=scratch)
        write_csv(export_rows(students=students, runs=runs, overrides=overrides), scratch / "marks.csv")
        changed = [Path(name) for name in (*COURSE_PAGES, "marks.csv")]
        changed += [Path(roll_no, experiment, name) for name in ENTRY_PAGES]
        replaced = []
        for name in changed:
            if (scratch / name).is_file():
                _replace(scratch / name, out / name)
                replaced.append(out / name)
            else:  # e.g. no curves any more: a full render removes the stale picture too
                (out / name).unlink(missing_ok=True)
        return replaced
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
