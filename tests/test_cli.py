"""The command line: --help on every verb, one-line errors, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

VERBS = ["grade", "check", "report", "export", "override", "calibrate", "sandbox"]


def labgrade(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graders.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


@pytest.mark.parametrize("verb", VERBS)
def test_help_on_every_verb(verb):
    result = labgrade(verb, "--help")
    assert result.returncode == 0 and "usage: labgrade" in result.stdout


def _one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert needle in " ".join(lines) and lines[0].startswith("labgrade: error:")


def test_bad_course_file(tmp_path):
    bad = tmp_path / "course.toml"
    bad.write_text(
        '[course]\nname = "x"\nroster = "r.csv"\nsubmissions = "s"\nprofile = "fastest"\n'
        "[experiments.fashion]\ndue = 2026-01-01\n"
    )
    _one_line_error(labgrade("grade", "--course", str(bad)), "key 'profile'")


def test_missing_notebook(tmp_path):
    _one_line_error(labgrade("check", str(tmp_path / "nope.ipynb")), "no such file")


def test_malformed_notebook_for_check(tmp_path):
    bad = tmp_path / "x.ipynb"
    bad.write_text("{not json")
    _one_line_error(labgrade("check", str(bad), "--experiment", "fashion"), "not a valid notebook")


def test_report_before_any_grading(tmp_path):
    from tests.conftest import copy_course

    course = copy_course(tmp_path)
    _one_line_error(labgrade("report", "--course", str(course)), "no gradebook")


def test_unknown_experiment(tmp_path):
    nb = tmp_path / "x.py"
    nb.write_text("print(1)\n")
    _one_line_error(labgrade("check", str(nb), "--experiment", "cooking"), "unknown experiment 'cooking'")


def test_bad_uid_range_for_the_local_sandbox(tmp_path):
    nb = tmp_path / "x.py"
    nb.write_text("print(1)\n")
    env = {**os.environ, "LABGRADE_SANDBOX_UIDS": "59000"}
    _one_line_error(
        labgrade("check", str(nb), "--experiment", "boston", "--backend", "local", env=env),
        "LABGRADE_SANDBOX_UIDS must look like 59000-59127",
    )


def test_bad_paths_are_one_line_errors(tmp_path: Path) -> None:
    """A folder given as the course, a notebook that is a folder, a broken zip, a misspelt table, reports
    set to a file: each one line on stderr, exit 2, no traceback."""
    import shutil as _shutil

    _shutil.copytree(Path(__file__).resolve().parent.parent / "submissions", tmp_path / "submissions")
    (tmp_path / "x.ipynb").mkdir()
    (tmp_path / "bad.zip").write_text("not a zip", encoding="utf-8")
    (tmp_path / "afile").write_text("", encoding="utf-8")
    base = '[course]\nname = "x"\nroster = "submissions/roster.csv"\nsubmissions = "submissions/sample"\n'
    (tmp_path / "typo.toml").write_text(base + "[limitz]\ncpus = 1\n[experiments.boston]\ndue = 2026-08-14\n")
    (tmp_path / "file.toml").write_text(base + 'reports = "afile"\n[experiments.boston]\ndue = 2026-08-14\n')
    cases = [
        (["report", "--course", str(tmp_path / "submissions")], "is a folder; give the course file"),
        (["check", str(tmp_path / "x.ipynb")], "is a folder, not a notebook"),
        (["check", str(tmp_path / "bad.zip")], "is not a readable zip archive"),
        (["report", "--course", str(tmp_path / "typo.toml")], "unknown key 'limitz'"),
        (["report", "--course", str(tmp_path / "file.toml")], "is a file; reports go into a folder"),
    ]
    for argv, message in cases:
        proc = subprocess.run([sys.executable, "-m", "graders.cli", *argv], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (argv, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
