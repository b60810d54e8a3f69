"""What a notebook tells about the copy of one course file it read: its read call, its saved outputs, its code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Step = tuple[Any, ...]  # ("attr", name) | ("call", name, args, kwargs) | ("item", key) | ("len",) | ("cols", names)


@dataclass(frozen=True)
class ReadCall:
    """One read of a course file in the notebook, as written."""

    name: str  # the path as the notebook writes it
    func: str  # read_csv, read_table, ..., or "archive" (ZipFile, !unzip)
    kwargs: tuple[tuple[str, Any], ...]  # literal keyword arguments
    var: str | None
    cell: int

    def kw(self) -> dict[str, Any]:
        """The literal keyword arguments as a dict."""
        return dict(self.kwargs)


@dataclass(frozen=True)
class Observation:
    """A saved output of expressions over the read's frame, each with the steps taken on the frame before it."""

    cell: int
    expr: str  # the expressions, as written
    parts: tuple[tuple[tuple[tuple[Step, ...], ...], tuple[Step, ...]], ...]  # (history, chain) per expression
    kind: str  # "text/html", "text/plain" or "stream"
    text: str
    opaque: bool = False  # the frame was changed in a way that cannot be replayed: a weaker witness


@dataclass(frozen=True)
class Evidence:
    """What a notebook tells about the copy of one file it read."""

    read: ReadCall | None = None
    columns_used: tuple[str, ...] = ()
    assigned_columns: tuple[str, ...] = ()  # columns the code itself creates or renames to
    handles_na: bool = False
    checks_na: bool = False
    handles_thousands: bool = False
    header_none: bool = False
    index_col: Any = None
    sep: str | None = None
    names_given: tuple[str, ...] = ()
    shape_seen: tuple[tuple[int, int], ...] = ()
    head_columns_seen: tuple[str, ...] = ()
    na_counts_seen: tuple[tuple[str, int], ...] = ()
    observations: tuple[Observation, ...] = ()
    where: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing in the notebook speaks about this file."""
        return not (
            self.columns_used
            or self.observations
            or self.handles_na
            or self.handles_thousands
            or self.header_none
            or self.names_given
            or self.sep
            or self.index_col is not None
        )


class Unknown:
    """A value the notebook computes at run time (not a literal)."""

    def __repr__(self) -> str:
        return "<expr>"


def strip_html(html: str) -> str:
    """A table cell's text."""
    return re.sub(r"<[^>]+>", "", html).replace("&nbsp;", " ").strip()
