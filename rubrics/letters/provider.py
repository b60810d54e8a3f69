"""Experiment 2B's data: OCR letters (real UCI file) and the manual's MNIST digits.

The lab asks for the UCI Letter Recognition data (20000 rows: the letter, then
16 integer features 0-15), but the manual's own code trains an MLP on
``keras.datasets.mnist``; both are accepted. So the sandbox is served

* ``letter-recognition.data`` and ``letter-recognition.csv`` beside the
  notebook (the same rows, no header, as UCI ships them), minus the hidden rows;
* ``keras.datasets.mnist`` (real files from an instructor's cache, else the
  deterministic stand-in of the stand-in library, ``standins/``).

The hidden holdout has both: held-out UCI rows (``x_letters``, ``y_letters``
with A..Z -> 0..25, the alphabetical order LabelEncoder and ord()-65 both give)
and held-out digit images (``x_mnist``, ``y_mnist``); ``rubrics/letters/
evaluate.py`` picks by the model's output size. The profile's train_size cuts
both the letter rows served and the MNIST training images (test_size the MNIST
test images): a quick run trains on fewer rows, the hidden rows stay the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graders.kit import (
    ProfileSpec,
    course_data,
    cut_to_profile,
    feature_stats,
    image_classes,
    load_variants,
    read_canonical,
    standins,
)

LETTER_FILES = ("letter-recognition.data", "letter-recognition.csv")


def read_letters(path: Path = course_data(Path(__file__).parent) / "letter-recognition.data") -> pd.DataFrame:
    """The UCI file as a frame: column 0 the letter, columns 1-16 the features."""
    return pd.read_csv(path, header=None)


def letter_codes(letters: Any) -> np.ndarray:
    """Letters A..Z -> int64 0..25 (alphabetical, as LabelEncoder and ord()-65 give)."""
    return np.array([ord(str(c)) - ord("A") for c in letters], dtype=np.int64)


def _letters(
    seed: int, n_hold: int, n_serve: int | None, served: Path
) -> tuple[dict[str, np.ndarray], dict[str, Any], str, np.ndarray]:
    frame = read_letters()
    order = np.random.RandomState(seed).permutation(len(frame))
    hold, keep = np.sort(order[:n_hold]), np.sort(order[n_hold:][:n_serve])
    files = served / "files"
    files.mkdir(parents=True, exist_ok=True)
    for name in LETTER_FILES:
        frame.iloc[keep].to_csv(files / name, header=False, index=False)
    x = frame.iloc[:, 1:].to_numpy("int32")
    holdout = {"x_letters": x[hold], "y_letters": letter_codes(frame.iloc[hold, 0])}
    source = (
        f"real UCI Letter Recognition (CC BY 4.0), {len(keep)} of {len(frame) - n_hold} rows served, {n_hold} held out"
    )
    return holdout, feature_stats(x[keep], True), source, keep


def _mnist(profile: ProfileSpec, seed: int, real: Path | None, n_hold: int) -> tuple[dict[str, np.ndarray], str]:
    data, kind = image_classes("mnist", profile, seed, real, n_hold, standins().mnist)
    if kind == "real":
        return data, "real MNIST files from the instructor's dataset cache"
    return data, f"synthetic MNIST stand-in (seed {seed}), same shapes and dtypes as the real dataset"


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """Letter files + mnist.npz for one profile and seed; a holdout of both kinds."""
    n_hold = profile.holdout_size or 2000
    hold_letters, letter_stats, letter_source, keep = _letters(seed, n_hold, profile.train_size, served)
    digits, digit_source = _mnist(profile, seed, real, n_hold)
    cut_to_profile(digits, profile, seed)
    np.savez(
        served / "mnist.npz",
        x_train=digits["x_train"],
        y_train=digits["y_train"],
        x_test=digits["x_test"],
        y_test=digits["y_test"],
    )
    return {
        "keras": {"mnist": "mnist.npz"},
        "canonical_rows": {c.name: read_canonical(c).iloc[keep] for c in load_variants(Path(__file__).parent)},
        "holdout": {**hold_letters, "x_mnist": digits["x_holdout"], "y_mnist": digits["y_holdout"]},
        "raw_stats": {"letters": {"x": letter_stats}, "mnist": {"x": feature_stats(digits["x_train"], False)}},
        "source": {
            "letters": letter_source,
            "mnist": f"{digit_source}; {len(digits['x_train'])} train / {len(digits['x_test'])} test served",
        },
    }
