"""What the quick profile's training budget costs a notebook's metric: quick against the same notebook uncapped.

    python benchmarks/caps.py [--only NAME ...] [--repeat-uncut]

Grades each notebook of ``tests/caps_notebooks.py`` (a cheap and a slow-converging one per core experiment)
as ``labgrade check`` does (local sandbox): in the quick profile, and in the quick profile without its fit
budget (what ``grade --uncapped-inconclusive`` repeats). A quick run the budget cut nothing of (no fit over
its budget) is the uncapped run already, so it is not run again unless ``--repeat-uncut`` says so. Prints,
per notebook, the metric and metric points both ways, the budget's cut and whether the quick run was
inconclusive; per experiment, the ratio of the quick metric to the uncapped one (for an error such as MSE,
uncapped over quick, so that 1.0 means no loss and below 1 a loss). A run the budget left inconclusive is
not a loss: its marks wait for the uncapped run. Writes benchmarks/results/caps.json, with the host's load
average before and after (the figures are metrics, not times; the times are the host's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from statistics import mean
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "sandbox" / "runtime")]

from graders import api  # noqa: E402
from graders.backends.base import Limits  # noqa: E402
from graders.rubric import load_rubric  # noqa: E402
from tests.caps_notebooks import CASES, CapsCase, notebook  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "caps.json"
# An uncapped run trains as long as its author asked: the self-check's 120 s per cell would cut it short.
LIMITS = Limits(cell_seconds=1800, wall_seconds=3600)
BUDGET_NOTES = ("fit_budget", "heavy_budget")  # the adaptations a quick profile's budget of work makes


def _grade(case: CapsCase, folder: Path, uncapped: bool) -> dict[str, Any]:
    path = folder / f"{case.name}.ipynb"
    nbformat.write(notebook(case), path)
    started = time.perf_counter()
    run = api.check(notebook=path, experiment=case.experiment, backend="local", limits=LIMITS, uncapped=uncapped)
    name = load_rubric(case.experiment).metric.name
    metric = next((c for c in run.checks if c.id == "metric"), None)
    fit = run.artifacts.fits[-1] if run.artifacts is not None and run.artifacts.fits else None
    return {
        "status": run.status.value,
        "metric_name": name,
        "metric": run.metrics.get(name),
        "metric_points": metric.awarded if metric is not None else None,
        "inconclusive": bool(metric is not None and metric.inconclusive),
        "cut": any(a.kind in BUDGET_NOTES for a in run.adaptations),
        "updates": fit.updates if fit is not None else None,
        "updates_asked": fit.updates_asked if fit is not None else None,
        "epochs_run": len(fit.losses) if fit is not None else None,
        "evidence": metric.evidence if metric is not None else run.reason,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _fmt(graded: dict[str, Any]) -> str:
    value = graded["metric"]
    shown = "n/a" if value is None else f"{value:.4g}"
    points = graded["metric_points"]
    return f"{shown:<8} ({'?' if points is None else f'{points:g}'} pts, {graded['status']})"


def _ratio(experiment: str, quick: float | None, uncapped: float | None) -> float | None:
    """1.0: the budget cost nothing; below 1: the quick metric is worse by that factor."""
    if quick is None or uncapped is None:
        return None
    higher = load_rubric(experiment).metric.higher_is_better
    top, bottom = (quick, uncapped) if higher else (uncapped, quick)
    return round(top / bottom, 4) if bottom else None


def main() -> int:
    """Grade the notebooks both ways; print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="case names (default: all)")
    parser.add_argument(
        "--repeat-uncut", action="store_true", help="run a notebook uncapped even when the budget cut nothing of it"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.only or ()) - {c.name for c in CASES})
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    cases = [c for c in CASES if not args.only or c.name in args.only]
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            quick = _grade(case, Path(tmp), False)
            if quick["cut"] or args.repeat_uncut or quick["status"] != "completed":
                uncapped = _grade(case, Path(tmp), True)
            else:  # the budget cut nothing: without it, the notebook runs exactly as it just did
                uncapped = {**quick, "same_run_as_quick": True, "seconds": 0.0}
            ratio = _ratio(case.experiment, quick["metric"], uncapped["metric"])
            rows.append(
                {
                    "case": case.name,
                    "experiment": case.experiment,
                    "kind": case.kind,
                    "quick": quick,
                    "uncapped": uncapped,
                    "ratio": ratio,
                }
            )
            print(
                f"{case.name:<36} {case.kind:<5} {quick['metric_name']:<8} quick {_fmt(quick)} "
                f"uncapped {_fmt(uncapped)} ratio {ratio!s:<7} updates {quick['updates']}/{quick['updates_asked']}"
                f"{'  (uncut: the same run)' if uncapped.get('same_run_as_quick') else ''}"
                f"{'  INCONCLUSIVE' if quick['inconclusive'] else ''}",
                flush=True,
            )
    per_experiment = {}
    for exp in dict.fromkeys(r["experiment"] for r in rows):
        ratios = [r["ratio"] for r in rows if r["experiment"] == exp and r["ratio"] is not None]
        decided = [
            r["ratio"]
            for r in rows
            if r["experiment"] == exp and r["ratio"] is not None and not r["quick"]["inconclusive"]
        ]
        per_experiment[exp] = {
            "ratio": round(mean(ratios), 4) if ratios else None,
            "ratio_decided_runs": round(mean(decided), 4) if decided else None,
            "points_lost_when_decided": sum(
                (r["uncapped"]["metric_points"] or 0) - (r["quick"]["metric_points"] or 0)
                for r in rows
                if r["experiment"] == exp and not r["quick"]["inconclusive"]
            ),
        }
    print("per experiment (quick / uncapped; 1.0 = the budget cost nothing):")
    for exp, figures in per_experiment.items():
        print(
            f"  {exp:<8} ratio {figures['ratio']}  (decided runs {figures['ratio_decided_runs']}; metric points "
            f"lost by decided runs {figures['points_lost_when_decided']:g})"
        )
    results = {
        "command": "python benchmarks/caps.py" + (" --repeat-uncut" if args.repeat_uncut else ""),
        "cases": rows,
        "per_experiment": per_experiment,
        "seconds": round(time.perf_counter() - started, 1),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "load_average_before": load_before,  # 1, 5 and 15 minutes: the host is shared
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now().isoformat(timespec="seconds"),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{len(rows)} notebooks in {results['seconds']:.0f} s; results in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
