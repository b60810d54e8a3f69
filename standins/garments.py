"""Fashion-MNIST-like garments: ten silhouettes with confusable tops."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._common import (
    Array,
    Params,
    _affine,
    _balanced_labels,
    _band,
    _col,
    _ellipse,
    _rect,
    _segment,
    _splits,
    _to_uint8,
    _uniform,
)


def _lerp(q: Array, lo: float, hi: float) -> Array:
    return lo + (hi - lo) * q


def _garment_top(
    u: Array, v: Array, q: Array, *, w: Array, y1: Array, sleeve: Array, angle: Array, half: Array, neck: Array
) -> Array:
    """Torso with two sleeves and a neck cut: shared by T-shirt, pullover, coat, shirt."""
    y0 = _lerp(q[:, 7:8, None], -0.84, -0.72)
    torso = _rect(u, v, -w, w, y0, y1)
    sy = y0 + 0.1
    dx, dy = sleeve * np.cos(angle), sleeve * np.sin(angle)
    left = _segment(u, v, -w + 0.08, sy, -w + 0.08 - dx, sy + dy, half)
    right = _segment(u, v, w - 0.08, sy, w - 0.08 + dx, sy + dy, half)
    body = np.maximum(torso, np.maximum(left, right))
    return body * (1.0 - _ellipse(u, v, 0.0, y0 - 0.02, neck, neck * 0.75))


def _f_tshirt(u: Array, v: Array, q: Array) -> Array:
    return _garment_top(
        u,
        v,
        q,
        w=_lerp(q[:, 0:1, None], 0.4, 0.58),
        y1=_lerp(q[:, 1:2, None], 0.72, 0.92),
        sleeve=_lerp(q[:, 2:3, None], 0.2, 0.5),
        angle=np.radians(_lerp(q[:, 3:4, None], 20, 55)),
        half=_lerp(q[:, 4:5, None], 0.12, 0.18),
        neck=_lerp(q[:, 5:6, None], 0.13, 0.22),
    )


def _f_trouser(u: Array, v: Array, q: Array) -> Array:
    w = _lerp(q[:, 0:1, None], 0.28, 0.42)
    top, bottom = _lerp(q[:, 1:2, None], -0.95, -0.8), _lerp(q[:, 2:3, None], 0.82, 0.96)
    outer = w + _lerp(q[:, 3:4, None], -0.06, 0.1) * (v - top)
    crotch = top + _lerp(q[:, 4:5, None], 0.2, 0.4)
    gap = np.maximum(0.0, _lerp(q[:, 5:6, None], 0.02, 0.1) + 0.12 * (v - crotch)) * (v > crotch)
    legs = _band(u, -outer, outer, 0.07) * _band(v, top, bottom, 0.07)
    return legs * (1.0 - _band(u, -gap, gap, 0.05) * (gap > 0))


def _f_pullover(u: Array, v: Array, q: Array) -> Array:
    body = _garment_top(
        u,
        v,
        q,
        w=_lerp(q[:, 0:1, None], 0.42, 0.6),
        y1=_lerp(q[:, 1:2, None], 0.72, 0.9),
        sleeve=_lerp(q[:, 2:3, None], 0.78, 1.05),
        angle=np.radians(_lerp(q[:, 3:4, None], 55, 80)),
        half=_lerp(q[:, 4:5, None], 0.13, 0.19),
        neck=_lerp(q[:, 5:6, None], 0.13, 0.2),
    )
    y1 = _lerp(q[:, 1:2, None], 0.72, 0.9)
    rib = 1.0 - _lerp(q[:, 6:7, None], 0.15, 0.4) * _band(v, y1 - 0.14, y1 + 0.1, 0.05)
    return body * rib


def _f_dress(u: Array, v: Array, q: Array) -> Array:
    top, bottom = _lerp(q[:, 0:1, None], -0.9, -0.75), _lerp(q[:, 1:2, None], 0.8, 0.96)
    wt, wb = _lerp(q[:, 2:3, None], 0.16, 0.3), _lerp(q[:, 3:4, None], 0.4, 0.8)
    waist = _lerp(q[:, 4:5, None], -0.45, -0.1)
    half = np.where(v < waist, wt, wt + (wb - wt) * (v - waist) / (bottom - waist))
    body = _band(u, -half, half, 0.07) * _band(v, top, bottom, 0.07)
    sleeves = (q[:, 5:6, None] > 0.6) * np.maximum(
        _segment(u, v, -wt, top + 0.1, -wt - 0.25, top + 0.3, 0.1),
        _segment(u, v, wt, top + 0.1, wt + 0.25, top + 0.3, 0.1),
    )
    return np.maximum(body, sleeves) * (1.0 - _ellipse(u, v, 0.0, top, wt * 0.6, 0.1))


def _f_coat(u: Array, v: Array, q: Array) -> Array:
    body = _garment_top(
        u,
        v,
        q,
        w=_lerp(q[:, 0:1, None], 0.45, 0.62),
        y1=_lerp(q[:, 1:2, None], 0.82, 0.97),
        sleeve=_lerp(q[:, 2:3, None], 0.8, 1.08),
        angle=np.radians(_lerp(q[:, 3:4, None], 58, 82)),
        half=_lerp(q[:, 4:5, None], 0.14, 0.2),
        neck=_lerp(q[:, 5:6, None], 0.1, 0.18),
    )
    opening = _lerp(q[:, 6:7, None], 0.3, 0.85) * _band(u, -0.06, 0.06, 0.05)
    return body * (1.0 - opening)


def _f_sandal(u: Array, v: Array, q: Array) -> Array:
    sole_y = _lerp(q[:, 0:1, None], 0.3, 0.5)
    heel = _lerp(q[:, 1:2, None], 0.0, 0.12)
    sole = _segment(u, v, -0.85, sole_y, 0.8, sole_y - heel, 0.06)
    top = _lerp(q[:, 2:3, None], -0.4, 0.05)
    thick = _lerp(q[:, 3:4, None], 0.03, 0.065)
    shift = _lerp(q[:, 4:5, None], -0.15, 0.15)
    straps = [
        _segment(u, v, x + shift, sole_y, x + 0.3 + shift, top + 0.15 * i, thick)
        for i, x in enumerate((-0.7, -0.35, 0.0))
    ]
    ankle = _segment(u, v, 0.25, top - 0.05, 0.75, top + 0.05, thick)
    out = sole
    for part in (*straps, ankle):
        out = np.maximum(out, part)
    return out


def _f_shirt(u: Array, v: Array, q: Array) -> Array:
    short = q[:, 6:7, None] < 0.3
    body = _garment_top(
        u,
        v,
        q,
        w=_lerp(q[:, 0:1, None], 0.4, 0.58),
        y1=_lerp(q[:, 1:2, None], 0.75, 0.94),
        sleeve=np.where(short, _lerp(q[:, 2:3, None], 0.3, 0.5), _lerp(q[:, 2:3, None], 0.75, 1.02)),
        angle=np.radians(np.where(short, 45.0, _lerp(q[:, 3:4, None], 55, 80))),
        half=_lerp(q[:, 4:5, None], 0.12, 0.17),
        neck=_lerp(q[:, 5:6, None], 0.08, 0.14),
    )
    y0 = _lerp(q[:, 7:8, None], -0.84, -0.72)
    collar = np.maximum(
        _segment(u, v, -0.03, y0 + 0.02, -0.17, y0 + 0.16, 0.05), _segment(u, v, 0.03, y0 + 0.02, 0.17, y0 + 0.16, 0.05)
    )
    placket = _lerp(q[:, 7:8, None], 0.25, 0.5) * _band(u, -0.04, 0.04, 0.04) * (np.sin(v * 40.0) > 0.3)
    return np.maximum(body * (1.0 - placket), _lerp(q[:, 5:6, None], 0.75, 1.2) * collar)


def _f_sneaker(u: Array, v: Array, q: Array) -> Array:
    toe_top, heel_top = _lerp(q[:, 0:1, None], 0.0, 0.2), _lerp(q[:, 1:2, None], -0.4, -0.1)
    bottom = _lerp(q[:, 2:3, None], 0.38, 0.5)
    top = toe_top + (heel_top - toe_top) * (u + 0.7) / 1.55
    body = _band(u, -0.7, 0.85, 0.07) * _band(v, top, bottom, 0.07)
    toe = _ellipse(u, v, -0.68, bottom - 0.14, 0.24, 0.14)
    sole = _lerp(q[:, 3:4, None], 0.0, 0.5) * _band(v, bottom - 0.1, bottom, 0.05)
    laces = 0.4 * _band(v, top, top + 0.12, 0.05) * (np.sin(u * 35.0) > 0.4) * (u < 0.3)
    return np.maximum(body, toe) * (1.0 - laces - sole * 0.6) + 0.0


def _f_bag(u: Array, v: Array, q: Array) -> Array:
    w, top = _lerp(q[:, 0:1, None], 0.55, 0.88), _lerp(q[:, 1:2, None], -0.4, 0.05)
    bottom = _lerp(q[:, 2:3, None], 0.75, 0.92)
    taper = _lerp(q[:, 3:4, None], -0.12, 0.12) * (v - top)
    body = _band(u, -w + taper, w - taper, 0.07) * _band(v, top, bottom, 0.07)
    rx, ry = _lerp(q[:, 4:5, None], 0.25, 0.5), _lerp(q[:, 5:6, None], 0.25, 0.45)
    ring = _ellipse(u, v, 0.0, top, rx, ry) * (1.0 - _ellipse(u, v, 0.0, top, rx - 0.09, ry - 0.09))
    handle = ring * (v < top) * (q[:, 6:7, None] > 0.25)
    flap = 0.3 * _band(v, top + 0.22, top + 0.27, 0.04) * (q[:, 7:8, None] > 0.5)
    return np.maximum(body * (1.0 - flap), handle)


def _f_boot(u: Array, v: Array, q: Array) -> Array:
    shaft_x, shaft_top = _lerp(q[:, 0:1, None], -0.05, 0.2), _lerp(q[:, 1:2, None], -0.9, -0.55)
    foot_top, sole = _lerp(q[:, 2:3, None], -0.05, 0.2), _lerp(q[:, 3:4, None], 0.5, 0.65)
    shaft = _rect(u, v, shaft_x, 0.78, shaft_top, sole)
    foot = _rect(u, v, -0.55, 0.78, foot_top, sole)
    toe = _ellipse(u, v, -0.58, (foot_top + sole) / 2 + 0.05, 0.28, (sole - foot_top) / 2)
    heel = _rect(u, v, 0.45, 0.78, sole - 0.02, sole + _lerp(q[:, 4:5, None], 0.05, 0.2))
    dark_sole = 1.0 - _lerp(q[:, 5:6, None], 0.0, 0.5) * _band(v, sole - 0.08, sole + 0.3, 0.05)
    return np.maximum(np.maximum(shaft, foot), np.maximum(toe, heel)) * dark_sole


_FASHION_SHAPES: tuple[Callable[[Array, Array, Array], Array], ...] = (
    _f_tshirt,
    _f_trouser,
    _f_pullover,
    _f_dress,
    _f_coat,
    _f_sandal,
    _f_shirt,
    _f_sneaker,
    _f_bag,
    _f_boot,
)


def _garment_draw(rng: np.random.Generator, n: int) -> Params:
    return {
        "y": _balanced_labels(rng, n, 10).astype(np.uint8),
        "dx": _uniform(rng, -0.3, 0.3, n),
        "dy": _uniform(rng, -0.2, 0.2, n),
        "sx": _uniform(rng, 0.78, 1.08, n),
        "sy": _uniform(rng, 0.82, 1.06, n),
        "rot": rng.normal(0.0, 0.08, n).astype(np.float32),
        "shape": rng.uniform(0.0, 1.0, (n, 8)).astype(np.float32),
        "bright": _uniform(rng, 0.2, 1.0, n),
        "stripes": np.where(rng.uniform(0, 1, n) < 0.35, rng.uniform(0.1, 0.4, n), 0.0),
        "freq": _uniform(rng, 8.0, 22.0, n),
        "horiz": rng.uniform(0, 1, n) < 0.6,
        "lowamp": _uniform(rng, 0.0, 0.3, n),
        "phase": rng.uniform(0.0, 2 * np.pi, (n, 3)).astype(np.float32),
        "noise": _uniform(rng, 0.02, 0.1, n),
        "pixels": rng.standard_normal((n, 28, 28), dtype=np.float32),
    }


def _garment_render(p: Params) -> dict[str, Array]:
    u, v = _affine(28, p)
    mask = np.zeros(u.shape, np.float32)
    for label, shape in enumerate(_FASHION_SHAPES):
        idx = np.flatnonzero(p["y"] == label)
        if idx.size:
            mask[idx] = shape(u[idx], v[idx], p["shape"][idx])
    ph = p["phase"]
    along = np.where(_col(p["horiz"]) > 0, v, u)
    tex = _col(p["stripes"]) * np.sin(_col(p["freq"]) * along + _col(ph[:, 0]))
    tex += _col(p["lowamp"]) * np.sin(2.5 * u + _col(ph[:, 1])) * np.sin(3.0 * v + _col(ph[:, 2]))
    img = mask * _col(p["bright"]) * (1.0 + tex)
    img += _col(p["noise"]) * p["pixels"] * np.minimum(1.0, 3.0 * mask)
    return {"x": _to_uint8(img), "y": p["y"]}


def fashion_mnist(
    *, n_train: int = 60000, n_test: int = 10000, n_holdout: int = 2000, seed: int = 0
) -> dict[str, Array]:
    """Fashion-MNIST stand-in: uint8 (N, 28, 28) garments in 0..255, uint8 labels 0..9.

    Ten garment silhouettes (class order as Keras: T-shirt/top, Trouser, Pullover,
    Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot) with per-sample shift,
    scale, rotation, shape parameters, brightness, texture and noise. T-shirt,
    pullover, coat and shirt share one torso model and overlap deliberately.
    Keys: x_train, y_train, x_test, y_test, x_holdout, y_holdout.
    """
    sizes = {"train": n_train, "test": n_test, "holdout": n_holdout}
    return _splits(seed, "garments", sizes, _garment_draw, _garment_render)
