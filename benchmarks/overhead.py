"""Benchmark: what a sandbox costs per submission over bare nbclient.

    python benchmarks/overhead.py [--repeat 5] [--backends local,docker]

Executes the same small notebook (pandas over the Boston CSV, no TensorFlow)
three ways, interleaved, ``--repeat`` times each:

* bare nbclient in this process (a kernel, the notebook, nothing else); its
  kernel runs on this interpreter, as the sandboxes' kernels do (an installed
  kernel.json may say ``python``, which can be a slower PATH shim);
* the pipeline's execute step on the local backend (supervisor, namespaces,
  uid drop, shims and probe);
* the same on the docker backend (a fresh hardened container per run).

Overhead = median(backend) - median(bare). Goals: <= 1.0 s local, <= 2.0 s
docker. Writes benchmarks/results/overhead.json.
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
    ctx = GradeContext(
        course="bench",
        profile="quick",
        seed=1234,
        limits=Limits(cell_seconds=120, wall_seconds=300),
        late_policy=LatePolicy(),
        backend=get_backend(backend),
    )
    state = GradeState(ctx, Task(Student("1", "bench"), rubric, sub, None))
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
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    work = Path(tempfile.mkdtemp(prefix="labgrade-bench-"))
    shutil.copy(ROOT / "rubrics/boston/data/BostonHousing.csv", work)
    source = work / "boston_bench.py"
    source.write_text(NOTEBOOK, encoding="utf-8")
    samples: dict[str, list[float]] = {"bare": [], **{b: [] for b in backends}}
    bare(work)  # warm caches (imports, dataset store) before measuring
    for b in backends:
        sandboxed(b, source)
    for _ in range(args.repeat):
        samples["bare"].append(bare(work))
        for b in backends:
            samples[b].append(sandboxed(b, source))
    shutil.rmtree(work, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    results = {
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "median_s": {k: round(v, 3) for k, v in medians.items()},
        "samples_s": {k: [round(x, 3) for x in v] for k, v in samples.items()},
        "overhead_s": {b: round(medians[b] - medians["bare"], 3) for b in backends},
        "goal_s": {b: GOALS[b] for b in backends if b in GOALS},
    }
    out = ROOT / "benchmarks/results/overhead.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for b in backends:
        print(
            f"{b}: median {medians[b]:.2f} s vs bare nbclient {medians['bare']:.2f} s -> "
            f"overhead {medians[b] - medians['bare']:+.2f} s (goal {GOALS.get(b, '?')} s)"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
