"""Runs a rubric's pytest checks over one run's artifacts, on the host.

Checks are ordinary pytest tests marked ``@pytest.mark.check("id")``; they
read JSON artifacts through fixtures (``art``, ``rubric``, ``award``) and
never touch student code. Points come from the rubric's ``[points]`` table;
a parametrised check shares its points equally between its instances. A
check may award part of its points with ``award.fraction`` and always says
why with ``award.evidence`` (or its assertion message).
"""

from __future__ import annotations

import io
import threading
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from graders.models import VIVA_QUESTIONS, Artifacts, CheckResult
from graders.rubric import Rubric, RubricError

COMMON_CHECKS = Path(__file__).with_name("common.py")
_EMPTY_INI = Path(__file__).with_name("pytest.ini")
_LOCK = threading.Lock()  # pytest.main keeps global state: one check session at a time


@dataclass
class Award:
    """What a check hands back besides pass/fail."""

    fraction: float = 1.0
    evidence: str = ""
    hint: str = ""
    inconclusive: bool = False  # the run cannot decide the check: its points are pending, not 0


@dataclass
class _Collected:
    check_id: str
    title: str
    hidden: bool
    award: Award = field(default_factory=Award)
    passed: bool = False
    failure: str = ""


class CheckPlugin:
    """The pytest plugin object: fixtures, parametrisation and result capture."""

    def __init__(self, rubric: Rubric, artifacts: Artifacts) -> None:
        self.rubric = rubric
        self.artifacts = artifacts
        self.results: dict[str, _Collected] = {}
        self.errors: list[str] = []

    @pytest.fixture
    def art(self) -> Artifacts:
        """The run's artifacts."""
        return self.artifacts

    @pytest.fixture(name="rubric")
    def rubric_fixture(self) -> Rubric:
        """The experiment's rubric."""
        return self.rubric

    @pytest.fixture
    def award(self, request: pytest.FixtureRequest) -> Award:
        """Where a check puts its partial credit and evidence."""
        return self.results[request.node.nodeid].award

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "question_index" in metafunc.fixturenames:
            metafunc.parametrize("question_index", range(len(self.rubric.questions)), ids=lambda i: f"q{i + 1}")
        if "viva_index" in metafunc.fixturenames:
            metafunc.parametrize("viva_index", range(VIVA_QUESTIONS), ids=lambda i: f"v{i + 1}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            mark = item.get_closest_marker("check")
            if mark is None or not mark.args:
                self.errors.append(f"{item.nodeid}: a check needs @pytest.mark.check('<id>')")
                continue
            title = mark.kwargs.get("title") or (item.function.__doc__ or item.name).strip().splitlines()[0]  # type: ignore[attr-defined]
            self.results[item.nodeid] = _Collected(mark.args[0], title, bool(mark.kwargs.get("hidden", False)))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        collected = self.results.get(item.nodeid)
        if collected is None or report.when not in ("setup", "call"):
            return
        if report.when == "call" or report.failed:
            collected.passed = report.passed
            if report.failed and call.excinfo is not None:
                collected.failure = call.excinfo.exconly().removeprefix("AssertionError: ").splitlines()[0][:400]


def _results(plugin: CheckPlugin, rubric: Rubric) -> list[CheckResult]:
    table = rubric.check_points()
    counts: dict[str, int] = {}
    for collected in plugin.results.values():
        counts[collected.check_id] = counts.get(collected.check_id, 0) + 1
    missing = sorted(set(table) - set(counts))
    unknown = sorted(set(counts) - set(table))
    if missing or unknown or plugin.errors:
        problems = (
            plugin.errors
            + [f"no check implements points '{m}'" for m in missing]
            + [f"check '{u}' has no points in the rubric" for u in unknown]
        )
        raise RubricError(f"{rubric.folder / 'rubric.toml'}: " + "; ".join(problems))
    out = []
    for collected in plugin.results.values():
        component, points = table[collected.check_id]
        share = points / counts[collected.check_id]
        inconclusive = collected.passed and collected.award.inconclusive
        fraction = min(1.0, max(0.0, collected.award.fraction)) if collected.passed and not inconclusive else 0.0
        out.append(
            CheckResult(
                id=collected.check_id,
                title=collected.title,
                component=component,
                points=round(share, 4),
                awarded=round(share * fraction, 4),
                passed=collected.passed and not inconclusive,
                evidence=collected.award.evidence or collected.failure,
                hint=collected.award.hint if not collected.passed or fraction < 1 else "",
                hidden=collected.hidden,
                inconclusive=inconclusive,
            )
        )
    return out


def check_files(rubric: Rubric) -> list[Path]:
    """The common checks plus the experiment's own (rubrics/<id>/checks*.py)."""
    return [COMMON_CHECKS, *sorted(rubric.folder.glob("checks*.py"))]


def run_checks(rubric: Rubric, artifacts: Artifacts) -> list[CheckResult]:
    """Run every check of the rubric over the artifacts; RubricError if they do not fit."""
    plugin = CheckPlugin(rubric, artifacts)
    args = [str(p) for p in check_files(rubric)] + [
        "-c",
        str(_EMPTY_INI),
        "--rootdir",
        str(COMMON_CHECKS.parent),
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "-q",
        "-o",
        "python_files=*.py",
        "-o",
        "python_functions=check_*",
        "-W",
        "ignore",
    ]
    sink = io.StringIO()
    with _LOCK, redirect_stdout(sink), redirect_stderr(sink):
        code = pytest.main(args, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RubricError(
            f"the checks of {rubric.id} could not run (pytest exit {int(code)}): {sink.getvalue()[-600:]}"
        )
    return _results(plugin, rubric)
