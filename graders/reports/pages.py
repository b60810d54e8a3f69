"""Reports: the manual's marks sheet, feedback and viva pages, the class register, CSV.

Everything is rendered from the gradebook's records with Jinja2 (autoescaped:
students' evidence strings and notebook text are untrusted) into static,
printable HTML with no JavaScript and no external assets. Marks shown are
always the *effective* marks: the run's marks with examiner overrides on top.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property, lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from graders.reports.curves import curves_svg
from graders.models import (
    COMPONENT_MAX,
    TOTAL_MAX,
    CheckResult,
    Component,
    ComponentMarks,
    IntegrityFlag,
    Override,
    RunRecord,
    Status,
)
from graders.reports.sheet import format_marks
from graders.reports.sheet import format_total as sheet_total
from graders.gradebook import effective_marks, winning_overrides

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
CSV_HEADER = (
    "roll_no",
    "name",
    "experiment",
    "answers",
    "coding_efficiency",
    "viva",
    "timely_completion",
    "total",
    "status",
)
NOT_GRADED = "not_graded"
# Roll numbers and experiment ids become directory names: no separators, no "..".
_PATH_PART = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class ExperimentInfo:
    """One experiment of the course as the reports need it."""

    id: str
    title: str
    start_date: date | None = None
    due_date: date | None = None
    questions: list[str] = field(default_factory=list)  # the manual's assignment questions
    short: str = ""  # the register's heading; the title when empty


@dataclass(frozen=True)
class StudentInfo:
    """One student of the roster and the experiments they are graded on."""

    roll_no: str
    name: str
    experiments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Cell:
    component: Component
    marks: float | None  # None: pending, for an examiner to give
    footnote: int | None  # number of the examiner footnote, if overridden


@dataclass(frozen=True)
class _CheckGroup:
    component: Component
    checks: list[CheckResult]
    awarded: float
    points: float


@dataclass(frozen=True)
class _Entry:
    """One student × assigned experiment: the latest run (if any) and its effective marks."""

    student: StudentInfo
    experiment: ExperimentInfo
    run: RunRecord | None
    overrides: list[Override]
    flag: str = ""  # an integrity note for the examiner (e.g. "cluster 1" from the similarity report)

    @cached_property
    def marks(self) -> ComponentMarks:
        return effective_marks(self.run, self.overrides) if self.run else ComponentMarks()

    @cached_property
    def footnotes(self) -> list[Override]:
        if self.run is None:
            return []
        winners = winning_overrides(self.overrides)
        return [winners[c] for c in Component if c in winners]

    @property
    def cells(self) -> list[_Cell]:
        numbers = {o.component: i for i, o in enumerate(self.footnotes, start=1)}
        return [_Cell(c, self.marks.get(c), numbers.get(c)) for c in Component]

    @property
    def status(self) -> str:
        return self.run.status.value if self.run else NOT_GRADED

    @property
    def handed_in(self) -> bool:
        """Whether there is a graded run of something the student handed in (not "missing")."""
        return self.run is not None and self.run.status is not Status.missing

    @property
    def completed(self) -> bool:
        return self.run is not None and self.run.status is Status.completed

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ")

    @property
    def status_class(self) -> str:
        return self.status if self.status in (Status.completed.value, NOT_GRADED) else "failed"

    @property
    def href(self) -> str:
        """Link prefix from out_dir to this entry's pages (path parts are validated)."""
        return f"{self.student.roll_no}/{self.experiment.id}/"

    @property
    def student_check_groups(self) -> list[_CheckGroup]:
        """The checks a student may see: no hidden checks (the viva is the examiner's)."""
        return [
            g
            for g in (_CheckGroup(g.component, [c for c in g.checks if not c.hidden], 0, 0) for g in self.check_groups)
            if g.checks
        ]

    @property
    def check_groups(self) -> list[_CheckGroup]:
        checks = self.run.checks if self.run else []
        groups = []
        for component in Component:
            mine = [c for c in checks if c.component is component]
            if mine:
                groups.append(_CheckGroup(component, mine, sum(c.awarded for c in mine), sum(c.points for c in mine)))
        return groups

    @property
    def total_params(self) -> int:
        return self.run.total_params if self.run else 0

    @property
    def integrity(self) -> list[IntegrityFlag]:
        """The run's integrity flags (forged numbers, training on test rows): the register and the CSV show these."""
        return [f for f in self.run.flags if f.severity == "flag"] if self.run else []

    @property
    def integrity_all(self) -> list[IntegrityFlag]:
        """Flags first, then the lesser notes: what the marks sheet's footnote and the feedback list."""
        flags = list(self.run.flags) if self.run else []
        return sorted(flags, key=lambda f: f.severity != "flag")


# -- formatting --------------------------------------------------------------


def _format_pending(value: float | None) -> str:
    """A column's marks on a sheet: the number, or "pending" when an examiner has yet to give it."""
    return "pending" if value is None else format_marks(value)


def _format_total(marks: ComponentMarks, maximum: float | None = None) -> str:
    """A total as the sheets print it: "17" ("17/20"), or "12 + viva pending" ("12/20 + viva pending"):
    never a silent sum of what nobody has marked."""
    text = sheet_total(marks.as_dict())
    if maximum is None or text == "pending":
        return text
    given, plus, rest = text.partition(" + ")
    return f"{given}/{format_marks(maximum)}{plus}{rest}"


def _format_when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    return f"{text} UTC" if not offset else f"{text} {moment.strftime('%z')[:3]}:{moment.strftime('%z')[3:]}"


def _format_day(day: date | None) -> str:
    return "—" if day is None else day.isoformat()


def _format_metric(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "nan"


def _format_shape(shape: object) -> str:
    if shape is None:
        return "—"
    if isinstance(shape, (list, tuple)) and all(not isinstance(s, (list, tuple)) for s in shape):
        return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"
    return str(shape)


def _format_thousands(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "—" if value is None else str(value)


def _format_seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # evidence, answers and names are untrusted text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        marks=format_marks,
        pending=_format_pending,
        total=_format_total,
        when=_format_when,
        day=_format_day,
        metric=_format_metric,
        shape=_format_shape,
        thousands=_format_thousands,
        seconds=_format_seconds,
    )
    return env


# -- collecting --------------------------------------------------------------


def _moment_key(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _latest_runs(runs: Iterable[RunRecord]) -> dict[tuple[str, str], RunRecord]:
    """The latest run per (roll_no, experiment) by graded_at; ties go to the later in the list."""
    latest: dict[tuple[str, str], RunRecord] = {}
    for run in runs:
        key = (run.roll_no, run.experiment)
        current = latest.get(key)
        if current is None or _moment_key(run.graded_at) >= _moment_key(current.graded_at):
            latest[key] = run
    return latest


def _check_path_part(kind: str, value: str) -> str:
    if not _PATH_PART.match(value):
        raise ValueError(f"{kind} {value!r} cannot name a report folder (use a-z, A-Z, 0-9, '.', '_', '-')")
    return value


def _build_entries(
    experiments: Mapping[str, ExperimentInfo],
    students: list[StudentInfo],
    runs: Iterable[RunRecord],
    overrides: Mapping[tuple[str, str], list[Override]],
    flags: Mapping[tuple[str, str], str],
) -> dict[str, list[_Entry]]:
    """Entries per roll_no, in roster order; clear errors for an inconsistent roster."""
    latest = _latest_runs(runs)
    by_roll: dict[str, list[_Entry]] = {}
    for student in students:
        if student.roll_no in by_roll:
            raise ValueError(f"roll number {student.roll_no!r} appears twice in the roster")
        _check_path_part("roll number", student.roll_no)
        entries = []
        for exp_id in student.experiments:
            if exp_id not in experiments:
                known = ", ".join(experiments)
                raise ValueError(f"student {student.roll_no} is assigned unknown experiment {exp_id!r}; known: {known}")
            _check_path_part("experiment id", exp_id)
            key = (student.roll_no, exp_id)
            entries.append(
                _Entry(student, experiments[exp_id], latest.get(key), list(overrides.get(key, [])), flags.get(key, ""))
            )
        by_roll[student.roll_no] = entries
    return by_roll


# -- rendering ---------------------------------------------------------------


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _render_entry(common: dict[str, object], entry: _Entry, out_dir: Path) -> list[Path]:
    """marks.html always; feedback.html, viva.html and curves.png when there is a run."""
    env = _environment()
    folder = out_dir / entry.student.roll_no / entry.experiment.id
    context = {**common, "entry": entry}
    written = [_write_text(folder / "marks.html", env.get_template("marks.html").render(context))]
    if entry.run is None:
        return written
    curves = curves_svg(entry.run.history, title=f"Training curves, {entry.experiment.title}")
    # Inline in HTML5 the namespace is implied; without it the page names no outside address at all.
    inline = curves.replace(' xmlns="http://www.w3.org/2000/svg"', "") if curves else None
    feedback = env.get_template("feedback.html").render(context, curves=Markup(inline) if inline else None)
    written.append(_write_text(folder / "feedback.html", feedback))
    written.append(_write_text(folder / "viva.html", env.get_template("viva.html").render(context)))
    return written


_PAGES = {"marks.html", "feedback.html", "viva.html", "curves.png"}
PARALLEL_FROM = 400  # entries: below this, starting worker processes costs more than it saves
_SHARED: tuple[dict[str, object], list[_Entry], Path] | None = None  # what forked workers inherit


def _render_slice(bounds: tuple[int, int]) -> list[Path]:
    assert _SHARED is not None
    common, entries, out_dir = _SHARED
    return [p for entry in entries[bounds[0] : bounds[1]] for p in _render_entry(common, entry, out_dir)]


def _render_entries(
    common: dict[str, object], entries: list[_Entry], out_dir: Path, progress: Callable[[int, int], None] | None
) -> list[Path]:
    """Each entry's pages; a large class is rendered by one forked process per core (the pages are independent)."""
    global _SHARED
    workers = min(os.cpu_count() or 1, 8)
    if len(entries) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        written = []
        for done, entry in enumerate(entries, start=1):
            written.extend(_render_entry(common, entry, out_dir))
            if progress:
                progress(done, len(entries))
        return written
    step = max(50, len(entries) // (workers * 8))
    slices = [(i, min(i + step, len(entries))) for i in range(0, len(entries), step)]
    _SHARED = (common, entries, out_dir)  # inherited by the forked workers: nothing is pickled but the bounds
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            written, done = [], 0
            for pages in pool.imap(_render_slice, slices):
                written.extend(pages)
                done += len(pages) and step
                if progress:
                    progress(min(done, len(entries)), len(entries))
        return written
    finally:
        _SHARED = None


def _drop_stale(folder: Path, current: set[str]) -> None:
    """Remove a student's pages of experiments no longer reported (disabled, or no longer theirs).

    Only folders holding nothing but report pages are removed: anything else there is not ours.
    """
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.is_dir() and child.name not in current and {p.name for p in child.iterdir()} <= _PAGES:
            for page in child.iterdir():
                page.unlink()
            child.rmdir()


@dataclass(frozen=True)
class _RegisterRow:
    student: StudentInfo
    cells: list[_Entry | None]  # one per course experiment; None when not assigned
    total: float  # the marks given so far
    maximum: float
    pending: int  # columns still to be marked by an examiner


def _register_rows(
    experiments: Mapping[str, ExperimentInfo], by_roll: dict[str, list[_Entry]], students: list[StudentInfo]
) -> list[_RegisterRow]:
    rows = []
    for student in students:
        entries = {e.experiment.id: e for e in by_roll[student.roll_no]}
        cells = [entries.get(exp_id) for exp_id in experiments]
        total = round(sum(e.marks.given for e in entries.values()), 2)
        pending = sum(len(e.marks.pending) for e in entries.values() if e.handed_in)
        rows.append(_RegisterRow(student, cells, total, TOTAL_MAX * len(entries), pending))
    return rows


def render_reports(
    *,
    course_name: str,
    experiments: dict[str, ExperimentInfo],
    students: list[StudentInfo],
    runs: list[RunRecord],
    overrides: dict[tuple[str, str], list[Override]],
    out_dir: Path,
    flags: Mapping[tuple[str, str], str] | None = None,
    everything: bool = True,
    only: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the students' marks/feedback/viva pages, the class register and an index.

    ``runs`` may hold several runs per student × experiment: the latest by
    ``graded_at`` is reported. Unless ``everything``, a student × experiment
    whose pages were rendered from the same inputs (run, overrides, flag,
    course, templates) is left as it is: the last render's fingerprints are
    kept in ``.render-state.json``. ``only`` limits the pages to these roll
    numbers; the register and the index are always rendered. ``progress`` is
    called with (done, total). Returns the paths written.
    """
    out_dir = Path(out_dir)
    by_roll = _build_entries(experiments, students, runs, overrides, flags or {})
    state_file = out_dir / RENDER_STATE
    previous = {} if everything else _read_state(state_file)
    fingerprints: dict[str, str] = dict(previous)
    common: dict[str, object] = {
        "course_name": course_name,
        "component_max": COMPONENT_MAX,
        "total_max": TOTAL_MAX,
        "headings": [c.heading for c in Component] + ["Total", "Dated Sign of Subject Teacher"],
        "maxima": [COMPONENT_MAX] * len(Component) + [TOTAL_MAX],
    }
    written: list[Path] = []
    todo = [e for s in students if only is None or s.roll_no in only for e in by_roll[s.roll_no]]
    stale = []
    for entry in todo:
        key, mark = f"{entry.student.roll_no}/{entry.experiment.id}", _fingerprint(course_name, entry)
        if previous.get(key) != mark or not (out_dir / key / "marks.html").is_file():
            stale.append(entry)
            fingerprints[key] = mark
    written.extend(_render_entries(common, stale, out_dir, progress))
    for student in students:
        _drop_stale(out_dir / student.roll_no, {e.experiment.id for e in by_roll[student.roll_no]})
    env = _environment()
    register = env.get_template("register.html").render(
        common, experiments=list(experiments.values()), rows=_register_rows(experiments, by_roll, students)
    )
    written.append(_write_text(out_dir / "register.html", register))
    index_rows = [{"student": s, "entries": by_roll[s.roll_no]} for s in students]
    written.append(_write_text(out_dir / "index.html", env.get_template("index.html").render(common, rows=index_rows)))
    _write_text(state_file, json.dumps(fingerprints, sort_keys=True))
    return written


RENDER_STATE = ".render-state.json"


@lru_cache(maxsize=1)
def _templates_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(TEMPLATES_DIR.glob("*.html")):
        h.update(path.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def _fingerprint(course_name: str, entry: _Entry) -> str:
    """What an entry's pages are made from: the run, the overrides, the flag, the course and the templates."""
    # A run is immutable: its id names its content (a re-score is a new run with a new id).
    parts = [
        course_name,
        entry.run.run_id if entry.run else "",
        entry.flag,
        entry.student.name,
        repr(entry.experiment),
        *(o.model_dump_json() for o in entry.overrides),
        _templates_digest(),
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:24]


def _read_state(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


# -- export ------------------------------------------------------------------


def export_rows(
    *,
    students: list[StudentInfo],
    runs: list[RunRecord],
    overrides: dict[tuple[str, str], list[Override]],
) -> list[dict[str, str | float]]:
    """One row per student × assigned experiment with effective marks (CSV_HEADER keys).

    A missing run gives status ``not_graded``; a pending mark (and a total with one) is blank, never 0.
    """
    latest = _latest_runs(runs)
    rows: list[dict[str, str | float]] = []
    for student in students:
        for exp_id in student.experiments:
            key = (student.roll_no, exp_id)
            run = latest.get(key)
            marks = effective_marks(run, list(overrides.get(key, []))) if run else ComponentMarks()
            row: dict[str, str | float] = {"roll_no": student.roll_no, "name": student.name, "experiment": exp_id}
            row.update({c.value: _csv_marks(marks.get(c)) for c in Component})
            row["total"] = _csv_marks(marks.total)
            row["status"] = csv_status(run)
            rows.append(row)
    return rows


def csv_status(run: RunRecord | None) -> str:
    """The CSV's status: the run's, with its integrity flags ("completed; integrity: forged numbers")."""
    if run is None:
        return NOT_GRADED
    labels = [f.label for f in run.flags if f.severity == "flag"]
    return f"{run.status.value}; integrity: {', '.join(labels)}" if labels else run.status.value


def _csv_marks(value: float | None) -> str | float:
    return "" if value is None else round(value, 2)


def write_csv(rows: list[dict[str, str | float]], path: Path) -> Path:
    """Write export rows as CSV with exactly CSV_HEADER; marks formatted like the reports."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for number, row in enumerate(rows, start=1):
            if set(row) != set(CSV_HEADER):
                raise ValueError(f"row {number} has columns {sorted(row)}; expected exactly {list(CSV_HEADER)}")
            writer.writerow([format_marks(v) if isinstance(v, float) else v for v in (row[k] for k in CSV_HEADER)])
    return path
