"""Time class-wide similarity on a synthetic class of 500 submissions of one experiment.

    PYTHONPATH=. python benchmarks/similarity.py [N]

Most students are honest (independent picks of each step's ways and their own idioms); 40 copy groups of 2-4
are made with the edits students use. Writes benchmarks/results/similarity.json with the time of
``compare_class`` (MinHash LSH pre-filter on, as it is for classes of 150 and more), the candidate pairs
compared, and how well the copies were found and honest students left alone.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from pathlib import Path

from graders.integrity import CodeDoc, compare_class
from tests.integrity import edits
from tests.integrity.students import MANUAL, honest

OUT = Path(__file__).with_name("results") / "similarity.json"
DISGUISES = [
    (edits.rename, edits.renumber, edits.annotate),
    (edits.rename, edits.reorder, edits.merge),
    (edits.reformat, edits.split, edits.renumber),
    (edits.rename, edits.annotate, edits.reformat, edits.reorder),
]


def synthesise(n: int, groups: int, seed: int = 5) -> tuple[list[CodeDoc], list[set[str]]]:
    """n boston submissions: copy groups first, then honest students."""
    rng = random.Random(seed)
    docs: list[CodeDoc] = []
    copy_groups: list[set[str]] = []
    for g in range(groups):
        source = honest("boston", 10_000 + g)
        members = {str(len(docs) + 1)}
        docs.append(CodeDoc(str(len(docs) + 1), f"student {len(docs) + 1}", "boston.ipynb", source))
        for _ in range(rng.randint(1, 3)):
            cells = edits.copy(source, rng.randrange(10**6), *rng.choice(DISGUISES))
            roll = str(len(docs) + 1)
            members.add(roll)
            docs.append(CodeDoc(roll, f"student {roll}", "boston.ipynb", cells))
        copy_groups.append(members)
    while len(docs) < n:
        roll = str(len(docs) + 1)
        docs.append(CodeDoc(roll, f"student {roll}", "boston.ipynb", honest("boston", int(roll))))
    return docs, copy_groups


def main() -> int:
    """Run once, write the results file, print a summary."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    docs, groups = synthesise(n, groups=40)
    started = time.perf_counter()
    report = compare_class("boston", docs, boilerplate=[MANUAL["boston"]])
    seconds = time.perf_counter() - started
    group_of = {r: i for i, g in enumerate(groups) for r in g}
    listed = {frozenset((p.a, p.b)) for p in report.pairs}
    honest_listed = [p for p in report.pairs if group_of.get(p.a, -1) != group_of.get(p.b, -2)]
    found_groups = sum(any(frozenset((a, b)) in listed for a in g for b in g if a < b) for g in groups)
    pairs_in_groups = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    all_pairs = n * (n - 1) // 2
    result = {
        "submissions": n,
        "seconds": round(seconds, 2),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "candidate_pairs_compared": report.compared_pairs,
        "all_pairs": all_pairs,
        "copy_groups": len(groups),
        "copy_groups_found": found_groups,
        "copy_pairs": pairs_in_groups,
        "copy_pairs_listed": len(report.pairs) - len(honest_listed),
        "honest_pairs_listed": len(honest_listed),
        "honest_pairs": all_pairs - pairs_in_groups,
        "kinds": {k: sum(p.kind == k for p in report.pairs) for k in ("identical", "near-identical", "shared code")},
        "clusters": len(report.clusters),
        "common_fingerprints": report.common_fingerprints,
        "settings": report.settings.model_dump(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
