"""A copy of the sample course whose gradebook holds hand-built runs (no kernel): for pages rendered from it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from graders.config import load_course
from graders.gradebook import Gradebook
from graders.marking.viva import viva_questions
from graders.models import ComponentMarks, RunRecord, Status
from graders.rubric import load_rubric
from tests.artifacts_helper import make_artifacts, make_run
from tests.conftest import copy_course

GRADED_AT = datetime(2026, 9, 20, 10, 0)

# A model with every layer the viva generator asks about, its output layer not the one the task expects (the
# longest answer key), and a loss whose key the rubric gives: the fullest viva sheet a run can have.
ARCHITECTURE = [
    {"name": "conv2d", "class_name": "Conv2D", "output_shape": [None, 26, 26, 32], "params": 320},
    {"name": "max_pooling2d", "class_name": "MaxPooling2D", "output_shape": [None, 13, 13, 32], "params": 0},
    {"name": "dense", "class_name": "Dense", "output_shape": [None, 128], "params": 692352},
    {"name": "dense_1", "class_name": "Dense", "output_shape": [None, 64], "params": 8256},
    {
        "name": "dense_2",
        "class_name": "Dense",
        "output_shape": [None, 7],
        "params": 455,
        "units": 7,
        "activation": "relu",
    },
]


def recorded_course(tmp: Path, runs: list[dict[str, Any]]) -> Path:
    """The sample course copied into ``tmp`` with ``runs`` (``make_run`` fields: roll_no, experiment, status,
    marks ...) recorded in its gradebook; the course file's path."""
    course = copy_course(tmp)
    cfg = load_course(course)
    cfg.gradebook.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(cfg.gradebook) as book:
        for n, fields in enumerate(runs):
            book.record_run(_run(cfg.name, n, dict(fields)))
    return course


def fullest_viva(experiment: str) -> list[Any]:
    """The viva questions the generator draws from ARCHITECTURE for ``experiment`` (five)."""
    rubric = load_rubric(experiment)
    loss = max(rubric.viva_loss_keys, key=lambda k: len(rubric.viva_loss_keys[k]), default="mse")
    art = make_artifacts(
        experiment=experiment,
        profile="quick",
        status=Status.completed,
        architecture=ARCHITECTURE,
        compile={"loss": loss},
    )
    return viva_questions(rubric, art)


def _run(course: str, n: int, fields: dict[str, Any]) -> RunRecord:
    fields.setdefault("status", Status.completed)
    fields.setdefault("marks", ComponentMarks(answers=5, coding_efficiency=5, viva=None, timely_completion=5))
    return make_run(
        run_id=f"recorded-{n}",
        course=course,
        name=fields.pop("name", "x"),
        graded_at=GRADED_AT + timedelta(minutes=n),
        submitted_at=GRADED_AT - timedelta(days=1),
        **fields,
    )
