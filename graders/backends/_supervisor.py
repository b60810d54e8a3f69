"""The local sandbox's supervisor: one small process between the harness and a job.

Started by :class:`graders.backends.local.LocalSandbox` as ``python -I -S``
with this folder on ``sys.path`` (standard library only, no package
import: it is on every job's critical path). Protocol:

* stdin: the job's plan (4-byte big-endian length, then ``marshal`` data:
  both ends are the same interpreter, and json's imports would cost 15 ms
  of every job's start), then ``k`` -- or end of file --
  to ask for everything to be killed (so a dying harness kills its jobs too);
* stdout/stderr: shared with the job; the harness reads them;
* ``control_fd``: at the end, one marshalled dict -- the job's wait status, a
  start error, how many leftover processes were killed, isolation notes.

It makes itself a child subreaper, so a job's daemons (double fork,
``setsid``) re-parent to it instead of to init, and nothing escapes the
final sweep; it enters new network (and mount) namespaces before forking
the job, so the job inherits them.
"""

from __future__ import annotations

import marshal
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

if __package__:
    from graders.backends import _posix
else:  # started by the harness as a top-level module: the package's imports cost ~30 ms
    import _posix  # type: ignore[import-not-found,no-redef,unused-ignore]

KILL_DEADLINE_S = 10.0  # a process stuck in uninterruptible sleep is given up on after this


def main(launch: Callable[[dict[str, Any], int], None] | None = None) -> None:
    """Read the plan, isolate, run the job, sweep, report on the control fd.

    ``launch`` (given by a warm process, :mod:`_zygote`) runs a ``python -m`` job in the forked child itself
    instead of exec'ing the interpreter, once every isolation step below has been applied to that child."""
    config, pending = _read_config()
    control = int(config["control_fd"])
    os.set_inheritable(control, False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    report: dict[str, Any] = {"isolation": _isolate(config)}
    supervisor = _Supervisor(config, launch)
    try:
        report.update(supervisor.run(pending))
    finally:
        supervisor.kill_all()  # whatever went wrong here, no job process outlives us
        _remove(config["scratch"])
    data = marshal.dumps(report)
    while data:
        data = data[os.write(control, data) :]


def _remove(scratch: str) -> None:
    """Delete the job's temp dir now that nothing of the job runs (the harness may be gone)."""
    import shutil  # here, not at the top: ~3 ms off every job's start

    shutil.rmtree(scratch, ignore_errors=True)  # fd-based: does not follow the job's symlinks


def _read_config() -> tuple[dict[str, Any], bytes]:
    buffer = b""
    while len(buffer) < 4 or len(buffer) < 4 + int.from_bytes(buffer[:4], "big"):
        chunk = os.read(0, 65536)
        if not chunk:  # the harness went away before sending a job
            sys.exit(2)
        buffer += chunk
    end = 4 + int.from_bytes(buffer[:4], "big")
    return marshal.loads(buffer[4:end]), buffer[end:]


def _attempt(step: Any, *args: Any) -> str:
    """Run one isolation step; '' on success, else why it failed."""
    try:
        step(*args)
    except OSError as exc:
        return str(exc)
    return ""


def _isolate(config: dict[str, Any]) -> dict[str, str]:
    """Subreaper, namespaces, loopback, private mounts; a note for each."""
    notes: dict[str, str] = {}
    failed = _attempt(_posix.prctl, _posix.PR_SET_CHILD_SUBREAPER, 1)
    notes["processes"] = (
        "own session; descendants swept by a subreaper" if not failed else f"own session only ({failed})"
    )
    net_error, mnt_error = _new_namespaces(config)
    if net_error:
        notes["network"] = f"none (no network namespace: {net_error}; the job has the host's network)"
    else:
        lo_error = _attempt(_posix.loopback_up)
        notes["network"] = "namespace" if not lo_error else f"namespace (loopback down: {lo_error})"
    notes["filesystem"] = _private_mounts(config, mnt_error)
    return notes


def _new_namespaces(config: dict[str, Any]) -> tuple[str, str]:
    """Enter new network and mount namespaces; why each failed ('' if it did not)."""
    everything = _posix.CLONE_NEWUSER | _posix.CLONE_NEWNET | _posix.CLONE_NEWNS
    if os.geteuid() != 0:  # an unprivileged user may get both inside a user namespace of its own
        error = _attempt(_posix.unshare, everything) or _attempt(
            _posix.write_id_maps, os.getpid(), [(os.getuid(), os.getgid())], True
        )
        return error, error
    net_error = _attempt(_posix.unshare, _posix.CLONE_NEWNET)
    if not net_error:
        return "", _attempt(_posix.unshare, _posix.CLONE_NEWNS)
    # Root without CAP_SYS_ADMIN (e.g. in a container) may still own a user namespace,
    # mapping root and the job's uid onto themselves so the uid drop still works.
    ids = [(0, 0)] + ([(config["uid"], config["gid"])] if config["uid"] is not None else [])
    error = _attempt(_posix.unshare_user, everything, ids)
    return (f"{net_error}; in a user namespace: {error}", error) if error else ("", "")


def _private_mounts(config: dict[str, Any], mnt_error: str) -> str:
    """Mask untraversable directories and bind each mount source with its read-only flag."""
    host_view = "host filesystem visible; sandbox paths translated to host paths"
    if mnt_error:
        return f"{host_view}; read_only not enforced (no mount namespace: {mnt_error})"
    try:
        # Private first, or the mounts below would propagate to the host.
        _posix.mount(None, "/", None, _posix.MS_REC | _posix.MS_PRIVATE)
        for directory, keep in config["masks"].items():
            _posix.mask(directory, keep)
        for path, read_only in config["binds"]:
            _posix.bind(path, path, read_only)
    except OSError as exc:
        return f"{host_view}; read_only may not be enforced ({exc})"
    hidden = f"; hidden: {', '.join(sorted(config['masks']))}" if config["masks"] else ""
    return f"{host_view}; read_only mounts bound read-only{hidden}"


class _Supervisor:
    """Runs the job, reaps everything that re-parents to us, sweeps at the end."""

    def __init__(self, config: dict[str, Any], launch: Callable[[dict[str, Any], int], None] | None = None) -> None:
        self.config = config
        self.launch = launch
        self.job_pid = 0
        self.job_status: int | None = None
        self.killed: set[int] = set()
        self.terminate = False
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        # SIGCHLD and SIGTERM only write to the wakeup pipe; select() sees them.
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_term)

    def _on_term(self, *_: Any) -> None:
        self.terminate = True

    def run(self, pending: bytes) -> dict[str, Any]:
        """Start the job, wait for its main process, kill whatever it left behind."""
        self.job_pid, error = _spawn(self.config, self.launch)
        if not error:
            self._wait(stop_now=b"k" in pending)
        self.kill_all()
        return {"status": self.job_status, "error": error, "leftovers": len(self.killed - {self.job_pid})}

    def _wait(self, stop_now: bool) -> None:
        listening = True
        if stop_now:
            listening = False
            self.kill_all()
        while self.job_status is None:
            ready, _, _ = select.select([self.wake_r, 0] if listening else [self.wake_r], [], [])
            if 0 in ready:
                data = os.read(0, 4096)
                if not data or b"k" in data:  # asked to stop, or the harness is gone
                    listening = False
                    self.kill_all()
            if self.wake_r in ready:
                os.read(self.wake_r, 4096)
            if self.terminate:
                self.kill_all()
            self._reap()

    def _reap(self) -> None:
        # Orphans re-parent to us: reap them at once (zombies still count for RLIMIT_NPROC).
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.job_pid:
                self.job_status = status

    def kill_all(self) -> None:
        """SIGKILL every live descendant until none is left (forks mid-sweep are caught next round)."""
        deadline = time.monotonic() + KILL_DEADLINE_S
        while time.monotonic() < deadline:
            live = [pid for pid, state in _posix.descendants(os.getpid()) if state not in ("Z", "X")]
            for pid in live:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.killed.update(live)
            self._reap()
            if not live:
                return
            time.sleep(0.001)


def _spawn(config: dict[str, Any], launch: Callable[[dict[str, Any], int], None] | None = None) -> tuple[int, str]:
    """Fork the job; (pid, '') once it exec'd (or ``launch`` took over), or (pid, why it could not start)."""
    err_r, err_w = os.pipe()  # close-on-exec: EOF without data means exec succeeded
    pid = os.fork()
    if pid == 0:
        os.close(err_r)
        _exec_job(config, err_w, launch)
    os.close(err_w)
    chunks = []
    while chunk := os.read(err_r, 4096):
        chunks.append(chunk)
    os.close(err_r)
    return pid, b"".join(chunks).decode(errors="replace")


def _exec_job(config: dict[str, Any], err_w: int, launch: Callable[[dict[str, Any], int], None] | None = None) -> None:
    """In the forked child: session, limits, user, no_new_privs, cwd, exec (or ``launch``). Never returns."""
    step = "prepare"
    try:
        signal.set_wakeup_fd(-1)
        # Ignored signals survive exec: give the job the defaults (Python ignores SIGPIPE/SIGXFSZ).
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(signum, signal.SIG_DFL)
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        step = "limits"
        _apply_limits(config["rlimits"])
        if config["uid"] is not None:
            step = f"switch to uid {config['uid']}"
            os.setgroups([])
            os.setgid(config["gid"])
            os.setuid(config["uid"])
        step = "no_new_privs"
        _posix.prctl(_posix.PR_SET_NO_NEW_PRIVS, 1)  # setuid binaries cannot raise privileges again
        step = f"cwd {config['cwd']}"
        os.chdir(config["cwd"])
        if launch is not None and config.get("module"):
            step = f"start {config['module']} in a process forked from a warm one"
            launch(config, err_w)  # closes err_w once started; never returns
        step = f"exec {config['argv'][0]}"
        os.execvpe(config["argv"][0], config["argv"], config["env"])
    except BaseException as exc:  # report anything: the harness turns it into Ending.error
        os.write(err_w, f"cannot start the job ({step}): {exc}".encode(errors="replace"))
    finally:
        os._exit(127)


def _apply_limits(limits: list[tuple[str, int, int]]) -> None:
    for name, soft, hard in limits:
        which = getattr(resource, name)
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY and os.geteuid() != 0:
            hard = min(hard, current_hard)  # unprivileged: may only lower
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
