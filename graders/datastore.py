"""The harness's dataset store: what a sandbox is served, what it never sees.

For each experiment, profile and seed the store builds (once, cached):

* ``served/``  -- Keras dataset files (npz) and course data files, mounted
  read-only into the sandbox; unmodified ``keras.datasets.*.load_data()``
  calls and ``pd.read_csv("HousingData.csv")`` are answered from here;
* ``holdout.npz`` -- the hidden split the trusted evaluator scores on, in a
  root-only folder that is never mounted into a student's run;
* ``stats.json`` -- the raw scale of the served training inputs, which the
  evaluator compares with the student's to feed the holdout the same way.

Real data is used where the project ships it (Boston) or the instructor
provides it (``course.data``, Keras cache layout); otherwise deterministic
synthetic stand-ins in the real format.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graders.paths import CACHE_DIR, DATASETS_DIR
from graders.rubric import ProfileSpec, Rubric

STORE_VERSION = 1
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


def _stats(x: np.ndarray, per_feature: bool) -> dict[str, Any]:
    x = np.asarray(x, dtype="float64")
    stats: dict[str, Any] = {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}
    if per_feature and x.ndim == 2:
        stats["feature_mean"] = x.mean(axis=0).tolist()
        stats["feature_std"] = x.std(axis=0).tolist()
    return stats


# ---------------------------------------------------------------- providers


def _boston(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """Real Boston housing: a seeded hidden holdout, the rest served as CSVs and npz."""
    clean = pd.read_csv(DATASETS_DIR / "boston" / "BostonHousing.csv")
    kaggle = pd.read_csv(DATASETS_DIR / "boston" / "HousingData.csv")
    order = np.random.RandomState(seed).permutation(len(clean))
    n_hold = profile.holdout_size or 56
    hold, keep = np.sort(order[:n_hold]), np.sort(order[n_hold:])
    files = served / "files"
    files.mkdir(parents=True, exist_ok=True)
    clean.iloc[keep].to_csv(files / "BostonHousing.csv", index=False)
    kaggle.iloc[keep].to_csv(files / "HousingData.csv", index=False, na_rep="NA")
    x = clean.iloc[:, :13].to_numpy("float64")
    y = clean.iloc[:, 13].to_numpy("float64")
    np.savez(served / "boston_housing.npz", x=x[keep], y=y[keep])
    return {
        "keras": {"boston_housing": "boston_housing.npz"},
        "holdout": {"x": x[hold], "y": y[hold]},
        "raw_stats": {"x": _stats(x[keep], True), "y": _stats(y[keep], False)},
        "source": {"boston": f"real Boston housing (StatLib), {len(keep)} rows served, {n_hold} held out"},
    }


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _real_images(real: Path | None, name: str) -> dict[str, np.ndarray] | None:
    """Real MNIST-format files from an instructor's Keras cache, if present."""
    folder = real / "datasets" / name if real else None
    if folder is None or not (folder / "train-images-idx3-ubyte.gz").is_file():
        return None
    parts = {}
    for key, stem in (("x_train", "train-images-idx3"), ("y_train", "train-labels-idx1"), ("x_test", "t10k-images-idx3"), ("y_test", "t10k-labels-idx1")):
        parts[key] = _read_idx(folder / f"{stem}-ubyte.gz")
    return parts


def _image_classes(name: str) -> Callable[[ProfileSpec, int, Path | None, Path], dict[str, Any]]:
    def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
        from graders.datasets import synthetic

        n_hold = profile.holdout_size or 2000
        data = _real_images(real, name.replace("_", "-"))
        if data is not None:
            cut = len(data["x_test"]) - n_hold
            data["x_holdout"], data["y_holdout"] = data["x_test"][cut:], data["y_test"][cut:]
            data["x_test"], data["y_test"] = data["x_test"][:cut], data["y_test"][:cut]
            source = f"real {name} files from the instructor's dataset cache"
        else:
            data = getattr(synthetic, name)(n_train=profile.train_size or 60000, n_test=profile.test_size or 10000, n_holdout=n_hold, seed=seed)
            source = f"synthetic {name} stand-in (seed {seed}), same shapes and dtypes as the real dataset"
        rng = np.random.RandomState(seed)
        for split, size in (("train", profile.train_size), ("test", profile.test_size)):
            if size and len(data[f"x_{split}"]) > size:
                pick = np.sort(rng.choice(len(data[f"x_{split}"]), size, replace=False))
                data[f"x_{split}"], data[f"y_{split}"] = data[f"x_{split}"][pick], data[f"y_{split}"][pick]
        np.savez(served / f"{name}.npz", **{k: data[k] for k in ("x_train", "y_train", "x_test", "y_test")})
        return {
            "keras": {name: f"{name}.npz"},
            "holdout": {"x": data["x_holdout"], "y": data["y_holdout"]},
            "raw_stats": {"x": _stats(data["x_train"], False), "y": _stats(data["y_train"], False)},
            "source": {name: f"{source}; {len(data['x_train'])} train / {len(data['x_test'])} test served"},
        }

    return provide


Provider = Callable[[ProfileSpec, int, Path | None, Path], dict[str, Any]]
PROVIDERS: dict[str, Provider] = {
    "boston": _boston,
    "fashion_mnist": _image_classes("fashion_mnist"),
    "mnist": _image_classes("mnist"),
}


def register_provider(name: str, provider: Provider) -> None:
    """Add a dataset family (explicit registration)."""
    PROVIDERS[name] = provider


def provider_for(family: str) -> Provider:
    """The provider of a dataset family: registered here, or ``graders.datasets.<family>.provide``."""
    if family in PROVIDERS:
        return PROVIDERS[family]
    try:
        module = importlib.import_module(f"graders.datasets.{family}")
    except ModuleNotFoundError:
        raise KeyError(f"no dataset provider {family!r} (known: {', '.join(sorted(PROVIDERS))}, or a module graders/datasets/{family}.py)") from None
    provider: Provider = module.provide
    return provider


# ---------------------------------------------------------------- the store


def _key(rubric: Rubric, profile: str, seed: int, real: Path | None) -> str:
    """The cache folder's name: changes whenever the data it holds would change."""
    code = Path(__file__).read_bytes() + b"".join(p.read_bytes() for p in sorted(Path(__file__).with_name("datasets").rglob("*.py")))
    spec = rubric.profiles.get(profile, ProfileSpec()).model_dump_json()
    digest = hashlib.sha256(code + f"{spec}{real}".encode()).hexdigest()[:10]
    return f"v{STORE_VERSION}-{rubric.data.holdout}-{profile}-{seed}-{digest}"


def _build(rubric: Rubric, spec: ProfileSpec, seed: int, real: Path | None, root: Path) -> None:
    provider = provider_for(rubric.data.holdout)
    tmp = root.with_name(f"{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")  # unique per thread and process
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "served").mkdir(parents=True)
    (tmp / "hidden").mkdir(mode=0o700)
    made = provider(spec, seed, real, tmp / "served")
    np.savez(tmp / "hidden" / "holdout.npz", **made["holdout"])
    meta = {k: made[k] for k in ("keras", "raw_stats", "source")}
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    for path in (tmp / "served").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (tmp / "served").chmod(0o755)
    tmp.chmod(0o711)
    try:
        tmp.rename(root)
    except OSError:  # another worker built it first
        shutil.rmtree(tmp, ignore_errors=True)


def served_data(rubric: Rubric, profile: str, seed: int, real: Path | None = None, cache: Path = CACHE_DIR) -> ServedData:
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
    )
