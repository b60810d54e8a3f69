"""Exports: the long CSV, and Moodle, Canvas and Gradescope files that import safely.

Everything is written from the marks model (:mod:`graders.reports.model`), so
an export says what the register and the desk say.

**Only final marks leave labgrade for an LMS.** Both LMS importers write an
empty cell as "no grade" over whatever grade the LMS already holds: Moodle's
``gradeimport_csv`` (``load_data::update_grade_item``) turns ``''`` or ``-``
into a null final grade and writes it; Canvas's ``GradebookImporter`` counts a
blank under an existing score as a change and, once confirmed, removes the
score. A 0 would be a real zero. So a Moodle or Canvas file never carries an
empty grade cell: a student whose exported columns are not all final (a viva
pending, work not handed in, not graded yet) is left out of the file, which
leaves their grades in the LMS as they are (both importers change only the
students in the file), and the export says who was left out and why. Export
one experiment at a time (``experiments``) to send each mark as soon as it is
final.

**Columns an LMS recognises.** A column is named by the course file's
``[lms.canvas]`` / ``[lms.moodle]`` name of its experiment (Canvas matches
``Title (assignment id)`` or the exact title; otherwise it creates a new
assignment), else by the experiment's title; the mini projects share one
"Mini project" column unless named otherwise (each student has one).

**Gradescope** gets one ``results.json`` per final mark, in a folder named by
the identifier Gradescope knows the student by (email or student ID), beside
a ``run_autograder`` that posts it for the submitter; a mark with a column
pending is never sent as a score.

CSV files for an LMS are UTF-8 with a byte-order mark (Excel, which examiners
open them with, shows non-ASCII names correctly; both LMSs accept it). The long
CSV is plain UTF-8, one row per student × assigned experiment.
"""

from __future__ import annotations

import csv
import json
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from graders.models import COMPONENT_MAX, TOTAL_MAX, Component
from graders.reports.model import ClassMarks, MarksCell
from graders.reports.sheet import COLUMNS, format_marks, format_total

ENCODING = "utf-8-sig"
LONG_HEADER: tuple[str, ...] = ("roll_no", "name", "experiment", *COLUMNS, "total", "status", "pending_marks", "note")
# Canvas: the columns before the assignments, in the order its importer requires.
CANVAS_STUDENT_COLUMNS: tuple[str, ...] = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Canvas treats every other column as an assignment, except these (read-only totals).
_CANVAS_RESERVED = re.compile(
    r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
    r"Override Score|Override Grade|Override Status|Points Possible"
)
_FOLDER_NAME = re.compile(r"^(?!\.{1,2}$)[^/\\\0]+$")
MINI_PROJECT_COLUMN = "Mini project"

Identifier = Literal["email", "id_number"]
LMS = Literal["moodle", "canvas"]
# Moodle's import form maps a column to "Email address" or "ID number"; name the column alike.
_MOODLE_IDENTIFIER_HEADING: Mapping[str, str] = {"email": "Email address", "id_number": "ID number"}
_DEFAULT_IDENTIFIER: Mapping[str, Identifier] = {"moodle": "email", "canvas": "id_number", "gradescope": "email"}


class ExportError(Exception):
    """The marks cannot be exported as asked (a missing roster column, nothing final yet, ...)."""


@dataclass(frozen=True)
class RosterEntry:
    """One student as the LMS knows them."""

    roll_no: str
    name: str
    email: str = ""
    id_number: str = ""  # the institution's student number (Moodle "ID number", Canvas "SIS User ID")
    section: str = ""  # Canvas section name, optional


@dataclass(frozen=True)
class LeftOut:
    """A student (or a mark) an export did not write, and why."""

    roll_no: str
    why: str


@dataclass
class Exported:
    """What an export wrote and what it left out."""

    path: Path
    written: int = 0  # rows (Moodle, Canvas) or results.json files (Gradescope)
    left_out: list[LeftOut] = field(default_factory=list)


# -- the long CSV -------------------------------------------------------------------


def long_rows(marks: ClassMarks) -> list[dict[str, str]]:
    """One row per student × assigned experiment (roster order, then course order), marks as text.

    A pending column and a total with a column pending are blank, never 0; ``pending_marks`` is how many
    marks are still to be given; ``note`` says which columns wait and why, or that the work was not handed in.
    """
    rows = []
    for cell in marks.all_assigned():
        row = {"roll_no": cell.roll_no, "name": cell.name, "experiment": cell.experiment.id}
        row.update({c.value: format_marks(cell.marks.get(c)) for c in Component})
        row["total"] = format_marks(cell.total)
        row["status"] = cell.csv_status
        row["pending_marks"] = format_marks(cell.pending_marks) if cell.handed_in else ""
        row["note"] = _note(cell)
        rows.append(row)
    return rows


def _note(cell: MarksCell) -> str:
    if not cell.handed_in:
        return cell.status_label
    return "; ".join(f"{p.component.heading.lower()} pending: {p.why}" for p in cell.pending)


def write_long_csv(marks: ClassMarks, path: Path | str) -> Path:
    """Write :func:`long_rows` with :data:`LONG_HEADER`: ``reports/marks.csv`` and ``export --format csv`` alike."""
    rows = long_rows(marks)
    return _write_rows(Path(path), LONG_HEADER, ([row[k] for k in LONG_HEADER] for row in rows), "utf-8", "\n")


# -- LMS grade CSVs -------------------------------------------------------------


@dataclass(frozen=True)
class LmsColumn:
    """One grade column of an LMS file: its heading, the experiments it holds (one per student), the mark."""

    heading: str
    experiments: tuple[str, ...]
    component: Component | None  # None: the total
    maximum: float

    def cell(self, marks: ClassMarks, roll_no: str) -> MarksCell | None:
        """The student's cell in this column (None when none of its experiments is assigned to them)."""
        found = [c for e in self.experiments if (c := marks.cell(roll_no, e)) is not None and c.assigned]
        return found[0] if found else None


def lms_columns(
    marks: ClassMarks,
    names: Mapping[str, str],
    *,
    per_component: bool = False,
    experiments: Sequence[str] | None = None,
    mini_projects: Iterable[str] = (),
) -> list[LmsColumn]:
    """The grade columns in course order: each experiment under its LMS name (``names``), else its short title (the
    register's heading); the mini projects under one "Mini project" heading unless named; only ``experiments``
    when given."""
    minis = set(mini_projects)
    wanted = list(marks.experiments) if experiments is None else [e for e in marks.experiments if e in experiments]
    grouped: dict[str, list[str]] = {}
    for exp_id in wanted:
        info = marks.experiments[exp_id]
        heading = names.get(exp_id) or (MINI_PROJECT_COLUMN if exp_id in minis else info.short or info.title)
        grouped.setdefault(heading.strip(), []).append(exp_id)
    if not per_component:
        return [LmsColumn(h, tuple(exps), None, TOTAL_MAX) for h, exps in grouped.items()]
    return [
        LmsColumn(f"{h} - {c.heading}", tuple(exps), c, COMPONENT_MAX) for h, exps in grouped.items() for c in Component
    ]


def final_value(cell: MarksCell | None, component: Component | None) -> float | None:
    """The mark an LMS may receive: the total (or a column) of handed-in work once nothing in it is pending."""
    if cell is None or not cell.handed_in:
        return None
    return cell.total if component is None else cell.marks.get(component)


def _not_final(cell: MarksCell | None, column: LmsColumn) -> str:
    if cell is None:
        return f"{column.heading}: not assigned"
    if not cell.handed_in:
        return f"{column.heading}: {cell.status_label}"
    waiting = cell.pending_names if column.component is None else column.component.heading.lower()
    return f"{column.heading}: {waiting} pending"


def write_lms_csv(
    fmt: LMS,
    marks: ClassMarks,
    roster: Sequence[RosterEntry],
    path: Path | str,
    *,
    names: Mapping[str, str] | None = None,
    per_component: bool = False,
    identifier: Identifier | None = None,
    experiments: Sequence[str] | None = None,
    mini_projects: Iterable[str] = (),
) -> Exported:
    """Write one row per student whose exported columns are all final, for Moodle's or Canvas's grade import.

    Nobody else is in the file (an empty cell would clear their grade in the LMS); they are listed in the
    result's ``left_out``. ``identifier`` picks the roster field the LMS matches students on (default: email
    for Moodle, id_number for Canvas). An export with no final row at all is an :class:`ExportError`.
    """
    ident: Identifier = identifier or _DEFAULT_IDENTIFIER[fmt]
    _check_identifiers(roster, ident, fmt)
    columns = lms_columns(
        marks, names or {}, per_component=per_component, experiments=experiments, mini_projects=mini_projects
    )
    if not columns:
        raise ExportError("no experiment to export: the course has none enabled, or --experiment named none of them")
    headings = [c.heading for c in columns]
    if fmt == "canvas":
        _check_canvas_headings(headings)
        header = [*CANVAS_STUDENT_COLUMNS, *headings]
        rows: list[list[str]] = [["Points Possible", "", "", "", ""] + [format_marks(c.maximum) for c in columns]]
    else:
        header = [_MOODLE_IDENTIFIER_HEADING[ident], "Full name", "Roll number", *headings]
        rows = []
    result = Exported(Path(path))
    for student in roster:
        cells = [(column, column.cell(marks, student.roll_no)) for column in columns]
        values = [final_value(cell, column.component) for column, cell in cells]
        if any(v is None for v in values):
            why = "; ".join(_not_final(cell, column) for (column, cell), v in zip(cells, values) if v is None)
            result.left_out.append(LeftOut(student.roll_no, why))
            continue
        rows.append(_student_columns(fmt, ident, student) + [format_marks(v) for v in values])
        result.written += 1
    if not result.written:
        raise ExportError(
            f"no student has a final mark in every exported column ({len(result.left_out)} left out, e.g. roll "
            f"{result.left_out[0].roll_no}: {result.left_out[0].why}); nothing was written. Export the experiments "
            "whose vivas are held with --experiment"
        )
    _write_rows(result.path, header, rows, ENCODING, "\r\n")
    return result


def _student_columns(fmt: str, ident: Identifier, student: RosterEntry) -> list[str]:
    if fmt == "canvas":
        # Canvas matches on ID (its own user id, unknown here), then SIS User ID, then SIS Login ID, then
        # the name. Only the chosen identifier is written, so a stale other field cannot pick the wrong student.
        sis_user = student.id_number.strip() if ident == "id_number" else ""
        sis_login = student.email.strip() if ident == "email" else ""
        return [student.name, "", sis_user, sis_login, student.section]
    return [getattr(student, ident).strip(), student.name, student.roll_no]


def _check_identifiers(roster: Sequence[RosterEntry], ident: Identifier, fmt: str) -> None:
    """Every student needs the identifier the LMS matches on; a row it cannot match is lost or aborts the import."""
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


def _write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]], encoding: str, end: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator=end)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# -- Gradescope -------------------------------------------------------------------

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: it posts the marks labgrade exported for the submitter
# (marks/<{key}>/results.json), matched on the submitter's {what}. Nothing is graded here.
exec python3 - <<'PY'
import json, pathlib, shutil, sys
meta = json.loads(pathlib.Path("/autograder/submission_metadata.json").read_text())
marks = pathlib.Path("/autograder/source/marks")
for user in meta.get("users", []):
    key = str(user.get("{key}") or "").strip().lower()
    found = marks / key / "results.json"
    if key and found.is_file():
        pathlib.Path("/autograder/results").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, "/autograder/results/results.json")
        sys.exit(0)
print("labgrade has no final marks for this student yet (a viva pending, or nothing handed in).")
sys.exit(1)
PY
"""
# Gradescope's names for the roster fields labgrade keys the results by.
_GRADESCOPE_KEY: Mapping[str, tuple[str, str]] = {"email": ("email", "email"), "id_number": ("sid", "student ID")}


def gradescope_result(cell: MarksCell) -> dict[str, object]:
    """One final mark in Gradescope's autograder ``results.json`` schema.

    The score is the total out of 20; the four columns are tests carrying their marks; the checks follow for
    feedback (hidden ones with ``visibility: hidden`` and no evidence); the autograder's stdout is hidden.
    """
    if cell.total is None:
        raise ExportError(f"roll {cell.roll_no} {cell.experiment.id}: not final ({cell.status_label})")
    tests: list[dict[str, object]] = [
        {
            "name": c.heading,
            "number": str(number),
            "score": cell.marks.get(c),
            "max_score": COMPONENT_MAX,
            "visibility": "visible",
            "tags": ["marks sheet"],
            "output": f"{c.heading}: {format_marks(cell.marks.get(c))} / {format_marks(COMPONENT_MAX)}",
        }
        for number, c in enumerate(Component, start=1)
    ]
    for number, check in enumerate(cell.run.checks if cell.run else [], start=1):
        test: dict[str, object] = {
            "name": f"Check: {check.title}",
            "number": f"c{number}",
            "score": check.awarded,
            "max_score": check.points,
            "status": "passed" if check.awarded >= check.points else "failed",
            "visibility": "hidden" if check.hidden else "visible",
            "tags": ["check"],
        }
        if not check.hidden:
            test["output"] = check.evidence
        tests.append(test)
    summary = [
        f"Total {format_total(cell.marks, TOTAL_MAX)}.",
        "Checks are listed for feedback; the score is the marks sheet's columns, not the checks' sum.",
    ]
    if not cell.completed and cell.run is not None:
        summary.insert(1, f"Run status: {cell.status_label}" + (f" ({cell.run.reason})." if cell.run.reason else "."))
    return {"score": cell.total, "output": "\n".join(summary), "stdout_visibility": "hidden", "tests": tests}


def write_gradescope(
    marks: ClassMarks,
    roster: Sequence[RosterEntry],
    out_dir: Path | str,
    *,
    identifier: Identifier | None = None,
    experiments: Sequence[str] | None = None,
) -> Exported:
    """Write ``out_dir/<experiment>/marks/<identifier>/results.json`` per final mark, and per experiment the
    ``run_autograder`` (and an empty ``setup.sh``) that make the folder a Gradescope autograder.

    A mark with a column pending, work not handed in and work not graded get no file (listed in ``left_out``).
    """
    ident: Identifier = identifier or _DEFAULT_IDENTIFIER["gradescope"]
    _check_identifiers(roster, ident, "gradescope")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: is a file; Gradescope's export is a folder (one autograder per experiment)")
    keys = {s.roll_no: getattr(s, ident).strip().lower() for s in roster}
    bad = sorted(k for k in keys.values() if not _FOLDER_NAME.match(k))
    if bad:
        raise ExportError(f"these {ident} values cannot name a folder: {bad}")
    result = Exported(out)
    key, what = _GRADESCOPE_KEY[ident]
    for exp_id in marks.experiments:
        if experiments is not None and exp_id not in experiments:
            continue
        folder = out / exp_id
        for student in roster:
            cell = marks.cell(student.roll_no, exp_id)
            if cell is None or not cell.assigned:
                continue
            if cell.total is None:
                column = LmsColumn(exp_id, (exp_id,), None, TOTAL_MAX)
                result.left_out.append(LeftOut(student.roll_no, _not_final(cell, column)))
                continue
            path = folder / "marks" / keys[student.roll_no] / "results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(gradescope_result(cell), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            result.written += 1
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / "run_autograder"
        script.write_text(RUN_AUTOGRADER.replace("{key}", key).replace("{what}", what), encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        (folder / "setup.sh").write_text("#!/usr/bin/env bash\n# nothing to install: the marks are final\n")
    return result
