"""Forged numbers: the flag is raised only when the printed number is far better than the model measures on the
notebook's own test rows, fed exactly as the notebook fed it and reproduced; never on noise or a real number."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest

from graders.integrity.forgery import forgery_flags
from graders.models import Artifacts, CheckResult, Component, EvalResult, IntegrityFlag, ProbeResult, Status
from graders.reports.pages import csv_status
from graders.rubric import MetricRule, load_rubric
from tests.artifacts_helper import make_run

ACCURACY = MetricRule(
    name="accuracy", higher_is_better=True, margin_kind="absolute", bands=[{"margin": 0.1, "fraction": 1}]
)
MSE = MetricRule(
    name="mse", higher_is_better=False, margin_kind="relative", bands=[{"margin": 0.5, "fraction": 1}], label="test MSE"
)


def _artifacts(
    printed: dict[str, float],
    own: dict[str, float] | None,
    *,
    reproduced: bool = True,
    rows: int = 90,
    total: int = 90,
    replaced: bool = False,
    returned: list[float] | None = None,
    history: dict[str, list[float]] | None = None,
    hidden: dict[str, float] | None = None,
) -> Artifacts:
    call: dict[str, Any] = {
        "kind": "evaluate",
        "cell": 5,
        "names": ["X_test"],
        "role": "test",
        "rows": total,
        "rows_hashed": total,
        "replaced": replaced,
        "on_saved_model": True,
        "returned": returned or [],
    }
    probe = ProbeResult(
        model_found=True,
        model_saved=True,
        calls=[call],
        history=history or {},
        patched=[{"method": "evaluate", "cell": 5}] if replaced else [],
        own_split=None if own is None else {"call": 0, "rows": rows, "total_rows": total, "y_from": "evaluate(y)"},
    )
    evaluation = EvalResult(
        ok=True,
        metrics=hidden or {},
        own_split=None
        if own is None
        else {"rows": rows, "metrics": own, "reproduced": reproduced, "max_difference": 0.0},
    )
    return Artifacts(
        experiment="x", profile="quick", status=Status.completed, probe=probe, evaluation=evaluation, printed=printed
    )


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t")] + [nbformat.v4.new_code_cell(f"c{i}") for i in range(6)]
    return nb


def test_forger_is_flagged_with_printed_own_split_and_hidden_side_by_side() -> None:
    art = _artifacts({"mse": 8.5}, {"mse": 420.4}, replaced=True, returned=[8.5, 2.1], hidden={"mse": 494.1})
    [flag] = forgery_flags(art, MSE, _notebook())
    assert (flag.kind, flag.printed, flag.own_split, flag.hidden, flag.cell) == ("forged_numbers", 8.5, 420.4, 494.1, 6)
    assert "printed test MSE 8.5; the saved model measures 420.4 on the notebook's own 90 test rows" in flag.evidence
    assert "Those rows are exactly what evaluate() in cell 6 was given (X_test)" in flag.evidence
    assert (
        "model.evaluate was replaced by the notebook's own function in cell 6, which returned 8.5, 2.1" in flag.evidence
    )


def test_typed_in_accuracy_is_flagged() -> None:
    [flag] = forgery_flags(_artifacts({"accuracy": 0.99}, {"accuracy": 0.24}, returned=[2.1, 0.24]), ACCURACY)
    assert flag.label == "forged numbers"


@pytest.mark.parametrize(
    ("printed", "own", "why"),
    [
        (0.85, 0.80, "within the margin: noise, not forgery"),
        (0.62, 0.62, "the own split agrees: an honest model, whatever the hidden set says"),
    ],
)
def test_agreement_and_noise_are_not_flagged(printed: float, own: float, why: str) -> None:
    art = _artifacts({"accuracy": printed}, {"accuracy": own}, hidden={"accuracy": 0.30})
    assert forgery_flags(art, ACCURACY) == [], why


def test_no_flag_without_a_fair_comparison() -> None:
    assert forgery_flags(_artifacts({"accuracy": 0.99}, None), ACCURACY) == []  # never evaluated its own split
    assert forgery_flags(_artifacts({"accuracy": 0.99}, {"accuracy": 0.2}, reproduced=False), ACCURACY) == []
    assert forgery_flags(_artifacts({}, {"accuracy": 0.2}), ACCURACY) == []  # printed nothing


def test_a_real_number_printed_as_test_is_not_forged() -> None:
    """Training accuracy printed as the result is a real number of the run: the honesty check's business."""
    art = _artifacts({"accuracy": 0.97}, {"accuracy": 0.70}, history={"accuracy": [0.9, 0.97]})
    assert forgery_flags(art, ACCURACY) == []
    art = _artifacts({"accuracy": 0.97}, {"accuracy": 0.70}, returned=[0.1, 0.97])  # evaluate() on another set
    assert forgery_flags(art, ACCURACY) == []


def test_a_capped_own_split_needs_more_than_sampling_noise() -> None:
    """On 20 of 10,000 rows the accuracy's standard error is ~0.1: four of them are needed, not the 0.10 margin."""
    art = _artifacts({"accuracy": 0.75}, {"accuracy": 0.5}, rows=20, total=10_000)
    assert forgery_flags(art, ACCURACY) == []
    art = _artifacts({"accuracy": 0.75}, {"accuracy": 0.5}, rows=2_000, total=10_000)
    assert len(forgery_flags(art, ACCURACY)) == 1


def test_relative_metric_needs_half_the_error() -> None:
    assert forgery_flags(_artifacts({"mse": 30.0}, {"mse": 40.0}), MSE) == []
    assert len(forgery_flags(_artifacts({"mse": 15.0}, {"mse": 40.0}), MSE)) == 1


def test_flags_never_change_marks_and_show_in_the_csv_status() -> None:
    flag = IntegrityFlag(kind="forged_numbers", label="forged numbers", evidence="e")
    note = IntegrityFlag(kind="scaler_on_all_data", label="scaler fitted on all data", severity="note", evidence="n")
    check = CheckResult(
        id="honest", title="t", component=Component.coding_efficiency, points=0.5, awarded=0.0, passed=False
    )
    run = make_run(
        run_id="r",
        course="c",
        roll_no="6",
        name="Forger",
        experiment="boston",
        status=Status.completed,
        graded_at="2026-08-12T10:00:00",
        checks=[check],
        flags=[flag, note],
    )
    assert csv_status(run) == "completed; integrity: forged numbers"
    assert csv_status(run.model_copy(update={"flags": [note]})) == "completed"


def test_boston_rubric_metric_is_the_one_compared() -> None:
    rule = load_rubric("boston").metric
    assert rule.name == "mse" and not rule.higher_is_better


@pytest.mark.e2e
def test_the_sample_forger_is_flagged_and_keeps_its_marks() -> None:
    """The sample Forger replaces model.evaluate and prints MSE 8.5; its model measures hundreds on its own rows."""
    from graders import api
    from graders.paths import HOME

    run = api.check(
        notebook=HOME / "submissions/sample/6_Forger/Assignment1_Boston.ipynb", experiment="boston", backend="local"
    )
    [flag] = [f for f in run.flags if f.kind == "forged_numbers"]
    assert flag.printed == 8.5 and flag.own_split is not None and flag.own_split > 100
    assert "model.evaluate was replaced by the notebook's own function in cell 6" in flag.evidence
    honest = next(c for c in run.checks if c.id == "honest")
    assert honest.awarded == 0 and honest.points == 0.5  # the check's own half mark, nothing more
    column = [c.awarded for c in run.checks if c.component is Component.coding_efficiency]
    assert run.marks.coding_efficiency == round(sum(column), 2)
