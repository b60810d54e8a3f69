"""Shared fixtures: the real sample class, graded once per session."""

from __future__ import annotations

import csv
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from graders.config import Overrides
from graders.paths import HOME, RUNTIME_PACKAGE

SAMPLE = HOME / "submissions"


def copy_course(tmp: Path, *, cell_seconds: int | None = None) -> Path:
    """A copy of the sample course whose gradebook and reports live in ``tmp`` (optionally a shorter cell limit)."""
    dest = tmp / "course"
    shutil.copytree(SAMPLE, dest)
    toml = (dest / "course.toml").read_text(encoding="utf-8")
    assert 'gradebook = "../grading/gradebook.sqlite"' in toml
    toml = toml.replace('gradebook = "../grading/gradebook.sqlite"', 'gradebook = "out/gradebook.sqlite"')
    toml = toml.replace('reports = "../reports"', 'reports = "out/reports"')
    if cell_seconds is not None:
        assert "cell_seconds = 60" in toml
        toml = toml.replace("cell_seconds = 60", f"cell_seconds = {cell_seconds}")
    (dest / "course.toml").write_text(toml, encoding="utf-8")
    return dest / "course.toml"


def load_evaluator(experiment: str) -> ModuleType:
    """rubrics/<experiment>/evaluate.py loaded the way the trusted evaluator loads it (labgrade_runtime importable)."""
    if str(RUNTIME_PACKAGE.parent) not in sys.path:
        sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    spec = importlib.util.spec_from_file_location(
        f"{experiment}_eval_under_test", HOME / "rubrics" / experiment / "evaluate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_provider(experiment: str) -> ModuleType:
    """rubrics/<experiment>/provider.py, loaded the way the dataset store loads it."""
    from graders.data.store import load_provider as store_load
    from graders.rubric import load_rubric

    return store_load(load_rubric(experiment))


def read_csv(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """CSV rows keyed by (student name, experiment)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {(row["name"], row["experiment"]): row for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The sample class graded end to end with the local sandbox (real kernels, real TensorFlow)."""
    from graders import api

    course = copy_course(tmp_path_factory.mktemp("class"), cell_seconds=40)  # the Hang students time out sooner
    summary = api.grade(
        course=course, overrides=Overrides(backend="local", workers=2), experiments=["boston", "fashion"]
    )
    return course, summary


@pytest.fixture(scope="session")
def grading_image() -> str:
    """The docker grading image, built here when missing; CI sets LABGRADE_REQUIRE_DOCKER=1 so this never skips
    there."""
    import os

    import docker

    try:
        client = docker.from_env()
        client.ping()
        client.close()
    except docker.errors.DockerException as exc:
        if os.environ.get("LABGRADE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker engine not reachable but LABGRADE_REQUIRE_DOCKER=1: {exc}")
        pytest.skip(f"Docker engine not reachable: {exc}")
    from graders.backends.image import build_image

    return build_image(progress=print)
