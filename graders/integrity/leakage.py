"""Training on the test rows, read from the kernel's row fingerprints: evidence for an examiner, never a mark.

The probe counts how many distinct rows each evaluate()/predict() call (and
each fit()'s training data) shares with every fit()'s training rows, its
validation data and every scaler's fit rows (``labgrade_runtime.kernel.watch``);
this module says what the counts mean. Only calls on arrays the notebook
itself names as its test set (``X_test``, ``test_x``...) count as test rows:
scoring the training set (``model.evaluate(X_train, ...)``) is ordinary, and
an unnamed temporary is not evidence of anything.

* **trained on test rows** (a flag): at least :data:`LEAK_SHARE` of the test
  rows, and :data:`LEAK_MIN_ROWS` of them, were in a fit()'s training data,
  or fit() trained on an array named as the test set. Real data sets hold a
  few duplicate rows across a split; a tenth is far beyond that.
* **scaler fitted on all data** (a note): a scaler's fit rows include most of
  both the test rows and a fit()'s training rows (their rows before scaling),
  and the notebook did not name them as its training set.
* **validation on the test set** (a note): allowed, but said, since the
  epochs chosen on it make the test score optimistic.
"""

from __future__ import annotations

import re
from typing import Any

from graders.models import IntegrityFlag, ProbeResult
from labgrade_runtime.contract import CallRecord, FitRecord, RowOverlap

LEAK_SHARE = 0.10  # of the test rows in the training data: natural duplicates across a split are far fewer
LEAK_MIN_ROWS = 5
COVER_SHARE = 0.5  # of both the test and the training rows in a scaler's fit rows: it was fitted on all the data
VALIDATION_SHARE = 0.5  # of the test rows in validation_data: the test set used for validation


def cell_numbers(notebook: Any) -> dict[int, int]:
    """Execution count (In [n]) -> the cell's 1-based number among all cells.

    The runner runs every non-empty code cell once, in order, and the harness's
    own cells do not count, so In [n] is the n-th non-empty code cell.
    """
    numbers: dict[int, int] = {}
    count = 0
    for position, cell in enumerate(getattr(notebook, "cells", []) or [], start=1):
        if cell.get("cell_type") == "code" and str(cell.get("source", "")).strip():
            count += 1
            numbers[count] = position
    return numbers


def where(count: int | None, cells: dict[int, int]) -> str:
    """ "cell 6" for an execution count, or "" when it is not known."""
    if count is None:
        return ""
    return f"cell {cells[count]}" if count in cells else f"the cell run as In [{count}]"


def _named(names: list[str]) -> str:
    return f" ({', '.join(names)})" if names else ""


def _call_text(call: CallRecord, cells: dict[int, int]) -> str:
    place = where(call.cell, cells)
    return f"{call.kind}() in {place}{_named(call.names)}" if place else f"{call.kind}(){_named(call.names)}"


def _fit_text(fit: FitRecord, cells: dict[int, int]) -> str:
    place = where(fit.cell, cells)
    return f"fit() in {place}{_named(fit.names)}" if place else f"fit(){_named(fit.names)}"


def _number(count: int | None, cells: dict[int, int]) -> int | None:
    return cells.get(count) if count is not None else None


def leakage_flags(probe: ProbeResult | None, notebook: Any = None) -> list[IntegrityFlag]:
    """The leakage flags and notes of one run (empty when the kernel recorded nothing)."""
    if probe is None:
        return []
    cells = cell_numbers(notebook)
    flags = _trained_on_test(probe, cells)
    flags += _validation_on_test(probe, cells)
    flags += _scaler_on_all(probe, cells)
    return flags


def _test_calls(probe: ProbeResult) -> list[int]:
    return [i for i, c in enumerate(probe.calls) if c.role == "test" and c.rows_hashed >= LEAK_MIN_ROWS]


def _best(probe: ProbeResult, rows_of: str, index: int, found_in: str) -> RowOverlap | None:
    hits = [o for o in probe.overlaps if o.rows_of == rows_of and o.rows_index == index and o.found_in == found_in]
    return max(hits, key=lambda o: o.shared, default=None)


def _trained_on_test(probe: ProbeResult, cells: dict[int, int]) -> list[IntegrityFlag]:
    for i in _test_calls(probe):
        hit = _best(probe, "call", i, "fit")
        if hit is None or hit.of == 0 or hit.shared < LEAK_MIN_ROWS or hit.shared / hit.of < LEAK_SHARE:
            continue
        call, fit = probe.calls[i], probe.fits[hit.found_index]
        evidence = (
            f"{hit.shared:,} of the {hit.of:,} test rows scored by {_call_text(call, cells)} were in the "
            f"training data of {_fit_text(fit, cells)}: the model was trained on the rows it was tested on"
        )
        return [
            IntegrityFlag(
                kind="trained_on_test", label="trained on test rows", evidence=evidence, cell=_number(fit.cell, cells)
            )
        ]
    for fit in probe.fits:
        if any(_role(n) == "test" for n in fit.names) and not any(_role(n) == "train" for n in fit.names):
            evidence = (
                f"{_fit_text(fit, cells)} trained on the notebook's test set ({fit.rows_hashed:,} rows); "
                f"no evaluate()/predict() on a test set was recorded to count the shared rows"
            )
            return [
                IntegrityFlag(
                    kind="trained_on_test",
                    label="trained on test rows",
                    evidence=evidence,
                    cell=_number(fit.cell, cells),
                )
            ]
    return []


def _role(name: str) -> str:
    """A name read as the kernel reads the names of evaluate()'s arrays (kernel.watch.role)."""
    if re.search(r"test|tst|holdout|unseen|(^|_)te($|_)", name, re.IGNORECASE):
        return "test"
    return "train" if re.search(r"train|(^|_)tr($|_)", name, re.IGNORECASE) else ""


def _validation_on_test(probe: ProbeResult, cells: dict[int, int]) -> list[IntegrityFlag]:
    for i in _test_calls(probe):
        hit = _best(probe, "call", i, "validation")
        if hit is None or hit.of == 0 or hit.shared / hit.of < VALIDATION_SHARE:
            continue
        call, fit = probe.calls[i], probe.fits[hit.found_index]
        evidence = (
            f"{_fit_text(fit, cells)} used the test set as validation data ({hit.shared:,} of the "
            f"{hit.of:,} rows {_call_text(call, cells)} scored): allowed, but a test score on the set "
            f"that chose the epochs is optimistic"
        )
        return [
            IntegrityFlag(
                kind="validation_on_test",
                label="validation on the test set",
                severity="note",
                evidence=evidence,
                cell=_number(fit.cell, cells),
            )
        ]
    return []


def _covered_by_scaler(probe: ProbeResult, k: int, rows_of: str) -> list[RowOverlap]:
    """Overlaps of scaler ``k``'s fit rows that cover most of a call's (``rows_of="call"``) or a fit's rows."""
    return [
        o
        for o in probe.overlaps
        if o.rows_of == rows_of
        and o.found_in == "scaler"
        and o.found_index == k
        and o.of
        and o.shared / o.of >= COVER_SHARE
    ]


def _scaler_on_all(probe: ProbeResult, cells: dict[int, int]) -> list[IntegrityFlag]:
    test_calls = _test_calls(probe)
    for k, scaler in enumerate(probe.scalers):
        if any(_role(n) == "train" for n in scaler.names):
            continue  # fitted on the training set: test rows in it are duplicated rows, flagged as such if many
        test = [o for o in _covered_by_scaler(probe, k, "call") if o.rows_index in test_calls]
        train = _covered_by_scaler(probe, k, "fit")
        if not test or not train:
            continue
        t, f = max(test, key=lambda o: o.shared), max(train, key=lambda o: o.shared)
        place = where(scaler.cell, cells)
        evidence = (
            f"{scaler.scaler}.fit{' in ' + place if place else ''}{_named(scaler.names)} saw {scaler.rows:,} "
            f"rows, including {t.shared:,} of the {t.of:,} test rows of "
            f"{_call_text(probe.calls[t.rows_index], cells)} and {f.shared:,} of the {f.of:,} training rows "
            f"of {_fit_text(probe.fits[f.rows_index], cells)}: fit the scaler on the training rows only"
        )
        return [
            IntegrityFlag(
                kind="scaler_on_all_data",
                label="scaler fitted on all data",
                severity="note",
                evidence=evidence,
                cell=_number(scaler.cell, cells),
            )
        ]
    return []
