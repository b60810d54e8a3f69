"""How the realistic notebooks fare: completion rate and statuses of every fixture in tests/realistic.

    PYTHONPATH=.:sandbox/runtime python benchmarks/realistic.py [--workers 2]

Grades each fixture notebook as ``labgrade check`` does (quick profile, local
sandbox) and prints the completion rate, the count per status, and the cases
whose outcome is not the one the fixture deserves (the realistic suite's own
expectations). Writes benchmarks/results/realistic.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "sandbox" / "runtime"), str(ROOT / "tests" / "realistic")]

from cases import CASES  # noqa: E402

from graders.models import RunRecord  # noqa: E402
from tests.realistic.test_realistic import expected, gradable, grade_all  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "realistic.json"


def main() -> int:
    """Grade every gradable fixture, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cases = [c for c in CASES if gradable(c)]
    started = time.perf_counter()
    runs = grade_all(cases, workers=args.workers)
    seconds = time.perf_counter() - started
    statuses = Counter(r.status.value if isinstance(r, RunRecord) else "harness_raised" for r in runs.values())
    wrong = []
    for case in cases:
        run, (status, _, _) = runs[case.name], expected(case)
        got = run.status.value if isinstance(run, RunRecord) else f"raised {type(run).__name__}"
        if got != status:
            wrong.append({"case": case.name, "expected": status, "got": got})
    completed = statuses.get("completed", 0)
    results = {
        "fixtures": len(cases),
        "completed": completed,
        "completion_rate": round(completed / len(cases), 3) if cases else 0.0,
        "statuses": dict(statuses.most_common()),
        "not_as_deserved": wrong,
        "seconds": round(seconds, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "measured_at": datetime.now().isoformat(timespec="seconds"),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{completed} of {len(cases)} fixtures completed ({results['completion_rate']:.0%}) in {seconds:.0f} s")
    for status, count in statuses.most_common():
        print(f"  {status:<20} {count}")
    for item in wrong:
        print(f"  not as deserved: {item['case']}: expected {item['expected']}, got {item['got']}")
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
