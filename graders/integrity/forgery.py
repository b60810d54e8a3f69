"""Forged or impossible numbers: what a notebook printed against what its own model measures on its own test rows.

A false accusation is worse than a missed one, so the flag is raised only
when the comparison is demonstrably fair:

* the trusted evaluator scored the saved model on exactly the arrays the
  notebook passed to evaluate()/predict() (``own_split.npz``, no feeding
  inferred), and reproduced the kernel's own predictions on them
  (``OwnSplitScore.reproduced``) -- so the file is the model the notebook
  evaluated, fed as the notebook fed it;
* the printed number is far better than that measure: for an absolute metric
  (accuracy) by at least :data:`ABSOLUTE_MARGIN` (and four standard errors
  when the evaluator saw only a capped part of the rows), for a relative one
  (an error such as MSE) the printed error is under :data:`RELATIVE_FACTOR`
  of the measured (the honesty check's own margin);
* the printed number is no number the run really produced: not a value of
  the training history (a training or validation score printed as "test")
  and not what the model's own, unreplaced evaluate() returned.

When the own-split measure agrees with the print, no flag: the model is
honest, and a gap to the hidden set is a matter of feeding or
generalisation (the honesty check says so). A run that never evaluated a
split of its own gets no flag.
"""

from __future__ import annotations

import math
import re

from graders.integrity.leakage import cell_numbers, where
from graders.models import Artifacts, IntegrityFlag
from graders.reports.sheet import format_metric
from graders.rubric import MetricRule

ABSOLUTE_MARGIN = 0.10  # twice the honesty check's slack: a tenth of accuracy is no rounding or seed noise
RELATIVE_FACTOR = 0.5  # a printed error under half the measured one
SAME_ABSOLUTE = 0.005  # a printed number this close to a real one is that number (rounded)
SAME_RELATIVE = 0.02


def _same(printed: float, real: float, rule: MetricRule) -> bool:
    if rule.margin_kind == "absolute":
        return abs(printed - real) <= SAME_ABSOLUTE
    return abs(printed - real) <= SAME_RELATIVE * max(abs(real), 1e-12)


def _real_numbers(art: Artifacts) -> list[float]:
    """Numbers the run really produced: every history value, and what an unreplaced evaluate() returned."""
    values = [v for series in art.history.values() for v in series]
    if art.probe is not None:
        values += [v for c in art.probe.calls if c.kind == "evaluate" and not c.replaced for v in c.returned]
    return values


def _far_better(printed: float, measured: float, rows: int, capped: bool, rule: MetricRule) -> bool:
    if rule.margin_kind == "absolute":
        noise = 4 * math.sqrt(max(measured * (1 - measured), 0.0) / rows) if capped and 0 <= measured <= 1 else 0.0
        better = printed - measured if rule.higher_is_better else measured - printed
        return better >= max(ABSOLUTE_MARGIN, noise)
    if rule.higher_is_better:
        return measured > 0 and printed * RELATIVE_FACTOR > measured
    return printed >= 0 and printed < RELATIVE_FACTOR * measured


def forgery_flags(art: Artifacts, rule: MetricRule, notebook: object = None) -> list[IntegrityFlag]:
    """The forged-numbers flag of one run, or nothing when the comparison would not be fair."""
    own = art.evaluation.own_split if art.evaluation is not None else None
    probe = art.probe
    printed = art.printed.get(rule.name)
    if own is None or probe is None or probe.own_split is None or printed is None or not own.reproduced:
        return []
    measured = own.metrics.get(rule.name)
    if measured is None or own.rows <= 0:
        return []
    capped = probe.own_split.total_rows > own.rows
    if not _far_better(printed, measured, own.rows, capped, rule):
        return []
    if any(_same(printed, real, rule) for real in _real_numbers(art)):
        return []
    cells = cell_numbers(notebook)
    call = probe.calls[probe.own_split.call] if probe.own_split.call < len(probe.calls) else None
    evidence = _evidence(art, rule, printed, measured, cells)
    return [
        IntegrityFlag(
            kind="forged_numbers",
            label="forged numbers",
            evidence=evidence,
            cell=cells.get(call.cell) if call is not None and call.cell is not None else None,
            metric=rule.name,
            printed=printed,
            own_split=measured,
            hidden=art.metrics.get(rule.name),
        )
    ]


def _evidence(art: Artifacts, rule: MetricRule, printed: float, measured: float, cells: dict[int, int]) -> str:
    assert art.probe is not None and art.probe.own_split is not None and art.evaluation is not None
    own, saved = art.evaluation.own_split, art.probe.own_split
    assert own is not None
    label = rule.label or rule.name
    call = art.probe.calls[saved.call] if saved.call < len(art.probe.calls) else None
    what = (
        (
            f"what {call.kind}() in {where(call.cell, cells) or 'the notebook'} was given"
            f"{' (' + ', '.join(call.names) + ')' if call.names else ''}"
        )
        if call is not None
        else "the notebook's own"
    )
    rows = f"{own.rows:,} of its {saved.total_rows:,}" if saved.total_rows > own.rows else f"{own.rows:,}"
    hidden = art.metrics.get(rule.name)
    parts = [
        f"printed {label} {format_metric(printed)}; "
        f"the saved model measures {format_metric(measured)} on the notebook's own "
        f"{rows} test rows" + (f" and {format_metric(hidden)} on the hidden test set" if hidden is not None else ""),
        f"Those rows are exactly {what}; the trusted evaluator reproduced the notebook's own predictions on them",
    ]
    for patch in art.probe.patched:
        returned = [c.returned for c in art.probe.calls if c.kind == patch.method and c.replaced and c.returned]
        said = f", which returned {', '.join(format_metric(v) for v in returned[0])}" if returned else ""
        parts.append(
            f"model.{patch.method} was replaced by the notebook's own function in "
            f"{where(patch.cell, cells) or 'a cell'}{said}"
        )
    return ". ".join(parts)


# ---------------------------------------------------------------- the author's own run against ours

# A test metric the saved outputs label as such ("Test accuracy: 0.86", "test MSE = 23.9"): never a training line.
_SAVED_TEST = {
    "accuracy": re.compile(r"\btest[ _\-]*acc(?:uracy)?\W{0,3}\s*[:=]?\s*\(?\s*(\d*\.\d+)", re.IGNORECASE),
    "mse": re.compile(r"\btest[ _\-]*(?:mean[ _]squared[ _]error|mse)[^0-9\n]{0,30}?(\d+\.?\d*)", re.IGNORECASE),
    "mae": re.compile(r"\btest[ _\-]*(?:mean[ _]absolute[ _]error|mae)[^0-9\n]{0,30}?(\d+\.?\d*)", re.IGNORECASE),
}


def saved_test_metric(notebook: object, name: str) -> float | None:
    """The last test metric ``name`` the handed-in notebook's saved outputs show (the author's own run)."""
    pattern = _SAVED_TEST.get(name)
    if pattern is None or notebook is None:
        return None
    chunks = []
    for cell in getattr(notebook, "cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                chunks.append(str(out.get("text", "")))
            elif out.get("output_type") in ("execute_result", "display_data"):
                chunks.append(str(out.get("data", {}).get("text/plain", "")))
    found = pattern.findall("\n".join(chunks))
    try:
        return float(found[-1]) if found else None
    except ValueError:
        return None


def _real(art: Artifacts, dataset: str) -> bool:
    """The hidden set is of the real dataset, as the author's was (not a synthetic stand-in, not a variant's)."""
    source = art.targets.dataset_source.get(dataset, "").lower()
    return bool(source) and "synthetic" not in source and not art.targets.variant


def discrepancy_flags(
    art: Artifacts, rule: MetricRule, notebook: object = None, *, dataset: str = ""
) -> list[IntegrityFlag]:
    """The measured metric far worse than the one the notebook's own saved outputs show, on real data
    (``dataset``: the one the hidden set is drawn from).

    Not an accusation: the harness and the author's run disagree by more than a different test split explains
    (the forged-numbers margins, and four standard errors of the hidden set for an accuracy), which an examiner
    should look at (a cap, a data copy, a library version). A note on the examiner's sheet; marks are unchanged.
    """
    saved, measured = saved_test_metric(notebook, rule.name), art.metrics.get(rule.name)
    if saved is None or measured is None or not _real(art, dataset) or art.evaluation is None:
        return []
    rows = max(1, art.evaluation.holdout_size)
    if not _far_better(saved, measured, rows, True, rule):
        return []
    label = rule.label or rule.name
    own = art.evaluation.own_split
    mine = own.metrics.get(rule.name) if own is not None and own.reproduced else None
    evidence = (
        f"the notebook's saved outputs show {label} {format_metric(saved)} from its author's own run; the harness "
        f"measures {format_metric(measured)} on the hidden test set ({rows:,} rows), further from it than a "
        "different test split explains: worth a look (the training budget, the data copy served, library versions)"
    )
    return [
        IntegrityFlag(
            kind="measured_below_saved",
            label="measured far below the author's own run",
            severity="note",
            evidence=evidence,
            metric=rule.name,
            printed=saved,
            own_split=mine,
            hidden=measured,
        )
    ]
