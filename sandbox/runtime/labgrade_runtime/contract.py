"""The one typed contract across the sandbox boundary, imported by both sides.

The host (``graders``) writes a :class:`JobSpec` or :class:`EvalSpec` as
JSON into the job's folder; the runtime reads it back with the same model.
The runtime writes ``run.json`` (:class:`RunResult`), ``probe.json``
(:class:`ProbeResult`) and the trusted ``evaluation.json``
(:class:`EvalResult`); the host reads them with :func:`read_artifact`, which
checks the schema version and treats anything that does not validate as
missing: files written next to student code are untrusted.

This module depends on pydantic and the standard library only, so that it
can be imported inside the student's kernel and never pulls ``graders`` in.
"""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCHEMA_VERSION = 2
MAX_ARTIFACT_BYTES = 5_000_000
# The files of a job's folders, named once for the side that writes them and the side that reads them.
RUN_FILE = "run.json"  # RunResult, by the runner (artifacts)
PROBE_FILE = "probe.json"  # ProbeResult, by the probe in the student's kernel (artifacts)
MODEL_FILE = "model.keras"  # the trained model, saved by the probe (artifacts)
ADAPTATIONS_FILE = "adaptations.jsonl"  # one Adaptation a line, by the runner and the kernel (artifacts)
EXECUTED_FILE = "executed.ipynb"  # the notebook with its outputs, by the runner (artifacts)
OWN_SPLIT_FILE = "own_split.npz"  # the notebook's own test rows, by the probe (artifacts)
HOLDOUT_FILE = "holdout.npz"  # the hidden holdout, by the host (holdout)
EVALUATION_FILE = "evaluation.json"  # EvalResult, by the trusted evaluator (out of the evaluate job)
EVAL_STAGE_FILE = "evaluation.stage.json"  # EvalStage: what the evaluator is doing now, gone when it finished
OWN_SPLIT_ROWS = 2_000  # rows of the notebook's own test arrays the probe saves for the evaluator, at most
MAX_STAT = 1e15  # a recorded training statistic beyond this (or infinite) cannot describe data a model learned
MAX_DIMENSION = 10**12  # a recorded array dimension beyond this is not an array that was held in memory
ROOTS_ENV = "LABGRADE_ROOTS"  # the job's folders, as ``name=path`` parts joined by ":" (see :class:`Roots`)


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


# What the notebook needed that a grading sandbox does not have: the runner names these itself.
CLEAR_STATUSES = (
    Status.needs_network,
    Status.missing_data_file,
    Status.missing_package,
    Status.needs_input,
    Status.needs_camera,
)


class _Spec(BaseModel):
    """Written by the host: exact, so that a key one side renames fails loudly on the other."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_: int = Field(SCHEMA_VERSION, alias="schema")

    def dump(self) -> str:
        """The JSON the other side reads."""
        return self.model_dump_json(by_alias=True)


class Roots(BaseModel):
    """The folders of one job, as the sandboxed process sees them: what the names in its spec are relative to.

    The backend mounts each folder and hands the process one environment
    variable (:data:`ROOTS_ENV`), written by :meth:`env` and read back by
    :meth:`from_env`; a backend that runs jobs in place rewrites each path to
    the host's (every ``:``-separated part that is a mount target).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def env(self) -> dict[str, str]:
        """The one environment variable that carries these roots."""
        parts = (f"{name}={value}" for name, value in self if value is not None)
        return {ROOTS_ENV: ":".join(parts)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The roots the backend gave this process; a ValueError naming what is wrong otherwise."""
        text = (os.environ if environ is None else environ).get(ROOTS_ENV, "")
        pairs = [part.partition("=") for part in text.split(":") if part]
        if not text or any(not sep for _, sep, _ in pairs):
            raise ValueError(f"${ROOTS_ENV} must name the job's folders as name=path parts joined by ':', not {text!r}")
        try:
            return cls.model_validate({name: value for name, _, value in pairs})
        except ValidationError as exc:
            raise ValueError(f"${ROOTS_ENV} does not name the job's folders: {describe(exc)}") from None


class RunRoots(Roots):
    """The folders of an execute job: the notebook's, the artifacts', the served data's, the experiment's adapters'."""

    work: Path
    out: Path
    data: Path
    adapters: Path


class EvalRoots(Roots):
    """The folders of an evaluate job: the run's artifacts, the hidden holdout, the result's, the experiment's."""

    artifacts: Path
    holdout: Path
    out: Path
    rubric: Path | None = None


class JobSpec(_Spec):
    """What the runner is told about one submission (``/job/spec.json``); names are relative to the job's roots."""

    notebook: str
    cell_seconds: float
    # The whole run's time limit (the backend kills the job past it): in the quick profile, a cell whose saved
    # output shows it completed for its author may run past cell_seconds within it (0 = not given).
    wall_seconds: float = 0.0
    output_bytes: int
    probe_seconds: float = 120.0
    profile: str
    # Quick profile: the gradient updates (batches) one fit() may make; a fit over it is cut (0 = none).
    fit_updates: int = 0
    seed: int
    keras_datasets: dict[str, str] = Field(default_factory=dict)  # loader name -> file under the data root
    dataset_source: dict[str, str] = Field(default_factory=dict)
    data_files: list[str] = Field(default_factory=list)
    aliases: dict[str, list[str]] = Field(default_factory=dict)  # course file -> other names students use
    adapters: list[str] = Field(default_factory=list)  # the experiment's kernel adapters, files under the adapters root
    # The variant of a course file each read's evidence matched: read name as written -> file under the data root
    data_map: dict[str, str] = Field(default_factory=dict)
    data_reasons: dict[str, str] = Field(default_factory=dict)  # read name as written -> why that variant
    # Filled in by the runner inside the sandbox (absolute paths, the code, the Keras choice):
    cwd: str = ""
    out_dir: str = ""
    adapters_dir: str = ""
    code: str = ""
    keras_runtime: str = "keras3"
    keras_reasons: list[str] = Field(default_factory=list)

    def rooted(self, roots: RunRoots) -> JobSpec:
        """The spec with its names made absolute under the job's roots (given by the backend)."""
        return self.model_copy(
            update={
                "notebook": str(roots.work / self.notebook),
                "cwd": str(roots.work),
                "out_dir": str(roots.out),
                "adapters_dir": str(roots.adapters),
                "keras_datasets": {k: str(roots.data / v) for k, v in self.keras_datasets.items()},
                "data_map": {k: str(roots.data / v) for k, v in self.data_map.items()},
            }
        )


class EvalSpec(_Spec):
    """What the trusted evaluator is told (``/job/spec.json`` of the evaluate job)."""

    kind: str
    input: str
    raw_stats: dict[str, Any] = Field(default_factory=dict)  # the served data's statistics (trusted, per experiment)
    # Filled in by the evaluator from the validated probe: the notebook's own text encoding, if it had one,
    # and its training windows per feature (sequence models).
    preprocessing: TextPreprocessing | None = None
    window_features: WindowFeatures | None = None


class _Untrusted(BaseModel):
    """Written inside the sandbox: validated on read, extra keys ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    schema_: int = Field(SCHEMA_VERSION, alias="schema")

    def dump(self) -> str:
        """The JSON the host reads."""
        return self.model_dump_json(by_alias=True)


class CellError(BaseModel):
    """Where and how a cell failed (mirrors nbclient's CellExecutionError)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cell_index: int
    ename: str
    evalue: str
    source_excerpt: str = ""


class Adaptation(BaseModel):
    """Something the harness changed about a run, shown to student and examiner."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str  # e.g. dataset_served, epoch_cap, file_alias, keras_runtime
    detail: str


class RunResult(_Untrusted):
    """run.json, written by the runner."""

    status: str
    cell_error: CellError | None = None
    cells_run: int = 0
    cell_seconds: dict[str, float] = Field(default_factory=dict)
    seconds: float = 0.0
    reason: str = ""
    probe_error: str = ""
    output_truncated: bool = False
    keras_runtime: str = "keras3"
    rerun: str = ""


class ArrayStats(BaseModel):
    """Shape and scale of one training array as the fit() shim measured it (never the data itself)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    shape: list[int]
    dtype: str = ""
    mean: float
    std: float
    min: float
    max: float
    feature_mean: list[float] | None = None  # per column, for tables of at most 512 columns
    feature_std: list[float] | None = None

    @field_validator("mean", "std", "min", "max", mode="before")
    @classmethod
    def _null_is_nan(cls, value: Any) -> Any:
        """JSON has no NaN: a statistic of data with missing values is written as null, and read back as NaN."""
        return math.nan if value is None else value

    @field_validator("feature_mean", "feature_std", mode="before")
    @classmethod
    def _nulls_are_nan(cls, value: Any) -> Any:
        return [math.nan if v is None else v for v in value] if isinstance(value, list) else value

    def out_of_range(self) -> str:
        """Why these numbers cannot describe an array a model was trained on ('' when they can).

        NaN is kept: a notebook that trained on missing values recorded what it did.
        """
        if any(not 0 <= d <= MAX_DIMENSION for d in self.shape):
            return f"shape {self.shape[:6]} has a dimension outside 0..{MAX_DIMENSION:.0e}"
        values = [self.mean, self.std, self.min, self.max, *(self.feature_mean or ()), *(self.feature_std or ())]
        huge = next((v for v in values if math.isinf(v) or abs(v) > MAX_STAT), None)
        return f"a statistic of {huge:.3g} is beyond {MAX_STAT:.0e}" if huge is not None else ""


class FitRecord(_Untrusted):
    """One fit() call as the shims saw it."""

    runtime: str = "keras3"
    x: ArrayStats | None = None
    y: ArrayStats | None = None
    epochs: Any = None
    validation_split: Any = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    has_validation_data: bool = False
    cell: int | None = None  # the execution count (In [n]) of the cell that called fit()
    names: list[str] = Field(default_factory=list)  # the notebook's names for x (e.g. "X_train")
    rows_hashed: int = 0  # distinct training rows fingerprinted (integrity evidence)
    loss: str = ""  # the compiled loss by name, also when given as a function or Loss object
    updates_asked: int | None = None  # gradient updates the call asked for (None: an iterator of unknown length)
    updates: int | None = None  # gradient updates it was allowed under the profile's budget
    cut: str = ""  # how the budget cut the call ("" when it ran as written)
    losses: list[float] = Field(default_factory=list)  # the call's own training loss, one per epoch


class CallRecord(_Untrusted):
    """One evaluate() or predict() call on a Keras model, as the kernel's watch saw it (never the data)."""

    kind: str  # "evaluate" | "predict"
    cell: int | None = None
    names: list[str] = Field(default_factory=list)
    role: str = ""  # "test", "train", "validation" or "" as the notebook's names say
    rows: int = 0
    rows_hashed: int = 0
    replaced: bool = False  # the notebook had replaced the model's own method
    on_saved_model: bool = False  # the model saved for evaluation, with the weights it had at the call
    returned: list[float] = Field(default_factory=list)


class ScalerRecord(_Untrusted):
    """One scikit-learn scaler's fit() (StandardScaler, MinMaxScaler...)."""

    scaler: str
    cell: int | None = None
    names: list[str] = Field(default_factory=list)
    rows: int = 0


class RowOverlap(_Untrusted):
    """How many distinct rows of one array were also among the rows of another (row fingerprints)."""

    rows_of: str  # "call" | "fit"
    rows_index: int
    found_in: str  # "fit" (training rows), "validation" (validation_data) or "scaler" (a scaler's fit rows)
    found_index: int
    shared: int
    of: int


class PatchedMethod(_Untrusted):
    """A model method the notebook replaced with its own function."""

    method: str
    cell: int | None = None


class OwnSplit(_Untrusted):
    """The arrays one evaluate()/predict() call fed the saved model, saved (capped) for the trusted evaluator."""

    call: int  # index into ProbeResult.calls
    file: str = OWN_SPLIT_FILE  # beside probe.json: a plain file name, never a path
    rows: int = 0  # rows saved
    total_rows: int = 0  # rows the call had
    y_from: str = ""  # "evaluate(y)" or how y was paired ("y_test, by name")
    predictions: dict[str, Any] = Field(default_factory=dict)  # mean, std, head of the saved model's predictions

    @field_validator("file")
    @classmethod
    def _beside_the_probe(cls, value: str) -> str:
        if value != PurePosixPath(value).name or value in ("", ".", "..") or "\\" in value:
            raise ValueError(f"must be a file name beside probe.json, not the path {value[:80]!r}")
        return value


class TextPreprocessing(BaseModel):
    """The notebook's own text encoding (a fitted Tokenizer, TextVectorization or scikit-learn vectorizer).

    The trusted evaluator encodes the hidden texts with it, so that a model
    trained on the student's own word indices is scored on the same indices.
    ``kind`` "unmatched" says a text encoder was there but could not be tied to
    the model's training inputs (``reason``): the evaluator reports that as its
    own failure, never as the student's.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str  # "tokenizer" | "text_vectorization" | "sklearn" (a fitted scikit-learn vectorizer) | "unmatched"
    variable: str = ""  # the notebook's name for it
    vocabulary: list[str] = Field(default_factory=list)  # tokenizer: word of index i + 1; vectorizer: index i
    vocabulary_size: int = 0  # before the probe's cap
    config: dict[str, Any] = Field(default_factory=dict)  # plain option values only
    output: str = "sequence"  # "sequence", or a bag of words: "binary", "count", "freq", "multi_hot", "tf_idf"
    length: int = 0  # padded sequence length (or bag width) the model was trained on
    padding: str = ""  # "pre" | "post" | "" (not known)
    truncating: str = ""
    verified: int = 0  # training rows the probe reproduced exactly from the notebook's texts
    evidence: str = ""
    reason: str = ""


class FeatureScaler(BaseModel):
    """A fitted scikit-learn scaler of the notebook, as data: transformed = value * scale + offset, per column."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    variable: str = ""
    scaler: str  # MinMaxScaler, StandardScaler...
    names: list[str] = Field(default_factory=list, max_length=512)  # the columns it was fitted on, when named
    scale: list[float] = Field(max_length=512)
    offset: list[float] = Field(max_length=512)

    @model_validator(mode="after")
    def _one_map_per_column(self) -> FeatureScaler:
        if len(self.scale) != len(self.offset) or (self.names and len(self.names) != len(self.scale)):
            raise ValueError("scale, offset and names must have one entry per column")
        if not all(math.isfinite(v) and abs(v) <= MAX_STAT for v in (*self.scale, *self.offset)):
            raise ValueError(f"scale and offset must be finite numbers within {MAX_STAT:.0e}")
        return self


class WindowFeatures(BaseModel):
    """The training windows of a sequence model, per feature (the last axis of x: (samples, window, features)).

    Recorded by the probe from the array fit() was given, so that the trusted evaluator can tell which served
    column (and scaling) each feature is and build the hidden days' windows the same way.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    shape: list[int] = Field(min_length=3, max_length=3)
    min: list[float] = Field(max_length=512)
    max: list[float] = Field(max_length=512)
    mean: list[float] = Field(max_length=512)
    std: list[float] = Field(max_length=512)
    y_columns: int = 1  # targets per sample (1: one column forecast)
    scalers: list[FeatureScaler] = Field(default_factory=list, max_length=32)

    @model_validator(mode="after")
    def _per_feature(self) -> WindowFeatures:
        if any(not 0 < d <= MAX_DIMENSION for d in self.shape):
            raise ValueError(f"shape {self.shape} has a dimension outside 1..{MAX_DIMENSION:.0e}")
        k = self.shape[-1]
        if any(len(v) != k for v in (self.min, self.max, self.mean, self.std)):
            raise ValueError(f"min, max, mean and std must have one value per feature ({k})")
        if not all(math.isfinite(v) and abs(v) <= MAX_STAT for v in (*self.min, *self.max, *self.mean, *self.std)):
            raise ValueError(f"the statistics must be finite numbers within {MAX_STAT:.0e}")
        if not 0 < self.y_columns <= 512:
            raise ValueError("y_columns must be 1..512")
        return self


class ProbeResult(_Untrusted):
    """probe.json, written by the probe in the student's kernel."""

    model_found: bool = False
    model_how: str = ""
    model_saved: bool = False
    save_error: str = ""
    keras_runtime: str = "keras3"
    fits: list[FitRecord] = Field(default_factory=list)
    history: dict[str, list[float]] = Field(default_factory=dict)
    sklearn_estimators: list[str] = Field(default_factory=list)
    calls: list[CallRecord] = Field(default_factory=list)
    scalers: list[ScalerRecord] = Field(default_factory=list)
    overlaps: list[RowOverlap] = Field(default_factory=list)
    patched: list[PatchedMethod] = Field(default_factory=list)
    own_split: OwnSplit | None = None
    preprocessing: TextPreprocessing | None = None
    window_features: WindowFeatures | None = None

    @property
    def train_seconds(self) -> float:
        """Wall-clock seconds spent in every fit() call."""
        return sum(f.seconds for f in self.fits)

    @property
    def train_cpu_seconds(self) -> float:
        """CPU seconds spent in every fit() call (what the efficiency check compares)."""
        return sum(f.cpu_seconds for f in self.fits)


class OwnSplitScore(BaseModel):
    """The trusted evaluator's score of the saved model on the notebook's own split (own_split.npz), fed as is."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    rows: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)
    reproduced: bool = False  # the evaluator's predictions match the kernel's own on these rows
    max_difference: float | None = None
    reason: str = ""


class Layer(BaseModel):
    """One layer of the loaded model, as the trusted evaluator read it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = ""
    class_name: str = ""
    output_shape: list[int | None] = Field(default_factory=list)
    params: int = 0
    activation: str = ""
    units: int | None = None  # a Dense layer's units or a convolution's filters

    @field_validator("units", mode="before")
    @classmethod
    def _count_only(cls, value: Any) -> Any:
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class EvalResult(_Untrusted):
    """evaluation.json, written by the trusted evaluator."""

    ok: bool
    reason: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    architecture: list[Layer] = Field(default_factory=list)
    total_params: int = 0
    compile: dict[str, str] = Field(default_factory=dict)
    input_transform: str = ""
    target_transform: str = ""
    holdout_size: int = 0
    own_split: OwnSplitScore | None = None


class EvalStage(_Untrusted):
    """What the trusted evaluator is doing right now (``evaluation.stage.json``), removed when it finished.

    A step that TensorFlow aborts natively (exit 134, a segfault) writes no result of its own: the host
    reads this file to say in words which step died, on what input, and keeps any result written before.
    """

    stage: str  # e.g. "scoring the notebook's own test split"
    detail: str = ""  # e.g. "Conv2D model taking (None, 28, 28, 1) fed (2000, 28, 28)"
    secondary: bool = False  # the main result was already written: a death here costs only this step


M = TypeVar("M", bound=BaseModel)


class ArtifactError(ValueError):
    """An artifact that cannot be used, with the reason in words."""


def describe(exc: ValidationError, limit: int = 5) -> str:
    """A pydantic error in one line: where, what, and what was given."""
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'the file'}: {err['msg']}"
        + ("" if err["type"] == "missing" else f" (got {str(err.get('input'))[:60]!r})")
        for err in exc.errors()
    ]
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


def written_here(path: Path) -> Path:
    """``path``, refused with an ArtifactError when it is a link: a run hands over only the files it wrote.

    Student code can leave a link in its artifacts to any path the trusted side could read (the hidden holdout
    is mounted beside them in the evaluate job).
    """
    if path.is_symlink():
        raise ArtifactError(f"{path.name} is a link (to {os.readlink(path)[:120]}), not a file the run wrote")
    return path


def check_artifact(path: Path, model: type[M]) -> M:
    """Validate a JSON artifact written next to student code; an ArtifactError saying why it cannot be used."""
    written_here(path)
    try:
        size = path.stat().st_size
        if size > MAX_ARTIFACT_BYTES:
            raise ArtifactError(f"{path.name} is {size:,} bytes, over the limit of {MAX_ARTIFACT_BYTES:,}")
        value = model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ArtifactError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    except ValidationError as exc:
        raise ArtifactError(f"{path.name} does not match the contract: {describe(exc)}") from None
    version = getattr(value, "schema_", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ArtifactError(f"{path.name} is of schema {version}, not {SCHEMA_VERSION}")
    return value


def read_artifact(path: Path, model: type[M]) -> M | None:
    """Validate a JSON artifact; None when it is missing, a link, oversized, malformed or of another schema."""
    try:
        return check_artifact(path, model)
    except ArtifactError:
        return None
