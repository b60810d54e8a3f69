"""A plain install works: the wheel carries the experiments, the sandbox runtime and the templates.

Builds the wheel, installs it into a fresh virtualenv (no editable install, no source tree on the path),
and grades the sample class's Boston submissions with that ``labgrade`` from a folder outside the checkout.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=1800, check=False, env=env)
    assert proc.returncode == 0, f"{argv[:3]}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_the_wheel_grades_the_sample_class(tmp_path: Path) -> None:
    # Nothing of the checkout may be importable: a PYTHONPATH naming it would make pip see labgrade as installed.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LABGRADE_HOME")}
    env["LABGRADE_CACHE"] = str(tmp_path / "cache")
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)], cwd=tmp_path, env=env)
    wheel = next(dist.glob("labgrade-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env)
    _run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], cwd=tmp_path, env=env)
    course = tmp_path / "class"
    shutil.copytree(ROOT / "submissions", course / "submissions")
    where = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import graders, labgrade_runtime; from graders import paths; "
            "print(graders.__file__); print(paths.RUBRICS_DIR); print(paths.RUNTIME_PACKAGE)",
        ],
        cwd=course,
        env=env,
    )
    assert str(ROOT) not in where and "site-packages" in where, where
    out = _run(
        [
            str(venv / "bin" / "labgrade"),
            "grade",
            "--course",
            "submissions/course.toml",
            "--backend",
            "local",
            "--experiment",
            "boston",
            "--student",
            "1",
            "--student",
            "3",
        ],
        cwd=course,
        env=env,
    )
    assert "executed" in out
    with open(course / "reports" / "marks.csv", newline="", encoding="utf-8") as fh:
        rows = {(r["name"], r["experiment"]): r for r in csv.DictReader(fh)}
    good, broken = rows[("Good", "boston")], rows[("Broken", "boston")]
    assert good["status"] == "completed" and float(good["coding_efficiency"]) >= 4
    assert broken["status"] == "cell_error"
