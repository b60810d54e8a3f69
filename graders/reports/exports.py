"""Exports an LMS can take: Moodle and Canvas grade CSVs, Gradescope results, the long CSV.

The input is deliberately neutral (:class:`RosterEntry`, :class:`GradeCell`)
so that these writers do not depend on how the gradebook stores runs and
overrides. Marks arrive *after* examiner overrides, one ``float | None`` per
column, where None means pending.

Pending, missing and not-graded marks are written as **blank** cells, never
as 0: both Moodle (``grade/import/csv``: an empty cell or ``-`` is "no grade")
and Canvas (``GradebookImporter``: blank or ``-`` is "no score") read a blank
as no grade, while a 0 would be imported as a real zero. A total is written
only when none of its columns is pending.

CSV files are UTF-8 with a byte-order mark so that Excel, which examiners
open these files with before uploading, shows non-ASCII names correctly;
both LMSs accept the BOM.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from graders.models import TOTAL_MAX
from graders.reports.sheet import COLUMN_MAX, COLUMNS, HEADINGS, format_marks, given_sum, pending_columns, total

ENCODING = "utf-8-sig"
LONG_HEADER: tuple[str, ...] = ("roll_no", "name", "experiment", *COLUMNS, "total", "status", "pending")
# Statuses whose marks are not marks: nothing was handed in, nothing was graded,
# or the harness itself failed. Their cells are blank in every export.
UNMARKED_STATUSES = frozenset({"missing", "not_graded", "sandbox_error"})
# Canvas: the columns before the assignments, in the order its importer requires.
CANVAS_STUDENT_COLUMNS: tuple[str, ...] = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Canvas treats every other column as an assignment, except these (read-only totals).
_CANVAS_RESERVED = re.compile(
    r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
    r"Override Score|Override Grade|Override Status|Points Possible"
)
_PATH_PART = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._-]+$")

Identifier = Literal["email", "id_number"]
# Moodle's import form maps a column to "Email address" or "ID number"; name the column alike.
_MOODLE_IDENTIFIER_HEADING: Mapping[str, str] = {"email": "Email address", "id_number": "ID number"}
_DEFAULT_IDENTIFIER: Mapping[str, Identifier] = {"moodle": "email", "canvas": "id_number"}


class ExportError(Exception):
    """The inputs cannot be exported as asked (a missing roster column, marks out of range, ...)."""


@dataclass(frozen=True)
class RosterEntry:
    """One student as the LMS knows them."""

    roll_no: str
    name: str
    email: str = ""
    id_number: str = ""  # the institution's student number (Moodle "ID number", Canvas "SIS User ID")
    section: str = ""  # Canvas section name, optional


@dataclass(frozen=True)
class CheckLine:
    """One rubric check for Gradescope's ``tests[]``; ``hidden`` checks are examiner-only."""

    title: str
    awarded: float
    max: float
    evidence: str = ""
    hidden: bool = False


CheckInput = CheckLine | tuple[str, float, float, str]


@dataclass(frozen=True)
class GradeCell:
    """One student × experiment: marks after examiner overrides, None = pending.

    ``reason`` is the run's student-facing explanation of its status (e.g. the
    cell that raised); it is shown to students in Gradescope, so it must not
    carry examiner-only content. ``checks`` are plain 4-tuples (title, awarded,
    max, evidence) or :class:`CheckLine` when a check is hidden.
    """

    roll_no: str
    experiment: str
    status: str
    marks: Mapping[str, float | None]
    checks: Sequence[CheckInput] = ()
    reason: str = ""
    name: str = ""  # used when the student is not on the roster given (Gradescope, long CSV)

    def mark(self, column: str) -> float | None:
        """The export value of one column: None for pending and for unmarked statuses."""
        if self.status in UNMARKED_STATUSES:
            return None
        return self.marks.get(column)

    def effective(self) -> dict[str, float | None]:
        """All four columns as exported."""
        return {c: self.mark(c) for c in COLUMNS}

    def check_lines(self) -> list[CheckLine]:
        """The checks, tuples turned into visible :class:`CheckLine`."""
        return [c if isinstance(c, CheckLine) else CheckLine(*c) for c in self.checks]


@dataclass
class _Index:
    """Cells by (roll_no, experiment), validated once for every writer."""

    cells: dict[tuple[str, str], GradeCell] = field(default_factory=dict)

    @classmethod
    def build(
        cls, cells: Iterable[GradeCell], experiments: Iterable[str] | None = None, rolls: Iterable[str] | None = None
    ) -> _Index:
        """Index the cells, collecting every problem first so the examiner fixes them in one go."""
        known_exps = set(experiments) if experiments is not None else None
        known_rolls = set(rolls) if rolls is not None else None
        index = cls()
        problems: list[str] = []
        for cell in cells:
            key = (cell.roll_no, cell.experiment)
            if key in index.cells:
                problems.append(f"two grade cells for roll {cell.roll_no} {cell.experiment}")
            if known_exps is not None and cell.experiment not in known_exps:
                problems.append(
                    f"roll {cell.roll_no}: experiment {cell.experiment!r} is not among the exported "
                    f"experiments ({', '.join(sorted(known_exps))})"
                )
            if known_rolls is not None and cell.roll_no not in known_rolls:
                problems.append(f"roll {cell.roll_no} ({cell.experiment}) is not on the roster")
            problems.extend(_mark_problems(cell))
            index.cells[key] = cell
        if problems:
            raise ExportError(_join_problems("cannot export the marks", problems))
        return index


def _mark_problems(cell: GradeCell) -> list[str]:
    """Marks that no LMS should receive: non-numbers, NaN, out of 0..5, unknown columns."""
    problems = []
    unknown = sorted(set(cell.marks) - set(COLUMNS))
    if unknown:
        problems.append(f"roll {cell.roll_no} {cell.experiment}: unknown marks column(s) {unknown}")
    for column in COLUMNS:
        value = cell.marks.get(column)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 <= value <= COLUMN_MAX
        ):
            problems.append(
                f"roll {cell.roll_no} {cell.experiment}: {column} = {value!r} is not a mark "
                f"between 0 and {format_marks(COLUMN_MAX)}"
            )
    return problems


def _join_problems(headline: str, problems: Sequence[str], limit: int = 20) -> str:
    lines = [f"{headline}: {len(problems)} problem(s)"] + [f"  {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


# -- LMS grade CSVs -------------------------------------------------------------


def write_lms_csv(
    fmt: Literal["moodle", "canvas"],
    roster: Sequence[RosterEntry],
    cells: Iterable[GradeCell],
    experiments: Sequence[tuple[str, str]],
    path: Path | str,
    *,
    per_component: bool = False,
    identifier: Identifier | None = None,
) -> Path:
    """Write one row per student for Moodle's or Canvas's grade import.

    ``experiments`` are (id, title) in column order; titles become the column
    headings the LMS matches to grade items (Moodle lets the examiner map each
    column; Canvas matches an existing assignment by exact title, or by a
    ``Title (assignment id)`` heading, and otherwise creates a new one).
    ``identifier`` picks the roster field the LMS matches students on
    (default: email for Moodle, id_number for Canvas). Every student on the
    roster gets a row; an experiment with no cell for that student is blank.
    """
    if fmt not in ("moodle", "canvas"):
        raise ExportError(f"unknown LMS format {fmt!r}; expected 'moodle' or 'canvas'")
    ident: Identifier = identifier or _DEFAULT_IDENTIFIER[fmt]
    _check_identifiers(roster, ident, fmt)
    exp_ids = [exp_id for exp_id, _ in experiments]
    if len(set(exp_ids)) != len(exp_ids):
        raise ExportError(f"an experiment is listed twice: {exp_ids}")
    index = _Index.build(cells, exp_ids, [s.roll_no for s in roster])
    columns = _grade_columns(experiments, per_component)
    if fmt == "canvas":
        _check_canvas_headings([heading for heading, _, _ in columns])
        header = list(CANVAS_STUDENT_COLUMNS)
        leading: list[list[str]] = [["Points Possible", "", "", "", ""] + [format_marks(m) for _, _, m in columns]]
    else:
        header = [_MOODLE_IDENTIFIER_HEADING[ident], "Full name", "Roll number"]
        leading = []
    header += [heading for heading, _, _ in columns]
    rows = leading + [_student_row(fmt, ident, student, index, columns) for student in roster]
    return _write_rows(Path(path), header, rows)


_Column = tuple[str, tuple[str, str | None], float]  # heading, (experiment id, column or None=total), max


def _grade_columns(experiments: Sequence[tuple[str, str]], per_component: bool) -> list[_Column]:
    if not per_component:
        return [(title, (exp_id, None), TOTAL_MAX) for exp_id, title in experiments]
    return [(f"{title} - {HEADINGS[c]}", (exp_id, c), COLUMN_MAX) for exp_id, title in experiments for c in COLUMNS]


def _student_row(
    fmt: str, ident: Identifier, student: RosterEntry, index: _Index, columns: Sequence[_Column]
) -> list[str]:
    if fmt == "canvas":
        # Canvas matches on ID (its own user id, unknown here), then SIS User ID, then SIS Login ID, then
        # the name. Only the chosen identifier is written, so a stale other field cannot pick the wrong student.
        sis_user = student.id_number.strip() if ident == "id_number" else ""
        sis_login = student.email.strip() if ident == "email" else ""
        row = [student.name, "", sis_user, sis_login, student.section]
    else:
        row = [getattr(student, ident).strip(), student.name, student.roll_no]
    for _, (exp_id, column), _ in columns:
        cell = index.cells.get((student.roll_no, exp_id))
        if cell is None:
            row.append("")
        elif column is None:
            row.append(format_marks(total(cell.effective())))
        else:
            row.append(format_marks(cell.mark(column)))
    return row


def _check_identifiers(roster: Sequence[RosterEntry], ident: Identifier, fmt: str) -> None:
    """Every student needs the identifier the LMS matches on; a row it cannot match is lost silently."""
    if not roster:
        raise ExportError("the roster is empty: there is nobody to export")
    rolls = [s.roll_no for s in roster]
    duplicates = sorted({r for r in rolls if rolls.count(r) > 1})
    if duplicates:
        raise ExportError(f"roll number(s) {', '.join(duplicates)} appear twice on the roster")
    lacking = [s.roll_no for s in roster if not getattr(s, ident).strip()]
    other = "id_number" if ident == "email" else "email"
    if len(lacking) == len(roster):
        raise ExportError(
            f"the roster has no {ident!r} column (or it is empty for every student); "
            f"{fmt.capitalize()} matches students on it. Add {ident} to the roster, or export with "
            f"--identifier {other}"
        )
    if lacking:
        raise ExportError(
            f"roster column {ident!r} is empty for roll(s) {', '.join(lacking)}; "
            f"{fmt.capitalize()} could not match their rows, so nothing was written"
        )
    values = [getattr(s, ident).strip().lower() for s in roster]
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ExportError(f"roster column {ident!r} has the same value for more than one student: {repeated}")


def _check_canvas_headings(headings: Sequence[str]) -> None:
    """Canvas would skip or misread assignment columns that look like its own totals."""
    bad = [h for h in headings if _CANVAS_RESERVED.search(h)]
    if bad:
        raise ExportError(f"Canvas ignores assignment columns named like its totals: {bad}; rename the experiments")


def _write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


# -- the long CSV -------------------------------------------------------------------


def long_rows(roster: Sequence[RosterEntry], cells: Iterable[GradeCell]) -> list[dict[str, str]]:
    """One row per student × experiment (cells' order), marks as text, blank when pending.

    ``pending`` names the columns still to be given (``viva`` or ``answers;viva``);
    ``total`` is blank whenever ``pending`` is not.
    """
    names = {s.roll_no: s.name for s in roster}
    index = _Index.build(cells)
    rows = []
    for cell in index.cells.values():
        marks = cell.effective()
        row = {"roll_no": cell.roll_no, "name": names.get(cell.roll_no, cell.name), "experiment": cell.experiment}
        row.update({c: format_marks(marks[c]) for c in COLUMNS})
        row["total"] = format_marks(total(marks))
        row["status"] = cell.status
        row["pending"] = "" if cell.status in UNMARKED_STATUSES else ";".join(pending_columns(marks))
        rows.append(row)
    return rows


def write_long_csv(roster: Sequence[RosterEntry], cells: Iterable[GradeCell], path: Path | str) -> Path:
    """Write :func:`long_rows` with :data:`LONG_HEADER` (UTF-8 with BOM)."""
    rows = long_rows(roster, cells)
    return _write_rows(Path(path), LONG_HEADER, ([row[k] for k in LONG_HEADER] for row in rows))


# -- Gradescope -------------------------------------------------------------------


def gradescope_result(cell: GradeCell) -> dict[str, object]:
    """One submission in Gradescope's autograder ``results.json`` schema.

    The top-level ``score`` is the sum of the columns that have been given;
    pending columns are listed as tests with ``max_score`` and no ``score``,
    and the output says they are not counted yet. Hidden checks are kept with
    ``visibility: hidden`` and without their evidence, and the autograder's
    stdout is hidden, so nothing examiner-only reaches a student.
    """
    marks = cell.effective()
    missing = pending_columns(marks)
    tests: list[dict[str, object]] = []
    for number, column in enumerate(COLUMNS, start=1):
        test: dict[str, object] = {
            "name": HEADINGS[column],
            "number": str(number),
            "max_score": COLUMN_MAX,
            "visibility": "visible",
            "tags": ["marks sheet"],
        }
        if marks[column] is None:
            test["name"] = f"{HEADINGS[column]} (pending)"
            test["output"] = f"{HEADINGS[column]} has not been marked yet; it is not counted in the score."
        else:
            test["score"] = marks[column]
            test["output"] = f"{HEADINGS[column]}: {format_marks(marks[column])} / {format_marks(COLUMN_MAX)}"
        tests.append(test)
    for number, check in enumerate(cell.check_lines(), start=1):
        tests.append(_gradescope_check(check, number))
    return {
        "score": given_sum(marks),
        "output": _gradescope_summary(cell, marks, missing),
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _gradescope_check(check: CheckLine, number: int) -> dict[str, object]:
    test: dict[str, object] = {
        "name": f"Check: {check.title}",
        "number": f"c{number}",
        "score": check.awarded,
        "max_score": check.max,
        "status": "passed" if check.awarded >= check.max else "failed",
        "visibility": "hidden" if check.hidden else "visible",
        "tags": ["check"],
    }
    if not check.hidden:
        test["output"] = check.evidence
    return test


def _gradescope_summary(cell: GradeCell, marks: Mapping[str, float | None], missing: Sequence[str]) -> str:
    lines = [", ".join(f"{HEADINGS[c]} {format_marks(marks[c]) or 'pending'}" for c in COLUMNS) + "."]
    if missing:
        names = " and ".join(HEADINGS[c].lower() for c in missing)
        lines.append(
            f"Scored {format_marks(given_sum(marks))} so far; {names} pending, not counted "
            f"({format_marks(COLUMN_MAX * len(missing))} marks still to be given)."
        )
    else:
        lines.append(f"Total {format_marks(total(marks))} / {format_marks(TOTAL_MAX)}.")
    if cell.status != "completed":
        lines.append(f"Run status: {cell.status}" + (f" ({cell.reason})" if cell.reason else "") + ".")
    lines.append("Checks are listed for feedback; the score is the marks sheet's columns, not the checks' sum.")
    return "\n".join(lines)


def write_gradescope(cells: Iterable[GradeCell], out_dir: Path | str) -> list[Path]:
    """Write ``out_dir/<experiment>/<roll_no>/results.json`` per graded submission.

    Cells with nothing to report (missing, not graded, harness failure, or
    every column still pending) get no file: a results.json always carries a
    score, and theirs would be a false 0.
    """
    index = _Index.build(cells)
    bad = sorted({part for key in index.cells for part in key if not _PATH_PART.match(part)})
    if bad:
        raise ExportError(f"roll numbers and experiment ids become directory names; these cannot: {bad}")
    written = []
    for (roll_no, experiment), cell in index.cells.items():
        if cell.status in UNMARKED_STATUSES or len(pending_columns(cell.effective())) == len(COLUMNS):
            continue
        path = Path(out_dir) / experiment / roll_no / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(gradescope_result(cell), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
