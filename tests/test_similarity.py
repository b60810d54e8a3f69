"""Class-wide code similarity: copies found however disguised, honest students left alone, evidence readable."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from graders.integrity import (
    CodeDoc,
    SimilarityReport,
    SimilaritySettings,
    code_cells,
    compare_class,
    flagged_rolls,
    module_cells,
    render_similarity_page,
    write_pairs_csv,
)
from graders.integrity.normalise import normalise
from graders.integrity.similarity import CSV_COLUMNS
from graders.submissions import module_to_notebook
from tests.integrity import edits
from tests.integrity.fixtures import CLASSES, FixtureClass
from tests.integrity.students import MANUAL, TUTORIAL_PLOT, honest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module", params=sorted(CLASSES))
def case(request: pytest.FixtureRequest) -> tuple[FixtureClass, SimilarityReport]:
    fc = CLASSES[request.param]()
    return fc, compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate)


def _pairs(report: SimilarityReport) -> dict[frozenset[str], tuple[float, float, bool]]:
    return {frozenset((p.a, p.b)): (p.a_in_b, p.b_in_a, p.exact) for p in report.pairs}


def test_every_copy_is_found_with_both_directions(case: tuple[FixtureClass, SimilarityReport]) -> None:
    fc, report = case
    found = _pairs(report)
    for a, b in fc.must_pair:
        assert frozenset((a, b)) in found, f"copy {a}/{b} not reported"
        a_in_b, b_in_a, _ = found[frozenset((a, b))]
        assert 0 < a_in_b <= 1 and 0 < b_in_a <= 1
        assert (a_in_b + b_in_a) / 2 >= 0.7


def test_exact_copies_are_named_exact(case: tuple[FixtureClass, SimilarityReport]) -> None:
    fc, report = case
    found = _pairs(report)
    for a, b in fc.exact:
        assert found[frozenset((a, b))] == (1.0, 1.0, True) or found[frozenset((a, b))][2]
    rewritten = {"boston": [("3", "4"), ("7", "8"), ("9", "12")], "fashion": [("5", "6")]}[fc.experiment]
    assert [found[frozenset(p)][2] for p in rewritten] == [False] * len(rewritten)


def test_honest_students_are_not_reported(case: tuple[FixtureClass, SimilarityReport]) -> None:
    fc, report = case
    wrong = [(p.a, p.b, p.a_in_b, p.b_in_a) for p in report.pairs if not fc.related(p.a, p.b)]
    assert wrong == []
    flagged = set(flagged_rolls(report))
    assert not flagged & set(fc.manual_only)


def test_clusters_of_three_or_more(case: tuple[FixtureClass, SimilarityReport]) -> None:
    fc, report = case
    assert [set(c.members) for c in report.clusters] == fc.clusters
    labels = flagged_rolls(report)
    for roll in fc.clusters[0]:
        assert labels[roll] == "cluster 1"
    exact_outside = [p for p in fc.exact if not any(set(p) <= c for c in fc.clusters)]
    a, b = exact_outside[0]
    assert labels[a] == f"exact copy of {b}" and labels[b] == f"exact copy of {a}"


def test_manual_code_is_boilerplate() -> None:
    """Two students who hand in the manual's listing are alike only through it: reported without it, not with it."""
    fc = CLASSES["boston"]()
    docs = [d for d in fc.docs if d.roll_no in fc.manual_only]
    without = compare_class("boston", docs)
    assert len(without.pairs) == 1 and without.pairs[0].score > 0.75
    with_manual = compare_class("boston", docs, boilerplate=fc.boilerplate)
    assert with_manual.pairs == () and with_manual.boilerplate_fingerprints > 100


def test_code_most_of_the_class_shares_is_dropped() -> None:
    """A helper most of the class pastes in from the same tutorial is not evidence: its fingerprints are dropped."""
    fc = CLASSES["boston"]()
    docs = [
        CodeDoc(d.roll_no, d.name, d.source, (*d.cells, TUTORIAL_PLOT)) if i % 4 else d for i, d in enumerate(fc.docs)
    ]
    report = compare_class("boston", docs, boilerplate=fc.boilerplate)
    before = compare_class("boston", fc.docs, boilerplate=fc.boilerplate)
    assert report.common_fingerprints > before.common_fingerprints
    assert [(p.a, p.b) for p in report.pairs if not fc.related(p.a, p.b)] == []
    low = SimilaritySettings(threshold=0.4)
    dropped = compare_class("boston", docs, boilerplate=fc.boilerplate, settings=low)
    no_rule = low.model_copy(update={"common_share": 1})
    kept = compare_class("boston", docs, boilerplate=fc.boilerplate, settings=no_rule)
    assert kept.common_fingerprints == 0
    assert len(kept.pairs) > len(dropped.pairs)  # the helper alone makes honest pairs look alike


def test_normalisation_sees_through_disguises() -> None:
    cells = honest("boston", 1)
    disguised = edits.copy(cells, 7, edits.rename, edits.renumber, edits.annotate, edits.reformat, edits.merge)
    assert disguised != cells
    assert normalise(disguised).text == normalise(cells).text
    module = edits.to_module(cells)
    assert normalise(module_cells(module)).text == normalise(cells).text
    assert module_cells(module) == code_cells(module_to_notebook(module))  # as intake reads a .py


def test_code_cells_skip_magics_and_markdown() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("x = 1"),
            nbformat.v4.new_code_cell("%matplotlib inline\n!pip install x"),
            nbformat.v4.new_code_cell("!pip install keras\nimport keras"),
        ]
    )
    assert code_cells(nb) == ("import keras",)


def test_lsh_prefilter_finds_the_same_pairs(case: tuple[FixtureClass, SimilarityReport]) -> None:
    fc, report = case
    lsh = compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate, settings=SimilaritySettings(lsh_min_docs=0))
    assert lsh.compared_pairs < report.compared_pairs
    assert set(_pairs(lsh)) == set(_pairs(report))


def test_csv_and_json(case: tuple[FixtureClass, SimilarityReport], tmp_path: Path) -> None:
    fc, report = case
    path = write_pairs_csv(report, tmp_path / "pairs.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(report.pairs)
    assert {r["kind"] for r in rows} <= {"exact", "similar"}
    assert any(r["cluster"] == "1" for r in rows)
    again = SimilarityReport.model_validate(json.loads(report.model_dump_json()))
    assert again == report


def test_results_are_reproducible(case: tuple[FixtureClass, SimilarityReport]) -> None:
    fc, report = case
    assert compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate) == report


def test_no_submissions_and_repeated_rolls() -> None:
    assert compare_class("boston", []).pairs == ()
    doc = CodeDoc("1", "A", "1/a.ipynb", ("x = 1",))
    with pytest.raises(ValueError, match="repeated roll numbers: 1"):
        compare_class("boston", [doc, doc])


def test_page_escapes_and_highlights(case: tuple[FixtureClass, SimilarityReport], tmp_path: Path) -> None:
    fc, report = case
    docs = [CodeDoc(d.roll_no, d.name + " <b>", d.source, d.cells) for d in fc.docs]
    page = render_similarity_page(report, docs, tmp_path, course_name="Deep Learning Lab").read_text(encoding="utf-8")
    assert "<b>" not in page and "&lt;b&gt;" in page
    assert page.count('<section class="pair"') == len(report.pairs)
    assert "<mark>" in page and "exact copy" in page and "Cluster" in page


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package 'chromium')")
def test_page_in_headless_chromium(tmp_path: Path) -> None:
    fc = CLASSES["fashion"]()
    report = compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate)
    page = render_similarity_page(report, fc.docs, tmp_path, course_name="Deep Learning Lab")
    assert CHROMIUM is not None
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    png, pdf = tmp_path / "page.png", tmp_path / "page.pdf"
    subprocess.run(
        [*common, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [*common, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.read_bytes().count(b"/Type /Page") > len(report.pairs)


def test_manual_listing_parses() -> None:
    for text in MANUAL.values():
        assert normalise(module_cells(text)).text
