"""The marks model (graders.reports.model) read from a real SQLite gradebook."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from graders.gradebook import Gradebook
from graders.models import CheckResult, Component, ComponentMarks, IntegrityFlag, Override, RunRecord, Status
from graders.reports.model import (
    MISSING_WORDING,
    PENDING_WHY,
    CellState,
    ClassMarks,
    ExperimentInfo,
    StudentInfo,
    class_marks,
)
from tests.artifacts_helper import make_run

COURSE = "be-dl"
T0 = datetime(2026, 9, 10, 9, 0, tzinfo=timezone.utc)
EXPERIMENTS = {
    "boston": ExperimentInfo("boston", "1. Boston housing", date(2026, 8, 1), date(2026, 8, 15)),
    "fashion": ExperimentInfo("fashion", "3. Fashion-MNIST", date(2026, 9, 1), date(2026, 9, 15)),
    "face": ExperimentInfo("face", "6 MP1. Face recognition"),
    "agegender": ExperimentInfo("agegender", "6 MP2. Gender and age"),
}
STUDENTS = [
    StudentInfo("1", "Asha", ["boston", "fashion", "face"]),
    StudentInfo("2", "Rohan", ["boston", "fashion", "agegender"]),
    StudentInfo("3", "Meera", ["boston", "fashion", "face"]),
]
VIVA_PENDING = ComponentMarks(answers=4, coding_efficiency=3.5, viva=None, timely_completion=5)


def _run(
    run_id: str, roll: str, exp: str, marks: ComponentMarks, status: Status = Status.completed, **kw: Any
) -> RunRecord:
    return make_run(
        run_id=run_id,
        course=COURSE,
        roll_no=roll,
        name="x",
        experiment=exp,
        status=status,
        marks=marks,
        graded_at=kw.pop("at", T0),
        **kw,
    )


def _override(roll: str, exp: str, column: Component, marks: float | None, minutes: int) -> Override:
    return Override(
        roll_no=roll,
        experiment=exp,
        component=column,
        marks=marks,
        who="Prof. Rao",
        why="viva held",
        at=T0 + timedelta(minutes=minutes),
    )


FORGED = IntegrityFlag(kind="forged_numbers", label="forged numbers", evidence="printed 0.99, measured 0.61")
NOTE = IntegrityFlag(kind="scaler_on_all_data", label="scaler on all data", severity="note", evidence="cell 4")


@pytest.fixture
def marks(tmp_path: Path) -> ClassMarks:
    """A gradebook with an older and a newer run, a pending viva, a viva given, a missing piece of work with a
    (stray, older) viva mark on it, a failed run, a harness failure, and a mini project not allotted."""
    runs: list[RunRecord] = [
        _run(
            "a1-old",
            "1",
            "boston",
            ComponentMarks(answers=1, coding_efficiency=1, viva=1, timely_completion=1),
            at=T0 - timedelta(days=2),
        ),
        _run("a1", "1", "boston", VIVA_PENDING),
        _run(
            "a2",
            "1",
            "fashion",
            ComponentMarks(answers=None, coding_efficiency=5, viva=None, timely_completion=5),
            flags=[FORGED, NOTE],
        ),
        _run("a3", "1", "face", ComponentMarks(), Status.missing),
        _run(
            "b1",
            "2",
            "boston",
            ComponentMarks(answers=5, coding_efficiency=0, viva=None, timely_completion=5),
            Status.cell_error,
            reason="cell 4 raised KeyError",
        ),
        _run("b2", "2", "fashion", ComponentMarks(), Status.sandbox_error),
        _run("c1", "3", "boston", VIVA_PENDING),
    ]
    overrides = [
        _override("1", "boston", Component.viva, 4.0, 1),
        _override("1", "boston", Component.viva, 3.5, 2),  # the later one wins
        _override("1", "face", Component.viva, 4.0, 3),  # on missing work: never counted
    ]
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        for run in runs:
            book.record_run(run)
        book.add_overrides(COURSE, overrides)
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        return class_marks(
            EXPERIMENTS, STUDENTS, book.latest_runs(COURSE), book.all_overrides(COURSE), {("3", "boston"): "cluster 1"}
        )


def test_the_latest_run_and_the_winning_override_make_the_marks(marks: ClassMarks) -> None:
    cell = marks.cell("1", "boston")
    assert cell is not None and cell.run is not None and cell.run.run_id == "a1"
    assert cell.state is CellState.graded and cell.handed_in and cell.completed
    assert cell.marks.viva == 3.5 and cell.total == 16.0 and cell.pending == () and cell.pending_marks == 0
    viva = cell.column(Component.viva)
    assert viva is not None and viva.override is not None and viva.override.marks == 3.5 and viva.footnote == 1
    assert [o.marks for o in cell.overrides] == [4.0, 3.5] and cell.footnotes == [viva.override]


def test_pending_columns_say_why_and_count_in_marks(marks: ClassMarks) -> None:
    cell = marks.cell("1", "fashion")
    assert cell is not None
    assert [p.component for p in cell.pending] == [Component.answers, Component.viva]
    assert [p.why for p in cell.pending] == [PENDING_WHY[Component.answers], PENDING_WHY[Component.viva]]
    assert cell.pending_marks == 10 and cell.total is None and cell.given == 10
    assert cell.pending_names == "answers and viva"
    assert cell.pending_text.startswith("answers: nothing written")
    harness = marks.cell("2", "fashion")
    assert harness is not None and harness.pending_marks == 20
    assert {p.why for p in harness.pending} == {"the harness failed on this run: grade it again"}


def test_the_coding_efficiency_waits_when_the_metric_is_inconclusive() -> None:
    run = _run(
        "x",
        "1",
        "boston",
        ComponentMarks(answers=5, coding_efficiency=None, viva=2, timely_completion=5),
        checks=[
            CheckResult(
                id="metric",
                title="metric",
                component=Component.coding_efficiency,
                points=2,
                awarded=0,
                passed=False,
                evidence="still improving at the cap",
                inconclusive=True,
            )
        ],
    )
    cell = class_marks(EXPERIMENTS, STUDENTS[:1], [run], {}).cell("1", "boston")
    assert cell is not None and [p.why for p in cell.pending] == [PENDING_WHY[Component.coding_efficiency]]
    assert "inconclusive" in cell.pending_text and cell.pending_marks == 5


def test_missing_work_is_one_state_with_no_marks_and_refuses_a_mark(marks: ClassMarks) -> None:
    cell = marks.cell("1", "face")
    assert cell is not None and cell.state is CellState.missing and not cell.handed_in
    assert cell.marks == ComponentMarks() and cell.given == 0 and cell.total is None  # the stray viva is not counted
    assert cell.pending == () and cell.pending_marks == 0 and cell.columns == ()
    assert cell.status == "missing" and cell.status_label == MISSING_WORDING == "not handed in"
    refusal = cell.refusal()
    assert refusal is not None and "not handed in" in refusal and "nothing to mark" in refusal
    assert marks.cell("1", "boston") is not None and marks.cell("1", "boston").refusal() is None  # type: ignore[union-attr]


def test_not_assigned_and_not_graded_are_states_of_their_own(marks: ClassMarks) -> None:
    other = marks.cell("1", "agegender")
    assert other is not None and other.state is CellState.not_assigned and other.maximum == 0
    assert other.status_label == "not assigned" and other.refusal() is not None
    ungraded = marks.cell("3", "fashion")
    assert ungraded is not None and ungraded.state is CellState.not_graded and ungraded.status == "not_graded"
    assert ungraded.maximum == 20 and ungraded.pending_marks == 0
    assert [c.experiment.id for c in marks.assigned("1")] == ["boston", "fashion", "face"]


def test_status_flags_and_similarity(marks: ClassMarks) -> None:
    cell = marks.cell("1", "fashion")
    assert cell is not None and cell.integrity_labels == ["forged numbers"]
    assert [f.kind for f in cell.integrity_all] == ["forged_numbers", "scaler_on_all_data"]
    assert cell.csv_status == "completed; integrity: forged numbers"
    failed = marks.cell("2", "boston")
    assert failed is not None and failed.status_label == "cell error" and failed.status_class == "failed"
    assert failed.handed_in and not failed.completed and failed.pending_marks == 5
    similar = marks.cell("3", "boston")
    assert similar is not None and similar.similar == "cluster 1"


def test_row_sums_statistics_and_vivas_to_hold(marks: ClassMarks) -> None:
    assert marks.given("1") == 16 + 10 and marks.maximum("1") == 60 and marks.pending_marks("1") == 10
    assert marks.pending_marks("2") == 25  # 5 for the failed run's viva, 20 for the harness failure
    boston, fashion, face, agegender = marks.stats()
    assert (boston.assigned, boston.handed_in, boston.completed) == (3, 3, 2)
    assert boston.totals == (16.0,) and boston.median == 16.0 and boston.median_given == 12.5
    assert sum(boston.histogram()) == 3 and boston.pending_marks == 10
    assert (face.assigned, face.handed_in, face.median) == (2, 0, None)
    assert agegender.assigned == 1
    assert [(c.roll_no, c.experiment.id) for c in marks.vivas_to_hold()] == [
        ("1", "fashion"),
        ("2", "boston"),
        ("2", "fashion"),
        ("3", "boston"),
    ]


def test_one_student_is_read_alone(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record_run(_run("a", "1", "boston", VIVA_PENDING))
        book.record_run(_run("b", "2", "boston", VIVA_PENDING))
        book.add_overrides(COURSE, [_override("2", "boston", Component.viva, 2.0, 1)])
        assert [r.roll_no for r in book.latest_runs(COURSE, "2")] == ["2"]
        assert list(book.all_overrides(COURSE, "1")) == []
        assert [seq for seq, _ in book.override_history(COURSE)] == [1]


def test_an_inconsistent_roster_is_named() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        class_marks(EXPERIMENTS, [STUDENTS[0], STUDENTS[0]], [], {})
    with pytest.raises(ValueError, match="unknown experiment 'stock'"):
        class_marks(EXPERIMENTS, [StudentInfo("9", "X", ["stock"])], [], {})
