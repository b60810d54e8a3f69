"""The similarity page: its size for a class of 150, and a fixture class's page to look at.

    PYTHONPATH=. python benchmarks/similarity_page.py [OUT_DIR]

Renders the page of a synthetic class of 150 Boston submissions (the generator of benchmarks/similarity.py) twice:
with 12 copy groups of 2-4 (the share of the 500-student benchmark) and with 40 (three students in four in a copy
group, the heaviest copying a page must survive), and writes their sizes and render times to
benchmarks/results/similarity_page.json; the goal is under 300 KB. Also writes the Fashion fixture class's page,
a screenshot (1280 px wide) and an A4 PDF into OUT_DIR (default benchmarks/results/page), to look at.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.similarity import synthesise
from graders.integrity import compare_class, render_similarity_page, write_pairs_csv
from tests.integrity.fixtures import CLASSES
from tests.integrity.students import MANUAL

RESULTS = Path(__file__).with_name("results") / "similarity_page.json"
STUDENTS = 150
GOAL_BYTES = 300_000


def measure(groups: int, out: Path) -> dict[str, object]:
    """The page of a class of 150 with ``groups`` copy groups: its size and how long it took to render."""
    docs, _ = synthesise(STUDENTS, groups=groups)
    report = compare_class("boston", docs, boilerplate=[MANUAL["boston"]])
    started = time.perf_counter()
    page = render_similarity_page(report, docs, out / f"class-{groups}", course_name="Deep Learning Lab")
    seconds = time.perf_counter() - started
    return {
        "students": STUDENTS,
        "copy_groups": groups,
        "pairs": len(report.pairs),
        "kinds": {k: sum(p.kind == k for p in report.pairs) for k in ("identical", "near-identical", "shared code")},
        "clusters": len(report.clusters),
        "page_bytes": page.stat().st_size,
        "render_seconds": round(seconds, 2),
    }


def look(out: Path) -> int:
    """The Fashion fixture class's page, screenshot and PDF; 1 when Chromium is missing."""
    fc = CLASSES["fashion"]()
    report = compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate)
    page = render_similarity_page(report, fc.docs, out, course_name="Deep Learning Lab")
    write_pairs_csv(report, out / "similarity-fashion.csv")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 1
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    png, pdf = page.with_suffix(".png"), page.with_suffix(".pdf")
    for flag in (f"--screenshot={png}", f"--print-to-pdf={pdf}"):
        size = ["--window-size=1280,2000"] if flag.startswith("--screenshot") else ["--no-pdf-header-footer"]
        subprocess.run([*base, flag, *size, page.as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {page}, {png}, {pdf}")
    return 0


def main() -> int:
    """Measure both classes, write the results file, write the page to look at; 1 over the goal."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/page")
    classes = [measure(groups, out) for groups in (12, 40)]
    result = {"python": platform.python_version(), "goal_bytes": GOAL_BYTES, "classes": classes}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    status = look(out)
    return status or int(any(int(str(c["page_bytes"])) > GOAL_BYTES for c in classes))


if __name__ == "__main__":
    raise SystemExit(main())
