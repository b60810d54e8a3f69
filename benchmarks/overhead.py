"""Benchmark: what the harness costs per submission -- over bare nbclient, and cold vs warm starts.

    python benchmarks/overhead.py [--repeat 5] [--backends local,docker] [--parts bare,submissions,class]

Executes the same small notebook (pandas over the Boston CSV, no TensorFlow)
three ways, interleaved, ``--repeat`` times each:

* bare nbclient in this process (a kernel, the notebook, nothing else); its
  kernel runs on this interpreter, as the sandboxes' kernels do (an installed
  kernel.json may say ``python``, which can be a slower PATH shim);
* the pipeline's execute step on the local backend (supervisor, namespaces,
  uid drop, shims and probe);
* the same on the docker backend (a fresh hardened container per run).

Overhead = median(backend) - median(bare). Goals: <= 1.0 s local, <= 2.0 s
docker.

``submissions``: sample-class notebooks (Good and Weak, Boston and Fashion)
through prepare, execute and evaluate on the local backend, cold
(``LABGRADE_WARM=0``: every job a fresh interpreter) and warm (the trusted
evaluator forked from a process that has imported TensorFlow and Keras),
interleaved, ``--repeat`` times. Per run: the three steps' seconds and the
harness's overhead = their sum - the student's cells (the runner's
``cell_seconds``, which include the kernel's own import of TensorFlow in the
first cell that imports it). The evaluate step is all overhead but the
holdout's forward pass. Goals: median evaluate <= 1.5 s, overhead <= 1 s, warm.

``same``: one notebook of each experiment executed once, its artifacts
evaluated cold, warm and cold again: the results must be equal.

``class``: the sample class graded from a copy (2 workers, local backend,
every experiment), warm, then cold with ``--class-cold``: wall time, the
steps' medians, and whether the marks equal tests/golden/sample_class_marks.csv.

Writes benchmarks/results/overhead.json (the parts run this time replace
theirs, the others are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graders.backends import get_backend  # noqa: E402
from graders.backends.base import Limits  # noqa: E402
from graders.models import LatePolicy  # noqa: E402
from graders.paths import RUNTIME_PACKAGE  # noqa: E402
from graders.rubric import load_rubric  # noqa: E402
from graders.state import GradeContext, GradeState, Task  # noqa: E402
from graders.steps.evaluate import evaluate  # noqa: E402
from graders.steps.execute import execute  # noqa: E402
from graders.steps.prepare import cleanup, prepare  # noqa: E402
from graders.submissions import Student, module_to_notebook, read_submission  # noqa: E402

sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
from labgrade_runtime.runner.run import KERNEL_NAME, NativeKernelSpecs  # noqa: E402

NOTEBOOK = """# %% a small Boston notebook: the work is trivial, so the time is the harness's
import pandas as pd
df = pd.read_csv("BostonHousing.csv")
# %%
print(df.describe().loc["mean"].round(2).to_dict())
# %%
print((df["medv"] > 25).mean())
"""
GOALS = {"local": 1.0, "docker": 2.0}
SAMPLES = [
    ("1_Good", "Assignment1_Boston.ipynb", "boston"),
    ("2_Weak", "Assignment1_Boston.ipynb", "boston"),
    ("1_Good", "Assignment3_FashionMNIST.ipynb", "fashion"),
    ("2_Weak", "Assignment3_FashionMNIST.ipynb", "fashion"),
]
SAME = [  # one notebook of each experiment the sample class has (each rubric's own scoring hook), and two weak ones
    ("1_Good", "Assignment1_Boston.ipynb", "boston"),
    ("1_Good", "Assignment2A_IMDB.ipynb", "imdb"),
    ("1_Good", "Assignment2B_OCR.ipynb", "letters"),
    ("1_Good", "Assignment3_FashionMNIST.ipynb", "fashion"),
    ("1_Good", "Assignment5_GoogleStock.ipynb", "stock"),
    ("1_Good", "MiniProject1_FaceRecognition.ipynb", "face"),
    ("2_Weak", "Assignment1_Boston.ipynb", "boston"),
    ("2_Weak", "Assignment3_FashionMNIST.ipynb", "fashion"),
]
OUT = ROOT / "benchmarks/results/overhead.json"


def _context(backend: str, wall_seconds: int = 600) -> GradeContext:
    return GradeContext(
        course="bench",
        profile="quick",
        seed=1234,
        limits=Limits(cell_seconds=120, wall_seconds=wall_seconds),
        late_policy=LatePolicy(),
        backend=get_backend(backend),
    )


def submission_steps(notebook: Path, experiment: str, warm: bool) -> dict[str, float | str]:
    """prepare, execute and evaluate of one notebook on the local backend; their seconds and the cells'."""
    os.environ["LABGRADE_WARM"] = "1" if warm else "0"
    rubric = load_rubric(experiment)
    sub = read_submission(notebook, [rubric], datetime.now())
    state = GradeState(_context("local"), Task(Student("1", "bench"), rubric, sub, None))
    seconds: dict[str, float] = {}
    try:
        for name, step in (("prepare", prepare), ("execute", execute), ("evaluate", evaluate)):
            start = time.perf_counter()
            step(state)
            seconds[name] = time.perf_counter() - start
    finally:
        cleanup(state)
    execution = state.execution
    run = execution.run if execution is not None else None
    if run is None or state.evaluation is None or not state.evaluation.ok:
        raise SystemExit(f"{notebook}: did not run and evaluate: {state.evaluation or execution}")
    cells = sum(run.cell_seconds.values())
    total = sum(seconds.values())
    return {
        **{k: round(v, 3) for k, v in seconds.items()},
        "cells": round(cells, 3),
        "overhead": round(total - cells, 3),
        "total": round(total, 3),
    }


def submissions(repeat: int) -> dict[str, object]:
    """Cold and warm, interleaved, ``repeat`` times over SAMPLES."""
    runs: dict[str, list[dict[str, float | str]]] = {"cold": [], "warm": []}
    for _ in range(repeat):
        for folder, name, experiment in SAMPLES:
            for mode in ("cold", "warm"):
                row = submission_steps(ROOT / "submissions/sample" / folder / name, experiment, mode == "warm")
                runs[mode].append({"notebook": f"{folder}/{name}", **row})
                print(f"{mode} {folder}/{name}: {row}", flush=True)
    os.environ.pop("LABGRADE_WARM", None)
    medians = {
        mode: {k: round(statistics.median(float(r[k]) for r in rows), 3) for k in ("evaluate", "overhead", "total")}
        for mode, rows in runs.items()
    }
    return {
        "repeat": repeat,
        "median_s": medians,
        "warm_over_cold": {k: round(medians["warm"][k] / medians["cold"][k], 3) for k in medians["cold"]},
        "goal_s": {"evaluate": 1.5, "overhead": 1.0},
        "runs": runs,
    }


def same_evaluation() -> dict[str, object]:
    """Each SAME notebook executed once, its artifacts then evaluated cold and warm: the two results must be equal
    (the warm start changes no number), whatever the load on the host."""
    rows = []
    for folder, name, experiment in SAME:
        rubric = load_rubric(experiment)
        sub = read_submission(ROOT / "submissions/sample" / folder / name, [rubric], datetime.now())
        state = GradeState(_context("local"), Task(Student("1", "bench"), rubric, sub, None))
        results: dict[str, str] = {}
        seconds: dict[str, float] = {}
        try:
            prepare(state)
            execute(state)
            for mode, flag in (("cold", "0"), ("warm", "1"), ("cold_again", "0")):  # is a cold one repeatable?
                os.environ["LABGRADE_WARM"] = flag
                state.status, state.evaluation = None, None
                start = time.perf_counter()
                evaluate(state)
                seconds[mode] = time.perf_counter() - start
                results[mode] = state.evaluation.dump() if state.evaluation is not None else "not evaluated"
        finally:
            os.environ.pop("LABGRADE_WARM", None)
            cleanup(state)
        row = {
            "notebook": f"{folder}/{name}",
            "evaluated": '"ok":true' in results["warm"].replace(" ", ""),
            "warm_equals_cold": results["warm"] == results["cold"],
            "cold_repeatable": results["cold"] == results["cold_again"],
            "evaluate_s": {k: round(v, 3) for k, v in seconds.items()},
        }
        print(f"same: {row}", flush=True)
        rows.append(row)
    return {"all_equal": all(r["warm_equals_cold"] for r in rows), "runs": rows}


def sample_class(warm: bool) -> dict[str, object]:
    """The sample class graded from a copy with 2 workers: wall time, the steps' medians, golden marks."""
    import csv

    from graders import api
    from graders.config import Overrides

    os.environ["LABGRADE_WARM"] = "1" if warm else "0"
    work = Path(tempfile.mkdtemp(prefix="labgrade-bench-class-"))
    try:
        dest = work / "course"
        shutil.copytree(ROOT / "submissions", dest)
        toml = (dest / "course.toml").read_text(encoding="utf-8")
        toml = toml.replace('gradebook = "../grading/gradebook.sqlite"', 'gradebook = "out/gradebook.sqlite"')
        toml = toml.replace('reports = "../reports"', 'reports = "out/reports"')
        (dest / "course.toml").write_text(toml, encoding="utf-8")
        start = time.perf_counter()
        summary = api.grade(course=dest / "course.toml", overrides=Overrides(backend="local", workers=2))
        wall = time.perf_counter() - start
        with open(dest / "out/reports/marks.csv", encoding="utf-8", newline="") as fh:
            marks = list(csv.DictReader(fh))
        with open(ROOT / "tests/golden/sample_class_marks.csv", encoding="utf-8", newline="") as fh:
            golden = list(csv.DictReader(fh))
    finally:
        os.environ.pop("LABGRADE_WARM", None)
        shutil.rmtree(work, ignore_errors=True)
    steps = {
        step: round(statistics.median(r.provenance.durations.get(step, 0.0) for r in summary.runs), 3)
        for step in ("prepare", "execute", "evaluate", "total")
    }
    different = [f"{m['name']}/{m['experiment']}" for m, g in zip(marks, golden, strict=False) if m != g]
    return {
        "runs": len(summary.runs),
        "wall_s": round(wall, 1),
        "median_step_s": steps,
        "marks_equal_golden": marks == golden,
        "rows_differing": different + ([] if len(marks) == len(golden) else ["(row count differs)"]),
    }


def bare(folder: Path) -> float:
    """Execute the notebook with nbclient alone, in ``folder`` (which holds the CSV)."""
    nb = module_to_notebook(NOTEBOOK)
    start = time.perf_counter()
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=NativeKernelSpecs())
    NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(folder)}}).execute(cleanup_kc=True)
    return time.perf_counter() - start


def sandboxed(backend: str, source: Path) -> float:
    """The pipeline's execute step on ``backend`` (prepare is not counted; it is a file copy)."""
    rubric = load_rubric("boston")
    sub = read_submission(source, [rubric], datetime.now())
    state = GradeState(_context(backend, wall_seconds=300), Task(Student("1", "bench"), rubric, sub, None))
    prepare(state)
    try:
        start = time.perf_counter()
        execute(state)
        elapsed = time.perf_counter() - start
    finally:
        cleanup(state)
    result = state.execution
    if result is None or result.run is None or result.run.status != "completed":
        raise SystemExit(f"{backend}: the benchmark notebook did not complete: {result.job if result else 'not run'}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", default="local,docker")
    parser.add_argument("--parts", default="bare,submissions,same,class", help="which parts to run")
    parser.add_argument("--class-cold", action="store_true", help="also grade the class cold")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    previous = json.loads(OUT.read_text(encoding="utf-8")) if OUT.is_file() else {}
    results: dict[str, object] = {"cpus": os.cpu_count(), "machine": platform.machine()}
    if "bare" in parts:
        results.update(bare_vs_backends(args.repeat, [b for b in args.backends.split(",") if b]))
    else:
        results.update({k: v for k, v in previous.items() if k not in ("submissions", "class", "cpus", "machine")})
    if "submissions" in parts:
        results["submissions"] = submissions(args.repeat)
        med = results["submissions"]["median_s"]  # type: ignore[index]
        print(f"submissions: median cold {med['cold']} s, warm {med['warm']} s")
        OUT.write_text(json.dumps({**previous, **results}, indent=2) + "\n", encoding="utf-8")  # kept if the rest fails
    elif "submissions" in previous:
        results["submissions"] = previous["submissions"]
    if "same" in parts:
        results["same"] = same_evaluation()
        OUT.write_text(json.dumps({**previous, **results}, indent=2) + "\n", encoding="utf-8")
    elif "same" in previous:
        results["same"] = previous["same"]
    if "class" in parts:
        results["class"] = {"warm": sample_class(True), **({"cold": sample_class(False)} if args.class_cold else {})}
        print(f"class: {results['class']}")
    elif "class" in previous:
        results["class"] = previous["class"]
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


def bare_vs_backends(repeat: int, backends: list[str]) -> dict[str, object]:
    """The small notebook: bare nbclient vs the execute step on each backend."""
    work = Path(tempfile.mkdtemp(prefix="labgrade-bench-"))
    shutil.copy(ROOT / "rubrics/boston/data/BostonHousing.csv", work)
    source = work / "boston_bench.py"
    source.write_text(NOTEBOOK, encoding="utf-8")
    samples: dict[str, list[float]] = {"bare": [], **{b: [] for b in backends}}
    bare(work)  # warm caches (imports, dataset store) before measuring
    for b in backends:
        sandboxed(b, source)
    for _ in range(repeat):
        samples["bare"].append(bare(work))
        for b in backends:
            samples[b].append(sandboxed(b, source))
    shutil.rmtree(work, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    results = {
        "repeat": repeat,
        "median_s": {k: round(v, 3) for k, v in medians.items()},
        "samples_s": {k: [round(x, 3) for x in v] for k, v in samples.items()},
        "overhead_s": {b: round(medians[b] - medians["bare"], 3) for b in backends},
        "goal_s": {b: GOALS[b] for b in backends if b in GOALS},
    }
    for b in backends:
        print(
            f"{b}: median {medians[b]:.2f} s vs bare nbclient {medians['bare']:.2f} s -> "
            f"overhead {medians[b] - medians['bare']:+.2f} s (goal {GOALS.get(b, '?')} s)"
        )
    return results


if __name__ == "__main__":
    raise SystemExit(main())
