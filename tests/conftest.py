"""Shared fixtures (the real sample class graded once per session, the grading image, the lock's wheelhouse) and
how the suite runs in parallel (pytest-xdist, see README "Tests and benchmarks").

Parallel runs: each worker process takes uids of its own from the local backend's pool; the tests that share an
expensive session fixture or an exclusive resource form one unit of work, run whole on one worker, and every other
test file is one unit (its module fixtures are made once); the units known to be long are handed out first.
"""

from __future__ import annotations

import csv
import fcntl
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from graders.config import Overrides
from graders.paths import CACHE_DIR, HOME, RUNTIME_PACKAGE, SANDBOX_CACHE

SAMPLE = HOME / "submissions"

# Work units that take minutes, handed out first (longest first) so that no worker starts one near the end:
# xdist groups by name, other units by test file. A unit missing here is handed out after them, in file order.
# Their tests, and every ``e2e`` or ``slow`` test, are marked ``long``: the developers' fast loop,
# ``python -m pytest -m "not long"``, leaves them out.
LONG_UNITS = (
    "docker",  # the grading image (built on first use) and every test that runs a container
    "sample_class",  # the sample class graded end to end
    "tests/test_wheel.py",
    "tests/hostile/test_hostile.py",
    "tests/test_runtime_lock.py",
    "tests/test_batch.py",
    "ray",
    "tests/test_local_sandbox.py",
    "tests/test_quality.py",
    "tests/test_desk.py",
    "tests/test_store.py",
    "tests/test_caps.py",
)


def _unit(item: pytest.Item) -> str:
    """The work unit (xdist group) of a test: a shared expensive resource's group, else its file."""
    if item.get_closest_marker("docker") or "grading_image" in getattr(item, "fixturenames", ()):
        return "docker"  # one image build, and no other worker's container in the engine while a test counts them
    if "graded_class" in getattr(item, "fixturenames", ()):
        return "sample_class"
    if item.nodeid.startswith(("tests/test_executors_ray.py", "tests/test_ray_grading.py")):
        return "ray"  # one local Ray cluster at a time
    return item.nodeid.split("::", 1)[0]


UNITS_ENV = "LABGRADE_TEST_UNITS"  # the file where xdist workers write each test's unit for the scheduler


def pytest_configure(config: pytest.Config) -> None:
    """The xdist controller names the file of units its workers will write; in a worker, the local backend's uid
    pool is split between the workers (each job keeps a uid of its own across processes, as within one), unless
    the caller chose uids."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        if config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses", None):
            folder = Path(tempfile.mkdtemp(prefix="labgrade-test-units-"))
            os.environ[UNITS_ENV] = str(folder / "units.json")  # the workers, started later, inherit it
            config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        return
    if os.environ.get("LABGRADE_SANDBOX_UIDS") or os.environ.get("LABGRADE_SANDBOX_UID"):
        return
    from graders.backends.local import JOB_UIDS

    index, count = int(worker.removeprefix("gw")), int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    span = len(JOB_UIDS) // count
    first = JOB_UIDS.start + index * span
    os.environ["LABGRADE_SANDBOX_UIDS"] = f"{first}-{first + span - 1}"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in its work unit; the long units first and marked ``long`` (see LONG_UNITS). An xdist worker
    writes the units down for the controller's scheduler (every worker collects the same tests)."""
    units = {item.nodeid: _unit(item) for item in items}
    for item in items:
        if units[item.nodeid] in LONG_UNITS or item.get_closest_marker("e2e") or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.long)
    rank = {unit: n for n, unit in enumerate(LONG_UNITS)}
    items.sort(key=lambda item: rank.get(units[item.nodeid], len(rank)))  # stable: file order within a rank
    if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get(UNITS_ENV):
        target = Path(os.environ[UNITS_ENV])
        partial = target.with_name(f"{target.name}.{os.environ['PYTEST_XDIST_WORKER']}")
        partial.write_text(json.dumps(units), encoding="utf-8")
        partial.replace(target)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's scope scheduling with the units above as scopes: a unit runs whole on one worker, units are handed
    out in collection order (long ones first), one or two at a time as workers free up. (xdist's own
    ``xdist_group`` does not reach the scheduler under pytest 9, which builds node ids anew.)"""
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):  # type: ignore[misc]
        units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.units is None:
                self.units = json.loads(Path(os.environ[UNITS_ENV]).read_text(encoding="utf-8"))
            return self.units.get(nodeid) or nodeid.split("::", 1)[0]

    return UnitScheduling(config, log)


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """A lock on the machine (a file under the cache) held while one process at a time does ``name``: an xdist
    worker, or another test run, waits here rather than building the same thing beside it."""
    SANDBOX_CACHE.mkdir(parents=True, exist_ok=True)
    with open(SANDBOX_CACHE / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
    """The sample class graded end to end with the local sandbox (real kernels, real TensorFlow): its Boston and
    Fashion-MNIST, once per session for every test that reads it (one xdist worker runs them all). The marks
    sheet as graded is kept beside the course as ``marks-as-graded.csv``: tests may add overrides afterwards."""
    from graders import api

    # The course's own cell limit, as the golden marks were graded: a shorter one saves the Hang students' seconds
    # but cuts an honest training cell too whenever the workers' kernels share the cores.
    course = copy_course(tmp_path_factory.mktemp("class"))
    summary = api.grade(
        course=course, overrides=Overrides(backend="local", workers=2), experiments=["boston", "fashion"]
    )
    shutil.copyfile(course.parent / "out" / "reports" / "marks.csv", course.parent / "marks-as-graded.csv")
    return course, summary


@pytest.fixture(scope="session")
def lock_wheelhouse() -> Path:
    """The wheels of sandbox/lock/runtime.lock, hash-checked, downloaded once per machine: the grading image's own
    wheelhouse (its build stage 2, kept under the sandbox cache), which the image build then finds complete."""
    from graders.backends.image import _wheelhouse, runtime_requirements

    with exclusive("wheelhouse"):
        return _wheelhouse(SANDBOX_CACHE, runtime_requirements(), print)


@pytest.fixture(scope="session")
def grading_image(request: pytest.FixtureRequest) -> str:
    """The docker grading image, built here when missing (one build at a time on the machine); CI sets
    LABGRADE_REQUIRE_DOCKER=1 so this never skips there."""
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

    request.getfixturevalue("lock_wheelhouse")  # complete before the build looks for it
    with exclusive("image"):
        return build_image(progress=print)


@pytest.fixture(scope="session")
def test_cache() -> Path:
    """Where the suite keeps what it downloads for itself between runs (outside the checkout)."""
    path = CACHE_DIR / "test-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
