"""Build the grading image locally, without any container registry.

The image is a minimal Debian root filesystem made by ``debootstrap``, with a
virtualenv at ``/opt/labgrade`` holding exactly the grading runtime's lock
(``sandbox/lock/runtime.lock``, every file checked against its hash: the
packages the local backend's environment holds too, see
:mod:`graders.backends.runtime_env`), and a non-root ``grader`` user (uid
1000). The root filesystem is packed as a tarball and imported into the
engine with the docker SDK (``images/create?fromSrc=-``): one layer, nothing
pulled.

Every stage is cached under ``graders.paths.SANDBOX_CACHE``, keyed by what it was
made from, so a rebuild only redoes what changed:

1. ``base-<key>/``    debootstrap of bookworm (minbase + python3 + venv)
2. ``wheels/``        ``pip download --require-hashes`` of the lock
3. ``rootfs-<key>/``  base + venv + wheels installed + grader user, slimmed
4. the image          tar of (3) imported with USER/ENV/WORKDIR changes

Needs root (debootstrap and chroot) and ``debootstrap`` on the host
(``sandbox/install-host-deps.sh``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import docker
import requests
from docker.errors import DockerException, ImageNotFound

from graders.backends.docker import (
    DEFAULT_IMAGE,
    ENV_LABEL,
    GRADER_HOME,
    GRADER_USER,
    VENV,
    drop_stale_env_volumes,
    env_volume,
)
from graders.backends.runtime_env import lock_digest, lock_path, pins
from graders.paths import SANDBOX_CACHE

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# python3 is bookworm's 3.11, the Python of the Colab generation the lock follows;
# libgomp1 is the OpenMP runtime some wheels expect from the system.
DEBIAN_PACKAGES = ("python3", "python3-venv", "ca-certificates", "libgomp1")
IMAGE_PYTHON = (3, 11)  # bookworm's python3: the host downloads the wheels for it, so it must match

LOCK_FILE = "runtime.lock"  # the lock's name in the wheelhouse

# Bumped when the image's make-up changes beyond its package pins (labels, layout): forces a rebuild.
IMAGE_RECIPE = "3"

IMAGE_ENV = {
    "PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": GRADER_HOME,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",  # the root filesystem is read-only
    "PYTHONUNBUFFERED": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
}

# Test suites shipped inside wheels: never imported at grading time.
_TEST_DIRS = ("numpy", "pandas", "scipy", "sklearn", "matplotlib", "h5py", "PIL")
# Not needed to run anything: TensorFlow's C++ headers (for building custom ops).
_SITE_DROP = ("tensorflow/include",)
# Directories emptied in the root filesystem (docs, locales, apt state).
_SLIM_DIRS = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/python-wheels",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
)
_CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}

Progress = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """The grading image could not be built; the message says why in one line."""


def build_image(
    *,
    tag: str = DEFAULT_IMAGE,
    progress: Progress | None = None,
    rebuild: bool = False,
    cache_dir: Path | None = None,
) -> str:
    """Build (or find) the grading image ``tag`` locally and return its image id.

    An existing image is returned as is unless ``rebuild``; a rebuild reuses
    cached stages whose inputs did not change. Raises :class:`ImageBuildError`.
    """
    say = progress or (lambda _msg: None)
    client = _client()
    try:
        existing = None if rebuild else _image_id(client, tag)
        wanted = _recipe_digest(runtime_requirements())
        if existing and _requirements_label(client, tag) == wanted:
            say(f"image {tag} exists ({existing[:19]})")
            image_id = existing
        else:
            if existing:
                say(f"image {tag} was built for other package versions or an older recipe: rebuilding")
            image_id = _build(client, tag, cache_dir or SANDBOX_CACHE, say)
        _ready_env_volume(client, image_id, say)
        return image_id
    finally:
        client.close()


def _build(client: docker.DockerClient, tag: str, cache: Path, say: Progress) -> str:
    """Run the four stages, reusing cached ones, and import the result as ``tag``."""
    _check_host()
    cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    requirements = runtime_requirements()
    base = _base_rootfs(cache, say)
    wheels = _wheelhouse(cache, requirements, say)
    rootfs = _runtime_rootfs(cache, base, wheels, requirements, say)
    previous = _image_id(client, tag)
    image_id = _import_rootfs(client, rootfs, tag, _recipe_digest(requirements), say)
    if previous and previous != image_id:
        _drop_image(client, previous)
    say(f"built {tag} ({image_id[:19]}) in {time.monotonic() - started:.0f}s")
    return image_id


def _ready_env_volume(client: docker.DockerClient, image_id: str, say: Progress) -> None:
    """Populate the image's environment volume now (not in the first job) and drop older images' volumes."""
    for name in drop_stale_env_volumes(client, keep=image_id):
        say(f"removed the environment volume {name} of an earlier image")
    if env_volume(client, image_id, say) is None:
        say("no environment volume: jobs read the image's files directly")


def _recipe_digest(requirements: list[str]) -> str:
    """What an image is built from: its package pins and the recipe version (the image's label)."""
    return _digest([*requirements, f"recipe={IMAGE_RECIPE}"])


def runtime_requirements(lock: Path | None = None) -> list[str]:
    """The image's packages: the lock's pins (``name==version``) for its Python, and the lock's digest."""
    found = pins(lock)
    return [f"lock={lock_digest(lock)}", *(f"{name}=={found[name]}" for name in sorted(found))]


def _client() -> docker.DockerClient:
    """A client with no read timeout: importing a large layer takes minutes."""
    try:
        client = docker.from_env(timeout=3600)
    except DockerException as exc:
        raise ImageBuildError(f"Docker engine not reachable: {exc}") from None
    try:
        client.ping()
    except (DockerException, requests.RequestException) as exc:
        client.close()
        raise ImageBuildError(f"Docker engine not reachable: {exc}") from None
    return client


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return str(client.images.get(tag).id)
    except ImageNotFound:
        return None


def _requirements_label(client: docker.DockerClient, tag: str) -> str:
    """The digest of the pins an existing image was built from ('' when unknown)."""
    try:
        labels = client.images.get(tag).labels or {}
    except ImageNotFound:
        return ""
    return str(labels.get("labgrade.requirements", ""))


def _drop_image(client: docker.DockerClient, image_id: str) -> None:
    """Remove the image a rebuild replaced, unless something still uses it."""
    try:
        client.images.remove(image_id)
    except DockerException:
        pass


def _check_host() -> None:
    """Root, the tools, and a runtime whose Python matches bookworm's python3 (wheel tags)."""
    if sys.version_info[:2] != IMAGE_PYTHON:
        have, want = ".".join(map(str, sys.version_info[:2])), ".".join(map(str, IMAGE_PYTHON))
        raise ImageBuildError(f"this runtime is Python {have}; the image's python3 is {want}: build from a {want} env")
    if os.geteuid() != 0:
        raise ImageBuildError("building the grading image needs root (debootstrap, chroot)")
    for tool in ("debootstrap", "chroot", "tar"):
        if not shutil.which(tool):
            raise ImageBuildError(f"{tool} not found: run sandbox/install-host-deps.sh")


def _digest(items: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:12]


def _base_rootfs(cache: Path, say: Progress) -> Path:
    """Stage 1: a minimal Debian root filesystem with python3 (cached)."""
    key = _digest([DEBIAN_SUITE, DEBIAN_MIRROR, *DEBIAN_PACKAGES])
    target = cache / f"base-{key}"
    if target.is_dir():
        say(f"debian base: cached ({target.name})")
        return target
    say(f"debian base: debootstrap {DEBIAN_SUITE} (minbase + {', '.join(DEBIAN_PACKAGES)})")
    partial = _fresh_dir(cache / f"{target.name}.partial")
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}"]
    _run([*argv, DEBIAN_SUITE, str(partial), DEBIAN_MIRROR], cache, "debootstrap")
    partial.rename(target)
    return target


def _wheelhouse(cache: Path, requirements: list[str], say: Progress) -> Path:
    """Stage 2: binary wheels for the pinned closure, downloaded once and kept."""
    wheels = cache / "wheels"
    wheels.mkdir(exist_ok=True)
    complete = wheels / f".complete-{_digest(requirements)}"
    shutil.copyfile(lock_path(), wheels / LOCK_FILE)
    if complete.exists():
        say(f"wheels: cached ({len(requirements) - 1} packages of the lock)")
        return wheels
    say(f"wheels: {len(requirements) - 1} packages of {lock_path().name} (pip download into {wheels})")
    pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-cache-dir"]
    pip += ["--only-binary=:all:", "--require-hashes", "--dest", str(wheels), "-r", str(wheels / LOCK_FILE)]
    _run(pip, cache, "pip download")
    complete.touch()
    return wheels


def _runtime_rootfs(cache: Path, base: Path, wheels: Path, requirements: list[str], say: Progress) -> Path:
    """Stage 3: base + venv with the pinned packages + grader user, slimmed (cached)."""
    recipe = [*requirements, VENV, GRADER_USER, GRADER_HOME, *_TEST_DIRS, *_SITE_DROP, *_SLIM_DIRS]
    target = cache / f"rootfs-{base.name.removeprefix('base-')}-{_digest(recipe)}"
    if target.is_dir():
        say(f"runtime root filesystem: cached ({target.name})")
        return target
    say("runtime root filesystem: copying the base")
    partial = cache / f"{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    _run(["cp", "-a", "--reflink=auto", str(base), str(partial)], cache, "cp")
    _install_packages(partial, wheels, cache, say)
    _add_grader_user(partial)
    say("runtime root filesystem: removing docs, caches and bundled test suites")
    _slim(partial)
    partial.rename(target)
    for stale in cache.glob("rootfs-*"):  # earlier recipes: a few GB each
        if stale != target:
            _remove(stale)
    return target


def _install_packages(rootfs: Path, wheels: Path, cache: Path, say: Progress) -> None:
    """Create the venv inside ``rootfs`` and install the wheelhouse into it, offline."""
    say(f"runtime root filesystem: python3 -m venv {VENV}")
    _chroot(rootfs, ["/usr/bin/python3", "-m", "venv", VENV], cache)
    inside = rootfs / "tmp" / "wheels"
    _link_tree(wheels, inside)
    say("runtime root filesystem: pip install (offline, from the wheelhouse)")
    pip = [f"{VENV}/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "--no-cache-dir"]
    pip += ["--no-index", "--find-links", "/tmp/wheels", "--require-hashes", "-r", f"/tmp/wheels/{LOCK_FILE}"]
    try:
        _chroot(rootfs, pip, cache)
    finally:
        shutil.rmtree(inside, ignore_errors=True)


def _add_grader_user(rootfs: Path) -> None:
    """The non-root user jobs run as, with its home and the work directory."""
    uid, gid = (int(part) for part in GRADER_USER.split(":"))
    _append(rootfs / "etc/passwd", f"grader:x:{uid}:{gid}:labgrade grader:{GRADER_HOME}:/bin/sh\n")
    _append(rootfs / "etc/group", f"grader:x:{gid}:\n")
    _append(rootfs / "etc/shadow", "grader:!:19000:0:99999:7:::\n")
    for path in (rootfs / GRADER_HOME.lstrip("/"), rootfs / "work"):
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, uid, gid)


def _slim(rootfs: Path) -> None:
    """Drop what grading never reads: docs, locales, apt state, bundled test suites."""
    for rel in _SLIM_DIRS:
        for child in (rootfs / rel).glob("*"):
            _remove(child)
    site = next((rootfs / VENV.lstrip("/") / "lib").glob("python3*/site-packages"))
    for rel in _SITE_DROP:
        _remove(site / rel)
    for package in _TEST_DIRS:
        for tests in sorted((site / package).rglob("tests")):
            if tests.is_dir():
                _remove(tests)
    for stale in (rootfs / "tmp", rootfs / "root" / ".cache"):
        for child in stale.glob("*"):
            _remove(child)


def _import_rootfs(client: docker.DockerClient, rootfs: Path, tag: str, req_digest: str, say: Progress) -> str:
    """Stage 4: tar the root filesystem and import it as one layer with the image config."""
    repository, _, version = tag.rpartition(":")
    changes = [f"ENV {name}={value}" for name, value in IMAGE_ENV.items()]
    changes += [f"USER {GRADER_USER}", "WORKDIR /work", 'CMD ["python"]']
    changes += ["LABEL labgrade=image", f"LABEL labgrade.requirements={req_digest}", f"LABEL {ENV_LABEL}={VENV}"]
    with tempfile.TemporaryDirectory(prefix="labgrade-image-", dir=rootfs.parent) as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        say("image: packing the root filesystem")
        excludes = [f"--exclude=./{d}/*" for d in ("dev", "proc", "sys")]
        _run(["tar", "-C", str(rootfs), "--numeric-owner", *excludes, "-cf", str(tarball), "."], rootfs.parent, "tar")
        say(f"image: importing {tarball.stat().st_size / 2**20:.0f} MiB into the engine as {tag}")
        try:
            client.api.import_image_from_file(str(tarball), repository=repository, tag=version, changes=changes)
        except DockerException as exc:
            raise ImageBuildError(f"the engine refused the image import: {exc}") from None
    image_id = _image_id(client, tag)
    if not image_id:
        raise ImageBuildError(f"the engine reported no image {tag} after the import")
    return image_id


def _chroot(rootfs: Path, argv: list[str], cache: Path) -> None:
    _run(["chroot", str(rootfs), *argv], cache, argv[0], env=_CHROOT_ENV)


def _run(argv: list[str], cache: Path, what: str, env: dict[str, str] | None = None) -> None:
    """Run one build command, its output appended to ``build.log``; a one-line error on failure."""
    log_path = cache / "build.log"
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    if proc.returncode != 0:
        raise ImageBuildError(f"{what} failed (exit {proc.returncode}): {_last_line(log_path)} (see {log_path})")


def _last_line(path: Path) -> str:
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4096))
        lines = [ln for ln in fh.read().decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "no output"


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (or copy across file systems) the files of ``source`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        try:
            os.link(item, target / item.name)
        except OSError:
            shutil.copy2(item, target / item.name)


def _append(path: Path, line: str) -> None:
    with open(path, "a") as fh:
        fh.write(line)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
