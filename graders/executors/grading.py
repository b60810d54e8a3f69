"""The grading work itself, shaped for any executor: a picklable job and a module-level work function.

A :class:`GradeJob` is what travels to the node that grades: the task and the
session's settings, with the sandbox backend given by *name*, never as an
object (a docker client or a uid pool belongs to one host). :func:`grade_job`
then runs on that node: it picks the node's own backend -- docker where its
engine answers, else local, as ``choose_backend`` decides -- pins it to the
slot's device(s), grades, and adds the slot's placement to the provenance.

Paths inside the task (the rubric folder, the course's data) are the driver's
paths: every node needs the course files at the same place (a shared mount or
the same checkout), and the same labgrade version installed.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from graders.backends import Sandbox, choose
from graders.backends.base import Job, JobResult, stop_all
from graders.config import GradeSettings
from graders.executors.base import Slot
from graders.models import RunRecord
from graders.state import GradeContext, Task, bare_failure

_BACKENDS: dict[str, Sandbox] = {}
_BACKENDS_LOCK = threading.Lock()


@dataclass(frozen=True)
class GradeJob:
    """One student x experiment, with the session's settings (its backend by name, never as an object)."""

    task: Task
    settings: GradeSettings

    @property
    def memory_mb(self) -> int:
        """The memory this job's sandbox may use: what an executor reserves for it."""
        return self.task.limits(self.settings.limits).memory_mb


def session_context(
    settings: GradeSettings, backend: Sandbox, *, gpus: bool | None = None, on_node: bool = False
) -> GradeContext:
    """What every task of the session shares, on ``backend`` (``gpus``: the slot's, else the course's). On a
    node the context has no gradebook: the driver records each result as it arrives."""
    return GradeContext(
        course=settings.course,
        profile=settings.profile,
        seed=settings.seed,
        limits=settings.limits,
        late_policy=settings.late_policy,
        backend=backend,
        real_data=settings.real_data,
        targets_dir=settings.targets_dir,
        gpus=bool(settings.gpus) if gpus is None else gpus,
        gradebook=None if on_node else settings.gradebook,
        count_suggested_viva=settings.count_suggested_viva,
    )


class PinnedSandbox:
    """A backend whose every job is pinned to the slot's device(s).

    A host process gets ``CUDA_VISIBLE_DEVICES=<the slot's ids>``; a container
    gets the in-container numbering (its devices are renumbered from 0), while
    choosing *which* host devices it receives is the docker backend's part
    (``Slot.docker_device_request``).
    """

    def __init__(self, inner: Sandbox, slot: Slot) -> None:
        self.inner = inner
        self.slot = slot
        self.name = inner.name

    def available(self) -> tuple[bool, str]:
        """As the wrapped backend."""
        return self.inner.available()

    def run(self, job: Job) -> JobResult:
        """Run ``job`` on the wrapped backend with the slot's devices (unchanged on a CPU slot)."""
        if not self.slot.gpus:
            return self.inner.run(job)
        if self.inner.name == "local":
            return self.inner.run(dataclasses.replace(job, gpu=True, env={**job.env, **self.slot.cuda_env()}))
        return self.inner.run(dataclasses.replace(job, gpu=True, devices=tuple(self.slot.gpus)))


def node_backend(name: str) -> Sandbox:
    """This node's backend for the configured ``name``, chosen once per process (docker where it answers)."""
    with _BACKENDS_LOCK:
        if name not in _BACKENDS:
            _BACKENDS[name] = choose(name)[0]
        return _BACKENDS[name]


def grade_job(job: GradeJob, slot: Slot) -> RunRecord:
    """The work function: grade one job on this node, in its sandbox, on the slot's device(s)."""
    from graders.pipeline import grade_task

    slot.cancel.on_cancel(stop_all)  # an interrupted batch stops the sandboxes it runs, not only new jobs
    backend = PinnedSandbox(node_backend(job.settings.backend), slot)
    ctx = session_context(job.settings, backend, gpus=bool(slot.gpus), on_node=True)
    try:
        record = grade_task(ctx, job.task)
    except Exception as exc:  # even the failure record failed (e.g. a broken rubric): still one record
        record = lost_record(job, f"the harness failed on {slot.node}: {type(exc).__name__}: {exc}")
    return with_placement(record, slot)


def with_placement(record: RunRecord, slot: Slot) -> RunRecord:
    """``record`` with the slot's executor, node, device and GPU seconds in its provenance's hardware."""
    if record.provenance is None:
        return record
    hardware = {**record.provenance.hardware, **slot.provenance()}
    return record.model_copy(update={"provenance": record.provenance.model_copy(update={"hardware": hardware})})


def lost_record(job: GradeJob, reason: str) -> RunRecord:
    """The graded failure for a job no node could finish (the executor's ``on_lost``)."""
    return bare_failure(job.settings.course, job.task, reason)
