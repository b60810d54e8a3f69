"""Trusted helpers for the experiments' own scoring modules (rubrics/<id>/evaluate.py).

Image experiments share them: feed a holdout image batch to whatever input
size and channel count the student's model takes, scaled the way the
student's training inputs were (or, when a data generator hid them, the
standard scalings students write).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labgrade_runtime.evaluate import EvaluationError, input_transform

# The scalings students write for images, as (name, transform of 0..255 pixels).
STANDARD_SCALINGS = (("divided by 255", lambda x: x / 255.0), ("as served (0..255)", lambda x: x),
                     ("scaled to [-1, 1]", lambda x: x / 127.5 - 1.0))


def model_images(model: Any, x: np.ndarray) -> np.ndarray:
    """Holdout images resized to the model's input height/width, gray if it takes one channel."""
    import tensorflow as tf

    shape = tuple(model.inputs[0].shape)
    if len(shape) == 2 and shape[1] == int(np.prod(x.shape[1:])):
        return np.asarray(x, dtype="float64").reshape(len(x), -1)  # a dense network on flattened pixels
    if len(shape) != 4:
        raise EvaluationError(f"the model takes inputs of shape {shape[1:]}, not images (height, width, channels)")
    h, w, c = shape[1], shape[2], shape[3]
    out = np.asarray(x, dtype="float32")
    if h is not None and w is not None and (int(h), int(w)) != out.shape[1:3]:
        out = tf.image.resize(out, (int(h), int(w))).numpy()
    if c == 1:
        out = out @ np.array([[0.299], [0.587], [0.114]], "float32")
    return out.astype("float64")


def scalings(fit_x: dict[str, Any] | None, raw_x: dict[str, Any]) -> list[tuple[str, Any]]:
    """The input transform(s) to try: the recorded one, else every standard scaling."""
    if fit_x:
        transform, how = input_transform(fit_x, raw_x, False)
        return [(how, transform)]
    note = "training inputs not recorded (a data generator fed fit()); best standard scaling: "
    return [(note + name, fn) for name, fn in STANDARD_SCALINGS]


def predict_first(model: Any, x: np.ndarray) -> np.ndarray:
    """The model's (first) output on x."""
    pred = model.predict(x.astype("float32"), verbose=0, batch_size=128)
    if isinstance(pred, dict):
        pred = next(iter(pred.values()))
    if isinstance(pred, (list, tuple)):
        pred = pred[0]
    return np.asarray(pred)
