"""The sample class graded end to end: the acceptance criteria of the grading spine."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import read_csv

pytestmark = pytest.mark.e2e
HEADER = "roll_no,name,experiment,answers,coding_efficiency,viva,timely_completion,total,status,pending_marks,note"


def _csv(graded_class: tuple[Path, object]) -> dict[tuple[str, str], dict[str, str]]:
    course, _ = graded_class
    return read_csv(course.parent / "out" / "reports" / "marks.csv")


@pytest.mark.parametrize("exp", ["fashion", "boston"])
def test_good_scores_15_of_15_with_the_viva_pending(graded_class, exp):
    """Answers, Coding Efficiency and Timely Completion are marked; the viva waits for the examiner, so the total
    is blank in the CSV (never a silent sum) and the register says what is pending."""
    rows = _csv(graded_class)
    good = rows[("Good", exp)]
    assert good["status"] == "completed" and good["viva"] == "" and good["total"] == ""
    assert sum(float(good[c]) for c in ("answers", "coding_efficiency", "timely_completion")) >= 14.5
    course, _ = graded_class
    register = (course.parent / "out" / "reports" / "register.html").read_text(encoding="utf-8")
    assert "+ viva pending" in register


@pytest.mark.parametrize("exp", ["fashion", "boston"])
@pytest.mark.parametrize("who", ["Weak", "Broken", "Forger"])
def test_weaker_submissions_lose_coding_efficiency(graded_class, exp, who):
    rows = _csv(graded_class)
    assert float(rows[(who, exp)]["coding_efficiency"]) < float(rows[("Good", exp)]["coding_efficiency"])


@pytest.mark.parametrize("exp", ["fashion", "boston"])
def test_broken_and_hang_name_their_cause(graded_class, exp):
    _, summary = graded_class
    runs = {(r.name, r.experiment): r for r in summary.runs}
    broken, hang = runs[("Broken", exp)], runs[("Hang", exp)]
    assert broken.status.value == "cell_error"
    assert broken.cell_error is not None and broken.cell_error.ename in ("KeyError", "ValueError", "NameError")
    assert f"cell {broken.cell_error.cell_index} failed" in broken.reason
    assert hang.status.value == "timeout" and "longer than" in hang.reason


@pytest.mark.parametrize("exp", ["fashion", "boston"])
def test_late_and_silent(graded_class, exp):
    rows = _csv(graded_class)
    assert float(rows[("Late", exp)]["timely_completion"]) < 5
    assert rows[("Silent", exp)]["answers"] == ""  # nothing written anywhere: pending for the examiner, not 0


def test_marks_are_those_of_the_golden_csv_for_boston_and_fashion(graded_class):
    """Every column of every Boston and Fashion-MNIST row, as graded, equals the sample class's recorded marks
    (tests/golden/sample_class_marks.csv; the slow pass's tests/test_whole_class.py compares every experiment)."""
    course, _ = graded_class
    rows = read_csv(course.parent / "marks-as-graded.csv")
    golden = read_csv(Path(__file__).with_name("golden") / "sample_class_marks.csv")
    graded = {key: row for key, row in rows.items() if key[1] in ("boston", "fashion")}
    expected = {key: row for key, row in golden.items() if key[1] in ("boston", "fashion")}
    assert len(expected) == 16 * 2
    assert graded == expected


def test_forger_gets_its_true_accuracy(graded_class):
    _, summary = graded_class
    forger = next(r for r in summary.runs if r.name == "Forger" and r.experiment == "fashion")
    assert forger.metrics["accuracy"] < 0.8
    honest = next(c for c in forger.checks if c.id == "honest")
    assert not honest.passed and "printed accuracy 0.99" in honest.evidence
    assert any(f.kind == "forged_numbers" for f in forger.flags), forger.flags


def test_csv_and_reports_written(graded_class):
    course, _ = graded_class
    out = course.parent / "out" / "reports"
    assert (out / "marks.csv").read_text(encoding="utf-8").splitlines()[0] == HEADER
    rows = _csv(graded_class)
    graded = {key: row for key, row in rows.items() if key[1] in ("boston", "fashion")}
    assert len(graded) == 16 * 2 and all(row["status"] != "not_graded" for row in graded.values())
    assert rows[("Good", "imdb")]["status"] == "not_graded"  # not asked for in this run
    for page in (
        "register.html",
        "index.html",
        "1/fashion/marks.html",
        "1/fashion/feedback.html",
        "1/fashion/viva.html",
    ):
        assert (out / page).is_file(), page
    assert '<figure class="curves"><svg' in (out / "1/fashion/feedback.html").read_text(encoding="utf-8")
    assert "Dated Sign of Subject Teacher" in (out / "1/boston/marks.html").read_text(encoding="utf-8")


def test_gradebook_runs_are_immutable_with_provenance(graded_class):
    course, _ = graded_class
    with closing(sqlite3.connect(course.parent / "out" / "gradebook.sqlite")) as db:
        assert db.execute("select count(*) from runs").fetchone()[0] == 16 * 2
        with pytest.raises(sqlite3.DatabaseError):
            db.execute("update runs set status = 'completed'")
        db.rollback()
    from graders.gradebook import Gradebook

    with Gradebook(course.parent / "out" / "gradebook.sqlite") as book:
        run = next(r for r in book.latest_runs(book_course(course)) if r.name == "Good")
    assert run.provenance is not None
    assert run.provenance.runtime["tensorflow"] != "absent"
    assert "network" in run.provenance.isolation
    assert run.provenance.seed == 1234


def book_course(course: Path) -> str:
    from graders.config import load_course

    return load_course(course).name


def test_report_regenerates_without_running_anything(graded_class):
    course, _ = graded_class
    register = course.parent / "out" / "reports" / "register.html"
    register.unlink()
    code = (
        "import sys; from graders import api; api.report(course=sys.argv[1]);"
        "assert 'jupyter_client' not in sys.modules and 'tensorflow' not in sys.modules, 'a kernel or TF was loaded'"
    )
    subprocess.run([sys.executable, "-c", code, str(course)], check=True)
    assert register.is_file()


def test_override_is_layered_with_history(graded_class):
    course, _ = graded_class
    from graders import api

    api.override(
        course=course, roll_no="7", experiment="fashion", component="viva", marks=4, who="examiner A", why="viva held"
    )
    api.override(
        course=course, roll_no="7", experiment="fashion", component="viva", marks=3.5, who="examiner B", why="recheck"
    )
    out = api.export(course=course, out=course.parent / "export.csv")
    rows = read_csv(out)
    assert float(rows[("Silent", "fashion")]["viva"]) == 3.5
    sheet = course.parent / "out" / "reports" / "7" / "fashion" / "marks.html"
    api.report(course=course)
    assert "examiner B" in sheet.read_text(encoding="utf-8")


def test_a_missing_submission_is_a_graded_status(graded_class):
    rows = _csv(graded_class)
    missing = rows[("Good MP2", "boston")]  # roll 31 handed in only a mini project
    assert missing["status"] == "missing" and missing["total"] == ""  # blank: a 0 would import as a real zero


def test_exports_an_lms_takes(graded_class):
    """Only final marks go to an LMS: with every viva pending, Moodle gets no file (a blank cell would clear the
    grade Moodle holds) and Gradescope no score, only the autograder that will post them."""
    from graders import api

    course, _ = graded_class
    with pytest.raises(api.GradingError, match="no student has a final mark"):
        api.export(course=course, out=course.parent / "moodle.csv", format="moodle")
    assert not (course.parent / "moodle.csv").exists()
    out = api.export(course=course, out=course.parent / "gradescope", format="gradescope")
    assert not list(out.rglob("results.json")) and (out / "boston" / "run_autograder").is_file()
