"""The ``docker`` sandbox backend: one fresh, locked-down container per job.

Each job runs in a new container of the grading image (see
:mod:`graders.backends.image`) with no network, a read-only root file system,
size-capped tmpfs for ``/tmp`` and the grader's home, the job's mounts as
bind mounts, a non-root user, no capabilities, no new privileges, memory
(without swap), CPU and process limits, and capped logs. The harness waits
up to the wall-clock limit, kills on timeout, tells an OOM kill apart, reads
only a bounded tail of the output and always removes the container.

The image's Python environment (the path its ``labgrade.env`` label names)
is served from a named volume populated once from the image and mounted
read-only into every job: on engines whose storage driver is slow to read
(fuse-overlayfs), importing TensorFlow's ten thousand files through a volume
costs seconds less per job. The volume is keyed by the image id, so it is
always the image's own files; without the label, jobs read the image as is.

Only the docker SDK talks to the engine; the docker CLI is never run.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import DeviceRequest, LogConfig, Ulimit
from docker.types import Mount as BindMount

from graders.backends.base import Ending, Job, JobResult, Limits, Mount, disk_message, running, writable_bytes
from graders.paths import SANDBOX_CACHE


def _harness_version() -> str:
    try:
        return str(getattr(importlib.import_module("graders"), "__version__", "0.1.0"))
    except ImportError:
        return "0.1.0"


DEFAULT_IMAGE = f"labgrade/grader:{_harness_version()}"
IMAGE_ENV_VAR = "LABGRADE_DOCKER_IMAGE"  # overrides DEFAULT_IMAGE when no image is passed
GRADER_USER = "1000:1000"  # uid:gid of the image's ``grader`` user
GRADER_HOME = "/home/grader"
VENV = "/opt/labgrade"  # the image's Python environment
JOB_LABEL = "labgrade"  # every job container carries labels {JOB_LABEL: "job"}
JOB_LABELS = {JOB_LABEL: "job"}
ENV_LABEL = "labgrade.env"  # image label: the path of the image's Python environment
ENV_MARKER = ".labgrade-env-complete"  # written into an environment volume once it is fully populated
BUILD_HINT = "run `labgrade sandbox build`"

_WAIT_AFTER_KILL_S = 30.0
_DISK_POLL_S = 1.0  # how often the writable mounts are measured while the job runs
_TMPFS_FLAGS = "rw,nosuid,nodev,noexec"


class SandboxUnavailable(RuntimeError):
    """The engine or the image is not there; the message says what to do."""


class DockerSandbox:
    """Runs each :class:`Job` in a fresh container of the grading image."""

    name = "docker"

    def __init__(self, image: str | None = None, *, client: docker.DockerClient | None = None) -> None:
        """Use ``image`` (default ``$LABGRADE_DOCKER_IMAGE`` or :data:`DEFAULT_IMAGE`)."""
        self.image = image or os.environ.get(IMAGE_ENV_VAR) or DEFAULT_IMAGE
        self._client = client

    def available(self) -> tuple[bool, str]:
        """Whether the engine answers and the grading image is present, and why not."""
        try:
            with self._engine() as client:
                image_id = self._image_id(client)
                version = client.version().get("Version", "?")
        except (SandboxUnavailable, DockerException, requests.RequestException) as exc:
            return False, _one_line(exc)
        return True, f"docker engine {version}, image {self.image} ({image_id[:19]})"

    def run(self, job: Job) -> JobResult:
        """Run ``job`` in a fresh container, kill it at the wall-clock limit, always remove it."""
        started = time.monotonic()
        isolation = _isolation(job)
        try:
            with self._engine() as client:
                image_id = self._image_id(client)
                _prepare_mounts(job.mounts)
                env = env_volume(client, image_id)
                isolation["environment"] = f"volume {env['Source']} (read-only)" if env is not None else "image"
                container = client.containers.create(**_container_options(client, job, image_id, env))
                try:
                    with running(lambda: _kill(container)):
                        return _supervise(container, job, image_id, isolation)
                finally:
                    _remove(container)
        except (SandboxUnavailable, DockerException, requests.RequestException, OSError) as exc:
            return JobResult(
                ending=Ending.error,
                exit_code=None,
                duration_s=time.monotonic() - started,
                message=f"docker backend could not run {job.name!r}: {_one_line(exc)}",
                isolation=isolation,
            )

    @contextmanager
    def _engine(self) -> Iterator[docker.DockerClient]:
        """The client given at construction, or a fresh one closed afterwards."""
        if self._client is not None:
            yield self._client
            return
        socket_path = _unix_socket()
        if socket_path and not os.path.exists(socket_path):
            raise SandboxUnavailable(f"Docker engine not reachable (no socket at {socket_path})")
        try:
            client = docker.from_env()
        except DockerException as exc:
            raise SandboxUnavailable(f"Docker engine not reachable ({_one_line(exc)})") from None
        try:
            _ping(client)
            yield client
        finally:
            client.close()

    def _image_id(self, client: docker.DockerClient) -> str:
        try:
            return str(client.images.get(self.image).id)
        except ImageNotFound:
            raise SandboxUnavailable(f"grading image {self.image} not found: {BUILD_HINT}") from None


def _container_options(
    client: docker.DockerClient, job: Job, image: str, env_mount: BindMount | None = None
) -> dict[str, Any]:
    """Everything ``containers.create`` gets: the isolation, in one place."""
    env = dict(job.env)
    options: dict[str, Any] = {}
    filesystems = _filesystems(job)
    if env_mount is not None:
        filesystems["mounts"].append(env_mount)
    if job.devices:  # exactly these host devices, renumbered from 0 inside the container
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(len(job.devices)))
        options["device_requests"] = [DeviceRequest(device_ids=list(job.devices), capabilities=[["gpu"]])]
    elif job.gpu:
        env.setdefault("CUDA_VISIBLE_DEVICES", "0")
        options["device_requests"] = [DeviceRequest(count=1, capabilities=[["gpu"]])]
    return {
        "image": image,
        "command": list(job.argv),
        "working_dir": job.cwd,
        "environment": env,
        "user": GRADER_USER,
        "name": _container_name(job.name),
        "labels": {**JOB_LABELS, f"{JOB_LABEL}.job": job.name},
        "hostname": "sandbox",
        "network_mode": "none",
        "read_only": True,
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
        "init": True,  # a real PID 1: reaps zombies, forwards the kill
        "detach": True,
        **filesystems,
        **_resources(job.limits, _engine_cpus(client)),
        **options,
    }


_env_lock = threading.Lock()
_env_ready: dict[str, BindMount] = {}  # volume name -> its job mount, for volumes checked complete by this process


def env_volume_name(image_id: str) -> str:
    """The environment volume of ``image_id`` (one per image, so never stale)."""
    return f"labgrade-env-{image_id.split(':')[-1][:16]}"


def env_volume(
    client: docker.DockerClient, image_id: str, say: Callable[[str], None] | None = None
) -> BindMount | None:
    """A read-only mount of the image's Python environment from its volume, populating it first if needed.

    None when the image names no environment (``labgrade.env`` label) or the
    volume cannot be made; jobs then read the image's own files.
    """
    name = env_volume_name(image_id)
    if name in _env_ready:  # every job after the first: no engine call
        return _env_ready[name]
    path = str((client.images.get(image_id).labels or {}).get(ENV_LABEL, ""))
    if not path.startswith("/"):
        return None
    mount = BindMount(target=path, source=name, type="volume", read_only=True)
    lock_dir = SANDBOX_CACHE
    lock_dir.mkdir(parents=True, exist_ok=True)
    with _env_lock, open(lock_dir / "env-volume.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one populator across processes too
        if name in _env_ready:
            return mount
        try:
            if _volume_complete(client, image_id, name, path):
                _env_ready[name] = mount
                return mount
            if say:
                say(f"environment volume {name}: copying {path} out of the image (once per image)")
            client.volumes.create(name, labels={JOB_LABEL: "env", f"{JOB_LABEL}.image": image_id})
            # An empty named volume is filled with the image's files at that path when first mounted.
            code = _run_helper(
                client,
                image_id,
                ["/bin/sh", "-c", f"touch {path}/{ENV_MARKER}"],
                BindMount(target=path, source=name, type="volume"),
                user="0:0",
            )
        except (DockerException, requests.RequestException):
            return None
        if code != 0:
            return None
        _env_ready[name] = mount
        return mount


def _volume_complete(client: docker.DockerClient, image_id: str, name: str, path: str) -> bool:
    """Whether volume ``name`` exists and was fully populated; an incomplete one is removed."""
    try:
        volume = client.volumes.get(name)
    except NotFound:
        return False
    check = _run_helper(
        client,
        image_id,
        ["/bin/sh", "-c", f"test -f {path}/{ENV_MARKER}"],
        BindMount(target=path, source=name, type="volume", read_only=True),
    )
    if check == 0:
        return True
    volume.remove(force=True)
    return False


def _run_helper(
    client: docker.DockerClient, image_id: str, argv: list[str], mount: BindMount, user: str = GRADER_USER
) -> int:
    """Run a short harness command (never student code) in the image with ``mount``; its exit code."""
    container = client.containers.create(
        image_id,
        argv,
        user=user,
        network_mode="none",
        mounts=[mount],
        labels={JOB_LABEL: "env"},
        name=_container_name("env"),
        detach=True,
    )
    try:
        container.start()
        return int(container.wait(timeout=600).get("StatusCode", 1))
    finally:
        _remove(container)


def drop_stale_env_volumes(client: docker.DockerClient, keep: str) -> list[str]:
    """Remove environment volumes of images other than ``keep`` (a rebuild replaced them); their names."""
    dropped = []
    for volume in client.volumes.list(filters={"label": f"{JOB_LABEL}=env"}):
        if volume.name != env_volume_name(keep):
            try:
                volume.remove()
                dropped.append(volume.name)
            except APIError:  # still mounted by a running job: left for the next rebuild
                pass
    for name in dropped:
        _env_ready.pop(name, None)
    return dropped


def _unix_socket() -> str | None:
    """The engine's unix socket path from ``$DOCKER_HOST`` (or the default), if it is one.

    Checked before connecting: the SDK leaks a socket when connecting to a missing path.
    """
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def _ping(client: docker.DockerClient) -> None:
    try:
        client.ping()
    except (DockerException, requests.RequestException) as exc:
        raise SandboxUnavailable(f"Docker engine not reachable ({_one_line(exc)})") from None


def _filesystems(job: Job) -> dict[str, Any]:
    """Read-only root plus size-capped tmpfs and the job's bind mounts."""
    size = f"size={job.limits.disk_mb}m"
    uid, gid = GRADER_USER.split(":")
    tmpfs = {
        "/tmp": f"{_TMPFS_FLAGS},{size},mode=1777",
        GRADER_HOME: f"{_TMPFS_FLAGS},{size},mode=0700,uid={uid},gid={gid}",
    }
    mounts = [
        BindMount(target=m.target, source=str(Path(m.source).resolve()), type="bind", read_only=m.read_only)
        for m in job.mounts
    ]
    return {"tmpfs": tmpfs, "mounts": mounts}


def _resources(limits: Limits, engine_cpus: int) -> dict[str, Any]:
    """Memory without swap, CPU share, processes, file size and capped logs."""
    file_bytes = limits.disk_mb * 2**20
    # json-file keeps at most two files of this size: the tail we read always fits.
    log_bytes = max(2 * limits.output_bytes, 64 * 1024)
    return {
        "mem_limit": f"{limits.memory_mb}m",
        "memswap_limit": f"{limits.memory_mb}m",
        "nano_cpus": int(min(limits.cpus, engine_cpus) * 1e9),
        "pids_limit": limits.pids,
        "ulimits": [Ulimit(name="fsize", soft=file_bytes, hard=file_bytes), Ulimit(name="core", soft=0, hard=0)],
        "log_config": LogConfig(type=LogConfig.types.JSON, config={"max-size": str(log_bytes), "max-file": "2"}),
    }


def _supervise(container: Container, job: Job, image_id: str, isolation: dict[str, str]) -> JobResult:
    """Start the container, wait up to the wall clock, kill if needed, and report."""
    container.start()
    started = time.monotonic()
    status, killed_for, disk_note = _wait(container, job, started)
    duration = time.monotonic() - started
    container.reload()
    oom = bool(container.attrs["State"].get("OOMKilled"))
    tail, total = _output_tail(container, job.limits.output_bytes)
    ending = killed_for or (Ending.memory if oom else Ending.exited)
    exit_code = status.get("StatusCode")
    return JobResult(
        ending=ending,
        exit_code=exit_code,
        duration_s=duration,
        output_tail=tail,
        message=disk_note or _message(ending, exit_code, job.limits, total),
        isolation=isolation,
        image=image_id,
    )


def _wait(container: Container, job: Job, started: float) -> tuple[dict[str, Any], Ending | None, str]:
    """Wait in slices up to the wall clock, watching the writable mounts' disk use between slices."""
    limit = job.limits.disk_mb * 1024 * 1024
    while True:
        left = job.limits.wall_seconds - (time.monotonic() - started)
        if left <= 0:
            break
        try:
            return container.wait(timeout=min(_DISK_POLL_S, left)), None, ""
        except requests.RequestException:  # the read timeout of one slice
            used = writable_bytes(job.mounts, limit)
            if used > limit and _kill(container):
                return container.wait(timeout=_WAIT_AFTER_KILL_S), Ending.disk, disk_message(used, job.limits)
    killed = _kill(container)
    return container.wait(timeout=_WAIT_AFTER_KILL_S), (Ending.timeout if killed else None), ""


def _kill(container: Container) -> bool:
    """SIGKILL the container; False when it had already ended on its own."""
    try:
        container.kill()
    except APIError as exc:
        if exc.status_code == 409:  # not running: it finished at the limit
            return False
        raise
    return True


def _output_tail(container: Container, limit: int) -> tuple[str, int]:
    """The last ``limit`` bytes of stdout+stderr, and how many bytes there were in the logs."""
    tail = bytearray()
    total = 0
    chunks: Iterator[bytes] = container.logs(stdout=True, stderr=True, stream=True, follow=False)
    for chunk in chunks:
        total += len(chunk)
        tail += chunk
        if len(tail) > limit:
            del tail[: len(tail) - limit]
    return tail.decode("utf-8", errors="replace"), total


def _message(ending: Ending, exit_code: int | None, limits: Limits, total: int) -> str:
    text = {
        Ending.exited: f"exited with code {exit_code}",
        Ending.timeout: f"killed at the {limits.wall_seconds:g}s wall-clock limit",
        Ending.memory: f"killed by the kernel: the {limits.memory_mb} MB memory limit was exceeded",
    }.get(ending, ending.value)
    if total > limits.output_bytes:
        text += f"; output capped: kept the last {limits.output_bytes} bytes"
    return text


def _remove(container: Container) -> None:
    """Remove the container whatever happened; a few tries if the engine is busy."""
    for attempt in range(3):
        try:
            container.remove(force=True, v=True)
            return
        except NotFound:
            return
        except (APIError, requests.RequestException):
            time.sleep(0.5 * (attempt + 1))


def _prepare_mounts(mounts: tuple[Mount, ...]) -> None:
    """Check every mount source exists; make read-write ones writable for the grader user."""
    for mount in mounts:
        source = Path(mount.source)
        if not source.exists():
            raise SandboxUnavailable(f"mount source does not exist: {source}")
        if not mount.read_only:
            _make_writable(source)


def _make_writable(root: Path) -> None:
    """Give the grader user (uid 1000) write access to ``root``: chown as root, else open the modes."""
    uid, gid = (int(part) for part in GRADER_USER.split(":"))
    if os.geteuid() == uid:
        return
    for path in _walk(root):
        if os.geteuid() == 0:
            os.lchown(path, uid, gid)
        elif not path.is_symlink():
            os.chmod(path, path.stat().st_mode | (0o777 if path.is_dir() else 0o666))


def _walk(root: Path) -> Iterator[Path]:
    yield root
    if root.is_dir() and not root.is_symlink():
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                yield Path(folder) / name


def _engine_cpus(client: docker.DockerClient) -> int:
    try:
        return int(client.info().get("NCPU") or os.cpu_count() or 1)
    except (DockerException, requests.RequestException):
        return os.cpu_count() or 1


def _isolation(job: Job) -> dict[str, str]:
    return {
        "backend": "docker",
        "network": "none",
        "user": GRADER_USER,
        "readonly_rootfs": "true",
        "cap_drop": "ALL",
        "no_new_privileges": "true",
        "gpu": ",".join(job.devices) if job.devices else ("true" if job.gpu else "false"),
        "memory_mb": str(job.limits.memory_mb),
        "pids": str(job.limits.pids),
    }


def _container_name(job_name: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", job_name).strip("-._")[:40] or "job"
    return f"labgrade-{slug}-{uuid.uuid4().hex[:8]}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "explanation", None) or exc).split())
    return text or type(exc).__name__
