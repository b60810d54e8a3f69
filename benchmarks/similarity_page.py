"""Render the similarity page of a fixture class and screenshot it with headless Chromium.

    PYTHONPATH=. python benchmarks/similarity_page.py [fashion|boston] [OUT_DIR]

Writes OUT_DIR/similarity-<experiment>.html, .png (1280 px wide) and .pdf (A4), to look at.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from graders.integrity import compare_class, render_similarity_page, write_pairs_csv
from tests.integrity.fixtures import CLASSES


def main() -> int:
    """Write the page, its screenshot and its PDF; 1 when Chromium is missing."""
    experiment = sys.argv[1] if len(sys.argv) > 1 else "fashion"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "benchmarks/results/page")
    fc = CLASSES[experiment]()
    report = compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate)
    page = render_similarity_page(report, fc.docs, out, course_name="Deep Learning Lab")
    write_pairs_csv(report, out / f"similarity-{experiment}.csv")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 1
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    png, pdf = page.with_suffix(".png"), page.with_suffix(".pdf")
    subprocess.run(
        [*base, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [*base, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"wrote {page}, {png}, {pdf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
