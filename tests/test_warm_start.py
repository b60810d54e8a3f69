"""Warm starts of the local sandbox: jobs forked from a process that has imported TensorFlow and Keras.

Real processes, the grading runtime's interpreter, a real zygote. What one job
does to its process (files, environment, modules, monkeypatches) must be
invisible to the next job forked from the same warm process, and a warm job
must see what a cold one sees.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import psutil
import pytest

from graders.backends import runtime_env
from graders.backends.base import Ending, Job, JobResult, Limits, Mount
from graders.backends.local import LocalSandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="warm starts are used only with a uid drop (root harness)")

WARM_UID = 64_323  # each test its own uid: nothing else runs under it
LIMITS = Limits(wall_seconds=120, memory_mb=3072, pids=128, output_bytes=200_000, disk_mb=16)
STACK = ("numpy", "tensorflow", "keras")

PROBE = '''
"""A job that reports what its process sees, and in the "dirty" role changes all it can first."""
import builtins, json, os, signal, sys

role, report = sys.argv[1], sys.argv[2]
with open(f"/proc/{os.getppid()}/stat") as fh:  # the supervisor's parent: the warm process that forked it
    zygote = int(fh.read().rsplit(")", 1)[1].split()[1])
import tensorflow as tf
import keras

if role == "dirty":
    with open(os.path.join(os.environ["HOME"], "left-behind"), "w") as fh:
        fh.write("a")
    with open(os.path.join(os.environ["TMPDIR"], "left-behind"), "w") as fh:
        fh.write("a")
    os.environ["LEFT_BEHIND"] = "a"
    os.putenv("LEFT_BEHIND_C", "a")
    json.LEFT_BEHIND = "a"
    tf.LEFT_BEHIND = "a"
    builtins.LEFT_BEHIND = "a"
    keras.layers.Dense = None
    import warm_extra  # a module no job imported before
    sys.path.append("/left-behind")

weights = None
if keras.layers.Dense is not None:
    dense = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    model = keras.Sequential([keras.Input((3,)), dense])
    weights = model.predict(tf.constant([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]), verbose=0).tolist()
seen = {
    "pid": os.getpid(),
    "zygote": zygote,
    "uid": os.getuid(),
    "home": os.environ["HOME"],
    "files": sorted(os.listdir(os.environ["HOME"])),
    "env": sorted(k for k in os.environ),
    "env_c": os.popen("env").read().count("LEFT_BEHIND"),
    "json": hasattr(json, "LEFT_BEHIND"),
    "tf": hasattr(tf, "LEFT_BEHIND"),
    "builtins": hasattr(builtins, "LEFT_BEHIND"),
    "dense_patched": keras.layers.Dense is None,
    "extra_module": "warm_extra" in sys.modules,
    "path": sys.path,
    "argv": sys.argv,
    "main": sys.modules["__main__"].__file__,
    "signals": {n: str(signal.getsignal(getattr(signal, n))) for n in ("SIGINT", "SIGPIPE", "SIGXFSZ", "SIGTERM")},
    "predicted": weights,
    "keras_home": keras.src.backend.config.keras_home(),
}
with open(report, "w") as fh:
    json.dump(seen, fh)
'''


@pytest.fixture(scope="module")
def python() -> str:
    return runtime_env.local_python()


@pytest.fixture
def modules(tmp_path: Path) -> Path:
    folder = tmp_path / "modules"
    folder.mkdir()
    (folder / "warm_probe.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    (folder / "warm_extra.py").write_text("VALUE = 1\n", encoding="utf-8")
    return folder


def run_probe(
    sandbox: LocalSandbox, python: str, modules: Path, out: Path, role: str, env: dict[str, str] | None = None
) -> tuple[JobResult, dict[str, object]]:
    out.mkdir()
    job = Job(
        name=f"warm-{role}",
        argv=(python, "-m", "warm_probe", role, "/out/seen.json"),
        mounts=(Mount(modules, "/modules"), Mount(out, "/out", read_only=False)),
        cwd="/out",
        env={"PYTHONPATH": str(modules), "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        limits=LIMITS,
    )
    result = sandbox.run(job)
    assert result.ending is Ending.exited and result.exit_code == 0, (result.message, result.output_tail[-2000:])
    return result, json.loads((out / "seen.json").read_text(encoding="utf-8"))


def test_one_jobs_changes_are_invisible_to_the_next_job_forked_from_the_same_process(
    python: str, modules: Path, tmp_path: Path
) -> None:
    sandbox = LocalSandbox(uid=WARM_UID, gid=WARM_UID, warm={"warm_probe": STACK})
    first, dirty = run_probe(sandbox, python, modules, tmp_path / "a", "dirty")
    second, clean = run_probe(sandbox, python, modules, tmp_path / "b", "clean")
    for result in (first, second):
        assert result.isolation["start"].startswith("forked from a warm process"), result.isolation
    # The same warm process forked both, each job a process of its own under the job's uid.
    assert dirty["zygote"] == clean["zygote"] != 1 and psutil.pid_exists(int(dirty["zygote"]))  # type: ignore[call-overload]
    assert dirty["pid"] != clean["pid"] and dirty["uid"] == clean["uid"] == WARM_UID
    # The dirty job did change its own process ...
    assert dirty["files"] == ["left-behind"] and "LEFT_BEHIND" in dirty["env"]  # type: ignore[operator]
    assert dirty["json"] and dirty["tf"] and dirty["builtins"] and dirty["dense_patched"] and dirty["extra_module"]
    assert "/left-behind" in dirty["path"]  # type: ignore[operator]
    # ... and the next one sees none of it: files, environment, modules, monkeypatches, sys.path.
    assert clean["files"] == [] and clean["home"] != dirty["home"]
    assert "LEFT_BEHIND" not in clean["env"] and clean["env_c"] == 0  # type: ignore[operator]
    assert not (clean["json"] or clean["tf"] or clean["builtins"] or clean["dense_patched"] or clean["extra_module"])
    assert "/left-behind" not in clean["path"]  # type: ignore[operator]
    # A Keras model built in a forked child predicts correctly (ones kernel, zero bias: the row sums).
    assert clean["predicted"] == [[6.0, 6.0], [1.5, 1.5]]


def test_a_warm_job_sees_what_a_cold_one_sees(
    python: str, modules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm_sandbox = LocalSandbox(uid=WARM_UID + 1, gid=WARM_UID + 1, warm={"warm_probe": STACK})
    warm_result, warm = run_probe(warm_sandbox, python, modules, tmp_path / "warm", "clean")
    monkeypatch.setenv("LABGRADE_WARM", "0")
    cold_result, cold = run_probe(warm_sandbox, python, modules, tmp_path / "cold", "clean")
    assert (
        warm_result.isolation["start"].startswith("forked") and cold_result.isolation["start"] == "a fresh interpreter"
    )
    for name in ("env", "signals", "predicted", "uid", "env_c"):
        assert warm[name] == cold[name], name
    # sys.path and argv differ only by the job's own folders (each job has its own work folder).
    for name in ("path", "argv"):
        assert [p.replace(str(tmp_path / "warm"), "") for p in warm[name]] == [  # type: ignore[attr-defined]
            p.replace(str(tmp_path / "cold"), "")
            for p in cold[name]  # type: ignore[attr-defined]
        ], name
    assert warm["main"] == cold["main"]
    assert warm["keras_home"] == os.path.join(str(warm["home"]), ".keras")
    assert cold["keras_home"] == os.path.join(str(cold["home"]), ".keras")
    # Everything but the warm process itself is gone once the jobs ended.
    uids = [p.info["uids"] for p in psutil.process_iter(["uids"])]
    assert [u for u in uids if u is not None and u.real == WARM_UID + 1] == []


def test_the_warm_process_stops_by_itself_when_idle(
    python: str, modules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABGRADE_WARM_IDLE_S", "1")
    sandbox = LocalSandbox(uid=WARM_UID + 2, gid=WARM_UID + 2, warm={"warm_probe": ("json",)})
    # An environment of its own: a zygote of its own, started with the short idle time.
    _, seen = run_probe(sandbox, python, modules, tmp_path / "idle", "clean", env={"WARM_TEST": str(tmp_path)})
    zygote = int(seen["zygote"])  # type: ignore[call-overload]
    assert zygote != 1  # the job saw its supervisor's parent: the warm process
    try:
        psutil.Process(zygote).wait(timeout=60)  # raises psutil.TimeoutExpired if it is still running
    except psutil.NoSuchProcess:
        pass  # already gone (the job itself ran longer than the idle time)
    assert not psutil.pid_exists(zygote) or psutil.Process(zygote).status() == psutil.STATUS_ZOMBIE


def test_a_warm_process_that_cannot_start_leaves_the_job_cold(
    python: str, modules: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = LocalSandbox(uid=WARM_UID + 3, gid=WARM_UID + 3, warm={"warm_probe": ("no_such_module_to_preload",)})
    first, seen = run_probe(sandbox, python, modules, tmp_path / "first", "clean")
    again, _ = run_probe(sandbox, python, modules, tmp_path / "again", "clean")
    assert first.isolation["start"] == again.isolation["start"] == "a fresh interpreter"
    assert seen["predicted"] == [[6.0, 6.0], [1.5, 1.5]]
    err = capfd.readouterr().err
    assert err.count("starting warm-clean cold") == 2 and "no_such_module_to_preload" in err


def test_each_virtualenv_and_each_rebuild_of_one_has_a_warm_process_of_its_own(tmp_path: Path) -> None:
    """Every virtualenv's python resolves to the same base interpreter; a zygote of one (or of a deleted, since
    rebuilt one at the same path) would import from files that are not the job's."""
    import subprocess
    import sys

    from graders.backends import zygote

    job = Job(name="evaluate", argv=("python", "-m", zygote.EVALUATOR), mounts=(), cwd="/job")
    one, two = tmp_path / "one", tmp_path / "two"
    for venv in (one, two):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    keys = {zygote.key(str(v / "bin" / "python"), job, ("numpy",)) for v in (one, two)}
    assert len(keys) == 2
    before = zygote.key(str(one / "bin" / "python"), job, ("numpy",))
    subprocess.run(["rm", "-rf", str(one)], check=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(one)], check=True)
    assert zygote.key(str(one / "bin" / "python"), job, ("numpy",)) != before
