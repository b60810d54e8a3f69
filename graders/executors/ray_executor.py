"""The Ray executor: each job a Ray task, anywhere on a cluster of grading hosts.

Ray is imported only when a batch runs, so labgrade works without it; it comes
with the ``labgrade[ray]`` extra. Every node needs labgrade itself installed
(the same version), because a task names its work function by module and
name: the node imports ``graders`` and runs the job in *its own* sandbox
backend.

Retry versus outcome -- two different things that Ray reports alike:

* **a lost node** (its host rebooted, its raylet died, it was removed from the
  cluster): the job did nothing wrong, so Ray re-runs the task on another node.
  That is Ray's own ``max_retries`` for system failures; the batch never sees it.
* **a job that kills its worker**: the student's code runs inside the sandbox,
  so a dead worker process is rare, but a submission that still manages it
  (it kills its parent, exhausts the host) would do it again on every retry.
  Retries are therefore bounded (``max_retries``, default 2); when they are
  spent, the job is not retried further but *graded*: ``on_lost(job, reason)``
  makes its failure result, whose reason says the worker died on every attempt.
  The rest of the batch goes on.

A failure inside ``work`` (an exception, not a death) is never retried: it
would fail the same way again; it also becomes ``on_lost``'s outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from graders.executors.base import MIB, ExecutorError, Slot, memory_of
from graders.executors.devices import GpuSetting

J = TypeVar("J")
R = TypeVar("R")

DEFAULT_RETRIES = 2


def import_ray() -> Any:
    """The ``ray`` module, or the one-line error that says how to get it."""
    try:
        import ray
    except ImportError:
        raise ExecutorError("the ray executor needs Ray: pip install 'labgrade[ray]'") from None
    return ray


def _on_node(work: Callable[[J, Slot], R], job: J) -> R:
    """The Ray task: build the slot from what Ray gave this task on this node, then run the work.

    ``ray.cancel`` raises KeyboardInterrupt in here; the slot's hooks then kill
    the job's sandbox before the interrupt ends the task.
    """
    ray = import_ray()
    node_id = ray.get_runtime_context().get_node_id()
    slot = Slot(executor="ray", node_id=str(node_id), gpus=tuple(str(g) for g in ray.get_gpu_ids()))
    try:
        return work(job, slot)
    except KeyboardInterrupt:
        slot.cancel.cancel()
        raise


class RayExecutor:
    """Jobs as Ray tasks on the cluster at ``address`` (None: a cluster Ray finds or starts here, for testing).

    ``gpus``: any true setting (True, a count, ``"all"``) gives every job one GPU
    of whatever node runs it; how many GPUs a node offers is that node's
    ``ray start --num-gpus`` (or what Ray detects). ``runtime_env`` and
    ``init_options`` go to ``ray.init`` as they are.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        gpus: GpuSetting = None,
        max_retries: int = DEFAULT_RETRIES,
        cpus_per_job: float = 1.0,
        runtime_env: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        if max_retries < 0:
            raise ExecutorError(f"max_retries must not be negative, got {max_retries}")
        self.address = address
        self.gpus_per_job = 0 if gpus in (None, False, 0, "0") else 1
        self.max_retries = max_retries
        self.cpus_per_job = cpus_per_job
        self.runtime_env = runtime_env
        self.init_options = dict(init_options or {})
        self.poll_seconds = poll_seconds

    def run(
        self,
        jobs: Sequence[J],
        work: Callable[[J, Slot], R],
        *,
        on_result: Callable[[J, R], None],
        on_lost: Callable[[J, str], R],
    ) -> None:
        """Submit every job, then hand each result to ``on_result`` as Ray reports it done."""
        if not jobs:
            return
        ray = import_ray()
        owned = self._connect(ray)
        try:
            self._check_resources(ray)
            task = ray.remote(_on_node)
            options = {
                "num_cpus": self.cpus_per_job,
                "num_gpus": self.gpus_per_job,
                "max_retries": self.max_retries,
                "retry_exceptions": False,
            }
            largest = _largest_node_memory(ray)
            pending: dict[Any, J] = {
                task.options(**options, **_memory_option(memory_of(job), largest)).remote(work, job): job
                for job in jobs
            }
            self._drain(ray, pending, on_result, on_lost)
        finally:
            if owned:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Join the cluster unless this process already has; True when this run connected (and so disconnects)."""
        if ray.is_initialized():
            return False
        options = dict(self.init_options)
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        try:
            ray.init(address=self.address, **options)
        except ConnectionError as exc:
            where = self.address or "this host"
            raise ExecutorError(f"could not reach the Ray cluster at {where}: {exc}") from None
        return True

    def _check_resources(self, ray: Any) -> None:
        """Fail at once, not hang, when no node could ever run a job (Ray would queue it forever)."""
        have = ray.cluster_resources()
        where = self.address or "this host"
        if self.gpus_per_job and have.get("GPU", 0) < self.gpus_per_job:
            raise ExecutorError(f"the course uses GPUs but the Ray cluster at {where} has none")
        if have.get("CPU", 0) < self.cpus_per_job:
            raise ExecutorError(
                f"the Ray cluster at {where} has {have.get('CPU', 0)} CPUs; each job asks for {self.cpus_per_job}"
            )

    def _drain(
        self, ray: Any, pending: dict[Any, J], on_result: Callable[[J, R], None], on_lost: Callable[[J, str], R]
    ) -> None:
        """The ``ray.wait`` loop; on Ctrl-C, hand out what is done, cancel the rest, propagate."""
        delivering = False
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_seconds)
                for ref in done:
                    job = pending.pop(ref)
                    delivering = True
                    on_result(job, self._outcome(ray, ref, job, on_lost))
                    delivering = False
        except BaseException:
            refs = list(pending)
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0) if refs and not delivering else ([], refs)
            for ref in refs:
                if ref not in ready:
                    ray.cancel(ref)
            for ref in ready:
                self._deliver_finished(ray, ref, pending[ref], on_result)
            raise

    def _outcome(self, ray: Any, ref: Any, job: J, on_lost: Callable[[J, str], R]) -> R:
        try:
            result: R = ray.get(ref)
        except ray.exceptions.RayError as exc:
            return on_lost(job, lost_reason(ray, exc, self.max_retries))
        return result

    @staticmethod
    def _deliver_finished(ray: Any, ref: Any, job: J, on_result: Callable[[J, R], None]) -> None:
        """A job that had finished when the interrupt came is recorded; one that failed runs again next batch."""
        try:
            result: R = ray.get(ref, timeout=0)
        except ray.exceptions.RayError:
            return
        on_result(job, result)


def _largest_node_memory(ray: Any) -> int:
    """The most memory (bytes of Ray's ``memory`` resource) any live node offers; 0 when none says."""
    sizes = [float(n.get("Resources", {}).get("memory", 0)) for n in ray.nodes() if n.get("Alive")]
    return int(max(sizes, default=0))


def _memory_option(need_mb: int, largest: int) -> dict[str, int]:
    """Ray's ``memory`` request for a job's declared allowance: at most what the largest node has, so it never waits
    forever (that node then runs it with its memory to itself, as the local pool runs an oversized job alone)."""
    if not need_mb or not largest:
        return {}
    return {"memory": min(need_mb * MIB, largest)}


def lost_reason(ray: Any, exc: BaseException, retries: int) -> str:
    """Why a job produced no result, in the words the student's result will show."""
    errors = ray.exceptions
    attempts = "on its only attempt" if retries == 0 else f"on each of {retries + 1} attempts"
    if isinstance(exc, errors.RayTaskError):
        cause = getattr(exc, "cause", None)
        cause = cause if isinstance(cause, BaseException) else exc
        return f"the grading work failed on a Ray node: {type(cause).__name__}: {_first_line(cause)}"
    if isinstance(exc, errors.WorkerCrashedError):
        return (
            f"the grading process died {attempts}: the job itself ends the process that "
            f"runs it, so it is graded as a failure instead of retried again"
        )
    if isinstance(exc, errors.OutOfMemoryError):
        return f"the job was killed for using too much memory on its node, {attempts}"
    if isinstance(exc, (errors.NodeDiedError, errors.LocalRayletDiedError)):
        return f"the node running the job was lost {attempts}"
    if isinstance(exc, errors.TaskCancelledError):
        return "the job was cancelled before it finished"
    return f"Ray could not run the job: {type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"
