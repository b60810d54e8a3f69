"""The viva sheet an examiner holds: one A4 page, printed by headless Chromium, for every experiment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from graders import api
from graders.config import load_course
from graders.rubric import available_experiments
from tests.recorded_class import fullest_viva, recorded_course

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
A4 = (595.0, 842.0)  # points, portrait
MINI = {"face": "1", "agegender": "31", "colorize": "61"}  # a roll each mini project is given in the sample class


def _print(page: Path, pdf: Path) -> PdfReader:
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={pdf}", "--no-pdf-header-footer"]
        + [page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return PdfReader(pdf)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every experiment's viva sheet at its fullest: five questions on the model, the manual's questions."""
    runs = [dict(roll_no=MINI.get(e, "1"), experiment=e, viva=fullest_viva(e)) for e in available_experiments()]
    course = recorded_course(tmp_path_factory.mktemp("viva"), runs)
    api.report(course=course, everything=True)
    return load_course(course).reports


@pytest.mark.parametrize("experiment", available_experiments())
def test_the_viva_sheet_prints_on_one_a4_page(reports: Path, tmp_path: Path, experiment: str) -> None:
    page = reports / MINI.get(experiment, "1") / experiment / "viva.html"
    html = page.read_text(encoding="utf-8")
    assert html.count('<span class="box"></span>') >= 5 + 5 + 1  # five on the model, the manual's five, the total
    pdf = _print(page, tmp_path / "viva.pdf")
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pdf.pages]
    assert sizes == [A4], f"{experiment}: {len(sizes)} page(s) {sizes}"
    text = pdf.pages[0].extract_text()
    assert "Examiner:" in text and "Assignment questions" in text  # the whole sheet is on that page
