"""The gradebook on a real SQLite file: immutability, latest runs, overrides."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from graders.gradebook import SCHEMA_VERSION, Gradebook, GradebookError, effective_marks, winning_overrides
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
from tests.artifacts_helper import make_run

T0 = datetime(2024, 9, 2, 10, 0, tzinfo=timezone.utc)


def new_run(
    run_id: str,
    roll_no: str = "1",
    experiment: str = "fashion",
    *,
    course: str = "be-dl",
    at: datetime = T0,
    status: Status = Status.completed,
    marks: ComponentMarks | None = None,
) -> RunRecord:
    """A hand-built run; every nested field filled so the JSON round trip is exercised."""
    return make_run(
        run_id=run_id,
        course=course,
        roll_no=roll_no,
        name=f"Student {roll_no}",
        experiment=experiment,
        status=status,
        reason="" if status is Status.completed else "cell 3 raised",
        submitted_at=at - timedelta(hours=1),
        graded_at=at,
        cell_error=None if status is Status.completed else CellError(cell_index=3, ename="ValueError", evalue="bad"),
        metrics={"test_accuracy": 0.9031},
        checks=[
            CheckResult(
                id="acc",
                title="Accuracy",
                component=Component.coding_efficiency,
                points=2,
                awarded=1.5,
                passed=False,
                evidence="0.88 < 0.90",
            )
        ],
        marks=marks or ComponentMarks(answers=4, coding_efficiency=3.5, viva=0, timely_completion=5),
        viva=[VivaQuestion(question="Params of dense_1?", answer="8256")],
        adaptations=[Adaptation(kind="epoch_cap", detail="epochs 10 -> 2")],
        history={"loss": [0.9, 0.5], "val_loss": [1.0, 0.6]},
        architecture=[{"name": "conv2d", "class_name": "Conv2D", "output_shape": [None, 26, 26, 32], "params": 320}],
        provenance=Provenance(harness_version="0.1.0", backend="local", profile="quick", seed=42),
    )


def make_override(
    component: Component,
    marks: float,
    at: datetime,
    *,
    roll_no: str = "1",
    experiment: str = "fashion",
    who: str = "Dr. Rao",
) -> Override:
    return Override(
        roll_no=roll_no, experiment=experiment, component=component, marks=marks, who=who, why="viva in lab", at=at
    )


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "gradebook.sqlite"


def test_new_gradebook_has_schema_version_and_wal(db_path: Path) -> None:
    with Gradebook(db_path):
        pass
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("SELECT application, version FROM schema_version").fetchall() == [
            ("labgrade-gradebook", SCHEMA_VERSION)
        ]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_run_round_trips_through_json(db_path: Path) -> None:
    run = new_run("r1", status=Status.cell_error)
    with Gradebook(db_path) as book:
        book.record_run(run)
    with Gradebook(db_path) as book:  # reopened: it really is on disk
        assert book.get_run("r1") == run
        assert book.get_run("nope") is None


def test_runs_are_immutable_in_sql(db_path: Path) -> None:
    with Gradebook(db_path) as book:
        book.record_run(new_run("r1"))
    raw = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            raw.execute("UPDATE runs SET status = 'completed', record = '{}' WHERE run_id = 'r1'")
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            raw.execute("DELETE FROM runs WHERE run_id = 'r1'")
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            raw.execute("INSERT OR REPLACE INTO runs SELECT * FROM runs")
        raw.rollback()
        assert raw.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    finally:
        raw.close()
    with Gradebook(db_path) as book:
        assert book.get_run("r1") == new_run("r1")


def test_overrides_are_append_only_in_sql(db_path: Path) -> None:
    with Gradebook(db_path) as book:
        book.add_override("be-dl", make_override(Component.viva, 4, T0))
    raw = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("UPDATE overrides SET record = '{}'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("DELETE FROM overrides")
    finally:
        raw.close()


def test_recording_a_run_twice(db_path: Path) -> None:
    with Gradebook(db_path) as book:
        book.record_run(new_run("r1"))
        book.record_run(new_run("r1"))  # identical: a harmless retry
        with pytest.raises(GradebookError, match="already recorded"):
            book.record_run(new_run("r1", status=Status.timeout))
        assert book.runs_for("be-dl", "1", "fashion") == [new_run("r1")]


def test_latest_runs_picks_the_latest_per_student_and_experiment(db_path: Path) -> None:
    with Gradebook(db_path) as book:
        book.record_run(new_run("late", at=T0 + timedelta(days=2)))
        book.record_run(new_run("early", at=T0))  # recorded after, graded before
        book.record_run(new_run("b1", experiment="boston", at=T0))
        book.record_run(new_run("s2a", roll_no="2", at=T0 + timedelta(hours=1)))
        book.record_run(new_run("s2b", roll_no="2", at=T0 + timedelta(hours=1)))  # same time: later insert wins
        # +05:30 at 15:00 is 09:30 UTC: earlier than T0 although its text sorts later
        book.record_run(
            new_run(
                "ist",
                experiment="boston",
                at=datetime(2024, 9, 2, 15, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            )
        )
        book.record_run(new_run("other", course="other-course", at=T0 + timedelta(days=9)))
        latest = book.latest_runs("be-dl")
    assert [(r.roll_no, r.experiment, r.run_id) for r in latest] == [
        ("1", "boston", "b1"),
        ("1", "fashion", "late"),
        ("2", "fashion", "s2b"),
    ]


def test_runs_for_is_history_oldest_first(db_path: Path) -> None:
    with Gradebook(db_path) as book:
        for run_id, days in (("r2", 2), ("r0", 0), ("r1", 1)):
            book.record_run(new_run(run_id, at=T0 + timedelta(days=days)))
        book.record_run(new_run("x", roll_no="9"))
        assert [r.run_id for r in book.runs_for("be-dl", "1", "fashion")] == ["r0", "r1", "r2"]
        assert book.runs_for("be-dl", "1", "boston") == []


def test_overrides_history_and_grouping(db_path: Path) -> None:
    second = make_override(Component.viva, 4.5, T0 + timedelta(hours=2))
    first = make_override(Component.viva, 3, T0)
    answers = make_override(Component.answers, 5, T0 + timedelta(hours=1))
    elsewhere = make_override(Component.viva, 2, T0, roll_no="2")
    with Gradebook(db_path) as book:
        for o in (second, first, answers, elsewhere):
            book.add_override("be-dl", o)
        book.add_override("other-course", make_override(Component.viva, 0, T0))
        assert book.overrides("be-dl", "1", "fashion") == [first, answers, second]
        assert book.all_overrides("be-dl") == {
            ("1", "fashion"): [first, answers, second],
            ("2", "fashion"): [elsewhere],
        }
        with pytest.raises(GradebookError, match="finite"):
            book.add_override("be-dl", make_override(Component.viva, float("nan"), T0))


def test_effective_marks_layers_latest_override_and_clamps() -> None:
    run = new_run("r1", marks=ComponentMarks(answers=4, coding_efficiency=3.5, viva=0, timely_completion=5))
    overrides = [
        make_override(Component.viva, 4.5, T0 + timedelta(hours=2)),
        make_override(Component.viva, 2, T0 + timedelta(hours=1)),  # listed later but older: loses
        make_override(Component.answers, 9, T0),  # clamped to 5
        make_override(Component.timely_completion, -1, T0),  # clamped to 0
    ]
    marks = effective_marks(run, overrides)
    assert marks == ComponentMarks(answers=5, coding_efficiency=3.5, viva=4.5, timely_completion=0)
    assert marks.total == 13
    assert effective_marks(run, []) == run.marks
    assert winning_overrides(overrides)[Component.viva].marks == 4.5


def test_effective_marks_orders_naive_and_aware_times_and_ties() -> None:
    run = new_run("r1")
    naive_later = make_override(Component.viva, 1, datetime(2024, 9, 2, 11, 0))
    aware_earlier = make_override(Component.viva, 2, datetime(2024, 9, 2, 12, 0, tzinfo=timezone(timedelta(hours=5))))
    assert effective_marks(run, [naive_later, aware_earlier]).viva == 1
    tie = [make_override(Component.viva, 1, T0), make_override(Component.viva, 3, T0)]
    assert effective_marks(run, tie).viva == 3


def test_effective_marks_refuses_another_students_override() -> None:
    with pytest.raises(ValueError, match="2/fashion"):
        effective_marks(new_run("r1"), [make_override(Component.viva, 5, T0, roll_no="2")])


def test_a_file_that_is_not_a_gradebook(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"this is not a database\n" * 100)
    with pytest.raises(GradebookError, match="not an SQLite database"):
        Gradebook(junk)
    other = tmp_path / "other.sqlite"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE students (roll TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(GradebookError, match="not a labgrade gradebook"):
        Gradebook(other)
    with pytest.raises(GradebookError, match="directory does not exist"):
        Gradebook(tmp_path / "missing" / "gradebook.sqlite")


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    Gradebook(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TABLE schema_version")  # the one way round the triggers: a new file format
    raw.execute("CREATE TABLE schema_version (application TEXT, version INTEGER)")
    raw.execute("INSERT INTO schema_version VALUES ('labgrade-gradebook', ?)", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(GradebookError, match="newer than this labgrade understands"):
        Gradebook(db_path)


def test_closed_gradebook_refuses_use(db_path: Path) -> None:
    with Gradebook(db_path) as book:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        book.latest_runs("be-dl")
    book.close()  # closing twice is fine
