"""Experiments as data: ``rubrics/<id>/rubric.toml`` validated against a typed schema.

An experiment is its rubric (points, thresholds, data, questions, answer
keys, detection signals) plus its pytest checks in the same folder, and its
reference solution with calibrated targets in ``reference/<id>/``. Adding an
experiment means adding those two folders, not editing the harness.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal, get_args, get_origin

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from graders.models import COMPONENT_MAX, Component, Targets
from graders.paths import REFERENCE_DIR, RUBRICS_DIR


class RubricError(ValueError):
    """A rubric or reference file that cannot be used; names the file and key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Model):
    """A metric band: within ``margin`` of the reference earns ``fraction`` of the points."""

    margin: float = Field(ge=0, description="Distance from the reference metric (absolute or relative).")
    fraction: float = Field(gt=0, le=1, description="Share of the metric check's points.")


class MetricRule(_Model):
    """How the primary metric is judged against the calibrated reference."""

    name: str = Field(description="Key in the evaluator's metrics, e.g. accuracy or mse.")
    higher_is_better: bool = True
    margin_kind: Literal["absolute", "relative"] = "absolute"
    bands: list[Band] = Field(min_length=1, description="Tightest band first.")
    label: str = Field("", description="How the metric is named to students.")

    def target(self, reference: float, band: Band) -> float:
        """The threshold a band sets relative to the reference value."""
        if self.margin_kind == "absolute":
            return reference - band.margin if self.higher_is_better else reference + band.margin
        return reference * (1 - band.margin) if self.higher_is_better else reference * (1 + band.margin)

    def meets(self, value: float, threshold: float) -> bool:
        """Whether a measured value meets a threshold in this metric's direction."""
        return value >= threshold if self.higher_is_better else value <= threshold


class Question(_Model):
    """One assignment question and its answer key (concept groups of synonyms)."""

    text: str
    concepts: list[list[str]] = Field(min_length=1, description="Each group: alternative words/regexes for one idea.")
    key: str = Field("", description="A model answer shown to the examiner.")


class DataSpec(_Model):
    """What the sandbox is given and what the evaluator holds back."""

    keras_datasets: list[str] = Field(default_factory=list, description="keras.datasets loaders served offline.")
    files: list[str] = Field(default_factory=list, description="Course data files placed beside the notebook.")
    aliases: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Course file -> other names students read it by (paths are resolved by their last component).",
    )
    holdout: str = Field(description="Dataset providing the hidden holdout.")


class ProfileSpec(_Model):
    """Per-profile settings of an experiment.

    A profile with a budget caps each ``fit()`` by its cost in gradient updates (batches), never by seconds or
    by a count of epochs: a fit runs as written while the updates it asks for fit ``fit_updates``; only one
    over it is cut, with the numbers said. The budget is the reference's own training (``reference_updates``)
    times ``update_margin``, both stated here. A cut fit still learning at the cut (see ``improving_rate``)
    leaves the metric inconclusive rather than failed; a cut fit whose loss had levelled off is decided.
    """

    train_size: int | None = Field(None, ge=1, description="Training samples served (subsample); None = all.")
    test_size: int | None = Field(None, ge=1, description="Test samples served; None = all.")
    holdout_size: int | None = Field(None, ge=1, description="Hidden holdout samples kept by the harness.")
    reference_updates: int = Field(
        0,
        ge=0,
        description="Gradient updates the reference solution's training makes as written (its epochs x its "
        "batches per epoch on the data this profile serves).",
    )
    update_margin: float = Field(
        0.0,
        ge=0,
        description="The budget per fit() as a multiple of reference_updates; 0 = no budget (fits run as written).",
    )
    improving_rate: float = Field(
        0.02,
        gt=0,
        lt=1,
        description="A fit cut by the budget was still learning at the cut, and its metric (short of the top band) "
        "is inconclusive, when its mean training loss over the last fifth of its epochs fell more than this share "
        "below the fifth before; or when it fell steadily: from every fifth to the next, by 0.5% or more from the "
        "first fifth to the last, and over the last fifth at a third or more of its average pace per epoch since "
        "the first (a slow learner, not a curve bending towards a plateau). A loss that levelled off, however high, "
        "is settled: the metric is decided.",
    )

    @property
    def fit_updates(self) -> int:
        """The budget of gradient updates per fit(); 0 = none."""
        return round(self.reference_updates * self.update_margin)


class Resources(_Model):
    """What one run of the experiment needs of the host, as the students' own runtime gave it."""

    memory_mb: int | None = Field(
        None,
        ge=256,
        description="Memory one run may use; raises the course's [limits] memory_mb for this experiment "
        "(e.g. a manual's float64 multi-hot encoding of a whole text dataset and its split copies; Colab: 12.7 GB).",
    )


class Structure(_Model):
    """The required shape of the student's network (read by the experiment's checks)."""

    required_layers: list[str] = Field(
        default_factory=list, description="Layer classes that must appear (any of | separated)."
    )
    output_units: int | None = None
    output_activation: list[str] = Field(default_factory=list, description="Accepted output activations.")
    losses: list[str] = Field(default_factory=list, description="Accepted losses (substring match).")
    describe: str = ""


class Variant(_Model):
    """Another accepted way to do the experiment, with a reference solution of its own (calibrated beside the
    main one)."""

    solution: str = Field(description="The variant's reference notebook, in reference/<id>/.")
    when_metric: str = Field(description="A run whose metrics hold this key is compared with this variant's reference.")
    label: str = Field(description='How evidence names the variant, e.g. "the manual\'s own code".')


class Rubric(_Model):
    """One experiment of the lab as data."""

    id: str
    number: str
    title: str
    short: str = Field("", description="A short name for the register's headings (default: the title).")
    kind: Literal["classification", "regression", "custom"] = Field(
        description="How the built-in evaluator scores; custom = rubrics/<id>/evaluate.py."
    )
    input: str = Field(
        description="image | tabular (built-in evaluator), or a name the experiment's evaluate.py understands."
    )
    mini_project: tuple[int, int] | None = Field(
        None,
        description="A mini project: the roll numbers given it by default "
        "(a course's [mini_projects.allot] overrides).",
    )
    detect: dict[str, float] = Field(description="Regex over the code -> weight, to detect the experiment.")
    data: DataSpec
    profiles: dict[str, ProfileSpec] = Field(default_factory=dict)
    metric: MetricRule
    structure: Structure = Field(default_factory=Structure)
    resources: Resources = Field(default_factory=Resources)
    efficiency: dict[str, float] = Field(default_factory=lambda: {"max_params_ratio": 5.0, "max_seconds_ratio": 4.0})
    points: dict[Component, dict[str, float]]
    questions: list[Question] = Field(min_length=1)
    viva_loss_keys: dict[str, str] = Field(default_factory=dict, description="Loss name -> why it fits the task.")
    variants: dict[str, Variant] = Field(
        default_factory=dict, description="Other accepted ways, each with its own reference."
    )
    folder: Path = Path(".")

    @model_validator(mode="after")
    def _points_add_up(self) -> Rubric:
        for component in Component:
            total = sum(self.points.get(component, {}).values())
            if abs(total - COMPONENT_MAX) > 1e-6:
                raise ValueError(f"points.{component.value} add up to {total:g}, expected {COMPONENT_MAX:g}")
        return self

    def check_points(self) -> dict[str, tuple[Component, float]]:
        """Check id -> (component, points) across all components."""
        return {cid: (comp, pts) for comp, table in self.points.items() for cid, pts in table.items()}

    @property
    def kernel_dir(self) -> Path:
        """The experiment's kernel adapters (``rubrics/<id>/kernel/``), mounted read-only into its runs."""
        return self.folder / "kernel"

    def kernel_adapters(self) -> list[Path]:
        """The adapter modules the kernel installs for this experiment's runs (e.g. a yfinance stand-in)."""
        return sorted(self.kernel_dir.glob("*.py"))

    def detection_score(self, code: str) -> float:
        """How strongly ``code`` looks like this experiment."""
        return sum(w for pattern, w in self.detect.items() if re.search(pattern, code, re.IGNORECASE))


def describe_errors(err: ValidationError, path: Path, model: type[BaseModel]) -> str:
    """Every problem pydantic found in the file at ``path`` (read into ``model``), on one line: the key, what is
    wrong, what the file gave, and for an unknown key the keys known there. The one formatter of the harness's
    TOML files (rubrics, variants, course files)."""
    problems = [_problem(e, model) for e in err.errors()]
    if len(problems) == 1:
        return f"{path}: {problems[0]}"
    return f"{path}: {len(problems)} problems: " + "; ".join(problems)


def _problem(error: ErrorDetails, model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}' (a misspelt table or key? {_known_here(model, loc)})"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc:
        return message
    got = error.get("input")
    shown = "" if error["type"] == "missing" or isinstance(got, dict) else f" (got {_shorten(repr(got))})"
    return f"key '{key}': {message}{shown}"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _known_here(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The keys ``model`` accepts where an unknown key was found (following tables and tables of tables)."""
    current: type[BaseModel] = model
    parts = list(loc[:-1])
    while parts:
        field = current.model_fields.get(str(parts.pop(0)))
        annotation = field.annotation if field else None
        if get_origin(annotation) is dict and parts:
            annotation, _ = get_args(annotation)[1], parts.pop(0)  # a table of tables: skip the entry's own name
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return "see the documentation of this file"
        current = annotation
    names = [n for n in current.model_fields if n != "source"]
    return "known: " + ", ".join(names)


@cache
def load_rubric(experiment: str, rubrics_dir: Path = RUBRICS_DIR) -> Rubric:
    """Read and validate ``rubrics/<experiment>/rubric.toml``."""
    folder = rubrics_dir / experiment
    path = folder / "rubric.toml"
    if not path.is_file():
        known = ", ".join(available_experiments(rubrics_dir)) or "none"
        raise RubricError(f"unknown experiment {experiment!r}: no {path} (known: {known})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from None
    if raw.get("id") != experiment:
        raise RubricError(f"{path}: key 'id' is {raw.get('id')!r}, expected {experiment!r} (the folder name)")
    try:
        return Rubric.model_validate({**raw, "folder": folder})
    except ValidationError as err:
        raise RubricError(describe_errors(err, path, Rubric)) from None


def manual_order(number: str) -> tuple[bool, int, str]:
    """Sort key of an experiment's number as the lab manual orders them: 1, 2A, 2B, 3, 5, then MP1, MP2, MP3."""
    mini = number.upper().startswith("MP")
    digits = "".join(ch for ch in number if ch.isdigit())
    return mini, int(digits or 0), number


def available_experiments(rubrics_dir: Path = RUBRICS_DIR) -> list[str]:
    """Ids of every experiment that has a rubric."""
    return sorted(p.parent.name for p in rubrics_dir.glob("*/rubric.toml"))


def targets_path(experiment: str, profile: str, reference_dir: Path = REFERENCE_DIR) -> Path:
    """Where the calibrated targets of an experiment and profile live."""
    return reference_dir / experiment / f"targets-{profile}.json"


def course_targets_path(course_targets: Path, experiment: str, profile: str) -> Path:
    """Where ``calibrate --course`` writes a course's own targets: beside the course, never into the package."""
    return course_targets / f"{experiment}-{profile}.json"


def targets_file(experiment: str, profile: str, course_targets: Path | None = None) -> Path:
    """The targets a course's runs are compared with: its own calibration when it has one, else the harness's."""
    if course_targets is not None:
        own = course_targets_path(course_targets, experiment, profile)
        if own.is_file():
            return own
    return targets_path(experiment, profile)


# What a target file holds per reference solution; a variant's entry replaces these for its runs.
REFERENCE_KEYS = ("metrics", "total_params", "train_seconds", "train_cpu_seconds", "dataset_source")


def targets_for(rubric: Rubric, targets: Targets, metrics: dict[str, float]) -> Targets:
    """The targets a run is compared with: its variant's reference when its metrics say which variant it is.

    A run of a variant that was never calibrated keeps the main targets, and
    says so under ``variant``, so evidence never passes one reference off as another.
    """
    for name, variant in rubric.variants.items():
        if variant.when_metric not in metrics:
            continue
        entry = targets.variants.get(name)
        if not entry:
            return targets.model_copy(
                update={"variant": f"{variant.label}, compared with the main reference: not calibrated"}
            )
        own = Targets.model_validate({k: entry[k] for k in REFERENCE_KEYS if k in entry})
        return targets.model_copy(
            update={**{k: getattr(own, k) for k in REFERENCE_KEYS if k in entry}, "variant": variant.label}
        )
    return targets


def load_targets(
    experiment: str, profile: str, reference_dir: Path = REFERENCE_DIR, course_targets: Path | None = None
) -> Targets:
    """Calibrated reference metrics (a course's own, when it calibrated them); a clear error pointing at
    ``labgrade calibrate``."""
    path = targets_path(experiment, profile, reference_dir)
    if course_targets is not None and course_targets_path(course_targets, experiment, profile).is_file():
        path = course_targets_path(course_targets, experiment, profile)
    try:
        return Targets.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(
            f"no calibrated targets for {experiment!r} under the {profile!r} profile ({path}); "
            f"run `labgrade calibrate --experiment {experiment} --profile {profile}`"
        ) from None
    except ValidationError as err:
        raise RubricError(describe_errors(err, path, Targets)) from None
