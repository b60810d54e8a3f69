"""The notebook's own test split, scored by trusted code: the saved model fed exactly what the student fed it.

The kernel's probe saves (capped) the arrays one evaluate()/predict() call
passed to the saved model as ``own_split.npz`` beside the model. The file is
untrusted: it is loaded without pickles and validated (names, dtypes, row
counts, size) before the model sees it. No feeding is inferred here: the
arrays are used as they are, so a number measured on them is the number the
student's own evaluate() would have given. The probe also recorded the
kernel's own predictions on these rows; matching them shows that the model
file and this feeding reproduce the student's run (``reproduced``), which is
what an integrity flag needs before it may say the printed numbers were not
the model's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from labgrade_runtime.contract import OWN_SPLIT_ROWS, OwnSplitScore, ProbeResult, written_here
from labgrade_runtime.evaluator.kit import classification_metrics, predict_first

MAX_BYTES = 64_000_000
REPRODUCED_TOLERANCE = 1e-3  # predictions within this (relative to their spread) are the same model, same inputs


def score(model: Any, probe: ProbeResult, folder: Path) -> OwnSplitScore | None:
    """The own-split score (rows, metrics, reproduced), or None when the notebook evaluated no split of its own."""
    info = probe.own_split
    if info is None:
        return None
    try:
        x, y = _load(folder / info.file)  # the contract keeps the name a plain file beside probe.json
        x = conform(model, x)  # shaped as the model's own Keras generation shaped it, checked before TF sees it
        pred = predict_first(model, x) if x.dtype.kind != "U" else np.asarray(model.predict(x, verbose=0))
    except Exception as exc:  # an unreadable or unfit file is a reason, never a failed evaluation
        return OwnSplitScore(
            reason=f"the notebook's own split could not be scored: {type(exc).__name__}: {str(exc)[:200]}"
        )
    reproduced, difference = _reproduced(pred, info.predictions)
    return OwnSplitScore(rows=len(x), metrics=metrics(pred, y), reproduced=reproduced, max_difference=difference)


def saved_shape(probe: ProbeResult, folder: Path) -> str:
    """The saved split's input shape, read from the file's header only ('' when it cannot be read)."""
    info = probe.own_split
    if info is None:
        return ""
    try:
        with np.load(written_here(folder / info.file), allow_pickle=False) as data:
            x = data["x"]
            return f"{tuple(int(d) for d in x.shape)} {x.dtype}"
    except Exception:  # unreadable: score() says why
        return "an unreadable file"


def conform(model: Any, x: np.ndarray) -> np.ndarray:
    """``x`` as the model's Keras generation would shape it for this model; ValueError in words if it cannot.

    tf-keras (Keras 2) adds the trailing channel a model's input has and the array lacks (a 3-D stack of
    gray images fed to a Conv2D taking (28, 28, 1)) and so reproduces the student's own evaluate(); fed
    as is, TensorFlow's CPU kernels may abort the whole process rather than raise. Any other mismatch of
    the known dimensions is refused here, before TensorFlow sees it.
    """
    try:
        shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
        want = [None if d is None else int(d) for d in tuple(shape)[1:]]
    except Exception:  # several inputs or none known: fed as saved
        return x
    if x.dtype.kind == "U":
        return x
    have = list(x.shape[1:])

    def fits(dims: list[int]) -> bool:
        return len(dims) == len(want) and all(w is None or w == d for w, d in zip(want, dims))

    if not fits(have) and want and want[-1] == 1 and fits([*have, 1]):
        return x[..., np.newaxis]
    if not fits(have):
        raise ValueError(
            f"the saved inputs have samples of shape {tuple(have)} and the model takes {tuple(want)}: not fed to it"
        )
    return x


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if written_here(path).stat().st_size > MAX_BYTES:
        raise ValueError(f"own_split.npz is over {MAX_BYTES:,} bytes")
    with np.load(path, allow_pickle=False) as data:
        if sorted(data.files) != ["x", "y"]:
            raise ValueError(f"own_split.npz holds {sorted(data.files)}, not x and y")
        x, y = data["x"], data["y"]
    if x.dtype.kind not in "biufU" or y.dtype.kind not in "biuf" or x.ndim < 1 or y.ndim < 1:
        raise ValueError(f"own_split.npz has x {x.dtype} {x.shape} and y {y.dtype} {y.shape}")
    if not 0 < len(x) <= OWN_SPLIT_ROWS or len(y) != len(x):
        raise ValueError(f"own_split.npz has {len(x)} inputs and {len(y)} labels (at most {OWN_SPLIT_ROWS})")
    return (x if x.dtype.kind == "U" else x.astype("float32")), y


def metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy for class labels (integers or one-hot), regression errors when predictions and targets align."""
    pred = np.asarray(pred, dtype="float64")
    labels = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    out: dict[str, float] = {}
    integer = bool(np.all(np.asarray(labels, float) == np.round(np.asarray(labels, float))))
    one_hot = labels.ndim == 2 and bool(np.all((labels == 0) | (labels == 1)))
    if (integer and labels.ndim == 1) or one_hot:
        out.update(classification_metrics(pred, labels))
    if pred.size == y.size and not one_hot:
        err = pred.reshape(-1) - np.asarray(y, float).reshape(-1)
        mse, var = float(np.mean(err**2)), float(np.var(np.asarray(y, float)))
        out.update(mse=mse, mae=float(np.mean(np.abs(err))), rmse=float(np.sqrt(mse)))
        if var > 0:
            out["r2"] = 1.0 - mse / var
    return out


def _reproduced(pred: np.ndarray, kernel: dict[str, Any]) -> tuple[bool, float | None]:
    """Whether the kernel's own predictions on these rows (mean, spread, first values) are the evaluator's."""
    head = kernel.get("head")
    if not isinstance(head, list) or not head or "mean" not in kernel or "std" not in kernel:
        return False, None
    flat = np.asarray(pred, dtype="float64").reshape(-1)
    ours = [float(flat.mean()), float(flat.std())] + [float(v) for v in flat[: len(head)]]
    try:  # the kernel's numbers come from probe.json: untrusted, maybe not numbers at all
        theirs = [float(kernel["mean"]), float(kernel["std"])] + [float(v) for v in head]
    except (TypeError, ValueError, OverflowError):
        return False, None
    if len(ours) != len(theirs):
        return False, None
    difference = float(np.max(np.abs(np.asarray(ours) - np.asarray(theirs))))
    scale = max(1.0, abs(float(kernel["std"])), abs(float(kernel["mean"])))
    return difference <= REPRODUCED_TOLERANCE * scale, difference
