"""Image files a provider serves (folders of photos), and the scale the evaluator matches them by."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def image_stats(x: np.ndarray) -> dict[str, float]:
    """Mean, spread and range of an image array (what the evaluator matches scaling against)."""
    x = np.asarray(x, dtype="float64")
    return {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}


def save_images(images: np.ndarray, paths: Sequence[Path], quality: int = 95) -> None:
    """Write uint8 RGB (or gray) images with Pillow; the format follows each path's suffix."""
    from PIL import Image

    for img, path in zip(images, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "L" if img.ndim == 2 else "RGB"
        picture = Image.fromarray(np.ascontiguousarray(img), mode)
        if path.suffix.lower() in (".jpg", ".jpeg"):
            picture.save(path, quality=quality)
        else:
            picture.save(path)
