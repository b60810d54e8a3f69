"""The manual's four marks columns as text, with *pending* as a state of its own.

A mark nobody has given yet is ``None`` in :class:`~graders.models.ComponentMarks`,
which alone decides what is pending, what is given and whether there is a total.
This module only turns that into the words every view prints: a pending column
is never 0 and never summed, because a 0 is a real zero once it reaches an LMS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from graders.models import COMPONENT_MAX, Component, ComponentMarks

COLUMNS: Final[tuple[str, ...]] = tuple(c.value for c in Component)
HEADINGS: Final[Mapping[str, str]] = {c.value: c.heading for c in Component}
COLUMN_MAX: Final[float] = COMPONENT_MAX


def format_marks(value: float | None) -> str:
    """Marks with at most two decimals, trailing zeros trimmed; pending is ''."""
    if value is None:
        return ""
    text = f"{round(float(value), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def format_metric(value: float) -> str:
    """A measured number (a metric, a loss, a printed figure) as evidence shows it: four significant digits."""
    return f"{value:.4g}"


def format_total(marks: ComponentMarks, maximum: float | None = None) -> str:
    """The total as the marks sheet prints it: "17" ("17/20"), or "12 + viva pending" ("12/20 + viva pending").

    With every column pending there is no number worth showing: "pending".
    """
    pending = marks.pending
    if len(pending) == len(Component):
        return "pending"
    given = format_marks(marks.given) + (f"/{format_marks(maximum)}" if maximum is not None else "")
    if not pending:
        return given
    names = [c.heading.lower() for c in pending]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{given} + {listed} pending"
