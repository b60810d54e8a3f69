"""Face-like images: identities (CelebA-like) and UTKFace-like age/gender/race."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._common import (
    _DATASET_IDS,
    SPLITS,
    Array,
    Params,
    _affine,
    _band,
    _check_sizes,
    _col,
    _ellipse,
    _rect,
    _rng,
    _segment,
    _to_uint8,
    _uniform,
)

_SKIN = np.array(
    [  # rough skin tones per UTKFace race: White, Black, Asian, Indian, Others
        [0.93, 0.78, 0.66],
        [0.45, 0.30, 0.20],
        [0.92, 0.80, 0.62],
        [0.72, 0.53, 0.38],
        [0.80, 0.62, 0.48],
    ],
    np.float32,
)
_HAIR = np.array(
    [[0.1, 0.07, 0.05], [0.35, 0.22, 0.1], [0.75, 0.6, 0.3], [0.55, 0.2, 0.08], [0.05, 0.05, 0.05]], np.float32
)
_FACE_KEYS = (
    "face_rx",
    "face_ry",
    "jaw",
    "eye_dx",
    "eye_y",
    "eye_r",
    "brow",
    "nose",
    "mouth_y",
    "mouth_w",
    "lip",
    "hairline",
    "hair_len",
    "beard",
    "glasses",
    "wrinkles",
    "grey",
)


def _face_attrs(rng: np.random.Generator, n: int, race: Array) -> Params:
    """Identity-level appearance: geometry, colours, hair; race picks the skin palette."""
    skin = _SKIN[race] * rng.uniform(0.9, 1.08, (n, 1)) + rng.normal(0, 0.03, (n, 3))
    hair = np.where((race == 0)[:, None], _HAIR[rng.integers(0, 5, n)], _HAIR[rng.choice([0, 1, 4], n)])
    p = {
        "skin": skin.astype(np.float32),
        "hair": (hair * rng.uniform(0.8, 1.2, (n, 1))).astype(np.float32),
        "iris": rng.uniform(0.05, 0.5, (n, 3)).astype(np.float32),
        "face_rx": _uniform(rng, 0.4, 0.55, n),
        "face_ry": _uniform(rng, 0.55, 0.7, n),
        "jaw": _uniform(rng, 0.0, 0.5, n),
        "eye_dx": _uniform(rng, 0.15, 0.25, n),
        "eye_y": _uniform(rng, -0.18, -0.02, n),
        "eye_r": _uniform(rng, 0.06, 0.1, n),
        "brow": _uniform(rng, 0.015, 0.045, n),
        "nose": _uniform(rng, 0.08, 0.24, n),
        "mouth_y": _uniform(rng, 0.26, 0.42, n),
        "mouth_w": _uniform(rng, 0.1, 0.22, n),
        "lip": _uniform(rng, 0.0, 0.6, n),
        "hairline": _uniform(rng, -0.55, -0.3, n),
        "hair_len": _uniform(rng, 0.0, 1.0, n),
        "beard": np.zeros(n, np.float32),
        "glasses": (rng.uniform(0, 1, n) < 0.2).astype(np.float32),
        "wrinkles": np.zeros(n, np.float32),
        "grey": np.zeros(n, np.float32),
        "head": np.ones(n, np.float32),
    }
    return p


def _face_pose(rng: np.random.Generator, n: int) -> Params:
    """Per-photo nuisance: pose, expression, light, background, noise."""
    return {
        "dx": _uniform(rng, -0.1, 0.1, n),
        "dy": _uniform(rng, -0.08, 0.08, n),
        "sx": _uniform(rng, 0.88, 1.08, n),
        "sy": _uniform(rng, 0.88, 1.08, n),
        "rot": rng.normal(0, 0.08, n).astype(np.float32),
        "smile": rng.normal(0.2, 0.35, n).astype(np.float32),
        "open": _uniform(rng, 0.45, 0.9, n),
        "light": _uniform(rng, 0.0, 0.35, n),
        "light_dir": _uniform(rng, 0, 2 * np.pi, n),
        "bg": rng.uniform(0.1, 0.9, (n, 3)).astype(np.float32),
        "noise": _uniform(rng, 0.01, 0.05, n),
    }


def _over(img: Array, alpha: Array, colour: Array) -> Array:
    """Alpha-composite a colour (n, 3) over img (n, s, s, 3) with coverage (n, s, s)."""
    diff = img - colour[:, None, None, :].astype(np.float32)
    diff *= alpha[..., None]
    return img - diff


def _draw_head(img: Array, u: Array, v: Array, p: Params, col: Params, e: float) -> Array:
    """Long hair behind, the face, wrinkles, the hair cap and a beard."""
    rx = col["face_rx"] * (1.0 - col["jaw"] * np.clip(v - 0.05, 0.0, 1.0))
    face_mask = _ellipse(u, v, 0.0, 0.05, rx, col["face_ry"], e)
    if p["hair_len"].max(initial=0.0) > 0.45:
        long_hair = np.maximum(
            _rect(u, v, -col["face_rx"] - 0.12, col["face_rx"] + 0.12, 0.0, 0.2 + 0.75 * col["hair_len"], e),
            _ellipse(u, v, 0.0, 0.0, col["face_rx"] + 0.12, col["face_ry"] + 0.1, e),
        )
        img = _over(img, long_hair * (col["hair_len"] > 0.45), p["hair_c"])
    img = _over(img, face_mask, p["skin"])
    if p["wrinkles"].any():
        lines = (np.sin(v * 36.0) > 0.3) * _band(v, -0.62, -0.25, e) * _band(u, -0.3, 0.3, e)
        folds = _band(np.abs(u), 0.16, 0.2, e) * _band(v, 0.1, 0.35, e)  # nose-to-mouth lines
        img = _over(img, face_mask * col["wrinkles"] * np.maximum(lines, folds), p["skin"] * 0.6)
    cap = _ellipse(u, v, 0.0, 0.0, col["face_rx"] + 0.05, col["face_ry"] + 0.08, e) * (v < col["hairline"])
    img = _over(img, cap, p["hair_c"])
    if p["beard"].any():
        img = _over(img, face_mask * col["beard"] * _band(v, col["mouth_y"] - 0.1, 1.0, e), p["hair_c"] * 0.8)
    return img


def _draw_features(img: Array, u: Array, v: Array, p: Params, col: Params, e: float) -> Array:
    """Eyes, brows, glasses, nose and mouth; the face is symmetric, so |u| draws both sides."""
    au = np.abs(u)
    dx, ey, ry = col["eye_dx"], col["eye_y"], col["eye_r"] * _col(p["open"])
    img = _over(img, _ellipse(au, v, dx, ey, col["eye_r"] * 1.3, ry, e), np.full_like(p["skin"], 0.95))
    img = _over(img, _ellipse(au, v, dx, ey, ry * 0.9, ry * 0.9, e), p["iris"])
    img = _over(img, _segment(au, v, dx - 0.09, ey - 0.13, dx + 0.09, ey - 0.11, col["brow"], e), p["hair_c"] * 0.7)
    if p["glasses"].any():
        ring = _ellipse(au, v, dx, ey, 0.14, 0.11, e) - _ellipse(au, v, dx, ey, 0.115, 0.085, e)
        img = _over(img, np.clip(ring, 0, 1) * col["glasses"], np.full_like(p["skin"], 0.08))
    img = _over(img, _segment(u, v, 0.0, ey + 0.06, 0.02, ey + 0.06 + col["nose"], 0.03, e), p["skin"] * 0.78)
    curve = col["mouth_y"] + _col(p["smile"]) * 0.08 * (1.0 - (u / col["mouth_w"]) ** 2)
    lips = _band(v, curve - 0.035, curve + 0.035, e) * _band(u, -col["mouth_w"], col["mouth_w"], e)
    lip_c = p["skin"] * 0.6 + np.array([0.35, 0.0, 0.0], np.float32) * p["lip"][:, None]
    return _over(img, lips, lip_c)


def _render_faces(p: Params, size: int, noise: Array) -> Array:
    """Faces (n, size, size, 3) uint8 from attributes + pose, painted back to front."""
    u, v = _affine(size, p)
    e = 2.5 / size  # about one pixel of anti-aliasing
    col = {k: _col(p[k]) for k in _FACE_KEYS}
    grey = p["grey"][:, None]
    p = {**p, "hair_c": p["hair"] * (1 - grey) + 0.78 * grey}
    img = np.broadcast_to(p["bg"][:, None, None, :], (*u.shape, 3)) * (0.8 + 0.3 * (v[..., None] + 1) / 2)
    img = _draw_features(_draw_head(img, u, v, p, col, e), u, v, p, col, e)
    light = 1.0 + _col(p["light"]) * (u * _col(np.cos(p["light_dir"])) + v * _col(np.sin(p["light_dir"])))
    return _to_uint8(img * light[..., None] + _col(p["noise"])[..., None] * noise)


_RENDER_BATCH = 128  # faces / scenes rendered per batch: bounds peak memory at 64x64x3


def _batched(render: Callable[[Params], Array], p: Params, n: int) -> Array:
    parts = [render({k: v[i : i + _RENDER_BATCH] for k, v in p.items()}) for i in range(0, n, _RENDER_BATCH)]
    return np.concatenate(parts) if parts else render({k: v[:0] for k, v in p.items()})


def _face_images(rng: np.random.Generator, attrs: Params, size: int) -> Array:
    """Render one photo per row of ``attrs`` (identity/attribute level) with fresh pose."""
    n = len(attrs["face_rx"])
    p = {**attrs, **_face_pose(rng, n), "pixels": rng.standard_normal((n, size, size, 3), np.float32)}
    p["sx"], p["sy"] = p["sx"] * p["head"], p["sy"] * p["head"]
    return _batched(lambda q: _render_faces(q, size, q["pixels"]), p, n)


def faces(
    *,
    n_identities: int = 20,
    per_identity: int = 20,
    holdout_per_identity: int = 5,
    test_fraction: float = 0.2,
    size: int = 64,
    seed: int = 0,
) -> dict[str, Array]:
    """Face-recognition stand-in (mini project 1): uint8 RGB (N, size, size, 3) faces.

    Each identity has its own skin tone, face and jaw shape, eye spacing and
    colour, brows, nose, mouth, hair colour and style, glasses, beard and age
    marks; each photo varies pose, scale, expression, lighting, background and
    noise. ``per_identity`` public photos per identity are split into train and
    test by ``test_fraction`` (stratified); ``holdout_per_identity`` more are
    hidden. Labels ``y_*`` are int64 identity ids 0..n_identities-1.
    """
    _check_sizes(
        n_identities=n_identities, per_identity=per_identity, holdout_per_identity=holdout_per_identity, size=size
    )
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    rng = _rng(seed, _DATASET_IDS["faces"], 100)
    ident = _face_attrs(rng, n_identities, rng.integers(0, 5, n_identities))
    ident["beard"] = np.where(rng.uniform(0, 1, n_identities) < 0.25, rng.uniform(0.5, 0.9, n_identities), 0.0)
    age = rng.uniform(0, 1, n_identities)
    ident["grey"] = np.clip(age * 2 - 1.2, 0, 1).astype(np.float32)
    ident["wrinkles"] = np.clip(age * 2 - 1.0, 0, 1).astype(np.float32) * 0.7
    n_test = int(round(per_identity * test_fraction))
    counts = {"train": per_identity - n_test, "test": n_test, "holdout": holdout_per_identity}
    out: dict[str, Array] = {}
    for split, k in counts.items():
        srng = _rng(seed, _DATASET_IDS["faces"], SPLITS.index(split))
        y = srng.permutation(np.repeat(np.arange(n_identities, dtype=np.int64), k))
        out[f"x_{split}"] = _face_images(srng, {key: val[y] for key, val in ident.items()}, size)
        out[f"y_{split}"] = y
    return out


_RACE_P = np.array([0.42, 0.19, 0.15, 0.17, 0.07])  # UTKFace's rough race mix


def _utk_attrs(rng: np.random.Generator, n: int) -> tuple[Params, Array, Array, Array]:
    """Per-person attributes where gender and age visibly change the face."""
    band = rng.choice(3, n, p=[0.15, 0.6, 0.25])
    age = np.select(
        [band == 0, band == 1], [rng.integers(1, 15, n), rng.integers(15, 46, n)], rng.integers(46, 91, n)
    ).astype(np.int64)
    gender = rng.integers(0, 2, n).astype(np.int64)
    race = rng.choice(5, n, p=_RACE_P).astype(np.int64)
    p = _face_attrs(rng, n, race)
    female, child = gender == 1, age < 13
    f32 = np.float32
    p["hair_len"] = np.where(
        female ^ (rng.uniform(0, 1, n) < 0.05), rng.uniform(0.55, 1.0, n), rng.uniform(0.0, 0.4, n)
    ).astype(f32)
    p["jaw"] = np.where(female, rng.uniform(0.3, 0.55, n), rng.uniform(0.0, 0.25, n)).astype(f32)
    p["face_rx"] = (p["face_rx"] + np.where(female, -0.02, 0.03)).astype(f32)
    p["lip"] = np.where(female, rng.uniform(0.5, 0.9, n), rng.uniform(0.0, 0.3, n)).astype(f32)
    p["brow"] = (p["brow"] * np.where(female, 0.7, 1.2)).astype(f32)
    p["beard"] = ((~female) & (age > 17) & (rng.uniform(0, 1, n) < 0.5)) * rng.uniform(0.5, 0.9, n)
    p["grey"] = (np.clip((age - 30) / 30.0, 0, 1) * rng.uniform(0.85, 1.0, n)).astype(f32)
    p["wrinkles"] = (np.clip((age - 20) / 40.0, 0, 1) * rng.uniform(0.85, 1.0, n)).astype(f32)
    p["head"] = np.where(child, 0.75 + 0.015 * age, 1.0).astype(f32)
    p["hairline"] = (p["hairline"] - np.where(~female & (age > 50), (age - 50) / 60.0, 0.0)).astype(f32)
    p["eye_r"] = (p["eye_r"] * np.where(child, 1.35, 1.0)).astype(f32)
    p["eye_y"] = (p["eye_y"] + np.where(child, 0.08, 0.0)).astype(f32)
    p["face_ry"] = np.where(child, p["face_rx"] * 1.12, p["face_ry"]).astype(f32)
    p["beard"] = p["beard"].astype(f32)
    return p, age, gender, race


def utkface(
    *, n_train: int = 2000, n_test: int = 500, n_holdout: int = 500, size: int = 64, seed: int = 0
) -> dict[str, Array]:
    """UTKFace stand-in (mini project 2): uint8 RGB (N, size, size, 3) faces with labels.

    ``age_*`` int64 1..90 (skewed to 15-45 like UTKFace), ``gender_*`` int64
    (0 male, 1 female), ``race_*`` int64 0..4 (White, Black, Asian, Indian,
    Others). Gender shows in hair length, jaw, lips, brows and beards; age in
    child proportions, grey hair, wrinkles and receding hairlines.
    """
    _check_sizes(n_train=n_train, n_test=n_test, n_holdout=n_holdout, size=size)
    out: dict[str, Array] = {}
    for split, n in {"train": n_train, "test": n_test, "holdout": n_holdout}.items():
        rng = _rng(seed, _DATASET_IDS["utkface"], SPLITS.index(split))
        attrs, age, gender, race = _utk_attrs(rng, n)
        out[f"x_{split}"] = _face_images(rng, attrs, size)
        out[f"age_{split}"], out[f"gender_{split}"], out[f"race_{split}"] = age, gender, race
    return out
