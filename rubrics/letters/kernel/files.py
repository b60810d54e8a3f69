"""Kernel adapter: the letter file under fuzzy names, and the manual's digits as Kaggle's ``mnist_train.csv``."""

from __future__ import annotations

from labgrade_runtime.kernel import datafiles, derived


def find_mnist_csv(key: str, files: dict[str, str], url: bool) -> derived.Maker | None:
    """``mnist_train.csv`` / ``mnist_test.csv`` (label, pixel1..pixel784) from the served digits."""
    if key.endswith("csv") and key.startswith("mnist"):
        return derived.pixel_csv("mnist", "test" if "test" in key else "train")
    return None


def install() -> None:
    """Register the family and the derived format."""
    datafiles.register_family(r"letter", ("letter-recognition.data",))
    derived.register(find_mnist_csv)
