"""What an experiment's ``score(model, holdout, fit, spec)`` is given, built in tests as the evaluator builds it."""

from __future__ import annotations

from typing import Any

from labgrade_runtime.contract import EvalSpec, FitRecord


def fit_record(record: dict[str, Any] | None = None) -> FitRecord:
    """The last fit() record as probe.json carries it (validated by the contract, as the evaluator reads it)."""
    return FitRecord.model_validate(record or {})


def eval_spec(**fields: Any) -> EvalSpec:
    """The evaluate job's spec, with the fields a hook reads (raw_stats, preprocessing)."""
    return EvalSpec.model_validate({"kind": "classification", "input": "images", **fields})
