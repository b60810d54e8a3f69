"""The checks plugin and scoring, over hand-built artifacts (JSON only; no kernel)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from graders.marking.answers import printed_metrics, score_answer, split_answers
from graders.marking.checks.plugin import run_checks
from graders.models import Artifacts, Component, Status
from graders.rubric import Rubric, RubricError, load_rubric, load_targets
from graders.steps.score import component_marks
from tests.artifacts_helper import make_artifacts

FASHION = load_rubric("fashion")
DUE = datetime(2026, 8, 28, 23, 59)
ARCH = [
    {
        "name": "conv2d",
        "class_name": "Conv2D",
        "output_shape": [None, 26, 26, 32],
        "params": 320,
        "activation": "relu",
        "units": 32,
    },
    {
        "name": "flatten",
        "class_name": "Flatten",
        "output_shape": [None, 21632],
        "params": 0,
        "activation": "",
        "units": None,
    },
    {
        "name": "dense",
        "class_name": "Dense",
        "output_shape": [None, 10],
        "params": 216330,
        "activation": "softmax",
        "units": 10,
    },
]


def artifacts(**changes: object) -> Artifacts:
    base = dict(
        experiment="fashion",
        profile="quick",
        status=Status.completed,
        metrics={"accuracy": 0.88},
        architecture=ARCH,
        total_params=216650,
        compile={"loss": "sparse_categorical_crossentropy"},
        train_seconds=20.0,
        markdown=[],
        submitted_at=DUE - timedelta(days=1),
        due=DUE,
        late_policy={"grace_hours": 0, "marks_lost_per_day": 1, "min_marks": 0},
        targets=load_targets("fashion", "quick"),
    )
    base.update(changes)
    return make_artifacts(**base)  # type: ignore[arg-type]


def by_id(checks, check_id):
    return [c for c in checks if c.id == check_id]


def test_a_good_run_earns_full_coding_efficiency():
    checks = run_checks(FASHION, artifacts(metrics={"accuracy": FASHION_REF}))
    marks = component_marks(checks)
    assert marks.coding_efficiency == 5
    metric = by_id(checks, "metric")[0]
    assert "target ≥" in metric.evidence and "reference" in metric.evidence


FASHION_REF = load_targets("fashion", "quick").metrics["accuracy"]


@pytest.mark.parametrize(("drop", "fraction"), [(0.0, 1.0), (0.05, 0.75), (0.12, 0.5), (0.25, 0.25), (0.5, 0.0)])
def test_metric_bands_relative_to_the_reference(drop, fraction):
    metric = by_id(run_checks(FASHION, artifacts(metrics={"accuracy": FASHION_REF - drop})), "metric")[0]
    assert metric.awarded == pytest.approx(2.0 * fraction)


def test_structure_check_explains_what_is_missing():
    dense_only = [ARCH[1], ARCH[2]]
    structure = by_id(run_checks(FASHION, artifacts(architecture=dense_only)), "structure")[0]
    assert not structure.passed and "no Conv2D" in structure.evidence


def test_sklearn_only_solution_is_told_why():
    structure = by_id(
        run_checks(FASHION, artifacts(architecture=[], sklearn_estimators=["MLPClassifier"])), "structure"
    )[0]
    assert "not a deep network" in structure.evidence


@pytest.mark.parametrize(
    ("late", "marks"),
    [(timedelta(hours=-1), 5), (timedelta(hours=3), 4), (timedelta(days=2, hours=1), 2), (timedelta(days=9), 0)],
)
def test_late_policy(late, marks):
    checks = run_checks(FASHION, artifacts(submitted_at=DUE + late))
    assert component_marks(checks).timely_completion == marks


def test_missing_submission_scores_zero_everywhere():
    checks = run_checks(
        FASHION, artifacts(status=Status.missing, metrics={}, architecture=[], submitted_at=None, total_params=0)
    )
    assert component_marks(checks).total == 0


def test_printed_numbers_far_above_the_truth_fail_honesty():
    honest = by_id(run_checks(FASHION, artifacts(metrics={"accuracy": 0.4}, printed={"accuracy": 0.99})), "honest")[0]
    assert not honest.passed and "0.99" in honest.evidence


def test_answers_are_found_and_scored_by_concept_coverage():
    text = (
        "## Assignment Questions\n**1. What is Binary Classification?**\n"
        "Binary classification assigns each example to one of two classes, positive or negative, "
        "using a sigmoid probability.\n"
        "**5. What is Adam Optimizer?**\nIt is an optimizer.\n"
    )
    answers = split_answers([text], FASHION.questions)
    assert "two classes" in answers[0] and answers[4].startswith("It is")
    assert score_answer(answers[0], FASHION.questions[0]).fraction == 1.0
    assert score_answer(answers[4], FASHION.questions[4]).fraction == 0.0  # too short
    assert split_answers(["# A CNN for Fashion-MNIST with a deep neural network"], FASHION.questions) == [""] * 5


def test_points_without_a_check_are_a_rubric_error(tmp_path):
    data = FASHION.model_dump()
    data["points"]["coding_efficiency"] = {
        "runs": 1.0,
        "metric": 2.0,
        "structure": 1.0,
        "efficiency": 0.5,
        "speed": 0.5,
    }
    broken = Rubric.model_validate(data)
    with pytest.raises(RubricError, match="no check implements points 'speed'"):
        run_checks(broken, artifacts())


def test_points_must_add_up_to_five():
    data = FASHION.model_dump()
    data["points"]["answers"] = {"answer": 4.0}
    with pytest.raises(ValueError, match="points.answers add up to 4"):
        Rubric.model_validate(data)


def test_printed_metrics_prefer_test_lines():
    nb = {
        "cells": [
            {
                "outputs": [
                    {"output_type": "stream", "text": "Epoch 1 accuracy: 0.50\nTest accuracy: 0.91\ntrain acc: 0.97\n"}
                ]
            }
        ]
    }
    import nbformat

    assert printed_metrics(nbformat.from_dict(nb))["accuracy"] == 0.91


def test_every_component_is_covered_by_checks():
    checks = run_checks(FASHION, artifacts())
    assert {c.component for c in checks} == set(Component)
    assert sum(c.points for c in checks) == pytest.approx(20)


def test_efficiency_compares_cpu_seconds_when_the_reference_has_them():
    targets = load_targets("fashion", "quick").model_copy(update={"train_seconds": 10.0, "train_cpu_seconds": 10.0})
    # a busy host stretches wall-clock time, not CPU time: the mark stays
    busy = by_id(
        run_checks(FASHION, artifacts(targets=targets, train_seconds=300.0, train_cpu_seconds=12.0)), "efficiency"
    )[0]
    assert busy.passed and "12.0 CPU s" in busy.evidence
    wasteful = by_id(
        run_checks(FASHION, artifacts(targets=targets, train_seconds=300.0, train_cpu_seconds=200.0)), "efficiency"
    )[0]
    assert not wasteful.passed and "over 40.0 CPU s" in wasteful.evidence


def test_efficiency_falls_back_to_wall_seconds_for_older_targets():
    targets = load_targets("fashion", "quick").model_copy(update={"train_cpu_seconds": 0.0, "train_seconds": 10.0})
    slow = by_id(
        run_checks(FASHION, artifacts(targets=targets, train_seconds=100.0, train_cpu_seconds=5.0)), "efficiency"
    )[0]
    assert not slow.passed and "trained for 100.0 s" in slow.evidence
