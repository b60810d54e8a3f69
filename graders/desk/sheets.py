"""What the examiners' desk shows and records: column states, sheets, the register, marking forms.

The desk reads the gradebook afresh on every request (grading or the CLI may
write to it meanwhile) and never writes a run: an examiner's marks become an
append-only :class:`~graders.models.Override` through :func:`graders.api.override`,
after which the pages it changes are re-rendered (:mod:`graders.desk.render`).

*Pending is a state, not a zero.* A column the examiner still has to mark is
``None`` here, never 0: the Viva column until a viva override exists, and the
Answers column when the student wrote nothing the harness could mark. A run
whose ``marks`` already hold ``None`` for a column (the gradebook's coming
representation of "pending") is read the same way.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from graders import api
from graders.config import CourseConfig, load_course
from graders.desk.render import rerender_entry
from graders.gradebook import Gradebook, winning_overrides
from graders.models import COMPONENT_MAX, TOTAL_MAX, CheckResult, Component, Override, RunRecord
from graders.reports.pages import ExperimentInfo, StudentInfo
from graders.rubric import load_rubric
from graders.steps import integrity
from graders.steps.report import report_inputs

# The examiner marks these columns at the desk; the others come from the checks.
MARKED_AT_DESK = (Component.viva, Component.answers)
# What check_answer says when a question has no answer at all in the notebook.
_NOT_ANSWERED = "not answered in the notebook"


class DeskError(api.GradingError):
    """A desk that cannot start or a request it cannot serve; one line for the examiner."""


# -- column states -------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of one sheet: its marks, or None while it waits for the examiner."""

    component: Component
    marks: float | None
    override: Override | None = None

    @property
    def pending(self) -> bool:
        """True while the examiner still has to mark this column."""
        return self.marks is None


def _clamp(marks: float) -> float:
    return min(max(float(marks), 0.0), COMPONENT_MAX) if math.isfinite(marks) else 0.0


def answers_written(run: RunRecord) -> bool:
    """Whether the student wrote anything the Answers checks could mark.

    A run without Answers checks (the harness failed before checking) counts
    as nothing written: the examiner has to look.
    """
    checks = [c for c in run.checks if c.component is Component.answers]
    return any(c.passed or _NOT_ANSWERED not in c.evidence for c in checks)


def column_state(run: RunRecord, winner: Override | None, component: Component) -> Column:
    """The column as the desk shows it: the examiner's override, the run's marks, or pending."""
    if winner is not None and winner.marks is not None:
        return Column(component, _clamp(winner.marks), winner)
    value: float | None = getattr(run.marks, component.value)
    if value is None:
        return Column(component, None)
    if component is Component.answers and not answers_written(run):
        return Column(component, None)
    return Column(component, _clamp(value))


@dataclass(frozen=True)
class Sheet:
    """One student × assigned experiment: the latest run (if any) and its columns."""

    student: StudentInfo
    experiment: ExperimentInfo
    run: RunRecord | None
    overrides: list[Override]
    columns: list[Column] = field(default_factory=list)
    similar: str = ""  # the similarity report's note ("exact copy of 9", "cluster 1"), as the static register has it

    @classmethod
    def build(
        cls,
        student: StudentInfo,
        experiment: ExperimentInfo,
        run: RunRecord | None,
        overrides: list[Override],
        similar: str = "",
    ) -> Sheet:
        """Work out every column once; a sheet without a run has no columns."""
        winners = winning_overrides(overrides)
        columns = [column_state(run, winners.get(c), c) for c in Component] if run else []
        return cls(student, experiment, run, overrides, columns, similar)

    @property
    def integrity(self) -> list[str]:
        """The run's integrity flags by label (forged numbers, trained on test rows): evidence, never a penalty."""
        return [f.label for f in self.run.flags if f.severity == "flag"] if self.run else []

    def column(self, component: Component) -> Column | None:
        """The column of ``component`` (None when there is no run)."""
        return next((c for c in self.columns if c.component is component), None)

    @property
    def total(self) -> float:
        """The marks known so far: pending columns add nothing yet."""
        return round(sum(c.marks for c in self.columns if c.marks is not None), 2)

    @property
    def pending(self) -> list[Component]:
        """The columns still waiting for the examiner."""
        return [c.component for c in self.columns if c.pending]

    @property
    def status_label(self) -> str:
        """The run's status in words (or "not graded")."""
        return self.run.status.value.replace("_", " ") if self.run else "not graded"

    @property
    def status_class(self) -> str:
        """The CSS class the static reports use for this status."""
        if self.run is None:
            return "not_graded"
        return "completed" if self.run.status.value == "completed" else "failed"


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


@dataclass(frozen=True)
class RegisterRow:
    """One student of the register with their sheets, one per assigned experiment, in course order."""

    student: StudentInfo
    sheets: list[Sheet]

    def cell(self, column: RegisterColumn) -> Sheet | None:
        """The student's sheet in a register column (None when none of its experiments is assigned)."""
        return next((s for s in self.sheets if s.experiment.id in column.experiments), None)

    @property
    def total(self) -> float:
        """Known marks over every assigned experiment."""
        return round(sum(s.total for s in self.sheets), 2)

    @property
    def maximum(self) -> float:
        """The most the student can get over the assigned experiments."""
        return TOTAL_MAX * len(self.sheets)

    @property
    def pending(self) -> int:
        """How many columns still wait for the examiner."""
        return sum(len(s.pending) for s in self.sheets)


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

    def _inputs(self) -> tuple[dict[str, ExperimentInfo], list[StudentInfo]]:
        return report_inputs(self.config)  # the reports' own view of roster and experiments

    def register(self) -> tuple[list[RegisterColumn], list[RegisterRow]]:
        """The register's columns and one row per student on the roster."""
        experiments, students = self._inputs()
        with Gradebook(self.config.gradebook) as book:
            runs = {(r.roll_no, r.experiment): r for r in book.latest_runs(self.config.name)}
            overrides = book.all_overrides(self.config.name)
        similar = integrity.flags(self.config)
        rows = []
        for student in students:
            mine = [e for e in experiments if e in student.experiments]  # course order
            rows.append(
                RegisterRow(
                    student,
                    [
                        Sheet.build(
                            student,
                            experiments[e],
                            runs.get((student.roll_no, e)),
                            list(overrides.get((student.roll_no, e), [])),
                            similar.get((student.roll_no, e), ""),
                        )
                        for e in mine
                    ],
                )
            )
        return register_columns(experiments, list(self.config.mini_projects.allot)), rows

    def row(self, roll_no: str) -> RegisterRow | None:
        """One student's row, or None when the roll number is not on the roster."""
        return next((r for r in self.register()[1] if r.student.roll_no == roll_no), None)

    def sheet(self, roll_no: str, experiment: str) -> Sheet | None:
        """One student × experiment, or None when it is not on the roster or not assigned."""
        row = self.row(roll_no)
        if row is None:
            return None
        return next((s for s in row.sheets if s.experiment.id == experiment), None)

    def record(self, sheet: Sheet, component: Component, marks: float, who: str, why: str) -> tuple[Override, str]:
        """Append the examiner's override and re-render the pages it changes.

        Returns the override and a problem with re-rendering ('' when none):
        the override is recorded either way and the next render picks it up.
        """
        roll_no, experiment = sheet.student.roll_no, sheet.experiment.id
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
