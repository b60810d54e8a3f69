"""Artifacts for check tests, written flat: evaluation and probe fields are nested the way the sandbox reports them."""

from __future__ import annotations

from typing import Any

from graders.models import Artifacts, EvalResult, FitRecord, ProbeResult, RunRecord

_EVALUATION = ("metrics", "architecture", "total_params", "compile", "input_transform")
_PROBE = ("history", "fits", "sklearn_estimators")


def make_artifacts(**fields: Any) -> Artifacts:
    """``Artifacts`` from flat keyword arguments (``metrics=``, ``train_seconds=`` ...)."""
    evaluation = {k: fields.pop(k) for k in _EVALUATION if k in fields}
    probe = {k: fields.pop(k) for k in _PROBE if k in fields}
    seconds = {k: fields.pop(k) for k in ("train_seconds", "train_cpu_seconds") if k in fields}
    if seconds:
        probe.setdefault("fits", []).append(
            FitRecord(seconds=seconds.get("train_seconds", 0.0), cpu_seconds=seconds.get("train_cpu_seconds", 0.0))
        )
    if "architecture" in evaluation and "total_params" not in evaluation:
        evaluation["total_params"] = sum(int(layer.get("params") or 0) for layer in evaluation["architecture"])
    if evaluation:
        fields["evaluation"] = EvalResult(ok=True, **evaluation)
    if probe:
        fields["probe"] = ProbeResult(**probe)
    return Artifacts(**fields)


_ARTIFACT_FIELDS = (
    "metrics",
    "architecture",
    "total_params",
    "compile",
    "history",
    "viva",
    "adaptations",
    "cell_error",
    "train_seconds",
    "train_cpu_seconds",
    "fits",
)


def make_run(**fields: Any) -> RunRecord:
    """A ``RunRecord`` from flat keyword arguments: what the artifacts hold (``metrics=``, ``viva=`` ...) goes there."""
    inner = {k: fields.pop(k) for k in _ARTIFACT_FIELDS if k in fields}
    if inner or "artifacts" not in fields:
        fields["artifacts"] = make_artifacts(
            experiment=fields["experiment"], profile="quick", status=fields["status"], **inner
        )
    return RunRecord(**fields)


def course_toml(name: str, extra: str = "") -> str:
    """A course file for a class taking Boston and Fashion (its files under ``out/``), plus ``extra`` sections."""
    return f"""
[course]
name = "{name}"
roster = "roster.csv"
submissions = "submissions"
gradebook = "out/gradebook.sqlite"
reports = "out/reports"

[experiments.boston]
start = 2026-08-03
due = 2026-08-14

[experiments.fashion]
start = 2026-08-17
due = 2026-08-28
{extra}"""
