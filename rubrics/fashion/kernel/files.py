"""Kernel adapter: Kaggle's ``fashion-mnist_train.csv`` / ``_test.csv`` (label, pixel1..pixel784) from served data."""

from __future__ import annotations

from labgrade_runtime.kernel import derived


def find_pixel_csv(key: str, files: dict[str, str], url: bool) -> derived.Maker | None:
    """Any CSV named like Fashion-MNIST: its train (or test) split, one image per row."""
    if key.endswith("csv") and "fashion" in key:
        return derived.pixel_csv("fashion_mnist", "test" if "test" in key else "train")
    return None


def install() -> None:
    """Register the derived format."""
    derived.register(find_pixel_csv)
