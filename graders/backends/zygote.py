"""Warm starts for the local sandbox: a zygote per (interpreter, environment, preload) that forks each job's supervisor.

A job ``<runtime python> -m <module> ...`` whose module the backend serves warm
(the trusted evaluator, by default) does not pay for a fresh interpreter and
its imports of TensorFlow and Keras: the harness asks a warm process
(:mod:`graders.backends._zygote`) of that interpreter, which has imported them
once and run no operation, to fork the job's supervisor. The forked supervisor
isolates itself and its job child exactly as a cold one does (see
:mod:`graders.backends.local`); the job child then runs the module in place of
exec'ing the interpreter.

One zygote serves every job with the same interpreter, the same environment
in sandbox terms (so the same ``TF_*``/``KERAS_*``/``CUDA_*`` variables at
import time), the same mount targets and the same preload list; its key also
covers the source of the code it runs, so an edited harness never talks to an
old zygote. It lives in the harness user's cache (``<cache>/warm``, mode 0700,
the socket 0600, the peer's uid checked), is started on first use (the first
job waits for its imports, as a cold job would), is shared by the commands
that follow, and stops by itself after ``LABGRADE_WARM_IDLE_S`` seconds
(default 600) without a job. ``LABGRADE_WARM=0`` turns warm starts off.

Warm starts are used only when jobs drop to a uid of their own (a root harness):
a job running as the harness's own user could otherwise reach the socket.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from graders.backends.base import Job, Mount

WARM_ENV = "LABGRADE_WARM"  # "0": every job starts cold
IDLE_ENV = "LABGRADE_WARM_IDLE_S"  # a zygote with no job for this long stops
IDLE_S = 600.0
START_TIMEOUT_S = 300.0  # importing TensorFlow on a loaded host
MAX_LIVE = 4  # warm processes of this user at once (each holds an imported TensorFlow); the least used stops
CONTROL_FD = 3  # the control pipe's number in a forked supervisor (as in _zygote)
EVALUATOR = "labgrade_runtime.evaluator"
# What the evaluator's zygote imports: the stack every evaluation loads (tf_keras, ~0.2 s more, stays lazy:
# the generation is the model's, known only inside the job).
DEFAULT_WARM: dict[str, tuple[str, ...]] = {EVALUATOR: ("numpy", "tensorflow", "keras")}
_HERE = Path(__file__).resolve().parent
_FAILED: dict[str, str] = {}  # key -> why its warm process could not start (not tried again by this process)
_SOURCES = ("_zygote.py", "_supervisor.py", "_posix.py")
_BOOT = (
    "import sys; sys.path.insert(0, {here!r}); import _zygote; del sys.path[0]; "
    "_zygote.main({socket!r}, {preload!r}, {idle!r}, {ready})"
)


def enabled() -> bool:
    """Whether warm starts are allowed ($LABGRADE_WARM is not 0)."""
    return os.environ.get(WARM_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def warm_module(job: Job, interpreter: str, modules: dict[str, tuple[str, ...]]) -> str | None:
    """The module a ``python -m`` job of ``interpreter`` runs, if it is one served warm."""
    argv = job.argv
    if len(argv) < 3 or argv[1] != "-m" or argv[2] not in modules or job.gpu or job.devices:
        return None
    return argv[2] if os.path.realpath(argv[0]) == os.path.realpath(interpreter) else None


def warm_dir() -> Path:
    """Where zygotes keep their sockets, logs and scratch folders: the harness user's own."""
    from graders.paths import CACHE_DIR

    folder = CACHE_DIR / "warm"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.chmod(folder, 0o700)  # raises if the folder is someone else's
    return folder


def _identity(interpreter: str) -> str:
    """The interpreter as an environment: its path as given (every virtualenv's ``python`` resolves to the same
    base interpreter) and the identity of the environment's files, so a virtualenv deleted and built again at the
    same path never meets the zygote of the old one (whose imports would read files that are gone)."""
    path = os.path.abspath(interpreter)
    prefix = Path(path).parent.parent
    marker = prefix / "pyvenv.cfg" if (prefix / "pyvenv.cfg").exists() else Path(os.path.realpath(path))
    info = marker.stat()
    return f"{path}:{info.st_dev}:{info.st_ino}:{info.st_mtime_ns}"


def key(interpreter: str, job: Job, preload: tuple[str, ...]) -> str:
    """What a zygote must share with a job to serve it."""
    sources = b"".join((_HERE / name).read_bytes() for name in _SOURCES)
    text = json.dumps(
        {
            "python": _identity(interpreter),
            "env": sorted(job.env.items()),
            "targets": sorted(m.target for m in job.mounts),
            "preload": list(preload),
            "uid": os.getuid(),
            "code": hashlib.sha256(sources).hexdigest(),
        }
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Forked:
    """A supervisor forked by a zygote, seen like the ``Popen`` of a cold one (not our child: a pidfd)."""

    def __init__(self, pid: int, stdin: IO[bytes]) -> None:
        self.pid = pid
        self.stdin = stdin
        self.returncode: int | None = None
        self._pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"supervisor {self.pid}", timeout or 0.0)
            self._ended()
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _ended(self) -> None:
        self.returncode = 0  # the zygote reaps it: its status is not ours to read (the report says how it went)
        os.close(self._pidfd)


def fork(job: Job, interpreter: str, preload: tuple[str, ...], env: dict[str, str], fds: tuple[int, int, int]) -> int:
    """Ask the zygote for ``job`` (started if none runs) to fork a supervisor on ``fds``; its pid.

    ``env`` is the environment the zygote starts with. Raises OSError when no zygote can serve (the caller
    starts the job cold)."""
    folder = warm_dir()
    name = key(interpreter, job, preload)
    if name in _FAILED:
        raise OSError(_FAILED[name])
    path = folder / f"{name}.sock"
    if len(os.fsencode(path)) > 100:
        raise OSError(f"the warm socket's path is too long for a unix socket: {path}")
    used = folder / f"{name}.lock"  # its modification time: when this warm process last served
    try:
        pid = _request(path, fds)
    except OSError:
        with open(used, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one start at a time; the others wait and use it
            try:
                pid = _request(path, fds)
            except OSError:
                _make_room(folder, path)
                try:
                    _start(folder, name, path, interpreter, preload, env)
                except OSError as exc:
                    _FAILED[name] = str(exc)
                    raise
                pid = _request(path, fds)
    os.utime(used)
    return pid


def _make_room(folder: Path, path: Path) -> None:
    """Stop the least recently used warm processes beyond MAX_LIVE - 1 (removing its socket stops it; the jobs
    it forked run on)."""
    live = [s for s in folder.glob("*.sock") if s != path and _alive(s)]

    def last_used(sock: Path) -> float:
        try:
            return sock.with_suffix(".lock").stat().st_mtime
        except OSError:
            return 0.0

    for sock in sorted(live, key=last_used)[: max(0, len(live) - (MAX_LIVE - 1))]:
        sock.unlink(missing_ok=True)


def _alive(path: Path) -> bool:
    """Whether a warm process listens on ``path`` (a socket left by one that was killed is removed)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(os.fspath(path))
        except ConnectionRefusedError:
            path.unlink(missing_ok=True)
            return False
        except OSError:
            return False
    return True


def _request(path: Path, fds: tuple[int, int, int]) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(os.fspath(path))
        socket.send_fds(conn, [b"f"], list(fds))
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = conn.recv(64)
            if not chunk:
                raise OSError("the warm process closed the connection without forking")
            answer += chunk
    return int(answer)


def _start(
    folder: Path, name: str, path: Path, interpreter: str, preload: tuple[str, ...], env: dict[str, str]
) -> None:
    """Start a zygote (detached: it outlives this command) and wait until it listens."""
    scratch = folder / name
    scratch.mkdir(mode=0o700, exist_ok=True)
    idle = float(os.environ.get(IDLE_ENV) or IDLE_S)
    ready_r, ready_w = os.pipe()
    boot = _BOOT.format(here=str(_HERE), socket=os.fspath(path), preload=list(preload), idle=idle, ready=ready_w)
    # A tiny parent that forks the zygote off and exits: the zygote is nobody's child, in a session of its own.
    launcher = (
        f"import os, sys\nif os.fork():\n    os._exit(0)\nos.setsid()\nexec(compile({boot!r}, '<zygote>', 'exec'))\n"
    )
    with open(folder / f"{name}.log", "ab") as log:
        try:
            proc = subprocess.Popen(
                [interpreter, "-c", launcher],
                env=env,
                cwd=scratch,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(ready_w,),
                start_new_session=True,
            )
        finally:
            os.close(ready_w)
    try:
        proc.wait(timeout=30)
        answer = _read_line(ready_r, START_TIMEOUT_S)
    finally:
        os.close(ready_r)
    if answer != "ready":
        raise OSError(f"the warm process did not start: {answer or 'no answer'} (see {folder / (name + '.log')})")


def _read_line(fd: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return data.decode(errors="replace").strip()
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def scratch(job: Job, interpreter: str, preload: tuple[str, ...]) -> tuple[Path, tuple[Mount, ...]]:
    """The zygote's own home and the job's mounts with each source replaced by an empty folder of the
    zygote's (what its environment's paths point to: nothing of any job's)."""
    base = warm_dir() / key(interpreter, job, preload)
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    mounts = []
    for i, mount in enumerate(job.mounts):
        folder = base / "mounts" / str(i)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        mounts.append(Mount(folder, mount.target, mount.read_only))
    return home, tuple(mounts)


def describe(preload: tuple[str, ...], pid: int) -> str:
    """The isolation note for a warm start."""
    return f"forked from a warm process that had imported {', '.join(preload)} (supervisor pid {pid})"
