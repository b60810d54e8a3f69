"""The whole sample class, every experiment, graded as the README's quick start does.

Slow (about ten minutes on two idle cores): `python -m pytest -m slow tests/test_whole_class.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import api
from graders.config import Overrides, load_course
from tests.conftest import copy_course, read_csv

pytestmark = pytest.mark.slow
EXPERIMENTS = ["boston", "imdb", "letters", "fashion", "stock"]
MINI = {
    "face": ("Good", "Weak", "Broken"),
    "agegender": ("Good MP2", "Weak MP2", "Broken MP2"),
    "colorize": ("Good MP3", "Weak MP3", "Broken MP3"),
}


@pytest.fixture(scope="module")
def whole_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], dict[str, str]]]:
    course = copy_course(tmp_path_factory.mktemp("whole"))
    api.grade(course=course, overrides=Overrides(backend="local"))
    return course, read_csv(course.parent / "out" / "reports" / "marks.csv")


@pytest.mark.parametrize("exp", EXPERIMENTS + list(MINI))
def test_good_beats_weak_beats_broken(whole_class, exp):
    _, rows = whole_class
    good, weak, broken = MINI.get(exp, ("Good", "Weak", "Broken"))
    ce = [float(rows[(who, exp)]["coding_efficiency"]) for who in (good, weak, broken)]
    assert ce[0] > ce[1] > ce[2], ce
    given = [rows[(good, exp)][c] for c in ("answers", "coding_efficiency", "timely_completion")]
    assert sum(float(v) for v in given) >= 13, given  # of 15: the viva is the examiner's, pending
    assert rows[(good, exp)]["total"] == "" and rows[(good, exp)]["pending_marks"] == "5"  # pending is not a zero


def test_each_student_has_five_experiments_and_one_mini_project(whole_class):
    course, rows = whole_class
    cfg = load_course(course)
    by_student: dict[str, list[str]] = {}
    for name, exp in rows:
        by_student.setdefault(name, []).append(exp)
    for name, exps in by_student.items():
        assert sorted(e for e in exps if e in EXPERIMENTS) == sorted(EXPERIMENTS), name
        assert len([e for e in exps if e in MINI]) == 1, (name, exps)
    register = (Path(cfg.reports) / "register.html").read_text(encoding="utf-8")
    assert "Good MP3" in register and "Total" in register


def test_marks_are_those_of_the_golden_csv(whole_class):
    """Every column of every row equals the recorded marks of the sample class (tests/golden/): a change of
    shape in the harness must not change a mark; a deliberate change of marking updates the golden file."""
    _, rows = whole_class
    golden = read_csv(Path(__file__).with_name("golden") / "sample_class_marks.csv")
    assert rows == golden
