"""Mini project 3 scoring: how much of the colour the model restores on hidden scenes.

The model takes a gray image (H, W, 1) and outputs either the two colour
channels a*b* of CIE Lab (H, W, 2; the manual: tanh, ab/128) or the colour
image itself (H, W, 3, RGB). Both are compared with the truth in a*b*:

* ``mse_ab`` -- mean squared a*b* error in units of 128 (the manual's ab/128);
* ``mse_ab_gray`` -- the same for the "no colour" baseline (a* = b* = 0);
* ``colour_gain`` -- 1 - mse_ab / mse_ab_gray: the share of the colour error
  the model removes (0 = no better than leaving the photo gray);
* ``psnr`` / ``psnr_gray`` -- dB of the RGB image rebuilt from the true L and
  the predicted (or no) colour.

The gray input (luma or Lab L, at the scale the student trained on) is matched
to the recorded training inputs' mean and spread; the output scale to the
recorded targets', else to the output activation (tanh -> ab/128). When
nothing was recorded (a data generator) the standard choices are tried and
the best is reported. Lab maths is plain numpy (sRGB, D65).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from labgrade_runtime.evaluator.kit import ArrayStats, EvalSpec, EvaluationError, FitRecord

_M = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
_WHITE = np.array([0.950456, 1.0, 1.088754])


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in 0..1 (..., 3) -> CIE Lab (L 0..100, a/b about -128..127), D65."""
    rgb = np.clip(np.asarray(rgb, dtype="float64"), 0.0, 1.0)
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = lin @ _M.T / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack(
        [116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1
    )


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE Lab (..., 3) -> sRGB in 0..1 (clipped), D65."""
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 0.206893, f**3, (f - 16.0 / 116.0) / 7.787) * _WHITE
    lin = xyz @ np.linalg.inv(_M).T
    rgb = np.where(lin > 0.0031308, 1.055 * np.abs(lin) ** (1 / 2.4) - 0.055, 12.92 * lin)
    return np.clip(rgb, 0.0, 1.0)


def gray_inputs(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Every gray input students use, from 0..255 RGB (N, H, W, 3) -> (N, H, W, 1)."""
    luma = (rgb @ np.array([0.299, 0.587, 0.114]))[..., None]
    lum = rgb_to_lab(rgb / 255.0)[..., :1]
    return {
        "gray/255": luma / 255.0,
        "gray 0..255": luma,
        "gray in [-1, 1]": luma / 127.5 - 1.0,
        "L/100": lum / 100.0,
        "L 0..100": lum,
        "L/50 - 1": lum / 50.0 - 1.0,
    }


def _closest(stats: ArrayStats, arrays: dict[str, np.ndarray]) -> str:
    """The candidate whose mean and spread are closest to recorded statistics."""
    scale = max(stats.std, 1e-6)
    return min(
        arrays,
        key=lambda k: (
            abs(float(arrays[k].mean()) - stats.mean) / scale + abs(float(arrays[k].std()) - stats.std) / scale
        ),
    )


# How students store a*b* as targets: (name, encode true ab, decode a model output back to ab).
AbReading = tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]
AB_READINGS: tuple[AbReading, ...] = (
    ("ab/128", lambda ab: ab / 128.0, lambda o: o * 128.0),
    ("ab/110", lambda ab: ab / 110.0, lambda o: o * 110.0),
    ("ab/100", lambda ab: ab / 100.0, lambda o: o * 100.0),
    ("ab as is", lambda ab: ab, lambda o: o),
    ("(ab+128)/255", lambda ab: (ab + 128.0) / 255.0, lambda o: o * 255.0 - 128.0),
)


def ab_readings(
    out: np.ndarray, fit_y: ArrayStats | None, ab_true: np.ndarray, activation: str
) -> dict[str, np.ndarray]:
    """Ways to read a 2- or 3-channel output as a*b* (only the recorded/implied one when known)."""
    if out.shape[-1] == 3:
        rgb_scale = 255.0 if float(fit_y.max if fit_y else out.max()) > 2.0 else 1.0
        return {f"RGB output (0..{rgb_scale:g})": rgb_to_lab(out / rgb_scale)[..., 1:]}
    if fit_y:
        name = _closest(fit_y, {n: enc(ab_true) for n, enc, _ in AB_READINGS})
    elif activation == "tanh":
        name = "ab/128"  # the manual's tanh output times 128
    else:
        return {n: dec(out) for n, _, dec in AB_READINGS}
    return {name: next(dec for n, _, dec in AB_READINGS if n == name)(out)}


def _metrics(ab_pred: np.ndarray, lab_true: np.ndarray) -> dict[str, float]:
    ab_true = lab_true[..., 1:]
    mse = float(np.mean((ab_pred - ab_true) ** 2)) / 128.0**2
    base = float(np.mean(ab_true**2)) / 128.0**2
    truth = lab_to_rgb(lab_true)

    def psnr(ab: np.ndarray) -> float:
        err = float(np.mean((lab_to_rgb(np.concatenate([lab_true[..., :1], ab], axis=-1)) - truth) ** 2))
        return 10.0 * np.log10(1.0 / max(err, 1e-10))

    return {
        "colour_gain": 1.0 - mse / base if base > 0 else 0.0,
        "mse_ab": mse,
        "mse_ab_gray": base,
        "psnr": psnr(ab_pred),
        "psnr_gray": psnr(np.zeros_like(ab_pred)),
    }


def _model_rgb(model: Any, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Holdout colour images (0..255 float) at the model's input size, and its input channels."""
    import tensorflow as tf

    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[3] not in (1, 3):
        raise EvaluationError(f"the model takes inputs of shape {shape[1:]}, not gray images (height, width, 1)")
    rgb = np.asarray(x, dtype="float32")
    if shape[1] is not None and shape[2] is not None and (int(shape[1]), int(shape[2])) != rgb.shape[1:3]:
        rgb = np.clip(tf.image.resize(rgb, (int(shape[1]), int(shape[2]))).numpy(), 0, 255)
    return rgb.astype("float64"), int(shape[3])


def _output(model: Any, gray: np.ndarray, channels: int, size: tuple[int, int]) -> np.ndarray:
    """The model's colour output, resized back to the input size if it differs."""
    import tensorflow as tf

    feed = np.repeat(gray, 3, axis=-1) if channels == 3 else gray  # a 3-channel (VGG-style) input gets gray x3
    out = model.predict(feed.astype("float32"), verbose=0, batch_size=128)
    out = np.asarray(out[0] if isinstance(out, (list, tuple)) else out, dtype="float64")
    if out.ndim != 4 or out.shape[-1] not in (2, 3):
        raise EvaluationError(
            f"the model outputs shape {out.shape[1:]}; expected an image of a*b* (H, W, 2) or RGB (H, W, 3)"
        )
    if out.shape[1:3] != size:
        out = tf.image.resize(out, size).numpy().astype("float64")
    return out


def _output_activation(model: Any) -> str:
    """The activation of the last layer that has one (the manual ends in tanh then UpSampling2D)."""
    for layer in reversed(model.layers):
        act = str(layer.get_config().get("activation", "") or "")
        if act:
            return act
    return ""


def score(model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec) -> tuple[dict[str, float], str]:
    """Colour restored on the hidden scenes: colour_gain (primary), mse_ab, psnr and their gray baselines."""
    rgb, channels = _model_rgb(model, holdout["x"])
    lab = rgb_to_lab(rgb / 255.0)
    inputs = gray_inputs(rgb)
    fit_x, fit_y = fit.x, fit.y
    names = [_closest(fit_x, inputs)] if fit_x else list(inputs)
    activation = _output_activation(model)
    best: tuple[dict[str, float], str] | None = None
    for name in names:
        out = _output(model, inputs[name], channels, rgb.shape[1:3])
        for reading, ab in ab_readings(out, fit_y, lab[..., 1:], activation).items():
            metrics = _metrics(ab, lab)
            if best is None or metrics["colour_gain"] > best[0]["colour_gain"]:
                best = (metrics, f"gray input as {name}; output read as {reading}")
    assert best is not None
    note = "" if fit_x else "training inputs not recorded (a data generator fed fit()): best standard choice; "
    return best[0], note + best[1]
