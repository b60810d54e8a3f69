"""After the runs, across the class: code similarity per experiment, as evidence for an examiner.

Each experiment's submissions are compared with :mod:`graders.integrity`; the
lab's own code (the reference solutions) is boilerplate, not evidence. Each
report is written beside the reports (a page with every pair side by side, a
CSV of pairs, and the report as JSON, which the register reads to mark the
students in a pair or cluster). Marks are never changed here: an examiner
decides, with an override and a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from graders.config import CourseConfig
from graders.integrity import (
    CodeDoc,
    SimilarityReport,
    code_cells,
    compare_class,
    doc_from_notebook,
    flagged_rolls,
    render_similarity_page,
    write_pairs_csv,
)
from graders.paths import REFERENCE_DIR
from graders.state import ClassState, Task
from graders.submissions import read_notebook


def _report_file(cfg: CourseConfig, experiment: str) -> Path:
    return cfg.reports / f"similarity-{experiment}.json"


def boilerplate(experiment: str) -> list[str]:
    """Code every student is given: the experiment's reference solutions, one module text each."""
    out = []
    for solution in sorted((REFERENCE_DIR / experiment).glob("*.ipynb")):
        out.append("\n# %%\n".join(code_cells(read_notebook(solution))))
    return out


def _docs(tasks: Iterable[Task], experiment: str) -> list[CodeDoc]:
    docs = []
    for task in tasks:
        sub = task.submission
        if task.rubric.id == experiment and sub is not None and sub.notebook is not None:
            docs.append(doc_from_notebook(task.student.roll_no, task.student.name, str(sub.path), sub.notebook))
    return docs


def similarity_reports(
    cfg: CourseConfig, experiments: Sequence[str], tasks: Sequence[Task]
) -> dict[str, SimilarityReport]:
    """Compare, then write each experiment's page, CSV and JSON; the reports by experiment."""
    out = {}
    for exp in experiments:
        docs = _docs(tasks, exp)
        report = compare_class(exp, docs, boilerplate=boilerplate(exp), settings=cfg.similarity)
        cfg.reports.mkdir(parents=True, exist_ok=True)
        render_similarity_page(report, docs, cfg.reports, course_name=cfg.name)
        write_pairs_csv(report, cfg.reports / f"similarity-{exp}.csv")
        _report_file(cfg, exp).write_text(report.model_dump_json(), encoding="utf-8")
        out[exp] = report
    return out


def compare(state: ClassState) -> None:
    """Class step: the similarity reports of the graded experiments, after a whole class (one student is no class)."""
    if state.whole_class:
        state.similarity = similarity_reports(state.cfg, state.experiments, state.tasks)


def flags(cfg: CourseConfig) -> dict[tuple[str, str], str]:
    """(roll_no, experiment) -> the register's note ("cluster 1", "exact copy of 7") from the stored reports."""
    out = {}
    for exp in cfg.enabled:
        path = _report_file(cfg, exp)
        if not path.is_file():
            continue
        try:
            report = SimilarityReport.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # a report of another version: the next similarity run writes it anew
        out.update({(roll, exp): label for roll, label in flagged_rolls(report).items()})
    return out
