"""Course mistakes stop before anything is recorded: one line on stderr, exit 2, the gradebook untouched."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders.config import load_course
from graders.gradebook import Gradebook
from tests.conftest import copy_course


def _grade(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graders.cli", "grade", "--course", str(course), "--backend", "local", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("labgrade: error:"), result.stderr
    assert needle in lines[0], lines[0]
    assert "submission(s)" not in result.stdout  # nothing was graded


def _point_submissions_at(course: Path, folder: str) -> None:
    text = course.read_text(encoding="utf-8")
    assert 'submissions = "sample"' in text
    course.write_text(text.replace('submissions = "sample"', f'submissions = "{folder}"'), encoding="utf-8")


def test_a_submissions_folder_that_does_not_exist_records_nothing(tmp_path: Path) -> None:
    course = copy_course(tmp_path)
    cfg = load_course(course)
    cfg.gradebook.parent.mkdir(parents=True)
    with Gradebook(cfg.gradebook) as book:  # a gradebook that already holds the class's history
        assert book.latest_runs(cfg.name) == []
    before = _digest(cfg.gradebook)
    _point_submissions_at(course, "sampel")
    _refused(_grade(course), "sampel: no such folder")
    assert _digest(cfg.gradebook) == before
    assert not cfg.reports.exists()


def test_without_a_gradebook_none_is_made(tmp_path: Path) -> None:
    course = copy_course(tmp_path)
    _point_submissions_at(course, "sampel")
    _refused(_grade(course), "no such folder")
    cfg = load_course(course)
    assert not cfg.gradebook.exists() and not cfg.reports.exists()


def test_a_folder_without_student_folders(tmp_path: Path) -> None:
    course = copy_course(tmp_path)
    flat = course.parent / "flat"
    flat.mkdir()
    shutil.copy(course.parent / "sample" / "1_Good" / "Assignment1_Boston.ipynb", flat)  # notebooks, no folders
    _point_submissions_at(course, "flat")
    _refused(_grade(course), "holds no student folder")
    assert not load_course(course).gradebook.exists()


def test_folders_that_match_no_roll_on_the_roster(tmp_path: Path) -> None:
    course = copy_course(tmp_path)
    other = course.parent / "other"
    for name in ("Good", "Weak", "A_Student"):
        (other / name).mkdir(parents=True)
    _point_submissions_at(course, "other")
    _refused(_grade(course), "none of its 3 folder(s) (A_Student, Good, Weak) starts with a roll number")
    assert not load_course(course).gradebook.exists()


@pytest.mark.parametrize("rolls", [["99"], ["1", "099"]])
def test_a_student_the_roster_does_not_have(tmp_path: Path, rolls: list[str]) -> None:
    course = copy_course(tmp_path)
    flags = [arg for roll in rolls for arg in ("--student", roll)]
    _refused(_grade(course, "--experiment", "boston", *flags), "roll number(s) 99 not on the roster")
    assert not load_course(course).gradebook.exists()
