"""Real grading on a real multi-node Ray cluster: a node lost mid-batch costs no submission and no mark.

The cluster is started here (``ray.cluster_utils.Cluster``): a head that runs
no job, a node with logical GPUs and a plain node, one CPU each, so two
submissions are graded at once. Each node grades with its own local sandbox
backend. Workers import this checkout through ``PYTHONPATH`` in the runtime
environment of the driver's connection (``api.grade`` joins a connection that
is already open). Skipped when Ray is not installed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from graders import api
from graders.config import Overrides
from graders.models import RunRecord, Status
from tests.batch_helpers import ROOT, RUNTIME_ROOT, baseline, latest, marks_of, runs_per_key, small_class, survivors

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'labgrade[ray]')")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

STORE = 80 * 1024 * 1024
# a removed node is noticed within ~1.5 s instead of Ray's default of about half a minute
FAST_HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 3, "health_check_initial_delay_ms": 0}
PYTHONPATH = os.pathsep.join([str(ROOT), str(RUNTIME_ROOT)])
RUNTIME_ENV = {"env_vars": {"PYTHONPATH": PYTHONPATH}}
KEYS = {("1", "boston"), ("2", "boston"), ("3", "boston"), ("20", "boston")}


@dataclass
class Grid:
    """The running cluster: the node that stays and the one the test removes."""

    cluster: Any
    steady: Any
    doomed: Any
    removed_after: list[str] = field(default_factory=list)  # run ids delivered before the removal

    def remove_doomed(self) -> None:
        """Remove the plain node as a lost host would go: its raylet and its Ray workers killed outright.

        Killing the raylet alone can leave a worker alive long enough to finish its task and hand the result
        back, which is not a lost node. The workers' sandbox supervisors are not killed: they see their
        worker's pipe close and end their jobs themselves, as they would on a host that loses its harness.
        """
        raylet = self.doomed.all_processes["raylet"][0].process.pid
        workers = [p for p in psutil.Process(raylet).children() if _is_ray_worker(p)]
        self.cluster.remove_node(self.doomed, allow_graceful=False)
        for proc in workers:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                continue
        assert survivors(workers) == []


def _is_ray_worker(proc: psutil.Process) -> bool:
    try:
        return "default_worker" in " ".join(proc.cmdline()) or proc.name().startswith("ray::")
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def grid() -> Iterator[Grid]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", PYTHONPATH)  # the raylets and their workers start from this environment
        cluster = cluster_utils.Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 0, "object_store_memory": STORE, "_system_config": FAST_HEALTH},
        )
        try:
            steady = cluster.add_node(num_cpus=1, num_gpus=2, object_store_memory=STORE)
            doomed = cluster.add_node(num_cpus=1, object_store_memory=STORE)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, runtime_env=RUNTIME_ENV)
            yield Grid(cluster, steady, doomed)
        finally:
            if ray.is_initialized():
                ray.shutdown()
            cluster.shutdown()


def _where_graders_is() -> str:
    import graders

    return str(Path(graders.__file__).resolve())


def test_workers_grade_with_this_checkout(grid: Grid) -> None:
    remote = ray.remote(num_cpus=1)(_where_graders_is)
    assert ray.get(remote.remote()) == str(ROOT / "graders" / "__init__.py")


@pytest.mark.slow
def test_a_node_lost_mid_batch_costs_no_submission_and_no_mark(
    grid: Grid, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    reference = baseline(tmp_path_factory.mktemp("baseline"))  # the same class on the local executor
    course = small_class(tmp_path)
    arrived: list[RunRecord] = []

    def on_result(run: RunRecord) -> None:
        arrived.append(run)
        if len(arrived) == 1:  # the first result is in: the other submissions are still running or queued
            grid.remove_doomed()
            grid.removed_after.extend(r.run_id for r in arrived)

    summary = api.grade(
        course=course, overrides=Overrides(executor="ray", address=grid.cluster.address), on_result=on_result
    )
    assert grid.removed_after and len(grid.removed_after) < len(KEYS)
    assert (summary.executed, summary.rescored, summary.reused) == (len(KEYS), 0, 0)
    assert sorted((r.roll_no, r.experiment) for r in arrived) == sorted(KEYS)  # each reported once
    assert runs_per_key(course.parent / "out" / "gradebook.sqlite") == {key: 1 for key in KEYS}  # and recorded once
    runs = latest(course)
    assert marks_of(runs) == reference.marks
    assert all(r.status is not Status.sandbox_error for r in runs.values()), [r.reason for r in runs.values()]
    live, lost = grid.steady.node_id, grid.doomed.node_id
    for run in arrived:
        if run.status is Status.missing:
            continue
        assert run.provenance is not None and run.provenance.hardware["executor"] == "ray"
        node = run.provenance.hardware["node_id"]
        if run.run_id not in grid.removed_after:
            assert node == live, (run.roll_no, node, lost)  # after the removal only the node left grades
