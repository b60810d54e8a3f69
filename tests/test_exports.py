"""Exports from the marks model, each LMS file checked against what its importer does with it.

Moodle's CSV import (``grade/import/csv``, ``load_data``): an empty cell or ``-`` is written as "no grade" over
the grade Moodle holds; a value must read as a number; a row whose user cannot be found aborts the whole import;
students not in the file are left alone. Canvas's ``GradebookImporter``: the header starts ``Student, ID`` with
``SIS User ID, SIS Login ID`` before ``Section``; a column is the assignment ``Title (id)`` names, else the one of
that exact title, else a new one; a blank under an existing score is a change that removes it; students not in the
file are left alone; columns named like its totals are not assignments. Gradescope's autograder: one
``results.json`` whose ``score`` is the submission's score, posted for the submitter of
``submission_metadata.json``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from graders.models import CheckResult, Component, ComponentMarks, Override, RunRecord, Status
from graders.reports.exports import (
    LONG_HEADER,
    ExportError,
    RosterEntry,
    gradescope_result,
    long_rows,
    write_gradescope,
    write_lms_csv,
    write_long_csv,
)
from graders.reports.model import ClassMarks, ExperimentInfo, StudentInfo, class_marks
from graders.reports.sheet import format_total
from tests.artifacts_helper import make_run

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=timezone.utc)
EXPERIMENTS = {
    "boston": ExperimentInfo("boston", "1. Boston housing"),
    "fashion": ExperimentInfo("fashion", "3. Fashion-MNIST"),
    "face": ExperimentInfo("face", "MP1. Face recognition"),
    "agegender": ExperimentInfo("agegender", "MP2. Gender and age"),
}
MINIS = ("face", "agegender")
STUDENTS = [
    StudentInfo("1", "Zoë Øster", ["boston", "fashion", "face"]),
    StudentInfo("2", "Ravi Kumar", ["boston", "fashion", "agegender"]),
    StudentInfo("3", "Ana Lima", ["boston", "fashion", "face"]),
]
ROSTER = [
    RosterEntry("1", "Zoë Øster", email="Zoe@uni.example", id_number="S001"),
    RosterEntry("2", "Ravi Kumar", email="ravi@uni.example", id_number="S002", section="B"),
    RosterEntry("3", "Ana Lima", email="ana@uni.example", id_number="S003"),
]
VIVA_PENDING = ComponentMarks(answers=4, coding_efficiency=3.5, viva=None, timely_completion=5)
CANVAS_NAMES = {"boston": "Boston housing (1201)", "fashion": "Fashion CNN (1234)"}


def _run(roll: str, exp: str, marks: ComponentMarks, status: Status = Status.completed) -> RunRecord:
    checks = [
        CheckResult(id="runs", title="Runs end to end", component=Component.coding_efficiency, points=1, awarded=1,
                    passed=True, evidence="all 14 cells ran"),
        CheckResult(id="secret", title="Hidden holdout", component=Component.coding_efficiency, points=2,
                    awarded=1.5, passed=True, evidence="holdout accuracy 0.84", hidden=True),
    ]  # fmt: skip
    return make_run(
        run_id=f"{roll}-{exp}", course="c", roll_no=roll, name="x", experiment=exp, status=status, marks=marks,
        graded_at=T0, checks=checks,
    )  # fmt: skip


def _viva(roll: str, exp: str, marks: float) -> Override:
    return Override(roll_no=roll, experiment=exp, component=Component.viva, marks=marks, who="Dr. Rao",
                    why="viva held", at=T0)  # fmt: skip


@pytest.fixture
def marks() -> ClassMarks:
    """1: boston and face final, fashion viva pending. 2: boston final, fashion not handed in, agegender final.
    3: boston final (a failed run, marks given), fashion not graded, face viva pending."""
    runs = [
        _run("1", "boston", VIVA_PENDING),
        _run("1", "fashion", VIVA_PENDING),
        _run("1", "face", VIVA_PENDING),
        _run("2", "boston", VIVA_PENDING),
        _run("2", "fashion", ComponentMarks(), Status.missing),
        _run("2", "agegender", VIVA_PENDING),
        _run(
            "3",
            "boston",
            ComponentMarks(answers=2, coding_efficiency=0, viva=None, timely_completion=5),
            Status.cell_error,
        ),  # fmt: skip
        _run("3", "face", VIVA_PENDING),
    ]
    overrides = {
        ("1", "boston"): [_viva("1", "boston", 4)],
        ("1", "face"): [_viva("1", "face", 3)],
        ("2", "boston"): [_viva("2", "boston", 5)],
        ("2", "agegender"): [_viva("2", "agegender", 2.5)],
        ("3", "boston"): [_viva("3", "boston", 1)],
    }
    return class_marks(EXPERIMENTS, STUDENTS, runs, overrides)


def read(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to show non-ASCII names"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


# -- Moodle -------------------------------------------------------------------


def test_moodle_never_gets_an_empty_cell_that_would_clear_a_grade(marks: ClassMarks, tmp_path: Path) -> None:
    """gradeimport_csv writes '' and '-' as "no grade": a student whose mark is not final is left out instead."""
    done = write_lms_csv("moodle", marks, ROSTER, tmp_path / "m.csv", experiments=["boston"])
    rows = read(done.path)
    assert rows == [
        ["Email address", "Full name", "Roll number", "1. Boston housing"],
        ["Zoe@uni.example", "Zoë Øster", "1", "16.5"],
        ["ravi@uni.example", "Ravi Kumar", "2", "17.5"],
        ["ana@uni.example", "Ana Lima", "3", "8"],
    ]
    two = write_lms_csv("moodle", marks, ROSTER, tmp_path / "two.csv", experiments=["boston", "face", "agegender"],
                        mini_projects=MINIS)  # fmt: skip
    body = read(two.path)[1:]
    assert [r[2:] for r in body] == [["1", "16.5", "15.5"], ["2", "17.5", "15"]]
    assert all(cell.strip() not in ("", "-") for row in body for cell in row)
    assert [(x.roll_no, x.why) for x in two.left_out] == [("3", "Mini project: viva pending")]


def test_moodle_rows_all_match_a_user_and_hold_numbers(marks: ClassMarks, tmp_path: Path) -> None:
    """A row whose user is not found aborts Moodle's whole import; a grade must read as a number."""
    rows = read(write_lms_csv("moodle", marks, ROSTER, tmp_path / "m.csv", identifier="id_number",
                              experiments=["boston"]).path)  # fmt: skip
    assert rows[0][0] == "ID number" and [r[0] for r in rows[1:]] == ["S001", "S002", "S003"]
    assert all(0 <= float(v) <= 20 for r in rows[1:] for v in r[3:])
    lacking = [*ROSTER[:2], RosterEntry("3", "Ana Lima")]
    with pytest.raises(ExportError, match="empty for roll"):
        write_lms_csv("moodle", marks, lacking, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_moodle_names_the_grade_items_of_the_course_file(marks: ClassMarks, tmp_path: Path) -> None:
    names = {"boston": "Experiment 1 (Boston)"}
    rows = read(write_lms_csv("moodle", marks, ROSTER, tmp_path / "m.csv", names=names, experiments=["boston"],
                              per_component=True).path)  # fmt: skip
    assert rows[0][3:] == [f"Experiment 1 (Boston) - {c.heading}" for c in Component]
    assert rows[1][3:] == ["4", "3.5", "4", "5"]


def test_nothing_final_is_an_error_not_an_empty_file(marks: ClassMarks, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no student has a final mark"):
        write_lms_csv("moodle", marks, ROSTER, tmp_path / "m.csv", experiments=["fashion"])
    assert not (tmp_path / "m.csv").exists()


# -- Canvas -------------------------------------------------------------------


def test_canvas_header_points_row_and_assignment_ids(marks: ClassMarks, tmp_path: Path) -> None:
    """The importer wants Student, ID, SIS User ID, SIS Login ID, Section first, a Points Possible row, and
    matches "Title (id)" to the assignment of that id (a bare title that matches nothing makes a new one)."""
    rows = read(write_lms_csv("canvas", marks, ROSTER, tmp_path / "c.csv", names=CANVAS_NAMES,
                              experiments=["boston"]).path)  # fmt: skip
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Boston housing (1201)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "20"]
    assert rows[2:] == [
        ["Zoë Øster", "", "S001", "", "", "16.5"],
        ["Ravi Kumar", "", "S002", "", "B", "17.5"],
        ["Ana Lima", "", "S003", "", "", "8"],
    ]


def test_canvas_leaves_out_what_a_blank_would_remove(marks: ClassMarks, tmp_path: Path) -> None:
    """A blank under an existing Canvas score removes it: rows not final are not in the file at all."""
    done = write_lms_csv("canvas", marks, ROSTER, tmp_path / "c.csv", names=CANVAS_NAMES,
                         experiments=["boston", "face"], mini_projects=MINIS)  # fmt: skip
    rows = read(done.path)
    assert rows[0][5:] == ["Boston housing (1201)", "Mini project"]
    assert rows[2:] == [["Zoë Øster", "", "S001", "", "", "16.5", "15.5"]]
    assert [(x.roll_no, x.why) for x in done.left_out] == [
        ("2", "Mini project: not assigned"),  # agegender was not exported: its column holds only face
        ("3", "Mini project: viva pending"),
    ]
    with pytest.raises(ExportError, match="no student has a final mark"):
        write_lms_csv("canvas", marks, ROSTER, tmp_path / "none.csv", experiments=["fashion"])


def test_canvas_matches_only_on_the_chosen_identifier_and_refuses_its_total_names(
    marks: ClassMarks, tmp_path: Path
) -> None:
    rows = read(write_lms_csv("canvas", marks, ROSTER, tmp_path / "c.csv", identifier="email",
                              experiments=["boston"]).path)  # fmt: skip
    assert [r[2:4] for r in rows[2:]] == [["", "Zoe@uni.example"], ["", "ravi@uni.example"], ["", "ana@uni.example"]]
    with pytest.raises(ExportError, match="named like its totals"):
        write_lms_csv("canvas", marks, ROSTER, tmp_path / "x.csv", names={"boston": "Final Score"})


def test_the_mini_projects_share_one_column(marks: ClassMarks, tmp_path: Path) -> None:
    """Each student has one mini project: one LMS column holds whichever is theirs, so none is blank."""
    done = write_lms_csv("canvas", marks, ROSTER, tmp_path / "c.csv", experiments=["face", "agegender"],
                         mini_projects=MINIS)  # fmt: skip
    rows = read(done.path)
    assert rows[0][5:] == ["Mini project"]
    assert [(r[0], r[5]) for r in rows[2:]] == [("Zoë Øster", "15.5"), ("Ravi Kumar", "15")]
    assert [(x.roll_no, x.why) for x in done.left_out] == [("3", "Mini project: viva pending")]


# -- Gradescope ---------------------------------------------------------------


def test_gradescope_sends_only_final_marks_keyed_by_the_roster_identifier(marks: ClassMarks, tmp_path: Path) -> None:
    done = write_gradescope(marks, ROSTER, tmp_path / "gs")
    written = sorted(str(p.relative_to(tmp_path / "gs")) for p in (tmp_path / "gs").rglob("results.json"))
    assert written == [
        "agegender/marks/ravi@uni.example/results.json",
        "boston/marks/ana@uni.example/results.json",
        "boston/marks/ravi@uni.example/results.json",
        "boston/marks/zoe@uni.example/results.json",
        "face/marks/zoe@uni.example/results.json",
    ]
    assert done.written == 5 and {(x.roll_no, x.why) for x in done.left_out} == {
        ("1", "fashion: viva pending"),
        ("2", "fashion: not handed in"),
        ("3", "fashion: not graded yet"),
        ("3", "face: viva pending"),
    }
    by_sid = write_gradescope(marks, ROSTER, tmp_path / "sid", identifier="id_number", experiments=["boston"])
    assert by_sid.written == 3 and (tmp_path / "sid" / "boston" / "marks" / "s001" / "results.json").is_file()
    assert '"sid"' in (tmp_path / "sid" / "boston" / "run_autograder").read_text()


def test_a_gradescope_result_is_the_total_and_hides_hidden_checks(marks: ClassMarks) -> None:
    cell = marks.cell("1", "boston")
    assert cell is not None
    result = gradescope_result(cell)
    assert result["score"] == 16.5 and result["stdout_visibility"] == "hidden"
    tests = result["tests"]
    assert isinstance(tests, list)
    assert [(t["name"], t["score"]) for t in tests[:4]] == [("Answers", 4), ("Coding Efficiency", 3.5),
                                                             ("Viva", 4), ("Timely Completion", 5)]  # fmt: skip
    hidden = next(t for t in tests if t["name"] == "Check: Hidden holdout")
    assert hidden["visibility"] == "hidden" and "output" not in hidden
    pending = marks.cell("1", "fashion")
    assert pending is not None
    with pytest.raises(ExportError, match="not final"):
        gradescope_result(pending)


def test_the_autograder_posts_the_submitters_marks(marks: ClassMarks, tmp_path: Path) -> None:
    """run_autograder as Gradescope runs it: /autograder is replaced by a folder of ours (same layout)."""
    write_gradescope(marks, ROSTER, tmp_path / "gs", experiments=["boston"])
    folder = tmp_path / "gs" / "boston"
    assert os.access(folder / "run_autograder", os.X_OK) and (folder / "setup.sh").is_file()
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / "marks").symlink_to(folder / "marks")
    meta = {"users": [{"email": "ZOE@uni.example", "id": 1, "name": "Zoë"}]}
    (root / "submission_metadata.json").write_text(json.dumps(meta))
    script = (folder / "run_autograder").read_text().replace("/autograder", str(root))
    ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert json.loads((root / "results" / "results.json").read_text())["score"] == 16.5
    (root / "results" / "results.json").unlink()
    meta["users"][0]["email"] = "nobody@uni.example"
    (root / "submission_metadata.json").write_text(json.dumps(meta))
    ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 1 and "no final marks" in ran.stdout and not (root / "results" / "results.json").exists()


def test_gradescope_refuses_a_file_for_its_folder(marks: ClassMarks, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        write_gradescope(marks, ROSTER, tmp_path / "taken")


# -- the long CSV ---------------------------------------------------------------


def test_the_long_csv_says_what_the_register_says(marks: ClassMarks, tmp_path: Path) -> None:
    rows = {(r["roll_no"], r["experiment"]): r for r in long_rows(marks)}
    assert list(rows) == [(s.roll_no, e) for s in STUDENTS for e in EXPERIMENTS if e in s.experiments]
    assert rows[("1", "boston")]["total"] == "16.5" and rows[("1", "boston")]["pending_marks"] == "0"
    fashion = rows[("1", "fashion")]
    assert (fashion["viva"], fashion["total"], fashion["pending_marks"]) == ("", "", "5")
    assert fashion["note"] == "viva pending: awaiting the examiner's viva"
    missing = rows[("2", "fashion")]
    assert (missing["status"], missing["note"], missing["total"], missing["pending_marks"]) == (
        "missing",
        "not handed in",
        "",
        "",
    )
    path = write_long_csv(marks, tmp_path / "marks.csv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(LONG_HEADER)
    assert format_total(VIVA_PENDING) == "12.5 + viva pending"
