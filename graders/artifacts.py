"""The JSON that crosses from the sandbox to the host, and the bundle the checks read.

Files written inside the sandbox (``run.json``, ``probe.json``) are untrusted:
they are validated against these versioned schemas and a file that does not
validate counts as missing. ``evaluation.json`` comes from the trusted
evaluator. ``Artifacts`` is everything the pytest checks see: JSON only, no
student code on the host.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graders.answers import printed_metrics
from graders.models import Adaptation, CellError, Status, VivaQuestion

if TYPE_CHECKING:
    from graders.pipeline import Execution, GradeContext, Task

MAX_ARTIFACT_BYTES = 5_000_000
M = TypeVar("M", bound=BaseModel)


class _Untrusted(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RunResult(_Untrusted):
    """run.json, written by the runner."""

    schema_: int = Field(alias="schema")
    status: str
    cell_error: CellError | None = None
    cells_run: int = 0
    cell_seconds: dict[str, float] = Field(default_factory=dict)
    seconds: float = 0.0
    reason: str = ""
    probe_error: str = ""
    output_truncated: bool = False


class FitRecord(_Untrusted):
    """One fit() call as the shims saw it."""

    runtime: str = "keras3"
    x: dict[str, Any] | None = None
    y: dict[str, Any] | None = None
    epochs: Any = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    has_validation_data: bool = False


class ProbeResult(_Untrusted):
    """probe.json, written by the probe in the student's kernel."""

    schema_: int = Field(alias="schema")
    model_found: bool = False
    model_how: str = ""
    model_saved: bool = False
    save_error: str = ""
    keras_runtime: str = "keras3"
    fits: list[FitRecord] = Field(default_factory=list)
    history: dict[str, list[float]] = Field(default_factory=dict)
    sklearn_estimators: list[str] = Field(default_factory=list)

    @property
    def train_seconds(self) -> float:
        """Wall-clock seconds spent in every fit() call."""
        return sum(f.seconds for f in self.fits)

    @property
    def train_cpu_seconds(self) -> float:
        """CPU seconds spent in every fit() call (what the efficiency check compares)."""
        return sum(f.cpu_seconds for f in self.fits)


class EvalResult(_Untrusted):
    """evaluation.json, written by the trusted evaluator."""

    ok: bool
    reason: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    architecture: list[dict[str, Any]] = Field(default_factory=list)
    total_params: int = 0
    compile: dict[str, str] = Field(default_factory=dict)
    input_transform: str = ""
    target_transform: str = ""
    holdout_size: int = 0


def read_json_model(path: Path, model: type[M]) -> M | None:
    """Validate a JSON artifact; None when it is missing, oversized or malformed."""
    try:
        if path.stat().st_size > MAX_ARTIFACT_BYTES:
            return None
        return model.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


class Artifacts(BaseModel):
    """Everything the checks read about one run (JSON only)."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    profile: str
    status: Status
    reason: str = ""
    cell_error: CellError | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    architecture: list[dict[str, Any]] = Field(default_factory=list)
    total_params: int = 0
    compile: dict[str, str] = Field(default_factory=dict)
    input_transform: str = ""
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    history: dict[str, list[float]] = Field(default_factory=dict)
    fits: list[FitRecord] = Field(default_factory=list)
    sklearn_estimators: list[str] = Field(default_factory=list)
    markdown: list[str] = Field(default_factory=list)
    printed: dict[str, float] = Field(default_factory=dict)
    submitted_at: datetime | None = None
    due: datetime | None = None
    late_policy: dict[str, float] = Field(default_factory=dict)
    targets: dict[str, Any] = Field(default_factory=dict)
    viva: list[VivaQuestion] = Field(default_factory=list)
    adaptations: list[Adaptation] = Field(default_factory=list)

    @classmethod
    def build(cls, *, task: Task, ctx: GradeContext, execution: Execution, evaluation: EvalResult | None,
              status: Status, reason: str, cell_error: CellError | None, targets: dict[str, Any]) -> Artifacts:
        """Assemble the checks' view of a run from the validated pieces."""
        from graders.viva import viva_questions

        probe = execution.probe
        ev = evaluation if evaluation is not None and evaluation.ok else None
        sub = task.submission
        markdown = sub.markdown if sub is not None else []
        base = cls(
            experiment=task.rubric.id,
            profile=ctx.profile,
            status=status,
            reason=reason,
            cell_error=cell_error,
            metrics=ev.metrics if ev else {},
            architecture=ev.architecture if ev else [],
            total_params=ev.total_params if ev else 0,
            compile=ev.compile if ev else {},
            input_transform=ev.input_transform if ev else "",
            train_seconds=probe.train_seconds if probe else 0.0,
            train_cpu_seconds=probe.train_cpu_seconds if probe else 0.0,
            history=probe.history if probe else {},
            fits=probe.fits if probe else [],
            sklearn_estimators=probe.sklearn_estimators if probe else [],
            markdown=markdown,
            printed=printed_metrics(execution.executed),
            submitted_at=sub.submitted_at if sub else None,
            due=task.due,
            late_policy=ctx.late_policy.model_dump(),
            targets=targets,
            adaptations=execution.adaptations,
        )
        return base.model_copy(update={"viva": viva_questions(task.rubric, base)})
