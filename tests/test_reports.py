"""Reports rendered from hand-built runs: marks sheet, feedback, viva, register, CSV."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from graders.models import (
    Adaptation,
    CellError,
    CheckResult,
    Component,
    ComponentMarks,
    Override,
    Provenance,
    RunRecord,
    Status,
    VivaQuestion,
)
from graders.reports.exports import write_long_csv
from graders.reports.model import ExperimentInfo, StudentInfo, class_marks
from graders.reports.pages import format_marks, render_reports
from tests.artifacts_helper import make_run

T0 = datetime(2024, 9, 10, 14, 30, tzinfo=timezone.utc)
EXPERIMENTS = {
    "boston": ExperimentInfo("boston", "1. Boston housing price", date(2024, 8, 1), date(2024, 8, 15), []),
    "fashion": ExperimentInfo(
        "fashion",
        "3. Fashion-MNIST classifier",
        date(2024, 9, 1),
        date(2024, 9, 15),
        ["What is a CNN?", "What does pooling do?"],
    ),
    "face": ExperimentInfo("face", "6 MP1. Human face recognition", None, None, []),
    "agegender": ExperimentInfo("agegender", "6 MP2. Gender and age detection", None, None, []),
}
STUDENTS = [
    StudentInfo("1", "Asha Patil", ["boston", "fashion", "face"]),
    StudentInfo("2", "Rohan <b>Deshmukh</b>", ["boston", "fashion", "agegender"]),
    StudentInfo("3", "Meera Joshi", ["fashion"]),
]


def run(
    run_id: str,
    roll_no: str,
    experiment: str,
    marks: ComponentMarks,
    *,
    at: datetime = T0,
    status: Status = Status.completed,
    **extra: Any,
) -> RunRecord:
    return make_run(
        run_id=run_id,
        course="be-dl",
        roll_no=roll_no,
        name="x",
        experiment=experiment,
        status=status,
        marks=marks,
        graded_at=at,
        submitted_at=at - timedelta(days=1),
        **extra,
    )


def fashion_run_of_student_1() -> RunRecord:
    return run(
        "r1-fashion-2",
        "1",
        "fashion",
        ComponentMarks(answers=4, coding_efficiency=3.25, viva=0, timely_completion=5),
        metrics={"test_accuracy": 0.9031, "test_loss": 0.2711},
        checks=[
            CheckResult(
                id="runs",
                title="Runs end to end",
                component=Component.coding_efficiency,
                points=1,
                awarded=1,
                passed=True,
                evidence="all 14 cells ran",
            ),
            CheckResult(
                id="acc",
                title="Test accuracy meets the target",
                component=Component.coding_efficiency,
                points=2,
                awarded=0.25,
                passed=False,
                evidence="accuracy 0.8412 < target 0.8731 <script>x</script>",
                hint="train for the manual's 10 epochs",
            ),
            CheckResult(
                id="q1",
                title="Question 1 answered",
                component=Component.answers,
                points=1,
                awarded=1,
                passed=True,
                evidence="covers: convolution, filters",
            ),
        ],
        viva=[
            VivaQuestion(question="How many parameters has dense_1?", answer="295,040", auto_answered=True),
            VivaQuestion(question="Why softmax on the last layer?", answer="10 exclusive classes"),
        ],
        adaptations=[Adaptation(kind="epoch_cap", detail="fit(epochs=10) capped to 2 (quick profile)")],
        history={
            "loss": [0.8, 0.5, 0.4],
            "val_loss": [0.7, 0.55, 0.5],
            "accuracy": [0.7, 0.8, 0.85],
            "val_accuracy": [0.72, 0.79, 0.84],
        },
        architecture=[
            {"name": "conv2d", "class_name": "Conv2D", "output_shape": [None, 26, 26, 32], "params": 320},
            {"name": "dense_1", "class_name": "Dense", "output_shape": [None, 10], "params": 241226},
        ],
        provenance=Provenance(
            harness_version="0.1.0",
            backend="docker",
            image="labgrade/tf:2.17",
            profile="quick",
            seed=1234,
            dataset_source={"fashion_mnist": "synthetic"},
            runtime={"tensorflow": "2.17.0"},
            durations={"execute": 83.4},
            isolation={"network": "none"},
        ),
    )


RUNS = [
    run(
        "r1-fashion-1",
        "1",
        "fashion",
        ComponentMarks(answers=1, coding_efficiency=1, viva=1, timely_completion=1),
        at=T0 - timedelta(days=3),
    ),
    fashion_run_of_student_1(),
    run(
        "r1-boston",
        "1",
        "boston",
        ComponentMarks(answers=2, coding_efficiency=0, viva=0, timely_completion=5),
        status=Status.cell_error,
        reason="a cell raised",
        cell_error=CellError(cell_index=4, ename="KeyError", evalue="'MEDV'", source_excerpt="y = df['MEDV']"),
    ),
    run("r2-fashion", "2", "fashion", ComponentMarks(answers=5, coding_efficiency=5, viva=3, timely_completion=2.5)),
]
OVERRIDES = {
    ("1", "fashion"): [
        Override(
            roll_no="1",
            experiment="fashion",
            component=Component.viva,
            marks=3,
            who="Dr. Rao",
            why="first viva",
            at=datetime(2024, 9, 11, 9, 0, tzinfo=timezone.utc),
        ),
        Override(
            roll_no="1",
            experiment="fashion",
            component=Component.viva,
            marks=4.5,
            who="Dr. Rao",
            why="viva retaken",
            at=datetime(2024, 9, 12, 9, 0, tzinfo=timezone.utc),
        ),
    ],
}


class Tables(HTMLParser):
    """Text of every table cell, row by row; footnote markers (<sup>) left out."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._in_sup = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "sup":
            self._in_sup += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "sup":
            self._in_sup -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._in_sup:
            self._cell.append(data)


@dataclass(frozen=True)
class Rendered:
    out: Path
    written: list[Path]

    def page(self, *parts: str) -> str:
        return self.out.joinpath(*parts).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    out = tmp_path_factory.mktemp("reports")
    written = render_reports(
        course_name="BE Computer LP-V: Deep Learning",
        marks=class_marks(EXPERIMENTS, STUDENTS, RUNS, OVERRIDES),
        out_dir=out,
    )
    return Rendered(out, written)


def test_format_marks() -> None:
    assert [format_marks(v) for v in (4.5, 5, 5.0, 13.25, 4.456, 0, -0.0, 20)] == [
        "4.5",
        "5",
        "5",
        "13.25",
        "4.46",
        "0",
        "0",
        "20",
    ]


def test_marks_sheet_is_the_manuals_table_with_effective_marks(rendered: Rendered) -> None:
    html = rendered.page("1", "fashion", "marks.html")
    sheet = Tables(html).tables[0]
    assert sheet[0] == [
        "",
        "Answers",
        "Coding Efficiency",
        "Viva",
        "Timely Completion",
        "Total",
        "Dated Sign of Subject Teacher",
    ]
    assert sheet[1] == ["Maximum marks", "5", "5", "5", "5", "20", ""]
    assert sheet[2] == ["Marks obtained", "4", "3.25", "4.5", "5", "16.75", ""]  # latest run, viva override 4.5
    assert "Asha Patil" in html and "3. Fashion-MNIST classifier" in html and "BE Computer LP-V" in html
    assert "Viva: 4.5 — examiner: Dr. Rao, 2024-09-12 09:00 UTC, viva retaken" in html
    assert '<sup class="fn"><a href="#fn-1">1</a></sup>' in html
    assert "<strong>Start Date :</strong> 2024-09-01" in html
    assert "<strong>Date of Completion:</strong> 2024-09-09 14:30 UTC" in html
    assert "Status:" not in html  # completed runs show no status line


def test_marks_sheet_of_a_failed_run_shows_its_status(rendered: Rendered) -> None:
    html = rendered.page("1", "boston", "marks.html")
    assert Tables(html).tables[0][2] == ["Marks obtained", "2", "0", "0", "5", "7", ""]
    assert "cell error</span> — a cell raised" in html


def test_work_without_a_run_is_not_graded_yet(rendered: Rendered) -> None:
    html = rendered.page("3", "fashion", "marks.html")
    assert "not graded yet" in html and "not handed in" not in html
    assert Tables(html).tables[0][2] == ["Marks obtained", "", "", "", "", "", ""]
    assert not (rendered.out / "3" / "fashion" / "feedback.html").exists()
    assert "not graded yet" in rendered.page("1", "face", "marks.html")


def test_feedback_shows_checks_evidence_and_curves(rendered: Rendered) -> None:
    html = rendered.page("1", "fashion", "feedback.html")
    assert "accuracy 0.8412 &lt; target 0.8731 &lt;script&gt;x&lt;/script&gt;" in html
    assert "train for the manual&#39;s 10 epochs" in html
    checks = {row[0]: row for table in Tables(html).tables for row in table}
    assert checks["Test accuracy meets the target"][1:3] == ["failed", "0.25 / 2"]
    assert checks["Runs end to end"][1:3] == ["passed", "1 / 1"]
    assert "Coding Efficiency — column marks 3.25 / 5" in html
    assert "Answers — column marks 4 / 5" in html
    assert checks["test_accuracy"] == ["test_accuracy", "0.9031"]
    assert checks["dense_1"] == ["dense_1", "Dense", "(None, 10)", "241,226"]
    assert checks["Total parameters"] == ["Total parameters", "241,546"]
    assert "fit(epochs=10) capped to 2 (quick profile)" in html
    assert checks["Image"] == ["Image", "labgrade/tf:2.17"]
    assert checks["Seed"] == ["Seed", "1234"]
    assert checks["Dataset sources"] == ["Dataset sources", "fashion_mnist: synthetic"]
    assert checks["Durations"] == ["Durations", "execute: 1 min 23 s"]
    assert checks["Isolation"] == ["Isolation", "network: none"]
    assert '<figure class="curves"><svg' in html  # drawn from the numbers, inline: no picture file per render
    assert not (rendered.out / "1" / "fashion" / "curves.png").exists()


def test_feedback_of_a_cell_error_and_without_history(rendered: Rendered) -> None:
    html = rendered.page("1", "boston", "feedback.html")
    assert "Cell 4 raised <code>KeyError</code>: &#39;MEDV&#39;" in html
    assert "y = df[&#39;MEDV&#39;]" in html
    assert "No training history recorded." in html
    assert not (rendered.out / "1" / "boston" / "curves.png").exists()
    assert 'Provenance</th><td class="muted">not recorded' in html


def test_viva_sheet(rendered: Rendered) -> None:
    tables = Tables(rendered.page("1", "fashion", "viva.html")).tables
    assert tables[0][1] == ["1", "How many parameters has dense_1?", "295,040", "yes", ""]
    assert tables[0][2] == ["2", "Why softmax on the last layer?", "10 exclusive classes", "no", ""]
    assert [row[1] for row in tables[1][1:]] == ["What is a CNN?", "What does pooling do?"]
    assert rendered.page("1", "fashion", "viva.html").count('<span class="box"></span>') == 5


def test_register(rendered: Rendered) -> None:
    html = rendered.page("register.html")
    rows = next(t for t in Tables(html).tables if t[0][0] == "Roll No")
    assert rows[0] == [
        "Roll No",
        "Name",
        "1. Boston housing price",
        "3. Fashion-MNIST classifier",
        "6 MP1. Human face recognition",
        "6 MP2. Gender and age detection",
        "Total",
    ]
    assert rows[1][:3] == ["1", "Asha Patil", "7/20 cell error feedback · viva"]
    assert rows[1][3] == "16.75/20 completed feedback · viva"
    assert rows[1][4:] == ["not graded yet", "—", "23.75/60"]
    assert rows[2][1] == "Rohan <b>Deshmukh</b>"  # escaped, shown as text
    assert rows[2][2:] == ["not graded yet", "15.5/20 completed feedback · viva", "—", "not graded yet", "15.5/60"]
    assert rows[3][2:] == ["—", "not graded yet", "—", "—", "0/20"]
    assert 'href="1/fashion/marks.html"' in html and 'href="1/fashion/feedback.html"' in html


def test_index_links_resolve_and_pages_are_self_contained(rendered: Rendered) -> None:
    index = rendered.page("index.html")
    assert 'href="register.html"' in index and 'href="3/fashion/marks.html"' in index
    assert 'href="1/fashion/viva.html"' in index and 'href="1/boston/feedback.html"' in index
    for page in (p for p in rendered.written if p.suffix == ".html"):
        text = page.read_text(encoding="utf-8")
        scripts = re.findall(r"<script[^>]*>", text.lower())
        assert scripts == (["<script>"] if page.name == "register.html" else []), page  # the register's sort, inline
        assert "http://" not in text and "https://" not in text
        for link in re.findall(r'(?:href|src)="([^"#][^"]*)"', text):
            assert (page.parent / link).resolve().is_file(), f"{page}: broken link {link}"
    expected = {rendered.out / "index.html", rendered.out / "register.html"}
    assert expected <= set(rendered.written)
    assert all(p.is_file() for p in rendered.written)
    assert len(rendered.written) == len(set(rendered.written)) == 2 + 7 + 3 * 2  # 7 sheets, 3 runs (curves inline)


def test_the_long_csv(tmp_path: Path) -> None:
    path = write_long_csv(class_marks(EXPERIMENTS, STUDENTS, RUNS, OVERRIDES), tmp_path / "out" / "marks.csv")
    assert path.read_text(encoding="utf-8") == (
        "roll_no,name,experiment,answers,coding_efficiency,viva,timely_completion,total,status,pending_marks,note\n"
        "1,Asha Patil,boston,2,0,0,5,7,cell_error,0,\n"
        "1,Asha Patil,fashion,4,3.25,4.5,5,16.75,completed,0,\n"
        "1,Asha Patil,face,,,,,,not_graded,,not graded yet\n"
        "2,Rohan <b>Deshmukh</b>,boston,,,,,,not_graded,,not graded yet\n"
        "2,Rohan <b>Deshmukh</b>,fashion,5,5,3,2.5,15.5,completed,0,\n"
        "2,Rohan <b>Deshmukh</b>,agegender,,,,,,not_graded,,not graded yet\n"
        "3,Meera Joshi,fashion,,,,,,not_graded,,not graded yet\n"
    )


def test_roster_errors_are_clear(tmp_path: Path) -> None:
    def render(students: list[StudentInfo]) -> list[Path]:
        return render_reports(course_name="c", marks=class_marks(EXPERIMENTS, students, [], {}), out_dir=tmp_path)

    with pytest.raises(ValueError, match="cannot name a report folder"):
        render([StudentInfo("../../etc", "Eve", ["fashion"])])
    with pytest.raises(ValueError, match="unknown experiment 'stock'"):
        render([StudentInfo("1", "A", ["stock"])])
    with pytest.raises(ValueError, match="appears twice"):
        render([StudentInfo("1", "A", []), StudentInfo("1", "B", [])])
    assert not list(tmp_path.iterdir())


def test_pages_of_an_experiment_no_longer_reported_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / "1" / "colorize"
    stale.mkdir(parents=True)
    (stale / "marks.html").write_text("old", encoding="utf-8")
    keep = tmp_path / "1" / "notes"
    keep.mkdir()
    (keep / "mine.txt").write_text("not a report page", encoding="utf-8")
    render_reports(
        course_name="c", marks=class_marks(EXPERIMENTS, [StudentInfo("1", "A", ["boston"])], [], {}), out_dir=tmp_path
    )
    assert not stale.exists() and (keep / "mine.txt").is_file()
    assert (tmp_path / "1" / "boston" / "marks.html").is_file()


_CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_CHROMIUM is None, reason="headless Chromium not installed (Debian package 'chromium')")
def test_the_register_prints_landscape_and_a_marks_sheet_portrait(rendered: Rendered, tmp_path: Path) -> None:
    """One column per experiment does not fit an A4 portrait page: the register prints landscape, whole."""
    from pypdf import PdfReader

    assert _CHROMIUM is not None
    sizes: dict[str, list[tuple[float, float]]] = {}
    for name, page in (("register", rendered.out / "register.html"), ("marks", _first_marks_sheet(rendered))):
        pdf = tmp_path / f"{name}.pdf"
        subprocess.run(
            [
                _CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--print-to-pdf={pdf}",
                "--no-pdf-header-footer",
            ]
            + [page.as_uri()],
            check=True,
            capture_output=True,
            timeout=120,
        )
        sizes[name] = [(float(p.mediabox.width), float(p.mediabox.height)) for p in PdfReader(pdf).pages]
    assert sizes["register"] and all(w > h for w, h in sizes["register"]), sizes["register"]
    assert sizes["marks"] and all(w < h for w, h in sizes["marks"]), sizes["marks"]


def _first_marks_sheet(rendered: Rendered) -> Path:
    return next(p for p in rendered.written if p.name == "marks.html")
