"""Examiners' marks entered in bulk from a CSV, and the history of those marks.

A marks file is validated as a whole before anything is returned: one wrong
row means nothing is imported, so an examiner never has to work out which
half of a file made it into the gradebook. Every problem names the file, the
line and the field, in the words an examiner would use to fix it.

History is append-only. Taking a mark back is a new entry (see
:func:`revert`), never an edit; ``marks=None`` in an entry means "withdrawn:
back to what the grading run gave, or pending if it gave nothing".
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from graders.reports.sheet import COLUMN_MAX, COLUMNS, HEADINGS, format_marks
from graders.submissions import normalise_roll  # the one roll-number rule

MAX_REPORTED = 20
REQUIRED_FIELDS: tuple[str, ...] = ("roll_no", "experiment", "column", "marks", "who", "why")
# Headings examiners write for the file's own fields, normalised (lower case, '_' for spaces).
_FIELD_ALIASES = {
    "roll_no": "roll_no",
    "roll": "roll_no",
    "rollno": "roll_no",
    "roll_number": "roll_no",
    "roll_no.": "roll_no",
    "experiment": "experiment",
    "exp": "experiment",
    "column": "column",
    "component": "column",
    "marks": "marks",
    "mark": "marks",
    "who": "who",
    "examiner": "who",
    "why": "why",
    "reason": "why",
}
_COLUMN_NAMES = {c: c for c in COLUMNS} | {re.sub(r"\s+", "_", h.lower()): c for c, h in HEADINGS.items()}
_DECIMALS = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


class MarksError(Exception):
    """Marks cannot be imported or reverted as asked."""


class MarksImportError(MarksError):
    """A marks file has problems; ``problems`` holds every one found (the message shows the first few)."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        shown = [f"  {p}" for p in self.problems[:MAX_REPORTED]]
        if len(self.problems) > MAX_REPORTED:
            shown.append(f"  ... and {len(self.problems) - MAX_REPORTED} more")
        super().__init__(f"{path}: {len(self.problems)} problem(s), nothing was imported:\n" + "\n".join(shown))


class Refusal(NamedTuple):
    """Why a row's student × experiment takes no mark, and the field at fault ('' for the row as a whole)."""

    field: str
    message: str


class NothingToRevert(MarksError):
    """There is no examiner entry to take back."""


@dataclass(frozen=True)
class NewMark:
    """One validated row of a marks file, ready to become a gradebook entry."""

    roll_no: str
    experiment: str
    component: str  # one of graders.reports.sheet.COLUMNS
    marks: float
    who: str
    why: str
    at: datetime
    line: int  # line of the file it came from, for messages


@dataclass(frozen=True)
class MarkEntry:
    """One entry of the append-only history of examiner marks; ``marks=None`` withdraws a mark."""

    roll_no: str
    experiment: str
    component: str
    marks: float | None
    who: str
    why: str
    at: datetime
    seq: int  # insertion order: ties in ``at`` are broken by it


def parse_column(text: str) -> str:
    """The marks column for ``viva``, ``Viva``, ``Coding Efficiency``, ``coding-efficiency``, ..."""
    key = re.sub(r"[\s\-]+", "_", str(text).strip().lower())
    if key not in _COLUMN_NAMES:
        raise ValueError(f"{text!r} is not a marks column (one of {', '.join(COLUMNS)})")
    return _COLUMN_NAMES[key]


def parse_marks(text: str, *, decimal_comma: bool = False) -> float:
    """Marks 0..5 as a finite number with at most two decimals (half marks are fine)."""
    value = str(text).strip()
    if not value:
        raise ValueError("is empty (write the marks, 0 to 5)")
    if not _DECIMALS.match(value) or ("," in value and not decimal_comma):
        raise ValueError(f"{value!r} is not a number")
    number = float(value.replace(",", "."))
    if not math.isfinite(number):  # pragma: no cover - the pattern admits digits only
        raise ValueError(f"{value!r} is not a finite number")
    if number < 0:
        raise ValueError(f"{value} is below 0")
    if number > COLUMN_MAX:
        raise ValueError(f"{value} is above {format_marks(COLUMN_MAX)}")
    if abs(number * 100 - round(number * 100)) > 1e-6:
        raise ValueError(f"{value} has more than two decimals")
    return round(number, 2)


# -- reading a marks file -------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), else Windows-1252 as Excel writes "CSV" on Windows."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MarksImportError(path, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """Comma files, and the semicolon files Excel writes where the decimal separator is a comma."""
    first = text.split("\n", 1)[0]
    return csv.excel if first.count(",") >= first.count(";") else _Semicolon


class _Semicolon(csv.excel):
    delimiter = ";"


def _header_map(path: Path, line: int, header: Sequence[str]) -> dict[str, int]:
    """Field name -> column index; every problem with the header at once."""
    where: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(header):
        key = re.sub(r"\s+", "_", raw.strip().lower())
        if not key:
            continue  # Excel's trailing empty columns
        field = _FIELD_ALIASES.get(key)
        if field is None:
            problems.append(
                f"{path.name} line {line}: unknown column {raw.strip()!r} (expected {', '.join(REQUIRED_FIELDS)})"
            )
        elif field in where:
            problems.append(f"{path.name} line {line}: column {field!r} appears twice")
        else:
            where[field] = index
    missing = [f for f in REQUIRED_FIELDS if f not in where]
    if missing:
        problems.append(
            f"{path.name} line {line}: missing column(s) {', '.join(missing)} "
            f"(the header must be {','.join(REQUIRED_FIELDS)})"
        )
    if problems:
        raise MarksImportError(path, problems)
    return where


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    """(first line number, fields) of each CSV record, blank records skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    start = 1
    for record in reader:
        line, start = start, reader.line_num + 1
        if any(field.strip() for field in record):
            yield line, record


def read_marks_csv(path: Path | str, *, known: Callable[[str, str], Refusal | None], now: datetime) -> list[NewMark]:
    """Every row of a ``roll_no,experiment,column,marks,who,why`` file, or a :class:`MarksImportError`.

    ``known(roll_no, experiment)`` returns None when the student's work on
    that experiment takes a mark, else the field at fault and the reason to
    show (a roll not on the roster, "roll 12 is not graded on agegender ...",
    work not handed in). A second row for the same roll, experiment and column is
    an error: which of the two was meant is the examiner's call, not ours.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        records = list(_records(text))
    except csv.Error as exc:
        raise MarksImportError(path, [f"{path.name}: not a readable CSV file ({exc})"]) from exc
    if not records:
        raise MarksImportError(
            path, [f"{path.name}: the file is empty (expected a header {','.join(REQUIRED_FIELDS)})"]
        )
    where = _header_map(path, *records[0])
    decimal_comma = _dialect(text) is _Semicolon
    problems: list[str] = []
    marks: list[NewMark] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, record in records[1:]:
        row = _parse_row(path, line, record, where, len(records[0][1]), known, decimal_comma, now)
        if isinstance(row, list):
            problems.extend(row)
            continue
        key = (row.roll_no, row.experiment, row.component)
        if key in seen:
            problems.append(
                f"{path.name} line {line}: roll {row.roll_no} {row.experiment} {row.component} "
                f"is already given on line {seen[key]}; keep one of the two rows"
            )
        seen.setdefault(key, line)
        marks.append(row)
    if not marks and not problems:
        problems.append(f"{path.name}: no marks rows below the header")
    if problems:
        raise MarksImportError(path, problems)
    return marks


def _parse_row(
    path: Path,
    line: int,
    record: Sequence[str],
    where: dict[str, int],
    width: int,
    known: Callable[[str, str], Refusal | None],
    decimal_comma: bool,
    now: datetime,
) -> NewMark | list[str]:
    """One data row: the mark, or every problem with it."""
    problems: list[str] = []

    def field(name: str) -> str:
        index = where[name]
        return record[index].strip() if index < len(record) else ""

    def problem(name: str, message: str) -> None:
        problems.append(f"{path.name} line {line}, field {name!r}: {message}")

    if any(value.strip() for value in record[width:]):
        problems.append(
            f"{path.name} line {line}: more fields than the header ({len(record)}); "
            f"a comma inside 'why' needs the field in double quotes"
        )
    values: dict[str, str] = {}
    parsers: dict[str, Callable[[str], object]] = {
        "roll_no": normalise_roll,
        "column": parse_column,
        "marks": lambda text: parse_marks(text, decimal_comma=decimal_comma),
    }
    parsed: dict[str, object] = {}
    for name in REQUIRED_FIELDS:
        values[name] = field(name)
        if name in parsers:
            try:
                parsed[name] = parsers[name](values[name])
            except ValueError as exc:
                problem(name, str(exc))
        elif not values[name]:
            problem(
                name,
                "is empty" + (" (say who gave the marks)" if name == "who" else " (say why)" if name == "why" else ""),
            )
    if "roll_no" in parsed and values["experiment"]:
        refusal = known(str(parsed["roll_no"]), values["experiment"])
        if refusal is not None and refusal.field:
            problem(refusal.field, refusal.message)
        elif refusal is not None:
            problems.append(f"{path.name} line {line}: {refusal.message}")
    if problems:
        return problems
    mark = parsed["marks"]
    assert isinstance(mark, float)
    return NewMark(
        roll_no=str(parsed["roll_no"]),
        experiment=values["experiment"],
        component=str(parsed["column"]),
        marks=mark,
        who=values["who"],
        why=values["why"],
        at=now,
        line=line,
    )


# -- history -------------------------------------------------------------------------


HISTORY_HEADER: tuple[str, ...] = ("seq", "at", "roll_no", "experiment", "column", "marks", "previous", "who", "why")


def _utc(at: datetime) -> datetime:
    """Naive UTC, so naive and aware moments compare (naive ones are taken to be UTC, as the gradebook does)."""
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo is not None else at


def _moment(entry: MarkEntry) -> tuple[datetime, int]:
    return _utc(entry.at), entry.seq


def _describe(marks: float | None) -> str:
    return "withdrawn" if marks is None else format_marks(marks)


def history_rows(
    entries: Iterable[MarkEntry], *, roll_no: str | None = None, experiment: str | None = None
) -> list[dict[str, str]]:
    """Rows for ``labgrade marks list``, oldest first, optionally for one roll and/or experiment.

    ``previous`` is the examiner's value the entry replaced ("" for the first
    one, whose predecessor is the run's own value); ``withdrawn`` marks an
    entry that hands the column back to the run / pending.
    """
    wanted_roll = normalise_roll(roll_no) if roll_no is not None else None
    ordered = sorted(entries, key=_moment)
    last: dict[tuple[str, str, str], float | None] = {}
    rows = []
    for e in ordered:
        key = (e.roll_no, e.experiment, e.component)
        previous = _describe(last[key]) if key in last else ""
        last[key] = e.marks
        if wanted_roll is not None and normalise_roll(e.roll_no) != wanted_roll:
            continue
        if experiment is not None and e.experiment != experiment:
            continue
        rows.append(
            {
                "seq": str(e.seq),
                "at": _moment(e)[0].strftime("%Y-%m-%d %H:%M:%S"),
                "roll_no": e.roll_no,
                "experiment": e.experiment,
                "column": e.component,
                "marks": _describe(e.marks),
                "previous": previous,
                "who": e.who,
                "why": e.why,
            }
        )
    return rows


def revert(
    entries: Sequence[MarkEntry], roll_no: str, experiment: str, component: str, who: str, why: str, now: datetime
) -> MarkEntry:
    """A new entry that restores the value in force before the latest entry for this column.

    The history is not changed: the returned entry is to be appended. Reverting
    the first entry restores None (the run's own value, or pending). Reverting
    twice undoes the revert, as an append-only history must.
    """
    try:
        roll = normalise_roll(roll_no)
        column = parse_column(component)
    except ValueError as exc:
        raise MarksError(str(exc)) from None
    if not who.strip() or not why.strip():
        raise MarksError("a revert needs --who and --why, like any change of marks")
    mine = sorted(
        (
            e
            for e in entries
            if normalise_roll(e.roll_no) == roll and e.experiment == experiment and e.component == column
        ),
        key=_moment,
    )
    if not mine:
        raise NothingToRevert(
            f"nothing to revert: no examiner marks were ever entered for roll {roll} "
            f"{experiment} {column}; its marks are the grading run's own"
        )
    latest = mine[-1]
    if _utc(now) < _utc(latest.at):
        raise MarksError(
            f"the clock reads {_utc(now):%Y-%m-%d %H:%M:%S} UTC, before the latest entry #{latest.seq} "
            f"({_utc(latest.at):%Y-%m-%d %H:%M:%S} UTC); a revert must come after what it reverts"
        )
    restored = mine[-2].marks if len(mine) > 1 else None
    if restored == latest.marks:
        raise NothingToRevert(
            f"nothing to revert: the latest entry (#{latest.seq}, {_describe(latest.marks)}) "
            f"did not change roll {roll} {experiment} {column}"
        )
    return MarkEntry(
        roll_no=latest.roll_no,
        experiment=experiment,
        component=column,
        marks=restored,
        who=who.strip(),
        why=why.strip(),
        at=now,
        seq=max(e.seq for e in entries) + 1,
    )
