"""Every view of the marks says the same thing, and the examiners' commands fail in one line.

A small class's gradebook (real SQLite, hand-written runs: no grading) gets a viva through the desk (Flask test
client) and two by CSV; a viva on work not handed in is refused by the desk, by the CSV import and by `override`.
Then the static register, the desk register, both long CSVs, the Moodle, Canvas and Gradescope exports and the
command line's summary must show the same marks, the same marks pending and the same wording for missing work.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from graders.desk.app import create_app
from graders.gradebook import Gradebook
from graders.models import (
    CheckResult,
    Component,
    ComponentMarks,
    IntegrityFlag,
    Override,
    RunRecord,
    Status,
    VivaQuestion,
)
from tests.artifacts_helper import course_toml, make_run

COURSE = "Views test class"
T0 = datetime(2026, 8, 27, 10, 0)
COURSE_TOML = course_toml(
    COURSE,
    """
[lms.canvas]
boston = "Boston housing (1201)"
fashion = "Fashion CNN (1234)"
""",
)
ROSTER = (
    "roll_no,name,email,id_number\n"
    "1,Asha Patil,asha@college.example,S001\n"
    "2,Rohan Deshmukh,rohan@college.example,S002\n"
    "3,Meera Joshi,meera@college.example,S003\n"
)
MISSING = "not handed in"

# What every view must show, worked out by hand: the run's marks, the examiners' vivas on top.
#   1 boston: 4 + 3.5 + viva 4 (CSV) + 5 = 16.5      1 fashion: 5 + 4 + viva 3 (desk, 3 of 5 questions) + 5 = 17
#   2 boston: answers and viva pending, 2 + 5 = 7     2 fashion: viva pending, 3 + 3 + 4 = 10 (forged numbers)
#   3 boston: 2 + 1 + viva 2.5 (CSV) + 5 = 10.5       3 fashion: not handed in (the viva tried on it is refused)
FINAL = {("1", "boston"): 16.5, ("1", "fashion"): 17.0, ("3", "boston"): 10.5}
GIVEN = {**FINAL, ("2", "boston"): 7.0, ("2", "fashion"): 10.0}
PENDING = {("2", "boston"): 10.0, ("2", "fashion"): 5.0}  # in marks, never in columns
CELL_TEXT = {
    ("1", "boston"): "16.5/20",
    ("1", "fashion"): "17/20",
    ("2", "boston"): "7/20 + answers and viva pending",
    ("2", "fashion"): "10/20 + viva pending",
    ("3", "boston"): "10.5/20",
    ("3", "fashion"): MISSING,
}
ROW_TOTAL = {"1": "33.5/40", "2": "17/40 + 15 marks pending", "3": "10.5/40"}


def _viva(n: int) -> list[VivaQuestion]:
    return [VivaQuestion(question=f"Question {i} on your model?", answer=f"key {i}") for i in range(1, n + 1)]


def _run(roll: str, exp: str, marks: ComponentMarks, status: Status = Status.completed, **extra: Any) -> RunRecord:
    checks = [
        CheckResult(id="runs", title="Runs end to end", component=Component.coding_efficiency, points=1,
                    awarded=1, passed=True, evidence="all cells ran"),
    ]  # fmt: skip
    return make_run(
        run_id=f"{roll}-{exp}", course=COURSE, roll_no=roll, name="x", experiment=exp, status=status, marks=marks,
        graded_at=T0, submitted_at=T0 - timedelta(days=1), checks=checks, viva=_viva(5), **extra,
    )  # fmt: skip


def build_class(folder: Path) -> Path:
    """course.toml (with the Canvas assignment names), a roster with emails and student IDs, and six runs."""
    (folder / "submissions").mkdir(parents=True)
    (folder / "out").mkdir()
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    course = folder / "course.toml"
    course.write_text(COURSE_TOML, encoding="utf-8")
    forged = IntegrityFlag(kind="forged_numbers", label="forged numbers", evidence="printed 0.99, measured 0.61")
    runs = [
        _run("1", "boston", ComponentMarks(answers=4, coding_efficiency=3.5, viva=None, timely_completion=5)),
        _run("1", "fashion", ComponentMarks(answers=5, coding_efficiency=4, viva=None, timely_completion=5)),
        _run("2", "boston", ComponentMarks(answers=None, coding_efficiency=2, viva=None, timely_completion=5)),
        _run(
            "2",
            "fashion",
            ComponentMarks(answers=3, coding_efficiency=3, viva=None, timely_completion=4),
            flags=[forged],
        ),  # fmt: skip
        _run("3", "boston", ComponentMarks(answers=2, coding_efficiency=1, viva=None, timely_completion=5)),
        _run("3", "fashion", ComponentMarks(), Status.missing, reason="nothing handed in for fashion"),
    ]
    with Gradebook(folder / "out" / "gradebook.sqlite") as book:
        for run in runs:
            book.record_run(run)
    return course


def labgrade(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graders.cli", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labgrade: error:") and needle in lines[0], result.stderr
    return lines[0]


def overrides(course: Path) -> list[Override]:
    with Gradebook(course.parent / "out" / "gradebook.sqlite") as book:
        return [o for _, o in book.override_history(COURSE)]


class Cells(HTMLParser):
    """The text of each register cell by (roll, experiment), and of each row's Total, from the register table."""

    def __init__(self, html: str, experiments: list[str]) -> None:
        super().__init__()
        self.experiments = experiments
        self.cells: dict[tuple[str, str], str] = {}
        self.totals: dict[str, str] = {}
        self._row: list[str] | None = None
        self._text: list[str] | None = None
        self._table = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "register") in attrs:
            self._table = 1
        elif self._table and tag == "tr":
            self._row = []
        elif self._table and tag in ("td", "th") and self._row is not None:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = 0
        elif tag in ("td", "th") and self._text is not None and self._row is not None:
            self._row.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "tr" and self._row and self._row[0].isdigit():
            roll = self._row[0]
            self.cells.update({(roll, e): self._row[2 + i] for i, e in enumerate(self.experiments)})
            self.totals[roll] = self._row[-1]
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def _csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The class with the vivas entered as examiners would, and the refused attempts on missing work."""
    course = build_class(tmp_path_factory.mktemp("views") / "class")
    client = create_app(course, token=None).test_client()
    page = client.get("/students/1/fashion/viva").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "examiner": "Dr. Rao", "held_on": "2026-09-01"}
    saved = client.post("/students/1/fashion/viva", data={**form, "q1": "1", "q2": "1", "q3": "1", "q4": "0",
                                                           "q5": "0"})  # fmt: skip
    assert saved.status_code == 302
    refused = client.get("/students/3/fashion/viva")
    assert refused.status_code == 409 and MISSING in refused.get_data(as_text=True)
    posted = client.post("/students/3/fashion/viva", data={**form, **{f"q{i}": "1" for i in range(1, 6)}})
    assert posted.status_code == 409 and MISSING in posted.get_data(as_text=True)
    bad = course.parent / "missing.csv"
    bad.write_text("roll_no,experiment,column,marks,who,why\n1,boston,viva,4,Dr. Rao,viva held\n"
                   "3,fashion,viva,4,Dr. Rao,viva held\n", encoding="utf-8")  # fmt: skip
    result = labgrade("marks", "import", bad, "--course", course)  # every problem of the file, one line each
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "1 problem(s), nothing was imported" in result.stderr
    assert "missing.csv line 3: roll 3 fashion was not handed in: there is nothing to mark" in result.stderr
    one_line_error(
        labgrade(
            "override",
            "--course",
            course,
            "--roll-no",
            "3",
            "--experiment",
            "fashion",
            "--component",
            "viva",
            "--marks",
            "4",
            "--who",
            "Dr. Rao",
            "--why",
            "viva held",
        ),  # fmt: skip
        "roll 3 fashion was not handed in: there is nothing to mark",
    )
    good = course.parent / "vivas.csv"
    good.write_text("roll_no,experiment,column,marks,who,why\n1,boston,viva,4,Dr. Rao,viva held\n"
                    "03,boston,Viva,2.5,Dr. Rao,viva held\n", encoding="utf-8")  # fmt: skip
    assert labgrade("marks", "import", good, "--course", course).returncode == 0
    assert [(o.roll_no, o.experiment, o.marks) for o in overrides(course)] == [
        ("1", "fashion", 3.0),
        ("1", "boston", 4.0),
        ("3", "boston", 2.5),
    ]  # nothing recorded on the missing work
    return course


def test_every_view_shows_the_same_marks_pending_and_missing_work(marked: Path, tmp_path: Path) -> None:
    course, out = marked, marked.parent / "out"
    exps = ["boston", "fashion"]
    report = labgrade("report", "--course", course, "--all")
    assert report.returncode == 0, report.stderr

    static = Cells((out / "reports" / "register.html").read_text(encoding="utf-8"), exps)
    desk = Cells(create_app(course, token=None).test_client().get("/").get_data(as_text=True), exps)
    for key, text in CELL_TEXT.items():
        assert static.cells[key].startswith(text), (key, static.cells[key])
        shown = desk.cells[key]
        assert shown.startswith(MISSING if key not in GIVEN else f"{GIVEN[key]:g}/20"), (key, shown)
        assert ("pending — examiner" in shown) == (key in PENDING), (key, shown)  # the viva (or answers) to give
    for roll, total in ROW_TOTAL.items():
        assert static.totals[roll] == total and desk.totals[roll] == total, (roll, static.totals, desk.totals)
    assert "forged numbers" in static.cells[("2", "fashion")] and "forged numbers" in desk.cells[("2", "fashion")]

    long_csv = out / "reports" / "marks.csv"
    exported = tmp_path / "marks.csv"
    assert labgrade("export", "--course", course, "--format", "csv", "--out", exported).returncode == 0
    assert exported.read_bytes() == long_csv.read_bytes()  # one long CSV format
    rows = {(r["roll_no"], r["experiment"]): r for r in _csv(long_csv)}
    for key in CELL_TEXT:
        row = rows[key]
        assert row["total"] == (f"{FINAL[key]:g}" if key in FINAL else "")
        assert row["pending_marks"] == (f"{PENDING.get(key, 0):g}" if key in GIVEN else "")
        if key not in GIVEN:
            assert (row["status"], row["note"], row["viva"]) == ("missing", MISSING, "")
    assert rows[("2", "fashion")]["status"] == "completed; integrity: forged numbers"

    summary = labgrade("report", "--course", course).stdout
    for (roll, exp), text in CELL_TEXT.items():
        shown = f"{MISSING}: {exp}" if text == MISSING else f"{exp} {text}"
        assert shown in summary, (roll, exp, summary)
    for roll, total in ROW_TOTAL.items():
        assert re.search(rf"^\s*{roll} .*: {re.escape(total)} \(", summary, re.M), (roll, summary)
    assert "1 not handed in; 15 marks pending (2 vivas to hold)" in summary

    moodle, canvas = tmp_path / "moodle.csv", tmp_path / "canvas.csv"
    done = labgrade("export", "--course", course, "--format", "moodle", "--out", moodle)
    assert done.returncode == 0 and "roll 3: 3. Fashion-MNIST CNN: not handed in" in done.stdout, done.stdout
    assert _csv(moodle, "utf-8-sig") == [
        {"Email address": "asha@college.example", "Full name": "Asha Patil", "Roll number": "1",
         "1. Boston housing prices": "16.5", "3. Fashion-MNIST CNN": "17"},
    ]  # fmt: skip
    assert labgrade("export", "--course", course, "--format", "canvas", "--out", canvas, "--experiment",
                    "boston").returncode == 0  # fmt: skip
    lines = _csv(canvas, "utf-8-sig")
    assert lines[0]["Student"] == "Points Possible"
    assert {r["SIS User ID"]: r["Boston housing (1201)"] for r in lines[1:]} == {"S001": "16.5", "S003": "10.5"}

    gradescope = tmp_path / "gradescope"
    assert labgrade("export", "--course", course, "--format", "gradescope", "--out", gradescope).returncode == 0
    emails = {"1": "asha@college.example", "2": "rohan@college.example", "3": "meera@college.example"}
    found = {
        (roll, exp): json.loads(p.read_text())["score"]
        for (roll, exp) in CELL_TEXT
        if (p := gradescope / exp / "marks" / emails[roll] / "results.json").is_file()
    }
    assert found == FINAL  # pending and missing never go out as a score


def test_marks_list_shows_the_stored_sequence_numbers(tmp_path: Path) -> None:
    """Marks entered for one student, another, then the first again: listed by the numbers the gradebook keeps."""
    from graders import api

    course = build_class(tmp_path / "class")
    for roll, exp, mark in (("1", "boston", 4.0), ("3", "boston", 2.0), ("1", "boston", 4.5)):
        api.override(course=course, roll_no=roll, experiment=exp, component="viva", marks=mark, who="Dr. Rao",
                     why="viva held")  # fmt: skip
    rows = api.marks_history(course=course)
    assert [(r["seq"], r["roll_no"], r["marks"], r["previous"]) for r in rows] == [
        ("1", "1", "4", ""),
        ("2", "3", "2", ""),
        ("3", "1", "4.5", "4"),
    ]
    assert [r["seq"] for r in api.marks_history(course=course, roll_no="1")] == ["1", "3"]
    listed = labgrade("marks", "list", "--course", course, "--roll-no", "1").stdout
    assert [line.split()[0] for line in listed.splitlines()[1:] if line.split() and line.split()[0].isdigit()] == [
        "1",
        "3",
    ], listed


def test_examiners_commands_fail_in_one_line(marked: Path, tmp_path: Path) -> None:
    course = marked
    one_line_error(
        labgrade(
            "marks",
            "revert",
            "--course",
            course,
            "--roll-no",
            "1",
            "--experiment",
            "boston",
            "--column",
            "efficiency",
            "--who",
            "Dr. Rao",
            "--why",
            "x",
        ),  # fmt: skip
        "'efficiency' is not a marks column",
    )
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder", encoding="utf-8")
    one_line_error(labgrade("export", "--course", course, "--format", "gradescope", "--out", taken), "is a file")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("roll_no,experiment,column,marks,who,why\n99,boston,viva,4,Dr. Rao,x\n", encoding="utf-8")
    result = labgrade("marks", "import", unknown, "--course", course)
    assert result.returncode == 2 and "field 'roll_no': roll number 99 is not on the roster" in result.stderr
    assert "field 'experiment'" not in result.stderr
    one_line_error(labgrade("serve", "--course", course, "--port", "99999"), "--port 99999 is not a TCP port")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        one_line_error(labgrade("serve", "--course", course, "--port", str(port)), f"cannot listen on 127.0.0.1:{port}")
