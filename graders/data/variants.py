"""Declared variants of a course data file: what students shipped, as data, and how to write each.

Students of the lab had different copies of the same course file: upper- or lower-case names, another
target name, an index column, NA cells, UCI fixed width, thousands separators, Excel-mangled dates, or
another date range altogether. A notebook only runs as its author ran it if it is served *its* copy. The
experiment's folder declares those copies in ``variants.toml`` (one ``[[file]]`` per course file, one
``[[file.variant]]`` per copy); this module reads the declarations and writes a variant's served file.

Two kinds of variant, because the hidden holdout must stay hidden in both:

* a **format over the canonical rows** (``source = "canonical"``): header, names, quoting, number
  formats, index column, NA cells, extra/empty columns, BOM, line ends, a preamble, a row subset, a date
  format. The harness writes the *served* canonical rows (holdout already removed by the provider) in
  that format, so a format variant can never contain a held-out row;
* a **file** (``source = "file"``): genuinely different data (another period, share class or layout),
  kept as a file under the experiment's folder with a declared ``relation`` to the canonical series.
  Such a file is only allowed for a course file whose holdout is a date range: every line whose date
  falls in the hidden range is dropped when it is served (the declaration says how to read its dates).

Nothing here looks at a file's name: a variant is identified by the evidence of a notebook
(:mod:`graders.data.evidence`), never by what the student called the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from graders.rubric import RubricError, describe_errors

VARIANTS_FILE = "variants.toml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Model):
    """An output column that is not a plain copy: an indicator, or an empty column (``source`` None)."""

    name: str
    source: str | None = None  # canonical column it is computed from; None: every cell empty
    greater_than: float | None = None  # 1 where source > this, else 0 (e.g. a "CAT. MEDV" flag)


class IndexSpec(_Model):
    """A leading row-number column (a pandas ``to_csv`` index, R row names, a Kaggle ``ID``)."""

    name: str = ""
    start: int = 0
    quoted: bool = False
    # "served": renumbered over the served rows, so gaps never tell which rows are held out;
    # "canonical": the canonical row number (an ``ID`` that is data in the student's file).
    numbering: Literal["served", "canonical"] = "served"


class DateSegment(_Model):
    """How a file variant's dates read from data row ``first_row`` (1-based) on."""

    first_row: int = 1
    format: str


class ArchiveMember(_Model):
    """A non-data member of an archive variant, stored under the experiment's folder."""

    name: str
    file: str


class ArchiveSpec(_Model):
    """An archive variant: the served rows (in this variant's format) as ``data_member``, plus static members."""

    kind: Literal["zip"] = "zip"
    data_member: str
    members: list[ArchiveMember] = []
    omitted: str = ""  # members of the student's archive not served, and why


class FillSource(_Model):
    """A course file whose served rows continue a file variant's series (for days its holdout removes)."""

    file: str  # the course file's name (its served canonical rows, hidden days already removed)
    since: dt.date | None = None  # only its rows from this day on (e.g. after a split its prices were adjusted)
    scale: dict[str, float] = {}  # column (lower case) -> factor, for a variant on another split level


class VariantSpec(_Model):
    """One copy of a course file that students shipped: its format over the canonical rows, or its own file."""

    id: str
    label: str
    repos: int = 1  # how many student repositories held it: a tie-break prior only
    names: list[str] = []  # file names students shipped it under (a prior for a read by that name, nothing more)
    source: Literal["canonical", "file"] = "canonical"
    notes: str = ""
    # -- source = "canonical": the format
    header: bool = True
    columns: list[str | ColumnSpec] | None = None  # None: the canonical columns as they are named
    quote_header: bool = False
    quote_columns: list[str] = []
    index: IndexSpec | None = None
    numbers: Literal["keep", "float", "plain"] = "keep"
    formats: dict[str, str] = {}  # output column -> printf ("%8.5f"), "float", "plain", "group:western|indian"
    scale: dict[str, float] = {}  # output column -> factor applied to the canonical value
    sep: str = ","  # "" joins fields as they are formatted (fixed width)
    na_rep: str = ""
    na_cells: dict[str, list[int]] = {}  # output column -> 1-based canonical rows left empty (na_rep)
    include_rows: list[int] | None = None  # 1-based canonical rows kept (a test subset)
    exclude_rows: list[int] = []  # 1-based canonical rows dropped
    preamble: list[str] = []  # lines before the header; "{rows}" is the number of data rows written
    date_format: str | None = None  # strftime for the course file's date column ("%-m" = unpadded)
    date_format_day_gt_12: str | None = None  # Excel re-save: dates it could not parse stay in this form
    bom: bool = False
    line_end: Literal["\n", "\r\n"] = "\n"
    final_newline: bool = True
    archive: ArchiveSpec | None = None
    # -- source = "file": genuinely different data
    file: str | None = None  # path under the experiment's folder
    relation: str = ""  # how it relates to the canonical series (for people, and the adaptation text)
    header_lines: int = 1
    date_field: int = 0  # 0-based field holding the date
    dates: list[DateSegment] = []
    # the trading days before its first served day that replace the days its holdout removes, so a read keeps
    # the length its author had: taken from these course files' served rows (first that has the day)
    fill_from: list[FillSource] = []

    @model_validator(mode="after")
    def _source_fields(self) -> VariantSpec:
        if self.source == "file" and (self.file is None or not self.dates):
            raise ValueError(f"variant {self.id}: a file variant needs `file` and `dates` (to drop hidden dates)")
        if self.source == "canonical" and self.file is not None:
            raise ValueError(f"variant {self.id}: `file` is only for source = 'file'")
        return self


class HoldoutSpec(_Model):
    """How the hidden holdout is kept out of every served variant of a course file."""

    kind: Literal["rows", "dates", "none"]
    # rows: the provider removes held-out canonical rows before the writer sees them (file variants refused)
    # dates: every served line dated within [hidden_from, hidden_to] is dropped, whatever its source
    hidden_from: dt.date | None = None
    hidden_to: dt.date | None = None

    @model_validator(mode="after")
    def _range(self) -> HoldoutSpec:
        if self.kind == "dates" and (self.hidden_from is None or self.hidden_to is None):
            raise ValueError("a date holdout needs hidden_from and hidden_to")
        return self


class OtherData(_Model):
    """Names that mean another dataset than the course's (another company's ticker): never served a course file."""

    pattern: str  # a regex searched in the read's file name (its last path component, without the suffix)
    label: str
    ignore_case: bool = False


class CourseFile(_Model):
    """A course data file (one dataset role of an experiment) and the variants of it students had."""

    name: str  # the canonical file's name, as the rubric's [data] files list it
    canonical: str  # path under the experiment's folder (its course files: data/<file>)
    canonical_variant: str  # the variant served without evidence
    canonical_columns: list[str] | None = None  # names for a header-less canonical file
    date_column: str | None = None
    canonical_date_format: str | None = None
    read_names: list[str] = []  # names that route a read with no evidence to this course file (never a variant)
    # names that mean another dataset (the experiment's top-level [[other]] list, the same for each of its files)
    other_data: list[OtherData] = []
    holdout: HoldoutSpec
    variants: list[VariantSpec]
    folder: Path = Field(default=Path("."), exclude=True)  # the experiment's folder (file variants live there)

    @model_validator(mode="after")
    def _consistent(self) -> CourseFile:
        ids = [v.id for v in self.variants]
        if len(set(ids)) != len(ids) or self.canonical_variant not in ids:
            raise ValueError(f"{self.name}: variant ids must be unique and include {self.canonical_variant!r}")
        for v in self.variants:
            if v.source == "file" and self.holdout.kind == "rows":
                raise ValueError(f"{self.name} {v.id}: a file variant cannot hide held-out rows; declare a format")
            if v.date_format and not self.date_column:
                raise ValueError(f"{self.name} {v.id}: date_format needs the course file's date_column")
        return self

    def variant(self, variant_id: str) -> VariantSpec:
        """The declared variant ``variant_id``."""
        return next(v for v in self.variants if v.id == variant_id)


def load_variants(folder: Path) -> list[CourseFile]:
    """The course files declared in ``folder/variants.toml`` (an empty list when the experiment declares none)."""
    path = folder / VARIANTS_FILE
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from None
    files = []
    others = data.get("other", [])
    for entry in data.get("file", []):
        variants = entry.pop("variant", [])  # TOML spells the list [[file.variant]]
        entry = {**entry, "variants": variants, "folder": folder, "other_data": others}
        try:
            files.append(CourseFile.model_validate(entry))
        except ValidationError as err:
            raise RubricError(describe_errors(err, path, CourseFile)) from None
    return files


# ---------------------------------------------------------------- canonical rows


def read_canonical(course: CourseFile) -> pd.DataFrame:
    """The canonical file as cell *text* (no parsing, no NA), index = 0-based canonical row number.

    Text, not numbers, because most variants keep the canonical cells' exact spelling (``18`` stays
    ``18``, ``"7,380,500"`` stays grouped) and a round trip through floats would change them.
    """
    path = course.folder / course.canonical
    header = None if course.canonical_columns else 0
    frame = pd.read_csv(path, header=header, dtype=str, keep_default_na=False)
    if course.canonical_columns:
        frame.columns = pd.Index(course.canonical_columns)
    return frame


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _group(digits: str, style: str) -> str:
    """Integer digits with thousands separators, western (1,234,567) or Indian lakh (12,34,567)."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    size = 2 if style == "indian" else 3
    parts: list[str] = []
    while head:
        parts.insert(0, head[-size:])
        head = head[:-size]
    return ",".join(parts + [tail])


def _format_number(text: str, how: str, factor: float | None) -> str:
    """One canonical cell written the variant's way."""
    if text == "":
        return text
    # scaled values are rounded back to decimal digits: 21.6 * 21000 is 453600.0 in the file, not 453600.00000000006
    value = round(_number(text) * factor, 9) if factor is not None else None
    if how == "keep" and value is None:
        return text
    if how == "plain" and value is None:
        return text.replace(",", "")
    number = value if value is not None else _number(text)
    if how.startswith("group:"):
        whole, _, frac = text.replace(",", "").partition(".")
        return _group(whole, how.split(":", 1)[1]) + (f".{frac}" if frac else "")
    if how.startswith("%"):
        return how % (round(number) if how.endswith("d") else number)
    return repr(float(number)) if math.isfinite(number) else ""


def _strftime(day: dt.date, fmt: str) -> str:
    """strftime with ``%-m`` / ``%-d`` (unpadded month / day) on every platform."""
    return day.strftime(fmt.replace("%-m", str(day.month)).replace("%-d", str(day.day)))


def _resolve_columns(spec: VariantSpec, canonical: list[str]) -> list[ColumnSpec]:
    """Each output column with its canonical source: same name ignoring case, else the same position."""
    if spec.columns is None:
        return [ColumnSpec(name=c, source=c) for c in canonical]
    lower = {c.lower(): c for c in canonical}
    out = []
    for pos, col in enumerate(spec.columns):
        if isinstance(col, ColumnSpec):
            out.append(col)
        else:
            src = lower.get(col.strip().lower()) or (canonical[pos] if pos < len(canonical) else None)
            out.append(ColumnSpec(name=col, source=src))
    return out


def _select_rows(spec: VariantSpec, rows: pd.DataFrame) -> pd.DataFrame:
    numbers = rows.index + 1
    keep = ~numbers.isin(spec.exclude_rows)
    if spec.include_rows is not None:
        keep &= numbers.isin(spec.include_rows)
    return rows[keep]


def _cells(spec: VariantSpec, course: CourseFile, rows: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and data cells (text) of a format variant over ``rows``."""
    cols = _resolve_columns(spec, list(rows.columns))
    body: list[list[str]] = [[] for _ in range(len(rows))]
    for col in cols:
        how = spec.formats.get(col.name, spec.numbers)
        na_rows = set(spec.na_cells.get(col.name, []))
        for i, (number, text) in enumerate(zip(rows.index + 1, rows[col.source] if col.source else [""] * len(rows))):
            if col.source == course.date_column and spec.date_format and course.canonical_date_format:
                day = dt.datetime.strptime(text, course.canonical_date_format).date()
                fmt = spec.date_format_day_gt_12 if spec.date_format_day_gt_12 and day.day > 12 else spec.date_format
                cell = _strftime(day, fmt)
            elif col.greater_than is not None:
                cell = "1" if _number(text) > col.greater_than else "0"
            elif col.source is None or number in na_rows:
                cell = spec.na_rep if col.source else ""
            elif col.source == course.date_column:
                cell = text
            else:
                cell = _format_number(text, how, spec.scale.get(col.name))
            body[i].append(cell)
    header = [c.name for c in cols]
    if spec.index is not None:
        first = spec.index.start
        ids = rows.index if spec.index.numbering == "canonical" else pd.RangeIndex(len(rows))
        header.insert(0, spec.index.name)
        for line, rid in zip(body, ids):
            line.insert(0, str(int(rid) + first))
    return header, body


def _join(cells: list[str], spec: VariantSpec, quoted: set[int]) -> str:
    """One line: fields quoted where forced or where the separator occurs in them (csv minimal quoting)."""
    if spec.sep == "":
        return "".join(cells)
    out = []
    for i, cell in enumerate(cells):
        needs = i in quoted or spec.sep in cell or '"' in cell
        out.append('"' + cell.replace('"', '""') + '"' if needs else cell)
    return spec.sep.join(out)


def format_rows(spec: VariantSpec, course: CourseFile, rows: pd.DataFrame, *, hide: bool = True) -> bytes:
    """The bytes of a format variant holding ``rows`` (canonical cell text, canonical row index).

    ``hide=False`` keeps hidden dates: only for rebuilding the student's own copy host side, never served.
    """
    rows = _select_rows(spec, rows)
    rows = _drop_hidden_dates(course, rows) if hide else rows
    header, body = _cells(spec, course, rows)
    offset = 1 if spec.index is not None else 0
    columns = _resolve_columns(spec, list(rows.columns))
    forced = {i + offset for i, c in enumerate(columns) if c.name in spec.quote_columns}
    if spec.index is not None and spec.index.quoted:
        forced.add(0)
    lines = [p.format(rows=len(body)) for p in spec.preamble]
    if spec.header:
        lines.append(_join(header, spec, set(range(len(header))) if spec.quote_header else set()))
    lines += [_join(cells, spec, forced) for cells in body]
    text = spec.line_end.join(lines) + (spec.line_end if spec.final_newline else "")
    return (b"\xef\xbb\xbf" if spec.bom else b"") + text.encode("utf-8")


# ---------------------------------------------------------------- date holdout


def _hidden(course: CourseFile, day: dt.date) -> bool:
    h = course.holdout
    if h.kind != "dates" or h.hidden_from is None or h.hidden_to is None:
        return False
    return h.hidden_from <= day <= h.hidden_to


def _drop_hidden_dates(course: CourseFile, rows: pd.DataFrame) -> pd.DataFrame:
    """Canonical rows dated in the hidden range removed (a second guard behind the provider's own cut)."""
    if course.holdout.kind != "dates" or not course.date_column or not course.canonical_date_format:
        return rows
    fmt = course.canonical_date_format
    days = [dt.datetime.strptime(t, fmt).date() for t in rows[course.date_column]]
    return rows[[not _hidden(course, d) for d in days]]


def _line_date(spec: VariantSpec, line: str, row: int) -> dt.date:
    """The date of data row ``row`` (1-based) of a file variant, read with its declared segment format."""
    fmt = [s for s in spec.dates if s.first_row <= row][-1].format
    fields = next(csv.reader([line.rstrip("\r\n")])) if spec.sep == "," else line.rstrip("\r\n").split(spec.sep)
    field = fields[spec.date_field]
    return dt.datetime.strptime(field.strip(), fmt).date()


Fill = dict[str, tuple["CourseFile", pd.DataFrame]]  # course file name -> (its declaration, its served rows)


def file_rows(spec: VariantSpec, course: CourseFile, *, hide: bool = True, fill: Fill | None = None) -> bytes:
    """A file variant's bytes, every line dated in the hidden range removed (``hide=False``: as the student had it).

    With ``fill`` (the served rows of the course files the variant declares in ``fill_from``), the removed
    lines are replaced by the trading days just before the variant's first served day, written in its own
    format: the read keeps the length its author had, and no line holds a hidden day.
    """
    assert spec.file is not None
    raw = (course.folder / spec.file).read_bytes()
    if not hide:
        return raw
    lines = raw.splitlines(keepends=True)
    head, body = lines[: spec.header_lines], lines[spec.header_lines :]
    kept = [
        ln
        for i, ln in enumerate(body, 1)
        if ln.strip() and not _hidden(course, _line_date(spec, ln.decode("utf-8"), i))
    ]
    removed = sum(1 for ln in body if ln.strip()) - len(kept)
    if removed and kept and fill is not None and spec.fill_from:
        kept = _filled(spec, course, head, kept, removed, fill) + kept
    if kept and body and not body[-1].endswith(b"\n"):  # keep the file's "no final newline" form
        kept[-1] = kept[-1].rstrip(b"\r\n")
    elif kept and not kept[-1].endswith(b"\n"):
        kept[-1] += b"\r\n" if body[0].endswith(b"\r\n") else b"\n"
    return b"".join(head + kept)


def hidden_lines(spec: VariantSpec, course: CourseFile) -> int:
    """How many data lines of a file variant fall in the hidden range (what its holdout removes)."""
    if spec.source != "file" or spec.file is None:
        return 0
    body = (course.folder / spec.file).read_bytes().splitlines()[spec.header_lines :]
    return sum(
        1 for i, ln in enumerate(body, 1) if ln.strip() and _hidden(course, _line_date(spec, ln.decode("utf-8"), i))
    )


def _fields(spec: VariantSpec, line: str) -> list[str]:
    text = line.rstrip("\r\n")
    return next(csv.reader([text])) if spec.sep == "," else text.split(spec.sep)


def _like(template: str, value: float) -> str:
    """``value`` written as the template cell is: its decimals, its thousands separators."""
    plain = template.replace(",", "")
    whole, dot, frac = plain.partition(".")
    if dot and len(frac) > 9:
        text = repr(float(value))
    elif dot:
        text = f"{value:.{len(frac)}f}"
    else:
        text = str(round(value))
    if "," in template:
        head, _, tail = text.partition(".")
        text = _group(head, "western") + (f".{tail}" if tail else "")
    return text


def _series_days(course: CourseFile, rows: pd.DataFrame, since: dt.date | None) -> dict[dt.date, dict[str, float]]:
    """A course file's served rows by day: lower-case column -> number."""
    assert course.date_column and course.canonical_date_format
    out: dict[dt.date, dict[str, float]] = {}
    for _, row in rows.iterrows():
        day = dt.datetime.strptime(row[course.date_column], course.canonical_date_format).date()
        if _hidden(course, day) or (since is not None and day < since):
            continue
        out[day] = {str(c).strip().lower(): _number(v) for c, v in row.items() if c != course.date_column and v}
    return out


def _date_writer(spec: VariantSpec, lines: list[bytes], fmt: str) -> Callable[[dt.date], str]:
    """Dates written as the file's own lines write them: padded or not, per kind of date (Excel pads some only)."""
    unpadded = fmt.replace("%m", "%-m").replace("%d", "%-d")
    seen: dict[tuple[bool, bool, bool], str] = {}
    for i, raw in enumerate(lines[:400], 1):
        line = raw.decode("utf-8")
        text = _fields(spec, line)[spec.date_field].strip()
        day = _line_date(spec, line, i)
        kind = (day.month < 10, day.day < 10, day.day > 12)
        for candidate in (fmt, unpadded):
            if kind not in seen and _strftime(day, candidate) == text:
                seen[kind] = candidate
    # a kind of date the file never shows: each part padded as the file pads it where it shows one
    month = next((f for k, f in seen.items() if k[0]), fmt)
    day_part = next((f for k, f in seen.items() if k[1]), fmt)
    other = fmt.replace("%m", "%-m" if "%-m" in month else "%m").replace("%d", "%-d" if "%-d" in day_part else "%d")
    return lambda day: _strftime(day, seen.get((day.month < 10, day.day < 10, day.day > 12), other))


def _filled(
    spec: VariantSpec, course: CourseFile, head: list[bytes], kept: list[bytes], count: int, fill: Fill
) -> list[bytes]:
    """Up to ``count`` lines for the trading days before the first kept line, in the variant's own format."""
    first = kept[0].decode("utf-8")
    template = _fields(spec, first)
    names = [n.strip().lower() for n in _fields(spec, head[0].decode("utf-8"))] if head else []
    start = _line_date(spec, first, 1)
    days: dict[dt.date, dict[str, float]] = {}
    for source in reversed(spec.fill_from):  # the first source declared wins a day both hold
        if source.file in fill:
            other, rows = fill[source.file]
            for day, values in _series_days(other, rows, source.since).items():
                days[day] = {k: v * source.scale.get(k, 1.0) for k, v in values.items()}
    before = sorted(d for d in days if d < start)[-count:]
    fmt = spec.dates[0].format
    write_date = _date_writer(spec, kept, fmt)  # the file may write 1/3/2012, not 01/03/2012
    end = "\r\n" if first.endswith("\r\n") else "\n"
    out = []
    for day in before:
        values = days[day]
        values.setdefault("adj close", values.get("close", 0.0))
        cells = []
        for i, cell in enumerate(template):
            name = names[i] if i < len(names) else ""
            if i == spec.date_field:
                cells.append(write_date(day))
            elif name in values:
                cells.append(_like(cell, values[name]))
            else:
                cells.append(cell)  # a column the source lacks keeps the first served day's value
        text = spec.sep.join('"' + c + '"' if spec.sep == "," and "," in c else c for c in cells)
        out.append((text + end).encode("utf-8"))
    return out


# ---------------------------------------------------------------- writing


def _zip(spec: VariantSpec, course: CourseFile, data: bytes) -> bytes:
    assert spec.archive is not None
    buf = io.BytesIO()
    stamp = (2023, 5, 22, 22, 24, 0)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        members = [(m.name, (course.folder / m.file).read_bytes()) for m in spec.archive.members]
        for name, content in sorted(members + [(spec.archive.data_member, data)]):
            zf.writestr(zipfile.ZipInfo(name, stamp), content, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def variant_bytes(
    spec: VariantSpec,
    course: CourseFile,
    canonical_rows: pd.DataFrame | None,
    *,
    hide: bool = True,
    fill: Fill | None = None,
) -> bytes:
    """The bytes served for ``spec``: ``canonical_rows`` (the served rows) in its format, or its filtered file
    (its hidden days replaced by earlier days of ``fill``'s course files, when it declares them)."""
    if spec.source == "file":
        return file_rows(spec, course, hide=hide, fill=fill)
    if canonical_rows is None:
        raise ValueError(f"variant {spec.id} is a format over the canonical rows: pass the served rows")
    data = format_rows(spec, course, canonical_rows)
    return _zip(spec, course, data) if spec.archive else data


def write_variant(
    spec: VariantSpec, course: CourseFile, canonical_rows: pd.DataFrame | None, path: Path, fill: Fill | None = None
) -> None:
    """Write the served file of ``spec`` at ``path``: training rows only, in the variant's own format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(variant_bytes(spec, course, canonical_rows, fill=fill))


@lru_cache(maxsize=64)
def _full_cached(course_json: str, folder: str, variant_id: str) -> bytes:
    course = CourseFile.model_validate_json(course_json).model_copy(update={"folder": Path(folder)})
    spec = course.variant(variant_id)
    rows = read_canonical(course) if spec.source == "canonical" else None
    if rows is None:
        return file_rows(spec, course, hide=False)
    return format_rows(spec, course, rows, hide=False)


def student_bytes(course: CourseFile, variant_id: str) -> bytes:
    """The variant as the student had it: every canonical row (host side only, for matching; never served).

    For an archive variant this is its data member, the file the student's code reads from it.
    """
    return _full_cached(course.model_dump_json(), str(course.folder), variant_id)


def served_name(spec: VariantSpec, course: CourseFile) -> str:
    """The file name a variant is written under in the served folder (the read name maps to it)."""
    stem, _, ext = course.name.rpartition(".")
    suffix = ".zip" if spec.archive else (Path(spec.file).suffix if spec.file else f".{ext}")
    return f"{stem}__{spec.id}{suffix}"
