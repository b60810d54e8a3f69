"""Small classes and a watched ``labgrade grade`` subprocess, shared by the batch tests and the batch benchmark.

A small class is the sample course copied into a temporary folder with only
boston enabled and a roster cut down to a few students (plus any roll numbers
that hand in nothing), graded with the local backend: real kernels, but few
enough of them for a 2-core host. Everything a test waits for is observed in
files -- the gradebook opened read-only, the subprocess's output log, the
reports folder -- never guessed with sleeps.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from graders.config import Overrides, load_course
from graders.gradebook import Gradebook
from graders.models import RunRecord
from tests.conftest import copy_course, read_csv

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_ROOT = ROOT / "sandbox" / "runtime"
ROSTER = {"1": "Good", "2": "Weak", "3": "Broken", "4": "Late", "5": "Hang", "6": "Forger", "7": "Silent"}
SUMMARY = re.compile(r"(\d+) submission\(s\): (\d+) executed, (\d+) re-scored from stored artifacts, (\d+) unchanged")


def small_class(
    tmp: Path,
    rolls: Sequence[str] = ("1", "2", "3"),
    missing: Sequence[str] = ("20",),
    *,
    experiments: Sequence[str] = ("boston",),
    workers: int = 1,
    cell_seconds: int | None = None,
) -> Path:
    """A copy of the sample course with only ``experiments`` enabled and ``rolls`` (+ ``missing``) on the roster.

    ``missing`` roll numbers have no folder, so each of their experiments is graded "missing" without a kernel.
    """
    course = copy_course(tmp, cell_seconds=cell_seconds)
    text = course.read_text(encoding="utf-8")
    text = text.replace('backend = "auto"', 'backend = "local"').replace("workers = 2", f"workers = {workers}")
    text = re.sub(r"\nenabled = true\n", "\n", text)
    blocks = re.split(r"(?m)^(?=\[experiments\.)", text)
    out = [blocks[0]]
    for block in blocks[1:]:
        exp = block[len("[experiments.") : block.index("]")]
        if exp not in experiments:
            block = block.replace("]\n", "]\nenabled = false\n", 1)
        out.append(block)
    course.write_text("".join(out), encoding="utf-8")
    names = {**ROSTER, **{roll: f"Absent{roll}" for roll in missing}}
    lines = ["roll_no,name"] + [f"{roll},{names[roll]}" for roll in [*rolls, *missing]]
    (course.parent / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = load_course(course)
    assert cfg.enabled == list(experiments), cfg.enabled
    return course


def env_for_subprocess(home: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a subprocess ``labgrade``: this worktree importable, optionally another LABGRADE_HOME."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(RUNTIME_ROOT)])
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"  # rich wraps the summary line at the terminal's width otherwise
    if home is not None:
        env["LABGRADE_HOME"] = str(home)
    env.update(extra or {})
    return env


# ``labgrade`` with the local backend's sandbox replaced by one that leaves a marker file and refuses: a grade that
# must not start a kernel (everything reused or re-scored) proves it by the marker's absence
_NO_KERNEL = """
import sys
from pathlib import Path
from graders.backends.local import LocalSandbox
def refuse(self, job):
    Path(sys.argv[1]).write_text("a kernel was started", encoding="utf-8")
    raise RuntimeError("this grade must not start a kernel")
LocalSandbox.run = refuse
from graders.cli import main
sys.exit(main(sys.argv[2:]))
"""


def grade_command(course: Path, *args: str, no_kernel: Path | None = None) -> list[str]:
    """``labgrade grade`` for ``course`` as a command line (the local backend; ``no_kernel``: see above)."""
    verb = ["grade", "--course", str(course), "--backend", "local", *args]
    if no_kernel is not None:
        return [sys.executable, "-c", _NO_KERNEL, str(no_kernel), *verb]
    return [sys.executable, "-m", "graders.cli", *verb]


@dataclass
class Summary:
    """The counts of the summary line ``labgrade grade`` prints last."""

    total: int
    executed: int
    rescored: int
    reused: int


def parse_summary(output: str) -> Summary:
    """The summary line of a finished ``grade``; an AssertionError naming the output when there is none."""
    flat = " ".join(output.split())
    found = SUMMARY.search(flat)
    assert found, f"no summary line in the output:\n{output[-3000:]}"
    return Summary(*(int(g) for g in found.groups()))


def run_grade(
    course: Path, *args: str, env: dict[str, str] | None = None, no_kernel: Path | None = None, timeout: float = 900
) -> tuple[Summary, str]:
    """Run ``labgrade grade`` to the end; its summary and output. A non-zero exit is an AssertionError."""
    proc = subprocess.run(
        grade_command(course, *args, no_kernel=no_kernel),
        env=env or env_for_subprocess(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"grade exited {proc.returncode}:\n{output[-3000:]}"
    return parse_summary(output), output


class Watched:
    """A ``labgrade grade`` subprocess in its own process group, its output in a log file."""

    def __init__(self, course: Path, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._fh = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            grade_command(course, *args),
            env=env or env_for_subprocess(),
            cwd=ROOT,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.proc.pid)

    def output(self) -> str:
        """What the subprocess printed so far."""
        if not self._fh.closed:
            self._fh.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def family(self) -> list[psutil.Process]:
        """The subprocess and every process it started that is still alive (kernels, runners)."""
        try:
            return [self.ps, *self.ps.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 600, poll: float = 0.02) -> None:
        """Poll ``condition`` until it holds; an AssertionError if the subprocess ends first or time runs out."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                ended = f"grade ended (exit {self.proc.returncode}) before {what}"
                raise AssertionError(f"{ended}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.output()[-3000:]}")
            time.sleep(poll)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> list[psutil.Process]:
        """Send ``sig`` to the grading process only; the descendants it had at that moment."""
        children = self.family()[1:]
        self.proc.send_signal(sig)
        return children

    def wait(self, timeout: float = 120) -> int:
        """The exit code, once the subprocess has ended."""
        code = self.proc.wait(timeout=timeout)
        self._fh.close()
        return code


def recorded_runs(gradebook: Path) -> list[tuple[str, str, str]]:
    """(run_id, roll_no, experiment) of every run row, in insertion order, read without taking a write lock.

    An absent or not yet created gradebook has no runs. The file is opened read-only (``mode=ro``) so the
    polling never disturbs the batch writing it.
    """
    if not gradebook.is_file():
        return []
    try:
        db = sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        return [tuple(row) for row in db.execute("SELECT run_id, roll_no, experiment FROM runs ORDER BY seq")]
    except sqlite3.Error:  # the schema is not there yet
        return []
    finally:
        db.close()


def runs_per_key(gradebook: Path) -> dict[tuple[str, str], int]:
    """How many runs the gradebook holds for each (roll_no, experiment)."""
    counts: dict[tuple[str, str], int] = {}
    for _, roll, exp in recorded_runs(gradebook):
        counts[(roll, exp)] = counts.get((roll, exp), 0) + 1
    return counts


def latest(course: Path) -> dict[tuple[str, str], RunRecord]:
    """The latest run per (roll_no, experiment), every stored run read back through ``get_run`` as well."""
    cfg = load_course(course)
    with Gradebook(cfg.gradebook) as book:
        for run_id, _, _ in recorded_runs(cfg.gradebook):
            assert book.get_run(run_id) is not None, run_id
        return {(r.roll_no, r.experiment): r for r in book.latest_runs(cfg.name)}


def marks_of(runs: dict[tuple[str, str], RunRecord]) -> dict[tuple[str, str], tuple[str, dict[str, float]]]:
    """Status and the four columns of each run: what two equivalent batches must agree on."""
    return {key: (run.status.value, run.marks.model_dump()) for key, run in sorted(runs.items())}


def survivors(procs: Iterable[psutil.Process], grace: float = 60) -> list[str]:
    """Those of ``procs`` still alive once ``grace`` seconds have passed for them to end (zombies count as gone).

    A killed harness's sandboxes are ended by their supervisors, which see their stdin close: that takes a
    moment, so each process is given ``grace`` to go before it counts as left over.
    """
    gone, alive = psutil.wait_procs(list(procs), timeout=grace)
    left = []
    for proc in alive:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{proc.pid} {' '.join(proc.cmdline())[:200]}")
        except psutil.NoSuchProcess:
            continue
    return left


def plan_counts(course: Path) -> tuple[int, int, int]:
    """What the next ``grade`` of ``course`` would do, without doing it: (executed, re-scored, reused)."""
    from graders import api, batch
    from graders.config import GradeSettings
    from graders.executors.grading import session_context

    cfg = load_course(course, Overrides(backend="local"))
    sandbox, _ = api.choose_backend(cfg.backend)
    ctx = session_context(GradeSettings.of(cfg), sandbox)
    with Gradebook(cfg.gradebook) as book:
        todo = batch.plan(ctx, api._tasks(cfg, None, None), book)
    return len(todo.execute), len(todo.rescore), len(todo.reuse)


def copy_home(tmp: Path) -> Path:
    """A ``LABGRADE_HOME`` of this checkout's ``rubrics/`` and ``reference/`` that a test may edit."""
    from graders.paths import HOME

    home = tmp / "home"
    for part in ("rubrics", "reference"):
        shutil.copytree(HOME / part, home / part)
    return home


def copy_graded(course: Path, tmp: Path) -> Path:
    """A copy of a graded course folder, its gradebook and reports included (their paths are relative)."""
    dest = tmp / "graded"
    shutil.copytree(course.parent, dest)
    return dest / course.name


@dataclass
class Baseline:
    """An uninterrupted ``grade`` of the small class: what every interrupted or re-run batch must end at."""

    course: Path
    marks: dict[tuple[str, str], tuple[str, dict[str, float]]]
    csv: dict[tuple[str, str], dict[str, str]]
    summary: Summary


_BASELINES: dict[tuple[str, ...], Baseline] = {}


def baseline(tmp: Path, rolls: Sequence[str] = ("1", "2", "3"), missing: Sequence[str] = ("20",)) -> Baseline:
    """The small class graded once per test session (the batch and the Ray tests compare against the same one)."""
    key = (*rolls, "|", *missing)
    if key not in _BASELINES:
        course = small_class(tmp, rolls, missing)
        summary, _ = run_grade(course)
        cfg = load_course(course)
        _BASELINES[key] = Baseline(course, marks_of(latest(course)), read_csv(cfg.reports / "marks.csv"), summary)
    return _BASELINES[key]
