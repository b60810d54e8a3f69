"""The keyword-only Python API; the CLI is a thin shell over it.

    grade(course=...)            batch-grade a class into the gradebook and reports
    check(notebook=...)          self-check one notebook (quick profile, local sandbox)
    report(course=...)           re-render every report from the gradebook (runs nothing)
    override(course=..., ...)    record an examiner's change, kept as history
    export(course=..., out=...)  one CSV row per student x experiment
    calibrate(experiment=...)    run the reference solution, store its targets
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from graders import batch, intake
from graders import backends
from graders.backends import Sandbox
from graders.backends.base import Limits
from graders.config import CourseConfig, load_course
from graders.executors import ExecutorError
from graders.intake import Student, Submission, class_list
from graders.models import DEFAULT_SEED, Component, LatePolicy, Override, RunRecord
from graders.pipeline import calibration_run, grade_task
from graders.reports import export_rows, write_csv
from graders.rubric import REFERENCE_KEYS, Rubric, load_rubric, targets_path
from graders.state import GradeContext, Task
from graders.steps.report import report as render_class
from graders.steps.report import report_inputs
from graders.store import Gradebook

Progress = Callable[[RunRecord], None]


class GradingError(ValueError):
    """A problem with the request itself (not with a submission)."""


@dataclass
class GradeSummary:
    """What a grading session produced."""

    runs: list[RunRecord]
    backend: str
    backend_note: str
    reports: list[Path] = field(default_factory=list)
    csv: Path | None = None
    executed: int = 0  # run in a sandbox this time
    rescored: int = 0  # marks recomputed from stored artifacts, nothing executed
    reused: int = 0  # unchanged since the last run: nothing done


def choose_backend(name: str) -> tuple[Sandbox, str]:
    """The sandbox to use and a sentence saying why; a backend that cannot be used is a GradingError."""
    try:
        return backends.choose(name)
    except ValueError as exc:  # an unknown name, an unusable backend, a bad sandbox setting
        raise GradingError(str(exc)) from None


# ---------------------------------------------------------------- grade


def _tasks(cfg: CourseConfig, only: list[str] | None, experiments: list[str] | None) -> list[Task]:
    rubrics = [load_rubric(e) for e in cfg.experiments]
    manifest = intake.load_manifest(cfg.manifest)
    tasks = []
    for student, mine in class_list(cfg):
        if only and student.roll_no not in only:
            continue
        subs = intake.student_submissions(cfg.submissions, student, rubrics, manifest)
        for exp in mine:
            if experiments and exp not in experiments:
                continue
            chosen, note = intake.pick(subs, exp)
            tasks.append(Task(student, load_rubric(exp), chosen, cfg.experiments[exp].due, note))
    return tasks


def grade(*, course: Path | str, experiments: list[str] | None = None, students: list[str] | None = None,
          backend: str | None = None, profile: str | None = None, workers: int | None = None,
          executor: str | None = None, address: str | None = None, regrade: bool = False,
          on_result: Progress | None = None, on_start: Callable[[int, str], None] | None = None) -> GradeSummary:
    """Grade every (or the chosen) student x experiment; one failure never stops the batch.

    Unchanged work is reused, work whose scoring changed is re-scored from the stored artifacts, and the
    rest is executed (``regrade`` executes everything); each run is recorded the moment it arrives.
    """
    cfg = load_course(course, backend=backend, profile=profile, workers=workers, executor=executor, address=address)
    for exp in experiments or []:
        if exp not in cfg.experiments:
            raise GradingError(f"experiment {exp!r} is not in {cfg.source} (has: {', '.join(cfg.experiments)})")
    sandbox, note = choose_backend(cfg.backend)
    if cfg.executor == "ray":
        where = cfg.address or "a Ray started here"
        note = f"ray executor at {where}; each node picks its own backend (configured: {cfg.backend})"
    ctx = _context(cfg, sandbox)
    tasks = _tasks(cfg, students, experiments)
    with Gradebook(_gradebook_file(cfg)) as book:
        todo = batch.plan(ctx, tasks, book, regrade=regrade)
    if on_start:
        on_start(len(todo.execute) + len(todo.rescore), note)
    try:
        fresh = batch.run_batch(ctx, todo, executor=cfg.executor, backend=cfg.backend, workers=cfg.workers,
                                address=cfg.address, gpus=cfg.gpus, on_result=on_result)
    except ExecutorError as exc:
        raise GradingError(str(exc)) from None
    runs = sorted([*fresh, *todo.reuse], key=lambda r: (int(r.roll_no), r.experiment))
    summary = GradeSummary(runs=runs, backend=sandbox.name, backend_note=note, executed=len(todo.execute),
                           rescored=len(todo.rescore), reused=len(todo.reuse))
    summary.reports, summary.csv = render_class(cfg)
    return summary


def _gradebook_file(cfg: CourseConfig) -> Path:
    """The course's gradebook file, its folder made; a folder or other non-file there is a GradingError."""
    if cfg.gradebook.exists() and not cfg.gradebook.is_file():
        raise GradingError(f"{cfg.gradebook}: the gradebook must be a file (set `gradebook` in {cfg.source})")
    cfg.gradebook.parent.mkdir(parents=True, exist_ok=True)
    return cfg.gradebook


def _context(cfg: CourseConfig, sandbox: Sandbox) -> GradeContext:
    return GradeContext(course=cfg.name, profile=cfg.profile, seed=cfg.seed, limits=cfg.limits.to_limits(),
                        late_policy=cfg.late_policy, backend=sandbox, real_data=cfg.data, gpus=bool(cfg.gpus),
                        gradebook=cfg.gradebook, count_suggested_viva=cfg.marks.count_suggested_viva)


# ---------------------------------------------------------------- report / export / override


def report(*, course: Path | str) -> list[Path]:
    """Re-render every marks sheet, feedback page, viva sheet, the register and the CSV."""
    cfg = load_course(course)
    if not cfg.gradebook.is_file():
        raise GradingError(f"no gradebook at {cfg.gradebook}: run `labgrade grade --course {cfg.source}` first")
    pages, csv_path = render_class(cfg)
    return pages + [csv_path]


def export(*, course: Path | str, out: Path | str, format: str = "csv") -> Path:
    """One row per student x experiment with the four columns, total and status."""
    if format != "csv":
        raise GradingError(f"unknown export format {format!r}; supported: csv")
    cfg = load_course(course)
    _, students = report_inputs(cfg)
    with Gradebook(cfg.gradebook) as book:
        rows = export_rows(students=students, runs=book.latest_runs(cfg.name), overrides=book.all_overrides(cfg.name))
    return write_csv(rows, Path(out))


def override(*, course: Path | str, roll_no: str, experiment: str, component: str, marks: float, who: str, why: str) -> Override:
    """Record an examiner's marks for one column (viva marks, a correction), with who and why."""
    cfg = load_course(course)
    try:
        comp = Component(component)
    except ValueError:
        raise GradingError(f"unknown column {component!r}; one of: {', '.join(c.value for c in Component)}") from None
    if not 0 <= marks <= 5:
        raise GradingError(f"marks must be between 0 and 5, got {marks}")
    if roll_no not in {s.roll_no for s, _ in class_list(cfg)}:
        raise GradingError(f"roll number {roll_no} is not on the roster {cfg.roster}")
    if experiment not in cfg.experiments:
        raise GradingError(f"experiment {experiment!r} is not in {cfg.source}")
    entry = Override(roll_no=roll_no, experiment=experiment, component=comp, marks=marks, who=who, why=why, at=datetime.now())
    with Gradebook(cfg.gradebook) as book:
        book.add_override(cfg.name, entry)
    return entry


# ---------------------------------------------------------------- check / calibrate


def check(*, notebook: Path | str, experiment: str | None = None, profile: str = "quick", backend: str = "local",
          limits: Limits | None = None, seed: int = DEFAULT_SEED) -> RunRecord:
    """Self-check one notebook as the grader would (quick profile by default)."""
    path = Path(notebook)
    if not path.is_file():
        raise GradingError(f"{path}: no such file")
    from graders.rubric import available_experiments

    rubrics = [load_rubric(e) for e in available_experiments()]
    sub = intake.read_submission(path, rubrics, datetime.now())
    if sub.notebook is None:
        raise GradingError(sub.error)
    exp = experiment or sub.detected
    if not exp:
        raise GradingError(f"{path.name}: could not tell which experiment this is; pass --experiment ({', '.join(r.id for r in rubrics)})")
    rubric = load_rubric(exp)
    note = f"detected experiment: {exp}" if not experiment else (f"the code looks like {sub.detected}, graded as {exp}" if sub.detected and sub.detected != exp else "")
    sandbox, _ = choose_backend(backend)
    ctx = GradeContext(course="self-check", profile=profile, seed=seed, limits=limits or Limits(cell_seconds=120, wall_seconds=600),
                       late_policy=LatePolicy(), backend=sandbox)
    return grade_task(ctx, Task(Student("0", "self-check"), rubric, sub, None, note))


def calibrate(*, experiment: str, profile: str = "quick", backend: str = "local", seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Run reference/<id>/solution.ipynb (and each variant's solution) under a profile; store their metrics as the targets."""
    rubric: Rubric = load_rubric(experiment)
    folder = rubric.folder.parent.parent / "reference" / experiment
    sandbox, _ = choose_backend(backend)
    ctx = GradeContext(course="calibration", profile=profile, seed=seed, limits=Limits(cell_seconds=3600, wall_seconds=7200),
                       late_policy=LatePolicy(), backend=sandbox)
    run = _calibration_run(ctx, rubric, folder / "solution.ipynb")
    variants = {name: _calibration_run(ctx, rubric, folder / variant.solution) for name, variant in rubric.variants.items()}
    if variants:
        run["variants"] = {name: {key: value[key] for key in REFERENCE_KEYS if key in value} for name, value in variants.items()}
    path = targets_path(experiment, profile)
    path.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    return run


def _calibration_run(ctx: GradeContext, rubric: Rubric, solution: Path) -> dict[str, object]:
    if not solution.is_file():
        raise GradingError(f"no reference solution at {solution}")
    sub: Submission = intake.read_submission(solution, [rubric], datetime.now())
    return calibration_run(ctx, Task(Student("0", "reference"), rubric, sub, None))
