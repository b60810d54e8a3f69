"""The grading runtime: the packages a student's notebook and the evaluator run with, from one lock file.

``sandbox/lock/runtime.lock`` (compiled from ``runtime.in`` beside it, every
file hashed) pins the Colab generation most students of the lab ran on. The
local backend runs the runner, the student's kernel and the evaluator in a
virtual environment built from exactly that lock:

* found under ``graders.paths.CACHE_DIR/runtime/py<X.Y>-<lock digest>/``, so a
  changed lock (or another interpreter) is another environment;
* built once, on first need (``python -m venv`` from the harness's own
  interpreter, ``pip install --require-hashes``), in a temporary folder renamed
  into place when complete; a second builder waits on a file lock and then
  uses what the first one built;
* checked before use: every distribution it holds must have the lock's
  version, and nothing the lock pins may be missing. A mismatch is one
  :class:`RuntimeEnvError` line that says how to rebuild.

``LABGRADE_RUNTIME_PYTHON`` names another interpreter to use instead (e.g. an
environment an administrator installed from the same lock); it is checked the
same way. The environment is used through ``python -m`` only: its console
scripts keep the temporary path they were built at.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from graders.paths import CACHE_DIR

PYTHON_ENV = "LABGRADE_RUNTIME_PYTHON"  # an interpreter to use instead of the built environment
LOCK_NAME = "runtime.lock"
MARKER = "labgrade-runtime.json"  # written last into a complete environment
_PACKAGE = Path(__file__).resolve().parents[1]  # graders/
# A checkout keeps the lock in sandbox/lock/; a wheel ships it as the package data graders/runtime_lock/.
_LOCK_DIRS = (_PACKAGE.parent / "sandbox" / "lock", _PACKAGE / "runtime_lock")
# The distributions the check leaves alone: pip's own, whatever version the interpreter's venv brought.
_TOOLING = frozenset({"pip"})

Progress = Callable[[str], None]


class RuntimeEnvError(ValueError):
    """The grading runtime cannot be built or does not match the lock; the message says what to do."""


def lock_path() -> Path:
    """The project's lock file (the checkout's, else the copy shipped in the wheel)."""
    for folder in _LOCK_DIRS:
        if (folder / LOCK_NAME).is_file():
            return folder / LOCK_NAME
    raise RuntimeEnvError(f"the grading runtime's lock is missing (looked for {LOCK_NAME} in {_LOCK_DIRS[0]})")


def lock_digest(lock: Path | None = None) -> str:
    """The first 16 hex digits of the lock's SHA-256: the runtime's name in provenance and cache paths."""
    return hashlib.sha256((lock or lock_path()).read_bytes()).hexdigest()[:16]


def pins(lock: Path | None = None) -> dict[str, str]:
    """Every distribution the lock installs on this interpreter and platform, by canonical name: its version."""
    found: dict[str, str] = {}
    for line in _requirement_lines(lock or lock_path()):
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise RuntimeEnvError(f"{lock or lock_path()}: cannot read {line!r}: {exc}") from None
        if req.marker is not None and not req.marker.evaluate():
            continue
        versions = [s.version for s in req.specifier if s.operator == "=="]
        if len(versions) != 1:
            raise RuntimeEnvError(f"{lock or lock_path()}: {req.name} is not pinned to one version")
        found[canonicalize_name(req.name)] = versions[0]
    return found


def _requirement_lines(lock: Path) -> Iterator[str]:
    """The lock's requirements, each without its hashes and comments (pip's continuation lines joined)."""
    text = lock.read_text(encoding="utf-8").replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        yield " ".join(part for part in line.split() if not part.startswith("--hash="))


def env_dir(cache: Path = CACHE_DIR, lock: Path | None = None) -> Path:
    """Where the environment for this interpreter's minor version and the lock lives."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return cache / "runtime" / f"py{version}-{lock_digest(lock)}"


def env_python(env: Path) -> Path:
    """The interpreter of the environment ``env``."""
    return env / "bin" / "python"


def installed_versions(python: str | Path) -> dict[str, str]:
    """Every distribution ``python`` sees, by canonical name: its version (asked of that interpreter)."""
    code = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions() if d.metadata['Name']}))"
    )
    try:
        proc = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise RuntimeEnvError(f"the grading runtime at {python} does not start: {exc.strerror}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeEnvError(f"the grading runtime at {python} does not start: {last}")
    return {canonicalize_name(name): version for name, version in json.loads(proc.stdout).items()}


def mismatches(python: str | Path, lock: Path | None = None) -> list[str]:
    """How the distributions ``python`` sees differ from the lock (empty when they match it exactly)."""
    want, have = pins(lock), installed_versions(python)
    wrong = [
        f"{name} {have.get(name, 'missing')} (lock: {v})" for name, v in sorted(want.items()) if have.get(name) != v
    ]
    extra = [f"{name} {have[name]} (not in the lock)" for name in sorted(set(have) - set(want) - _TOOLING)]
    return wrong + extra


def check(python: str | Path, lock: Path | None = None, *, fix: str) -> None:
    """Raise :class:`RuntimeEnvError` (one line, ending with ``fix``) unless ``python`` matches the lock."""
    wrong = mismatches(python, lock)
    if wrong:
        more = f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""
        raise RuntimeEnvError(
            f"the grading runtime at {python} does not match {lock or lock_path()}: {', '.join(wrong[:3])}{more}; {fix}"
        )


def ensure(
    *, cache: Path = CACHE_DIR, lock: Path | None = None, progress: Progress | None = None, rebuild: bool = False
) -> Path:
    """The checked interpreter of the lock's environment, built first if it is not there (or ``rebuild``)."""
    lock = lock or lock_path()
    target = env_dir(cache, lock)
    fix = "rebuild it from the lock with `python -m graders.backends.runtime_env --rebuild`"
    if rebuild or not (target / MARKER).is_file():
        with _build_lock(target):
            if rebuild or not (target / MARKER).is_file():  # another builder may have finished meanwhile
                _build(target, lock, progress or (lambda _msg: None))
    check(env_python(target), lock, fix=fix)
    return env_python(target)


_checked: dict[tuple[str, str], str] = {}
_checked_lock = threading.Lock()


def local_python(progress: Progress | None = None) -> str:
    """The interpreter local jobs run with: $LABGRADE_RUNTIME_PYTHON or the lock's environment, checked once
    per process and lock."""
    chosen = os.environ.get(PYTHON_ENV, "")
    key = (chosen, lock_digest())
    with _checked_lock:
        if key not in _checked:
            if chosen:
                fix = f"install it with `{chosen} -m pip install --require-hashes -r {lock_path()}`"
                fix += f", or unset {PYTHON_ENV}"
                check(chosen, fix=fix)
                _checked[key] = chosen
            else:
                _checked[key] = str(ensure(progress=progress))
        return _checked[key]


@contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """An exclusive lock on building ``target``: a concurrent builder waits here, in this or another process."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build(target: Path, lock: Path, say: Progress) -> None:
    """Build the environment in a temporary folder beside ``target`` and rename it into place."""
    say(f"building the grading runtime from {_shown(lock)} (first use, a few minutes)")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _run([sys.executable, "-m", "venv", str(staging)], "creating the virtual environment", staging)
        pip = [str(env_python(staging)), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        _run([*pip, "--require-hashes", "--only-binary=:all:", "-r", str(lock)], "installing the lock", staging)
        check(env_python(staging), lock, fix="the lock does not install as written: recompile it (see the README)")
        marker = {"lock": lock_digest(lock), "python": sys.version.split()[0], "built_from": str(lock)}
        (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would keep the jobs' unprivileged uid out
        if target.exists():
            shutil.rmtree(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"the grading runtime is ready: {target}")


def _run(argv: list[str], what: str, staging: Path) -> None:
    log = staging.parent / f"{staging.name}.log"
    with open(log, "w") as fh:
        proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        kept = staging.parent / f"{staging.name.lstrip('.')}-failed.log"
        shutil.copy(log, kept)
        log.unlink()
        raise RuntimeEnvError(
            f"building the grading runtime failed while {what} (exit {proc.returncode}): "
            f"{lines[-1].strip() if lines else 'no output'} (see {kept})"
        )
    log.unlink()


def _shown(lock: Path) -> str:
    """The lock's path as a user knows it: relative to the checkout when it lies in one."""
    try:
        return str(lock.relative_to(_PACKAGE.parent))
    except ValueError:
        return str(lock)


def main(argv: list[str] | None = None) -> int:
    """``python -m graders.backends.runtime_env [--rebuild]``: build (or check) the grading runtime, print it."""
    rebuild = "--rebuild" in (sys.argv[1:] if argv is None else argv)
    try:
        python = ensure(progress=print, rebuild=rebuild)
    except RuntimeEnvError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{python} (lock {lock_digest()}: {len(pins())} packages, as locked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
