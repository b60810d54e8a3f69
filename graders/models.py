"""The data that crosses step boundaries: statuses, check results, marks.

Everything here is a frozen pydantic model so that it can be written to the
gradebook as JSON and read back unchanged.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class Status(str, enum.Enum):
    """How a run ended. Every value is a graded outcome, never a crash."""

    completed = "completed"  # ran end to end and was evaluated
    cell_error = "cell_error"  # a cell raised
    timeout = "timeout"  # a cell or the whole run exceeded its time limit
    memory_exceeded = "memory_exceeded"  # killed for exceeding the memory limit
    kernel_died = "kernel_died"  # the kernel process died
    output_exceeded = "output_exceeded"  # output flood beyond the cap
    disk_exceeded = "disk_exceeded"  # wrote more than the disk limit
    no_model = "no_model"  # ran, but no trained Keras model was found
    evaluation_failed = "evaluation_failed"  # trusted evaluation could not score the model
    invalid_submission = "invalid_submission"  # not a readable notebook / module
    missing = "missing"  # nothing handed in
    sandbox_error = "sandbox_error"  # the harness itself failed: never a silent 0
    needs_network = "needs_network"  # downloads something the course does not provide (the sandbox is offline)
    missing_data_file = "missing_data_file"  # reads a data file that is neither handed in nor a course file
    missing_package = "missing_package"  # imports a package the grading runtime does not have
    needs_input = "needs_input"  # asks for keyboard input in a non-interactive run
    needs_camera = "needs_camera"  # opens a webcam

    @property
    def ran(self) -> bool:
        """True when the notebook ran to its end."""
        return self in (Status.completed, Status.no_model, Status.evaluation_failed)


class CellError(Frozen):
    """Where and how a cell failed (mirrors nbclient's CellExecutionError)."""

    cell_index: int
    ename: str
    evalue: str
    source_excerpt: str = ""


class Adaptation(Frozen):
    """Something the harness changed about a run, shown to student and examiner."""

    kind: str  # e.g. dataset_served, epoch_cap, file_alias, keras_runtime
    detail: str


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


class ComponentMarks(Frozen):
    """Marks for the four columns, each out of COMPONENT_MAX."""

    answers: float = 0.0
    coding_efficiency: float = 0.0
    viva: float = 0.0
    timely_completion: float = 0.0

    @property
    def total(self) -> float:
        """Sum of the four columns, out of TOTAL_MAX."""
        return round(self.answers + self.coding_efficiency + self.viva + self.timely_completion, 2)

    def get(self, component: Component) -> float:
        """The marks of one column."""
        return float(getattr(self, component.value))


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
    runtime: dict[str, str] = Field(default_factory=dict)
    hardware: dict[str, str] = Field(default_factory=dict)
    durations: dict[str, float] = Field(default_factory=dict)
    isolation: dict[str, str] = Field(default_factory=dict)


class Override(Frozen):
    """An examiner's change to one column, kept as history."""

    roll_no: str
    experiment: str
    component: Component
    marks: float
    who: str
    why: str
    at: datetime


class RunRecord(Frozen):
    """One immutable grading run of one student's submission for one experiment."""

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
    cell_error: CellError | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    checks: list[CheckResult] = Field(default_factory=list)
    marks: ComponentMarks = Field(default_factory=ComponentMarks)
    viva: list[VivaQuestion] = Field(default_factory=list)
    adaptations: list[Adaptation] = Field(default_factory=list)
    history: dict[str, list[float]] = Field(default_factory=dict)
    architecture: list[dict[str, Any]] = Field(default_factory=list)
    provenance: Provenance | None = None
    graded_at: datetime
