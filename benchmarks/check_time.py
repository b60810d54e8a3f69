"""Benchmark: wall time of `labgrade check` on the Good Fashion-MNIST notebook.

    python benchmarks/check_time.py [--repeat 3]

Goal (issue: the grading spine): <= 60 s wall on 2 cores, quick profile,
local sandbox. Writes benchmarks/results/check_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {
    "fashion": ROOT / "submissions/sample/1_Good/Assignment3_FashionMNIST.ipynb",
    "boston": ROOT / "submissions/sample/1_Good/Assignment1_Boston.ipynb",
}


def time_check(notebook: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "graders.cli", "check", str(notebook)], check=True, capture_output=True, cwd=ROOT
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for name, notebook in NOTEBOOKS.items():
        time_check(notebook)  # warm the dataset store and the OS file cache
        samples = [time_check(notebook) for _ in range(args.repeat)]
        results[name] = {"median_s": round(statistics.median(samples), 2), "samples_s": [round(s, 2) for s in samples]}
        print(f"{name}: median {results[name]['median_s']} s over {args.repeat} runs")
    out = ROOT / "benchmarks/results/check_time.json"
    out.write_text(
        json.dumps({"cpus": os.cpu_count(), "machine": platform.machine(), "goal_s": 60, "results": results}, indent=2)
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
