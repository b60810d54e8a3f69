"""A warm process for the local sandbox: it has imported the ML stack once and forks a supervisor per job.

Started by :mod:`graders.backends.zygote` with the grading runtime's interpreter
(``python -c``, this folder on ``sys.path`` only while the two modules below
are imported), in a private scratch folder and an environment equal to the
jobs' own except for their per-job folders. It imports its ``preload``
modules (e.g. ``numpy tensorflow keras``: imports only, no operation, so no
thread pool is running), listens on a unix socket in a folder only its user
may enter, and waits. Every request carries three file descriptors (the
job's plan pipe, its output pipe, its control pipe) and nothing else; the
zygote forks, answers with the child's pid and forgets the request. Nothing
of a job ever passes through the zygote's memory.

The forked child becomes exactly the supervisor a cold job gets
(:mod:`_supervisor`: own session, subreaper, network and mount namespaces,
masks and binds, then a job child with the rlimits, the job's uid,
``no_new_privs`` and cwd). Where a cold job would exec the interpreter, the
job child here puts back what a fresh interpreter would have -- the job's
environment (and nothing else), argv, ``sys.path[0]``, a fresh ``__main__``,
Python's start-up signal dispositions, new random seeds, the temp folder and
Keras's home read from that environment -- and runs the module as
``python -m`` does. Each job is a process of its own: what one job changes
(files, environment, modules, monkeypatches) dies with it and is never
seen by the zygote or by the next job forked from it.

The zygote stops by itself after ``idle`` seconds without a request, or as
soon as its socket is removed or replaced.
"""

from __future__ import annotations

import atexit
import importlib
import os
import select
import signal
import socket
import sys
import threading
import traceback
import types
from typing import Any

import _supervisor  # type: ignore[import-not-found,unused-ignore]

CONTROL_FD = 3  # where the forked supervisor finds its control pipe (the plan says so)
TICK_S = 5.0  # how often an idle zygote checks that its socket is still its own
# What the preload's imports did to the environment (TensorFlow sets a few variables when imported): a cold
# job's imports would do the same to its own, so every job gets these on top of its environment.
_SET_BY_IMPORTS: dict[str, str] = {}
_REMOVED_BY_IMPORTS: list[str] = []


def main(socket_path: str, preload: list[str], idle_s: float, ready_fd: int) -> None:
    """Import ``preload``, listen on ``socket_path``, say ``ready`` on ``ready_fd``, serve until idle."""
    try:
        before = dict(os.environ)
        for name in preload:
            importlib.import_module(name)
        _SET_BY_IMPORTS.update({k: v for k, v in os.environ.items() if before.get(k) != v})
        _REMOVED_BY_IMPORTS.extend(k for k in before if k not in os.environ)
        listener = _listen(socket_path)
    except BaseException as exc:  # the harness runs the job cold and logs why
        os.write(ready_fd, f"error: {type(exc).__name__}: {exc}\n".encode(errors="replace"))
        os._exit(1)
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    identity = os.stat(socket_path).st_ino
    signal.signal(signal.SIGCHLD, lambda *_: None)  # interrupts select(); children are reaped below
    idle_since = _monotonic()
    while True:
        _reap()
        ready, _, _ = select.select([listener], [], [], TICK_S)
        if not ready:
            if _monotonic() - idle_since >= idle_s or not _still_ours(socket_path, identity):
                break
            continue
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        with conn:
            if _serve(conn, listener):  # a connection that asks for nothing (a liveness check) is not a job
                idle_since = _monotonic()
    if _still_ours(socket_path, identity):
        os.unlink(socket_path)
    os._exit(0)


def _monotonic() -> float:
    import time

    return time.monotonic()


def _listen(path: str) -> socket.socket:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket is born 0600: only this user may connect
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(16)
    listener.set_inheritable(False)
    return listener


def _still_ours(path: str, identity: int) -> bool:
    try:
        return os.stat(path).st_ino == identity
    except OSError:
        return False


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _serve(conn: socket.socket, listener: socket.socket) -> bool:
    """One request: three fds in, a forked supervisor's pid out; whether it was one."""
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        peer_uid = int.from_bytes(creds[4:8], sys.byteorder)
        if peer_uid != os.getuid():
            return False
        conn.settimeout(10)
        _, fds, _, _ = socket.recv_fds(conn, 16, 3)
    except OSError:
        return False
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return False
    pid = os.fork()
    if pid == 0:
        _supervise(fds, conn, listener)
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall(f"{pid}\n".encode())
    except OSError:
        pass
    return True


def _supervise(fds: list[int], conn: socket.socket, listener: socket.socket) -> None:
    """In the forked child: become the job's supervisor, wired like a cold one. Never returns."""
    try:
        conn.close()
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        import fcntl

        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
        plan_r, out_w, ctl_w = high
        os.dup2(plan_r, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.dup2(ctl_w, CONTROL_FD, inheritable=False)
        os.closerange(CONTROL_FD + 1, _fd_ceiling())  # nothing else of the zygote's reaches the job
        _supervisor.main(launch=run_module)
    except BaseException:  # noqa: BLE001 -- the harness sees the missing report and says so
        traceback.print_exc()
    finally:
        os._exit(0)


def _fd_ceiling() -> int:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 65536


def run_module(config: dict[str, Any], err_w: int) -> None:
    """In the job's child (isolated, limited, its uid): ``python -m config["module"] argv[3:]``. Never returns."""
    # What a fresh interpreter starts with.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(config["env"])
    os.environ.update(_SET_BY_IMPORTS)
    for name in _REMOVED_BY_IMPORTS:
        os.environ.pop(name, None)
    sys.argv = ["-m", *config["argv"][3:]]  # runpy puts the module's file first, as -m does
    sys.path[0] = os.getcwd()
    _fresh_state()
    main_module = types.ModuleType("__main__")
    main_module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main_module
    os.close(err_w)  # started: from here on, a failure is the job's own exit status
    code = 0
    try:
        import runpy

        runpy._run_module_as_main(config["module"])  # type: ignore[attr-defined]
    except SystemExit as exc:
        code = _exit_status(exc)
    except BaseException:  # noqa: BLE001 -- as the interpreter does: the traceback, then status 1
        sys.excepthook(*sys.exc_info())
        code = 1
    code = _shutdown(code)
    os._exit(code)


def _fresh_state() -> None:
    """Module-level values the zygote's imports computed from its own environment, as this job's would be."""
    import random
    import tempfile

    tempfile.tempdir = None
    importlib.invalidate_caches()  # folders listed by the zygote's imports are read anew
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    config: Any = sys.modules.get("keras.src.backend.config")
    if config is not None and hasattr(config, "_KERAS_DIR"):
        if "KERAS_HOME" in os.environ:
            home = os.environ["KERAS_HOME"]
        else:
            base = os.path.expanduser("~")
            home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
        config._KERAS_DIR = home
        config._config_path = os.path.expanduser(os.path.join(home, "keras.json"))


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    try:
        print(exc.code, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def _shutdown(code: int) -> int:
    """Python's own end of run: wait for threads, atexit handlers, flush the standard streams."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
    except BaseException:  # noqa: BLE001
        pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 -- a closed pipe: nothing to flush to
            if stream is sys.stdout and code == 0:
                code = 120  # as the interpreter reports a failed final flush
    return code
