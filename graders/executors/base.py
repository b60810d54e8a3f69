"""The contract every executor keeps, and the slot a job runs in.

An executor decides *where* jobs run -- threads of this process, or Ray tasks on
many hosts -- and nothing else: *what* a job does is the ``work`` function the
caller hands in. Keeping the two apart lets the grading pipeline stay unaware of
clusters, and lets an executor be tested with toy jobs instead of notebooks.

Three rules hold for every executor, whatever its transport:

* results arrive as they finish: ``on_result(job, result)`` is called in the
  driver's thread the moment one job ends, so the caller can record it at once
  (a batch stopped half way keeps what it finished);
* a job the executor could not bring to an end (its worker or node died more
  often than the retries allow, or ``work`` itself raised) still ends: the
  caller's ``on_lost(job, reason)`` turns it into a result, which is then handed
  to ``on_result`` like any other, so every job is reported exactly once;
* an interrupt (Ctrl-C in the driver) starts no new job, cancels the running
  ones through their slot's :class:`CancelToken`, keeps what already finished,
  and then propagates.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

J = TypeVar("J")
R = TypeVar("R")

Work = Callable[[J, "Slot"], R]
OnResult = Callable[[J, R], None]
OnLost = Callable[[J, str], R]


MIB = 1024 * 1024


def memory_of(job: object) -> int:
    """The memory in MB a job's sandbox may use, as the job declares it (``job.memory_mb``); 0 = not declared.

    An executor reserves it: the local pool never runs jobs whose allowances add up to more than the
    host's memory, and a Ray task asks for it as Ray's ``memory`` resource.
    """
    value = getattr(job, "memory_mb", 0)
    return value if isinstance(value, int) and value > 0 else 0


class ExecutorError(RuntimeError):
    """A problem with the executor's settings or surroundings (not with a job): shown as one line."""


class CancelToken:
    """Tells a running job that its batch is being stopped, and runs the job's own stop hooks.

    A backend that blocks on a container or a process registers a hook (``on_cancel``)
    that kills it; one that polls can look at :attr:`cancelled` or :meth:`wait`.
    Hooks run once, in the thread that cancels; one registered after the cancel
    runs at once, so a job that starts its sandbox late is still stopped.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], object]] = []

    @property
    def cancelled(self) -> bool:
        """Whether the batch is being stopped."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled (True) or until ``timeout`` passes (False)."""
        return self._event.wait(timeout)

    def on_cancel(self, hook: Callable[[], object]) -> None:
        """Run ``hook`` when the job is cancelled (now, if it already is)."""
        with self._lock:
            if not self._event.is_set():
                self._hooks.append(hook)
                return
        hook()

    def cancel(self) -> None:
        """Mark cancelled and run every hook once; a failing hook does not keep the others from running."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # a hook that fails to kill its process must not stop the next hook
                continue


@dataclass(frozen=True)
class Slot:
    """Where one job runs: the node, the GPU device(s) it may use, and its cancel hook.

    ``gpus`` are device ids *as the node numbers them* (``nvidia-smi`` indices,
    or Ray's assignment on that node); an empty tuple means CPU only. A backend
    turns them into what its sandbox needs:

    * a process on the host (local backend): the environment of :meth:`cuda_env`,
      ``CUDA_VISIBLE_DEVICES=<ids>``, so CUDA inside sees only the job's device(s);
    * a container (docker backend): the device request of :meth:`docker_device_request`
      (``DeviceRequest(**slot.docker_device_request())``) plus :meth:`container_env`,
      because inside the container the passed-through devices are renumbered from 0.

    The slot is made on the node that runs the job, so it is never pickled.
    """

    executor: str
    node: str = field(default_factory=socket.gethostname)
    node_id: str = "local"
    gpus: tuple[str, ...] = ()
    cancel: CancelToken = field(default_factory=CancelToken)
    started: float = field(default_factory=time.monotonic)

    @property
    def gpu(self) -> str | None:
        """The device ids as one ``CUDA_VISIBLE_DEVICES`` value ("0", "0,1"), or None on CPU."""
        return ",".join(self.gpus) if self.gpus else None

    def cuda_env(self) -> dict[str, str]:
        """Environment pinning a host process to the slot's devices (empty on CPU: nothing to pin)."""
        return {"CUDA_VISIBLE_DEVICES": self.gpu} if self.gpu is not None else {}

    def docker_device_request(self) -> dict[str, object] | None:
        """Keyword arguments of ``docker.types.DeviceRequest`` for exactly these devices, or None on CPU."""
        if not self.gpus:
            return None
        return {"device_ids": list(self.gpus), "capabilities": [["gpu"]]}

    def container_env(self) -> dict[str, str]:
        """``CUDA_VISIBLE_DEVICES`` as seen inside a container that was given only the slot's devices."""
        if not self.gpus:
            return {}
        return {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(len(self.gpus)))}

    def gpu_seconds(self) -> float:
        """Device time the job has held so far: wall seconds since the slot started x devices held."""
        return (time.monotonic() - self.started) * len(self.gpus)

    def provenance(self) -> dict[str, str]:
        """Fields for ``Provenance.hardware``, taken when the job ends: executor, node, device, GPU seconds."""
        return {
            "executor": self.executor,
            "node": self.node,
            "node_id": self.node_id,
            "device": f"gpu:{self.gpu}" if self.gpus else "cpu",
            "gpu_seconds": f"{self.gpu_seconds():.3f}",
        }


class Executor(Protocol):
    """Spreads jobs over workers and hands each result back as it finishes (see the module's rules)."""

    name: str

    def run(
        self,
        jobs: Sequence[J],
        work: Callable[[J, Slot], R],
        *,
        on_result: Callable[[J, R], None],
        on_lost: Callable[[J, str], R],
    ) -> None:
        """Run every job once; ``on_result`` is called in this thread for each, in completion order."""
        ...
