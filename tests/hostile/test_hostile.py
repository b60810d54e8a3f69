"""The hostile class, graded on both sandbox backends against the real engine.

Every hostile submission must end as a graded outcome with a status and a
reason; the harness survives; the honest control submission gets the same
marks as when graded alone; and no container or process is left behind.
What the local backend cannot contain is listed in README ("What each
sandbox contains") and skipped here with that reason.
"""

from __future__ import annotations

import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from graders import api
from graders.config import Overrides
from graders.data.store import served_data
from graders.models import RunRecord, Status
from graders.rubric import load_rubric

CLASS = Path(__file__).with_name("class")
NOT_CONTAINED_LOCALLY = {"Snoop": "the local backend leaves the host filesystem readable where its permissions allow"}
EXPECTED: dict[str, set[Status]] = {
    "Good": {Status.completed},
    "Loop": {Status.timeout},
    "ForkBomb": {Status.timeout, Status.kernel_died, Status.memory_exceeded},
    "MemoryHog": {Status.memory_exceeded},
    "DiskFill": {Status.disk_exceeded},
    "Outside": {Status.cell_error},
    "Loopback": {Status.cell_error},
    "Snoop": {Status.cell_error},
    "Holdout": {Status.cell_error},
    "Forge": {Status.evaluation_failed, Status.no_model},
    "Flood": {Status.timeout, Status.output_exceeded, Status.memory_exceeded},
    "KillParent": {Status.kernel_died},
    "Daemon": {Status.no_model},
    "Malformed": {Status.invalid_submission},
    "Archive": {Status.invalid_submission},
}


class Listener:
    """A TCP service on the host's loopback that records whether anyone reached it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.reached = False
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.reached = True
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def _make_class(dest: Path, backend: str, port: int) -> Path:
    shutil.copytree(CLASS, dest)
    holdout = served_data(load_rubric("boston"), "quick", 1234).holdout
    other = dest / "01_Good" / "boston_lab.py"
    for script in dest.rglob("*.py"):
        text = script.read_text(encoding="utf-8")
        text = (
            text.replace("{{PORT}}", str(port))
            .replace("{{OTHER}}", repr(str(other)))
            .replace("{{HOLDOUT}}", repr(str(holdout)))
        )
        script.write_text(text, encoding="utf-8")
    (dest / "15_Archive").mkdir()
    with zipfile.ZipFile(dest / "15_Archive" / "lab.zip", "w") as zf:
        zf.writestr("../../escaped.ipynb", '{"cells": []}')
    course = dest / "course.toml"
    course.write_text(
        course.read_text(encoding="utf-8").replace('backend = "local"', f'backend = "{backend}"'), encoding="utf-8"
    )
    return course


# This module's local jobs take their uids (one per job, as by default) from a range of
# their own, so that their leftovers are easy to find.
TEST_UIDS = range(64_100, 64_132)


def _leftover_processes() -> list[str]:
    return [
        f"{p.pid}: {' '.join(p.info['cmdline'] or [])[:120]}"
        for p in psutil.process_iter(["uids", "cmdline"])
        if p.info["uids"] is not None and p.info["uids"].real in TEST_UIDS
    ]


def _leftover_containers() -> list[str]:
    import docker

    client = docker.from_env()
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": "labgrade=job"})]
    finally:
        client.close()


@pytest.fixture(scope="module", params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def hostile_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, RunRecord], RunRecord, Listener]]:
    backend = request.param
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.delenv("LABGRADE_SANDBOX_UID", raising=False)
    monkeypatch.setenv("LABGRADE_SANDBOX_UIDS", f"{TEST_UIDS.start}-{TEST_UIDS.stop - 1}")
    request.addfinalizer(monkeypatch.undo)
    if backend == "docker":
        request.getfixturevalue("grading_image")
    listener = Listener()
    try:
        course = _make_class(tmp_path_factory.mktemp(f"hostile-{backend}") / "class", backend, listener.port)
        batch = api.grade(course=course, overrides=Overrides(backend=backend))
        solo_course = _make_class(tmp_path_factory.mktemp(f"solo-{backend}") / "class", backend, listener.port)
        solo = api.grade(course=solo_course, overrides=Overrides(backend=backend), students=["1"]).runs[0]
        yield backend, {r.name: r for r in batch.runs}, solo, listener
    finally:
        listener.close()


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_hostile_submission_is_a_graded_outcome(hostile_run, who):
    backend, runs, _, _ = hostile_run
    if backend == "local" and who in NOT_CONTAINED_LOCALLY:
        pytest.skip(f"not contained by the local backend: {NOT_CONTAINED_LOCALLY[who]}")
    run = runs[who]
    assert run.status in EXPECTED[who], f"{who}: {run.status.value}: {run.reason}"
    if run.status is not Status.completed:
        assert run.reason, f"{who} has no reason"
    assert len(run.reason) < 2000


def test_archive_and_malformed_reasons(hostile_run):
    _, runs, _, _ = hostile_run
    assert "unsafe archive" in runs["Archive"].reason and "../../escaped.ipynb" in runs["Archive"].reason
    assert "not a valid notebook" in runs["Malformed"].reason


def test_network_is_unreachable(hostile_run):
    _, runs, _, listener = hostile_run
    assert not listener.reached, "a submission reached the host's loopback"
    for who in ("Outside", "Loopback"):
        error = runs[who].cell_error
        assert error is not None and error.ename in {"OSError", "ConnectionRefusedError", "TimeoutError", "gaierror"}, (
            runs[who].reason
        )


def test_hidden_holdout_is_unreadable(hostile_run):
    _, runs, _, _ = hostile_run
    error = runs["Holdout"].cell_error
    assert error is not None and error.ename in {"PermissionError", "FileNotFoundError"}, runs["Holdout"].reason


def test_forged_artifacts_earn_no_metric(hostile_run):
    _, runs, _, _ = hostile_run
    forge = runs["Forge"]
    assert forge.metrics == {}
    metric = next(c for c in forge.checks if c.id == "metric")
    assert not metric.passed and metric.awarded == 0


def test_control_gets_the_same_marks_as_alone(hostile_run):
    _, runs, solo, _ = hostile_run
    assert runs["Good"].status is Status.completed and solo.status is Status.completed
    assert runs["Good"].marks == solo.marks


def test_nothing_is_left_behind(hostile_run):
    backend, _, _, _ = hostile_run
    assert _leftover_processes() == []
    if backend == "docker":
        assert _leftover_containers() == []
