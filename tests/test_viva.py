"""Viva questions and keys fit the student's own model."""

from __future__ import annotations

from graders.marking.viva import viva_questions
from graders.rubric import load_rubric
from tests.artifacts_helper import make_artifacts

DENSE_ONLY = [
    {
        "name": "flatten",
        "class_name": "Flatten",
        "output_shape": [None, 784],
        "params": 0,
        "activation": "",
        "units": None,
    },
    {
        "name": "dense",
        "class_name": "Dense",
        "output_shape": [None, 128],
        "params": 100480,
        "activation": "relu",
        "units": 128,
    },
    {
        "name": "dense_1",
        "class_name": "Dense",
        "output_shape": [None, 10],
        "params": 1290,
        "activation": "softmax",
        "units": 10,
    },
]


def test_the_output_layer_key_describes_the_students_own_layer() -> None:
    art = make_artifacts(
        experiment="fashion",
        profile="quick",
        status="completed",
        architecture=DENSE_ONLY,
        compile={"loss": "sparse_categorical_crossentropy"},
    )
    questions = viva_questions(load_rubric("fashion"), art)
    output = next(q for q in questions if "output layer" in q.question)
    assert "CNN" not in output.answer and "Conv2D" not in output.answer
    assert output.answer.startswith("10 unit(s) with 'softmax'")
    params = next(q for q in questions if "total" in q.question)
    assert params.answer == "101,770"


def test_a_different_output_layer_is_named_for_the_examiner() -> None:
    arch = [
        *DENSE_ONLY[:2],
        {
            "name": "out",
            "class_name": "Dense",
            "output_shape": [None, 1],
            "params": 129,
            "activation": "sigmoid",
            "units": 1,
        },
    ]
    art = make_artifacts(experiment="fashion", profile="quick", status="completed", architecture=arch)
    output = next(q for q in viva_questions(load_rubric("fashion"), art) if "output layer" in q.question)
    assert "The task expects 10 unit(s) with softmax" in output.answer
