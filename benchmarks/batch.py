"""How a class batch scales: workers, an unchanged regrade, rendering a large gradebook, resuming after a kill.

    PYTHONPATH=.:sandbox/runtime python benchmarks/batch.py [--quick]

(a) parallel efficiency: the same small boston class graded with 1 and with 2
    workers (local backend, fresh gradebooks); efficiency = T1 / (2 x T2);
(b) regrade: the second ``labgrade grade`` of the unchanged sample class (every
    enabled experiment; with ``--quick`` the small class of (a)) -- plan, reuse,
    render; target <= 5 s;
(c) render: ``api.report`` of a synthetic gradebook of 500 students x 8
    experiments (runs built directly, every experiment given to every student,
    each with a training history drawn as inline SVG): the first, full render
    (target <= 10 s on 2 cores) and a second one with nothing changed (only
    the register, the index and the CSV are written again);
(d) resume: the second ``grade`` after a SIGKILL just after the first run was
    recorded, against the uninterrupted time of the work that was left.

Every ``grade`` is a real subprocess (``python -m graders.cli``); wall times.
The host's load average is written beside the numbers: the figures of (a) and
(d) mean little on a host busy with other work. Writes
benchmarks/results/batch.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "sandbox" / "runtime")]

from graders import api  # noqa: E402
from graders.config import load_course  # noqa: E402
from graders.gradebook import Gradebook  # noqa: E402
from graders.models import (  # noqa: E402
    Adaptation,
    CheckResult,
    Component,
    ComponentMarks,
    Provenance,
    RunRecord,
    Status,
    VivaQuestion,
)
from graders.submissions import class_list  # noqa: E402
from tests.artifacts_helper import make_run  # noqa: E402
from tests.batch_helpers import Watched, copy_course, recorded_runs, run_grade, small_class  # noqa: E402

OUT = Path(__file__).with_name("results") / "batch.json"
TARGETS = {"regrade_seconds": 5.0, "render_seconds": 10.0}


def timed_grade(course: Path, *args: str) -> tuple[float, int]:
    """Wall seconds of one ``labgrade grade`` subprocess, and how many submissions it executed."""
    started = time.perf_counter()
    summary, _ = run_grade(course, *args, timeout=3600)
    return time.perf_counter() - started, summary.executed


def parallel(tmp: Path, rolls: tuple[str, ...]) -> tuple[dict[str, float], Path]:
    """(a): T1 and T2 on fresh copies of the same class; the figures and the course graded with 2 workers."""
    t1, n1 = timed_grade(small_class(tmp / "w1", rolls, (), workers=1))
    course = small_class(tmp / "w2", rolls, (), workers=2)
    t2, n2 = timed_grade(course)
    assert n1 == n2 == len(rolls)
    return {
        "submissions": len(rolls),
        "t1_seconds": round(t1, 2),
        "t2_seconds": round(t2, 2),
        "speedup": round(t1 / t2, 3),
        "efficiency": round(t1 / (2 * t2), 3),
    }, course


def sample_class(tmp: Path) -> Path:
    """The whole sample class with the local backend and 2 workers, in ``tmp``."""
    course = copy_course(tmp)
    text = course.read_text(encoding="utf-8").replace('backend = "auto"', 'backend = "local"')
    course.write_text(text, encoding="utf-8")
    return course


def regrade(course: Path) -> dict[str, float]:
    """(b): the second grade of an already graded, unchanged course."""
    seconds, executed = timed_grade(course)
    assert executed == 0, f"the unchanged class executed {executed} submission(s)"
    total = len(recorded_runs(load_course(course).gradebook))
    return {"runs": total, "seconds": round(seconds, 2), "target_seconds": TARGETS["regrade_seconds"]}


def synthetic_run(roll: int, name: str, experiment: str, at: datetime, rank: int, curves: bool) -> RunRecord:
    """One plausible graded run: checks, marks, viva questions, provenance, and a training history if ``curves``."""
    completed = rank % 7 != 0
    history = {"loss": [1.0 / (e + 1) for e in range(20)], "val_loss": [1.1 / (e + 1) for e in range(20)]}
    history = history if curves else {}
    checks = [
        CheckResult(
            id=f"c{i}",
            title=f"Check {i}",
            component=Component.coding_efficiency,
            points=1,
            awarded=1.0 if completed else 0.0,
            passed=completed,
            evidence="0.88 vs 0.90",
        )
        for i in range(6)
    ]
    return make_run(
        run_id=f"{experiment}-{roll}",
        course="",
        roll_no=str(roll),
        name=name,
        experiment=experiment,
        status=Status.completed if completed else Status.cell_error,
        reason="" if completed else "cell 3 raised",
        submitted_at=at - timedelta(hours=rank % 48),
        graded_at=at,
        metrics={"score": 0.8 + (rank % 20) / 100},
        checks=checks,
        marks=ComponentMarks(
            answers=4, coding_efficiency=3.5 if completed else 1, viva=0, timely_completion=5 - rank % 3
        ),
        viva=[VivaQuestion(question=f"Question {i}?", answer=f"answer {i}") for i in range(5)],
        adaptations=[Adaptation(kind="epoch_cap", detail="epochs 10 -> 2")],
        history=history,
        architecture=[{"name": "dense", "class_name": "Dense", "output_shape": [None, 64], "params": 896}],
        provenance=Provenance(harness_version="0.1.0", backend="local", profile="quick", seed=1234),
    )


def render(tmp: Path, students: int, curves: bool) -> dict[str, float]:
    """(c): a course of ``students`` x every experiment, its gradebook filled directly, then ``api.report``.

    With ``curves`` every run has a training history, so each feedback page gets its curves.png drawn.
    """
    course = copy_course(tmp)
    text = course.read_text(encoding="utf-8")
    text = re.sub(r"\[mini_projects\.allot\]\n(?:\w+ = \[\d+, \d+\]\n)+", "[mini_projects]\nallot = {}\n", text)
    course.write_text(text, encoding="utf-8")
    roster = ["roll_no,name"] + [f"{i},Student {i}" for i in range(1, students + 1)]
    (course.parent / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
    cfg = load_course(course)
    cfg.gradebook.parent.mkdir(parents=True, exist_ok=True)
    at = datetime(2026, 10, 1, 12, 0)
    started = time.perf_counter()
    with Gradebook(cfg.gradebook) as book:
        rank = 0
        for student, mine in class_list(cfg):
            for exp in mine:
                rank += 1
                run = synthetic_run(int(student.roll_no), student.name, exp, at, rank, curves)
                book.record_run(run.model_copy(update={"course": cfg.name}))
    built = time.perf_counter() - started
    experiments = len(cfg.enabled)
    started = time.perf_counter()
    files = api.report(course=course)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = api.report(course=course)  # nothing changed since: only the class pages are written again
    unchanged = time.perf_counter() - started
    return {
        "students": students,
        "experiments": experiments,
        "runs": rank,
        "curves": curves,
        "files_written": len(files),
        "build_seconds": round(built, 2),
        "seconds": round(seconds, 2),
        "seconds_per_run": round(seconds / rank, 4),
        "unchanged_files_written": len(again),
        "unchanged_seconds": round(unchanged, 2),
    }


def render_figures(tmp: Path, students: int) -> dict[str, object]:
    """(c): the full-size gradebook, every run with its curves, rendered from nothing and then again unchanged."""
    return {**render(tmp / "full", students, curves=True), "target_seconds": TARGETS["render_seconds"]}


def resume(tmp: Path, rolls: tuple[str, ...], t1: float) -> dict[str, float]:
    """(d): SIGKILL after the first recorded run, then the second grade; against T1 x the share of work left."""
    course = small_class(tmp / "resume", rolls, (), workers=1)
    book = load_course(course).gradebook
    watched = Watched(course, tmp / "killed.log")
    watched.wait_until(lambda: len(recorded_runs(book)) >= 1, "the first run was recorded", timeout=3600)
    watched.kill(signal.SIGKILL)
    watched.wait()
    done = len(recorded_runs(book))
    seconds, executed = timed_grade(course)
    assert executed == len(rolls) - done
    expected = t1 * executed / len(rolls)
    return {
        "submissions": len(rolls),
        "recorded_before_kill": done,
        "executed_on_resume": executed,
        "seconds": round(seconds, 2),
        "uninterrupted_share_seconds": round(expected, 2),
        "ratio": round(seconds / expected, 3) if expected else 0.0,
    }


def main() -> int:
    """Run the four measurements, write the results file, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 submissions for (a)/(d), the small class for (b)")
    parser.add_argument("--students", type=int, default=500, help="students of the synthetic gradebook (c)")
    parser.add_argument("--only", choices=["render"], help="run only this measurement (c), on its own")
    args = parser.parse_args()
    if args.only == "render":
        with tempfile.TemporaryDirectory(prefix="labgrade-bench-render-") as scratch:
            figures = render_figures(Path(scratch), args.students)
        print(json.dumps({**figures, "load_average": [round(x, 1) for x in os.getloadavg()]}, indent=2))
        return 0
    rolls = ("1", "2") if args.quick else ("1", "2", "6", "7")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="labgrade-bench-batch-") as scratch:
        tmp = Path(scratch)
        results: dict[str, object] = {}
        first = 0.0
        if not args.quick:  # the first grade of the whole class is not a figure: it only makes (b)'s gradebook
            course = sample_class(tmp / "sample")
            first, _ = timed_grade(course)
        results["render"] = render_figures(tmp / "render", args.students)
        par, graded = parallel(tmp / "parallel", rolls)
        results["parallel"] = par
        if args.quick:
            results["regrade"] = regrade(graded)
        else:
            results["regrade"] = {**regrade(course), "first_grade_seconds": round(first, 2)}
        results["resume"] = resume(tmp, rolls, par["t1_seconds"])
    results["host"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quick": args.quick,
        "load_average_before": [round(x, 1) for x in load_before],
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
        "measured_at": datetime.now().isoformat(timespec="seconds"),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    _table(results)
    return 0


def _table(results: dict[str, object]) -> None:
    par, reg, ren, res = (results[k] for k in ("parallel", "regrade", "render", "resume"))
    assert isinstance(par, dict) and isinstance(reg, dict) and isinstance(ren, dict) and isinstance(res, dict)
    rows = [
        (
            "(a) 2 workers vs 1",
            f"T1 {par['t1_seconds']} s, T2 {par['t2_seconds']} s",
            f"speed-up {par['speedup']}, efficiency {par['efficiency']}",
        ),
        ("(b) unchanged regrade", f"{reg['runs']} runs: {reg['seconds']} s", f"target <= {reg['target_seconds']} s"),
        (
            "(c) render",
            f"{ren['students']} x {ren['experiments']} ({ren['runs']} runs, curves): {ren['seconds']} s",
            f"target <= {ren['target_seconds']} s",
        ),
        ("(c) render again, unchanged", f"{ren['unchanged_files_written']} files: {ren['unchanged_seconds']} s", ""),
        (
            "(d) resume after SIGKILL",
            f"{res['executed_on_resume']} left: {res['seconds']} s",
            f"x{res['ratio']} of the uninterrupted share ({res['uninterrupted_share_seconds']} s)",
        ),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    print(f"written to {OUT}")


if __name__ == "__main__":
    sys.exit(main())
