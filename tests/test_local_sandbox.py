"""The local sandbox backend, with real processes (small ``python -c`` jobs).

Tests that need root (the uid drop, a namespace as root) say so and are
skipped otherwise; the rest hold for any user.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from graders.backends import Sandbox, get_backend
from graders.backends.base import Ending, Job, JobResult, Limits, Mount
from graders.backends.local import NOBODY, LocalSandbox, UidPool, parse_uid_range, translate

IS_ROOT = os.geteuid() == 0
REPO = Path(__file__).resolve().parents[1]
needs_root = pytest.mark.skipif(not IS_ROOT, reason="the uid drop needs a root harness")
QUICK = Limits(wall_seconds=20, memory_mb=512, pids=64, output_bytes=100_000, disk_mb=16)


# A uid of the tests' own: nobody may be busy with other jobs on this host, and
# RLIMIT_NPROC counts every task of the uid.
TEST_UID = 64_321


@pytest.fixture
def sandbox() -> LocalSandbox:
    """A fresh backend, dropping to TEST_UID when run as root."""
    return LocalSandbox(uid=TEST_UID, gid=TEST_UID)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A writable host directory mounted at /work in the jobs below."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def python_job(code: str, work: Path, limits: Limits = QUICK, **extra: object) -> Job:
    """A job running ``code`` with this interpreter, cwd /work (the ``work`` dir)."""
    fields: dict[str, object] = {
        "name": "t",
        "argv": (sys.executable, "-c", textwrap.dedent(code)),
        "mounts": (Mount(work, "/work", read_only=False),),
        "cwd": "/work",
        "limits": limits,
    }
    fields.update(extra)
    return Job(**fields)  # type: ignore[arg-type]


def assert_gone(pids: list[int]) -> None:
    """None of ``pids`` is alive (a zombie would still be a process of the job)."""
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"job processes still alive after run(): {alive}"


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll ``condition`` until true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def read_pids(path: Path) -> list[int]:
    """Pids a job wrote to ``path``, one a line."""
    return [int(line) for line in path.read_text().split()]


# -- the Protocol, the registry, normal ends ------------------------------------


def test_registered_as_local_and_available() -> None:
    backend = get_backend("local")
    assert isinstance(backend, LocalSandbox)
    assert isinstance(backend, Sandbox)
    ok, why = backend.available()
    assert ok is True and "Linux" in why


def test_exit_code_output_and_duration(sandbox: LocalSandbox, work: Path) -> None:
    result = sandbox.run(python_job("import sys; print('hello'); print('oops', file=sys.stderr); sys.exit(3)", work))
    assert result.ending is Ending.exited
    assert result.exit_code == 3
    assert "hello" in result.output_tail and "oops" in result.output_tail
    assert 0 < result.duration_s < 5
    assert result.leftovers_killed == 0


def test_trivial_job_overhead_is_small(sandbox: LocalSandbox, work: Path) -> None:
    # Overhead = sandboxed minus direct run of the same command; best of three, the machine may be busy.
    job = python_job("pass", work)
    sandboxed, direct = [], []
    for _ in range(3):
        started = time.monotonic()
        result = sandbox.run(job)
        sandboxed.append(time.monotonic() - started)
        started = time.monotonic()
        subprocess.run(job.argv, check=True)
        direct.append(time.monotonic() - started)
        assert result.ending is Ending.exited and result.exit_code == 0
    overhead = min(sandboxed) - min(direct)
    assert overhead < 0.3, f"harness overhead {overhead:.2f} s for a trivial job"


def test_missing_executable_is_an_error_not_an_exception(sandbox: LocalSandbox, work: Path) -> None:
    job = Job("t", ("no-such-program-xyz", "--help"), (Mount(work, "/work", False),), "/work", limits=QUICK)
    result = sandbox.run(job)
    assert result.ending is Ending.error
    assert result.exit_code is None
    assert "no-such-program-xyz" in result.message


def test_missing_mount_source_is_an_error(sandbox: LocalSandbox, tmp_path: Path) -> None:
    job = python_job("pass", tmp_path / "does-not-exist")
    result = sandbox.run(job)
    assert result.ending is Ending.error
    assert "does-not-exist" in result.message


def test_killed_by_signal_is_reported(sandbox: LocalSandbox, work: Path) -> None:
    result = sandbox.run(python_job("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", work))
    assert result.ending is Ending.exited
    assert result.exit_code == -signal.SIGTERM
    assert "SIGTERM" in result.message


def test_an_interrupted_batch_stops_its_running_jobs(sandbox: LocalSandbox, work: Path) -> None:
    """``stop_all`` (what Ctrl-C in a batch calls) stops a running job at once, with a reason."""
    from graders.backends.base import stop_all

    started = work / "started"
    results: list[JobResult] = []
    code = f"import pathlib, time; pathlib.Path({str(started)!r}).write_text('x'); time.sleep(60)"
    runner = threading.Thread(target=lambda: results.append(sandbox.run(python_job(code, work))))
    runner.start()
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the job never started"
    assert stop_all() == 1
    runner.join(timeout=30)
    assert not runner.is_alive() and results[0].ending is Ending.error
    assert "interrupted" in results[0].message
    assert stop_all() == 0  # nothing left running


# -- paths ------------------------------------------------------------------------


def test_translate_rewrites_targets_and_paths_below_them(tmp_path: Path) -> None:
    mounts = (Mount(tmp_path / "w", "/work", False), Mount(tmp_path / "rt", "/opt/labgrade/runtime"))
    assert translate("/work", mounts) == str(tmp_path / "w")
    assert translate("/work/a/b.ipynb", mounts) == str(tmp_path / "w" / "a" / "b.ipynb")
    assert translate("/opt/labgrade/runtime/x.py", mounts) == str(tmp_path / "rt" / "x.py")
    assert translate("/workshop/x", mounts) == "/workshop/x"  # a prefix of a name is not a parent
    assert translate("--flag", mounts) == "--flag"


def test_argv_cwd_and_env_use_sandbox_paths(sandbox: LocalSandbox, work: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "numbers.csv").write_text("1,2,3\n")
    data.chmod(0o755)
    code = """
        import os, sys
        src = open(sys.argv[1]).read()
        open("out.txt", "w").write(src)
        print("cwd", os.getcwd())
        print("env", os.environ["DATA"], os.environ["LIBS"], os.environ["PYTHONPATH"])
    """
    job = python_job(
        code,
        work,
        argv=(sys.executable, "-c", textwrap.dedent(code), "/data/numbers.csv"),
        mounts=(Mount(work, "/work", read_only=False), Mount(data, "/data")),
        env={"DATA": "/data", "LIBS": "/data:/work/lib", "PYTHONPATH": "/work/host-lib"},
    )
    result = sandbox.run(job)
    assert result.exit_code == 0, result.output_tail
    assert (work / "out.txt").read_text() == "1,2,3\n"
    assert f"cwd {work}" in result.output_tail
    # sandbox paths are rewritten to host ones, colon lists too; PYTHONPATH names host folders and is kept
    assert f"env {data} {data}:{work}/lib /work/host-lib" in result.output_tail


def test_host_environment_is_not_passed_on(sandbox: LocalSandbox, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABGRADE_TEST_SECRET", "s3cret")
    result = sandbox.run(python_job("import os; print(os.environ.get('LABGRADE_TEST_SECRET'))", work, env={"A": "1"}))
    assert result.output_tail.strip() == "None"


def test_read_only_mount_cannot_be_written(sandbox: LocalSandbox, work: Path, tmp_path: Path) -> None:
    data = tmp_path / "ro"
    data.mkdir(mode=0o777)
    data.chmod(0o777)  # writable for anyone: only the read-only mount may stop the job
    code = """
        import sys
        try:
            open(sys.argv[1] + "/new.txt", "w").write("x")
            print("WROTE")
        except OSError as exc:
            print("REFUSED", exc.errno)
    """
    job = python_job(
        code,
        work,
        argv=(sys.executable, "-c", textwrap.dedent(code), "/ro"),
        mounts=(Mount(work, "/work", False), Mount(data, "/ro", read_only=True)),
    )
    result = sandbox.run(job)
    if "read_only mounts bound read-only" not in result.isolation["filesystem"]:
        pytest.skip(f"no private mount namespace here: {result.isolation['filesystem']}")
    assert "REFUSED" in result.output_tail, result.output_tail
    assert not (data / "new.txt").exists()


def test_writable_mount_inside_a_read_only_one(sandbox: LocalSandbox, work: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "out").mkdir(parents=True)
    data.chmod(0o777)
    code = """
        import sys
        for path in sys.argv[1:]:
            try:
                open(path, "w").write("x")
                print("WROTE", path)
            except OSError as exc:
                print("REFUSED", path)
    """
    argv = (sys.executable, "-c", textwrap.dedent(code), "/data/new.txt", "/out/new.txt")
    mounts = (Mount(work, "/work", False), Mount(data, "/data"), Mount(data / "out", "/out", read_only=False))
    result = sandbox.run(python_job(code, work, argv=argv, mounts=mounts))
    if "read_only mounts bound read-only" not in result.isolation["filesystem"]:
        pytest.skip(f"no private mount namespace here: {result.isolation['filesystem']}")
    assert f"REFUSED {data}/new.txt" in result.output_tail, result.output_tail
    assert f"WROTE {data}/out/new.txt" in result.output_tail, result.output_tail
    assert (data / "out" / "new.txt").read_text() == "x"


# -- processes --------------------------------------------------------------------


def test_daemonised_descendants_are_killed(sandbox: LocalSandbox, work: Path) -> None:
    code = """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:          # double fork: re-parents away from the job
                open("pids", "a").write(f"{os.getpid()}\\n")
                time.sleep(600)
            os._exit(0)
        time.sleep(0.3)
        print("main done")
    """
    result = sandbox.run(python_job(code, work))
    assert result.ending is Ending.exited and result.exit_code == 0, result.output_tail
    pids = read_pids(work / "pids")
    assert len(pids) == 1
    assert_gone(pids)
    assert result.leftovers_killed == 1
    assert "leftover" in result.message


def test_fork_bomb_ends_and_leaves_nothing(sandbox: LocalSandbox, work: Path) -> None:
    code = """
        import os
        while True:
            try:
                pid = os.fork()
            except OSError:
                continue
            if pid == 0:
                with open("pids", "a") as f:
                    f.write(f"{os.getpid()}\\n")
    """
    limits = Limits(wall_seconds=3, memory_mb=2048, pids=40, output_bytes=100_000)
    started = time.monotonic()
    result = sandbox.run(python_job(code, work, limits))
    assert result.ending is Ending.timeout
    assert "process limit (pids=40)" in result.message
    assert time.monotonic() - started < 15
    pids = read_pids(work / "pids")
    assert len(pids) >= 10
    assert_gone(pids)
    assert result.leftovers_killed >= 10


def test_a_killed_harness_takes_its_job_along(work: Path) -> None:
    code = """
        import os, time
        open("pids", "a").write(f"{os.getpid()}\\n")
        if os.fork() == 0:
            os.setsid()
            open("pids", "a").write(f"{os.getpid()}\\n")
        time.sleep(600)
    """
    harness_code = f"""if True:
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from graders.backends.base import Job, Mount
        from graders.backends.local import LocalSandbox
        LocalSandbox().run(Job("t", (sys.executable, "-c", {textwrap.dedent(code)!r}),
                               (Mount({str(work)!r}, "/work", False),), "/work"))
    """
    harness = subprocess.Popen([sys.executable, "-c", harness_code])
    try:
        wait_for(lambda: (work / "pids").exists() and len(read_pids(work / "pids")) == 2)
    finally:
        harness.kill()  # no cleanup of its own: the supervisor must notice and sweep
        harness.wait()
    pids = read_pids(work / "pids")
    wait_for(lambda: not any(psutil.pid_exists(pid) for pid in pids))
    assert_gone(pids)


# -- limits -----------------------------------------------------------------------


def test_wall_clock_timeout(sandbox: LocalSandbox, work: Path) -> None:
    limits = Limits(wall_seconds=1, output_bytes=10_000)
    result = sandbox.run(python_job("import time; print('start', flush=True); time.sleep(60)", work, limits))
    assert result.ending is Ending.timeout
    assert 1 <= result.duration_s < 4
    assert "start" in result.output_tail
    assert "wall-clock" in result.message


def test_memory_watchdog_kills_the_whole_job(sandbox: LocalSandbox, work: Path) -> None:
    # The child, not the main process, holds the memory: the sum over the job counts.
    code = """
        import os, time
        if os.fork() == 0:
            open("pids", "a").write(f"{os.getpid()}\\n")
            block = b"x" * (300 * 1024 * 1024)
            time.sleep(60)
        time.sleep(60)
    """
    limits = Limits(wall_seconds=30, memory_mb=200, output_bytes=10_000)
    result = sandbox.run(python_job(code, work, limits))
    assert result.ending is Ending.memory
    assert "200 MB" in result.message
    assert result.duration_s < 10
    assert_gone(read_pids(work / "pids"))


def test_output_tail_keeps_the_end(sandbox: LocalSandbox, work: Path) -> None:
    limits = Limits(wall_seconds=20, output_bytes=2_000)
    result = sandbox.run(python_job("for i in range(1000): print(f'line {i:05d}')", work, limits))
    assert result.ending is Ending.exited and result.exit_code == 0
    assert len(result.output_tail.encode()) <= 2_000
    assert result.output_tail.endswith("line 00999\n")
    assert "line 00000" not in result.output_tail


def test_output_flood_is_killed_and_the_harness_keeps_only_the_tail(sandbox: LocalSandbox, work: Path) -> None:
    limits = Limits(wall_seconds=30, output_bytes=500_000)  # killed past 5 MB
    tracemalloc.start()
    try:
        result = sandbox.run(python_job("import sys\nwhile True: sys.stdout.write('y' * 4096)", work, limits))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ending is Ending.output
    assert 0 < len(result.output_tail) <= 500_000
    assert result.duration_s < 10
    assert peak < 3_000_000, f"the harness held {peak} bytes while 5 MB flowed through"


def test_file_size_limit(sandbox: LocalSandbox, work: Path) -> None:
    limits = Limits(wall_seconds=20, output_bytes=10_000, disk_mb=1)
    code = "open('big', 'wb').write(b'z' * (5 * 1024 * 1024))"
    result = sandbox.run(python_job(code, work, limits))
    assert result.ending is Ending.exited
    assert result.exit_code != 0
    assert "File too large" in result.output_tail
    assert (work / "big").stat().st_size <= 1024 * 1024


def test_cpu_time_limit(sandbox: LocalSandbox, work: Path) -> None:
    limits = Limits(wall_seconds=20, cpus=0.05, output_bytes=10_000)  # 1 s of CPU, with room for a loaded machine
    result = sandbox.run(python_job("while True: pass", work, limits))
    assert result.ending is Ending.exited
    assert result.exit_code == -signal.SIGXCPU
    assert "CPU time limit" in result.message


def test_rlimits_seen_by_the_job(sandbox: LocalSandbox, work: Path) -> None:
    code = """
        import resource as r
        for name in ("RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_NOFILE", "RLIMIT_NPROC"):
            print(name, *r.getrlimit(getattr(r, name)))
    """
    limits = Limits(wall_seconds=10, cpus=2, pids=50, disk_mb=8, output_bytes=10_000)
    result = sandbox.run(python_job(code, work, limits))
    seen = {line.split()[0]: tuple(map(int, line.split()[1:])) for line in result.output_tail.splitlines()}
    assert seen["RLIMIT_CPU"][0] == 20
    assert seen["RLIMIT_FSIZE"] == (8 * 1024 * 1024,) * 2
    assert seen["RLIMIT_CORE"] == (0, 0)
    assert seen["RLIMIT_NOFILE"][0] <= 4096
    assert 50 <= seen["RLIMIT_NPROC"][0] < 50 + len(psutil.pids()) * 64


# -- network ----------------------------------------------------------------------


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server on the host's 127.0.0.1, accepting in the background; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


CONNECT = """
    import socket, sys
    def attempt(host, port):
        try:
            socket.create_connection((host, port), timeout=2).close()
            return "CONNECTED"
        except OSError as exc:
            return f"FAILED {exc}"
    print("host-loopback", attempt("127.0.0.1", int(sys.argv[1])))
    print("outside", attempt("8.8.8.8", 53))
    server = socket.create_server(("127.0.0.1", 0))
    print("own-loopback", attempt("127.0.0.1", server.getsockname()[1]))
"""


def test_no_network_but_own_loopback(sandbox: LocalSandbox, work: Path, host_server: int) -> None:
    socket.create_connection(("127.0.0.1", host_server), timeout=2).close()  # the server does answer
    job = python_job(CONNECT, work, argv=(sys.executable, "-c", textwrap.dedent(CONNECT), str(host_server)))
    result = sandbox.run(job)
    if not result.isolation["network"].startswith("namespace"):
        pytest.skip(f"no network namespace for this user here: {result.isolation['network']}")
    lines = dict(line.split(" ", 1) for line in result.output_tail.splitlines())
    assert lines["host-loopback"].startswith("FAILED"), result.output_tail
    assert lines["outside"].startswith("FAILED"), result.output_tail
    assert lines["own-loopback"] == "CONNECTED", result.output_tail
    assert result.isolation["network"] == "namespace"


@needs_root
def test_root_harness_gets_a_network_namespace(sandbox: LocalSandbox, work: Path) -> None:
    result = sandbox.run(python_job("pass", work))
    assert result.isolation["network"] == "namespace"


# -- users ------------------------------------------------------------------------


@pytest.fixture
def root_only_files() -> Iterator[list[Path]]:
    """Two root-only files in a world-readable folder: a 0600 file, and a file in a 0700 folder."""
    folder = Path(tempfile.mkdtemp(prefix="labgrade-test-", dir="/tmp"))
    folder.chmod(0o755)
    holdout = folder / "holdout.csv"
    holdout.write_text("secret labels\n")
    holdout.chmod(0o600)
    (folder / "private").mkdir(mode=0o700)
    (folder / "private" / "answers.txt").write_text("secret answers\n")
    yield [holdout, folder / "private" / "answers.txt"]
    shutil.rmtree(folder)


READ_FILES = """
    import os, sys
    print("uid", os.getuid(), os.getgid())
    for path in sys.argv[1:]:
        try:
            print("READ", open(path).read().strip())
        except OSError as exc:
            print("DENIED", type(exc).__name__)
    open("given.txt", "a").write("and the job\\n")
"""


@needs_root
def test_job_runs_as_a_uid_of_its_own_and_cannot_read_root_only_files(work: Path, root_only_files: list[Path]) -> None:
    (work / "given.txt").write_text("from the harness\n")
    argv = (sys.executable, "-c", textwrap.dedent(READ_FILES), *map(str, root_only_files))
    pool = UidPool(range(64_400, 64_410))
    result = LocalSandbox(uid=pool).run(python_job(READ_FILES, work, argv=argv))  # the default: a uid from a pool
    assert result.exit_code == 0, result.output_tail
    uid = int(result.output_tail.split("uid ")[1].split()[0])
    assert uid in pool.uids and f"uid {uid} {uid}" in result.output_tail
    assert result.output_tail.count("DENIED PermissionError") == 2, result.output_tail
    assert "secret" not in result.output_tail
    assert (work / "given.txt").read_text() == "from the harness\nand the job\n"  # chowned to the job
    assert result.isolation["user"].startswith(f"uid {uid} gid {uid} (this job's own")
    assert pool.acquire() == uid  # given back when the job ended


def test_uid_pool_skips_accounts_running_uids_and_held_ones() -> None:
    """Never a uid with an account (root, nobody) or with processes; never one held by another job."""
    assert UidPool(range(0, 1)).acquire() is None  # root has an account
    pool = UidPool(range(NOBODY, NOBODY + 3))  # nobody has an account too
    first, second = pool.acquire(), pool.acquire()
    assert (first, second) == (NOBODY + 1, NOBODY + 2)
    assert pool.acquire() is None
    pool.release(first)
    assert pool.acquire() == first
    assert UidPool(range(os.getuid(), os.getuid() + 1)).acquire() is None  # this process runs under it


@needs_root
def test_uid_pool_skips_a_uid_some_process_runs_under() -> None:
    sleeper = subprocess.Popen(["sleep", "30"], user=64_420, group=64_420)
    try:
        wait_for(lambda: psutil.Process(sleeper.pid).uids().real == 64_420)
        assert UidPool(range(64_420, 64_422)).acquire() == 64_421
    finally:
        sleeper.kill()
        sleeper.wait()


def test_uid_range_setting_is_checked() -> None:
    assert parse_uid_range("59000-59127") == range(59_000, 59_128)
    for bad in ("59000", "a-b", "5-1", "0-3"):
        with pytest.raises(ValueError, match="59000-59127"):
            parse_uid_range(bad)


@needs_root
def test_an_exhausted_pool_shares_nobody_and_says_so(work: Path) -> None:
    pool = UidPool(range(64_430, 64_431))
    held = pool.acquire()
    result = LocalSandbox(uid=pool).run(python_job("import os; print('uid', os.getuid())", work))
    assert f"uid {NOBODY}" in result.output_tail
    assert "shared with other jobs: every uid of the pool 64430-64430 was busy" in result.isolation["user"]
    pool.release(held)  # type: ignore[arg-type]


@needs_root
@pytest.mark.parametrize("uids", ["pool", "one fixed uid"])
def test_a_job_cannot_kill_the_job_beside_it(work: Path, tmp_path: Path, uids: str) -> None:
    """kill(-1) signals every process of the caller's uid: with a uid per job, only its own.

    The control (one fixed uid for every job) shows the attack is real.
    """
    from concurrent.futures import ThreadPoolExecutor

    other = tmp_path / "other"
    other.mkdir()
    sandbox = LocalSandbox(uid=UidPool(range(64_440, 64_450)) if uids == "pool" else 64_460)
    victim = """
import os, time
open("started", "w").close()
for _ in range(1200):  # until the harness says the other job is over (at most a minute)
    if os.path.exists("go"):
        break
    time.sleep(0.05)
print("survived")
"""
    killer = "import os, signal; os.kill(-1, signal.SIGKILL); print('sent')"
    with ThreadPoolExecutor(1) as pool:
        quiet = pool.submit(sandbox.run, python_job(victim, other))
        wait_for(lambda: (other / "started").exists(), 60)
        attacker = sandbox.run(python_job(killer, work))
        (other / "go").touch()
        survivor = quiet.result()
    assert "sent" in attacker.output_tail, attacker
    if uids == "pool":
        assert "survived" in survivor.output_tail and survivor.exit_code == 0, survivor
        assert survivor.isolation["user"] != attacker.isolation["user"]
    else:
        assert "survived" not in survivor.output_tail and survivor.exit_code != 0, survivor
        assert "shared with other jobs: a fixed uid for every job" in survivor.isolation["user"]


@needs_root
def test_uid_none_keeps_root_and_then_reads_everything(work: Path, root_only_files: list[Path]) -> None:
    argv = (sys.executable, "-c", textwrap.dedent(READ_FILES), *map(str, root_only_files))
    result = LocalSandbox(uid=None).run(python_job(READ_FILES, work, argv=argv))
    assert "uid 0 0" in result.output_tail
    assert result.output_tail.count("READ secret") == 2, result.output_tail
    assert result.isolation["user"].startswith("root")


@needs_root
def test_folders_the_job_user_cannot_enter_are_hidden(sandbox: LocalSandbox, work: Path, tmp_path: Path) -> None:
    # tmp_path lies below pytest's 0700 folder: masked by an empty tmpfs, only /work bound back.
    (tmp_path / "sibling.txt").write_text("not for the job\n")
    code = "import os, sys; print(sorted(os.listdir(sys.argv[1])), os.path.exists(sys.argv[2]))"
    argv = (sys.executable, "-c", code, str(tmp_path), str(tmp_path / "sibling.txt"))
    result = sandbox.run(python_job(code, work, argv=argv))
    if "hidden:" not in result.isolation["filesystem"]:
        pytest.skip(f"nothing masked here: {result.isolation['filesystem']}")
    assert result.output_tail.strip() == "['work'] False", result.output_tail


def test_isolation_is_always_described(sandbox: LocalSandbox, work: Path) -> None:
    result: JobResult = sandbox.run(python_job("pass", work))
    assert set(result.isolation) >= {"network", "user", "filesystem", "processes"}
    assert result.isolation["network"] == "namespace" or result.isolation["network"].startswith("none (")


def test_concurrent_jobs_get_cores_of_their_own(sandbox: LocalSandbox, work: Path) -> None:
    """Two one-core jobs graded side by side are pinned to different cores."""
    from concurrent.futures import ThreadPoolExecutor

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores")
    one_core = dataclasses.replace(QUICK, cpus=1)
    code = "import os, time; print(sorted(os.sched_getaffinity(0))); time.sleep(1.5)"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: sandbox.run(python_job(code, work, one_core)), range(2)))
    seen = [r.output_tail.strip() for r in results]
    assert all(s.count(",") == 0 for s in seen), seen  # one core each
    assert seen[0] != seen[1], seen


def test_disk_use_of_writable_mounts_is_capped(sandbox: LocalSandbox, work: Path) -> None:
    """Many files each under the per-file limit still hit the job's disk limit."""
    code = """
    block = b"0" * (4 * 1024 * 1024)
    for i in range(1000):
        with open(f"f{i}", "wb") as fh:
            fh.write(block)
    """
    result = sandbox.run(python_job(code, work))
    assert result.ending is Ending.disk, result
    assert "over the limit of 16 MB" in result.message
