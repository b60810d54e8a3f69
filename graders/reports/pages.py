"""Reports: the manual's marks sheet, feedback and viva pages, the class register and the index.

Everything is rendered with Jinja2 (autoescaped: students' evidence strings
and notebook text are untrusted) into static, printable HTML with no external
assets, from the marks model (:mod:`graders.reports.model`): every page shows
the same effective marks, pending columns and missing work as the desk, the
CSVs and the LMS exports. The register's only script sorts its table; without
it the table reads in roll-number order.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from graders.models import COMPONENT_MAX, TOTAL_MAX, CheckResult, Component, ComponentMarks
from graders.reports.curves import curves_svg
from graders.reports.model import (
    MISSING_WORDING,
    ClassMarks,
    ExperimentInfo,
    MarksCell,
    StudentInfo,
    csv_status,
)
from graders.reports.overview import distribution_svg, register_sort_keys
from graders.reports.sheet import format_marks, format_total

__all__ = [
    "TEMPLATES_DIR",
    "ExperimentInfo",
    "StudentInfo",
    "cell_total",
    "check_groups",
    "csv_status",
    "format_marks",
    "render_reports",
]

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# Roll numbers and experiment ids become directory names: no separators, no "..".
_PATH_PART = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class _CheckGroup:
    component: Component
    checks: list[CheckResult]
    awarded: float
    points: float


def check_groups(cell: MarksCell, *, students: bool = False) -> list[_CheckGroup]:
    """The run's checks by column; for ``students``, without the hidden ones (the viva is the examiner's)."""
    checks = [c for c in (cell.run.checks if cell.run else []) if not (students and c.hidden)]
    groups = []
    for component in Component:
        mine = [c for c in checks if c.component is component]
        if mine:
            groups.append(_CheckGroup(component, mine, sum(c.awarded for c in mine), sum(c.points for c in mine)))
    return groups


# -- formatting --------------------------------------------------------------


def _format_pending(value: float | None) -> str:
    """A column's marks on a sheet: the number, or "pending" when an examiner has yet to give it."""
    return "pending" if value is None else format_marks(value)


def _format_total(marks: ComponentMarks, maximum: float | None = None) -> str:
    """A total as the sheets print it: "17" ("17/20"), or "12/20 + viva pending"."""
    return format_total(marks, maximum)


def cell_total(cell: MarksCell, maximum: bool = True) -> str:
    """A cell's total as every view prints it: "17/20", "12/20 + viva pending", or the state in words
    ("not handed in", "not graded yet", "not assigned")."""
    if not cell.handed_in:
        return cell.status_label
    return format_total(cell.marks, TOTAL_MAX if maximum else None)


def _format_pending_marks(value: float) -> str:
    """Pending counted in marks: "+ 10 marks pending" ('' when nothing is)."""
    return f"+ {format_marks(value)} mark{'' if value == 1 else 's'} pending" if value else ""


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
        cell_total=cell_total,
        pending_marks=_format_pending_marks,
        when=_format_when,
        day=_format_day,
        metric=_format_metric,
        shape=_format_shape,
        thousands=_format_thousands,
        seconds=_format_seconds,
    )
    env.globals.update(check_groups=check_groups, missing_wording=MISSING_WORDING)
    return env


# -- checking ----------------------------------------------------------------


def _check_path_part(kind: str, value: str) -> str:
    if not _PATH_PART.match(value):
        raise ValueError(f"{kind} {value!r} cannot name a report folder (use a-z, A-Z, 0-9, '.', '_', '-')")
    return value


def _check_names(marks: ClassMarks) -> None:
    for student in marks.students:
        _check_path_part("roll number", student.roll_no)
    for exp_id in marks.experiments:
        _check_path_part("experiment id", exp_id)


# -- rendering ---------------------------------------------------------------


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _render_entry(common: dict[str, object], entry: MarksCell, out_dir: Path) -> list[Path]:
    """marks.html always; feedback.html, viva.html and curves.png when there is a run."""
    env = _environment()
    folder = out_dir / entry.student.roll_no / entry.experiment.id
    context = {**common, "entry": entry}
    written = [_write_text(folder / "marks.html", env.get_template("marks.html").render(context))]
    if entry.run is None or not entry.handed_in:
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
_SHARED: tuple[dict[str, object], list[MarksCell], Path] | None = None  # what forked workers inherit


def _render_slice(bounds: tuple[int, int]) -> list[Path]:
    assert _SHARED is not None
    common, entries, out_dir = _SHARED
    return [p for entry in entries[bounds[0] : bounds[1]] for p in _render_entry(common, entry, out_dir)]


def _render_entries(
    common: dict[str, object], entries: list[MarksCell], out_dir: Path, progress: Callable[[int, int], None] | None
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


def render_reports(
    *,
    course_name: str,
    marks: ClassMarks,
    out_dir: Path,
    everything: bool = True,
    only: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the students' marks/feedback/viva pages, the class register and an index from the marks model.

    Unless ``everything``, a student × experiment whose pages were rendered
    from the same inputs (run, overrides, similarity note, course, templates)
    is left as it is: the last render's fingerprints are kept in
    ``.render-state.json``. ``only`` limits the pages to these roll numbers;
    the register and the index are always rendered. ``progress`` is called
    with (done, total). Returns the paths written.
    """
    out_dir = Path(out_dir)
    _check_names(marks)
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
    todo = [c for s in marks.students if only is None or s.roll_no in only for c in marks.assigned(s.roll_no)]
    stale = []
    for entry in todo:
        key, mark = f"{entry.roll_no}/{entry.experiment.id}", _fingerprint(course_name, entry)
        if previous.get(key) != mark or not (out_dir / key / "marks.html").is_file():
            stale.append(entry)
            fingerprints[key] = mark
    written.extend(_render_entries(common, stale, out_dir, progress))
    for student in marks.students:
        _drop_stale(out_dir / student.roll_no, {c.experiment.id for c in marks.assigned(student.roll_no)})
    env = _environment()
    register = env.get_template("register.html").render(common, **register_context(marks, _static_viva_href))
    written.append(_write_text(out_dir / "register.html", register))
    index = env.get_template("index.html").render(common, marks=marks)
    written.append(_write_text(out_dir / "index.html", index))
    _write_text(state_file, json.dumps(fingerprints, sort_keys=True))
    return written


def _static_viva_href(cell: MarksCell) -> str:
    return f"{cell.href}viva.html"


def register_context(marks: ClassMarks, viva_href: Callable[[MarksCell], str]) -> dict[str, object]:
    """What both registers (static and desk) show besides the cells: statistics with their plots, the vivas
    still to hold, and each row's sort keys."""
    stats = marks.stats()
    return {
        "marks": marks,
        "experiments": list(marks.experiments.values()),
        "stats": stats,
        "plots": [Markup(distribution_svg(s)) for s in stats],
        "vivas": marks.vivas_to_hold(),
        "sort_keys": register_sort_keys(marks),
        "viva_href": viva_href,
    }


RENDER_STATE = ".render-state.json"


@lru_cache(maxsize=1)
def _templates_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(TEMPLATES_DIR.glob("*.html")):
        h.update(path.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def _fingerprint(course_name: str, entry: MarksCell) -> str:
    """What a cell's pages are made from: the run, the overrides, the notes, the course and the templates."""
    # A run is immutable: its id names its content (a re-score is a new run with a new id).
    parts = [
        course_name,
        entry.state.value,
        entry.run.run_id if entry.run else "",
        entry.similar,
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


# -- the command line's summary ------------------------------------------------


def class_summary(marks: ClassMarks) -> list[str]:
    """The class as the command line prints it after grading or rendering: one line per student (each handed-in
    experiment's marks in the register's words, then the others by state: "not handed in: imdb, stock"; the marks
    given and still pending), then one line for the class."""
    lines = []
    for student in marks.students:
        mine = marks.assigned(student.roll_no)
        parts = [f"{c.experiment.id} {cell_total(c)}" for c in mine if c.handed_in]
        for label in dict.fromkeys(c.status_label for c in mine if not c.handed_in):  # "not handed in: imdb, stock"
            parts.append(f"{label}: {', '.join(c.experiment.id for c in mine if c.status_label == label)}")
        cells = "; ".join(parts)
        given = f"{format_marks(marks.given(student.roll_no))}/{format_marks(marks.maximum(student.roll_no))}"
        pending = _format_pending_marks(marks.pending_marks(student.roll_no))
        lines.append(f"{student.roll_no:>4} {student.name}: {given}{' ' + pending if pending else ''} ({cells})")
    assigned = marks.all_assigned()
    handed = sum(c.handed_in for c in assigned)
    missing = sum(c.state.value == "missing" for c in assigned)
    pending_total = sum(c.pending_marks for c in assigned)
    lines.append(
        f"class: {len(assigned)} assigned, {handed} handed in, {missing} {MISSING_WORDING}; "
        f"{format_marks(pending_total)} marks pending ({len(marks.vivas_to_hold())} vivas to hold)"
    )
    return lines
