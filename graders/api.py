"""The keyword-only Python API; the CLI is a thin shell over it.

grade(course=...)            batch-grade a class into the gradebook and reports
check(notebook=...)          self-check one notebook (quick profile, local sandbox)
report(course=...)           re-render every report from the gradebook (runs nothing)
override(course=..., ...)    record an examiner's change, kept as history
export(course=..., out=...)  one CSV row per student x experiment
calibrate(experiment=...)    run the reference solution, store its targets
calibrate_course(course=...) the same on a course's own data, its targets written beside the course
fetch_data(course=...)       the real Keras datasets into the course's data folder, verified
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from graders import backends, batch, submissions
from graders.backends import Sandbox
from graders.backends.base import Limits
from graders.config import CourseConfig, GradeSettings, Overrides, load_course
from graders.data.fetch import Fetched, fetch
from graders.desk.marks_import import MarkEntry, MarksError, Refusal, history_rows, read_marks_csv, revert
from graders.executors import ExecutorError
from graders.executors.grading import session_context
from graders.gradebook import Gradebook
from graders.integrity import SimilarityReport
from graders.marking.writeups.find import find_writeups, writeup_detector
from graders.marking.writeups.read import read_writeup
from graders.models import COMPONENT_MAX, DEFAULT_SEED, Component, LatePolicy, Override, RunRecord
from graders.pipeline import calibration_run, grade_task, run_class_steps
from graders.reports.exports import (
    Exported,
    ExportError,
    RosterEntry,
    write_gradescope,
    write_lms_csv,
    write_long_csv,
)
from graders.reports.model import load_class_marks
from graders.reports.pages import class_summary as summary_lines
from graders.rubric import REFERENCE_KEYS, Rubric, course_targets_path, load_rubric, targets_path
from graders.state import ClassState, GradeContext, Task
from graders.steps import integrity
from graders.steps.report import report as render_class
from graders.submissions import Student, Submission, class_list

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
    similarity: dict[str, SimilarityReport] = field(default_factory=dict)


def choose_backend(name: str) -> tuple[Sandbox, str]:
    """The sandbox to use and a sentence saying why; a backend that cannot be used is a GradingError."""
    try:
        return backends.choose(name)
    except ValueError as exc:  # an unknown name, an unusable backend, a bad sandbox setting
        raise GradingError(str(exc)) from None


# ---------------------------------------------------------------- grade


def _tasks(cfg: CourseConfig, only: list[str] | None, experiments: list[str] | None) -> list[Task]:
    rubrics = [load_rubric(e) for e in cfg.experiments]
    manifest = submissions.load_manifest(cfg.manifest)
    detect = writeup_detector(rubrics)
    wanted = {submissions.normalise_roll(r) for r in only} if only else None
    tasks = []
    for student, mine in class_list(cfg):
        if wanted is not None and student.roll_no not in wanted:
            continue
        subs = submissions.student_submissions(cfg.submissions, student, rubrics, manifest)
        folder = submissions.student_folder(cfg.submissions, student.roll_no)
        for exp in mine:
            if experiments and exp not in experiments:
                continue
            chosen, note = submissions.pick(subs, exp)
            found = find_writeups(folder, chosen.path if chosen else None, exp, detect) if folder else []
            tasks.append(
                Task(
                    student,
                    load_rubric(exp),
                    chosen,
                    cfg.experiments[exp].due,
                    note,
                    writeups=tuple(read_writeup(p) for p in found),
                )
            )
    return tasks


def grade(
    *,
    course: Path | str,
    experiments: list[str] | None = None,
    students: list[str] | None = None,
    overrides: Overrides | None = None,
    regrade: bool = False,
    uncapped_inconclusive: bool = False,
    on_result: Progress | None = None,
    on_start: Callable[[int, str], None] | None = None,
) -> GradeSummary:
    """Grade every (or the chosen) student x experiment; one failure never stops the batch.

    ``overrides`` are the command line's choices over the course file (backend, profile, workers, executor,
    address). Unchanged work is reused, work whose scoring changed is re-scored from the stored artifacts, and
    the rest is executed (``regrade`` executes everything); each run is recorded the moment it arrives.
    ``uncapped_inconclusive`` executes only the runs whose latest record left a check inconclusive, again
    without the profile's fit budget, and records them as new runs.
    """
    cfg = load_course(course, overrides)
    for exp in experiments or []:
        if exp not in cfg.experiments:
            raise GradingError(f"experiment {exp!r} is not in {cfg.source} (has: {', '.join(cfg.experiments)})")
    _check_class(cfg, students)  # a wrong folder or roll stops here, before the gradebook records anything
    sandbox, note = choose_backend(cfg.backend)
    if cfg.executor == "ray":
        where = cfg.address or "a Ray started here"
        note = f"ray executor at {where}; each node picks its own backend (configured: {cfg.backend})"
    settings = GradeSettings.of(cfg)
    ctx = session_context(settings, sandbox)
    tasks = _tasks(cfg, students, experiments)
    with Gradebook(_gradebook_file(cfg)) as book:
        if uncapped_inconclusive:
            tasks = batch.inconclusive_tasks(tasks, book, ctx.course)
        todo = batch.plan(ctx, tasks, book, regrade=regrade or uncapped_inconclusive)
    if on_start:
        on_start(len(todo.execute) + len(todo.rescore), note)
    try:
        fresh = batch.run_batch(ctx, todo, settings, on_result=on_result)
    except ExecutorError as exc:
        raise GradingError(str(exc)) from None
    runs = sorted([*fresh, *todo.reuse], key=lambda r: (int(r.roll_no), r.experiment))
    summary = GradeSummary(
        runs=runs,
        backend=sandbox.name,
        backend_note=note,
        executed=len(todo.execute),
        rescored=len(todo.rescore),
        reused=len(todo.reuse),
    )
    whole_class = not students and not uncapped_inconclusive
    after = run_class_steps(ClassState(cfg, tasks, experiments or cfg.enabled, whole_class=whole_class))
    summary.similarity, summary.reports, summary.csv = after.similarity, after.reports, after.csv
    return summary


def _check_class(cfg: CourseConfig, only: list[str] | None) -> None:
    """A GradingError when the course cannot mean what it says: no submissions folder, no student folder in
    it, no folder matching a roll on the roster, or a ``--student`` roll the roster does not have. A roster
    student without a folder is not an error: that is work not handed in, graded ``missing``."""
    root, where = cfg.submissions, f"set `submissions` in {cfg.source}"
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "no such folder"
        raise GradingError(f"{root}: {what}; the submissions hold one folder per roll number ({where})")
    folders = sorted(c.name for c in root.iterdir() if c.is_dir() and not c.name.startswith("."))
    if not folders:
        raise GradingError(f"{root}: holds no student folder; it needs one folder per roll number, e.g. 7_Name")
    rolls = [s.roll_no for s, _ in class_list(cfg)]
    if not any(submissions.student_folder(root, roll) for roll in rolls):
        shown = ", ".join(folders[:3]) + (", ..." if len(folders) > 3 else "")
        raise GradingError(
            f"{root}: none of its {len(folders)} folder(s) ({shown}) starts with a roll number on {cfg.roster}"
        )
    unknown = [r for r in dict.fromkeys(submissions.normalise_roll(x) for x in only or []) if r not in rolls]
    if unknown:
        raise GradingError(f"roll number(s) {', '.join(unknown)} not on the roster {cfg.roster}")


def _gradebook_file(cfg: CourseConfig) -> Path:
    """The course's gradebook file, its folder made; a folder or other non-file there is a GradingError."""
    if cfg.gradebook.exists() and not cfg.gradebook.is_file():
        raise GradingError(f"{cfg.gradebook}: the gradebook must be a file (set `gradebook` in {cfg.source})")
    cfg.gradebook.parent.mkdir(parents=True, exist_ok=True)
    return cfg.gradebook


# ---------------------------------------------------------------- report / export / override


def report(
    *,
    course: Path | str,
    everything: bool = False,
    students: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Re-render the marks sheets, feedback pages and viva sheets whose inputs changed (``everything``: all of
    them; ``students``: only theirs), the register and the CSV; runs nothing."""
    cfg = load_course(course)
    _existing_gradebook(cfg)
    only = {submissions.normalise_roll(r) for r in students} if students else None
    pages, csv_path = render_class(cfg, everything=everything, only=only, progress=progress)
    return pages + [csv_path]


def student_copy(*, course: Path | str, out: Path | str, students: list[str] | None = None) -> list[Path]:
    """Each student's own feedback under ``out`` (``students``: only theirs), a folder and a zip each, to mail
    or upload: no viva sheet, register, other student, host path or answer-key pattern in it; runs nothing."""
    from graders.reports.student_copy import write_student_copies

    cfg = load_course(course)
    _existing_gradebook(cfg)
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise GradingError(f"{target}: is a file; the student copy is written into a folder")
    only = {submissions.normalise_roll(r) for r in students} if students else None
    rolls = {s.roll_no for s, _ in class_list(cfg)}
    unknown = sorted((only or set()) - rolls, key=int)
    if unknown:
        raise GradingError(f"roll number(s) {', '.join(unknown)} not on the roster {cfg.roster}")
    return write_student_copies(cfg, target, only)


EXPORT_FORMATS = ("csv", "moodle", "canvas", "gradescope")


def _roster(cfg: CourseConfig) -> list[RosterEntry]:
    """The roster as an LMS knows the students (the identifiers it matches on)."""
    return [RosterEntry(s.roll_no, s.name, s.email, s.id_number) for s, _ in class_list(cfg)]


def export(
    *,
    course: Path | str,
    out: Path | str,
    format: str = "csv",
    per_component: bool = False,
    identifier: str | None = None,
    experiments: list[str] | None = None,
) -> Path:
    """The marks in a form an LMS imports (see :func:`export_marks`); the file or folder written."""
    return export_marks(
        course=course,
        out=out,
        format=format,
        per_component=per_component,
        identifier=identifier,
        experiments=experiments,
    ).path


def export_marks(
    *,
    course: Path | str,
    out: Path | str,
    format: str = "csv",
    per_component: bool = False,
    identifier: str | None = None,
    experiments: list[str] | None = None,
) -> Exported:
    """The marks from the marks model: ``csv`` (one row per student × experiment, as ``reports/marks.csv``),
    ``moodle`` and ``canvas`` (one row per student whose exported marks are all final; the others are left out,
    never blank), ``gradescope`` (an autograder folder per experiment with a results.json per final mark)."""
    if format not in EXPORT_FORMATS:
        raise GradingError(f"unknown export format {format!r}; one of: {', '.join(EXPORT_FORMATS)}")
    cfg = load_course(course)
    _existing_gradebook(cfg)
    out = Path(out)
    if format != "gradescope" and out.is_dir():
        raise GradingError(f"{out}: is a folder; give the file to write, e.g. {out / f'marks-{format}.csv'}")
    if format == "gradescope" and out.exists() and not out.is_dir():
        raise GradingError(f"{out}: is a file; the Gradescope export is a folder (one autograder per experiment)")
    marks = load_class_marks(cfg)
    unknown = [e for e in experiments or [] if e not in marks.experiments]
    if unknown:
        raise GradingError(
            f"experiment {unknown[0]!r} is not enabled in {cfg.source} (has: {', '.join(marks.experiments)})"
        )
    ident: Literal["email", "id_number"] | None = (
        "email" if identifier == "email" else "id_number" if identifier == "id_number" else None
    )
    try:
        if format == "csv":
            return Exported(write_long_csv(marks, out), len(marks.all_assigned()))
        if format == "gradescope":
            return write_gradescope(marks, _roster(cfg), out, identifier=ident, experiments=experiments)
        fmt: Literal["moodle", "canvas"] = "moodle" if format == "moodle" else "canvas"
        return write_lms_csv(
            fmt,
            marks,
            _roster(cfg),
            out,
            names=cfg.lms.canvas if fmt == "canvas" else cfg.lms.moodle,
            per_component=per_component,
            identifier=ident,
            experiments=experiments,
            mini_projects=cfg.mini_projects.allot,
        )
    except ExportError as exc:
        raise GradingError(str(exc)) from None


def class_summary(*, course: Path | str) -> list[str]:
    """The class in lines of text, as the command line prints it: each student's marks per experiment in the
    register's words, the marks given and still pending; then the class's counts."""
    cfg = load_course(course)
    _existing_gradebook(cfg)
    return summary_lines(load_class_marks(cfg))


def _existing_gradebook(cfg: CourseConfig) -> None:
    if not cfg.gradebook.is_file():
        raise GradingError(f"no gradebook at {cfg.gradebook}: run `labgrade grade --course {cfg.source}` first")


def _gradeable(cfg: CourseConfig) -> Callable[[str, str], Refusal | None]:
    """``known(roll, experiment)``: None when an examiner may mark it, else the field at fault and why not: a
    roll not on the roster, an experiment not the course's or not the student's, work not handed in."""
    allotted = {s.roll_no: mine for s, mine in class_list(cfg)}
    marks = load_class_marks(cfg) if cfg.gradebook.is_file() else None

    def known(roll_no: str, experiment: str) -> Refusal | None:
        if roll_no not in allotted:
            return Refusal("roll_no", f"roll number {roll_no} is not on the roster {cfg.roster}")
        if experiment not in cfg.experiments:
            return Refusal(
                "experiment", f"experiment {experiment!r} is not in {cfg.source} (has: {', '.join(cfg.experiments)})"
            )
        if experiment not in allotted[roll_no]:
            mini = [e for e in allotted[roll_no] if e in cfg.mini_projects.allot]
            given = f" (its mini project is {mini[0]})" if mini else ""
            return Refusal("experiment", f"roll {roll_no} is not graded on {experiment}{given}")
        cell = marks.cell(roll_no, experiment) if marks is not None else None
        refused = cell.refusal() if cell is not None else None
        return Refusal("", refused) if refused else None

    return known


def override(
    *, course: Path | str, roll_no: str, experiment: str, component: str, marks: float | None, who: str, why: str
) -> Override:
    """Record an examiner's marks for one column (viva marks, a correction), with who and why."""
    cfg = load_course(course)
    try:
        comp = Component(component)
    except ValueError:
        raise GradingError(f"unknown column {component!r}; one of: {', '.join(c.value for c in Component)}") from None
    roll = submissions.normalise_roll(roll_no)
    if marks is not None and not 0 <= marks <= COMPONENT_MAX:
        raise GradingError(f"marks must be between 0 and {COMPONENT_MAX:g}, got {marks}")
    if not who.strip() or not why.strip():
        raise GradingError("an override needs who gave it and why (--who and --why, not empty)")
    problem = _gradeable(cfg)(roll, experiment)
    if problem:
        raise GradingError(problem.message)
    entry = Override(
        roll_no=roll,
        experiment=experiment,
        component=comp,
        marks=marks,
        who=who.strip(),
        why=why.strip(),
        at=datetime.now(),
    )
    with Gradebook(_gradebook_file(cfg)) as book:
        book.add_override(cfg.name, entry)
    return entry


def marks_import(*, course: Path | str, file: Path | str) -> list[Override]:
    """Every row of a marks CSV (roll_no, experiment, column, marks, who, why) as overrides: all or none."""
    cfg = load_course(course)
    try:
        rows = read_marks_csv(Path(file), known=_gradeable(cfg), now=datetime.now())
    except MarksError as exc:
        raise GradingError(str(exc)) from None
    entries = [
        Override(
            roll_no=r.roll_no,
            experiment=r.experiment,
            component=Component(r.component),
            marks=r.marks,
            who=r.who,
            why=r.why,
            at=r.at,
        )
        for r in rows
    ]
    with Gradebook(_gradebook_file(cfg)) as book:
        book.add_overrides(cfg.name, entries)
    return entries


def _history(cfg: CourseConfig) -> list[MarkEntry]:
    """Every examiner mark with the sequence number the gradebook stores it under."""
    with Gradebook(_gradebook_file(cfg)) as book:
        history = book.override_history(cfg.name)
    return [
        MarkEntry(o.roll_no, o.experiment, o.component.value, o.marks, o.who, o.why, o.at, seq) for seq, o in history
    ]


def marks_history(
    *, course: Path | str, roll_no: str | None = None, experiment: str | None = None
) -> list[dict[str, str]]:
    """The examiners' marks as history rows (oldest first), optionally for one student or experiment."""
    cfg = load_course(course)
    roll = submissions.normalise_roll(roll_no) if roll_no else None
    return history_rows(_history(cfg), roll_no=roll, experiment=experiment)


def marks_revert(*, course: Path | str, roll_no: str, experiment: str, column: str, who: str, why: str) -> Override:
    """Append an override restoring the value before the latest one for this column (history stays)."""
    cfg = load_course(course)
    try:
        entry = revert(_history(cfg), roll_no, experiment, column, who, why, datetime.now())
    except MarksError as exc:
        raise GradingError(str(exc)) from None
    restored = Override(
        roll_no=entry.roll_no,
        experiment=entry.experiment,
        component=Component(entry.component),
        marks=entry.marks,
        who=entry.who,
        why=entry.why,
        at=entry.at,
    )
    with Gradebook(_gradebook_file(cfg)) as book:
        book.add_override(cfg.name, restored)
    return restored


def similarity(*, course: Path | str, experiments: list[str] | None = None) -> dict[str, SimilarityReport]:
    """Code similarity across the class, per experiment: a page, a CSV of pairs and the stored report each."""
    cfg = load_course(course)
    for exp in experiments or []:
        if exp not in cfg.experiments:
            raise GradingError(f"experiment {exp!r} is not in {cfg.source} (has: {', '.join(cfg.experiments)})")
    _check_class(cfg, None)
    return integrity.similarity_reports(cfg, experiments or cfg.enabled, _tasks(cfg, None, experiments))


# ---------------------------------------------------------------- check / calibrate


def check(
    *,
    notebook: Path | str,
    experiment: str | None = None,
    profile: str = "quick",
    backend: str = "local",
    limits: Limits | None = None,
    seed: int = DEFAULT_SEED,
    uncapped: bool = False,
) -> RunRecord:
    """Self-check one notebook as the grader would (quick profile by default; ``uncapped``: without its fit
    budget, as ``grade --uncapped-inconclusive`` repeats a run)."""
    path = Path(notebook)
    if path.is_dir():
        raise GradingError(f"{path}: is a folder, not a notebook (give the .ipynb, .py or .zip file)")
    if not path.is_file():
        raise GradingError(f"{path}: no such file")
    from graders.rubric import available_experiments

    rubrics = [load_rubric(e) for e in available_experiments()]
    if path.suffix.lower() == ".zip":
        members = submissions.read_archive(path, rubrics, datetime.now())
        chosen = submissions.pick(members, experiment)[0] if experiment else None
        sub = chosen or max(members, key=lambda s: max(s.scores.values(), default=0.0))
    else:
        sub = submissions.read_submission(path, rubrics, datetime.now())
    if sub.notebook is None:
        raise GradingError(sub.error)
    exp = experiment or sub.detected
    if not exp:
        raise GradingError(
            f"{path.name}: could not tell which experiment this is; "
            f"pass --experiment ({', '.join(r.id for r in rubrics)})"
        )
    rubric = load_rubric(exp)
    note = (
        f"detected experiment: {exp}"
        if not experiment
        else (f"the code looks like {sub.detected}, graded as {exp}" if sub.detected and sub.detected != exp else "")
    )
    sandbox, _ = choose_backend(backend)
    ctx = GradeContext(
        course="self-check",
        profile=profile,
        seed=seed,
        limits=limits or Limits(cell_seconds=120, wall_seconds=600),
        late_policy=LatePolicy(),
        backend=sandbox,
    )
    return grade_task(ctx, Task(Student("0", "self-check"), rubric, sub, None, note, uncapped=uncapped))


def calibrate(
    *, experiment: str, profile: str = "quick", backend: str = "local", seed: int = DEFAULT_SEED
) -> dict[str, object]:
    """Run reference/<id>/solution.ipynb (and each variant's solution) under a profile; store their metrics as
    the targets."""
    rubric: Rubric = load_rubric(experiment)
    sandbox, _ = choose_backend(backend)
    ctx = GradeContext(
        course="calibration",
        profile=profile,
        seed=seed,
        limits=Limits(cell_seconds=3600, wall_seconds=7200),
        late_policy=LatePolicy(),
        backend=sandbox,
    )
    run = _reference_runs(ctx, rubric)
    path = targets_path(experiment, profile)
    path.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    return run


def calibrate_course(
    *,
    course: Path | str,
    experiments: list[str] | None = None,
    profile: str | None = None,
    backend: str | None = None,
    progress: Callable[[str, dict[str, object]], None] | None = None,
) -> dict[str, Path]:
    """Run the reference solutions on the course's own data (its ``data`` folder, its seed); write each
    experiment's targets beside the course (``targets/<id>-<profile>.json``), which its grading then uses.

    The targets are part of every run's scoring key: the next ``grade`` re-scores the class against them
    from the stored artifacts, without running a notebook again.
    """
    cfg = load_course(course)
    for exp in experiments or []:
        if exp not in cfg.experiments:
            raise GradingError(f"experiment {exp!r} is not in {cfg.source} (has: {', '.join(cfg.experiments)})")
    chosen = profile or cfg.profile
    sandbox, _ = choose_backend(backend or cfg.backend)
    ctx = GradeContext(
        course="calibration",
        profile=chosen,
        seed=cfg.seed,
        limits=Limits(cell_seconds=3600, wall_seconds=7200, memory_mb=cfg.limits.memory_mb),
        late_policy=LatePolicy(),
        backend=sandbox,
        real_data=cfg.data,
    )
    written: dict[str, Path] = {}
    for exp in experiments or cfg.enabled:
        run = {**_reference_runs(ctx, load_rubric(exp)), "course": cfg.name}
        path = course_targets_path(cfg.targets_dir, exp, chosen)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)  # a grade reading the targets meanwhile sees the old file or the new, never half
        written[exp] = path
        if progress is not None:
            progress(exp, run)
    return written


def fetch_data(
    *,
    course: Path | str,
    datasets: list[str] | None = None,
    base_url: str | None = None,
    keras_source: Path | None = None,
    progress: Callable[[Fetched], None] | None = None,
) -> tuple[Path, list[Fetched]]:
    """Download the real Keras datasets the experiments declare into the course's ``data`` folder, verified."""
    cfg = load_course(course)
    if cfg.data is None:
        raise GradingError(f'{cfg.source}: no `data` folder to fetch into; add `data = "data"` under [course]')
    if cfg.data.exists() and not cfg.data.is_dir():
        raise GradingError(f"{cfg.data}: the course's `data` is a file; it must be a folder")
    return cfg.data, fetch(cfg.data, only=datasets, base_url=base_url, source=keras_source, progress=progress)


def _reference_runs(ctx: GradeContext, rubric: Rubric) -> dict[str, object]:
    """The reference solution's targets, with each variant's reference beside them."""
    folder = rubric.folder.parent.parent / "reference" / rubric.id
    run = _calibration_run(ctx, rubric, folder / "solution.ipynb")
    variants = {
        name: _calibration_run(ctx, rubric, folder / variant.solution) for name, variant in rubric.variants.items()
    }
    if variants:
        run["variants"] = {
            name: {key: value[key] for key in REFERENCE_KEYS if key in value} for name, value in variants.items()
        }
    return run


def _calibration_run(ctx: GradeContext, rubric: Rubric, solution: Path) -> dict[str, object]:
    if not solution.is_file():
        raise GradingError(f"no reference solution at {solution}")
    sub: Submission = submissions.read_submission(solution, [rubric], datetime.now())
    return calibration_run(ctx, Task(Student("0", "reference"), rubric, sub, None))
