"""The docker backend against the real engine and the real grading image.

The session fixture builds the image with :func:`build_image` when it is
missing (minutes, once; cached afterwards). Every job is a small Python
program that probes one wall of the sandbox.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from packaging.utils import canonicalize_name

from graders.backends import docker as docker_backend
from graders.backends import runtime_env
from graders.backends.base import Ending, Job, JobResult, Limits, Mount
from graders.backends.docker import (
    DEFAULT_IMAGE,
    ENV_MARKER,
    JOB_LABEL,
    DockerSandbox,
    _container_options,
    drop_stale_env_volumes,
    env_volume,
    env_volume_name,
)

pytestmark = pytest.mark.docker

SMALL = Limits(wall_seconds=60, memory_mb=512, cpus=1.0, pids=128, output_bytes=100_000, disk_mb=64)


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    """The real engine, or skip the module when none answers."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        if os.environ.get("LABGRADE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker engine not reachable but LABGRADE_REQUIRE_DOCKER=1: {exc}")
        pytest.skip(f"Docker engine not reachable: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox(engine: docker.DockerClient) -> DockerSandbox:
    """The backend on the default grading image, built here if missing."""
    from graders.backends.image import build_image

    build_image(tag=DEFAULT_IMAGE, progress=print)
    backend = DockerSandbox(DEFAULT_IMAGE)
    ok, why = backend.available()
    assert ok, why
    return backend


def python_job(code: str, *, limits: Limits = SMALL, mounts: tuple[Mount, ...] = (), name: str = "probe") -> Job:
    """A job running ``code`` with the image's Python, in /tmp."""
    return Job(name=name, argv=("python", "-c", textwrap.dedent(code)), mounts=mounts, cwd="/tmp", limits=limits)


def run_ok(sandbox: DockerSandbox, code: str, **kwargs: object) -> JobResult:
    """Run a probe that must exit 0, with its output in the failure message."""
    result = sandbox.run(python_job(code, **kwargs))  # type: ignore[arg-type]
    assert (result.ending, result.exit_code) == (Ending.exited, 0), result
    return result


def test_available_names_engine_and_image(sandbox: DockerSandbox) -> None:
    ok, why = sandbox.available()
    assert ok and sandbox.image in why


def test_missing_image_says_how_to_build(engine: docker.DockerClient) -> None:
    ok, why = DockerSandbox("labgrade/grader:no-such-version").available()
    assert not ok
    assert "labgrade sandbox build" in why and "\n" not in why


def test_unreachable_engine_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    backend = DockerSandbox()
    ok, why = backend.available()
    assert not ok and why.startswith("Docker engine not reachable") and "\n" not in why
    result = backend.run(python_job("print(1)"))
    assert result.ending is Ending.error and "Docker engine not reachable" in result.message


def test_network_is_none(sandbox: DockerSandbox) -> None:
    result = run_ok(
        sandbox,
        """
        import socket
        print("interfaces", [name for _, name in socket.if_nameindex()])
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=3)
            print("CONNECTED")
        except OSError as exc:
            print("blocked", exc.errno)
        """,
    )
    assert "blocked" in result.output_tail and "CONNECTED" not in result.output_tail
    assert "interfaces ['lo']" in result.output_tail
    assert result.isolation["network"] == "none"
    assert result.image.startswith("sha256:")


def test_root_filesystem_is_read_only(sandbox: DockerSandbox) -> None:
    result = run_ok(
        sandbox,
        """
        import errno
        for path in ("/usr/evil", "/etc/evil", "/opt/labgrade/evil"):
            try:
                open(path, "w")
                print("WROTE", path)
            except OSError as exc:
                print(path, errno.errorcode[exc.errno])
        """,
    )
    assert "WROTE" not in result.output_tail
    assert result.output_tail.count("EROFS") == 3
    assert result.isolation["readonly_rootfs"] == "true"


def test_environment_comes_read_only_from_the_images_own_volume(
    sandbox: DockerSandbox, engine: docker.DockerClient
) -> None:
    image_id = engine.images.get(sandbox.image).id
    result = run_ok(sandbox, "import os, sys; print('env', os.path.ismount('/opt/labgrade'), sys.prefix)")
    assert result.isolation["environment"] == f"volume {env_volume_name(image_id)} (read-only)"
    assert "env True /opt/labgrade" in result.output_tail


def _tiny_rootfs(folder: Path) -> Path:
    """A root filesystem of the host's sh and touch and their libraries, with a small /env to copy."""
    import shutil
    import subprocess
    import tarfile

    files = [Path(shutil.which("sh") or "/bin/sh").resolve(), Path(shutil.which("touch") or "/bin/touch").resolve()]
    for binary in list(files):
        libs = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
        files += [Path(word) for word in libs.split() if word.startswith("/")]
    tar = folder / "rootfs.tar"
    with tarfile.open(tar, "w") as out:
        for name in sorted({str(path).lstrip("/") for path in files}):
            out.add(Path("/", name).resolve(), arcname=name)
        out.add(files[0], arcname="bin/sh")
        out.add(files[1], arcname="bin/touch")
        (folder / "env").mkdir()
        (folder / "env" / "lib.txt").write_text("the environment\n", encoding="utf-8")
        out.add(folder / "env", arcname="env")
    return tar


@pytest.fixture()
def small_env_image(engine: docker.DockerClient, tmp_path: Path) -> Iterator[str]:
    """A tiny image whose labelled 'environment' is /env: populating its volume takes a moment."""
    tar = _tiny_rootfs(tmp_path)
    engine.api.import_image_from_file(
        str(tar), repository="labgrade/env-test", tag="tiny", changes=["LABEL labgrade.env=/env"]
    )
    image_id = engine.images.get("labgrade/env-test:tiny").id
    yield image_id
    for volume in engine.volumes.list(filters={"name": env_volume_name(image_id)}):
        volume.remove(force=True)
    engine.images.remove(image_id, force=True)


def test_an_incomplete_environment_volume_is_filled_again(small_env_image: str, engine: docker.DockerClient) -> None:
    name = env_volume_name(small_env_image)
    mount = docker.types.Mount(target="/env", source=name, type="volume", read_only=True)
    marker = f"test -f /env/{ENV_MARKER}"
    engine.volumes.create(name, labels={JOB_LABEL: "env"})  # as if a population had been cut off: no marker
    assert docker_backend._run_helper(engine, small_env_image, ["/bin/sh", "-c", marker], mount) != 0
    assert env_volume(engine, small_env_image) == {**mount, "ReadOnly": True}
    assert (
        docker_backend._run_helper(
            engine, small_env_image, ["/bin/sh", "-c", f"{marker} && test -f /env/lib.txt"], mount
        )
        == 0
    )
    assert name in docker_backend._env_ready


def test_a_rebuild_drops_the_environment_volumes_of_earlier_images(
    sandbox: DockerSandbox, engine: docker.DockerClient
) -> None:
    image_id = engine.images.get(sandbox.image).id
    stale = engine.volumes.create("labgrade-env-0000000000000000", labels={JOB_LABEL: "env"})
    try:
        dropped = drop_stale_env_volumes(engine, keep=image_id)
        assert stale.name in dropped and env_volume_name(image_id) not in dropped
        assert env_volume_name(image_id) in [v.name for v in engine.volumes.list()]
    finally:
        if stale.name in [v.name for v in engine.volumes.list()]:
            stale.remove(force=True)


def test_tmp_and_home_are_writable_tmpfs(sandbox: DockerSandbox) -> None:
    result = run_ok(
        sandbox,
        """
        import os
        for folder in ("/tmp", os.environ["HOME"]):
            with open(os.path.join(folder, "scratch"), "w") as fh:
                fh.write("x" * 1000)
        mounts = open("/proc/mounts").read().splitlines()
        print([m.split()[1] for m in mounts if m.split()[2] == "tmpfs"])
        """,
    )
    assert "'/tmp'" in result.output_tail and "'/home/grader'" in result.output_tail


def test_tmpfs_size_is_capped(sandbox: DockerSandbox) -> None:
    result = run_ok(
        sandbox,
        """
        import errno
        try:
            with open("/tmp/big", "wb") as fh:
                for _ in range(200):
                    fh.write(b"x" * 2**20)
            print("WROTE 200 MiB")
        except OSError as exc:
            print("stopped", errno.errorcode[exc.errno])
        """,
    )
    assert "stopped" in result.output_tail and "WROTE" not in result.output_tail


def test_runs_as_non_root_without_privileges(sandbox: DockerSandbox) -> None:
    result = run_ok(
        sandbox,
        """
        import os
        status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
        print("ids", os.getuid(), os.getgid())
        print("caps", status["CapEff"].strip(), "nnp", status["NoNewPrivs"].strip())
        """,
    )
    assert "ids 1000 1000" in result.output_tail
    assert "caps 0000000000000000 nnp 1" in result.output_tail
    assert result.isolation["user"] == "1000:1000"


def test_mounts_read_only_and_read_write(sandbox: DockerSandbox, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b\n1,2\n")
    (tmp_path / "work").mkdir()
    mounts = (Mount(tmp_path / "data", "/data", read_only=True), Mount(tmp_path / "work", "/work", read_only=False))
    result = run_ok(
        sandbox,
        """
        print("read", open("/data/train.csv").read().splitlines()[1])
        open("/work/artifact.json", "w").write("{}")
        try:
            open("/data/evil", "w")
            print("WROTE /data")
        except OSError as exc:
            print("data is", exc.strerror)
        """,
        mounts=mounts,
    )
    assert "read 1,2" in result.output_tail and "data is Read-only file system" in result.output_tail
    assert (tmp_path / "work" / "artifact.json").read_text() == "{}"
    assert not (tmp_path / "data" / "evil").exists()


def test_memory_limit_ends_as_memory(sandbox: DockerSandbox) -> None:
    limits = Limits(wall_seconds=60, memory_mb=128, cpus=1.0, pids=64, output_bytes=10_000, disk_mb=16)
    code = """
        hoard = []
        while True:
            hoard.append(bytearray(16 * 2**20))
        """
    result = sandbox.run(python_job(code, limits=limits, name="oom"))
    assert result.ending is Ending.memory, result
    assert "128 MB" in result.message


def test_infinite_loop_is_killed_and_removed(sandbox: DockerSandbox, engine: docker.DockerClient) -> None:
    limits = Limits(wall_seconds=3, memory_mb=256, cpus=1.0, pids=64, output_bytes=10_000, disk_mb=16)
    result = sandbox.run(python_job("while True: pass", limits=limits, name="infinite-loop"))
    assert result.ending is Ending.timeout, result
    assert 3 <= result.duration_s < 20
    assert engine.containers.list(all=True, filters={"label": f"{JOB_LABEL}.job=infinite-loop"}) == []


def test_pids_limit_stops_a_fork_bomb(sandbox: DockerSandbox) -> None:
    limits = Limits(wall_seconds=60, memory_mb=512, cpus=1.0, pids=48, output_bytes=10_000, disk_mb=16)
    code = """
        import os, time
        born = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                born += 1
        except OSError as exc:
            print("fork refused after", born, exc.strerror)
        """
    result = run_ok(sandbox, code, limits=limits)
    assert "fork refused after" in result.output_tail
    born = int(result.output_tail.split("after")[1].split()[0])
    assert born < 48
    assert result.duration_s < 30  # the leftover children die with the container


def test_output_flood_keeps_a_bounded_tail(sandbox: DockerSandbox) -> None:
    limits = Limits(wall_seconds=60, memory_mb=256, cpus=1.0, pids=64, output_bytes=10_000, disk_mb=16)
    code = """
        import sys
        line = "spam " * 200 + "\\n"
        for _ in range(20_000):
            sys.stdout.write(line)
        print("THE END")
        """
    result = run_ok(sandbox, code, limits=limits)
    assert len(result.output_tail.encode()) <= 10_000
    assert result.output_tail.rstrip().endswith("THE END")
    assert "output capped" in result.message


def test_image_has_the_runtime_at_the_lock_versions(sandbox: DockerSandbox) -> None:
    """The image holds exactly the grading runtime's lock, as the local backend's environment does."""
    result = run_ok(
        sandbox,
        """
        import json, importlib.metadata as m
        # listed before the imports below: pkg_resources (which one of them loads) adds setuptools' vendored
        # packages to sys.path
        print("versions", json.dumps({d.metadata["Name"]: d.version for d in m.distributions()}))
        import tensorflow, keras, nbclient, ipykernel, tf_keras, mlxtend
        """,
        limits=Limits(wall_seconds=120, memory_mb=2048, cpus=1.0, pids=256, output_bytes=100_000, disk_mb=64),
    )
    line = next(ln for ln in result.output_tail.splitlines() if ln.startswith("versions "))
    have = {canonicalize_name(name): version for name, version in json.loads(line.removeprefix("versions ")).items()}
    have.pop("pip", None)
    assert have == runtime_env.pins()


def test_gpu_job_requests_a_device(sandbox: DockerSandbox, engine: docker.DockerClient) -> None:
    job = Job(name="gpu", argv=("true",), mounts=(), cwd="/tmp", gpu=True)
    options = _container_options(engine, job, sandbox.image)
    (request,) = options["device_requests"]
    assert request["Count"] == 1 and request["Capabilities"] == [["gpu"]]
    assert options["environment"]["CUDA_VISIBLE_DEVICES"] == "0"
    if not os.path.exists("/dev/nvidia0"):  # this host has no GPU: a clean error, nothing left behind
        result = sandbox.run(job)
        assert result.ending is Ending.error and result.isolation["gpu"] == "true"
        assert "\n" not in result.message


def test_no_job_container_left_behind(sandbox: DockerSandbox, engine: docker.DockerClient) -> None:
    assert engine.containers.list(all=True, filters={"label": f"{JOB_LABEL}=job"}) == []
