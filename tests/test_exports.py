"""LMS exports: pending marks are blank (never 0), files are what Moodle, Canvas and Gradescope read."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from graders.reports.exports import (
    LONG_HEADER,
    CheckLine,
    ExportError,
    GradeCell,
    RosterEntry,
    gradescope_result,
    long_rows,
    write_gradescope,
    write_lms_csv,
    write_long_csv,
)
from graders.reports.sheet import format_total, total

EXPERIMENTS = [("boston", "Exp 1: Boston housing"), ("fashion", "Exp 2: Fashion-MNIST")]
ROSTER = [
    RosterEntry("1", "Zoë Øster", email="zoe@uni.example", id_number="S001"),
    RosterEntry("2", "Ravi Kumar", email="ravi@uni.example", id_number="S002", section="B"),
    RosterEntry("3", "Ana Lima", email="ana@uni.example", id_number="S003"),
]
FULL = {"answers": 4.0, "coding_efficiency": 3.5, "viva": 4.0, "timely_completion": 5.0}
VIVA_PENDING = {"answers": 4.0, "coding_efficiency": 3.0, "viva": None, "timely_completion": 5.0}
ZEROES = {"answers": 0.0, "coding_efficiency": 0.0, "viva": 0.0, "timely_completion": 0.0}


def cells() -> list[GradeCell]:
    return [
        GradeCell("1", "boston", "completed", FULL, checks=[("model trains", 2.0, 2.0, "loss fell 0.9 -> 0.2")]),
        GradeCell("1", "fashion", "completed", VIVA_PENDING),
        GradeCell("2", "boston", "cell_error", ZEROES, reason="cell 4 raised KeyError: 'price'"),
        GradeCell("2", "fashion", "missing", ZEROES),
        # roll 3 has no cells at all: not graded yet
    ]


def read(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to show non-ASCII names"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_total_is_none_while_anything_is_pending() -> None:
    assert total(FULL) == 16.5
    assert total(VIVA_PENDING) is None
    assert format_total(VIVA_PENDING) == "12 + viva pending"
    assert format_total({"viva": None}) == "pending"
    assert format_total({**VIVA_PENDING, "answers": None}) == "8 + answers and viva pending"


def test_moodle_one_row_per_student_with_blank_for_pending(tmp_path: Path) -> None:
    path = write_lms_csv("moodle", ROSTER, cells(), EXPERIMENTS, tmp_path / "moodle.csv")
    rows = read(path)
    assert rows[0] == ["Email address", "Full name", "Roll number", "Exp 1: Boston housing", "Exp 2: Fashion-MNIST"]
    assert rows[1] == ["zoe@uni.example", "Zoë Øster", "1", "16.5", ""]  # viva pending: no total
    assert rows[2] == ["ravi@uni.example", "Ravi Kumar", "2", "0", ""]  # a crash is a real 0; missing is blank
    assert rows[3] == ["ana@uni.example", "Ana Lima", "3", "", ""]  # not graded
    assert len(rows) == 4


def test_moodle_by_id_number_and_per_component(tmp_path: Path) -> None:
    path = write_lms_csv(
        "moodle", ROSTER, cells(), EXPERIMENTS, tmp_path / "m.csv", per_component=True, identifier="id_number"
    )
    rows = read(path)
    assert rows[0][:4] == ["ID number", "Full name", "Roll number", "Exp 1: Boston housing - Answers"]
    assert rows[0][-1] == "Exp 2: Fashion-MNIST - Timely Completion"
    assert len(rows[0]) == 3 + 8
    assert rows[1] == ["S001", "Zoë Øster", "1", "4", "3.5", "4", "5", "4", "3", "", "5"]
    assert rows[2][3:] == ["0", "0", "0", "0", "", "", "", ""]


def test_canvas_layout_with_points_possible(tmp_path: Path) -> None:
    path = write_lms_csv("canvas", ROSTER, cells(), EXPERIMENTS, tmp_path / "canvas.csv")
    rows = read(path)
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Exp 1: Boston housing",
        "Exp 2: Fashion-MNIST",
    ]
    assert rows[1] == ["Points Possible", "", "", "", "", "20", "20"]
    assert rows[2] == ["Zoë Øster", "", "S001", "", "", "16.5", ""]
    assert rows[3] == ["Ravi Kumar", "", "S002", "", "B", "0", ""]
    assert rows[4] == ["Ana Lima", "", "S003", "", "", "", ""]
    by_email = read(
        write_lms_csv(
            "canvas", ROSTER, cells(), EXPERIMENTS, tmp_path / "c2.csv", identifier="email", per_component=True
        )
    )
    assert by_email[1][5:9] == ["5", "5", "5", "5"]
    assert by_email[2][2:4] == ["", "zoe@uni.example"]


def test_roster_without_the_identifier_is_a_clear_error(tmp_path: Path) -> None:
    no_email = [RosterEntry(s.roll_no, s.name, id_number=s.id_number) for s in ROSTER]
    with pytest.raises(ExportError, match=r"roster has no 'email' column.*--identifier id_number"):
        write_lms_csv("moodle", no_email, cells(), EXPERIMENTS, tmp_path / "x.csv")
    some = [ROSTER[0], RosterEntry("2", "Ravi Kumar"), ROSTER[2]]
    with pytest.raises(ExportError, match=r"'email' is empty for roll\(s\) 2"):
        write_lms_csv("moodle", some, cells(), EXPERIMENTS, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_bad_inputs_are_refused_not_exported(tmp_path: Path) -> None:
    bad = [
        GradeCell("1", "boston", "completed", {**FULL, "viva": 7.0}),
        GradeCell("9", "boston", "completed", FULL),
        GradeCell("1", "imdb", "completed", FULL),
    ]
    with pytest.raises(ExportError) as info:
        write_lms_csv("canvas", ROSTER, bad, EXPERIMENTS, tmp_path / "x.csv")
    message = str(info.value)
    assert "viva = 7.0 is not a mark" in message
    assert "roll 9 (boston) is not on the roster" in message
    assert "'imdb' is not among the exported experiments" in message
    with pytest.raises(ExportError, match="two grade cells"):
        write_lms_csv("moodle", ROSTER, [cells()[0], cells()[0]], EXPERIMENTS, tmp_path / "x.csv")
    with pytest.raises(ExportError, match="Canvas ignores"):
        write_lms_csv("canvas", ROSTER, [], [("boston", "Final Score")], tmp_path / "x.csv")
    with pytest.raises(ExportError, match="not a mark"):
        write_long_csv(
            ROSTER, [GradeCell("1", "boston", "completed", {**FULL, "answers": float("nan")})], tmp_path / "x.csv"
        )


def test_long_csv_has_blank_pending_and_a_pending_column(tmp_path: Path) -> None:
    path = write_long_csv(ROSTER, cells(), tmp_path / "long.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == LONG_HEADER
    assert rows[0] == {
        "roll_no": "1",
        "name": "Zoë Øster",
        "experiment": "boston",
        "answers": "4",
        "coding_efficiency": "3.5",
        "viva": "4",
        "timely_completion": "5",
        "total": "16.5",
        "status": "completed",
        "pending": "",
    }
    assert rows[1]["viva"] == "" and rows[1]["total"] == "" and rows[1]["pending"] == "viva"
    assert rows[2]["total"] == "0" and rows[2]["status"] == "cell_error"
    assert [rows[3][c] for c in ("answers", "viva", "total", "pending")] == ["", "", "", ""]
    assert rows[3]["status"] == "missing"
    assert long_rows(ROSTER, [])[:1] == []


def test_gradescope_results_schema_and_pending(tmp_path: Path) -> None:
    pending = GradeCell(
        "1",
        "fashion",
        "completed",
        VIVA_PENDING,
        checks=[
            ("accuracy above 0.85", 2.0, 2.0, "test accuracy 0.88"),
            CheckLine("reference comparison", 1.0, 2.0, evidence="examiner-only: key answer is 0.91", hidden=True),
        ],
    )
    result = gradescope_result(pending)
    assert result["score"] == 12.0
    assert result["stdout_visibility"] == "hidden"
    tests = result["tests"]
    assert isinstance(tests, list)
    viva = tests[2]
    assert viva["name"] == "Viva (pending)" and "score" not in viva and viva["max_score"] == 5.0
    assert "not counted" in str(viva["output"])
    assert "viva pending" in str(result["output"])
    assert all(set(t) >= {"name", "max_score", "visibility"} for t in tests)
    hidden = tests[-1]
    assert hidden["visibility"] == "hidden" and "output" not in hidden
    assert "key answer" not in json.dumps(result)
    assert tests[4]["output"] == "test accuracy 0.88" and tests[4]["visibility"] == "visible"

    nothing_yet = GradeCell("3", "fashion", "completed", {c: None for c in FULL})
    paths = write_gradescope([*cells(), GradeCell("3", "boston", "not_graded", {}), nothing_yet], tmp_path / "gs")
    assert sorted(p.relative_to(tmp_path / "gs").as_posix() for p in paths) == [
        "boston/1/results.json",
        "boston/2/results.json",
        "fashion/1/results.json",
    ]
    crashed = json.loads((tmp_path / "gs" / "boston" / "2" / "results.json").read_text(encoding="utf-8"))
    assert crashed["score"] == 0.0 and "cell 4 raised KeyError" in crashed["output"]


def test_gradescope_refuses_unsafe_directory_names(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="directory names"):
        write_gradescope([GradeCell("../1", "boston", "completed", FULL)], tmp_path)
