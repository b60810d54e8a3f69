"""How many rows the author trained on, from the progress bars their notebook saved.

Keras prints ``11/11 [====...]`` (Keras 2) or ``11/11 ━━━━`` (Keras 3) once an epoch ends: the steps of an
epoch. With the ``batch_size`` the fit call writes (32 when it writes none) and its ``validation_split``, the
steps bound the rows the fit was given; older Keras said ``Train on 44 samples`` outright. A copy of a course
file with far more (or fewer) rows than that is not the copy the author had.
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from dataclasses import dataclass

import nbformat

from graders.data.evidence.walk import cell_text, code_cells

STEPS = re.compile(r"^\s*(\d+)/(\d+)\s+(?:\[|━|-)", re.MULTILINE)
SAMPLES = re.compile(r"Train on (\d+) samples")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class FitRows:
    """The rows a saved fit was given: at least ``low``, at most ``high`` (before its validation split)."""

    low: int
    high: int
    cell: int
    how: str  # for the reason: "11/11 steps at batch_size=4"


def _fit_call(source: str) -> ast.Call | None:
    try:
        tree = ast.parse("\n".join("pass" if ln.lstrip().startswith(("!", "%")) else ln for ln in source.splitlines()))
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fit":
            if node.args or any(k.arg in ("x", "batch_size", "epochs") for k in node.keywords):
                return node
    return None


def _literal(call: ast.Call, name: str, default: float) -> float | None:
    for kw in call.keywords:
        if kw.arg == name:
            try:
                value = ast.literal_eval(kw.value)
            except ValueError:
                return None
            return float(value) if isinstance(value, (int, float)) else None
    return default


def fit_rows(nb: nbformat.NotebookNode) -> FitRows | None:
    """The rows the notebook's first saved Keras fit trained on, from its progress bars, or None."""
    for cell, source, outputs in code_cells(nb):
        call = _fit_call(source)
        if call is None:
            continue
        text = ANSI.sub("", "".join(cell_text(o.get("text", "")) for o in outputs if o.get("output_type") == "stream"))
        text = text.replace("\r", "\n")  # a bar redrawn in place: each drawing on a line of its own
        split = _literal(call, "validation_split", 0.0)
        if split is None or not 0 <= split < 1:
            continue
        if found := SAMPLES.search(text):
            n = int(found.group(1))
            return FitRows(math.floor(n / (1 - split)), math.ceil(n / (1 - split)) + 1, cell, f"'Train on {n} samples'")
        done = Counter(int(b) for a, b in STEPS.findall(text) if a == b and int(b) > 0)
        batch = _literal(call, "batch_size", 32.0)
        if not done or batch is None or batch <= 0:
            continue
        steps = done.most_common(1)[0][0]
        low, high = (steps - 1) * batch + 1, steps * batch
        how = f"{steps}/{steps} steps at batch_size={int(batch)}" + (f", validation_split={split}" if split else "")
        return FitRows(math.floor(low / (1 - split)), math.ceil(high / (1 - split)) + 1, cell, how)
    return None
