"""A batch killed at any moment keeps what it finished; an unchanged class is not graded again.

Every test grades the same small class (three boston submissions -- Good,
Weak, Broken -- and a roll number that handed in nothing) with the local
backend and one worker, as a real ``labgrade grade`` subprocess where the
process boundary matters (SIGKILL, Ctrl-C, another ``LABGRADE_HOME``) and
through ``api.grade`` otherwise. One uninterrupted grade of the class is the
reference every other batch must end at (:func:`tests.batch_helpers.baseline`).

What is waited for is observed, never slept for: rows in the gradebook (read
only), processes under the grading process, the summary line.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from graders import api
from graders.backends.base import Job, JobResult
from graders.backends.local import LocalSandbox
from graders.config import load_course
from graders.gradebook import Gradebook
from graders.models import RunRecord, Status
from tests.batch_helpers import (
    Baseline,
    Watched,
    baseline,
    copy_graded,
    copy_home,
    env_for_subprocess,
    latest,
    marks_of,
    parse_summary,
    plan_counts,
    recorded_runs,
    run_grade,
    runs_per_key,
    small_class,
    survivors,
)
from tests.conftest import read_csv

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

Moment = Callable[[Watched, Path], None]
# the fields of the stored artifacts that come from the sandboxed run
EXECUTED = {"status", "reason", "cell_error", "run", "probe", "evaluation", "markdown", "printed", "adaptations"}
KEYS = {("1", "boston"), ("2", "boston"), ("3", "boston"), ("20", "boston")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The small class graded once, uninterrupted."""
    ref = baseline(tmp_path_factory.mktemp("baseline"))
    assert ref.summary.executed == len(KEYS) and ref.summary.reused == 0
    assert set(ref.marks) == KEYS
    assert ref.marks[("1", "boston")][0] == "completed" and ref.marks[("20", "boston")][0] == "missing"
    assert runs_per_key(_gradebook(ref.course)) == {key: 1 for key in KEYS}
    return ref


def _gradebook(course: Path) -> Path:
    return load_course(course).gradebook


def _assert_ends_like(course: Path, ref: Baseline) -> None:
    """Each key graded exactly once, every run readable, marks and the CSV as the uninterrupted batch's."""
    assert runs_per_key(_gradebook(course)) == {key: 1 for key in KEYS}
    assert marks_of(latest(course)) == ref.marks  # latest() reads every stored row back with get_run
    reports = load_course(course).reports
    assert read_csv(reports / "marks.csv") == ref.csv
    for page in ("register.html", "index.html"):  # rendered whole again, whatever a kill left half written
        assert (reports / page).read_text(encoding="utf-8").rstrip().endswith("</html>"), page


# ---------------------------------------------------------------- SIGKILL and Ctrl-C


def _at_start(watched: Watched, book: Path) -> None:
    # the first sandbox's supervisor is up: a job is running, none has finished
    watched.wait_until(lambda: len(watched.family()) > 1, "the first sandbox started")


def _mid_batch(watched: Watched, book: Path) -> None:
    watched.wait_until(lambda: len(recorded_runs(book)) >= 1, "the first run was recorded")


def _at_render(watched: Watched, book: Path) -> None:
    # every run is recorded: what is left is rendering the reports from the gradebook
    watched.wait_until(lambda: len(recorded_runs(book)) == len(KEYS), "the last run was recorded")


@pytest.mark.parametrize(
    "moment",
    [  # mid-batch in the default suite; the other two moments with -m slow (each grades the class twice)
        pytest.param(_at_start, id="at-start", marks=pytest.mark.slow),
        pytest.param(_mid_batch, id="mid-batch"),
        pytest.param(_at_render, id="at-render", marks=pytest.mark.slow),
    ],
)
def test_a_batch_killed_at_any_moment_resumes_to_the_same_marks(
    moment: Moment, reference: Baseline, tmp_path: Path
) -> None:
    course = small_class(tmp_path)
    book = _gradebook(course)
    watched = Watched(course, tmp_path / "killed.log")
    moment(watched, book)
    children = watched.kill(signal.SIGKILL)
    assert watched.wait() == -signal.SIGKILL
    assert survivors(children) == []  # the killed harness's sandboxes ended with it
    before = {run_id for run_id, _, _ in recorded_runs(book)}
    if moment is _at_start:
        assert before == set()
    elif moment is _mid_batch:
        assert 1 <= len(before) < len(KEYS)
    else:
        assert len(before) == len(KEYS)

    resumed = Watched(course, tmp_path / "resumed.log")
    assert resumed.wait(timeout=900) == 0, resumed.output()[-3000:]
    summary = parse_summary(resumed.output())
    assert (summary.executed, summary.rescored, summary.reused) == (len(KEYS) - len(before), 0, len(before))
    _assert_ends_like(course, ref=reference)
    kept = {run.run_id for run in latest(course).values()}
    assert before <= kept  # what was recorded before the kill is reused as it is, not run again


def test_ctrl_c_mid_batch_exits_130_and_keeps_the_finished_runs(reference: Baseline, tmp_path: Path) -> None:
    course = small_class(tmp_path)
    book = _gradebook(course)
    watched = Watched(course, tmp_path / "interrupted.log")
    _mid_batch(watched, book)
    children = watched.kill(signal.SIGINT)
    assert watched.wait() == 130, watched.output()[-3000:]
    assert "interrupted" in watched.output()
    assert survivors(children) == []  # the running job's sandbox was cancelled, not left behind
    rows = recorded_runs(book)
    assert 1 <= len(rows) < len(KEYS)
    assert all(count == 1 for count in runs_per_key(book).values())
    kept = latest(course)
    assert {key: marks for key, marks in marks_of(kept).items()} == {key: reference.marks[key] for key in kept}
    executed, rescored, reused = plan_counts(course)
    assert (executed, rescored, reused) == (len(KEYS) - len(rows), 0, len(rows))  # the next grade keeps them


# ---------------------------------------------------------------- incremental


class _NoKernel:
    """Stands in for the local sandbox: any attempt to run a job is recorded (and refused)."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def run(self, sandbox: LocalSandbox, job: Job) -> JobResult:
        self.jobs.append(job)
        raise RuntimeError("this grade must not start a kernel")


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> _NoKernel:
    """The local sandbox refusing every job, so a grade that needs no kernel proves it started none."""
    probe = _NoKernel()
    monkeypatch.setattr(LocalSandbox, "run", lambda self, job: probe.run(self, job))
    return probe


def test_an_unchanged_class_is_reused_without_starting_a_kernel(reference: Baseline, tmp_path: Path) -> None:
    course = copy_graded(reference.course, tmp_path)
    marker = tmp_path / "kernel-started"
    summary, _ = run_grade(course, no_kernel=marker)
    assert (summary.total, summary.executed, summary.rescored, summary.reused) == (4, 0, 0, 4)
    assert not marker.exists()
    _assert_ends_like(course, ref=reference)


def test_a_changed_notebook_executes_that_submission_only(reference: Baseline, tmp_path: Path) -> None:
    course = copy_graded(reference.course, tmp_path)
    before = latest(course)
    path = course.parent / "sample" / "3_Broken" / "Assignment1_Boston.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Resubmitted after the lab."))
    nbformat.write(nb, path)
    summary = api.grade(course=course)
    assert (summary.executed, summary.rescored, summary.reused) == (1, 0, 3)
    counts = runs_per_key(_gradebook(course))
    assert counts == {**{key: 1 for key in KEYS}, ("3", "boston"): 2}
    after = latest(course)
    assert {k: r.run_id for k, r in after.items() if k != ("3", "boston")} == {
        k: r.run_id for k, r in before.items() if k != ("3", "boston")
    }
    assert after[("3", "boston")].rescored_from == ""  # executed afresh, not re-scored


def _executed(run: RunRecord) -> dict[str, object]:
    """What the sandbox produced for a run (a re-score refreshes only the scoring side: targets, due, viva keys)."""
    assert run.artifacts is not None
    return run.artifacts.model_dump(include=EXECUTED)


def test_a_changed_rubric_band_rescores_from_stored_artifacts(reference: Baseline, tmp_path: Path) -> None:
    course = copy_graded(reference.course, tmp_path)
    before = latest(course)
    home = copy_home(tmp_path)
    rubric = home / "rubrics" / "boston" / "rubric.toml"
    text = rubric.read_text(encoding="utf-8")
    stricter = text.replace("{ margin = 0.35, fraction = 1.0 }", "{ margin = 0.0001, fraction = 1.0 }")
    assert stricter != text
    rubric.write_text(stricter, encoding="utf-8")
    marker = tmp_path / "kernel-started"
    summary, _ = run_grade(course, env=env_for_subprocess(home), no_kernel=marker)
    assert not marker.exists()  # nothing ran in a sandbox
    assert (summary.executed, summary.rescored, summary.reused) == (0, 4, 0)
    after = latest(course)
    with Gradebook(_gradebook(course)) as book:
        for key in KEYS:
            old, new = before[key], after[key]
            assert new.rescored_from == old.run_id
            assert new.provenance == old.provenance and _executed(new) == _executed(old)
            history = book.runs_for(load_course(course).name, *key)
            assert [r.run_id for r in history] == [old.run_id, new.run_id]  # appended, the old run kept
    assert after[("20", "boston")].status is Status.missing


def test_a_changed_due_date_rescores_timely_completion(
    reference: Baseline, tmp_path: Path, no_kernel: _NoKernel
) -> None:
    course = copy_graded(reference.course, tmp_path)
    before = latest(course)
    text = course.read_text(encoding="utf-8")
    course.write_text(
        re.sub(r"(\[experiments\.boston\]\nstart = \S+\n)due = \S+", r"\1due = 2026-08-11", text), encoding="utf-8"
    )
    assert load_course(course).experiments["boston"].due.day == 11
    summary = api.grade(course=course)
    assert no_kernel.jobs == []
    assert (summary.executed, summary.rescored, summary.reused) == (0, 4, 0)
    after = latest(course)
    timely = {key: (before[key].marks.timely_completion, after[key].marks.timely_completion) for key in KEYS}
    assert timely[("1", "boston")] == (5, 5)  # handed in on the 10th
    assert timely[("2", "boston")] == (5, 5)  # the 11th, 09:00: still on time
    assert timely[("3", "boston")] == (5, 4)  # the 12th: one started day late now
    for key in KEYS:
        assert after[key].rescored_from == before[key].run_id
        assert after[key].marks.coding_efficiency == before[key].marks.coding_efficiency


@pytest.mark.slow
def test_regrade_executes_everything_again(reference: Baseline, tmp_path: Path) -> None:
    course = copy_graded(reference.course, tmp_path)
    summary = api.grade(course=course, regrade=True)
    assert (summary.executed, summary.rescored, summary.reused) == (4, 0, 0)
    assert runs_per_key(_gradebook(course)) == {key: 2 for key in KEYS}
    assert marks_of(latest(course)) == reference.marks  # the same class executed again: the same marks
