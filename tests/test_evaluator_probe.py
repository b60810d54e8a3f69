"""The trusted evaluator reads probe.json (written inside the student's kernel) only through the contract.

Each crafted file goes through the real entry point, ``python -m labgrade_runtime.evaluator``, in a process of
its own, as the evaluate step runs it: wrong types, huge numbers, missing keys, a path out of the job's folder.
Every one must end as a failed evaluation with its reason in words -- never a traceback, never a score.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from graders.paths import RUNTIME_PACKAGE
from labgrade_runtime.contract import (
    MAX_ARTIFACT_BYTES,
    ArrayStats,
    EvalResult,
    EvalRoots,
    EvalSpec,
    FitRecord,
    ProbeResult,
    read_artifact,
)

ROWS, FEATURES = 40, 3


def _stats(a: np.ndarray) -> ArrayStats:
    cols = a.reshape(len(a), -1)
    return ArrayStats(
        shape=list(a.shape),
        dtype=str(a.dtype),
        mean=float(a.mean()),
        std=float(a.std()),
        min=float(a.min()),
        max=float(a.max()),
        feature_mean=cols.mean(axis=0).tolist() if a.ndim == 2 else None,
        feature_std=cols.std(axis=0).tolist() if a.ndim == 2 else None,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small regression model saved as a run saves it, and the hidden rows it is scored on."""
    import keras

    folder = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, FEATURES)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5], "float32")).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(folder / "model.keras")
    np.savez(folder / "holdout.npz", x=x, y=y)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return folder


def _honest_probe(trained: Path) -> dict[str, object]:
    x, y = np.load(trained / "x.npy"), np.load(trained / "y.npy")
    probe = ProbeResult(
        model_found=True, model_saved=True, fits=[FitRecord(x=_stats(x), y=_stats(y), epochs=2, seconds=0.1)]
    )
    return dict(json.loads(probe.dump()))


def _evaluate(tmp_path: Path, trained: Path, write_probe: Callable[[Path], None]) -> EvalResult:
    """Lay out an evaluate job around ``write_probe``'s probe.json, run the evaluator, read its result."""
    artifacts, holdout, out = (tmp_path / "job" / d for d in ("artifacts", "holdout", "out"))
    for folder in (artifacts, holdout, out):
        folder.mkdir(parents=True)
    (artifacts / "model.keras").write_bytes((trained / "model.keras").read_bytes())
    (holdout / "holdout.npz").write_bytes((trained / "holdout.npz").read_bytes())
    write_probe(artifacts / "probe.json")
    x, y = np.load(trained / "x.npy"), np.load(trained / "y.npy")
    raw = {"x": _stats(x).model_dump(), "y": _stats(y).model_dump()}
    spec = EvalSpec(kind="regression", input="tabular", raw_stats=raw)
    (tmp_path / "job" / "spec.json").write_text(spec.dump(), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(RUNTIME_PACKAGE.parent),
        **EvalRoots(artifacts=artifacts, holdout=holdout, out=out).env(),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "labgrade_runtime.evaluator", str(tmp_path / "job" / "spec.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    result = read_artifact(out / "evaluation.json", EvalResult)
    assert result is not None, "the evaluator wrote no valid evaluation.json"
    return result


def _json(value: object) -> Callable[[Path], None]:
    return lambda path: path.write_text(json.dumps(value), encoding="utf-8")


def _text(value: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(value, encoding="utf-8")


def _with_x(trained: Path, **x: object) -> dict[str, object]:
    """The honest probe with some of the last fit's input statistics replaced (None removes a key)."""
    probe = _honest_probe(trained)
    fits = probe["fits"]
    assert isinstance(fits, list)
    stats = {**fits[-1]["x"], **x}
    fits[-1]["x"] = {k: v for k, v in stats.items() if v is not None}
    return probe


def test_the_honest_probe_is_scored(tmp_path: Path, trained: Path) -> None:
    """The control: the same job with the probe the run wrote is scored, so each failure below is the probe's."""
    result = _evaluate(tmp_path, trained, _json(_honest_probe(trained)))
    assert result.ok and result.reason == "" and {"mse", "r2"} <= set(result.metrics)
    assert [layer.class_name for layer in result.architecture] == ["Dense"]
    assert result.architecture[0].units == 1 and result.architecture[0].params == FEATURES + 1


# A sequence model's training windows per feature, as the probe records them: (samples, window, features).
WINDOWS = {"shape": [9, 4, 2], "min": [0.0, 0.0], "max": [1.0, 1.0], "mean": [0.5, 0.5], "std": [0.2, 0.2]}
CRAFTED: dict[str, tuple[Callable[[Path], Callable[[Path], None]], list[str]]] = {
    "fits_not_a_list": (
        lambda t: _json({**_honest_probe(t), "fits": "every one of them"}),
        ["probe.json does not match the contract", "fits: Input should be a valid array"],
    ),
    "a_shape_of_words": (
        lambda t: _json(_with_x(t, shape="forty by three")),
        ["probe.json does not match the contract", "fits.0.x.shape"],
    ),
    "a_mean_that_is_text": (
        lambda t: _json(_with_x(t, mean="0.5; import os")),
        ["fits.0.x.mean: Input should be a valid number", "0.5; import os"],
    ),
    "a_huge_mean": (
        lambda t: _json(_with_x(t, mean=1e300, std=1e300)),
        ["fits.0.x", "a statistic of 1e+300 is beyond 1e+15"],
    ),
    "an_infinite_spread": (
        lambda t: _text(json.dumps(_with_x(t)).replace('"std": ', '"std": 1e999, "was": ', 1)),
        ["fits.0.x", "a statistic of inf is beyond"],
    ),
    "a_shape_beyond_memory": (
        lambda t: _json(_with_x(t, shape=[10**40, FEATURES])),
        ["fits.0.x", "has a dimension outside"],
    ),
    "missing_the_mean": (
        lambda t: _json(_with_x(t, mean=None)),
        ["probe.json does not match the contract", "fits.0.x.mean: Field required"],
    ),
    "own_split_out_of_the_job": (
        lambda t: _json({**_honest_probe(t), "own_split": {"call": 0, "file": "../../holdout/holdout.npz"}}),
        ["own_split.file", "must be a file name beside probe.json", "../../holdout/holdout.npz"],
    ),
    "own_split_absolute": (
        lambda t: _json({**_honest_probe(t), "own_split": {"call": 0, "file": "/etc/passwd"}}),
        ["own_split.file", "must be a file name beside probe.json"],
    ),
    "window_features_of_another_width": (
        lambda t: _json({**_honest_probe(t), "window_features": {**WINDOWS, "min": [0.0]}}),
        ["window_features", "one value per feature (2)"],
    ),
    "window_features_infinite": (
        lambda t: _text(
            json.dumps({**_honest_probe(t), "window_features": WINDOWS}).replace("[0.5, 0.5]", "[1e999, 0.5]")
        ),
        ["window_features", "finite numbers"],
    ),
    "a_scaler_without_its_offsets": (
        lambda t: _json(
            {
                **_honest_probe(t),
                "window_features": {**WINDOWS, "scalers": [{"scaler": "MinMaxScaler", "scale": [1.0], "offset": []}]},
            }
        ),
        ["window_features.scalers.0", "one entry per column"],
    ),
    "not_json": (lambda t: _text("{'fits': [}"), ["probe.json does not match the contract", "Invalid JSON"]),
    "oversized": (
        lambda t: _text(json.dumps({**_honest_probe(t), "model_how": "x" * MAX_ARTIFACT_BYTES})),
        ["probe.json is", f"over the limit of {MAX_ARTIFACT_BYTES:,}"],
    ),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_probe_fails_the_evaluation_with_its_reason(tmp_path: Path, trained: Path, case: str) -> None:
    write, words = CRAFTED[case]
    result = _evaluate(tmp_path, trained, write(trained))
    assert not result.ok and result.metrics == {} and result.architecture == []
    assert result.reason.startswith("the run's record cannot be trusted: "), result.reason
    for word in words:
        assert word in result.reason, result.reason


def test_a_probe_linked_to_a_file_outside_the_job_is_not_read(tmp_path: Path, trained: Path) -> None:
    """Student code can leave probe.json as a link to any file; the evaluator reads only what the run wrote."""
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps(_honest_probe(trained)), encoding="utf-8")  # valid, but not the run's own file
    result = _evaluate(tmp_path, trained, lambda path: path.symlink_to(outside))
    assert not result.ok and result.metrics == {}
    assert "probe.json is a link (to " in result.reason and str(outside) in result.reason, result.reason


def test_statistics_of_missing_values_are_kept_as_written(tmp_path: Path) -> None:
    """Data with missing values has NaN statistics, which JSON writes as null: the probe stays valid on both sides."""
    from labgrade_runtime.evaluator.evaluate import read_probe

    x = np.array([[1.0, np.nan], [2.0, 3.0]])
    stats = ArrayStats(shape=[2, 2], mean=float(np.mean(x)), std=1.0, min=1.0, max=3.0, feature_mean=[1.5, np.nan])
    path = tmp_path / "probe.json"
    path.write_text(ProbeResult(model_found=True, fits=[FitRecord(x=stats)]).dump(), encoding="utf-8")
    assert '"mean":null' in path.read_text(encoding="utf-8")
    for probe in (read_artifact(path, ProbeResult), read_probe(path)):
        assert probe is not None and probe.fits[0].x is not None
        assert np.isnan(probe.fits[0].x.mean) and probe.fits[0].x.feature_mean == [
            1.5,
            pytest.approx(np.nan, nan_ok=True),
        ]


def test_a_model_linked_to_a_file_outside_the_job_is_not_loaded(tmp_path: Path, trained: Path) -> None:
    """model.keras left as a link to the hidden holdout (mounted beside the artifacts) is refused, not opened."""

    def link_model(path: Path) -> None:
        _json(_honest_probe(trained))(path)
        model = path.parent / "model.keras"
        model.unlink()
        model.symlink_to("../holdout/holdout.npz")

    result = _evaluate(tmp_path, trained, link_model)
    assert not result.ok and result.metrics == {}
    assert result.reason.startswith("the saved model cannot be trusted: model.keras is a link"), result.reason


def test_an_own_split_linked_to_the_hidden_holdout_is_not_scored(tmp_path: Path, trained: Path) -> None:
    """The holdout has the x and y an own split has: a link to it must not report the hidden rows' score."""

    def link_split(path: Path) -> None:
        _json({**_honest_probe(trained), "own_split": {"call": 0, "file": "own_split.npz"}})(path)
        (path.parent / "own_split.npz").symlink_to("../holdout/holdout.npz")

    result = _evaluate(tmp_path, trained, link_split)
    assert result.ok and result.own_split is not None, result.reason  # the hidden holdout itself is still scored
    assert result.own_split.rows == 0 and result.own_split.metrics == {}
    assert "own_split.npz is a link (to ../holdout/holdout.npz)" in result.own_split.reason, result.own_split.reason
