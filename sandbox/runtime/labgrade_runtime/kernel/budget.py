"""The quick profile's budget of work per ``fit()``: gradient updates, never seconds.

A fit runs as written while the updates it asks for (epochs x batches per
epoch) fit the profile's budget (``JobSpec.fit_updates``, derived in the
rubric from the reference's own training). Only a fit over it is cut, and the
cut is invisible to the notebook's own code: every epoch it asked for still
runs (so ``history`` has as many entries as ``epochs``, and a plot against
``range(1, EPOCHS + 1)`` still works), each on fewer batches. Arrays are cut
to a seeded sample of the rows those batches hold (the same sample every
epoch): Keras walks and shuffles the whole array it is given each epoch, so
``steps_per_epoch`` over a 60,000-image array costs over ten times the
updates it makes. A generator or dataset, whose rows cannot be sampled, gets
``steps_per_epoch``. Updates are counted, not rows: a big ``batch_size`` is
not starved. Only a
fit asking for more epochs than the budget has updates is cut in epochs
(one batch each), and says so.

Validation data of a cut fit is scored on a seeded sample (a fixed one, the
same every epoch); ``validation_split`` is taken exactly as Keras takes it
(the last samples) and its part sampled the same way. Every cut is said with
its numbers in the run's adaptations, and kept in the fit's record for the
host's "still improving?" judgement.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import warnings
from collections.abc import Iterator
from typing import Any

from labgrade_runtime.kernel.state import JOB, note

DEFAULT_BATCH = 32  # Keras's batch_size when fit() is given arrays and none
MIN_VALIDATION = 500  # a cut fit validates on a quarter of what it trains an epoch, at least this many samples


def length(a: Any) -> int | None:
    """How many samples an array-like holds (the first dimension), or None for a generator or dataset."""
    if isinstance(a, dict):
        lengths = {length(v) for v in a.values()}
        return lengths.pop() if len(lengths) == 1 else None
    if isinstance(a, (list, tuple)) and a and all(hasattr(v, "shape") for v in a):
        lengths = {length(v) for v in a}
        return lengths.pop() if len(lengths) == 1 else None
    shape = getattr(a, "shape", None)
    if shape is None or not len(shape) or shape[0] is None:
        return None
    return int(shape[0])


def take(a: Any, rows: Any) -> Any:
    """The samples ``rows`` of an array-like (numpy, pandas, sparse, a tensor; a list or dict of them)."""
    if a is None:
        return None
    if isinstance(a, dict):
        return {k: take(v, rows) for k, v in a.items()}
    if isinstance(a, (list, tuple)):
        return type(a)(take(v, rows) for v in a)
    if hasattr(a, "iloc"):
        return a.iloc[rows]
    if type(a).__module__.startswith("numpy") or hasattr(a, "tocsr"):
        return a[rows]
    import numpy as np

    return np.asarray(a)[rows]  # a framework tensor: its values


def sample(n: int, size: int, salt: int) -> Any:
    """A seeded sample of ``size`` of ``n`` sample positions, in sorted order."""
    import numpy as np

    return np.sort(np.random.RandomState(JOB.spec.seed + salt).permutation(n)[:size])


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _batches_per_epoch(args: dict[str, Any]) -> tuple[int | None, int, int | None]:
    """(batches one epoch makes, batch size, training samples), as the call is written; None when unknown."""
    x = args.get("x")
    asked = args.get("steps_per_epoch")
    n = length(x)
    if n is None:  # a batch iterator or dataset: its own length, when it has one
        batch = _int(getattr(x, "batch_size", None), 0)
        if isinstance(asked, int) and asked > 0:
            return asked, batch, None
        try:
            return len(x), batch, None  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None, batch, None
    batch = _int(args.get("batch_size"), DEFAULT_BATCH)
    split = args.get("validation_split") or 0.0
    train = int(math.floor(n * (1.0 - split))) if isinstance(split, float) and 0.0 < split < 1.0 else n
    if isinstance(asked, int) and asked > 0:
        return asked, batch, train
    return -(-train // batch), batch, train


def plan(args: dict[str, Any], record: dict[str, Any]) -> bool:
    """Cut the bound fit() arguments to the budget, if they exceed it; record the updates. True when cut."""
    epochs = _int(args.get("epochs"), 1) - max(0, _int(args.get("initial_epoch"), 0))
    per_epoch, batch, train = _batches_per_epoch(args)
    asked = None if per_epoch is None else max(0, epochs) * per_epoch
    record.update(updates_asked=asked, updates=asked, cut="")
    budget = JOB.spec.fit_updates
    if not budget or asked is None or per_epoch is None or asked <= budget or epochs <= 0:
        return False
    profile = JOB.spec.profile
    steps = budget // epochs
    total_epochs = _int(args.get("epochs"), 1)
    if steps >= 1:
        record.update(updates=steps * epochs, cut="batches per epoch")
        if train is not None and batch:
            seen = f"{steps * batch:,} of {train:,} samples (a seeded sample, the same every epoch)"
        else:
            args["steps_per_epoch"] = steps
            seen = f"{steps} batches, each epoch going on where the last stopped"
        detail = (
            f"fit(epochs={total_epochs}) trained {steps} of its {per_epoch:,} batches per epoch ({seen}): "
            f"{steps * epochs:,} of the {asked:,} updates it asked for, the {profile} profile's budget of "
            f"{budget:,} updates per fit; all {epochs} epochs ran"
        )
    else:
        args["epochs"] = total_epochs - epochs + budget
        args["steps_per_epoch"] = 1
        record.update(updates=budget, cut="epochs")
        detail = (
            f"fit(epochs={total_epochs}) trained {budget:,} of its {epochs:,} epochs, one batch each: the {profile} "
            f"profile's budget of {budget:,} updates per fit (it asked for {asked:,}); its history has "
            f"{budget:,} epochs"
        )
    note("fit_budget", detail, once=False)
    _sample_validation(args, steps * batch if steps >= 1 else batch)
    if steps >= 1 and train is not None and batch:
        _sample_training(args, steps * batch)
    return True


def _sample_training(args: dict[str, Any], size: int) -> None:
    """Train on a seeded sample of ``size`` rows (after the validation part, if any, is set apart)."""
    n = length(args.get("x"))
    if n is None or n <= size:
        return
    rows = sample(n, size, 2)
    for key in ("x", "y", "sample_weight"):
        if length(args.get(key)) == n:
            args[key] = take(args[key], rows)


def _sample_validation(args: dict[str, Any], per_epoch_samples: int) -> None:
    """A cut fit validates on a fixed seeded sample, a quarter of what it trains an epoch (at least 500 samples)."""
    size, profile = max(MIN_VALIDATION, per_epoch_samples // 4), JOB.spec.profile
    split = args.get("validation_split") or 0.0
    x, y = args.get("x"), args.get("y")
    n = length(x)
    if isinstance(split, float) and 0.0 < split < 1.0 and n is not None and length(y) == n:
        at = int(math.floor(n * (1.0 - split)))  # Keras validates on the last samples, before shuffling
        if n - at > size:
            rows = sample(n - at, size, 1) + at
            args["validation_data"] = (take(x, rows), take(y, rows))
            args["validation_split"] = 0.0
            for key in ("x", "y", "sample_weight"):
                if length(args.get(key)) == n:
                    args[key] = take(args[key], slice(0, at))
            note(
                "fit_budget",
                f"fit() validated on {size:,} of the {n - at:,} samples validation_split={split:g} holds "
                f"(a seeded sample, the same every epoch) in the {profile} profile",
            )
        return
    val = args.get("validation_data")
    if not isinstance(val, (list, tuple)) or not 2 <= len(val) <= 3:
        return
    m = length(val[0]) or 0
    if m > size and all(length(part) == m for part in val if part is not None):
        args["validation_data"] = type(val)(take(part, sample(m, size, 1)) for part in val)
        note(
            "fit_budget",
            f"fit() validated on {size:,} of the {m:,} validation samples (a seeded sample, the same every epoch) "
            f"in the {profile} profile",
        )


@contextlib.contextmanager
def quiet_cut(cut: bool) -> Iterator[None]:
    """Keras warns when an epoch of a cut fit reaches the end of the data and starts it again: not the student's."""
    if not cut:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Your input ran out of data")
        yield


def loss_name(model: Any) -> str:
    """The compiled loss by name: a string as given, a function by its name, a Loss object by its own name."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple)):
        return ", ".join(filter(None, (_one_loss(v) for v in loss)))
    if isinstance(loss, dict):
        return ", ".join(filter(None, (_one_loss(v) for v in loss.values())))
    return _one_loss(loss)


def _one_loss(loss: Any) -> str:
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss
    if inspect.isfunction(loss) or inspect.isbuiltin(loss):
        return str(getattr(loss, "__name__", ""))
    fn: Any = getattr(loss, "fn", None)  # a LossFunctionWrapper (Keras's own Loss classes) names its function
    fn_name = str(getattr(fn, "__name__", "") or "") if callable(fn) else ""
    return fn_name or str(getattr(loss, "name", "") or "") or type(loss).__name__
