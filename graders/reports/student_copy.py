"""The student copy: one folder (and one zip) per student with only their own feedback.

A teacher mails or uploads each student's folder; so it holds nothing a student
should not see and nothing that only makes sense on the grading host:

* only this student's experiments: an index and one feedback page each, linked
  to one another and to nothing else (no viva sheet with its answer key, no
  class register, no other student, no similarity note, no integrity evidence,
  which is the examiner's to weigh);
* no host paths or sandbox internals (no provenance table, no run id, no
  absolute path: a path in a message keeps only its file name);
* the answer key's concepts as words (the key's own word for a stem such as
  ``probabilit``, a readable form of an alternative such as ``self-?driving``),
  never a regular expression;
* missing work and pending columns in the students' own terms.

The marks are read from the one marks model (:mod:`graders.reports.model`).
"""

from __future__ import annotations

import re
import shutil
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from graders.config import CourseConfig
from graders.models import COMPONENT_MAX, TOTAL_MAX, CheckResult, Component, Status
from graders.reports.curves import curves_svg
from graders.reports.model import CellState, ClassMarks, ColumnMark, MarksCell, StudentInfo, load_class_marks
from graders.reports.sheet import format_marks
from graders.rubric import Question, available_experiments, load_rubric

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MISSING = "Not handed in: no submission was found for this experiment, so it has no marks yet."
NOT_GRADED = "Not graded yet."
# Why a column is not counted yet, as a student reads it.
PENDING_FOR_STUDENTS = {
    Component.answers: "pending: the examiner reads and marks your answers",
    Component.coding_efficiency: "pending: the examiner decides it (the training run was cut short before it settled)",
    Component.viva: "pending: given by the examiner in your viva",
    Component.timely_completion: "pending: the examiner decides it",
}
HARNESS_FAILED = "pending: the run could not be graded because of a fault on the grading side; it will be graded again"
_REGEX_SYNTAX = re.compile(r"[\\\[\](){}|*+?^$.]")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/:])(?:[A-Za-z]:)?(?:/[^\s/'\",;:()\[\]]+)+/?")


# -- words a student reads ----------------------------------------------------


def _plain(alternative: str) -> str | None:
    """A concept alternative as plain text, or None when it is more pattern than words.

    ``self-?driving`` -> ``self-driving``, ``cross[- ]?entropy`` -> ``cross-entropy``, ``colou?r`` -> ``colour``;
    ``(batch|samples).{0,20}features`` -> None."""
    text = re.sub(r"\\b", "", alternative)
    text = re.sub(r"\[([^\]])[^\]]*\]\??", r"\1", text)  # a character class: its first character
    text = re.sub(r"\\([^\w\s])", r"\1", text)  # escaped punctuation: the character itself
    text = text.replace("?", "")
    if re.search(r"\\[A-Za-z]|[(){}|*+^$]|\.", text):
        return None
    return text.strip() or None


def _cased(word: str) -> str:
    """A word taken from a sentence, lower-cased unless it is an acronym or a name (RMSE, MinMaxScaler)."""
    return word if any(ch.isupper() for ch in word[1:]) else word.lower()


def concept_words(alternatives: Sequence[str], key: str, vocabulary: Iterable[str] = ()) -> str:
    """A concept as words a student reads, never a pattern: its first alternative that is a word of the
    answer key or of the other questions' keys (``vocabulary``) as it stands (``class``), or that begins one
    (``probabilit`` -> ``probability``: the key's own shortest such word first, else the vocabulary's); else
    the first readable alternative as it is (``self-?driving`` -> ``self-driving``)."""
    readable = [text for text in (_plain(a) for a in alternatives) if text]
    words = sorted(set(vocabulary), key=lambda w: (len(w), w))
    known = {w.lower() for w in words}
    for text in readable:
        if text.lower() in known or re.search(rf"(?<!\w){re.escape(text)}(?!\w)", key, re.IGNORECASE):
            return text
        found = re.findall(rf"(?<!\w){re.escape(text)}[\w-]*", key, re.IGNORECASE)
        if found:
            return _cased(min(found, key=len))
        completed = next((w for w in words if w.lower().startswith(text.lower())), None)
        if completed:
            return _cased(completed)
    return readable[0] if readable else "(see the answer key in the manual)"


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[str, ...]:
    """Every word of every experiment's questions and answer keys: where a stem is completed."""
    words: set[str] = set()
    for experiment in available_experiments():
        for q in load_rubric(experiment).questions:
            words.update(re.findall(r"[A-Za-z][\w-]*[A-Za-z]", f"{q.text} {q.key}"))
    return tuple(sorted(words))


def concept_map(questions: Iterable[Question]) -> list[dict[str, str]]:
    """Per question: each concept's first alternative (what the evidence names) -> words a student reads."""
    vocabulary = _vocabulary()
    return [{group[0]: concept_words(group, q.key or q.text, vocabulary) for group in q.concepts} for q in questions]


_ANSWER = re.compile(r"^Q(\d+)\b")
_LISTS = re.compile(r"(covers |missing: )(.*?)(?=; |\s\(\d+ words?\)|$)")


def _readable_evidence(evidence: str, concepts: list[dict[str, str]]) -> str:
    """An answer check's evidence with its concept lists in words ("covers ...; missing: ...")."""
    number = _ANSWER.match(evidence)
    if number is None or not 0 < int(number.group(1)) <= len(concepts):
        return evidence
    words = concepts[int(number.group(1)) - 1]

    def lists(found: re.Match[str]) -> str:
        items = [words.get(item.strip(), item.strip()) for item in found.group(2).split(",")]
        return found.group(1) + ", ".join(items)

    return _LISTS.sub(lists, evidence)


def without_paths(text: str) -> str:
    """A message with every absolute path cut to its last part (a file name says enough; a host path does not)."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "", text)


def folder_name(student: StudentInfo) -> str:
    """The student's folder (and zip) name: roll number and name, ASCII, safe on every file system."""
    ascii_name = unicodedata.normalize("NFKD", student.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-") or "student"
    return f"{student.roll_no}_{slug}"


# -- view model ---------------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    """One check a student may see, its messages cleaned."""

    title: str
    passed: bool
    awarded: float
    points: float
    evidence: str
    hint: str


@dataclass(frozen=True)
class ColumnView:
    """One column of the marks sheet as the student reads it."""

    heading: str
    marks: str  # "4.5" or "pending"
    why: str  # why it is pending, or the examiner's note on a changed mark
    checks: tuple[CheckLine, ...]


@dataclass(frozen=True)
class ExperimentView:
    """One experiment of the student's: the page's content."""

    cell: MarksCell
    page: str  # file name inside the student's folder
    summary: str  # "15 of 20, viva pending" / "Not handed in ..."
    columns: tuple[ColumnView, ...]
    reason: str
    cell_error: str
    metrics: tuple[tuple[str, str], ...]
    curves: Markup | None
    adaptations: tuple[str, ...]


def _summary(cell: MarksCell) -> str:
    if cell.state is CellState.missing:
        return MISSING
    if cell.state is not CellState.graded:
        return NOT_GRADED
    given = f"{format_marks(cell.given)} of {format_marks(TOTAL_MAX)}"
    if not cell.pending:
        return given
    return f"{given} so far; {format_marks(cell.pending_marks)} more to come ({cell.pending_names} pending)"


def _checks(run_checks: Iterable[CheckResult], component: Component, concepts: list[dict[str, str]]) -> list[CheckLine]:
    lines = []
    for c in run_checks:
        if c.hidden or c.component is not component:
            continue
        evidence = _readable_evidence(c.evidence, concepts) if component is Component.answers else c.evidence
        lines.append(
            CheckLine(c.title, c.passed, c.awarded, c.points, without_paths(evidence), without_paths(c.hint or ""))
        )
    return lines


def _column(cell: MarksCell, column: ColumnMark, concepts: list[dict[str, str]]) -> ColumnView:
    if column.pending is not None:
        failed = cell.run is not None and cell.run.status is Status.sandbox_error
        marks, why = "pending", HARNESS_FAILED if failed else PENDING_FOR_STUDENTS[column.component]
    else:
        marks = format_marks(column.marks)
        why = f"changed by the examiner: {column.override.why}" if column.override and column.override.why else ""
    checks = _checks(cell.run.checks if cell.run else [], column.component, concepts)
    return ColumnView(column.component.heading, marks, why, tuple(checks))


def _curves(cell: MarksCell) -> Markup | None:
    svg = curves_svg(cell.run.history, title=f"Training curves, {cell.experiment.title}") if cell.run else None
    return Markup(svg.replace(' xmlns="http://www.w3.org/2000/svg"', "")) if svg else None


def experiment_view(cell: MarksCell) -> ExperimentView:
    """Everything the student's page of one experiment shows."""
    run = cell.run if cell.handed_in else None
    concepts = concept_map(load_rubric(cell.experiment.id).questions) if run else []
    error = ""
    if run is not None and run.cell_error is not None:
        e = run.cell_error
        error = without_paths(f"Cell {e.cell_index} raised {e.ename}: {e.evalue}")
    return ExperimentView(
        cell=cell,
        page=f"{cell.experiment.id}.html",
        summary=_summary(cell),
        columns=tuple(_column(cell, c, concepts) for c in cell.columns),
        reason=without_paths(run.reason) if run is not None and run.status is not Status.completed else "",
        cell_error=error,
        metrics=tuple((name, f"{value:.4g}") for name, value in sorted(run.metrics.items())) if run else (),
        curves=_curves(cell) if run else None,
        adaptations=tuple(without_paths(a.detail) for a in run.adaptations) if run else (),
    )


# -- writing ------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["marks"] = format_marks
    return env


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _zip(folder: Path) -> Path:
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for page in sorted(folder.iterdir()):
            zf.write(page, f"{folder.name}/{page.name}")
    return archive


def write_student(marks: ClassMarks, student: StudentInfo, out: Path, course_name: str) -> tuple[Path, Path]:
    """One student's folder (an index and a page per experiment) and its zip; the folder is written afresh."""
    folder = out / folder_name(student)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    env = _environment()
    views = [experiment_view(cell) for cell in marks.assigned(student.roll_no)]
    roll = student.roll_no
    common = {
        "course_name": course_name,
        "student": student,
        "experiments": views,
        "component_max": COMPONENT_MAX,
        "totals": (marks.given(roll), marks.maximum(roll), marks.pending_marks(roll)),
    }
    _write(folder / "index.html", env.get_template("student_index.html").render(common))
    for view in views:
        _write(folder / view.page, env.get_template("student_experiment.html").render(common, view=view))
    return folder, _zip(folder)


def write_student_copies(cfg: CourseConfig, out: Path, only: set[str] | None = None) -> list[Path]:
    """Every student's (or only these rolls') folder and zip under ``out``; the paths written."""
    marks = load_class_marks(cfg)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for student in marks.students:
        if only is None or student.roll_no in only:
            written.extend(write_student(marks, student, out, cfg.name))
    return written
