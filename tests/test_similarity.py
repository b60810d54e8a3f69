"""Class-wide code similarity: copies found however disguised, honest students left alone, evidence readable."""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from graders.config import load_course
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
from graders.integrity.page import changes
from graders.integrity.similarity import CSV_COLUMNS
from graders.submissions import module_to_notebook
from tests.conftest import copy_course
from tests.integrity import edits
from tests.integrity.fixtures import CLASSES, FixtureClass, tutorial_families
from tests.integrity.students import MANUAL, TUTORIAL_PLOT, honest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module", params=sorted(CLASSES))
def case(request: pytest.FixtureRequest) -> tuple[FixtureClass, SimilarityReport]:
    fc = CLASSES[request.param]()
    return fc, compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate)


def _pairs(report: SimilarityReport) -> dict[frozenset[str], tuple[float, float, bool]]:
    return {frozenset((p.a, p.b)): (p.a_in_b, p.b_in_a, p.exact) for p in report.pairs}


def _kinds(report: SimilarityReport) -> dict[frozenset[str], str]:
    return {frozenset((p.a, p.b)): p.kind for p in report.pairs}


def test_every_copy_is_found_with_both_directions(case: tuple[FixtureClass, SimilarityReport]) -> None:
    fc, report = case
    found = _pairs(report)
    for a, b in fc.must_pair:
        assert frozenset((a, b)) in found, f"copy {a}/{b} not reported"
        a_in_b, b_in_a, _ = found[frozenset((a, b))]
        assert 0 < a_in_b <= 1 and 0 < b_in_a <= 1
        assert (a_in_b + b_in_a) / 2 >= 0.7


def test_each_pair_is_named_in_words_a_teacher_can_repeat(case: tuple[FixtureClass, SimilarityReport]) -> None:
    """Identical: only spacing, comments and cells changed; near-identical: renamed, renumbered, re-worded;
    shared code: a copy with code of its own."""
    fc, report = case
    kinds = _kinds(report)
    assert [kinds[frozenset(p)] for p in fc.identical] == ["identical"] * len(fc.identical)
    assert [kinds[frozenset(p)] for p in fc.near_identical] == ["near-identical"] * len(fc.near_identical)
    rewritten = {"boston": [("7", "8"), ("9", "12")], "fashion": [("5", "6")]}[fc.experiment]
    assert [kinds[frozenset(p)] for p in rewritten] == ["shared code"] * len(rewritten)


@pytest.mark.parametrize(
    ("edit", "kind"),
    [
        (lambda c: c.replace("dataset = pd", "# the data\ndataset   =   pd"), "identical"),  # a comment, spaces
        (lambda c: c.replace("dataset", "df"), "near-identical"),  # a renamed variable
        (lambda c: c.replace("0.3", "0.25"), "near-identical"),  # a changed number
        (lambda c: c.replace('"BostonHousing.csv"', '"housing.csv"'), "near-identical"),  # a changed string
        (lambda c: c.replace('"BostonHousing.csv"', "'BostonHousing.csv'"), "near-identical"),  # other quotes
    ],
)
def test_one_edit_decides_the_word(edit: Callable[[str], str], kind: str) -> None:
    cells = (
        "import pandas as pd\nfrom sklearn.model_selection import train_test_split",
        'dataset = pd.read_csv("BostonHousing.csv")\nfeatures = dataset.drop(columns=["medv"]).to_numpy()\n'
        'target = dataset["medv"].to_numpy()',
        "train_x, test_x, train_y, test_y = train_test_split(features, target, test_size=0.3, random_state=42)\n"
        "for column in range(features.shape[1]):\n"
        "    low, high = features[:, column].min(), features[:, column].max()\n"
        "    features[:, column] = (features[:, column] - low) / (high - low + 1e-9)",
    )
    edited = tuple(edit(c) for c in cells)
    assert edited != cells
    docs = [CodeDoc("1", "A", "1.ipynb", cells), CodeDoc("2", "B", "2.ipynb", edited)]
    report = compare_class("boston", docs, settings=SimilaritySettings(min_tokens=20))
    assert [p.kind for p in report.pairs] == [kind]


def test_two_tutorial_groups_are_not_chained_through_one_student() -> None:
    """Roll 9 pasted both tutorials: listed with every member of both groups, yet the groups stay apart."""
    fc = tutorial_families()
    report = compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate)
    listed = {frozenset((p.a, p.b)) for p in report.pairs}
    group_a, group_b = fc.clusters
    assert all(frozenset(("9", r)) in listed for r in group_a | group_b)  # the bridge is listed with each
    assert not any(frozenset((a, b)) in listed for a in group_a for b in group_b)  # the groups share nothing
    assert _connected(listed) == [group_a | group_b | {"9"}]  # connected components would make one cluster of 9
    clusters = [set(c.members) for c in report.clusters]
    assert len(clusters) == 2 and all(not (c & group_a and c & group_b) for c in clusters)
    assert {frozenset(c - {"9"}) for c in clusters} == {frozenset(group_a), frozenset(group_b)}
    for c in report.clusters:  # a clique: every two members are a listed pair
        assert all(frozenset(two) in listed for two in itertools.combinations(c.members, 2))
        assert c.pairs == len(c.members) * (len(c.members) - 1) // 2


def _connected(edges: set[frozenset[str]]) -> list[set[str]]:
    groups: list[set[str]] = []
    for edge in edges:
        touching = [g for g in groups if g & edge]
        merged = set(edge).union(*touching)
        groups = [g for g in groups if g not in touching] + [merged]
    return groups


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
    a, b = fc.near_identical[0]
    assert labels[a] == f"near-identical to {b}" and labels[b] == f"near-identical to {a}"
    a, b = fc.identical[0]
    assert labels[a] == f"identical to {b}" and labels[b] == f"identical to {a}"
    shared = next(p for p in report.pairs if p.kind == "shared code" and p.a not in fc.clusters[0])
    assert labels[shared.a] == f"shares code with {shared.b} ({shared.score:.0%})"


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
    assert {r["kind"] for r in rows} == {"identical", "near-identical", "shared code"}
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
    groups = len(report.clusters) + sum(
        1 for p in report.pairs if not any({p.a, p.b} <= set(c.members) for c in report.clusters)
    )
    assert page.count('<section class="group"') == groups
    assert "<mark>" in page and "Cluster" in page and "exact cop" not in page
    for kind in ("identical", "near-identical", "shared code"):
        assert f">{kind}</span>" in page


def test_each_copy_is_printed_once(case: tuple[FixtureClass, SimilarityReport], tmp_path: Path) -> None:
    """A cluster prints each member's code once (not once per pair); an identical copy is named, not printed."""
    fc, report = case
    page = render_similarity_page(report, fc.docs, tmp_path, course_name="Lab").read_text(encoding="utf-8")
    sections = page.split('<section class="group"')[1:]
    cluster = next(s for s in sections if s.startswith(' id="group-1"'))
    for roll in report.clusters[0].members:
        assert cluster.count(f"<header><strong>{roll} ") == 1
    a, b = fc.identical[0]
    twin = next(s for s in sections if f"<header><strong>{a} " in s and f"<header><strong>{b} " in s)
    assert twin.count('<p class="same">') == 1 and f"Identical to {a}'s code: not printed again." in twin


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


def test_a_near_identical_copy_is_shown_as_its_changes() -> None:
    """The renames, numbers and strings that turn one submission into the other, token by token."""
    cells = ('data = load("houses.csv")\nmodel = build(64)\nmodel.fit(data, epochs=100)',)
    copied = ('df = load("homes.csv")\nnet = build(128)\nprint(net)\nnet.fit(df, epochs=100)',)
    assert changes(CodeDoc("1", "A", "a", cells), CodeDoc("2", "B", "b", copied)) == (
        "names: data → df, model → net",
        "numbers: 64 → 128",
        'strings: "houses.csv" → "homes.csv"',
    )
    other = ('df = load("homes.csv")\nnet = build(128)\nnet.evaluate(df)',)
    assert changes(CodeDoc("1", "A", "a", cells), CodeDoc("3", "C", "c", other)) is None


def test_the_page_names_near_identical_copies_by_their_changes(tmp_path: Path) -> None:
    fc = CLASSES["boston"]()
    report = compare_class(fc.experiment, fc.docs, boilerplate=fc.boilerplate)
    page = render_similarity_page(report, fc.docs, tmp_path, course_name="Lab").read_text(encoding="utf-8")
    a, b = fc.near_identical[0]
    section = next(s for s in page.split('<section class="group"')[1:] if f"<header><strong>{b} " in s)
    assert f"{a}'s code, statement for statement, with these changes" in section
    assert "<li><code>names: " in section and section.count("<pre>") == len(fc.docs[int(a) - 1].cells)


def test_the_command_prints_the_pages_it_wrote(tmp_path: Path) -> None:
    """`labgrade similarity` on the sample class: each page's real path, and the Copier named near-identical."""
    course = copy_course(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "graders.cli", "similarity", "--course", str(course), "--experiment", "boston"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert result.returncode == 0, result.stderr
    assert "<experiment>" not in result.stdout
    pages = [Path(line.split("page: ", 1)[1].strip()) for line in result.stdout.splitlines() if "page: " in line]
    assert pages == [load_course(course).reports / "similarity-boston.html"] and pages[0].is_file()
    assert "1 near-identical" in result.stdout
    html_text = pages[0].read_text(encoding="utf-8")
    assert "8 Original" in html_text and "9 Copier" in html_text
