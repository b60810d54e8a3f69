"""Step 8, report (per class): the marks sheets, feedback and viva pages, the register and the CSV.

Runs nothing: everything is rendered from the gradebook (the latest run per
student × experiment, with the examiners' overrides on top).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from graders.config import CourseConfig
from graders.gradebook import Gradebook
from graders.reports.pages import ExperimentInfo, StudentInfo, export_rows, render_reports, write_csv
from graders.rubric import load_rubric, manual_order
from graders.steps import integrity
from graders.submissions import class_list


def report_inputs(cfg: CourseConfig) -> tuple[dict[str, ExperimentInfo], list[StudentInfo]]:
    """The enabled experiments as the sheets name them, and each student with the experiments they are graded on."""
    infos = {}
    enabled = sorted(
        (e for e, ec in cfg.experiments.items() if ec.enabled), key=lambda e: manual_order(load_rubric(e).number)
    )  # the manual's order, not the file's
    for exp in enabled:
        ec, rubric = cfg.experiments[exp], load_rubric(exp)
        infos[exp] = ExperimentInfo(
            exp,
            f"{rubric.number}. {rubric.title}",
            ec.start,
            ec.due.date(),
            [q.text for q in rubric.questions],
            f"{rubric.number}. {rubric.short or rubric.title}",
        )
    students = [StudentInfo(s.roll_no, s.name, mine) for s, mine in class_list(cfg)]
    return infos, students


def report(
    cfg: CourseConfig,
    out_dir: Path | None = None,
    *,
    everything: bool = False,
    only: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Path], Path]:
    """Render the pages and the CSV from the gradebook (into ``out_dir``, by default the course's reports
    folder): only what changed since the last render unless ``everything``; the pages written and the CSV."""
    out = cfg.reports if out_dir is None else out_dir
    infos, students = report_inputs(cfg)
    with Gradebook(cfg.gradebook) as book:
        runs = book.latest_runs(cfg.name)
        overrides = book.all_overrides(cfg.name)
    pages = render_reports(
        course_name=cfg.name,
        experiments=infos,
        students=students,
        runs=runs,
        overrides=overrides,
        out_dir=out,
        flags=integrity.flags(cfg),
        everything=everything or out_dir is not None,
        only=only,
        progress=progress,
    )
    csv_path = write_csv(export_rows(students=students, runs=runs, overrides=overrides), out / "marks.csv")
    return pages, csv_path
