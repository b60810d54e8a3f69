"""Step 8, report (per class): the marks sheets, feedback and viva pages, the register and the CSV.

Runs nothing: everything is rendered from the gradebook (the latest run per
student × experiment, with the examiners' overrides on top).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from graders.config import CourseConfig
from graders.reports.exports import write_long_csv
from graders.reports.model import ExperimentInfo, StudentInfo, course_inputs, load_class_marks
from graders.reports.pages import render_reports
from graders.state import ClassState


def report_inputs(cfg: CourseConfig) -> tuple[dict[str, ExperimentInfo], list[StudentInfo]]:
    """The enabled experiments as the sheets name them, and each student with the experiments they are graded on."""
    return course_inputs(cfg)


def report(
    cfg: CourseConfig,
    out_dir: Path | None = None,
    *,
    everything: bool = False,
    only: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Path], Path]:
    """Render the pages and the CSV from the gradebook's marks model (into ``out_dir``, by default the course's
    reports folder): only what changed since the last render unless ``everything``; the pages written and the CSV."""
    out = cfg.reports if out_dir is None else out_dir
    marks = load_class_marks(cfg)
    pages = render_reports(
        course_name=cfg.name,
        marks=marks,
        out_dir=out,
        everything=everything or out_dir is not None,
        only=only,
        progress=progress,
    )
    csv_path = write_long_csv(marks, out / "marks.csv")
    return pages, csv_path


def render(state: ClassState) -> None:
    """Class step: the marks sheets, feedback and viva pages, the register and the CSV, from the gradebook."""
    state.reports, state.csv = report(state.cfg)
