"""The one small Protocol every sandbox backend implements.

A backend runs a :class:`Job` -- a command of the in-sandbox runtime over a
prepared work directory -- with the job's limits and no network, and reports
how it ended as a :class:`JobResult`. It never interprets the job's output:
that is the pipeline's business.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Limits:
    """Resource limits for one job. Defaults are defined once, here."""

    wall_seconds: float = 600.0  # whole-job wall clock; killed after
    cell_seconds: float = 300.0  # one cell's limit (enforced by the runner)
    memory_mb: int = 4096  # resident memory of the whole job, as an executor reserves it
    memory_ceiling_mb: int = 12 * 1024  # what a run may grow to before it is killed, where the host has it (Colab's)
    cpus: float = 2.0  # CPU share (docker) / cores
    pids: int = 256  # processes and threads
    output_bytes: int = 2_000_000  # captured stdout/stderr and notebook outputs
    disk_mb: int = 1024  # largest file the job may write / tmpfs size


@dataclass(frozen=True)
class Mount:
    """A host directory made visible inside the sandbox."""

    source: Path  # on the host
    target: str  # path inside the sandbox
    read_only: bool = True


@dataclass(frozen=True)
class Job:
    """One execution inside the sandbox.

    ``argv`` runs with ``cwd`` inside the sandbox; ``mounts`` are the only
    host paths it may see (the local backend maps targets back to sources).
    """

    name: str
    argv: tuple[str, ...]
    mounts: tuple[Mount, ...]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    gpu: bool = False
    devices: tuple[str, ...] = ()  # the host GPU ids this job is pinned to (empty: any one GPU when gpu is set)


class Ending(str, enum.Enum):
    """How the sandboxed process ended, as the backend saw it."""

    exited = "exited"  # exited by itself (look at exit_code)
    timeout = "timeout"  # killed at the wall-clock limit
    memory = "memory"  # killed for exceeding the memory limit
    output = "output"  # killed for flooding output past the cap
    disk = "disk"  # killed for writing more than the disk limit in its writable mounts
    error = "error"  # the backend could not run the job at all


@dataclass(frozen=True)
class JobResult:
    """What a backend reports about one job."""

    ending: Ending
    exit_code: int | None
    duration_s: float
    output_tail: str = ""  # last part of stdout+stderr, capped
    message: str = ""  # the backend's own explanation, for the result
    isolation: dict[str, str] = field(default_factory=dict)  # e.g. network: "namespace"
    image: str = ""  # container image id where one was used
    leftovers_killed: int = 0  # processes still alive at the end, killed


def writable_bytes(mounts: tuple[Mount, ...], stop_at: int) -> int:
    """Bytes stored under the writable mounts (links not followed); stops counting past ``stop_at``."""
    import os

    total = 0
    for mount in mounts:
        if mount.read_only:
            continue
        for folder, _dirs, files in os.walk(mount.source):
            for name in files:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_blocks * 512
                except OSError:  # removed while we looked
                    continue
            if total > stop_at:
                return total
    return total


def disk_message(used: int, limits: Limits) -> str:
    """The one-line reason for a job killed at the disk limit."""
    return (
        f"killed: the job wrote {used // (1024 * 1024)} MB to its work folders, over the limit of {limits.disk_mb} MB"
    )


@runtime_checkable
class Sandbox(Protocol):
    """A place to run untrusted code under limits with no network."""

    name: str

    def available(self) -> tuple[bool, str]:
        """Whether this backend can run jobs here, and why not."""
        ...

    def run(self, job: Job) -> JobResult:
        """Run one job to its end (or kill it) and report how it ended."""
        ...


# Every job running in this process, with how to stop it: a batch interrupted by Ctrl-C stops them all
# (containers are killed and removed by their backend's own clean-up, local jobs' supervisors sweep their tree).
_RUNNING: dict[int, Callable[[], object]] = {}
_RUNNING_LOCK = threading.Lock()


@contextmanager
def running(stop: Callable[[], object]) -> Iterator[None]:
    """Register a running job's ``stop`` for :func:`stop_all` while the block runs."""
    key = id(stop)
    with _RUNNING_LOCK:
        _RUNNING[key] = stop
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(key, None)


def stop_all() -> int:
    """Stop every job running in this process (an interrupted batch); how many were asked to stop."""
    with _RUNNING_LOCK:
        stops = list(_RUNNING.values())
    for stop in stops:
        try:
            stop()
        except Exception:  # one job that cannot be stopped must not keep the others running
            continue
    return len(stops)
