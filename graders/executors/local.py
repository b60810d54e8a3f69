"""The default executor: a pool of threads in this process, one GPU per job when asked.

Each *lane* is a thread that takes the next job, runs ``work(job, slot)`` and
posts the outcome to a queue that the driver's thread drains, so ``on_result``
always runs in the caller's thread, in completion order. With GPUs, there is
one lane per device and each lane keeps its device for the whole batch: two
jobs can never share a device, and no device bookkeeping can go wrong.

Threads (not processes) are enough because a job spends its time waiting on
its sandbox -- a container or a supervised child process -- not in Python.

Memory is reserved as well: a job that declares the memory its sandbox may use
(``memory_mb``) starts only when the allowances of the running jobs and its own
fit in the pool's budget (the host's memory by default), so two experiments
that each need most of the host run one after the other, not into the kernel's
OOM killer together. A job larger than the whole budget still runs, alone.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from graders.executors.base import MIB, CancelToken, ExecutorError, Slot, memory_of
from graders.executors.devices import GpuSetting, choose_gpus

J = TypeVar("J")
R = TypeVar("R")

# how long an interrupted batch waits for its cancelled jobs to wind down before the interrupt propagates
DEFAULT_CANCEL_GRACE = 30.0


def host_memory_mb() -> int:
    """This host's physical memory in MB (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB
    except (ValueError, OSError, AttributeError):
        return 0


class LocalExecutor:
    """``workers`` jobs at once on this host; with ``gpus``, at most one job per device, each pinned to its own.

    ``workers=None`` means one lane per device with GPUs, else one. With GPUs the
    number of lanes is ``min(workers, devices)``: a GPU course never runs a job
    without its device. ``memory_mb`` is the budget the running jobs' declared
    memory must fit in (default: the host's memory; 0 = no budget).
    """

    name = "local"

    def __init__(
        self,
        workers: int | None = None,
        gpus: GpuSetting = None,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        memory_mb: int | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ExecutorError(f"workers must be at least 1, got {workers}")
        if memory_mb is not None and memory_mb < 0:
            raise ExecutorError(f"the memory budget must not be negative, got {memory_mb} MB")
        self.devices = choose_gpus(gpus)
        self.workers = workers
        self.cancel_grace = cancel_grace
        self.memory_mb = host_memory_mb() if memory_mb is None else memory_mb

    def lanes(self) -> list[tuple[str, ...]]:
        """The device(s) of each lane: one device per lane with GPUs, none without."""
        if self.devices:
            count = min(self.workers or len(self.devices), len(self.devices))
            return [(device,) for device in self.devices[:count]]
        return [() for _ in range(self.workers or 1)]

    def run(
        self,
        jobs: Sequence[J],
        work: Callable[[J, Slot], R],
        *,
        on_result: Callable[[J, R], None],
        on_lost: Callable[[J, str], R],
    ) -> None:
        """Run every job; ``on_result`` in this thread as each ends. Ctrl-C cancels the rest and propagates."""
        if not jobs:
            return
        batch = _Batch(jobs, work, _Memory(self.memory_mb))
        threads = [
            threading.Thread(target=batch.lane, args=(gpus,), name=f"labgrade-lane-{i}", daemon=True)
            for i, gpus in enumerate(self.lanes()[: len(jobs)])
        ]
        for thread in threads:
            thread.start()
        delivering = False
        try:
            for outcome in batch.outcomes():
                delivering = True
                _deliver(outcome, on_result, on_lost)
                delivering = False
        except BaseException:  # Ctrl-C (or a failing on_result): stop starting, cancel the running, keep the done
            batch.stop()
            _join(threads, self.cancel_grace)
            if not delivering:  # jobs that had finished by themselves when the interrupt came are still recorded
                for outcome in batch.finished():
                    _deliver(outcome, on_result, on_lost)
            raise
        _join(threads, None)


def _deliver(
    outcome: tuple[J, R | None, str | None], on_result: Callable[[J, R], None], on_lost: Callable[[J, str], R]
) -> None:
    job, result, lost = outcome
    on_result(job, on_lost(job, lost) if lost is not None else result)  # type: ignore[arg-type]


class _Memory:
    """The pool's memory budget: a job waits until its allowance fits beside the running jobs' (or runs alone)."""

    def __init__(self, budget_mb: int) -> None:
        self.budget = budget_mb
        self.used = 0
        self._changed = threading.Condition()

    def acquire(self, need: int, cancel: CancelToken) -> int:
        """Reserve ``need`` MB (capped at the budget); the amount reserved, or -1 when the batch stopped first."""
        if not self.budget or not need:
            return 0
        need = min(need, self.budget)
        with self._changed:
            while self.used and self.used + need > self.budget:
                if cancel.cancelled:
                    return -1
                self._changed.wait(0.2)
            self.used += need
        return need

    def release(self, amount: int) -> None:
        """Give back what :meth:`acquire` reserved."""
        if amount > 0:
            with self._changed:
                self.used -= amount
                self._changed.notify_all()


class _Batch(Generic[J, R]):
    """The shared state of one run: the jobs left, the outcomes queue, the live cancel tokens, the memory budget."""

    def __init__(self, jobs: Sequence[J], work: Callable[[J, Slot], R], memory: _Memory) -> None:
        self.total = len(jobs)
        self.work = work
        self.memory = memory
        self._jobs = iter(jobs)
        self._lock = threading.Lock()
        self._stopped = False
        self._live: set[CancelToken] = set()
        self._outcomes: queue.Queue[tuple[J, R | None, str | None]] = queue.Queue()

    def _take(self, token: CancelToken) -> tuple[bool, J | None]:
        with self._lock:
            if self._stopped:
                return False, None
            for job in self._jobs:
                self._live.add(token)
                return True, job
            return False, None

    def lane(self, gpus: tuple[str, ...]) -> None:
        """One worker thread: take jobs until none is left or the batch stops."""
        while True:
            slot = Slot(executor="local", gpus=gpus)
            taken, job = self._take(slot.cancel)
            if not taken:
                return
            result: R | None = None
            lost: str | None = None
            reserved = self.memory.acquire(memory_of(job), slot.cancel)
            try:
                if reserved >= 0:
                    result = self.work(job, slot)  # type: ignore[arg-type]
            except Exception as exc:  # a harness bug in one job is that job's outcome, not the batch's end
                lost = f"the grading work failed on {slot.node}: {type(exc).__name__}: {exc}"
            finally:
                self.memory.release(reserved)
            with self._lock:
                self._live.discard(slot.cancel)
                if slot.cancel.cancelled:  # ended by our cancel: not a grade, the job runs again next batch
                    return
            self._outcomes.put((job, result, lost))  # type: ignore[arg-type]

    def outcomes(self) -> Iterator[tuple[J, R | None, str | None]]:
        """Each job's outcome as it arrives (the driver blocks here; Ctrl-C interrupts the wait)."""
        for _ in range(self.total):
            yield self._outcomes.get()

    def finished(self) -> Iterator[tuple[J, R | None, str | None]]:
        """Outcomes already posted but not yet handed out (drained after a stop)."""
        while True:
            try:
                yield self._outcomes.get_nowait()
            except queue.Empty:
                return

    def stop(self) -> None:
        """Start no new job and cancel every running one (their hooks kill their sandboxes)."""
        with self._lock:
            self._stopped = True
            live = list(self._live)
        for token in live:
            token.cancel()


def _join(threads: list[threading.Thread], grace: float | None) -> None:
    """Wait for the lanes; with ``grace``, at most that long in all (a stuck job must not hold Ctrl-C hostage)."""
    deadline = None if grace is None else time.monotonic() + grace
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
