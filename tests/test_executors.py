"""The executors layer: the local pool (order, GPU pinning, Ctrl-C), device discovery and the registry.

Jobs are ordered with events, never with sleeps: a job waits for the event the
test (or an earlier result) sets, so every assertion holds on a slow machine.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import defaultdict

import pytest

from graders.executors import ExecutorError, Slot, choose_gpus, executor_names, get_executor
from graders.executors.local import LocalExecutor

WAIT = 30.0  # generous upper bound on any event wait: reaching it is a failure, never a pass


def _lost(job: int, reason: str) -> str:
    return f"lost: {reason}"


def test_results_arrive_in_completion_order_in_the_driver_thread() -> None:
    gates = {i: threading.Event() for i in range(4)}
    order = [2, 0, 3, 1]
    seen: list[tuple[int, str]] = []
    threads: set[str] = set()

    def work(job: int, slot: Slot) -> str:
        assert gates[job].wait(WAIT), f"job {job} was never released"
        return f"done {job}"

    def on_result(job: int, result: str) -> None:
        threads.add(threading.current_thread().name)
        seen.append((job, result))
        if len(seen) < len(order):
            gates[order[len(seen)]].set()  # the next job may finish only now

    gates[order[0]].set()
    LocalExecutor(workers=4).run(list(range(4)), work, on_result=on_result, on_lost=_lost)
    assert seen == [(i, f"done {i}") for i in order]
    assert threads == {threading.current_thread().name}


def test_a_failing_job_becomes_its_on_lost_outcome_and_the_batch_goes_on() -> None:
    def work(job: int, slot: Slot) -> str:
        if job == 1:
            raise RuntimeError("rubric file unreadable")
        return f"done {job}"

    got: dict[int, str] = {}
    LocalExecutor(workers=2).run([0, 1, 2], work, on_result=got.__setitem__, on_lost=_lost)
    assert got[0] == "done 0" and got[2] == "done 2"
    assert got[1].startswith("lost: the grading work failed on ") and "RuntimeError: rubric file unreadable" in got[1]


def test_gpu_jobs_never_share_a_device_and_each_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABGRADE_FAKE_GPUS", "2")
    both_started = threading.Barrier(2, timeout=WAIT)  # jobs 0 and 1 prove the two devices ran at once
    lock = threading.Lock()
    intervals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    busy: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []

    def work(job: int, slot: Slot) -> dict[str, str]:
        assert slot.gpu is not None and len(slot.gpus) == 1
        with lock:
            busy[slot.gpu] += 1
            if busy[slot.gpu] > 1:
                overlaps.append(slot.gpu)
        start = time.monotonic()
        if job < 2:
            both_started.wait()
        threading.Event().wait(0.02)  # hold the device a moment so a second job on it would overlap
        with lock:
            busy[slot.gpu] -= 1
            intervals[slot.gpu].append((start, time.monotonic()))
        return {**slot.cuda_env(), **slot.provenance()}

    got: dict[int, dict[str, str]] = {}
    executor = get_executor("local", gpus=2, workers=4)  # more workers than devices: still one job per device
    executor.run(list(range(5)), work, on_result=got.__setitem__, on_lost=lambda job, why: {"lost": why})
    assert sorted(got) == [0, 1, 2, 3, 4] and not overlaps
    for device, spans in intervals.items():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), device
    assert {got[0]["CUDA_VISIBLE_DEVICES"], got[1]["CUDA_VISIBLE_DEVICES"]} == {"0", "1"}
    for record in got.values():
        assert record["device"] == f"gpu:{record['CUDA_VISIBLE_DEVICES']}" and record["executor"] == "local"
        assert float(record["gpu_seconds"]) > 0


def test_ctrl_c_keeps_finished_results_cancels_running_jobs_and_starts_no_more() -> None:
    started: list[int] = []
    cancelled: list[int] = []
    lock = threading.Lock()

    def work(job: int, slot: Slot) -> str:
        with lock:
            started.append(job)
        slot.cancel.on_cancel(lambda: cancelled.append(job))  # what a backend does to kill its container
        if job == 0:
            return "done 0"
        assert slot.cancel.wait(WAIT), "a running job was never cancelled"
        return "killed by the cancel"

    recorded: list[tuple[int, str]] = []

    def on_result(job: int, result: str) -> None:
        recorded.append((job, result))
        raise KeyboardInterrupt  # Ctrl-C lands while the first result is being recorded

    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(workers=2, cancel_grace=WAIT).run(list(range(6)), work, on_result=on_result, on_lost=_lost)
    assert recorded == [(0, "done 0")]
    assert set(started) <= {0, 1, 2} and 1 in started
    assert sorted(cancelled) == sorted(j for j in started if j != 0)


@pytest.mark.skipif(sys.platform == "win32", reason="delivers a real SIGINT to this process")
def test_a_real_sigint_in_the_driver_stops_the_batch() -> None:
    first_recorded = threading.Event()
    cancelled: list[int] = []

    def work(job: int, slot: Slot) -> str:
        slot.cancel.on_cancel(lambda: cancelled.append(job))
        if job == 0:
            return "done 0"
        assert first_recorded.wait(WAIT)
        if job == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the operator's Ctrl-C, while the driver waits for results
        assert slot.cancel.wait(WAIT), "a running job was never cancelled"
        return "killed by the cancel"

    recorded: list[int] = []

    def on_result(job: int, result: str) -> None:
        recorded.append(job)
        first_recorded.set()

    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(workers=2, cancel_grace=WAIT).run(list(range(5)), work, on_result=on_result, on_lost=_lost)
    assert recorded == [0] and 1 in cancelled


def test_gpu_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABGRADE_FAKE_GPUS", "0,3")
    assert choose_gpus("all") == ["0", "3"] and choose_gpus(1) == ["0"] and choose_gpus(None) == []
    with pytest.raises(ExecutorError, match="gpus = 3 but this host has 2"):
        choose_gpus(3)
    with pytest.raises(ExecutorError, match='a number of devices or "all"'):
        choose_gpus("many")
    monkeypatch.delenv("LABGRADE_FAKE_GPUS")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,2")
    assert choose_gpus("all") == ["1", "2"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ExecutorError, match='gpus = "all" but this host shows no GPU'):
        choose_gpus("all")


def test_slot_device_views() -> None:
    slot = Slot(executor="local", gpus=("2",))
    assert slot.cuda_env() == {"CUDA_VISIBLE_DEVICES": "2"}
    assert slot.docker_device_request() == {"device_ids": ["2"], "capabilities": [["gpu"]]}
    assert slot.container_env() == {"CUDA_VISIBLE_DEVICES": "0"}  # renumbered inside the container
    cpu = Slot(executor="local")
    assert cpu.gpu is None and cpu.cuda_env() == {} and cpu.docker_device_request() is None
    assert cpu.provenance()["device"] == "cpu" and cpu.provenance()["gpu_seconds"] == "0.000"


def test_cancel_hook_added_after_the_cancel_runs_at_once() -> None:
    slot = Slot(executor="local")
    ran: list[str] = []
    slot.cancel.on_cancel(lambda: ran.append("early"))
    slot.cancel.cancel()
    slot.cancel.cancel()
    slot.cancel.on_cancel(lambda: ran.append("late"))
    assert ran == ["early", "late"] and slot.cancel.cancelled


def test_registry_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert executor_names() == ["local", "ray"]
    with pytest.raises(ExecutorError, match="unknown executor 'spark'; known executors: local, ray"):
        get_executor("spark")
    with pytest.raises(ExecutorError, match="the local executor has no setting address"):
        get_executor("local", address="head:6379")
    assert get_executor("local", address=None, workers=3).name == "local"  # None settings keep the defaults
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ExecutorError) as err:
        get_executor("ray", address="head:6379")
    assert str(err.value) == "the ray executor needs Ray: pip install 'labgrade[ray]'"


def test_importing_the_executors_does_not_import_ray() -> None:
    import subprocess

    code = "import sys, graders.executors, graders.executors.local; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "False"


def test_grade_job_is_a_work_function_for_the_pool() -> None:
    from graders.executors.grading import grade_job, lost_record
    from graders.models import RunRecord, Status
    from tests.test_executors_helpers import missing_jobs

    got: dict[str, RunRecord] = {}
    jobs = missing_jobs(3)
    LocalExecutor(workers=2).run(
        jobs, grade_job, on_result=lambda job, run: got.__setitem__(run.roll_no, run), on_lost=lost_record
    )
    assert sorted(got) == ["1", "2", "3"]
    assert all(run.status is Status.missing and run.experiment == "boston" for run in got.values())
    lost = lost_record(jobs[0], "the node running the job was lost on each of 3 attempts")
    assert lost.status is Status.sandbox_error and lost.reason.startswith("the node running the job was lost")


def test_pinned_sandbox_and_placement_provenance() -> None:
    from datetime import datetime

    from graders.backends.base import Ending, Job, JobResult
    from graders.executors.grading import PinnedSandbox, with_placement
    from graders.models import Provenance, RunRecord, Status

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name
            self.jobs: list[Job] = []

        def available(self) -> tuple[bool, str]:
            return True, ""

        def run(self, job: Job) -> JobResult:
            self.jobs.append(job)
            return JobResult(ending=Ending.exited, exit_code=0, duration_s=0.0)

    slot = Slot(executor="local", gpus=("1",))
    job = Job(name="j", argv=("true",), mounts=(), cwd="/work", env={"A": "b"})
    local = Recorder("local")
    PinnedSandbox(local, slot).run(job)
    assert local.jobs[0].gpu and local.jobs[0].env == {"A": "b", "CUDA_VISIBLE_DEVICES": "1"}
    docker = Recorder("docker")
    PinnedSandbox(docker, slot).run(job)  # a container is given exactly the slot's device, renumbered from 0
    assert docker.jobs[0].gpu and docker.jobs[0].devices == ("1",) and docker.jobs[0].env == {"A": "b"}
    cpu = Recorder("local")
    PinnedSandbox(cpu, Slot(executor="local")).run(job)
    assert cpu.jobs == [job]
    record = RunRecord(
        run_id="r",
        course="c",
        roll_no="1",
        name="n",
        experiment="boston",
        status=Status.completed,
        graded_at=datetime.now(),
        provenance=Provenance(harness_version="0", backend="local", profile="quick", seed=1, hardware={"cpus": "2"}),
    )
    hardware = with_placement(record, slot).provenance.hardware  # type: ignore[union-attr]
    assert hardware["cpus"] == "2" and hardware["device"] == "gpu:1" and hardware["executor"] == "local"
    assert set(hardware) >= {"node", "node_id", "gpu_seconds"}


def test_lost_reasons_name_what_happened() -> None:
    """The reason texts, from Ray's exception classes alone (no cluster needed)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'labgrade[ray]')")
    from graders.executors.ray_executor import lost_reason

    crashed = lost_reason(ray, ray.exceptions.WorkerCrashedError(), 2)
    assert crashed.startswith("the grading process died on each of 3 attempts") and "graded as a failure" in crashed
    assert "on its only attempt" in lost_reason(ray, ray.exceptions.WorkerCrashedError(), 0)
    node_lost = lost_reason(ray, ray.exceptions.NodeDiedError("n"), 1)
    assert node_lost == "the node running the job was lost on each of 2 attempts"


def test_a_docker_job_asks_the_engine_for_its_own_device() -> None:
    """The container's device request names the slot's device, and CUDA sees it as device 0."""
    from graders.backends.base import Job
    from graders.backends.docker import _container_options

    class Client:  # what the options need of the engine: its CPU count
        def info(self) -> dict[str, int]:
            return {"NCPU": 2}

    job = Job(name="j", argv=("true",), mounts=(), cwd="/work", gpu=True, devices=("1",))
    options = _container_options(Client(), job, "image")  # type: ignore[arg-type]
    request = options["device_requests"][0]
    assert request["DeviceIDs"] == ["1"] and options["environment"]["CUDA_VISIBLE_DEVICES"] == "0"


class _Sized:
    """A toy job that declares the memory its sandbox may use, as a GradeJob does."""

    def __init__(self, name: str, memory_mb: int) -> None:
        self.name, self.memory_mb = name, memory_mb


def test_jobs_whose_memory_fits_the_budget_run_together() -> None:
    started = {name: threading.Event() for name in ("a", "b")}

    def work(job: _Sized, slot: Slot) -> str:
        started[job.name].set()
        other = started["b" if job.name == "a" else "a"]
        return "together" if other.wait(WAIT) else "alone"

    got: dict[str, str] = {}
    pool = LocalExecutor(workers=2, memory_mb=10_000)
    pool.run(
        [_Sized("a", 4000), _Sized("b", 4000)], work, on_result=lambda j, r: got.__setitem__(j.name, r), on_lost=_lost
    )
    assert got == {"a": "together", "b": "together"}


def test_jobs_whose_memory_would_overcommit_the_host_run_one_after_the_other() -> None:
    lock = threading.Lock()
    running: list[int] = []
    peaks: list[int] = []

    def work(job: _Sized, slot: Slot) -> str:
        with lock:
            running.append(job.memory_mb)
            peaks.append(sum(running))
        time.sleep(0.2)  # holds its memory a while: a second big job must not start meanwhile
        with lock:
            running.remove(job.memory_mb)
        return "done"

    jobs = [_Sized("big1", 8000), _Sized("big2", 8000), _Sized("huge", 50_000), _Sized("small", 1000)]
    got: dict[str, str] = {}
    LocalExecutor(workers=3, memory_mb=10_000).run(
        jobs, work, on_result=lambda j, r: got.__setitem__(j.name, r), on_lost=_lost
    )
    assert got == dict.fromkeys(("big1", "big2", "huge", "small"), "done")  # a job larger than the budget still ran
    assert max(peaks) <= 50_000 and all(p <= 10_000 or p == 50_000 for p in peaks), peaks


def test_a_job_waiting_for_memory_is_cancelled_by_an_interrupt() -> None:
    from graders.executors.local import _Memory

    memory = _Memory(10_000)
    first = memory.acquire(8000, Slot(executor="local").cancel)
    assert first == 8000
    token = Slot(executor="local").cancel
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(memory.acquire(8000, token)))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive(), "a second 8 GB job started beside the first on a 10 GB budget"
    token.cancel()
    waiter.join(WAIT)
    assert got == [-1]
    memory.release(first)
    assert memory.acquire(8000, Slot(executor="local").cancel) == 8000  # the budget is whole again


def test_a_ray_task_asks_for_its_memory_but_never_more_than_the_largest_node_has() -> None:
    from graders.executors.base import MIB
    from graders.executors.ray_executor import _memory_option

    assert _memory_option(4096, largest=16_000 * MIB) == {"memory": 4096 * MIB}
    assert _memory_option(12_288, largest=8_000 * MIB) == {"memory": 8_000 * MIB}
    assert _memory_option(0, largest=8_000 * MIB) == {} and _memory_option(4096, largest=0) == {}


def test_an_experiment_that_declares_its_memory_gets_it_and_the_pool_reserves_it() -> None:
    from graders.backends.base import Limits
    from graders.executors.grading import GradeJob
    from graders.rubric import load_rubric
    from graders.state import Task
    from graders.submissions import Student
    from tests.test_executors_helpers import job_settings

    def job(experiment: str, limits: Limits) -> GradeJob:
        task = Task(Student("1", "One"), load_rubric(experiment), None, None)
        return GradeJob(task, job_settings(limits=limits))

    need = load_rubric("imdb").resources.memory_mb
    assert need is not None and need > Limits().memory_mb  # the manual's float64 multi-hot at real size
    assert job("imdb", Limits()).memory_mb == need
    assert job("imdb", Limits(memory_mb=need + 1000)).memory_mb == need + 1000  # a course that gives more keeps it
    assert job("boston", Limits()).memory_mb == Limits().memory_mb
    assert job("imdb", Limits()).task.limits(Limits()).wall_seconds == Limits().wall_seconds
