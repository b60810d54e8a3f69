"""Integrity evidence from inside the student's kernel: which rows each fit(), evaluate(), predict() and scaler saw.

Nothing here keeps the data. Each array is reduced to one 64-bit fingerprint
per row (the row rounded to 5 decimals in float32, hashed), held in memory
only; the probe exports just the counts of rows two arrays share
(:func:`export`), the cell each call ran in (IPython's execution count) and
the names the notebook gave the arrays. The host judges what the counts
mean (``graders.integrity.leakage``): this module only measures.

One exception, capped: the arrays of one evaluate()/predict() call on the
saved model (at most :data:`OWN_SPLIT_ROWS` rows) are written to
``own_split.npz``, so that the trusted evaluator can score the model exactly
as the student fed it (``graders.integrity.forgery``).

``evaluate`` and ``predict`` become data descriptors on the Keras Model
class: a notebook that assigns ``model.evaluate = lambda ...`` still has its
calls observed (and the replacement recorded), because a class's data
descriptor wins over an instance attribute. Every observation is guarded: a
failure here never changes what the student's code gets back.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labgrade_runtime.contract import OWN_SPLIT_FILE, OWN_SPLIT_ROWS
from labgrade_runtime.kernel.state import STATE

CHUNK_BYTES = 16 * 1024 * 1024  # float64 rows handled at a time: a few copies of these stay small beside the data
MAX_HASHED_ROWS = 200_000  # rows fingerprinted per array (a lower bound on shared rows beyond it)
MAX_CALLS = 16  # evaluate()/predict() calls observed (per-image predict loops stop being recorded)
MIN_CALL_ROWS = 10  # a call on fewer rows is not a test split
KEPT_ARRAYS = 4  # recent calls whose capped arrays are held for own_split.npz
SCALERS = ("StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler")

_W: dict[str, Any] = STATE.setdefault(
    "watch",
    {
        "calls": [],
        "scalers": [],
        "maps": [],
        "fit_rows": [],
        "patched": [],
        "arrays": {},
        "depth": 0,
        "cells_run": None,  # the notebook's cells run so far, once count_cells() hooked the shell
    },
)
_TEST = re.compile(r"test|tst|holdout|unseen|(^|_)te($|_)", re.IGNORECASE)
_TRAIN = re.compile(r"train|(^|_)tr($|_)", re.IGNORECASE)
_VAL = re.compile(r"val", re.IGNORECASE)


# ---------------------------------------------------------------- fingerprints


def _shell() -> Any:
    """The IPython shell running the notebook (None outside a kernel); IPython is already imported there."""
    module = sys.modules.get("IPython")
    get = getattr(module, "get_ipython", None) if module is not None else None
    return get() if get is not None else None


def count_cells(shell: Any) -> None:
    """Count the notebook's own cells as they start (the harness's hidden cells keep no history).

    IPython's ``execution_count`` is no measure of that: IPython 8 increments it
    after a cell ran, IPython 9 before, so the same cell reads n or n + 1.
    """
    if shell is None or _W["cells_run"] is not None:
        return
    _W["cells_run"] = 0

    def started(info: Any) -> None:
        if getattr(info, "store_history", True):
            _W["cells_run"] += 1

    shell.events.register("pre_run_cell", started)


def cell() -> int | None:
    """The In [n] of the cell running now: the n-th of the notebook's cells run; None outside IPython."""
    if _W["cells_run"] is not None:
        return int(_W["cells_run"])
    shell = _shell()
    return int(shell.execution_count) if shell is not None else None


def _rows(a: Any) -> Any:
    """A 2-D numpy view of an array-like, or None for what has no rows (datasets, generators, dicts, objects)."""
    import numpy as np

    if a is None or isinstance(a, (dict, list, tuple)) or not hasattr(a, "__len__") or not hasattr(a, "shape"):
        return None
    try:
        arr = np.asarray(a)
    except Exception:  # a tensor on a device, a sparse matrix: no fingerprint, never an error
        return None
    if arr.ndim == 0 or len(arr) == 0 or arr.dtype.kind not in "biufUS":
        return None
    return arr[:MAX_HASHED_ROWS].reshape(min(len(arr), MAX_HASHED_ROWS), -1)


def chunk_rows(width: int) -> int:
    """How many rows of ``width`` values make one chunk of :data:`CHUNK_BYTES` as float64 (at least one)."""
    return max(1, CHUNK_BYTES // (8 * max(1, width)))


def aligned_hashes(a: Any) -> Any:
    """One uint64 fingerprint per row, in row order (0 for a row whose values are all equal: it names nothing)."""
    import numpy as np

    rows = _rows(a)
    if rows is None:
        return None
    out = np.zeros(len(rows), dtype="uint64")
    # In chunks: float64 copies of 60,000 images would be 376 MB, of 25,000 multi-hot reviews 2 GB.
    step = chunk_rows(rows.shape[1])
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        if chunk.dtype.kind in "biuf":
            chunk = np.round(chunk.astype("float64"), 5).astype("float32") + np.float32(0.0)  # -0.0 is 0.0
        constant = (chunk == chunk[:, :1]).all(axis=1)
        hashes = np.fromiter(
            (int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little") for r in chunk),
            dtype="uint64",
            count=len(chunk),
        )
        hashes[constant] = 0
        out[start : start + len(chunk)] = hashes
    return out


def row_set(a: Any) -> Any:
    """The distinct fingerprints of an array's non-constant rows, sorted (None when it has no rows)."""
    import numpy as np

    hashes = aligned_hashes(a)
    return None if hashes is None else np.unique(hashes[hashes != 0])


def names_of(obj: Any, depth: int = 12) -> list[str]:
    """The notebook's names bound to this very object: in the notebook's frames (its cells and the functions
    they define), never a library's own parameter names."""
    if obj is None:
        return []
    found: list[str] = []
    user_ns = _user_ns()
    frame: Any = sys._getframe(1)
    spaces: list[dict[str, Any]] = []
    for _ in range(depth):
        if frame is None:
            break
        if frame.f_globals is user_ns:
            spaces.append(frame.f_locals)
        frame = frame.f_back
    spaces.append(user_ns)
    for space in spaces:
        for name, value in list(space.items()):
            if value is obj and not name.startswith("_") and name not in found:
                found.append(name)
    return found[:4]


def _user_ns() -> dict[str, Any]:
    shell = _shell()
    return shell.user_ns if shell is not None else {}


def role(names: list[str]) -> str:
    """What the notebook's names say an array is: "test", "train", "validation" or "" (no name says)."""
    if any(_TEST.search(n) for n in names):
        return "test"
    if any(_TRAIN.search(n) for n in names):
        return "train"
    if any(_VAL.search(n) for n in names):
        return "validation"
    return ""


def _guarded(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # evidence is best effort: the student's run must never notice the watch
        return None


# ---------------------------------------------------------------- fit()


def on_fit(model: Any, arguments: dict[str, Any], record: dict[str, Any]) -> None:
    """Called by the fit hook before training: the cell, the names and the row fingerprints of x (and validation)."""
    _guarded(_on_fit, model, arguments, record)


def _on_fit(model: Any, arguments: dict[str, Any], record: dict[str, Any]) -> None:
    x = arguments.get("x")
    record["cell"] = cell()
    record["names"] = names_of(x)
    train, val = x, None
    split = arguments.get("validation_split") or 0.0
    rows = _rows(x)
    if rows is not None and isinstance(split, float) and 0.0 < split < 1.0:
        import math

        cut = int(math.ceil(len(rows) * (1.0 - split)))  # Keras keeps the first part for training
        train, val = rows[:cut], rows[cut:]
    data = arguments.get("validation_data")
    if isinstance(data, (tuple, list)) and data:
        val = data[0]
    train_set, val_set = row_set(train), row_set(val)
    record["rows_hashed"] = 0 if train_set is None else int(len(train_set))
    _W["fit_rows"].append((record, train_set, val_set))


# ---------------------------------------------------------------- evaluate() / predict()


class Watched:
    """A data descriptor standing for ``Model.evaluate`` / ``Model.predict`` that observes every call."""

    _labgrade = True

    def __init__(self, kind: str, original: Callable[..., Any]) -> None:
        self.kind, self.original = kind, original
        self.slot = f"_labgrade_replaced_{kind}"
        self.__doc__ = original.__doc__

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.original
        replaced = obj.__dict__.get(self.slot)
        target = replaced if replaced is not None else self.original.__get__(obj, owner)

        def watched(*args: Any, **kwargs: Any) -> Any:
            return _observe(self.kind, obj, target, replaced is not None, args, kwargs)

        watched.__wrapped__ = target  # type: ignore[attr-defined]
        return watched

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value
        _W["patched"].append({"method": self.kind, "cell": cell()})

    def __delete__(self, obj: Any) -> None:
        obj.__dict__.pop(self.slot, None)


def patch_model_class(model_cls: Any) -> None:
    """Observe evaluate() and predict() of a Keras Model class (idempotent)."""
    for kind in ("evaluate", "predict"):
        current = model_cls.__dict__.get(kind, getattr(model_cls, kind, None))
        if current is None or isinstance(current, Watched):  # other shims mark their wrappers _labgrade: not ours
            continue
        setattr(model_cls, kind, Watched(kind, getattr(model_cls, kind)))


def original_predict(model: Any) -> Callable[..., Any]:
    """The model class's own predict, whatever the notebook assigned to the instance."""
    for klass in type(model).__mro__:
        member = klass.__dict__.get("predict")
        if isinstance(member, Watched):
            return member.original.__get__(model, type(model))
    return model.predict


def _observe(
    kind: str, model: Any, target: Callable[..., Any], replaced: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if _W["depth"] or kwargs.get("_use_cached_eval_dataset"):  # fit()'s own validation pass, or a nested call
        return target(*args, **kwargs)
    _W["depth"] += 1
    try:
        entry = _guarded(_start, kind, model, replaced, args, kwargs)
        out = target(*args, **kwargs)
        if entry is not None:
            _guarded(_finish, entry, out)
        return out
    finally:
        _W["depth"] -= 1


def _start(
    kind: str, model: Any, replaced: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any] | None:
    x = args[0] if args else kwargs.get("x")
    rows = _rows(x)
    if x is None or rows is None or len(rows) < MIN_CALL_ROWS or len(_W["calls"]) >= MAX_CALLS:
        return None
    y = (args[1] if len(args) > 1 else kwargs.get("y")) if kind == "evaluate" else None
    names = names_of(x)
    y_from = "evaluate(y)" if y is not None else ""
    if y is None:
        y, y_from = _paired_y(names, len(x))
    entry = {
        "kind": kind,
        "cell": cell(),
        "names": names,
        "role": role(names),
        "rows": int(len(x)),
        "replaced": replaced,
        "returned": [],
        "_model": model,
        "_weights": weights_signature(model),
    }
    hashes = row_set(x)
    entry["rows_hashed"] = 0 if hashes is None else int(len(hashes))
    index = len(_W["calls"])
    _W["calls"].append((entry, hashes))
    _keep_arrays(index, x, y, y_from)
    return entry


def _paired_y(names: list[str], n: int) -> tuple[Any, str]:
    """predict() gets no labels: the notebook's array named like x with x -> y (x_test -> y_test), same length."""
    space = _user_ns()
    for name in names:
        for candidate in (
            re.sub(r"^[xX]", "y", name),
            re.sub(r"(?<=_)[xX](?=$|_)", "y", name),
            name.replace("X", "y").replace("x", "y"),
        ):
            value = space.get(candidate)
            if candidate != name and value is not None and hasattr(value, "shape") and len(value) == n:
                return value, f"{candidate}, paired by name with {name}"
    return None, ""


def _keep_arrays(index: int, x: Any, y: Any, y_from: str) -> None:
    import numpy as np

    kept = _W["arrays"]
    xs = np.array(np.asarray(x)[:OWN_SPLIT_ROWS])  # a copy: the notebook may change its arrays later
    ys = None if y is None else _guarded(lambda: np.array(np.asarray(y)[:OWN_SPLIT_ROWS]))
    kept[index] = (xs, ys, y_from)
    for old in sorted(kept)[:-KEPT_ARRAYS]:
        del kept[old]


def _finish(entry: dict[str, Any], out: Any) -> None:
    import numpy as np

    if entry["kind"] == "evaluate":
        values = np.asarray(list(out.values()) if isinstance(out, dict) else out, dtype="float64").reshape(-1)
        entry["returned"] = [float(v) for v in values[:8]]


def weights_signature(model: Any) -> str:
    """A fingerprint of the model's weights: equal means no training happened in between."""
    import numpy as np

    digest = hashlib.blake2b(digest_size=8)
    for w in getattr(model, "weights", []):
        digest.update(np.asarray(w).tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- scikit-learn scalers


def patch_scalers(module: Any) -> None:
    """Observe fit() and transform() of the scalers students fit on the data (fit_transform calls both)."""
    for name in SCALERS:
        cls = getattr(module, name, None)
        if cls is None or getattr(cls.fit, "_labgrade", False):
            continue
        cls.fit = _scaler_fit(cls.fit)
        cls.transform = _scaler_transform(cls.transform)


def _scaler_fit(fit: Callable[..., Any]) -> Callable[..., Any]:
    def fit_observed(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        _guarded(_record_scaler, self, X)
        return fit(self, X, *args, **kwargs)

    fit_observed._labgrade = True  # type: ignore[attr-defined]
    fit_observed.__wrapped__ = fit  # type: ignore[attr-defined]
    return fit_observed


def _record_scaler(scaler: Any, X: Any) -> None:
    record = {
        "scaler": type(scaler).__name__,
        "cell": cell(),
        "names": names_of(X),
        "rows": int(len(X)) if hasattr(X, "__len__") else 0,
    }
    _W["scalers"].append((record, row_set(X), id(scaler)))


def _scaler_transform(transform: Callable[..., Any]) -> Callable[..., Any]:
    def transform_observed(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        out = transform(self, X, *args, **kwargs)
        _guarded(_record_map, self, X, out)
        return out

    transform_observed._labgrade = True  # type: ignore[attr-defined]
    transform_observed.__wrapped__ = transform  # type: ignore[attr-defined]
    return transform_observed


def _record_map(scaler: Any, X: Any, out: Any) -> None:
    raw, scaled = aligned_hashes(X), aligned_hashes(out)
    if raw is not None and scaled is not None and len(raw) == len(scaled):
        _W["maps"].append((id(scaler), scaled, raw))


# ---------------------------------------------------------------- export


def export(model: Any, out: Path) -> dict[str, Any]:
    """The probe's integrity fields: calls, scalers, shared-row counts, replaced methods, the own split."""
    try:
        return _export(model, out)
    except Exception as exc:  # evidence is best effort; the probe still writes what it has
        return {"patched": list(_W["patched"]), "watch_error": f"{type(exc).__name__}: {exc}"[:300]}


def _export(model: Any, out: Path) -> dict[str, Any]:
    signature = weights_signature(model) if model is not None else ""
    calls = []
    for entry, _ in _W["calls"]:
        public = {k: v for k, v in entry.items() if not k.startswith("_")}
        public["on_saved_model"] = model is not None and entry["_model"] is model and entry["_weights"] == signature
        calls.append(public)
    return {
        "calls": calls,
        "scalers": [record for record, _, _ in _W["scalers"]],
        "overlaps": overlaps(),
        "patched": list(_W["patched"]),
        "own_split": _guarded(_save_own_split, model, calls, out),
    }


def _shared(a: Any, b: Any) -> int:
    import numpy as np

    return 0 if a is None or b is None else int(np.intersect1d(a, b, assume_unique=True).size)


def overlaps() -> list[dict[str, Any]]:
    """Rows each call (and each fit's training data) shares with training, validation and scaler-fit rows."""
    fits = [
        (next(i for i, f in enumerate(STATE["fits"]) if f is rec), tr, va)
        for rec, tr, va in _W["fit_rows"]
        if any(rec is f for f in STATE["fits"])
    ]
    found: list[dict[str, Any]] = []

    def add(rows_of: str, i: int, found_in: str, j: int, shared: int, of: int) -> None:
        if shared:
            found.append(
                {
                    "rows_of": rows_of,
                    "rows_index": i,
                    "found_in": found_in,
                    "found_index": j,
                    "shared": shared,
                    "of": of,
                }
            )

    for i, (_, hashes) in enumerate(_W["calls"]):
        of = 0 if hashes is None else int(len(hashes))
        for j, train, val in fits:
            add("call", i, "fit", j, _shared(hashes, train), of)
            add("call", i, "validation", j, _shared(hashes, val), of)
        for k, (_, fitted, scaler_id) in enumerate(_W["scalers"]):
            add("call", i, "scaler", k, _shared(_raw_rows(scaler_id, hashes), fitted), of)
    for j, train, _ in fits:
        for k, (_, fitted, scaler_id) in enumerate(_W["scalers"]):
            add("fit", j, "scaler", k, _shared(_raw_rows(scaler_id, train), fitted), 0 if train is None else len(train))
    return found


def _raw_rows(scaler_id: int, scaled: Any) -> Any:
    """The rows, before this scaler's transform(), of the scaled rows given (those it produced)."""
    import numpy as np

    if scaled is None:
        return None
    pieces = []
    for owner, outs, raws in _W["maps"]:
        if owner == scaler_id:
            hit = np.isin(outs, scaled) & (outs != 0) & (raws != 0)
            pieces.append(raws[hit])
    return np.unique(np.concatenate(pieces)) if pieces else None


def _save_own_split(model: Any, calls: list[dict[str, Any]], out: Path) -> dict[str, Any] | None:
    """Write own_split.npz from the last call on the saved model with labels (test-named calls first)."""
    import numpy as np

    kept = _W["arrays"]
    usable = [i for i, c in enumerate(calls) if c["on_saved_model"] and i in kept and kept[i][1] is not None]
    if not usable:
        return None
    tested = [i for i in usable if calls[i]["role"] == "test"]
    candidates = tested or [i for i in usable if calls[i]["role"] != "train"]
    if not candidates:
        return None
    index = candidates[-1]
    x, y, y_from = kept[index]
    if y is None or len(y) != len(x):
        return None
    np.savez(out / OWN_SPLIT_FILE, x=x, y=y)
    pred = np.asarray(original_predict(model)(x, verbose=0), dtype="float64")
    flat = pred.reshape(-1)
    return {
        "call": index,
        "file": OWN_SPLIT_FILE,
        "rows": int(len(x)),
        "total_rows": calls[index]["rows"],
        "y_from": y_from,
        "predictions": {
            "mean": float(flat.mean()),
            "std": float(flat.std()),
            "head": [float(v) for v in flat[:16]],
            "shape": list(pred.shape),
        },
    }
