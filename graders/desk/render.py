"""Re-render what one override changes.

An override changes one student × experiment's marks sheet, feedback and viva
pages, the class register, the index and the CSV. After a save the desk
renders the course from the gradebook into a scratch folder (the report step
itself, so the pages are the very ones ``labgrade report`` writes), then moves
only the changed files into the reports folder, each replaced atomically, so a
reader never sees half a page.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from graders.config import CourseConfig
from graders.steps.report import report

COURSE_PAGES = ("register.html", "index.html")
ENTRY_PAGES = ("marks.html", "feedback.html", "viva.html")


def _replace(source: Path, target: Path) -> None:
    """Move ``source`` over ``target`` in one step (same file system: both are under the reports folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


def rerender_entry(cfg: CourseConfig, roll_no: str, experiment: str) -> list[Path]:
    """Refresh the pages one override of ``roll_no`` × ``experiment`` changes; returns the files replaced."""
    out = Path(cfg.reports)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".desk-render-", dir=out))
    try:
        report(cfg, out_dir=scratch)
        changed = [Path(name) for name in (*COURSE_PAGES, "marks.csv")]
        changed += [Path(roll_no, experiment, name) for name in ENTRY_PAGES]
        replaced = []
        for name in changed:
            if (scratch / name).is_file():
                _replace(scratch / name, out / name)
                replaced.append(out / name)
            else:  # e.g. no run any more: a full render leaves no page for it either
                (out / name).unlink(missing_ok=True)
        return replaced
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
