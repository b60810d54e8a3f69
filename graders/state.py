"""The one typed state a submission carries through the pipeline's steps.

:class:`GradeContext` is what every task of a grading session shares;
:class:`Task` is one student × experiment; :class:`GradeState` is what the
steps of :mod:`graders.pipeline` read and fill in, one field group per step.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from graders.backends.base import JobResult, Limits, Sandbox
from graders.config import CourseConfig
from graders.data.store import ServedData
from graders.integrity import SimilarityReport
from graders.models import (
    Adaptation,
    Artifacts,
    CellError,
    CheckResult,
    EvalResult,
    LatePolicy,
    ProbeResult,
    RunRecord,
    RunResult,
    Status,
    Targets,
    WriteupText,
)
from graders.rubric import Rubric
from graders.submissions import Student, Submission


@dataclass(frozen=True)
class GradeContext:
    """What every task of one grading session shares."""

    course: str
    profile: str
    seed: int
    limits: Limits
    late_policy: LatePolicy
    backend: Sandbox
    real_data: Path | None = None
    targets_dir: Path | None = None  # the course's own calibrated targets (``calibrate --course``), when it has any
    gpus: bool = False
    gradebook: Path | None = None  # where the record step writes each run the moment it exists
    count_suggested_viva: bool = False  # count the notebook-suggested viva marks instead of leaving viva pending


@dataclass(frozen=True)
class Task:
    """One student x experiment to grade."""

    student: Student
    rubric: Rubric
    submission: Submission | None
    due: datetime | None
    note: str = ""
    inputs: dict[str, str] = field(default_factory=dict, compare=False)  # graders.batch.inputs_of: what decided it
    writeups: tuple[WriteupText, ...] = ()  # answers handed in beside the notebook (graders.marking.writeups)
    uncapped: bool = False  # repeated without the profile's fit budget (its metric was inconclusive under it)

    def limits(self, course: Limits) -> Limits:
        """The course's limits for this task's runs: the experiment's declared memory need raises the memory limit."""
        need = self.rubric.resources.memory_mb
        return course if need is None or need <= course.memory_mb else dataclasses.replace(course, memory_mb=need)


@dataclass
class Workspace:
    """A fresh per-submission folder tree on the host (step: prepare)."""

    root: Path
    notebook_name: str
    data: ServedData

    def dir(self, name: str) -> Path:
        """A sub-folder of the workspace, created on first use."""
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path


@dataclass
class Execution:
    """What the execute step observed."""

    job: JobResult
    run: RunResult | None
    probe: ProbeResult | None
    adaptations: list[Adaptation] = field(default_factory=list)
    executed: nbformat.NotebookNode | None = None


@dataclass
class GradeState:
    """One submission on its way through the steps; each step fills in its own part."""

    ctx: GradeContext
    task: Task
    # intake: a reason to skip the run (nothing handed in, an unreadable file)
    status: Status | None = None
    reason: str = ""
    cell_error: CellError | None = None
    # prepare
    targets: Targets | None = None
    workspace: Workspace | None = None
    # execute / evaluate
    execution: Execution | None = None
    evaluation: EvalResult | None = None
    # check / score / record
    stored: Artifacts | None = None  # a re-score: the artifacts of the run it re-scores
    artifacts: Artifacts | None = None
    checks: list[CheckResult] = field(default_factory=list)
    run: RunRecord | None = None
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def runnable(self) -> bool:
        """Whether the sandboxed steps still have work: no earlier step has settled the outcome."""
        return self.status is None

    def settle(self, status: Status, reason: str, cell_error: CellError | None = None) -> None:
        """Fix how the run ended; the sandboxed steps after this one have nothing left to do."""
        self.status, self.reason, self.cell_error = status, reason, cell_error


@dataclass
class ClassState:
    """What the class-wide steps after the runs read and fill in (:data:`graders.pipeline.CLASS_STEPS`)."""

    cfg: CourseConfig
    tasks: Sequence[Task]
    experiments: Sequence[str]
    whole_class: bool  # similarity compares a class: not run after grading chosen students
    similarity: dict[str, SimilarityReport] = field(default_factory=dict)
    reports: list[Path] = field(default_factory=list)
    csv: Path | None = None
    durations: dict[str, float] = field(default_factory=dict)


def new_run_id() -> str:
    """A unique, sortable run id."""
    return f"{datetime.now().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def bare_failure(course: str, task: Task, reason: str) -> RunRecord:
    """The one record of a harness failure when not even the checks could run: ``sandbox_error``, never a 0."""
    return RunRecord(
        run_id=new_run_id(),
        course=course,
        roll_no=task.student.roll_no,
        name=task.student.name,
        experiment=task.rubric.id,
        status=Status.sandbox_error,
        reason=reason,
        graded_at=datetime.now(),
    )
