"""The Ray executor on a real multi-node cluster started by the test (head + CPU node + GPU node).

The nodes are Ray processes on this host with small resources: 1 CPU each and
2 logical GPUs on one node; jobs are the toy jobs of
``tests/test_executors_helpers.py``, which every worker imports through the
``PYTHONPATH`` of the runtime environment. Skipped when Ray is not installed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graders.executors import get_executor
from tests.test_executors_helpers import ToyJob, attempts, toy_work

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'labgrade[ray]')")
cluster_utils = pytest.importorskip("ray.cluster_utils")

ROOT = Path(__file__).resolve().parents[1]
STORE = 80 * 1024 * 1024
# a removed node is noticed within ~1.5 s instead of Ray's default of about half a minute
FAST_HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 3, "health_check_initial_delay_ms": 0}

# every worker process imports this worktree's graders and tests
RUNTIME_ENV = {"env_vars": {"PYTHONPATH": str(ROOT)}}

pytestmark = [pytest.mark.timeout(240)]


class Cluster:
    """The running cluster and the node handles the tests need."""

    def __init__(self) -> None:
        self.cluster = cluster_utils.Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "object_store_memory": STORE, "_system_config": FAST_HEALTH},
        )
        self.cpu_node = self.cluster.add_node(num_cpus=1, object_store_memory=STORE)
        self.gpu_node = self.cluster.add_node(num_cpus=2, num_gpus=2, object_store_memory=STORE)
        self.cluster.wait_for_nodes()

    def executor(self, **settings: Any) -> Any:
        """A Ray executor for this cluster: it connects for its batch (and disconnects after) unless connected."""
        return get_executor("ray", address=self.cluster.address, runtime_env=RUNTIME_ENV, **settings)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = Cluster()
    try:
        yield running
    finally:
        if ray.is_initialized():
            ray.shutdown()
        running.cluster.shutdown()


@pytest.fixture
def connected(cluster: Cluster) -> Cluster:
    """The cluster with this process already connected, so workers are reused from test to test.

    The first test runs without it: there the executor makes (and closes) its own connection.
    """
    if not ray.is_initialized():
        ray.init(address=cluster.cluster.address, runtime_env=RUNTIME_ENV)
    return cluster


def _run(executor: Any, jobs: list[ToyJob]) -> tuple[list[int], dict[int, Any]]:
    """Run a batch; the order results arrived in, and each job's result (or its on_lost reason)."""
    order: list[int] = []
    results: dict[int, Any] = {}

    def on_result(job: ToyJob, result: Any) -> None:
        assert job.id not in results, f"job {job.id} was reported twice"
        order.append(job.id)
        results[job.id] = result

    executor.run(jobs, toy_work, on_result=on_result, on_lost=lambda job, why: {"lost": why})
    return order, results


def test_gpu_jobs_run_only_on_the_gpu_node_each_on_its_own_device(cluster: Cluster, tmp_path: Path) -> None:
    jobs = [ToyJob(i, str(tmp_path), rendezvous=2 if i < 2 else 0) for i in range(4)]
    order, results = _run(cluster.executor(gpus=True), jobs)
    assert sorted(order) == [0, 1, 2, 3]
    for result in results.values():
        assert result["node_id"] == cluster.gpu_node.node_id
        assert len(result["gpus"]) == 1 and result["gpus"][0] in {"0", "1"}
        assert result["cuda"] == result["gpus"][0]  # Ray pinned the worker process to the slot's device
        assert result["provenance"]["device"] == f"gpu:{result['gpus'][0]}"
    assert results[0]["gpus"] != results[1]["gpus"]  # the two jobs that ran together had distinct devices
    for device in ("0", "1"):
        spans = sorted((r["start"], r["end"]) for r in results.values() if r["gpus"] == (device,))
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), device


def test_a_job_that_kills_its_worker_is_graded_lost_after_bounded_retries(connected: Cluster, tmp_path: Path) -> None:
    kinds = ["ok", "die", "ok", "raise", "ok"]
    jobs = [ToyJob(i, str(tmp_path), kind=kind) for i, kind in enumerate(kinds)]
    order, results = _run(connected.executor(max_retries=1), jobs)
    assert sorted(order) == [0, 1, 2, 3, 4]
    assert all(results[i]["id"] == i for i in (0, 2, 4))
    assert "the grading process died on each of 2 attempts" in results[1]["lost"]
    assert len(attempts(tmp_path, 1)) == 2  # one retry, then an outcome: no retry loop
    assert results[3]["lost"] == "the grading work failed on a Ray node: ValueError: toy job 3 fails"
    assert len(attempts(tmp_path, 3)) == 1  # an exception would fail the same way again: never retried


def _lose_process(pid: int) -> None:
    """Kill a removed node's worker and wait until it is gone: a lost host takes its processes with it.

    Killing the node's raylet alone can leave its worker alive long enough to finish its task
    and hand the result back, which would not be a lost node at all.
    """
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while _alive(pid):
        assert time.monotonic() < deadline, f"worker {pid} outlived its node"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_node_removed_mid_batch_loses_no_job(connected: Cluster, tmp_path: Path) -> None:
    extra = connected.cluster.add_node(num_cpus=1, object_store_memory=STORE)
    connected.cluster.wait_for_nodes()
    doomed = extra.node_id
    jobs = [ToyJob(i, str(tmp_path), hold=True) for i in range(6)]  # 6 held jobs > 5 CPUs: the extra node gets one
    failures: list[BaseException] = []

    def remove_when_busy() -> None:
        try:
            deadline = time.monotonic() + 60
            while not list(tmp_path.glob(f"started-*-{doomed}-*")):
                assert time.monotonic() < deadline, "no job ever started on the extra node"
                time.sleep(0.05)
            connected.cluster.remove_node(extra, allow_graceful=False)
            for marker in tmp_path.glob(f"started-*-{doomed}-*"):
                _lose_process(int(marker.name.split("-")[3]))
        except BaseException as exc:  # reported by the test thread below
            failures.append(exc)
        finally:
            (tmp_path / "release").touch()

    remover = threading.Thread(target=remove_when_busy)
    remover.start()
    order, results = _run(connected.executor(max_retries=2), jobs)
    remover.join()
    assert not failures, failures
    assert sorted(order) == list(range(6))
    where = {i: (r.get("lost"), r.get("node_id")) for i, r in results.items()}
    assert all("lost" not in r and r["node_id"] != doomed for r in results.values()), (where, doomed)
    moved = [i for i in range(6) if doomed in attempts(tmp_path, i)]
    assert len(moved) == 1 and len(attempts(tmp_path, moved[0])) == 2  # retried once, on a live node


def test_ctrl_c_keeps_finished_results_and_cancels_the_running_tasks(connected: Cluster, tmp_path: Path) -> None:
    jobs = [ToyJob(0, str(tmp_path))] + [ToyJob(i, str(tmp_path), hold=True) for i in range(1, 4)]
    recorded: list[int] = []

    def on_result(job: ToyJob, result: Any) -> None:
        recorded.append(job.id)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        connected.executor().run(jobs, toy_work, on_result=on_result, on_lost=lambda job, why: {"lost": why})
    assert recorded == [0]
    running = {i for i in range(1, 4) if attempts(tmp_path, i)}
    deadline = time.monotonic() + 30
    while {i for i in running if (tmp_path / f"cancelled-{i}").exists()} != running:
        assert time.monotonic() < deadline, "the running tasks' cancel hooks never ran"
        time.sleep(0.05)


def test_real_grading_jobs_travel_to_the_nodes_and_pick_their_backend_there(connected: Cluster) -> None:
    from graders.executors.grading import grade_job, lost_record
    from graders.models import Status
    from tests.test_executors_helpers import missing_jobs

    runs: list[Any] = []
    connected.executor().run(
        missing_jobs(2), grade_job, on_result=lambda job, run: runs.append(run), on_lost=lost_record
    )
    assert sorted(run.roll_no for run in runs) == ["1", "2"]
    assert all(run.status is Status.missing for run in runs), [run.reason for run in runs]
