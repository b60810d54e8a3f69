"""Keras image-class datasets (28 x 28 digits or garments): an instructor's real files, else a stand-in.

A provider that serves such a dataset calls :func:`serve_image_classes` with
the dataset's Keras name and its stand-in generator: it reads the real
IDX-format files from the instructor's Keras cache (``<real>/datasets/<name>/``)
when they are there, otherwise calls the stand-in the provider gave; keeps the
holdout back (the real test tail, or the stand-in's own holdout split);
cuts train and test to the profile's sizes; and writes ``<name>.npz`` in the
layout the kernel's ``keras.datasets.<name>.load_data`` serves.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from graders.data.datasets.arrays import cut_to_profile, feature_stats
from graders.rubric import ProfileSpec

_IDX_PARTS = (
    ("x_train", "train-images-idx3"),
    ("y_train", "train-labels-idx1"),
    ("x_test", "t10k-images-idx3"),
    ("y_test", "t10k-labels-idx1"),
)


def read_idx(path: Path) -> np.ndarray:
    """One gzipped IDX file (the MNIST distribution format) as a uint8 array."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def real_images(real: Path | None, folder_name: str) -> dict[str, np.ndarray] | None:
    """Real files from an instructor's Keras cache, if present: the IDX files of ``datasets/<name>/``
    (Fashion-MNIST's cache), else the one ``datasets/<name>.npz`` (MNIST's cache)."""
    folder = real / "datasets" / folder_name if real else None
    if folder is None:
        return None
    if (folder / "train-images-idx3-ubyte.gz").is_file():
        return {key: read_idx(folder / f"{stem}-ubyte.gz") for key, stem in _IDX_PARTS}
    npz = folder.with_name(f"{folder_name}.npz")
    if npz.is_file():
        with np.load(npz, allow_pickle=False) as f:
            return {key: np.asarray(f[key]) for key, _ in _IDX_PARTS}
    return None


def hold_test_tail(data: dict[str, np.ndarray], n_hold: int) -> None:
    """Move the last ``n_hold`` test images of real files into ``x_/y_holdout`` (in place)."""
    cut = len(data["x_test"]) - n_hold
    data["x_holdout"], data["y_holdout"] = data["x_test"][cut:], data["y_test"][cut:]
    data["x_test"], data["y_test"] = data["x_test"][:cut], data["y_test"][:cut]


StandIn = Callable[..., dict[str, np.ndarray]]  # (n_train=, n_test=, n_holdout=, seed=) -> the splits


def image_classes(
    name: str, profile: ProfileSpec, seed: int, real: Path | None, n_hold: int, standin: StandIn
) -> tuple[dict[str, np.ndarray], str]:
    """The dataset's splits (train, test, holdout; not yet cut to the profile) and where they came from: the
    instructor's real files, else ``standin`` (an experiment's generator, e.g. from ``graders.kit.standins()``)."""
    data = real_images(real, name.replace("_", "-"))
    if data is not None:
        hold_test_tail(data, n_hold)
        return data, "real"
    made = standin(n_train=profile.train_size or 60000, n_test=profile.test_size or 10000, n_holdout=n_hold, seed=seed)
    return made, "synthetic"


def serve_image_classes(
    name: str, profile: ProfileSpec, seed: int, real: Path | None, served: Path, standin: StandIn
) -> dict[str, Any]:
    """A whole provider result for an experiment whose data is one Keras image-class dataset."""
    n_hold = profile.holdout_size or 2000
    data, kind = image_classes(name, profile, seed, real, n_hold, standin)
    if kind == "real":
        source = f"real {name} files from the instructor's dataset cache"
    else:
        source = f"synthetic {name} stand-in (seed {seed}), same shapes and dtypes as the real dataset"
    cut_to_profile(data, profile, seed)
    arrays: dict[str, Any] = {k: data[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(served / f"{name}.npz", **arrays)
    return {
        "keras": {name: f"{name}.npz"},
        "holdout": {"x": data["x_holdout"], "y": data["y_holdout"]},
        "raw_stats": {"x": feature_stats(data["x_train"], False), "y": feature_stats(data["y_train"], False)},
        "source": {name: f"{source}; {len(data['x_train'])} train / {len(data['x_test'])} test served"},
    }
