"""The course configuration: one typed model, one explicit TOML file.

Precedence, lowest first: the defaults written here < ``course.toml`` <
environment variables (``LABGRADE_PROFILE``, ``LABGRADE_BACKEND``,
``LABGRADE_WORKERS``) < command-line flags. Relative paths in the file are
relative to the file's own folder.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graders.backends.base import Limits
from graders.integrity import SimilaritySettings
from graders.models import DEFAULT_SEED, LatePolicy
from graders.rubric import available_experiments, describe_errors, load_rubric


class ConfigError(ValueError):
    """A course file that cannot be used; the message names the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What Colab's standard runtime gave the students of this lab (12.7 GB of RAM): by default what a run may grow to
# before it is killed, where the host has it (``[limits] memory_ceiling_mb``). The pool still reserves only what an
# experiment declares (``memory_mb``).
COLAB_MEMORY_MB = Limits.memory_ceiling_mb
HOST_HEADROOM_MB = 2 * 1024  # left to the host and the harness when a run may use the host's memory
MIB = 1024 * 1024


def host_memory_mb() -> int:
    """This host's physical memory in MB (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB
    except (ValueError, OSError, AttributeError):
        return 0


def kill_memory_mb(reserved_mb: int, host_mb: int | None = None, colab_mb: int = COLAB_MEMORY_MB) -> int:
    """The memory a run may reach before it is killed: what the students' Colab gave (``colab_mb``), where the
    host can give it (its memory less :data:`HOST_HEADROOM_MB`), never less than what the run reserves.

    The reservation (``reserved_mb``, the course's ``memory_mb`` or the experiment's declared need) is what an
    executor counts when it decides how many runs fit beside each other; only the kill limit rises, so a batch
    of runs that need far less keeps its parallelism."""
    host = host_memory_mb() if host_mb is None else host_mb
    if host <= 0:
        return reserved_mb
    return max(reserved_mb, min(colab_mb, host - HOST_HEADROOM_MB))


class LimitsConfig(_Model):
    """Resource limits per submission (see graders.backends.base.Limits)."""

    cell_seconds: float = Field(Limits.cell_seconds, gt=0, description="One cell's time limit.")
    wall_seconds: float = Field(Limits.wall_seconds, gt=0, description="The whole run's time limit.")
    memory_mb: int = Field(
        Limits.memory_mb,
        ge=256,
        description="Resident memory reserved for a run (a run may grow to Colab's 12 GB where the host has it).",
    )
    memory_ceiling_mb: int = Field(
        Limits.memory_ceiling_mb,
        ge=0,
        description="Memory a run may grow to before it is killed, where the host has it (default: the 12 GB Colab "
        "gave students); never below memory_mb. Set it to memory_mb to kill a run at its reservation.",
    )
    cpus: float = Field(Limits.cpus, gt=0, description="CPU cores for the run.")
    pids: int = Field(Limits.pids, ge=16, description="Processes and threads of the run.")
    output_bytes: int = Field(Limits.output_bytes, ge=10_000, description="Notebook output kept.")
    disk_mb: int = Field(Limits.disk_mb, ge=16, description="Largest file / scratch space.")

    def to_limits(self) -> Limits:
        """The sandbox's limits dataclass."""
        return Limits(**self.model_dump())


class MarksPolicy(_Model):
    """What counts before an examiner has marked."""

    count_suggested_viva: bool = Field(
        False, description="Count the viva marks suggested by what the notebook's own text answers (else pending)."
    )


class LmsNames(_Model):
    """Each experiment's name in an LMS, so that its grade import updates the course's own grade item.

    Canvas matches a column to an assignment by ``Title (assignment id)`` or its exact title (else it creates a
    new assignment); Moodle's import form offers the grade item of the same name. Experiments given one name share
    a column (the mini projects: each student has one).
    """

    canvas: dict[str, str] = Field(default_factory=dict, description='Experiment id -> "Title (assignment id)".')
    moodle: dict[str, str] = Field(default_factory=dict, description="Experiment id -> the grade item's name.")


class ExperimentConfig(_Model):
    """One experiment as this course runs it."""

    enabled: bool = Field(True, description="Grade this experiment.")
    start: date | None = Field(None, description="Start date printed on the marks sheet.")
    due: datetime = Field(description="Due date and time; a bare date means the end of that day.")

    @field_validator("due", mode="before")
    @classmethod
    def _end_of_day(cls, value: object) -> object:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(23, 59, 59))
        return value


def default_allotment() -> dict[str, tuple[int, int]]:
    """Each mini project's roll-number range as its rubric gives it (the manual: 1-30, 31-60, the rest)."""
    rubrics = (load_rubric(exp) for exp in available_experiments())
    return {r.id: r.mini_project for r in rubrics if r.mini_project is not None}


class MiniProjects(_Model):
    """Which mini project a roll number is given (the manual: 1-30, 31-60, the rest)."""

    allot: dict[str, tuple[int, int]] = Field(
        default_factory=default_allotment,
        description="Experiment id -> inclusive roll-number range.",
    )

    def for_roll(self, roll_no: int) -> str | None:
        """The mini project of a roll number, if any range covers it."""
        for exp, (low, high) in self.allot.items():
            if low <= roll_no <= high:
                return exp
        return None


class CourseConfig(_Model):
    """Everything about one course's grading run."""

    name: str = Field(description="Course name printed on every sheet.")
    roster: Path = Field(description="CSV with columns roll_no,name.")
    submissions: Path = Field(description="Folder with one sub-folder per roll number.")
    manifest: Path | None = Field(None, description="CSV roll_no,file,submitted_at (the LMS export); else file times.")
    gradebook: Path = Field(Path("gradebook.sqlite"), description="SQLite gradebook file.")
    reports: Path = Field(Path("reports"), description="Folder for marks sheets, feedback and the register.")
    data: Path | None = Field(
        None, description="Instructor-provided real datasets (Keras cache layout) to use instead of stand-ins."
    )
    profile: Literal["quick", "full"] = Field(
        "quick", description="quick: subsampled data, capped epochs; full: the manual's runs."
    )
    backend: Literal["auto", "local", "docker"] = Field(
        "auto", description="Sandbox backend; auto = docker when an engine and image answer, else local."
    )
    workers: int = Field(1, ge=1, le=64, description="Submissions graded at once.")
    seed: int = Field(DEFAULT_SEED, description="Seed for data stand-ins, splits and the kernel.")
    gpus: int | Literal["all"] | bool = Field(
        False, description='GPUs to grade on: N, "all", or false; at most one job per GPU, each pinned to its own.'
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="Where jobs run: a pool on this host, or a Ray cluster."
    )
    address: str | None = Field(None, description='The Ray cluster\'s HOST:PORT (executor = "ray"); none: a local Ray.')
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    late_policy: LatePolicy = Field(default_factory=LatePolicy)
    marks: MarksPolicy = Field(default_factory=MarksPolicy)
    similarity: SimilaritySettings = Field(default_factory=SimilaritySettings)
    mini_projects: MiniProjects = Field(default_factory=MiniProjects)
    experiments: dict[str, ExperimentConfig] = Field(description="Experiment id -> dates; ids are folders of rubrics/.")
    lms: LmsNames = Field(default_factory=LmsNames, description="Each experiment's assignment name in Canvas / Moodle.")
    source: Path = Field(Path("course.toml"), description="The file this was read from.")

    @model_validator(mode="after")
    def _folders_are_folders(self) -> CourseConfig:
        if self.reports.exists() and not self.reports.is_dir():
            raise ValueError(f"reports: {self.reports} is a file; reports go into a folder")
        if self.gradebook.is_dir():
            raise ValueError(f"gradebook: {self.gradebook} is a folder; give the gradebook's file name")
        return self

    @model_validator(mode="after")
    def _lms_names_name_experiments(self) -> CourseConfig:
        for lms, names in (("canvas", self.lms.canvas), ("moodle", self.lms.moodle)):
            unknown = sorted(set(names) - set(self.experiments))
            if unknown:
                raise ValueError(f"lms.{lms}: {', '.join(unknown)} is not an experiment of this course")
            blank = sorted(e for e, name in names.items() if not name.strip())
            if blank:
                raise ValueError(f"lms.{lms}: the name of {', '.join(blank)} is empty")
        return self

    @property
    def targets_dir(self) -> Path:
        """Where the course's own calibrated targets live (``calibrate --course``): ``targets/`` beside the course."""
        return self.source.parent / "targets"

    @property
    def enabled(self) -> list[str]:
        """Ids of the experiments to grade, in file order."""
        return [k for k, v in self.experiments.items() if v.enabled]


@dataclass(frozen=True)
class Overrides:
    """The command line's choices over the course file and the environment (None: not given)."""

    backend: str | None = None
    profile: str | None = None
    workers: int | None = None
    executor: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class GradeSettings:
    """What every job of one grading session shares, made once from the course and passed whole (it pickles: an
    executor sends it to its worker processes and Ray nodes with each job)."""

    course: str
    profile: str
    seed: int
    limits: Limits
    late_policy: LatePolicy
    backend: str  # the configured name; each node chooses its own backend object from it
    executor: str
    workers: int
    address: str | None
    gpus: int | str | bool
    gradebook: Path
    real_data: Path | None = None
    targets_dir: Path | None = None
    count_suggested_viva: bool = False

    @classmethod
    def of(cls, cfg: CourseConfig) -> GradeSettings:
        """The session settings of a course as loaded (file, environment and flags already merged)."""
        return cls(
            course=cfg.name,
            profile=cfg.profile,
            seed=cfg.seed,
            limits=cfg.limits.to_limits(),
            late_policy=cfg.late_policy,
            backend=cfg.backend,
            executor=cfg.executor,
            workers=cfg.workers,
            address=cfg.address,
            gpus=cfg.gpus,
            gradebook=cfg.gradebook,
            real_data=cfg.data,
            targets_dir=cfg.targets_dir,
            count_suggested_viva=cfg.marks.count_suggested_viva,
        )


_PATH_KEYS = ("roster", "submissions", "manifest", "gradebook", "reports", "data")
_ENV = {
    "profile": "LABGRADE_PROFILE",
    "backend": "LABGRADE_BACKEND",
    "workers": "LABGRADE_WORKERS",
    "executor": "LABGRADE_EXECUTOR",
    "address": "LABGRADE_ADDRESS",
}


def load_course(path: Path | str, overrides: Overrides | None = None) -> CourseConfig:
    """Read and validate a course file; ``overrides`` are the command line's flags."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give the course file (e.g. {path / 'course.toml'})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such course file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    course = raw.pop("course", {})
    if not isinstance(course, dict):
        raise ConfigError(f"{path}: [course] must be a table")
    merged: dict[str, object] = {**course, **raw}
    for key, var in _ENV.items():
        if os.environ.get(var):
            merged[key] = os.environ[var]
    merged.update({k: v for k, v in dataclasses.asdict(overrides or Overrides()).items() if v is not None})
    base = path.resolve().parent
    for key in _PATH_KEYS:
        if isinstance(merged.get(key), str):
            merged[key] = base / str(merged[key])
    merged["source"] = path.resolve()
    try:
        return CourseConfig.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(describe_errors(err, path, CourseConfig)) from None
