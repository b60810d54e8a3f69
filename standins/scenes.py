"""Colourful outdoor scenes and their grayscale, for colorization."""

from __future__ import annotations

import numpy as np

from ._common import (
    Array,
    Params,
    _check_sizes,
    _col,
    _ellipse,
    _grid,
    _rect,
    _soft,
    _splits,
    _to_uint8,
    _uniform,
)
from .people import _batched, _over


def _scene_draw(rng: np.random.Generator, n: int) -> Params:
    def col3(lo: list[float], hi: list[float], m: int = n) -> Array:
        return rng.uniform(lo, hi, (m, 3)).astype(np.float32)

    sunset = rng.uniform(0, 1, n) < 0.15
    ground = rng.choice(3, n, p=[0.75, 0.15, 0.1])
    grass, sand, water = (
        col3([0.1, 0.4, 0.05], [0.35, 0.7, 0.25]),
        col3([0.7, 0.6, 0.35], [0.9, 0.8, 0.55]),
        col3([0.05, 0.2, 0.4], [0.15, 0.35, 0.6]),
    )
    return {
        "horizon": _uniform(rng, -0.25, 0.3, n),
        "hill_a": _uniform(rng, 0.0, 0.2, n),
        "hill_f": _uniform(rng, 1.5, 5.0, n),
        "hill_p": _uniform(rng, 0, 2 * np.pi, n),
        "sky_top": col3([0.15, 0.35, 0.75], [0.4, 0.6, 1.0]),
        "sky_low": np.where(
            sunset[:, None], col3([0.9, 0.45, 0.2], [1.0, 0.65, 0.4]), col3([0.6, 0.75, 0.9], [0.8, 0.88, 1.0])
        ),
        "ground": np.select([ground[:, None] == 0, ground[:, None] == 1], [grass, sand], water),
        "sun": np.concatenate(
            [
                rng.uniform(-0.8, 0.8, (n, 1)),
                rng.uniform(-0.9, -0.5, (n, 1)),
                (rng.uniform(0, 1, (n, 1)) < 0.4) * rng.uniform(0.1, 0.2, (n, 1)),
            ],
            axis=1,
        ).astype(np.float32),
        "trees": np.concatenate(
            [rng.uniform(-0.9, 0.9, (n, 3, 1)), rng.uniform(0.1, 0.35, (n, 3, 1)), rng.uniform(0, 1, (n, 3, 1)) < 0.5],
            axis=2,
        ).astype(np.float32),
        "leaf": col3([0.05, 0.3, 0.05], [0.25, 0.55, 0.2], 3 * n).reshape(n, 3, 3),
        "blobs": np.concatenate(
            [rng.uniform(-0.9, 0.9, (n, 5, 2)), rng.uniform(0.05, 0.2, (n, 5, 1)), rng.uniform(0, 1, (n, 5, 1)) < 0.5],
            axis=2,
        ).astype(np.float32),
        "blob_rgb": rng.dirichlet([0.4, 0.4, 0.4], (n, 5)).astype(np.float32) * 1.6,
        "grain": rng.standard_normal((n, 2, 3)).astype(np.float32),
    }


def _scene_render(p: Params, size: int) -> Array:
    u, v = _grid(size)
    u, v = np.broadcast_to(u, (len(p["horizon"]), size, size)), np.broadcast_to(v, (1, size, size))
    e = 2.5 / size
    t = np.clip((v + 1.0) / (_col(p["horizon"]) + 1.0), 0, 1)[..., None]
    img = p["sky_top"][:, None, None] * (1 - t) + p["sky_low"][:, None, None] * t
    sun = p["sun"]
    disc = _ellipse(u, v, _col(sun[:, 0]), _col(sun[:, 1]), _col(sun[:, 2]) + 1e-3, _col(sun[:, 2]) + 1e-3, e)
    img = _over(img, disc * _col(sun[:, 2] > 0), np.tile(np.array([1.0, 0.9, 0.4], np.float32), (len(sun), 1)))
    line = _col(p["horizon"]) + _col(p["hill_a"]) * np.sin(_col(p["hill_f"]) * u + _col(p["hill_p"]))
    land = _soft(v - line, e)[..., None]
    shade = 1.15 - 0.35 * np.clip(v - line, 0, 2)[..., None]  # darker towards the viewer
    img = img * (1 - land) + p["ground"][:, None, None] * shade * land
    for k in range(3):
        x, h, on = (_col(p["trees"][:, k, j]) for j in range(3))
        base = _col(p["horizon"]) + 0.1
        trunk = _rect(u, v, x - 0.04, x + 0.04, base - h, base, e) * on
        img = _over(img, trunk, np.tile(np.array([0.4, 0.25, 0.1], np.float32), (len(p["horizon"]), 1)))
        img = _over(img, _ellipse(u, v, x, base - h - 0.12, 0.16, 0.2, e) * on, p["leaf"][:, k])
    for k in range(5):
        bx, by, r, on = (_col(p["blobs"][:, k, j]) for j in range(4))
        img = _over(img, _ellipse(u, v, bx, by, r, r * 0.8, e) * on, np.clip(p["blob_rgb"][:, k], 0, 1))
    g = p["grain"]
    img = img * (1 + 0.05 * np.sin(9 * u[..., None] * g[:, None, None, 0] + 7 * v[..., None] * g[:, None, None, 1]))
    return _to_uint8(img)


def outdoor_scenes(
    *, n_train: int = 2000, n_test: int = 500, n_holdout: int = 500, size: int = 32, seed: int = 0
) -> dict[str, Array]:
    """Colourisation stand-in (mini project 3): uint8 RGB (N, size, size, 3) outdoor scenes.

    A sky gradient (blue at the top, pale or sunset orange at the horizon),
    hilly ground (mostly green grass, else sand or water) darkening towards the
    viewer, an optional sun, trees with green crowns and coloured blobs of random
    hue: much of the colour follows from the gray structure, the blobs' does
    not. Keys: x_train, x_test, x_holdout; use ``to_gray`` for the inputs.
    """
    _check_sizes(size=size)
    sizes = {"train": n_train, "test": n_test, "holdout": n_holdout}
    return _splits(
        seed,
        "scenes",
        sizes,
        _scene_draw,
        lambda p: {"x": _batched(lambda q: _scene_render(q, size), p, len(p["horizon"]))},
    )


def to_gray(rgb: Array) -> Array:
    """uint8 RGB (..., 3) -> uint8 luma (...), ITU-R 601-2 rounded exactly like PIL's ``convert("L")``."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.shape[-1:] != (3,):
        raise ValueError(f"expected uint8 (..., 3), got {rgb.dtype} {rgb.shape}")
    c = rgb.astype(np.uint32)
    return ((c[..., 0] * 19595 + c[..., 1] * 38470 + c[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)
