"""The quick profile's budget of work per fit(), "inconclusive" metrics, and the marks that depend on the metric.

The first part drives the kernel's budget (``labgrade_runtime.kernel.budget``) and the checks over hand-built
artifacts; the notebooks at the end (``tests/caps_notebooks.py``) are graded in the quick profile with real
kernels and real TensorFlow: two short ones in the default suite, the rest with ``-m slow``.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from graders.marking.checks.plugin import run_checks
from graders.models import Component, FitRecord, Status
from graders.rubric import load_rubric, load_targets
from labgrade_runtime.kernel import budget
from labgrade_runtime.kernel.state import JOB, STATE
from tests.artifacts_helper import make_artifacts
from tests.caps_notebooks import CASES, CapsCase, notebook
from tests.job_spec import kernel_spec

CORE = ("boston", "letters", "fashion", "imdb", "stock")


@pytest.fixture
def job(tmp_path: Path) -> Iterator[Path]:
    """The kernel's job spec in the quick profile with a budget of 3,750 updates per fit."""
    noted = set(STATE["noted"])
    with kernel_spec(seed=7, fit_updates=3750, out_dir=str(tmp_path)):
        yield tmp_path
    STATE["noted"] = noted


def _args(**kwargs: Any) -> dict[str, Any]:
    def fit(
        self: Any,
        x: Any = None,
        y: Any = None,
        batch_size: Any = None,
        epochs: int = 1,
        validation_split: float = 0.0,
        validation_data: Any = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: Any = None,
    ) -> None:
        """Keras's fit signature, as far as the budget reads it."""

    bound = inspect.signature(fit).bind(None, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def _notes(folder: Path) -> list[str]:
    path = folder / "adaptations.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line)["detail"] for line in lines if json.loads(line)["kind"] == "fit_budget"]


def test_a_fit_within_the_budget_runs_as_written(job: Path) -> None:
    x = np.zeros((400, 13))
    args, record = _args(x=x, y=np.zeros(400), epochs=100), {}
    assert not budget.plan(args, record)
    assert args["x"] is x and args["steps_per_epoch"] is None and args["epochs"] == 100
    assert record == {"updates_asked": 1300, "updates": 1300, "cut": ""} and not _notes(job)


def test_a_fit_over_the_budget_keeps_its_epochs_and_trains_fewer_batches_each(job: Path) -> None:
    x, y = np.arange(60000 * 2).reshape(60000, 2), np.arange(60000)
    args, record = _args(x=x, y=y, epochs=50), {}
    assert budget.plan(args, record)
    # 75 batches of 32 an epoch: a seeded sample of 2,400 rows, pairs kept, the same rows on every run
    assert args["epochs"] == 50 and args["steps_per_epoch"] is None and len(args["x"]) == 2400
    assert (args["x"][:, 0] // 2 == args["y"]).all() and len(set(args["y"].tolist())) == 2400
    again = _args(x=x, y=y, epochs=50)
    budget.plan(again, {})
    assert (again["y"] == args["y"]).all()
    assert record == {"updates_asked": 93750, "updates": 3750, "cut": "batches per epoch"}
    said = _notes(job)[0]
    assert "trained 75 of its 1,875 batches per epoch" in said and "3,750 of the 93,750 updates" in said
    assert "2,400 of 60,000 samples (a seeded sample, the same every epoch)" in said
    assert "budget of 3,750 updates per fit; all 50 epochs ran" in said


def test_updates_are_counted_not_rows_so_a_big_batch_is_not_starved(job: Path) -> None:
    args, record = _args(x=np.zeros((60000, 784)), y=np.zeros(60000), epochs=20, batch_size=1200), {}
    assert not budget.plan(args, record)  # 50 batches x 20 epochs = 1,000 updates: as written
    assert record["updates"] == 1000 and args["steps_per_epoch"] is None


def test_a_fit_with_more_epochs_than_updates_is_cut_in_epochs_and_says_so(job: Path) -> None:
    args, record = _args(x=np.zeros((100, 3)), y=np.zeros(100), epochs=5000, batch_size=100), {}
    assert budget.plan(args, record)
    assert args["epochs"] == 3750 and args["steps_per_epoch"] == 1 and record["cut"] == "epochs"
    assert "trained 3,750 of its 5,000 epochs" in _notes(job)[0]


def test_a_cut_fit_validates_on_a_fixed_sample_and_keeps_keras_s_validation_split(job: Path) -> None:
    x, y = np.arange(60000 * 2).reshape(60000, 2), np.arange(60000)
    args = _args(x=x, y=y, epochs=50, validation_split=0.2)
    assert budget.plan(args, {})
    val_x, val_y = args["validation_data"]
    assert args["validation_split"] == 0.0 and len(args["x"]) == 2400 and (args["y"] < 48000).all()
    assert len(val_x) == 600 and (val_y >= 48000).all() and (val_x[:, 0] // 2 == val_y).all()  # the last samples
    data = _args(x=x, y=y, epochs=50, validation_data=(x[:10000], y[:10000]))
    budget.plan(data, {})
    assert len(data["validation_data"][0]) == 600  # a quarter of the 2,400 samples it trains an epoch


def test_a_batch_iterator_is_cut_in_steps(job: Path) -> None:
    class Flow:
        batch_size = 32

        def __len__(self) -> int:
            return 1875

    args, record = _args(x=Flow(), epochs=10), {}
    assert budget.plan(args, record)
    assert args["steps_per_epoch"] == 375 and record["updates_asked"] == 18750


def test_an_empty_training_set_is_said(job: Path) -> None:
    from labgrade_runtime.kernel import shims

    shims._note_empty(_bound(x=np.zeros((0, 784)), y=np.zeros(0)))
    shims._note_empty(_bound(x=np.zeros((5, 784)), y=np.zeros(5)))
    lines = (job / "adaptations.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["empty_training_set"]


def _bound(**kwargs: Any) -> inspect.BoundArguments:
    def fit(self: Any, x: Any = None, y: Any = None, epochs: int = 1) -> None:
        """Keras's fit, as far as the empty-set note reads it."""

    return inspect.signature(fit).bind(None, **kwargs)


def test_no_budget_in_the_full_profile(job: Path) -> None:
    JOB.spec = JOB.spec.model_copy(update={"fit_updates": 0, "profile": "full"})
    args, record = _args(x=np.zeros((60000, 784)), y=np.zeros(60000), epochs=50), {}
    assert not budget.plan(args, record) and record["updates"] == 93750


def test_the_loss_is_named_however_it_was_given() -> None:
    import keras

    class Model:
        loss: Any = None

    model = Model()
    for given, name in (
        ("mse", "mse"),
        (keras.losses.binary_crossentropy, "binary_crossentropy"),
        (keras.losses.BinaryCrossentropy(), "binary_crossentropy"),
        ({"gender": "binary_crossentropy", "age": "mae"}, "binary_crossentropy, mae"),
    ):
        model.loss = given
        assert budget.loss_name(model) == name


def test_every_core_budget_is_stated_from_the_reference_s_training() -> None:
    for experiment in CORE:
        quick = load_rubric(experiment).profiles["quick"]
        assert quick.reference_updates > 0 and quick.fit_updates == round(quick.reference_updates * quick.update_margin)
        assert load_rubric(experiment).profiles["full"].fit_updates == 0
    assert load_rubric("letters").profiles["quick"].fit_updates >= 30 * 450  # 16 features x 30 epochs, batch 32
    assert load_rubric("boston").profiles["quick"].fit_updates >= 100 * 13  # 400 rows x 100 epochs


# ---------------------------------------------------------------- the checks over hand-built artifacts

FASHION = load_rubric("fashion")
REFERENCE = load_targets("fashion", "quick").metrics["accuracy"]
ARCH = [
    {"name": "c", "class_name": "Conv2D", "output_shape": [None, 26, 26, 8], "params": 80, "activation": "relu"},
    {
        "name": "d",
        "class_name": "Dense",
        "output_shape": [None, 10],
        "params": 1000,
        "activation": "softmax",
        "units": 10,
    },
]


def _checks(accuracy: float, losses: list[float], cut: str = "batches per epoch", **extra: Any) -> dict[str, Any]:
    fit = FitRecord(
        seconds=5.0,
        cpu_seconds=5.0,
        updates_asked=93750,
        updates=3750,
        cut=cut,
        losses=losses,
        loss="sparse_categorical_crossentropy",
    )
    art = make_artifacts(
        experiment="fashion",
        profile="quick",
        status=Status.completed,
        metrics={"accuracy": accuracy},
        architecture=ARCH,
        compile={"loss": extra.pop("loss", "sparse_categorical_crossentropy")},
        fits=[fit],
        targets=load_targets("fashion", "quick"),
        **extra,
    )
    return {c.id: c for c in run_checks(FASHION, art)}


FALLING = [1.0 - 0.015 * i for i in range(50)]  # still falling ~9% over the last ten epochs
SETTLED = [0.5] * 40 + [0.4999] * 10


def test_a_cut_fit_still_improving_below_the_top_band_is_inconclusive_not_failed() -> None:
    checks = _checks(REFERENCE - 0.2, FALLING)
    metric = checks["metric"]
    assert metric.inconclusive and not metric.passed and metric.awarded == 0
    assert (
        "inconclusive" in metric.evidence
        and "still falling" in metric.evidence
        and "3,750 of the 93,750" in metric.evidence
    )
    assert "predicted" in metric.evidence
    assert checks["efficiency"].inconclusive and checks["honest"].inconclusive  # they wait for the metric
    assert not checks["structure"].inconclusive and not checks["runs"].inconclusive


def test_a_settled_or_good_or_uncut_fit_is_decided() -> None:
    assert not _checks(REFERENCE - 0.2, SETTLED)["metric"].inconclusive  # no longer improving: a real low mark
    assert not _checks(REFERENCE, FALLING)["metric"].inconclusive  # the top band already: nothing to decide
    assert not _checks(REFERENCE - 0.2, FALLING, cut="")["metric"].inconclusive  # ran as written


# Plain SGD with a small learning rate, cut to a few hundred updates: the loss falls at much the same pace every
# epoch, 1.7 % a fifth, under the 2 % that alone counts as still improving (the pattern of a real Fashion fit).
STEADY = [2.46 - 0.005 * i for i in range(40)]
# Levelled off high: a fast fall in the first epochs, then flat within the noise of a cut fit's epochs.
PLATEAU_HIGH = [2.46 - 0.05 * i for i in range(5)] + [2.21 + 0.001 * (i % 3) for i in range(35)]
# Levelled off with a drift: falling in every fifth, but the last fifth at a sliver of its average pace.
DRIFTING = [0.4 + 2.0 * math.exp(-i / 2) - 0.0002 * i for i in range(40)]
NOISY_FLAT = [2.3 + (0.02 if i % 2 else -0.02) for i in range(40)]


def test_a_cut_fit_falling_slowly_but_steadily_is_still_learning_whatever_the_loss_s_scale() -> None:
    for scale in (1.0, 100.0):  # cross-entropy or an MSE in the hundreds: the rule reads shares, not amounts
        metric = _checks(REFERENCE - 0.6, [scale * v for v in STEADY])["metric"]
        assert metric.inconclusive and not metric.passed and metric.awarded == 0, metric.evidence
        assert "still falling at the cut" in metric.evidence and "(1.7%) over its last 8 epoch(s)" in metric.evidence
        assert "slower than 2% a fifth but steady" in metric.evidence and "pending" in metric.evidence
    short = _checks(REFERENCE - 0.6, [2.4, 2.38])["metric"]  # two epochs, each a little lower: still learning
    assert short.inconclusive, short.evidence


def test_a_cut_fit_whose_loss_levelled_off_is_decided_and_says_why() -> None:
    for losses in (PLATEAU_HIGH, DRIFTING, NOISY_FLAT):
        metric = _checks(REFERENCE - 0.6, losses)["metric"]
        assert not metric.inconclusive and metric.awarded == 0, metric.evidence
        assert "cut fit() to 3,750 of the 93,750 updates" in metric.evidence, metric.evidence
        assert "its training loss had levelled off" in metric.evidence
    lowest = FASHION.metric.target(REFERENCE, FASHION.metric.bands[-1])
    decided = _checks(lowest + 0.001, DRIFTING)["metric"]  # a band met, short of the top: the budget is not why
    assert decided.awarded == 0.25 * decided.points and "levelled off" in decided.evidence
    one = _checks(REFERENCE - 0.6, [2.3])["metric"]  # one epoch shows no trend: decided, and said
    assert not one.inconclusive and "too few epochs to show a trend" in one.evidence
    diverged = _checks(REFERENCE - 0.6, [2.3, 9.1, math.nan])["metric"]
    assert not diverged.inconclusive and "not a finite number" in diverged.evidence
    top = _checks(REFERENCE, PLATEAU_HIGH)["metric"]
    assert top.awarded == top.points and "levelled off" not in top.evidence  # nothing to explain at the top


def test_the_rubric_states_the_still_learning_rule() -> None:
    from graders.rubric import ProfileSpec

    words = ProfileSpec.model_fields["improving_rate"].description or ""
    assert "last fifth" in words and "steadily" in words and "levelled off" in words


def test_the_inconclusive_column_is_pending_in_the_run() -> None:
    from graders.steps.score import component_marks

    checks = list(_checks(REFERENCE - 0.2, FALLING).values())
    pending = {c.component for c in checks if c.inconclusive}
    assert pending == {Component.coding_efficiency}
    assert component_marks(checks, pending).coding_efficiency is None


def test_half_marks_go_only_to_a_model_that_reaches_the_lowest_band() -> None:
    useless = _checks(0.10, SETTLED)
    assert useless["runs"].awarded == 1 and useless["structure"].awarded == 1  # unchanged
    assert useless["efficiency"].awarded == 0 and useless["honest"].awarded == 0
    assert "only for a model that reaches the metric's lowest band" in useless["efficiency"].evidence
    lowest = FASHION.metric.target(REFERENCE, FASHION.metric.bands[-1])
    learns = _checks(lowest + 0.001, SETTLED)
    assert learns["efficiency"].awarded == 0.5 and learns["honest"].awarded == 0.5


def test_a_loss_given_as_a_function_object_is_that_loss() -> None:
    imdb = load_rubric("imdb")
    fit = FitRecord(loss="binary_crossentropy", cpu_seconds=1.0, seconds=1.0)
    arch = [
        {
            "name": "d",
            "class_name": "Dense",
            "output_shape": [None, 1],
            "params": 51,
            "activation": "sigmoid",
            "units": 1,
        }
    ]
    art = make_artifacts(
        experiment="imdb",
        profile="quick",
        status=Status.completed,
        metrics={"accuracy": 0.9},
        architecture=arch,
        compile={"loss": "function"},  # how the saved file names losses.binary_crossentropy
        fits=[fit],
        targets=load_targets("imdb", "quick"),
    )
    structure = next(c for c in run_checks(imdb, art) if c.id == "structure")
    assert structure.passed and "loss binary_crossentropy" in structure.evidence


# ---------------------------------------------------------------- notebooks graded in the quick profile


def _grade(case: CapsCase, tmp_path: Path) -> Any:
    from graders import api
    from graders.backends.base import Limits

    path = tmp_path / f"{case.name}.ipynb"
    nbformat.write(notebook(case), path)
    # The self-check's own limits, with room for a host shared with other jobs: these cases are about the
    # budget's cut (counted in updates, never seconds), not about how fast the host is.
    limits = Limits(cell_seconds=600, wall_seconds=1800)
    return api.check(notebook=path, experiment=case.experiment, backend="local", limits=limits)


def _assert_deserved(case: CapsCase, run: Any) -> None:
    assert run.status.value == "completed", run.reason
    cuts = [a.detail for a in run.adaptations if a.kind == "fit_budget" and "trained" in a.detail]
    assert bool(cuts) == case.cut, cuts
    metric = next(c for c in run.checks if c.id == "metric")
    if case.inconclusive is not None:
        assert metric.inconclusive == case.inconclusive, metric.evidence
    if not metric.inconclusive:
        assert metric.awarded >= case.min_metric_points, metric.evidence
    fit = run.artifacts.fits[-1]
    assert len(fit.losses) == case.epochs
    if case.updates_asked is not None:  # None: the case does not pin the count its call asks for
        assert fit.updates_asked == case.updates_asked


@pytest.mark.e2e
@pytest.mark.parametrize("case", [c for c in CASES if not c.slow], ids=lambda c: c.name)
def test_short_notebooks_are_graded_as_they_deserve(case: CapsCase, tmp_path: Path) -> None:
    _assert_deserved(case, _grade(case, tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.slow], ids=lambda c: c.name)
def test_slow_converging_notebooks_are_graded_as_they_deserve(case: CapsCase, tmp_path: Path) -> None:
    _assert_deserved(case, _grade(case, tmp_path))


# ---------------------------------------------------------------- the author's own run against ours


def _saved(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('Test accuracy:', model.evaluate(x_test, y_test)[1])")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [cell]
    return nb


def _letters_run(measured: float, experiment: str = "letters") -> Any:
    from graders.models import Artifacts, EvalResult

    return Artifacts(
        experiment=experiment,
        profile="quick",
        status=Status.completed,
        evaluation=EvalResult(ok=True, metrics={"accuracy": measured}, holdout_size=2000),
        targets=load_targets(experiment, "quick"),
    )


def test_a_measure_far_below_the_author_s_own_saved_test_metric_is_a_note_for_the_examiner() -> None:
    from graders.integrity.forgery import discrepancy_flags

    rule = load_rubric("letters").metric
    [flag] = discrepancy_flags(_letters_run(0.68), rule, _saved("Test accuracy: 0.86\n"), dataset="letters")
    assert flag.severity == "note" and flag.kind == "measured_below_saved"
    assert flag.printed == 0.86 and flag.hidden == 0.68 and "author's own run" in flag.evidence
    assert not discrepancy_flags(
        _letters_run(0.80), rule, _saved("Test accuracy: 0.86\n"), dataset="letters"
    )  # a split's noise
    assert not discrepancy_flags(
        _letters_run(0.68), rule, _saved("accuracy: 0.99 - loss: 0.02\n"), dataset="letters"
    )  # training
    fashion = load_rubric("fashion").metric  # stand-in data: the author's number is of other data
    assert not discrepancy_flags(
        _letters_run(0.58, "fashion"), fashion, _saved("Test accuracy: 0.91\n"), dataset="fashion_mnist"
    )


# ---------------------------------------------------------------- grade --uncapped-inconclusive


def _task_and_context(tmp_path: Path) -> tuple[Any, Any]:
    from graders import submissions
    from graders.backends.local import LocalSandbox
    from graders.models import LatePolicy
    from graders.state import GradeContext, Task
    from graders.submissions import Student
    from tests.caps_notebooks import CASES

    path = tmp_path / "lab.ipynb"
    nbformat.write(notebook(CASES[0]), path)
    rubric = load_rubric("boston")
    sub = submissions.read_submission(path, [rubric], None)
    ctx = GradeContext(
        course="C", profile="quick", seed=1, limits=_limits(), late_policy=LatePolicy(), backend=LocalSandbox()
    )
    return ctx, Task(Student("7", "Slow"), rubric, sub, None)


def _limits() -> Any:
    from graders.backends.base import Limits

    return Limits()


def test_uncapped_inconclusive_repeats_exactly_the_inconclusive_runs_and_they_stay_repeated(tmp_path: Path) -> None:
    from graders import batch
    from graders.gradebook import Gradebook
    from graders.models import CheckResult, RunRecord

    ctx, task = _task_and_context(tmp_path)
    runtime = batch.runtime_fingerprint(ctx)
    metric = CheckResult(
        id="metric",
        title="m",
        component=Component.coding_efficiency,
        points=2,
        awarded=0,
        passed=False,
        inconclusive=True,
    )
    capped = RunRecord(
        run_id="r1",
        course="C",
        roll_no="7",
        name="Slow",
        experiment="boston",
        status=Status.completed,
        checks=[metric],
        inputs=batch.inputs_of(ctx, task, runtime),
        graded_at=datetime(2026, 9, 1),
    )
    with Gradebook(tmp_path / "book.sqlite") as book:
        book.record_run(capped)
        [again] = batch.inconclusive_tasks([task], book, "C")
        assert again.uncapped and "without the quick profile's training budget" in again.note
        plan = batch.plan(ctx, [again], book, regrade=True)
        assert [t.uncapped for t in plan.execute] == [True]
        assert plan.execute[0].inputs["execution"] != capped.inputs["execution"]  # a run of its own
        decided = capped.model_copy(
            update={
                "run_id": "r2",
                "checks": [metric.model_copy(update={"inconclusive": False})],
                "inputs": plan.execute[0].inputs,
            }
        )
        book.record_run(decided)
        assert batch.inconclusive_tasks([task], book, "C") == []
        later = batch.plan(ctx, [task], book)  # a plain grade afterwards: the uncapped run is reused, not capped again
        assert [r.run_id for r in later.reuse] == ["r2"] and not later.execute


def test_a_self_check_says_why_an_inconclusive_column_waits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime

    from graders import api, cli
    from graders.steps.score import component_marks
    from tests.artifacts_helper import make_run

    checks = list(_checks(REFERENCE - 0.2, FALLING).values())
    pending = {c.component for c in checks if c.inconclusive} | {Component.viva}
    run = make_run(
        run_id="self-check", course="self-check", roll_no="0", name="me", experiment="fashion",
        status=Status.completed, marks=component_marks(checks, pending), checks=checks,
        graded_at=datetime(2026, 8, 27), submitted_at=datetime(2026, 8, 27),
    )  # fmt: skip
    monkeypatch.setattr(api, "check", lambda **_: run)
    notebook = tmp_path / "lab.ipynb"
    notebook.write_text("{}", encoding="utf-8")
    cli.main(["check", str(notebook)])
    printed = " ".join(capsys.readouterr().out.split())
    assert "Coding Efficiency pending: the metric is inconclusive (training was still improving" in printed
    assert "Viva pending: awaiting the examiner's viva" in printed
    assert "⚠" in printed and "predicted" in printed  # the warning with the band reached so far
