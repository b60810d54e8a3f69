"""The ``local`` sandbox backend: a supervised subprocess on this host (Linux).

A job runs under a small supervisor process (:mod:`graders.backends._supervisor`)
that is a child subreaper, so every descendant of the job -- daemons included
-- is killed when the job ends, times out or is stopped. The harness reads the
job's output as it comes, keeps a bounded tail and watches memory and time.

What is contained, where the host allows it (``JobResult.isolation`` says
what was actually in force for each run):

* network: a new network namespace with only loopback up -- neither the
  host's loopback services nor anything outside is reachable;
* user: run as root, the job runs as an unprivileged uid/gid with
  ``no_new_privs``, one uid per running job (:class:`UidPool`: jobs graded
  side by side cannot signal or trace each other, read each other's ``/proc``
  entries or write each other's files); writable mounts are chowned to it, so
  root-only files elsewhere on the host stay unreadable. Directories on the
  way to a mount or to the interpreter that this uid may not traverse (e.g.
  ``/root``) are covered by an empty tmpfs in a private mount namespace,
  with just those paths bound back;
* read_only: enforced with read-only bind mounts when a private mount
  namespace is available; otherwise *not* enforced by the filesystem, only by
  the uid drop;
* limits: RLIMIT_CPU (wall_seconds x cpus), RLIMIT_FSIZE (disk_mb),
  RLIMIT_NPROC (pids, on top of what the job's uid already runs),
  RLIMIT_CORE 0, RLIMIT_NOFILE; resident memory by a watchdog that sums the
  RSS of all the job's processes every 0.2 s (not RLIMIT_AS: TensorFlow
  reserves far more virtual memory than it uses); wall clock; output volume;
  total disk use of the writable mounts (a 1 s watchdog).

Not contained: the rest of the host filesystem stays visible (readable where
its permissions allow), path-based unix sockets, the host's process list
(/proc), memory spikes
shorter than the watchdog's poll, GPUs (``Job.gpu``: the host's devices stay
as they are), and -- when the harness is not root, or a fixed ``uid`` is
configured -- other jobs running under the same uid (they share its
RLIMIT_NPROC count and may signal each other).

Paths: ``Job.argv``, ``cwd`` and ``env`` are written in sandbox paths; every
argv element, cwd and env value (each ``:``-separated part of it, or the
path of a ``name=path`` part) that is a mount target or lies below one is
rewritten to the host source. The job gets
a fresh environment: the job's own plus ``HOME``/``TMPDIR`` (a private temp
directory removed afterwards), ``LANG``, and a ``PATH`` that starts with the
job's interpreter directory -- for grading jobs, the grading runtime's
environment built from the project's lock (:mod:`graders.backends.runtime_env`).

Warm starts: a ``python -m <module>`` job whose module the backend serves warm
(the trusted evaluator, by default) is forked, supervisor and all, from a
process of its interpreter that has imported TensorFlow and Keras
(:mod:`graders.backends.zygote`); the isolation above is applied to it exactly
as to a cold job, and ``JobResult.isolation["start"]`` says which way it began.
"""

from __future__ import annotations

import collections
import dataclasses
import marshal
import math
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

import psutil

from graders.backends import _posix, runtime_env, zygote
from graders.backends.base import Ending, Job, JobResult, Limits, Mount, disk_message, running, writable_bytes

NOBODY = 65534
UID_ENV = "LABGRADE_SANDBOX_UID"  # run every job as this one uid instead of one uid per job
UIDS_ENV = "LABGRADE_SANDBOX_UIDS"  # "FIRST-LAST": the uids handed out one per running job
JOB_UIDS = range(59_000, 59_128)  # the default pool: the top of the ordinary-user range, rarely allocated
POLL_S = 0.2  # memory watchdog period
DISK_POLL_S = 1.0  # disk usage watchdog period (walks the writable mounts)
KILL_GRACE_S = 10.0  # how long the supervisor may take to sweep before we kill it ourselves
DRAIN_S = 2.0  # output still arriving after the supervisor has reported
FLOOD_FACTOR = 10  # output beyond this many times output_bytes kills the job
NOFILE = 4096
MIB = 1024 * 1024

_HERE = str(Path(__file__).resolve().parent)
# -I -S and a top-level import: the supervisor needs only the standard library and
# starts in ~20 ms instead of ~100 ms with site-packages and the package's imports.
_SUPERVISOR_ARGV = (
    sys.executable,
    "-I",
    "-S",
    "-c",
    f"import sys; sys.path.insert(0, {_HERE!r}); from _supervisor import main; main()",
)
_SIGNAL_REASONS = {
    signal.SIGXCPU: "the CPU time limit, wall_seconds x cpus",
    signal.SIGXFSZ: "the file size limit, disk_mb",
    signal.SIGKILL: "SIGKILL",
}


class UidPool:
    """Hands each running job a uid of its own (its gid is the same number).

    A uid is handed out only while no account has it, no process runs under it
    and no other job holds it; with none left, jobs share ``nobody`` and their
    isolation note says so.
    """

    def __init__(self, uids: range) -> None:
        self.uids = uids
        self._lock = threading.Lock()
        self._busy: set[int] = set()

    def acquire(self) -> int | None:
        """A free uid, or None when every one is held or in use."""
        with self._lock:
            candidates = [u for u in self.uids if u not in self._busy]
            running = _uids_running() if candidates else set()
            for uid in candidates:
                if uid not in running and not _has_account(uid):
                    self._busy.add(uid)
                    return uid
            return None

    def release(self, uid: int) -> None:
        """Give ``uid`` back to the pool."""
        with self._lock:
            self._busy.discard(uid)


def parse_uid_range(text: str) -> range:
    """``"59000-59127"`` -> that inclusive range; a clear error otherwise."""
    first, sep, last = text.partition("-")
    try:
        low, high = int(first), int(last)
    except ValueError:
        raise ValueError(f"{UIDS_ENV} must look like 59000-59127, not {text!r}") from None
    if not sep or not 0 < low <= high:
        raise ValueError(f"{UIDS_ENV} must look like 59000-59127 (first <= last, above 0), not {text!r}")
    return range(low, high + 1)


_pools: dict[range, UidPool] = {}
_pools_lock = threading.Lock()


def uid_pool() -> UidPool:
    """The process's one pool for the uids $LABGRADE_SANDBOX_UIDS names (default JOB_UIDS)."""
    text = os.environ.get(UIDS_ENV, "")
    uids = parse_uid_range(text) if text else JOB_UIDS
    with _pools_lock:
        return _pools.setdefault(uids, UidPool(uids))


def from_environment() -> LocalSandbox:
    """The registry's factory: one uid per job from the pool, or $LABGRADE_SANDBOX_UID for every job.

    The grading runtime the jobs run with is made ready here, before anything is graded: built from the lock
    on first use, checked against it every time (a mismatch is a :class:`runtime_env.RuntimeEnvError`)."""
    runtime_env.local_python(progress=lambda line: print(line, file=sys.stderr, flush=True))
    if os.environ.get(UID_ENV):
        uid = int(os.environ[UID_ENV])
        return LocalSandbox(uid=uid, gid=uid)
    return LocalSandbox()


class LocalSandbox:
    """Run jobs as supervised subprocesses of this host, isolated as far as the OS allows."""

    name = "local"

    def __init__(
        self,
        *,
        uid: int | UidPool | None | Literal["pool"] = "pool",
        gid: int | None = None,
        warm: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Who jobs run as when the harness is root: a uid of their own from :func:`uid_pool`
        (``"pool"``, the default) or from the :class:`UidPool` given, one fixed ``uid`` (``gid``
        defaults to the same number), or ``None`` to keep root.

        ``warm``: the modules whose ``python -m`` jobs start from a warm process (:mod:`graders.backends.zygote`),
        each with what that process imports first; default the trusted evaluator with TensorFlow and Keras."""
        self.uid: int | UidPool | None = uid_pool() if uid == "pool" else uid
        self.gid = gid if gid is not None or isinstance(self.uid, UidPool) else self.uid
        self.warm = dict(zygote.DEFAULT_WARM if warm is None else warm)

    def available(self) -> tuple[bool, str]:
        """True on Linux; the reason names the isolation to expect."""
        if not sys.platform.startswith("linux"):
            return False, f"the local sandbox needs Linux (prctl, namespaces), not {sys.platform}"
        if os.geteuid() == 0:
            return True, "Linux, root: network/mount namespaces, jobs run as an unprivileged uid"
        return True, "Linux, not root: user+network namespace if the kernel allows; jobs keep this user's uid"

    def run(self, job: Job) -> JobResult:
        """Run ``job`` to its end (or kill it) and report; never raises for the job's own failures."""
        started = time.monotonic()
        uid, gid, shared = self._ids()
        drop = _drop(uid, gid)
        tmpdir = ""
        try:
            tmpdir = tempfile.mkdtemp(prefix="labgrade-job-")
            config = _plan(job, tmpdir, drop)
        except OSError as exc:
            result = JobResult(Ending.error, None, time.monotonic() - started, message=f"cannot prepare the job: {exc}")
        else:
            result = _supervise(config, job, started, self._warm_start(job, config, drop))
        finally:
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
            if isinstance(self.uid, UidPool) and not shared and uid is not None:
                self.uid.release(uid)
        isolation = {**result.isolation, "user": _user_note(uid, drop, shared)}
        return dataclasses.replace(result, isolation=isolation)

    def _warm_start(self, job: Job, config: dict[str, Any], drop: tuple[int, int] | None) -> _Warm | None:
        """How to start ``job`` from a warm process, if it is one served warm (only with a uid drop: a job
        running as the harness's own user could reach the warm process's socket)."""
        if drop is None or not zygote.enabled():
            return None
        module = zygote.warm_module(job, config["argv"][0], self.warm)
        if module is None:
            return None
        preload = self.warm[module]
        try:
            home, mounts = zygote.scratch(job, config["argv"][0], preload)
        except OSError:
            return None
        return _Warm(module, preload, environment(job, os.fspath(home), mounts))

    def _ids(self) -> tuple[int | None, int | None, str]:
        """The job's uid and gid, and why it shares them with other jobs ('' when it does not)."""
        if not isinstance(self.uid, UidPool):
            return self.uid, self.gid, "a fixed uid for every job" if self.uid is not None else ""
        if os.geteuid() != 0:
            return None, None, ""
        uid = self.uid.acquire()
        if uid is None:
            return NOBODY, NOBODY, f"every uid of the pool {_span(self.uid.uids)} was busy"
        return uid, uid, ""


def _drop(uid: int | None, gid: int | None) -> tuple[int, int] | None:
    """The ids to drop to, if the harness is root and this user namespace has them."""
    if os.geteuid() != 0 or uid is None or gid is None:
        return None
    if not (_posix.id_mapped(uid, "uid_map") and _posix.id_mapped(gid, "gid_map")):
        return None  # root of a user namespace (rootless container) without that uid
    return uid, gid


def _user_note(uid: int | None, drop: tuple[int, int] | None, shared: str) -> str:
    if drop is not None:
        alone = f"shared with other jobs: {shared}" if shared else "this job's own"
        return f"uid {drop[0]} gid {drop[1]} ({alone}; dropped from root; writable mounts chowned to it)"
    if os.geteuid() == 0 and uid is None:
        return "root (privilege drop disabled: uid=None)"
    if os.geteuid() == 0:
        return f"root: no drop, uid {uid} is not mapped in this user namespace (the job reads what root can)"
    return f"uid {os.geteuid()}: the harness's own user (not root, no drop; the job reads what this user can)"


def _span(uids: range) -> str:
    return f"{uids.start}-{uids.stop - 1}"


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _uids_running() -> set[int]:
    """Every real, effective and saved uid some process of this host runs under."""
    found: set[int] = set()
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info["uids"]
        if uids is not None:
            found.update(uids)
    return found


# -- planning: what the supervisor is told ---------------------------------------


def translate(value: str, mounts: tuple[Mount, ...]) -> str:
    """Rewrite a sandbox path (a mount target or below one) to its host path; else unchanged."""
    for mount in sorted(mounts, key=lambda m: len(m.target), reverse=True):
        target = mount.target.rstrip("/")
        if value == target or value.startswith(target + "/"):
            return os.path.abspath(mount.source) + value[len(target) :]
    return value


def _translate_part(part: str, mounts: tuple[Mount, ...]) -> str:
    """One ``:``-separated part of an environment value: a sandbox path, or ``name=path`` (the job's roots)."""
    name, sep, path = part.partition("=")
    if sep and path.startswith("/"):
        return f"{name}={translate(path, mounts)}"
    return translate(part, mounts)


def environment(job: Job, tmpdir: str, mounts: tuple[Mount, ...]) -> dict[str, str]:
    """The job's environment with its sandbox paths translated through ``mounts``."""
    # Unbuffered like the docker image's, so a killed job's last words reach the tail.
    env = {"HOME": tmpdir, "TMPDIR": tmpdir, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    for key, value in job.env.items():
        # A local job runs the harness's own interpreter: its PYTHONPATH names host folders (which may well lie
        # under a path that is also a mount target, e.g. a checkout in /work), never sandbox ones.
        env[key] = value if key == "PYTHONPATH" else ":".join(_translate_part(p, mounts) for p in value.split(":"))
    program = translate(job.argv[0], mounts)
    # The job's own interpreter first (the grading runtime's, for the runner and the evaluator), so a
    # notebook's `!python` or `!pip` finds the same one.
    program_dir = os.path.dirname(program) if os.path.isabs(program) else os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join([program_dir, env.get("PATH", os.defpath)])
    return env


def _plan(job: Job, tmpdir: str, drop: tuple[int, int] | None) -> dict[str, Any]:
    """The supervisor's instructions: translated command, environment, limits and mounts."""
    env = environment(job, tmpdir, job.mounts)
    argv = [translate(arg, job.mounts) for arg in job.argv]
    sources = {os.path.realpath(m.source): m.read_only for m in job.mounts}
    if drop is not None:
        for source, read_only in {**sources, tmpdir: False}.items():
            if not read_only:
                _posix.chown_tree(source, *drop)
    reach = {**_interpreter_paths(argv[0], env["PATH"]), **sources, os.path.realpath(tmpdir): False}
    job_uid = drop[0] if drop is not None else os.getuid()
    return {
        "argv": argv,
        "cwd": translate(job.cwd, job.mounts),
        "env": env,
        "uid": drop[0] if drop is not None else None,
        "gid": drop[1] if drop is not None else None,
        "rlimits": _rlimits(job.limits, job_uid, supervisor_counts=drop is None),
        "masks": _masks(reach, drop) if drop else {},
        "binds": sorted(sources.items(), key=lambda item: item[0].count("/")),  # parents before children
        "scratch": tmpdir,  # removed by the supervisor even if the harness dies
    }


def _rlimits(limits: Limits, uid: int, supervisor_counts: bool) -> list[tuple[str, int, int]]:
    """Kernel limits; RLIMIT_NPROC counts all tasks of the uid, so add what it runs already."""
    cpu = max(1, math.ceil(limits.wall_seconds * limits.cpus))
    nproc = _tasks_of(uid) + limits.pids + (1 if supervisor_counts else 0)
    disk = limits.disk_mb * MIB
    return [
        ("RLIMIT_CPU", cpu, cpu + 1),
        ("RLIMIT_FSIZE", disk, disk),
        ("RLIMIT_NPROC", nproc, nproc),
        ("RLIMIT_CORE", 0, 0),
        ("RLIMIT_NOFILE", NOFILE, NOFILE),
    ]


def _tasks_of(uid: int) -> int:
    total = 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        uids = proc.info["uids"]
        if uids is not None and uids.real == uid:
            total += proc.info["num_threads"] or 0
    return total


def _interpreter_paths(program: str, path: str) -> dict[str, bool]:
    """Install prefixes the job needs to reach: this interpreter's and the program's."""
    prefixes = {sys.prefix, sys.base_prefix}
    found = shutil.which(program, path=path)
    if found:
        prefixes.update(os.path.dirname(os.path.dirname(p)) for p in (os.path.abspath(found), os.path.realpath(found)))
    return {os.path.realpath(prefix): True for prefix in prefixes}


def _masks(paths: dict[str, bool], drop: tuple[int, int]) -> dict[str, dict[str, bool]]:
    """Directories the job's uid cannot traverse, each with the paths below it to bind back."""
    outermost = {p: ro for p, ro in paths.items() if not any(p != q and p.startswith(q + "/") for q in paths)}
    masks: dict[str, dict[str, bool]] = {}
    for path, read_only in outermost.items():
        blocked = _posix.first_untraversable(path, *drop)
        if blocked is not None and blocked != "/":
            masks.setdefault(blocked, {})[path] = read_only
    return masks


# -- running: the harness's side of a job ----------------------------------------


@dataclasses.dataclass(frozen=True)
class _Warm:
    """A job to start from a warm process: its module, what that process imports, the env it starts with."""

    module: str
    preload: tuple[str, ...]
    env: dict[str, str]


def _supervise(config: dict[str, Any], job: Job, started: float, warm: _Warm | None = None) -> JobResult:
    """Start the supervisor (forked from a warm process, or a fresh one), feed it the plan, watch until it reports."""
    out_r, out_w = os.pipe()
    ctl_r, ctl_w = os.pipe()
    proc: subprocess.Popen[bytes] | zygote.Forked | None = None
    start_note = "a fresh interpreter"
    try:
        if warm is not None:
            proc = _fork_warm(config, job, warm, out_w, ctl_w)
            if proc is not None:
                start_note = zygote.describe(warm.preload, proc.pid)
        if proc is None:
            config.pop("module", None)
            config["control_fd"] = ctl_w  # pass_fds keeps the number
            proc = subprocess.Popen(
                _SUPERVISOR_ARGV,
                stdin=subprocess.PIPE,
                stdout=out_w,
                stderr=out_w,
                pass_fds=(ctl_w,),
                start_new_session=True,  # terminal signals go to the harness only
            )
    except OSError as exc:
        os.close(out_r)
        os.close(ctl_r)
        return JobResult(Ending.error, None, time.monotonic() - started, message=f"cannot start the supervisor: {exc}")
    finally:
        os.close(out_w)
        os.close(ctl_w)
    result = _watch(proc, config, job, started, out_r, ctl_r)
    return dataclasses.replace(result, isolation={**result.isolation, "start": start_note})


def _fork_warm(config: dict[str, Any], job: Job, warm: _Warm, out_w: int, ctl_w: int) -> zygote.Forked | None:
    """A supervisor forked by the warm process for ``job`` (started if need be); None if none can serve."""
    plan_r, plan_w = os.pipe()
    try:
        pid = zygote.fork(job, config["argv"][0], warm.preload, warm.env, (plan_r, out_w, ctl_w))
        proc = zygote.Forked(pid, os.fdopen(plan_w, "wb"))
    except (OSError, ValueError) as exc:
        os.close(plan_w)
        print(f"labgrade: starting {job.name} cold: {exc}", file=sys.stderr, flush=True)
        return None
    finally:
        os.close(plan_r)
    config["module"] = warm.module
    config["control_fd"] = zygote.CONTROL_FD
    return proc


def _watch(
    proc: subprocess.Popen[bytes] | zygote.Forked,
    config: dict[str, Any],
    job: Job,
    started: float,
    out_r: int,
    ctl_r: int,
) -> JobResult:
    watch = _Watch(proc, job.limits, job.mounts)
    cores = CPUS.acquire(job.limits.cpus)
    try:
        _pin(proc.pid, cores)  # before the plan is sent: the job is forked only after, and inherits it
        plan = marshal.dumps(config)
        watch.send(len(plan).to_bytes(4, "big") + plan)
        with running(lambda: watch.stop(Ending.error, "stopped: the batch was interrupted")):
            report = watch.pump(out_r, ctl_r)
    finally:
        CPUS.release(cores)
        watch.close()
        os.close(out_r)
        os.close(ctl_r)
    return watch.result(report, started)


class CpuPool:
    """Hands each running job its own cores while there are enough, so that one job's
    fork bomb or busy loop cannot starve the others graded beside it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self._busy: set[int] = set()

    def acquire(self, cpus: float) -> set[int]:
        """Up to ceil(cpus) cores nobody else holds; empty (share all) when none is free."""
        want = max(1, math.ceil(cpus))
        with self._lock:
            free = [c for c in self._free if c not in self._busy]
            chosen = set(free[:want])
            self._busy |= chosen
            return chosen

    def release(self, cores: set[int]) -> None:
        """Give cores back to the pool."""
        with self._lock:
            self._busy -= cores


CPUS = CpuPool()


def _pin(pid: int, cores: set[int]) -> None:
    if cores and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(pid, cores)
        except OSError:  # the supervisor already died; its report says so
            pass


class _Watch:
    """One running job seen from the harness: output tail, wall clock, memory, the ending."""

    def __init__(
        self, proc: subprocess.Popen[bytes] | zygote.Forked, limits: Limits, mounts: tuple[Mount, ...] = ()
    ) -> None:
        self.proc = proc
        self.limits = limits
        self.mounts = mounts
        self.next_disk_poll = time.monotonic() + DISK_POLL_S
        now = time.monotonic()
        self.deadline = now + limits.wall_seconds
        self.next_poll = now + POLL_S
        self.chunks: collections.deque[bytes] = collections.deque()
        self.kept = 0  # bytes in chunks
        self.total = 0  # bytes ever written
        self.ending: Ending | None = None
        self.message = ""
        self.stopped_at = 0.0
        self.seen: list[psutil.Process] = []  # the job's processes at the last poll
        self.most_processes = 0

    def send(self, data: bytes) -> None:
        """Write to the supervisor's stdin; a supervisor that died early shows up in the report."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except OSError:
            pass

    def stop(self, ending: Ending, message: str) -> None:
        """Decide how the job ends and ask the supervisor to kill it (closing stdin says so)."""
        if self.ending is not None:
            return
        self.ending, self.message, self.stopped_at = ending, message, time.monotonic()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def pump(self, out_fd: int, ctl_fd: int) -> bytes:
        """Read output and watch limits until the supervisor reports; the report's bytes."""
        report = bytearray()
        out_open = True
        while True:
            self._check(time.monotonic())
            wake = min(self.next_poll, self.deadline) if self.ending is None else time.monotonic() + POLL_S
            ready, _, _ = select.select(
                [out_fd, ctl_fd] if out_open else [ctl_fd], [], [], max(0.0, wake - time.monotonic())
            )
            if out_fd in ready:
                out_open = self._read(out_fd)
            if ctl_fd in ready:
                data = os.read(ctl_fd, 65536)
                if not data:
                    break
                report += data
        end = time.monotonic() + DRAIN_S  # the job is gone; take what is still in the pipe
        while out_open and select.select([out_fd], [], [], max(0.0, end - time.monotonic()))[0]:
            out_open = self._read(out_fd)
        return bytes(report)

    def _read(self, fd: int) -> bool:
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        self.total += len(chunk)
        self.chunks.append(chunk)
        self.kept += len(chunk)
        # Drop whole chunks from the front: the harness holds at most cap + one chunk.
        while self.kept - len(self.chunks[0]) >= self.limits.output_bytes:
            self.kept -= len(self.chunks.popleft())
        cap = FLOOD_FACTOR * self.limits.output_bytes
        if self.total > cap:
            self.stop(Ending.output, f"killed: the job wrote more than {cap} bytes of output (10x the output cap)")
        return True

    def _check(self, now: float) -> None:
        if self.ending is None and now >= self.deadline:
            self.stop(Ending.timeout, f"killed at the wall-clock limit of {self.limits.wall_seconds:g} s")
        if now >= self.next_poll:
            self.next_poll = now + POLL_S
            if self.ending is None:
                self._check_memory()
        if self.ending is None and now >= self.next_disk_poll:
            self.next_disk_poll = now + DISK_POLL_S
            limit = self.limits.disk_mb * MIB
            used = writable_bytes(self.mounts, limit)
            if used > limit:
                self.stop(Ending.disk, disk_message(used, self.limits))
        if self.ending is not None and now - self.stopped_at > KILL_GRACE_S:
            self._force_kill()  # the supervisor did not sweep in time

    def _check_memory(self) -> None:
        try:
            self.seen = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return
        self.most_processes = max(self.most_processes, len(self.seen))
        rss = 0
        for proc in self.seen:
            try:
                rss += proc.memory_info().rss
            except psutil.Error:  # exited since the scan
                pass
        if rss > self.limits.memory_mb * MIB:
            self.stop(
                Ending.memory,
                f"killed: resident memory reached {rss // MIB} MB, over the limit of {self.limits.memory_mb} MB",
            )

    def _force_kill(self) -> None:
        for proc in self.seen:
            try:
                proc.kill()  # psutil checks the pid was not reused
            except psutil.Error:
                pass
        self.proc.kill()

    def close(self) -> None:
        """Make sure the supervisor (and so the job) is gone; idempotent."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()  # end of file = kill everything
            except OSError:
                pass
        try:
            self.proc.wait(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            self._force_kill()
            self.proc.wait()

    def tail(self) -> str:
        """The last ``output_bytes`` of the job's output, decoded leniently."""
        return b"".join(self.chunks)[-self.limits.output_bytes :].decode("utf-8", errors="replace")

    def result(self, raw: bytes, started: float) -> JobResult:
        """Combine the supervisor's report with what the harness saw."""
        duration = time.monotonic() - started
        try:
            report = marshal.loads(raw)
        except (ValueError, EOFError, TypeError):
            message = f"the sandbox supervisor failed (exit status {self.proc.returncode}); see the output tail"
            return JobResult(Ending.error, None, duration, self.tail(), message)
        status = report["status"]
        code = os.waitstatus_to_exitcode(status) if status is not None else None
        if self.ending is not None:
            ending, message = self.ending, self.message
        elif report["error"]:
            ending, message, code = Ending.error, report["error"], None
        else:
            ending, message = Ending.exited, _exit_message(code)
        leftovers = int(report["leftovers"])
        if leftovers:
            message += f"; {leftovers} leftover process(es) killed"
        if self.most_processes >= self.limits.pids:  # a fork bomb shows here, whatever ended it
            message += f"; the job reached its process limit (pids={self.limits.pids})"
        return JobResult(ending, code, duration, self.tail(), message, report["isolation"], leftovers_killed=leftovers)


def _exit_message(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exited with code {code}"
    name = signal.Signals(-code).name
    reason = _SIGNAL_REASONS.get(signal.Signals(-code))
    return f"killed by {name}" + (f" ({reason})" if reason else "")
