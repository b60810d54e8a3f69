"""Helpers every generator shares: seeded streams, chunking, drawing primitives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray
Params = dict[str, Array]

SPLITS = ("train", "test", "holdout")
_CHUNK = 1000  # images are drawn in chunks of this many; keeps prefix stability
# Each generator's stream id: part of every seed, so it must never change (the data would).
_DATASET_IDS = {"garments": 1, "mnist": 2, "reviews": 3, "faces": 4, "utkface": 5, "scenes": 6}

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


# --------------------------------------------------------------------------- helpers
def _rng(seed: int, *keys: int) -> np.random.Generator:
    """A generator for one (dataset, split, chunk) cell; independent of the others."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), *keys]))


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _balanced_labels(rng: np.random.Generator, n: int, k: int) -> Array:
    """Concatenated permutations of range(k): every prefix is balanced within one."""
    blocks = -(-n // k)
    return rng.permuted(np.tile(np.arange(k), (blocks, 1)), axis=1).ravel()[:n]


def _uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> Array:
    return rng.uniform(lo, hi, n).astype(np.float32)


def _col(a: Array) -> Array:
    """Per-sample parameters (n,) -> (n, 1, 1) for broadcasting over an image."""
    return np.asarray(a, dtype=np.float32)[:, None, None]


def _chunked(
    seed: int,
    dataset: str,
    split: str,
    n: int,
    draw: Callable[[np.random.Generator, int], Params],
    render: Callable[[Params], dict[str, Array]],
) -> dict[str, Array]:
    """Draw parameters for whole chunks (prefix stability) and render the first n."""
    parts: list[dict[str, Array]] = []
    for chunk in range(-(-n // _CHUNK)):
        rng = _rng(seed, _DATASET_IDS[dataset], SPLITS.index(split), chunk)
        params = draw(rng, _CHUNK)
        take = min(_CHUNK, n - chunk * _CHUNK)
        parts.append(render({k: v[:take] for k, v in params.items()}))
    if not parts:  # n == 0: render an empty parameter set for the right shapes
        rng = _rng(seed, _DATASET_IDS[dataset], SPLITS.index(split), 0)
        parts.append(render({k: v[:0] for k, v in draw(rng, 1).items()}))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _splits(
    seed: int,
    dataset: str,
    sizes: dict[str, int],
    draw: Callable[[np.random.Generator, int], Params],
    render: Callable[[Params], dict[str, Array]],
) -> dict[str, Array]:
    """Render every split and name the arrays ``<key>_<split>``."""
    _check_sizes(**{f"n_{s}": n for s, n in sizes.items()})
    out: dict[str, Array] = {}
    for split, n in sizes.items():
        for key, arr in _chunked(seed, dataset, split, n, draw, render).items():
            out[f"{key}_{split}"] = arr
    return out


def _to_uint8(img: Array) -> Array:
    return np.rint(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def _grid(size: int) -> tuple[Array, Array]:
    """Pixel-centre coordinates in [-1, 1] (x right, y down), shape (1, size, size)."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    return c[None, None, :], c[None, :, None]


def _affine(size: int, p: Params) -> tuple[Array, Array]:
    """Per-sample canonical coordinates: shift, rotate, scale (inverse map)."""
    x, y = _grid(size)
    x, y = x - _col(p["dx"]), y - _col(p["dy"])
    c, s = _col(np.cos(p["rot"])), _col(np.sin(p["rot"]))
    return (c * x + s * y) / _col(p["sx"]), (c * y - s * x) / _col(p["sy"])


def _soft(d: Array, edge: float) -> Array:
    """Signed inside-distance -> coverage in [0, 1] with an anti-aliased edge."""
    return np.clip(d / edge + 0.5, 0.0, 1.0)


def _band(t: Array, lo: Any, hi: Any, edge: float) -> Array:
    return _soft(np.minimum(t - lo, hi - t), edge)


def _rect(u: Array, v: Array, x0: Any, x1: Any, y0: Any, y1: Any, edge: float = 0.07) -> Array:
    return _band(u, x0, x1, edge) * _band(v, y0, y1, edge)


def _ellipse(u: Array, v: Array, cx: Any, cy: Any, rx: Any, ry: Any, edge: float = 0.07) -> Array:
    r = np.sqrt(((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)
    return _soft((1.0 - r) * np.minimum(rx, ry), edge)


def _segment(u: Array, v: Array, ax: Any, ay: Any, bx: Any, by: Any, half: Any, edge: float = 0.07) -> Array:
    """A thick line segment (capsule) from (ax, ay) to (bx, by)."""
    ex, ey = bx - ax, by - ay
    t = np.clip(((u - ax) * ex + (v - ay) * ey) / (ex * ex + ey * ey + 1e-6), 0.0, 1.0)
    d = np.sqrt((u - ax - t * ex) ** 2 + (v - ay - t * ey) ** 2)
    return _soft(half - d, edge)
