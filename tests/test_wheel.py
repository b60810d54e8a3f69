"""A plain install works: the wheel carries the experiments, the sandbox runtime and the templates.

Builds the wheel, installs it into a fresh virtualenv (no editable install, no source tree on the path),
and grades the sample class's Boston submissions with that ``labgrade`` from a folder outside the checkout.

What the test does not measure is made once per machine, not once per run: the wheels of the harness's
dependencies come from a wheelhouse kept under the cache (keyed by what the wheel requires), installed offline;
the grading runtime is the one built from sandbox/lock/runtime.lock (``$LABGRADE_RUNTIME_PYTHON``), which the
installed ``labgrade`` checks against the lock the wheel carries (a wheel without the lock fails; the lock it
carries is also compared with the checkout's byte for byte).
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders.backends import runtime_env
from tests.conftest import exclusive

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=1800, check=False, env=env)
    assert proc.returncode == 0, f"{argv[:3]}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _requirements(wheel: Path) -> list[str]:
    """The Requires-Dist lines of the wheel's metadata."""
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        text = zf.read(name).decode("utf-8")
    return sorted(line for line in text.splitlines() if line.startswith("Requires-Dist:"))


def _harness_wheelhouse(wheel: Path, cache: Path, env: dict[str, str]) -> Path:
    """Wheels of everything the wheel requires (for this interpreter), built or downloaded once per machine."""
    key = [f"python {sys.version_info.major}.{sys.version_info.minor}", *_requirements(wheel)]
    house = cache / f"harness-wheels-{hashlib.sha256(chr(10).join(key).encode()).hexdigest()[:16]}"
    with exclusive("harness-wheels"):
        if not house.is_dir():
            for stale in cache.glob("harness-wheels-*"):  # another set of requirements (or a partial one): a GB
                shutil.rmtree(stale)
            partial = cache / f"{house.name}.partial"
            _run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(partial), str(wheel)], cwd=cache, env=env)
            for own in partial.glob("labgrade-*.whl"):
                own.unlink()
            partial.rename(house)
    return house


def test_the_wheel_grades_the_sample_class(tmp_path: Path, test_cache: Path) -> None:
    # Nothing of the checkout may be importable: a PYTHONPATH naming it would make pip see labgrade as installed.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LABGRADE_HOME")}
    env["LABGRADE_CACHE"] = str(tmp_path / "cache")
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)], cwd=tmp_path, env=env)
    wheel = next(dist.glob("labgrade-*.whl"))
    house = _harness_wheelhouse(wheel, test_cache, env)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env)
    # Offline: every dependency from the wheelhouse, the harness from the wheel (pip compiles no bytecode ahead of
    # time: what the grade imports is compiled as it is imported).
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--no-compile", "--no-index", "--find-links", str(house)]
    _run([*pip, str(wheel)], cwd=tmp_path, env=env)
    # The grading runtime the lock built, named to the installed labgrade, which checks it against the lock the
    # wheel carries before grading (one line and exit 2 if they differ).
    env[runtime_env.PYTHON_ENV] = str(runtime_env.ensure())
    course = tmp_path / "class"
    shutil.copytree(ROOT / "submissions", course / "submissions")
    where = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import graders, labgrade_runtime; from graders import paths; from graders.backends import runtime_env; "
            "print(graders.__file__); print(paths.RUBRICS_DIR); print(paths.RUNTIME_PACKAGE); "
            "print(runtime_env.lock_path())",
        ],
        cwd=course,
        env=env,
    )
    assert str(ROOT) not in where and "site-packages" in where, where
    shipped = Path(where.splitlines()[-1])  # the lock the wheel carries is the checkout's, byte for byte
    assert shipped.read_bytes() == (ROOT / "sandbox" / "lock" / "runtime.lock").read_bytes()
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
    assert good["status"] == "completed" and float(good["coding_efficiency"]) >= 4, (good["note"], out[-3000:])
    assert broken["status"] == "cell_error", (broken["note"], out[-3000:])
