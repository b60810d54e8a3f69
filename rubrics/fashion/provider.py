"""Fashion-MNIST for experiment 3: the instructor's real files, else the deterministic garment stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graders.kit import ProfileSpec, serve_image_classes, standins


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """``fashion_mnist.npz`` for ``keras.datasets.fashion_mnist``; the holdout kept back."""
    return serve_image_classes("fashion_mnist", profile, seed, real, served, standins().fashion_mnist)
