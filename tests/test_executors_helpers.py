"""Toy jobs for the Ray executor's tests, importable by every Ray worker process (so: no tests in here).

A job leaves marker files in a folder shared by all the test's nodes (they run
on this host), which is how the test sees where and when jobs started without
timing them: ``started-<id>-<node>-<pid>`` when an attempt starts,
``cancelled-<id>`` when its cancel hook runs. A job may wait for the others
(``rendezvous``) or for the test (``hold``: until the file ``release`` exists).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from graders.executors import Slot

if TYPE_CHECKING:  # importing the pipeline is slow: only the real grading jobs need it
    from graders.backends.base import Limits
    from graders.config import GradeSettings
    from graders.executors.grading import GradeJob

LIMIT = 60.0  # any wait past this is a broken test; the job then fails loudly instead of hanging


@dataclass(frozen=True)
class ToyJob:
    """One toy job; ``kind`` is ``ok``, ``die`` (kills its own worker) or ``raise`` (the work fails)."""

    id: int
    folder: str
    kind: str = "ok"
    rendezvous: int = 0
    hold: bool = False


def _wait_for(condition: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + LIMIT
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {condition}")
        time.sleep(0.05)


def toy_work(job: ToyJob, slot: Slot) -> dict[str, object]:
    """Grade a toy job: note where it runs, behave as its kind says, report its slot."""
    folder = Path(job.folder)
    (folder / f"started-{job.id}-{slot.node_id}-{os.getpid()}").touch()
    slot.cancel.on_cancel(lambda: (folder / f"cancelled-{job.id}").touch())
    start = time.monotonic()
    if job.kind == "die":
        os.kill(os.getpid(), 9)
    if job.kind == "raise":
        raise ValueError(f"toy job {job.id} fails")
    if job.rendezvous:
        (folder / f"rv-{job.id}").touch()
        _wait_for("the rendezvous", lambda: len(list(folder.glob("rv-*"))) >= job.rendezvous)
    if job.hold:
        _wait_for("the release", (folder / "release").exists)
    return {
        "id": job.id,
        "node_id": slot.node_id,
        "gpus": slot.gpus,
        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "start": start,
        "end": time.monotonic(),
        "provenance": slot.provenance(),
    }


def attempts(folder: Path, job_id: int) -> list[str]:
    """The node id of each attempt of ``job_id`` that started."""
    return [p.name.split("-")[2] for p in folder.glob(f"started-{job_id}-*")]


def job_settings(backend: str = "local", limits: Limits | None = None) -> GradeSettings:
    """The session settings of a toy course (no gradebook is written by the jobs themselves)."""
    from graders.backends.base import Limits
    from graders.config import GradeSettings
    from graders.models import LatePolicy

    return GradeSettings(
        course="executors",
        profile="quick",
        seed=1,
        limits=limits or Limits(),
        late_policy=LatePolicy.model_validate({}),
        backend=backend,
        executor="local",
        workers=1,
        address=None,
        gpus=False,
        gradebook=Path("unused-gradebook.sqlite"),
    )


def missing_jobs(count: int, backend: str = "local") -> list[GradeJob]:
    """Real grading jobs whose student handed nothing in: graded without running a notebook."""
    from graders.executors.grading import GradeJob
    from graders.rubric import load_rubric
    from graders.state import Task
    from graders.submissions import Student

    rubric = load_rubric("boston")
    return [
        GradeJob(Task(Student(str(roll), f"Student {roll}"), rubric, None, None), job_settings(backend))
        for roll in range(1, count + 1)
    ]
