"""The marks model: one student × one experiment, as every view shows it.

The static pages, the desk, both long CSVs, the LMS exports and the CLI
summaries all render from the :class:`MarksCell` this module builds, so they
cannot disagree about a mark, a pending column or a piece of missing work.

A cell is built once per student × course experiment from the gradebook:

* **state** — ``graded`` (a run of work that was handed in, whatever its
  status), ``missing`` (the latest run says nothing was handed in),
  ``not_graded`` (assigned, no run yet) or ``not_assigned`` (a mini project not
  allotted to this roll number). Only a graded cell has marks; missing work is
  one state with one wording (:data:`MISSING_WORDING`) everywhere, and a mark
  is never entered on it (:meth:`MarksCell.refusal`).
* **run** — the latest run (by ``graded_at``, then the order given; the
  gradebook's own order).
* **winners** — the examiners' override in force per column
  (:func:`graders.gradebook.winning_overrides`), each with the footnote number
  the marks sheet prints.
* **marks** — the effective columns (:func:`graders.gradebook.effective_marks`:
  the run's marks with the winning overrides on top, clamped to 0..5).
* **pending** — the columns nobody has given yet, each with why: the viva
  awaits the examiner, the answers wait because nothing was written, the coding
  efficiency waits because the trusted metric was inconclusive (a capped fit
  still improving), every column waits after a harness failure. Pending is
  counted in marks (:attr:`MarksCell.pending_marks`: six pending vivas are 30
  marks), never in columns.
* **status** — the run's status code (``completed``, ``cell_error``, …,
  ``missing``, ``not_graded``, ``not_assigned``) and its wording; the integrity
  flags (forged numbers, training on the test rows) by label; the similarity
  report's note.

:class:`ClassMarks` holds a course's cells in roster and course order with the
register's per-student sums and the per-experiment statistics;
:func:`load_class_marks` reads it from a course's gradebook (optionally for
some roll numbers only), :func:`class_marks` builds it from records already
read.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property

from graders.config import CourseConfig
from graders.gradebook import Gradebook, effective_marks, winning_overrides
from graders.models import (
    COMPONENT_MAX,
    TOTAL_MAX,
    Component,
    ComponentMarks,
    IntegrityFlag,
    Override,
    RunRecord,
    Status,
)
from graders.rubric import load_rubric, manual_order
from graders.steps import integrity
from graders.submissions import class_list

MISSING_WORDING = "not handed in"
NOT_GRADED_WORDING = "not graded yet"
NOT_ASSIGNED_WORDING = "not assigned"
# Why a column waits, by column: the viva is the examiner's; the answers wait when nothing was written; the coding
# efficiency waits when the trusted metric was inconclusive (a capped fit still improving); the timely completion
# waits only when the harness failed.
PENDING_WHY: Mapping[Component, str] = {
    Component.answers: "nothing written to mark: the examiner reads and marks the answers",
    Component.coding_efficiency: "the metric is inconclusive (training was still improving when it was capped)",
    Component.viva: "awaiting the examiner's viva",
    Component.timely_completion: "not worked out for this run",
}
HARNESS_FAILED_WHY = "the harness failed on this run: grade it again"
NOT_GIVEN_WHY = "not given by the run: for the examiner to give"
# The same in a word or two, for a narrow sheet cell.
PENDING_SHORT: Mapping[Component, str] = {
    Component.answers: "nothing written",
    Component.coding_efficiency: "metric inconclusive",
    Component.viva: "examiner",
    Component.timely_completion: "not worked out",
}


class CellState(str, enum.Enum):
    """What a student × experiment is, before any mark."""

    graded = "graded"  # a run of work handed in (any status but missing)
    missing = "missing"  # nothing handed in
    not_graded = "not_graded"  # assigned, not graded yet
    not_assigned = "not_assigned"  # a mini project not allotted to this roll number


@dataclass(frozen=True)
class ExperimentInfo:
    """One experiment of the course as the views need it."""

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
class PendingColumn:
    """A column nobody has given yet, the marks it still holds back, and why it waits."""

    component: Component
    why: str
    marks: float = COMPONENT_MAX

    @property
    def short(self) -> str:
        """Why, in a word or two (a marks sheet's cell)."""
        if self.why == HARNESS_FAILED_WHY:
            return "harness failed"
        return "examiner" if self.why == NOT_GIVEN_WHY else PENDING_SHORT[self.component]


@dataclass(frozen=True)
class ColumnMark:
    """One column of one marks sheet: the effective marks (None while pending), and the examiner's override."""

    component: Component
    marks: float | None
    override: Override | None = None  # the winning override, when it gave (or withdrew) this column's mark
    footnote: int | None = None  # the marks sheet's footnote number of that override
    pending: PendingColumn | None = None


@dataclass(frozen=True)
class MarksCell:
    """One student × one course experiment: the state, the latest run, the effective marks, what is pending."""

    student: StudentInfo
    experiment: ExperimentInfo
    state: CellState
    run: RunRecord | None = None
    overrides: tuple[Override, ...] = ()  # every override of this student × experiment, oldest first
    similar: str = ""  # the similarity report's note ("exact copy of 9", "cluster 1")

    # -- identity ---------------------------------------------------------------

    @property
    def roll_no(self) -> str:
        """The student's roll number."""
        return self.student.roll_no

    @property
    def name(self) -> str:
        """The student's name as the roster has it."""
        return self.student.name

    @property
    def href(self) -> str:
        """Link prefix from the reports folder to this cell's pages."""
        return f"{self.student.roll_no}/{self.experiment.id}/"

    # -- state ------------------------------------------------------------------

    @property
    def assigned(self) -> bool:
        """Whether the student is graded on this experiment."""
        return self.state is not CellState.not_assigned

    @property
    def handed_in(self) -> bool:
        """Whether there is a graded run of work the student handed in."""
        return self.state is CellState.graded

    @property
    def completed(self) -> bool:
        """Whether that run completed."""
        return self.run is not None and self.handed_in and self.run.status is Status.completed

    def refusal(self) -> str | None:
        """Why no examiner mark may be entered on this cell (None: it may)."""
        what = f"roll {self.roll_no} {self.experiment.id}"
        if self.state is CellState.missing:
            return f"{what} was {MISSING_WORDING}: there is nothing to mark (grade it again once it is handed in)"
        if self.state is CellState.not_assigned:
            return f"{what} is {NOT_ASSIGNED_WORDING} to this roll number"
        return None

    # -- marks ------------------------------------------------------------------

    @cached_property
    def winners(self) -> dict[Component, Override]:
        """The override in force per column (only on handed-in work)."""
        return winning_overrides(list(self.overrides)) if self.handed_in else {}

    @cached_property
    def marks(self) -> ComponentMarks:
        """The effective columns; all None unless the work was handed in and graded."""
        if self.run is None or not self.handed_in:
            return ComponentMarks()
        return effective_marks(self.run, list(self.overrides))

    @cached_property
    def footnotes(self) -> list[Override]:
        """The winning overrides in sheet order: footnote 1, 2, …"""
        return [self.winners[c] for c in Component if c in self.winners]

    @cached_property
    def pending(self) -> tuple[PendingColumn, ...]:
        """The columns of handed-in work nobody has given yet, each with why."""
        if not self.handed_in:
            return ()
        return tuple(PendingColumn(c, self._why(c)) for c in self.marks.pending)

    def _why(self, component: Component) -> str:
        return pending_why(self.run, component)

    @cached_property
    def columns(self) -> tuple[ColumnMark, ...]:
        """The four columns in sheet order (empty unless handed in)."""
        if not self.handed_in:
            return ()
        numbers = {o.component: i for i, o in enumerate(self.footnotes, start=1)}
        waiting = {p.component: p for p in self.pending}
        return tuple(
            ColumnMark(c, self.marks.get(c), self.winners.get(c), numbers.get(c), waiting.get(c)) for c in Component
        )

    def column(self, component: Component) -> ColumnMark | None:
        """One column (None unless handed in)."""
        return next((c for c in self.columns if c.component is component), None)

    @property
    def given(self) -> float:
        """The marks given so far (0 for work not handed in)."""
        return self.marks.given

    @property
    def total(self) -> float | None:
        """The total out of 20, or None while a column is pending or nothing was handed in."""
        return self.marks.total if self.handed_in else None

    @property
    def maximum(self) -> float:
        """The most this cell can give: 20 when assigned."""
        return TOTAL_MAX if self.assigned else 0.0

    @property
    def pending_marks(self) -> float:
        """The marks still to be given (5 per pending column)."""
        return sum(p.marks for p in self.pending)

    @property
    def pending_names(self) -> str:
        """The pending columns as the sheets name them: "viva", "answers and viva"."""
        return and_list([p.component.heading.lower() for p in self.pending])

    # -- status -----------------------------------------------------------------

    @property
    def status(self) -> str:
        """The status code: the run's (``completed``, ``cell_error``, ``missing``), or the cell's state."""
        if self.state is CellState.not_assigned or self.state is CellState.not_graded or self.run is None:
            return self.state.value
        return self.run.status.value

    @property
    def status_label(self) -> str:
        """The status in words; missing work is :data:`MISSING_WORDING` everywhere."""
        if self.state is CellState.missing:
            return MISSING_WORDING
        if self.state is CellState.not_graded:
            return NOT_GRADED_WORDING
        if self.state is CellState.not_assigned:
            return NOT_ASSIGNED_WORDING
        return self.status.replace("_", " ")

    @property
    def status_class(self) -> str:
        """A CSS class: completed, failed, missing, not_graded or not_assigned."""
        if self.state is not CellState.graded:
            return self.state.value
        return "completed" if self.completed else "failed"

    @property
    def integrity(self) -> list[IntegrityFlag]:
        """The run's integrity flags (not the lesser notes): the register, the CSVs and the desk show these."""
        return [f for f in self.run.flags if f.severity == "flag"] if self.run else []

    @property
    def integrity_all(self) -> list[IntegrityFlag]:
        """Flags first, then the notes: what the marks sheet's footnote and the feedback list."""
        return sorted(self.run.flags, key=lambda f: f.severity != "flag") if self.run else []

    @property
    def integrity_labels(self) -> list[str]:
        """The flags by label ("forged numbers")."""
        return [f.label for f in self.integrity]

    @property
    def csv_status(self) -> str:
        """The CSVs' status: the code, with the integrity flags ("completed; integrity: forged numbers")."""
        labels = self.integrity_labels
        return f"{self.status}; integrity: {', '.join(labels)}" if labels else self.status

    @property
    def pending_text(self) -> str:
        """Each pending column with why: "viva: awaiting the examiner's viva"."""
        return "; ".join(f"{p.component.value}: {p.why}" for p in self.pending)


def pending_why(run: RunRecord | None, component: Component) -> str:
    """Why a column of handed-in work has no mark yet, in words: the examiner's, the run's, or the harness's."""
    if run is None:
        return PENDING_WHY[component]
    if run.status is Status.sandbox_error:
        return HARNESS_FAILED_WHY
    undecided = [c for c in run.checks if c.component is component and c.inconclusive]
    if component in (Component.viva, Component.answers):
        return PENDING_WHY[component]
    if undecided and component is Component.coding_efficiency:
        return PENDING_WHY[component]
    if undecided:
        return f"the run cannot decide it ({undecided[0].title})"
    return NOT_GIVEN_WHY


def and_list(words: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def csv_status(run: RunRecord | None) -> str:
    """The CSVs' status of a run alone: its status with its integrity flags (``not_graded`` without a run)."""
    if run is None:
        return CellState.not_graded.value
    labels = [f.label for f in run.flags if f.severity == "flag"]
    return f"{run.status.value}; integrity: {', '.join(labels)}" if labels else run.status.value


@dataclass(frozen=True)
class ExperimentStats:
    """One experiment across the class: who handed in, who completed, the totals' median and distribution."""

    experiment: ExperimentInfo
    assigned: int
    handed_in: int
    completed: int
    totals: tuple[float, ...]  # the final totals (no column pending), for the median and the plot
    given: tuple[float, ...]  # the marks given so far on every handed-in cell
    pending_marks: float

    @property
    def median(self) -> float | None:
        """The median of the final totals (None when none is final yet)."""
        return statistics.median(self.totals) if self.totals else None

    @property
    def median_given(self) -> float | None:
        """The median of the marks given so far over handed-in work."""
        return statistics.median(self.given) if self.given else None

    def histogram(self, bins: int = 10) -> list[int]:
        """How many handed-in cells' given marks fall in each of ``bins`` equal bands of 0..20."""
        counts = [0] * bins
        for value in self.given:
            counts[min(int(value / TOTAL_MAX * bins), bins - 1)] += 1
        return counts


@dataclass
class ClassMarks:
    """A course's cells: one per student × course experiment, in roster and course order."""

    experiments: dict[str, ExperimentInfo]
    students: list[StudentInfo]
    cells: dict[tuple[str, str], MarksCell]

    def cell(self, roll_no: str, experiment: str) -> MarksCell | None:
        """One cell (None when the roll or the experiment is not the course's)."""
        return self.cells.get((roll_no, experiment))

    def row(self, roll_no: str) -> list[MarksCell]:
        """Every course experiment of one student, in course order (not-assigned ones included)."""
        return [self.cells[(roll_no, e)] for e in self.experiments if (roll_no, e) in self.cells]

    def assigned(self, roll_no: str) -> list[MarksCell]:
        """The experiments the student is graded on, in course order."""
        return [c for c in self.row(roll_no) if c.assigned]

    def all_assigned(self) -> list[MarksCell]:
        """Every assigned cell, roster order, then course order."""
        return [c for s in self.students for c in self.assigned(s.roll_no)]

    def given(self, roll_no: str) -> float:
        """The marks given so far over the student's experiments."""
        return round(sum(c.given for c in self.assigned(roll_no)), 2)

    def maximum(self, roll_no: str) -> float:
        """The most the student can get over the assigned experiments."""
        return sum(c.maximum for c in self.assigned(roll_no))

    def pending_marks(self, roll_no: str) -> float:
        """The marks still to be given over the student's handed-in work."""
        return sum(c.pending_marks for c in self.assigned(roll_no))

    def stats(self) -> list[ExperimentStats]:
        """Per experiment: handed in, completed, the median and the distribution."""
        result = []
        for exp_id, info in self.experiments.items():
            cells = [c for c in self.cells.values() if c.experiment.id == exp_id and c.assigned]
            handed = [c for c in cells if c.handed_in]
            result.append(
                ExperimentStats(
                    info,
                    assigned=len(cells),
                    handed_in=len(handed),
                    completed=sum(c.completed for c in handed),
                    totals=tuple(c.total for c in handed if c.total is not None),
                    given=tuple(c.given for c in handed),
                    pending_marks=sum(c.pending_marks for c in handed),
                )
            )
        return result

    def vivas_to_hold(self) -> list[MarksCell]:
        """The handed-in cells whose viva is still pending, roster order then course order."""
        return [c for c in self.all_assigned() if c.column(_VIVA) is not None and c.marks.viva is None]


_VIVA = Component.viva


def _moment(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def latest_runs(runs: Iterable[RunRecord]) -> dict[tuple[str, str], RunRecord]:
    """The latest run per (roll_no, experiment) by ``graded_at``; ties go to the later in the order given."""
    latest: dict[tuple[str, str], RunRecord] = {}
    for run in runs:
        key = (run.roll_no, run.experiment)
        current = latest.get(key)
        if current is None or _moment(run.graded_at) >= _moment(current.graded_at):
            latest[key] = run
    return latest


def make_cell(
    student: StudentInfo,
    experiment: ExperimentInfo,
    run: RunRecord | None,
    overrides: Sequence[Override] = (),
    similar: str = "",
) -> MarksCell:
    """One cell from its records: the state follows from the assignment and the run."""
    if experiment.id not in student.experiments:
        state = CellState.not_assigned
    elif run is None:
        state = CellState.not_graded
    elif run.status is Status.missing:
        state = CellState.missing
    else:
        state = CellState.graded
    return MarksCell(student, experiment, state, run, tuple(overrides), similar)


def class_marks(
    experiments: Mapping[str, ExperimentInfo],
    students: Sequence[StudentInfo],
    runs: Iterable[RunRecord],
    overrides: Mapping[tuple[str, str], Sequence[Override]],
    similar: Mapping[tuple[str, str], str] | None = None,
) -> ClassMarks:
    """Every student × course experiment from records already read (several runs per cell: the latest counts).

    A roster with a roll number twice, or a student assigned an experiment the course does not have, is a
    ValueError naming it.
    """
    latest = latest_runs(runs)
    notes = similar or {}
    cells: dict[tuple[str, str], MarksCell] = {}
    seen: set[str] = set()
    for student in students:
        if student.roll_no in seen:
            raise ValueError(f"roll number {student.roll_no!r} appears twice in the roster")
        seen.add(student.roll_no)
        unknown = [e for e in student.experiments if e not in experiments]
        if unknown:
            known = ", ".join(experiments)
            raise ValueError(f"student {student.roll_no} is assigned unknown experiment {unknown[0]!r}; known: {known}")
        for exp_id, info in experiments.items():
            key = (student.roll_no, exp_id)
            cells[key] = make_cell(student, info, latest.get(key), overrides.get(key, ()), notes.get(key, ""))
    return ClassMarks(dict(experiments), list(students), cells)


def course_inputs(cfg: CourseConfig) -> tuple[dict[str, ExperimentInfo], list[StudentInfo]]:
    """The enabled experiments in the manual's order as the sheets name them, and each student with the
    experiments they are graded on."""
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


def load_class_marks(cfg: CourseConfig, roll_no: str | None = None) -> ClassMarks:
    """A course's marks model read from its gradebook (which must exist), with the similarity notes; with
    ``roll_no``, only that student's cells (none when the roll is not on the roster)."""
    experiments, students = course_inputs(cfg)
    if roll_no is not None:
        students = [s for s in students if s.roll_no == roll_no]
    with Gradebook(cfg.gradebook) as book:
        runs = book.latest_runs(cfg.name, roll_no)
        overrides = book.all_overrides(cfg.name, roll_no)
    return class_marks(experiments, students, runs, overrides, integrity.flags(cfg))
