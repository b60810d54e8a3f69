"""The manual's four marks columns, with *pending* as a state of its own.

A mark nobody has given yet (the viva before the examiner held it; answers
when the student wrote none and the examiner has not looked) is ``None``:
pending. It is never 0 and never summed, because a 0 is a real zero once it
reaches an LMS. Everything that turns marks into text or totals goes through
here so that every export and report says the same thing about pending marks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from graders.models import COMPONENT_MAX, Component

COLUMNS: Final[tuple[str, ...]] = tuple(c.value for c in Component)
HEADINGS: Final[Mapping[str, str]] = {c.value: c.heading for c in Component}
COLUMN_MAX: Final[float] = COMPONENT_MAX

Marks = Mapping[str, "float | None"]
"""Marks per column name; a column that is absent or None is pending."""


def pending_columns(marks: Marks) -> list[str]:
    """The columns (in sheet order) that have no mark yet."""
    return [c for c in COLUMNS if _value(marks, c) is None]


def total(marks: Marks) -> float | None:
    """The sum of the four columns, or None while any of them is pending.

    A partial sum is deliberately not offered here: written into a total
    column it would read as a final grade.
    """
    values = [_value(marks, c) for c in COLUMNS]
    if any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None), 2)


def given_sum(marks: Marks) -> float:
    """The sum of the columns that have been given (for "12 + viva pending")."""
    return round(sum(v for c in COLUMNS if (v := _value(marks, c)) is not None), 2)


def format_marks(value: float | None) -> str:
    """Marks with at most two decimals, trailing zeros trimmed; pending is ''."""
    if value is None:
        return ""
    text = f"{round(float(value), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def format_total(marks: Marks) -> str:
    """The total as the marks sheet prints it: "17" or "12 + viva pending".

    With every column pending there is no number worth showing: "pending".
    """
    missing = pending_columns(marks)
    if not missing:
        return format_marks(total(marks))
    names = " and ".join(HEADINGS[c].lower() for c in missing)
    if len(missing) == len(COLUMNS):
        return "pending"
    return f"{format_marks(given_sum(marks))} + {names} pending"


def _value(marks: Marks, column: str) -> float | None:
    """One column's mark; non-finite numbers are treated as pending, not as 0."""
    value = marks.get(column)
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    return float(value)
