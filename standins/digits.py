"""MNIST-like digits: stroke glyphs with jitter, slant and thickness."""

from __future__ import annotations

import numpy as np

from ._common import Array, Params, _balanced_labels, _splits, _to_uint8, _uniform


def _arc(cx: float, cy: float, rx: float, ry: float, t0: float, t1: float) -> Array:
    """Points of an elliptic arc; angles in degrees, 0 = right, 90 = down."""
    t = np.radians(np.linspace(t0, t1, max(4, int(abs(t1 - t0) / 10) + 1)))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _line(*pts: tuple[float, float]) -> Array:
    return np.array(pts, dtype=np.float64)


# Each digit: one or more variants, each a list of polylines in a box of about
# x in [-0.45, 0.45], y in [-0.7, 0.7] (y down), like a 20x20 MNIST digit box.
_DIGIT_GLYPHS: tuple[tuple[tuple[Array, ...], ...], ...] = (
    ((_arc(0, 0, 0.36, 0.64, 0, 360),), (_arc(0, 0, 0.3, 0.62, -80, 290),)),
    (
        (_line((0.04, -0.66), (-0.02, 0.66)),),
        (_line((-0.2, -0.42), (0.06, -0.66), (0.0, 0.66)),),
        (_line((-0.2, -0.42), (0.06, -0.66), (0.0, 0.66)), _line((-0.2, 0.66), (0.2, 0.66))),
    ),
    (
        (np.vstack([_arc(0, -0.3, 0.34, 0.34, 190, 380), _line((-0.38, 0.64), (0.42, 0.64))]),),
        (
            np.vstack(
                [
                    _arc(0, -0.3, 0.34, 0.34, 200, 360),
                    _arc(-0.34, 0.66, 0.68, 0.96, -10, -90)[1:],
                    _line((-0.38, 0.64), (0.45, 0.6)),
                ]
            ),
        ),
    ),
    (
        (_arc(0, -0.34, 0.32, 0.31, 200, 450), _arc(0, 0.3, 0.36, 0.35, -90, 160)),
        (np.vstack([_arc(0, -0.34, 0.3, 0.31, 200, 440), _arc(0, 0.3, 0.36, 0.35, -110, 160)]),),
    ),
    (
        (_line((0.14, -0.66), (-0.42, 0.24), (0.42, 0.24)), _line((0.2, -0.25), (0.2, 0.66))),
        (_line((-0.3, -0.66), (-0.36, 0.14), (0.4, 0.14)), _line((0.24, -0.66), (0.22, 0.66))),
    ),
    ((_line((0.36, -0.64), (-0.22, -0.64), (-0.28, -0.06)), _arc(0, 0.28, 0.36, 0.36, -150, 160)),),
    ((np.vstack([_arc(0.3, 0.18, 0.64, 0.84, 250, 180), _arc(0.0, 0.34, 0.34, 0.3, 180, 540)]),),),
    (
        (_line((-0.38, -0.64), (0.4, -0.64), (-0.06, 0.68)),),
        (_line((-0.38, -0.64), (0.4, -0.64), (-0.06, 0.68)), _line((-0.12, 0.02), (0.28, 0.02))),
    ),
    (
        (_arc(0, -0.34, 0.27, 0.3, 0, 360), _arc(0, 0.3, 0.34, 0.34, 0, 360)),
        (np.vstack([_arc(0, -0.34, 0.27, 0.3, 90, 450), _arc(0, 0.3, 0.34, 0.34, -90, 270)]),),
    ),
    (
        (_arc(-0.02, -0.3, 0.33, 0.32, 0, 360), _line((0.31, -0.3), (0.22, 0.68))),
        (np.vstack([_arc(-0.02, -0.3, 0.33, 0.32, 0, 360), _arc(-0.6, -0.3, 0.91, 0.98, 0, 75)]),),
    ),
)
_GLYPH_POINTS = 120  # points per glyph, spread evenly along its strokes
_STRAY_POINTS = 16


def _resample(strokes: tuple[Array, ...], n: int) -> Array:
    """Spread n points evenly (by arc length) over all strokes of a glyph."""
    segs = [np.stack([s[:-1], s[1:]], axis=1) for s in strokes]
    seg = np.concatenate(segs)
    length = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)
    cum = np.concatenate([[0.0], np.cumsum(length)])
    t = (np.arange(n) + 0.5) / n * cum[-1]
    i = np.clip(np.searchsorted(cum, t, side="right") - 1, 0, len(seg) - 1)
    f = ((t - cum[i]) / np.maximum(length[i], 1e-9))[:, None]
    return (seg[i, 0] * (1 - f) + seg[i, 1] * f).astype(np.float32)


_GLYPHS = [[_resample(v, _GLYPH_POINTS) for v in variants] for variants in _DIGIT_GLYPHS]


def _mnist_draw(rng: np.random.Generator, n: int) -> Params:
    return {
        "y": _balanced_labels(rng, n, 10).astype(np.uint8),
        "variant": rng.integers(0, 6, n),
        "scale": _uniform(rng, 0.8, 1.08, n),
        "aspect": _uniform(rng, 0.75, 1.15, n),
        "slant": rng.normal(0.1, 0.25, n).astype(np.float32),
        "rot": rng.normal(0.0, 0.1, n).astype(np.float32),
        "dx": _uniform(rng, -0.12, 0.12, n),
        "dy": _uniform(rng, -0.09, 0.09, n),
        "warp": rng.normal(0.0, 0.06, (n, 4)).astype(np.float32),
        "gain": _uniform(rng, 1.5, 5.0, n),
        # a stray pen mark on some digits: (on, x, y, angle, length)
        "stray": np.stack(
            [
                rng.uniform(0, 1, n) < 0.1,
                rng.uniform(-0.6, 0.6, n),
                rng.uniform(-0.7, 0.7, n),
                rng.uniform(0, np.pi, n),
                rng.uniform(0.1, 0.35, n),
            ],
            axis=1,
        ).astype(np.float32),
    }


def _blur(img: Array, kernel: Array) -> Array:
    """Separable blur of (n, s, s) images with a small symmetric kernel (zero padding)."""
    r = len(kernel) // 2
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (r, r)
        p = np.pad(img, pad)
        size = img.shape[axis]
        out = np.zeros_like(img)
        for i, k in enumerate(kernel):
            out += k * (p[:, i : i + size] if axis == 1 else p[:, :, i : i + size])
        img = out
    return img


def _splat(pts: Array, size: int, weight: Array) -> Array:
    """Bilinear splat of points (n, P, 2) in [-1, 1] coordinates onto (n, size, size)."""
    n, npts = pts.shape[:2]
    g = (pts + 1.0) * size / 2.0 - 0.5
    x0, y0 = np.floor(g[..., 0]), np.floor(g[..., 1])
    fx, fy = g[..., 0] - x0, g[..., 1] - y0
    base = np.arange(n)[:, None] * size * size
    out = np.zeros(n * size * size, np.float64)
    for ox, oy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = (x0 + ox).astype(np.int64), (y0 + oy).astype(np.int64)
        ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
        idx = (base + yi * size + xi)[ok]
        out += np.bincount(idx, weights=(w * weight)[ok], minlength=out.size)
    return out.reshape(n, size, size).astype(np.float32)


def _mnist_render(p: Params) -> dict[str, Array]:
    n = len(p["y"])
    pts = np.empty((n, _GLYPH_POINTS, 2), np.float32)
    for label, variants in enumerate(_GLYPHS):
        for k, glyph in enumerate(variants):
            sel = (p["y"] == label) & (p["variant"] % len(variants) == k)
            pts[sel] = glyph
    x, y = pts[..., 0], pts[..., 1]
    w = p["warp"]
    x = x + w[:, 0:1] * np.sin(3.0 * y + 10 * w[:, 1:2]) + p["slant"][:, None] * -y
    y = y + w[:, 2:3] * np.sin(3.0 * x + 10 * w[:, 3:4])
    c, s = np.cos(p["rot"])[:, None], np.sin(p["rot"])[:, None]
    sx, sy = (p["scale"] * p["aspect"])[:, None], p["scale"][:, None]
    gx = (c * x - s * y) * sx + p["dx"][:, None]
    gy = (s * x + c * y) * sy + p["dy"][:, None]
    on, sx0, sy0, ang, length = (p["stray"][:, i : i + 1] for i in range(5))
    t = np.linspace(0.0, 1.0, _STRAY_POINTS, dtype=np.float32)[None, :] * length
    gx = np.concatenate([gx, sx0 + t * np.cos(ang)], axis=1)
    gy = np.concatenate([gy, sy0 + t * np.sin(ang)], axis=1)
    weight = np.concatenate([np.full((n, _GLYPH_POINTS), 0.47), np.repeat(on * 0.35, _STRAY_POINTS, 1)], axis=1)
    ink = _splat(np.stack([gx, gy], axis=-1) * 0.72, 28, weight)
    ink = _blur(ink, np.array([0.05, 0.25, 0.4, 0.25, 0.05], np.float32))
    img = 1.0 - np.exp(-p["gain"][:, None, None] * ink)
    return {"x": _to_uint8(img * 1.5 - 0.25), "y": p["y"]}


def mnist(*, n_train: int = 60000, n_test: int = 10000, n_holdout: int = 2000, seed: int = 0) -> dict[str, Array]:
    """MNIST stand-in: uint8 (N, 28, 28) white-on-black digits 0..9, uint8 labels.

    Each digit is a stroke glyph (one of a few writing variants, e.g. 1 with or
    without flag and base, crossed 7, open 4) with per-sample slant, rotation,
    aspect, smooth warp, shift and stroke thickness, rendered anti-aliased.
    Keys: x_train, y_train, x_test, y_test, x_holdout, y_holdout.
    """
    sizes = {"train": n_train, "test": n_test, "holdout": n_holdout}
    return _splits(seed, "mnist", sizes, _mnist_draw, _mnist_render)
