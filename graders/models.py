"""The models layer: what crosses step boundaries and what the gradebook keeps.

The sandbox's side of it (job specs, run / probe / evaluation results, the
status names) is :mod:`labgrade_runtime.contract`, re-exported here; this
module adds what only the host knows: marks, checks, the late policy, the
calibrated targets, the checks' view of a run (:class:`Artifacts`) and the
immutable :class:`RunRecord`. Everything is a frozen pydantic model, so it can
be written to the gradebook as JSON and read back unchanged.
"""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labgrade_runtime.contract import (
    CLEAR_STATUSES,
    SCHEMA_VERSION,
    Adaptation,
    CellError,
    EvalResult,
    FitRecord,
    Layer,
    ProbeResult,
    RunResult,
    Status,
)

__all__ = [
    "CLEAR_STATUSES",
    "COMPONENT_MAX",
    "DEFAULT_SEED",
    "SCHEMA_VERSION",
    "TOTAL_MAX",
    "VIVA_QUESTIONS",
    "Adaptation",
    "Artifacts",
    "CellError",
    "CheckResult",
    "Component",
    "ComponentMarks",
    "EvalResult",
    "FitRecord",
    "Frozen",
    "IntegrityFlag",
    "LatePolicy",
    "Layer",
    "Override",
    "ProbeResult",
    "Provenance",
    "RunRecord",
    "RunResult",
    "Status",
    "Section",
    "Targets",
    "VivaQuestion",
    "WriteupText",
]


class Frozen(BaseModel):
    """Base for immutable records that cross a boundary."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Component(str, enum.Enum):
    """The four columns of the lab manual's marks sheet."""

    answers = "answers"
    coding_efficiency = "coding_efficiency"
    viva = "viva"
    timely_completion = "timely_completion"

    @property
    def heading(self) -> str:
        """The column heading as the manual prints it."""
        return {
            "answers": "Answers",
            "coding_efficiency": "Coding Efficiency",
            "viva": "Viva",
            "timely_completion": "Timely Completion",
        }[self.value]


COMPONENT_MAX = 5.0
TOTAL_MAX = COMPONENT_MAX * len(Component)
VIVA_QUESTIONS = 5  # questions on the student's own model per viva sheet
DEFAULT_SEED = 1234  # the course seed when a course file gives none (stand-ins, splits, kernels)


class CheckResult(Frozen):
    """One rubric check over a run's artifacts."""

    id: str
    title: str
    component: Component
    points: float  # points available
    awarded: float  # points given
    passed: bool
    evidence: str = ""
    hint: str = ""
    hidden: bool = False  # not shown to students in self-check
    # The run cannot decide this check (a capped fit still improving at the cap): its points are pending, not 0.
    inconclusive: bool = False


class ComponentMarks(Frozen):
    """Marks for the four columns, each out of COMPONENT_MAX; ``None`` is *pending*: nobody has given it yet.

    A pending column is never shown as 0 and never summed (graders.reports.sheet formats it).
    """

    answers: float | None = None
    coding_efficiency: float | None = None
    viva: float | None = None
    timely_completion: float | None = None

    def get(self, component: Component) -> float | None:
        """The marks of one column (None while pending)."""
        value = getattr(self, component.value)
        return None if value is None else float(value)

    def as_dict(self) -> dict[str, float | None]:
        """Column name -> marks, in sheet order."""
        return {c.value: self.get(c) for c in Component}

    @property
    def pending(self) -> list[Component]:
        """The columns still waiting for someone to mark them."""
        return [c for c in Component if self.get(c) is None]

    @property
    def given(self) -> float:
        """The sum of the columns that have been given."""
        return round(sum(v for v in self.as_dict().values() if v is not None), 2)

    @property
    def total(self) -> float | None:
        """Sum of the four columns out of TOTAL_MAX, or None while any is pending."""
        return None if self.pending else self.given


class VivaQuestion(Frozen):
    """A viva question generated from the student's own model, with its key."""

    question: str
    answer: str
    auto_answered: bool = False  # the notebook's own text states the answer


class Provenance(Frozen):
    """Where a result came from, so it can be reproduced and audited."""

    harness_version: str
    backend: str
    image: str = ""
    profile: str
    seed: int
    dataset_source: dict[str, str] = Field(default_factory=dict)
    dataset_kind: dict[str, str] = Field(default_factory=dict)  # dataset -> "real" or "stand-in"
    runtime: dict[str, str] = Field(default_factory=dict)
    hardware: dict[str, str] = Field(default_factory=dict)
    durations: dict[str, float] = Field(default_factory=dict)
    isolation: dict[str, str] = Field(default_factory=dict)


class Override(Frozen):
    """An examiner's change to one column, kept as history."""

    roll_no: str
    experiment: str
    component: Component
    marks: float | None  # None withdraws the examiner's mark: the run's own (or pending) again
    who: str
    why: str
    at: datetime


class LatePolicy(Frozen):
    """How Timely Completion falls with lateness."""

    grace_hours: float = Field(0.0, ge=0, description="Hours after the due date still counted as on time.")
    marks_lost_per_day: float = Field(1.0, ge=0, description="Marks (of 5) lost per started day late.")
    min_marks: float = Field(
        0.0, ge=0, le=COMPONENT_MAX, description="Floor for Timely Completion of a late submission."
    )


class Targets(BaseModel):
    """A calibrated reference solution's numbers (``reference/<id>/targets-<profile>.json``).

    ``variant`` names the reference a run is compared with when it is not the main one.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    experiment: str = ""
    profile: str = ""
    seed: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    total_params: int = 0
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    dataset_source: dict[str, str] = Field(default_factory=dict)
    dataset_kind: dict[str, str] = Field(default_factory=dict)  # dataset -> "real" or "stand-in"
    course: str = ""  # the course whose own data they were calibrated on ("": the harness's own targets)
    runtime: dict[str, str] = Field(default_factory=dict)
    harness_version: str = ""
    calibrated_at: str = ""
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    variant: str = ""


class Section(BaseModel):
    """One located piece of a write-up: a docx paragraph or table row, a PDF or text line."""

    model_config = ConfigDict(frozen=True)

    text: str
    location: str  # what evidence cites: "paragraph 14", "table 1, row 3", "page 2", "line 30"
    heading: bool = False  # a styled heading (docx) or '#' line (markdown): an answer ends before the next one
    under: str = ""  # the heading this section sits under, for the examiner to find it


class WriteupText(BaseModel):
    """A write-up as read: its sections in order, or a note saying why it could not be read.

    A pydantic model so it can travel in the JSON artifacts the checks read.
    """

    model_config = ConfigDict(frozen=True)

    path: Path
    name: str  # as evidence names it: "answers.docx", or "handin.zip!answers.docx" for an archive member
    kind: str  # "docx" | "pdf" | "markdown" | "text" | "doc"
    sections: tuple[Section, ...] = ()
    note: str = ""  # unreadable, encrypted, scanned, or read only in part
    scanned: bool = False  # a PDF without a text layer: for the examiner, not a 0

    @property
    def readable(self) -> bool:
        """Whether any text was read."""
        return any(s.text.strip() for s in self.sections)

    @property
    def text(self) -> str:
        """All the text read, in order."""
        return "\n".join(s.text for s in self.sections)


class Artifacts(BaseModel):
    """Everything the checks read about one run: JSON only, no student code on the host.

    The sandbox's results are nested as they were read (``run``, ``probe``,
    ``evaluation``), never copied field by field; the properties are the
    checks' shorthand for what they read most.
    """

    model_config = ConfigDict(frozen=True)

    experiment: str
    profile: str
    status: Status
    reason: str = ""
    cell_error: CellError | None = None
    run: RunResult | None = None
    probe: ProbeResult | None = None
    evaluation: EvalResult | None = None
    markdown: list[str] = Field(default_factory=list)
    markdown_cells: list[int] = Field(default_factory=list)  # each markdown cell's number among all cells
    writeups: list[WriteupText] = Field(default_factory=list)  # answers handed in beside the notebook
    printed: dict[str, float] = Field(default_factory=dict)
    submitted_at: datetime | None = None
    due: datetime | None = None
    late_policy: LatePolicy = Field(default_factory=LatePolicy)
    targets: Targets = Field(default_factory=Targets)
    viva: list[VivaQuestion] = Field(default_factory=list)
    adaptations: list[Adaptation] = Field(default_factory=list)

    @property
    def scored(self) -> EvalResult | None:
        """The trusted evaluation, when it succeeded."""
        return self.evaluation if self.evaluation is not None and self.evaluation.ok else None

    @property
    def metrics(self) -> dict[str, float]:
        """The trusted metrics on the hidden holdout (empty when not evaluated)."""
        return self.scored.metrics if self.scored else {}

    @property
    def architecture(self) -> list[Layer]:
        """The loaded model's layers, as the evaluator read them."""
        return self.scored.architecture if self.scored else []

    @property
    def total_params(self) -> int:
        """The loaded model's parameter count."""
        return self.scored.total_params if self.scored else 0

    @property
    def compile(self) -> dict[str, str]:
        """The loss and optimizer the model was compiled with."""
        return self.scored.compile if self.scored else {}

    @property
    def history(self) -> dict[str, list[float]]:
        """Every fit() call's history, concatenated."""
        return self.probe.history if self.probe else {}

    @property
    def fits(self) -> list[FitRecord]:
        """What each fit() call trained on and spent."""
        return self.probe.fits if self.probe else []

    @property
    def train_seconds(self) -> float:
        """Wall-clock seconds in fit()."""
        return self.probe.train_seconds if self.probe else 0.0

    @property
    def train_cpu_seconds(self) -> float:
        """CPU seconds in fit() (what the efficiency check compares)."""
        return self.probe.train_cpu_seconds if self.probe else 0.0

    @property
    def sklearn_estimators(self) -> list[str]:
        """scikit-learn estimators the notebook left (a solution without Keras)."""
        return self.probe.sklearn_estimators if self.probe else []


class IntegrityFlag(Frozen):
    """Evidence for an examiner that a run's numbers or data handling may not be honest; never a penalty.

    A ``flag`` (forged numbers, training on the test rows) is shown in the
    register, on the marks sheet and in the CSV status; a ``note`` (a scaler
    fitted on all the data, validation on the test set) only on the sheet and
    the feedback. Marks are not changed: an examiner decides, with an
    override and a reason.
    """

    kind: str  # forged_numbers | trained_on_test | scaler_on_all_data | validation_on_test
    label: str  # what the register and the CSV say, e.g. "forged numbers"
    severity: Literal["flag", "note"] = "flag"
    evidence: str
    cell: int | None = None  # the notebook cell (1-based among all cells) the evidence points at
    metric: str = ""
    printed: float | None = None
    own_split: float | None = None  # measured by the trusted evaluator on the notebook's own test rows
    hidden: float | None = None  # measured on the hidden holdout


class RunRecord(Frozen):
    """One immutable grading run of one student's submission for one experiment.

    ``artifacts`` is what the checks read, kept so that marks can be re-scored
    without running anything; ``rescored_from`` names the run whose artifacts
    a re-score used.
    """

    run_id: str
    course: str
    roll_no: str
    name: str
    experiment: str
    status: Status
    reason: str = ""
    submission_path: str = ""
    submission_sha256: str = ""
    submitted_at: datetime | None = None
    detected_experiment: str = ""
    checks: list[CheckResult] = Field(default_factory=list)
    marks: ComponentMarks = Field(default_factory=ComponentMarks)
    suggested: dict[str, float] = Field(default_factory=dict)  # what the checks would give a pending column
    artifacts: Artifacts | None = None
    provenance: Provenance | None = None
    inputs: dict[str, str] = Field(default_factory=dict)  # graders.batch: the execution and scoring keys
    rescored_from: str = ""
    graded_at: datetime
    flags: list[IntegrityFlag] = Field(default_factory=list)  # integrity evidence, for the examiner to judge

    @property
    def cell_error(self) -> CellError | None:
        """Where the run failed, if a cell did."""
        return self.artifacts.cell_error if self.artifacts else None

    @property
    def metrics(self) -> dict[str, float]:
        """The trusted metrics."""
        return self.artifacts.metrics if self.artifacts else {}

    @property
    def history(self) -> dict[str, list[float]]:
        """The training history."""
        return self.artifacts.history if self.artifacts else {}

    @property
    def architecture(self) -> list[Layer]:
        """The model's layers."""
        return self.artifacts.architecture if self.artifacts else []

    @property
    def total_params(self) -> int:
        """The model's parameter count."""
        return self.artifacts.total_params if self.artifacts else 0

    @property
    def viva(self) -> list[VivaQuestion]:
        """Viva questions on the student's own model."""
        return self.artifacts.viva if self.artifacts else []

    @property
    def adaptations(self) -> list[Adaptation]:
        """What the harness changed about the run."""
        return self.artifacts.adaptations if self.artifacts else []
