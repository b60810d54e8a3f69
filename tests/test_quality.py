"""The project's own checks, run as tests so that the one test command runs them: ruff and mypy --strict."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_finds_nothing() -> None:
    """Lint (pyflakes, pycodestyle with lines <= 120, import order, bugbear, pyupgrade), configured in pyproject."""
    proc = _run("ruff", "check", "graders", "sandbox/runtime", "tests", "rubrics", "benchmarks")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_mypy_strict_finds_nothing() -> None:
    """``mypy --strict`` over graders, the sandbox runtime and every experiment's code under rubrics/ (the files
    pyproject's [tool.mypy] names; its settings say what is relaxed, and why)."""
    proc = _run(sys.executable, "-m", "mypy")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
