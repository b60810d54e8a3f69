"""What the examiners' desk shows, read from the marks model, and its marking forms.

The desk reads the gradebook afresh on every request (grading or the CLI may
write to it meanwhile) through :mod:`graders.reports.model`, the one model of a
student × experiment every view renders from, so the desk, the static pages,
the CSVs and the LMS exports agree on every mark, pending column and piece of
missing work. It never writes a run: an examiner's marks become an append-only
:class:`~graders.models.Override` through :func:`graders.api.override` (which
refuses a mark on work not handed in), after which the pages it changes are
re-rendered (:mod:`graders.desk.render`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from graders import api
from graders.config import CourseConfig, load_course
from graders.desk.render import rerender_entry
from graders.models import COMPONENT_MAX, CheckResult, Component, Override, RunRecord
from graders.reports.model import ClassMarks, ExperimentInfo, MarksCell, load_class_marks
from graders.rubric import load_rubric

# The examiner marks these columns at the desk; the others come from the checks.
MARKED_AT_DESK = (Component.viva, Component.answers)


class DeskError(api.GradingError):
    """A desk that cannot start or a request it cannot serve; one line for the examiner."""


def _clamp(marks: float) -> float:
    return min(max(float(marks), 0.0), COMPONENT_MAX) if math.isfinite(marks) else 0.0


def experiment_label(info: ExperimentInfo) -> str:
    """A short name for headings and links: the manual's number and the id ("3 · fashion")."""
    number = info.title.split(". ", 1)[0] if ". " in info.title else ""
    return f"{number} · {info.id}" if number and len(number) <= 8 else info.id


@dataclass(frozen=True)
class RegisterColumn:
    """One column of the register: an experiment, or the mini projects (each student is given one)."""

    label: str
    title: str
    experiments: tuple[str, ...]


def register_columns(experiments: Mapping[str, ExperimentInfo], mini_projects: Sequence[str]) -> list[RegisterColumn]:
    """The experiments in course order, the mini projects sharing one column where the first of them stands."""
    minis = [e for e in experiments if e in mini_projects]
    columns: list[RegisterColumn] = []
    for exp_id, info in experiments.items():
        if exp_id not in minis:
            columns.append(RegisterColumn(experiment_label(info), info.title.split(". ", 1)[-1], (exp_id,)))
        elif exp_id == minis[0]:
            names = " / ".join(experiment_label(experiments[m]) for m in minis)
            columns.append(RegisterColumn("Mini project", names, tuple(minis)))
    return columns


def register_cell(marks: ClassMarks, roll_no: str, column: RegisterColumn) -> MarksCell | None:
    """The student's cell in a register column (None when none of its experiments is assigned)."""
    cells = [c for e in column.experiments if (c := marks.cell(roll_no, e)) is not None and c.assigned]
    return cells[0] if cells else None


# -- marking forms --------------------------------------------------------------


@dataclass(frozen=True)
class FormItem:
    """One question on a marking form, with what the examiner needs to mark it."""

    question: str
    key: str
    note: str = ""  # what the harness found, e.g. "the notebook states this"
    found: bool = False  # the harness found an answer in the notebook (shown as such)


@dataclass(frozen=True)
class MarkingForm:
    """A viva or answers form: the questions, each marked 0..1, scaled to the column's 5 marks.

    With no questions (no model to ask about) the examiner enters the column's
    marks directly, 0..5.
    """

    component: Component
    items: list[FormItem]

    @property
    def per_question(self) -> float:
        """How many of the column's marks one question is worth."""
        return round(COMPONENT_MAX / len(self.items), 4) if self.items else COMPONENT_MAX

    def total(self, marks: Sequence[float]) -> float:
        """The column's marks for per-question marks of 0..1 each (or the direct mark)."""
        if not self.items:
            return round(_clamp(marks[0]), 2)
        return round(_clamp(COMPONENT_MAX * sum(marks) / len(self.items)), 2)


def viva_form(run: RunRecord) -> MarkingForm:
    """The viva questions drawn from the student's own model, with their answer keys."""
    items = [
        FormItem(q.question, q.answer, "the notebook states this" if q.auto_answered else "", q.auto_answered)
        for q in run.viva
    ]
    return MarkingForm(Component.viva, items)


def answers_form(run: RunRecord) -> MarkingForm:
    """The manual's assignment questions with the rubric's answer keys and what the checks found."""
    questions = load_rubric(run.experiment).questions
    checks: list[CheckResult] = [c for c in run.checks if c.component is Component.answers]
    if len(checks) != len(questions):  # a run that stopped before checking: nothing to show beside the keys
        return MarkingForm(Component.answers, [FormItem(q.text, q.key) for q in questions])
    return MarkingForm(
        Component.answers,
        [FormItem(q.text, q.key, f"checks: {c.evidence}", c.passed) for q, c in zip(questions, checks)],
    )


def form_for(component: Component, run: RunRecord) -> MarkingForm:
    """The marking form of a desk-marked column."""
    if component is Component.viva:
        return viva_form(run)
    if component is Component.answers:
        return answers_form(run)
    raise DeskError(f"the {component.heading} column is not marked at the desk")


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def compose_why(form: MarkingForm, marks: Sequence[float], held_on: date, note: str) -> str:
    """The override's reason, readable on the marks sheet: when, which questions, per-question marks, note."""
    event = "viva held" if form.component is Component.viva else "answers marked by the examiner"
    if form.items:
        answered = [str(i) for i, m in enumerate(marks, start=1) if m > 0]
        which = f"questions {', '.join(answered)} answered" if answered else "no question answered"
        detail = f"{which} (per question, of 1 each: {_numbers(marks)})"
    else:
        detail = f"marked {marks[0]:g} of {COMPONENT_MAX:g} directly (no questions were generated)"
    text = f"{event} {held_on.isoformat()}, {detail}"
    return f"{text}; {note}" if note else text


# -- the desk ---------------------------------------------------------------------


class Desk:
    """One course's gradebook as the examiners see it, and the one way they change it."""

    def __init__(self, course: Path | str) -> None:
        """Read the course file; the gradebook must already exist (the desk never grades)."""
        self.course = Path(course)
        self.config: CourseConfig = load_course(self.course)
        if not self.config.gradebook.is_file():
            raise DeskError(
                f"no gradebook at {self.config.gradebook}: run `labgrade grade --course {self.config.source}` first"
            )
        self._writing = threading.Lock()  # one save and re-render at a time

    @property
    def name(self) -> str:
        """The course name printed on every page."""
        return self.config.name

    def marks(self, roll_no: str | None = None) -> ClassMarks:
        """The marks model of the course (or of one student) as the gradebook holds it now."""
        return load_class_marks(self.config, roll_no)

    def columns(self, marks: ClassMarks) -> list[RegisterColumn]:
        """The register's columns: the experiments, the mini projects sharing one."""
        return register_columns(marks.experiments, list(self.config.mini_projects.allot))

    def cell(self, roll_no: str, experiment: str) -> MarksCell | None:
        """One student × experiment, or None when it is not on the roster or not assigned."""
        cell = self.marks(roll_no).cell(roll_no, experiment)
        return cell if cell is not None and cell.assigned else None

    def record(self, cell: MarksCell, component: Component, marks: float, who: str, why: str) -> tuple[Override, str]:
        """Append the examiner's override and re-render the pages it changes.

        Returns the override and a problem with re-rendering ('' when none):
        the override is recorded either way and the next render picks it up.
        A mark on work that takes none (not handed in) is a :class:`DeskError`.
        """
        refused = cell.refusal()
        if refused:
            raise DeskError(refused)
        roll_no, experiment = cell.roll_no, cell.experiment.id
        with self._writing:
            entry = api.override(
                course=self.course,
                roll_no=roll_no,
                experiment=experiment,
                component=component.value,
                marks=marks,
                who=who,
                why=why,
            )
            try:
                rerender_entry(self.config, roll_no, experiment)
            except Exception as exc:  # a failed render must not hide that the marks were saved
                return entry, f"{type(exc).__name__}: {exc}"
        return entry, ""
