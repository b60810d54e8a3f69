"""The harness's dataset store: what a sandbox is served, what it never sees.

For each experiment, profile and seed the store builds (once, cached), by
running the experiment's own provider (``rubrics/<id>/provider.py``):

* ``served/``  -- Keras dataset files (npz) and course data files, mounted
  read-only into the sandbox; unmodified ``keras.datasets.*.load_data()``
  calls and ``pd.read_csv("HousingData.csv")`` are answered from here;
* ``holdout.npz`` -- the hidden split the trusted evaluator scores on, in a
  root-only folder that is never mounted into a student's run;
* ``stats.json`` -- the raw scale of the served training inputs, which the
  evaluator compares with the student's to feed the holdout the same way;
* ``rows/`` -- the served canonical rows of each course file that declares
  variants (``variants.toml``), host side only: the copy of a course file a
  notebook's evidence matches is written from them into ``served/variants/``
  on first use (:func:`variant_files`), so no variant can hold a held-out row.

Each provider uses real data where the project ships it or the instructor
provides it (``course.data``, Keras cache layout), otherwise deterministic
synthetic stand-ins in the real format (:mod:`graders.data.datasets`). The cache
key hashes the store's code, those helpers and the experiment's provider, so
a changed provider builds its data anew; it hashes the experiment's variant
declarations and files too, since the variants are written from this data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from graders.data.variants import VARIANTS_FILE
from graders.paths import CACHE_DIR, STANDINS_DIR, course_data
from graders.rubric import ProfileSpec, Rubric, RubricError

if TYPE_CHECKING:
    from graders.data.evidence.choice import Choice
    from graders.data.variants import CourseFile

STORE_VERSION = 2
VARIANTS_DIR = "variants"  # under served/: the chosen variants, written on first use
ROWS_DIR = "rows"  # beside served/, never mounted: each course file's served canonical rows
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class ServedData:
    """One experiment's data for one profile and seed."""

    served_dir: Path
    keras: dict[str, str]  # loader name -> file name inside served_dir
    files: list[str]  # course files inside served_dir/files
    holdout: Path
    raw_stats: dict[str, Any]
    source: dict[str, str]
    kind: dict[str, str] = field(default_factory=dict)  # dataset -> "real" or "stand-in"

    @property
    def rows_dir(self) -> Path:
        """The served canonical rows of each course file with variants (host side only)."""
        return self.served_dir.parent / ROWS_DIR


# ---------------------------------------------------------------- providers


Provider = Callable[[ProfileSpec, int, Path | None, Path], dict[str, Any]]
PROVIDER_FILE = "provider.py"


def provider_path(rubric: Rubric) -> Path:
    """Where an experiment's data provider lives: ``rubrics/<id>/provider.py``, beside its rubric."""
    return rubric.folder / PROVIDER_FILE


@cache
def _load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"labgrade_provider_{path.parent.name}", path)
    if spec is None or spec.loader is None:
        raise RubricError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look a module up by its name
    spec.loader.exec_module(module)
    return module


def load_provider(rubric: Rubric) -> ModuleType:
    """The experiment's provider module, loaded from its rubric folder by path (once per process).

    Loaded the way the evaluator loads ``rubrics/<id>/evaluate.py``: an
    experiment is a folder, so a course's own experiment needs no entry in
    the harness.
    """
    path = provider_path(rubric)
    if not path.is_file():
        raise RubricError(
            f"experiment {rubric.id!r} has no data provider: {path} is missing "
            "(it defines provide(profile, seed, real, served) -> dict)"
        )
    return _load_module(path.resolve())


def provider_for(rubric: Rubric) -> Provider:
    """The experiment's ``provide(profile, seed, real, served)``: what is served, what is held back."""
    provider: Provider = load_provider(rubric).provide
    return provider


# ---------------------------------------------------------------- the store


def real_fingerprint(real: Path | None) -> str:
    """What the instructor's data folder holds (each file's path, size and time): new files build new data."""
    if real is None or not real.is_dir():
        return "none"
    files = sorted(p for p in real.rglob("*") if p.is_file() and not p.name.startswith("."))
    stats = [(p.relative_to(real).as_posix(), p.stat()) for p in files]
    return hashlib.sha256("".join(f"{n}:{s.st_size}:{s.st_mtime_ns};" for n, s in stats).encode()).hexdigest()[:16]


def dataset_kinds(source: dict[str, str], declared: dict[str, str]) -> dict[str, str]:
    """Each served dataset's kind, "real" or "stand-in": as the provider declares it, else as its source says.

    A provider names a dataset's origin in ``source``; the harness's providers
    begin it with "real" for real files and otherwise describe the stand-in.
    """
    kinds = {name: "real" if text.startswith("real") else "stand-in" for name, text in source.items()}
    return {name: declared.get(name) or kind for name, kind in kinds.items()}


def _key(rubric: Rubric, profile: str, seed: int, real: Path | None) -> str:
    """The cache folder's name: changes whenever the data it holds would change."""
    helpers = sorted(Path(__file__).with_name("datasets").rglob("*.py")) + sorted(STANDINS_DIR.rglob("*.py"))
    helpers += sorted(p for p in course_data(rubric.folder).glob("*") if p.is_file())  # the course files
    variants = [rubric.folder / VARIANTS_FILE]
    variants += sorted(p for p in (rubric.folder / "data" / VARIANTS_DIR).rglob("*") if p.is_file())
    code = b"".join(
        p.read_bytes()
        for p in [Path(__file__), Path(__file__).with_name("variants.py"), *helpers, provider_path(rubric)]
    )
    code += b"".join(p.relative_to(rubric.folder).as_posix().encode() + p.read_bytes() for p in variants if p.is_file())
    spec = rubric.profiles.get(profile, ProfileSpec()).model_dump_json()
    digest = hashlib.sha256(code + f"{spec}{real}{real_fingerprint(real)}".encode()).hexdigest()[:10]
    return f"v{STORE_VERSION}-{rubric.data.holdout}-{profile}-{seed}-{digest}"


def _build(rubric: Rubric, spec: ProfileSpec, seed: int, real: Path | None, root: Path) -> None:
    provider = provider_for(rubric)
    tmp = root.with_name(f"{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")  # unique per thread and process
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "served").mkdir(parents=True)
    (tmp / "hidden").mkdir(mode=0o700)
    made = provider(spec, seed, real, tmp / "served")
    np.savez(tmp / "hidden" / "holdout.npz", **made["holdout"])
    (tmp / ROWS_DIR).mkdir(mode=0o700)
    for name, frame in made.get("canonical_rows", {}).items():
        frame.to_pickle(tmp / ROWS_DIR / f"{name}.pkl")
    meta = {k: made[k] for k in ("keras", "raw_stats", "source")}
    meta["kind"] = dataset_kinds(made["source"], made.get("kind", {}))
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    for path in (tmp / "served").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (tmp / "served").chmod(0o755)
    tmp.chmod(0o711)
    try:
        tmp.rename(root)
    except OSError:  # another worker built it first
        shutil.rmtree(tmp, ignore_errors=True)


def served_data(
    rubric: Rubric, profile: str, seed: int, real: Path | None = None, cache: Path = CACHE_DIR
) -> ServedData:
    """The experiment's served files and hidden holdout, building them on first use."""
    spec = rubric.profiles.get(profile, ProfileSpec())
    root = cache / "data" / _key(rubric, profile, seed, real)
    with _BUILD_LOCK:  # workers of one session build each cache once; other processes race safely by rename
        if not (root / "meta.json").is_file():
            root.parent.mkdir(parents=True, exist_ok=True)
            root.parent.chmod(0o711)
            _build(rubric, spec, seed, real, root)
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    files_dir = root / "served" / "files"
    return ServedData(
        served_dir=root / "served",
        keras={k: v for k, v in meta["keras"].items() if k in rubric.data.keras_datasets},
        files=[f for f in rubric.data.files if (files_dir / f).exists()],  # files or folders
        holdout=root / "hidden" / "holdout.npz",
        raw_stats=meta["raw_stats"],
        source=meta["source"],
        kind=meta.get("kind", {}),
    )


# ---------------------------------------------------------------- variants of course files


def _served_rows(data: ServedData, course_files: list[CourseFile]) -> dict[str, Any]:
    import pandas as pd

    out: dict[str, Any] = {}
    for course in course_files:
        path = data.rows_dir / f"{course.name}.pkl"
        if path.is_file():
            out[course.name] = pd.read_pickle(path)  # written by this store from the provider's rows
    return out


def variant_files(data: ServedData, choices: dict[str, Choice], course_files: list[CourseFile]) -> dict[str, str]:
    """Read name -> the chosen variant's file under the data root (``variants/<name>``), written once per cache.

    Written from the rows the provider served (its holdout already removed), into a private folder
    first and renamed into ``served/variants/``, so concurrent jobs never see half a file.
    """
    from graders.data.evidence.choice import serve
    from graders.data.variants import served_name

    folder = data.served_dir / VARIANTS_DIR
    by_name = {c.name: c for c in course_files}

    def name_of(choice: Choice) -> str:
        course = by_name[choice.course_file]
        return served_name(course.variant(choice.variant), course)

    missing = {k: c for k, c in choices.items() if not (folder / name_of(c)).exists()}
    if missing:
        with _BUILD_LOCK:
            tmp = data.served_dir.parent / f"variants.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir(mode=0o700)
            try:
                written = serve(missing, course_files, _served_rows(data, course_files), tmp)
                folder.mkdir(mode=0o755, exist_ok=True)
                folder.chmod(0o755)
                for name in set(written.values()):
                    (tmp / name).chmod(0o644)
                    os.replace(tmp / name, folder / name)  # the same bytes whoever writes them first
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return {read: f"{VARIANTS_DIR}/{name_of(c)}" for read, c in choices.items()}
