"""The command line: --help on every verb, one-line errors, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

VERBS = ["grade", "check", "report", "export", "override", "calibrate", "sandbox"]


def labgrade(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graders.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


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
    bad.write_text('[course]\nname = "x"\nroster = "r.csv"\nsubmissions = "s"\nprofile = "fastest"\n[experiments.fashion]\ndue = 2026-01-01\n')
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
    _one_line_error(labgrade("check", str(nb), "--experiment", "boston", "--backend", "local", env=env), "LABGRADE_SANDBOX_UIDS must look like 59000-59127")
