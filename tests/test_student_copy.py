"""The student copy a teacher hands out: only the student's own feedback, in words a student reads."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders import api
from graders.config import load_course
from graders.gradebook import Gradebook
from graders.models import (
    Adaptation,
    CellError,
    CheckResult,
    Component,
    ComponentMarks,
    Provenance,
    Status,
    VivaQuestion,
)
from graders.reports.student_copy import MISSING, concept_words, folder_name, without_paths
from graders.submissions import load_roster
from tests.recorded_class import recorded_course

VIVA_KEY = "MAE averages the absolute differences between forecast and true prices"
HIDDEN = "host filesystem visible; hidden: /root, /home, /srv"


def _answer(number: int, evidence: str, awarded: float = 0.0) -> CheckResult:
    return CheckResult(
        id="answer",
        title="Assignment question answered",
        component=Component.answers,
        points=1,
        awarded=awarded,
        passed=awarded > 0,
        evidence=f"Q{number} in notebook markdown cell 6: {evidence}",
        hint="Answer in a markdown cell under the question.",
    )


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Roll 1: a boston run full of what a student must not see; roll 2: fashion not handed in."""
    tmp = tmp_path_factory.mktemp("copy")
    host = str(tmp / "course" / "sample" / "1_Good" / "Assignment1_Boston.ipynb")
    runs = [
        dict(
            roll_no="1",
            experiment="boston",
            marks=ComponentMarks(answers=2, coding_efficiency=4, viva=None, timely_completion=5),
            submission_path=host,
            reason=f"a cell raised while reading {host}",
            status=Status.cell_error,
            cell_error=CellError(
                cell_index=4, ename="FileNotFoundError", evalue="[Errno 2] No such file: '/tmp/lgjob-7f3a/data/x.csv'"
            ),
            checks=[
                _answer(5, "covers image; missing: self-?driving (3 words)"),
                _answer(4, "covers train; missing: generali, overfit", 0.5),
                CheckResult(
                    id="viva",
                    title="Viva question",
                    component=Component.viva,
                    points=1,
                    awarded=0,
                    passed=False,
                    evidence=f"viva question 1: {VIVA_KEY}",
                    hidden=True,
                ),
            ],
            viva=[VivaQuestion(question="Why did you train with the loss 'mae'?", answer=VIVA_KEY)],
            adaptations=[Adaptation(kind="epoch_cap", detail="fit(epochs=100) capped to 20 (quick profile)")],
            provenance=Provenance(
                harness_version="0.1.0",
                backend="local (uid 61234)",
                profile="quick",
                seed=1234,
                isolation={"filesystem": HIDDEN},
            ),
        ),
        dict(roll_no="2", experiment="fashion", status=Status.missing, marks=ComponentMarks()),
        dict(
            roll_no="2",
            experiment="boston",
            marks=ComponentMarks(answers=5, coding_efficiency=5, viva=None, timely_completion=5),
            checks=[_answer(2, "covers layer, hidden, neuron, weight", 1.0)],
        ),
    ]
    course = recorded_course(tmp, runs)
    out = tmp / "students"
    result = subprocess.run(
        [sys.executable, "-m", "graders.cli", "report", "--course", str(course), "--for-students", str(out)]
        + ["--student", "1", "--student", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote the student copy of 2 student(s)" in result.stdout
    return course, out


def _texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))}


def test_one_folder_and_zip_per_student_linking_only_inside(copies: tuple[Path, Path]) -> None:
    _, out = copies
    assert sorted(p.name for p in out.iterdir()) == ["1_Good", "1_Good.zip", "2_Weak", "2_Weak.zip"]
    folder = out / "1_Good"
    pages = _texts(folder)
    assert "index.html" in pages and "boston.html" in pages and "fashion.html" in pages
    for page, html in pages.items():
        links = set(re.findall(r'href="([^"]*)"', html))
        assert links and links <= set(pages), (page, links - set(pages))
    with zipfile.ZipFile(out / "1_Good.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"1_Good/{name}" for name in pages)
        assert zf.read("1_Good/boston.html").decode("utf-8") == pages["boston.html"]


def test_nothing_for_the_examiner_or_the_host(copies: tuple[Path, Path]) -> None:
    course, out = copies
    text = "\n".join(_texts(out / "1_Good").values())
    for secret in (VIVA_KEY, "Why did you train", "viva.html", "register", "Provenance", "uid", HIDDEN, "/root"):
        assert secret not in text, secret
    for path in ("/tmp", "/work", "/home", str(course.parent), str(course.parent.resolve())):
        assert path not in text, path
    assert "Assignment1_Boston.ipynb" in text  # the file name says what was read
    assert "x.csv" in text and "FileNotFoundError" in text


def test_answer_key_concepts_are_words(copies: tuple[Path, Path]) -> None:
    _, out = copies
    page = (out / "1_Good" / "boston.html").read_text(encoding="utf-8")
    assert "missing: self-driving (3 words)" in page and "covers train; missing: generalises, overfitting" in page
    assert "self-?driving" not in page and "generali," not in page and "overfit<" not in page


def test_missing_and_pending_in_the_students_terms(copies: tuple[Path, Path]) -> None:
    _, out = copies
    missing = (out / "2_Weak" / "fashion.html").read_text(encoding="utf-8")
    assert MISSING in missing and "viva" not in missing.lower().replace("2_weak", "")
    assert "given by the examiner in the viva" not in missing
    graded = (out / "2_Weak" / "boston.html").read_text(encoding="utf-8")
    assert '<span class="pending">pending</span>' in graded
    assert "15 of 20 so far; 5 more to come (viva pending)" in graded
    index = (out / "2_Weak" / "index.html").read_text(encoding="utf-8")
    assert MISSING in index and "Not graded yet." in index  # imdb and the rest: no run at all
    assert "So far: 15 of 120; 5 more to come once the pending columns are given." in index


def test_a_roll_not_on_the_roster_and_a_file_for_out(copies: tuple[Path, Path], tmp_path: Path) -> None:
    course, _ = copies
    with pytest.raises(api.GradingError, match="99 not on the roster"):
        api.student_copy(course=course, out=tmp_path / "x", students=["99"])
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(api.GradingError, match="is a file"):
        api.student_copy(course=course, out=tmp_path / "file")


@pytest.mark.parametrize(
    ("alternatives", "key", "words"),
    [
        (["probabilit", "predicted"], "the negative log-likelihood", "probability"),  # completed from the other keys
        (["class", "categor"], "Classifying each example into one of two classes", "classes"),
        (["class", "categor"], "Classifying each example into one class", "class"),
        (["self-?driving", "autonomous"], "", "self-driving"),
        (["cross[- ]?entropy"], "", "cross-entropy"),
        (["(batch|samples).{0,20}features", "reshape"], "inputs are reshaped", "reshaped"),
    ],
)
def test_concept_words(alternatives: list[str], key: str, words: str) -> None:
    assert concept_words(alternatives, key, ["probability", "probabilities", "classes"]) == words


def test_paths_and_folder_names() -> None:
    assert without_paths("read /home/ta/course/sample/1_A/lab.ipynb (no such file)") == "read lab.ipynb (no such file)"
    assert without_paths("loss 0.5/epoch, 3/4 done") == "loss 0.5/epoch, 3/4 done"
    assert without_paths("see https://keras.io/api/layers") == "see https://keras.io/api/layers"
    assert without_paths("No such file: '/tmp/lgjob-1/data/x.csv'") == "No such file: 'x.csv'"
    from graders.reports.model import StudentInfo

    assert folder_name(StudentInfo("7", "Zoë D'Souza")) == "7_Zoe-D-Souza"


def test_the_sample_class_copy_holds_nothing_but_the_students_own(
    graded_class: tuple[Path, object], tmp_path: Path
) -> None:
    """The graded sample class (Boston and Fashion): no viva key, no register, no host path, no other name."""
    course, _ = graded_class
    cfg = load_course(course)
    out = tmp_path / "students"
    result = subprocess.run(
        [sys.executable, "-m", "graders.cli", "report", "--course", str(course), "--for-students", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    with Gradebook(cfg.gradebook) as book:
        runs = book.latest_runs(cfg.name)
    keys = {q.answer for r in runs for q in r.viva if len(q.answer) > 12} | {q.question for r in runs for q in r.viva}
    assert keys, "the graded class has viva questions to keep out"
    roster = load_roster(cfg.roster)
    host = ("/work", "/tmp", "/home", str(course.parent), str(course.parent.resolve()))
    for student in roster:
        folder = out / folder_name_for(student.roll_no, student.name)
        with zipfile.ZipFile(folder.with_suffix(".zip")) as zf:
            texts = [zf.read(n).decode("utf-8") for n in zf.namelist()]
        assert len(texts) == len(list(folder.glob("*.html"))) >= 2
        text = "\n".join(texts)
        assert student.name in text
        for secret in (*keys, *host, "viva.html", "register", "Answer key"):
            assert secret not in text, (student.name, secret)
        for other in roster:
            if other.roll_no != student.roll_no and other.name not in student.name:
                assert not re.search(rf"\b{re.escape(other.name)}\b", text), (student.name, other.name)


def folder_name_for(roll_no: str, name: str) -> str:
    from graders.reports.model import StudentInfo

    return folder_name(StudentInfo(roll_no, name))
