"""Experiment 5 (Google stock, RNN): served data, the hidden future, the evaluator, end to end."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from graders.marking.checks.plugin import run_checks
from graders.models import Component, Status
from graders.paths import HOME, RUNTIME_PACKAGE
from graders.rubric import ProfileSpec, load_rubric
from tests.artifacts_helper import make_artifacts
from tests.conftest import load_evaluator, load_provider
from tests.eval_inputs import eval_spec, fit_record

SAMPLE = HOME / "submissions" / "sample"
NOTEBOOK = "Assignment5_GoogleStock.ipynb"
T = 60
stock = load_provider("stock")


def _provide(root: Path, seed: int = 7, days: int | None = None) -> dict[str, Any]:
    served = root / "served"
    served.mkdir(parents=True)
    return stock.provide(ProfileSpec.model_validate({"holdout_size": days}), seed, None, served)


# ---------------------------------------------------------------- provider


def test_provider_is_deterministic_and_serves_the_three_csvs(tmp_path: Path) -> None:
    one, two = _provide(tmp_path / "a", seed=1), _provide(tmp_path / "b", seed=2)
    for name in ("Google_Stock_Price_Train.csv", "Google_Stock_Price_Test.csv", "GOOGL.csv"):
        assert (tmp_path / "a/served/files" / name).read_bytes() == (tmp_path / "b/served/files" / name).read_bytes()
    for key, value in one["holdout"].items():
        np.testing.assert_array_equal(value, two["holdout"][key])
    # The Kaggle course files are served byte for byte: the Volume trap stays.
    original = HOME / "rubrics" / "stock" / "data" / "Google_Stock_Price_Train.csv"
    assert (tmp_path / "a/served/files/Google_Stock_Price_Train.csv").read_bytes() == original.read_bytes()
    assert one["keras"] == {} and "2017-02-01..2017-12-29 (231 days)" in one["source"]["stock"]


def test_the_hidden_future_is_in_no_served_file(tmp_path: Path) -> None:
    made = _provide(tmp_path)
    files = tmp_path / "served" / "files"
    yahoo = pd.read_csv(files / "GOOGL.csv", parse_dates=["Date"])
    assert yahoo["Date"].max() == pd.Timestamp("2017-01-31")
    hidden_days = pd.to_datetime(made["holdout"]["day"].astype(str), format="%Y%m%d")
    assert hidden_days.min() == pd.Timestamp("2017-02-01") and len(hidden_days) == 231
    for name in ("Google_Stock_Price_Train.csv", "Google_Stock_Price_Test.csv"):
        served_days = pd.to_datetime(pd.read_csv(files / name)["Date"], format="%m/%d/%Y")
        assert served_days.max() < hidden_days.min()
    text = "".join(p.read_text() for p in files.iterdir())
    assert "2017-02-01" not in text and "2/1/2017" not in text


def test_the_future_continues_on_the_kaggle_class_c_scale(tmp_path: Path) -> None:
    made = _provide(tmp_path, days=40)
    hold = made["holdout"]
    ratio = made["raw_stats"]["class_ratio"]
    assert 0.96 < ratio < 0.99  # GOOG (class C) trades a few percent below GOOGL (class A)
    np.testing.assert_allclose(hold["y"], hold["y_googl"] * ratio)
    assert len(hold["y"]) == 40
    # The first hidden day opens within 2 % of the last served Kaggle Open (no scale jump).
    assert abs(hold["y"][0] / hold["context"][-1] - 1) < 0.02
    assert hold["context"][-1] == pd.read_csv(tmp_path / "served/files/Google_Stock_Price_Test.csv")["Open"].iloc[-1]


# ---------------------------------------------------------------- evaluator


def _persistence(shape: tuple[int, ...]) -> Any:
    """A real Keras model whose forecast is the last value of its window: exactly the naive forecast."""
    import keras

    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1)])
    weights = np.zeros((T, 1), "float32")
    weights[-1, 0] = 1.0
    model.set_weights([weights, np.zeros(1, "float32")])
    return model


def _fit_record(prices: np.ndarray, scale: float, shift: float) -> dict[str, Any]:
    """What the shims record for windows cut from ``prices`` after ``price * scale + shift``."""
    sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    from labgrade_runtime.kernel.shims import _array_stats

    scaled = prices * scale + shift
    x = np.lib.stride_tricks.sliding_window_view(scaled[:-1], T)[..., None]
    return {"x": _array_stats(x), "y": _array_stats(scaled[T:])}


@pytest.mark.parametrize("fitted_on", ["train", "train+test", "raw", "googl"])
def test_scaling_is_inferred_so_the_naive_model_scores_exactly_one(tmp_path: Path, fitted_on: str) -> None:
    hold = _provide(tmp_path)["holdout"]
    prices = {"train+test": hold["context"], "googl": hold["context_googl"]}.get(
        fitted_on, hold["context"][: int(hold["n_train"][0])]
    )
    lo, hi = prices.min(), prices.max()
    scale, shift = (1.0, 0.0) if fitted_on == "raw" else (1 / (hi - lo), -lo / (hi - lo))
    metrics, how = load_evaluator("stock").score(
        _persistence((T, 1)), hold, fit_record(_fit_record(prices, scale, shift)), eval_spec()
    )
    assert metrics["rmse_ratio"] == pytest.approx(1.0, abs=2e-3), how
    assert metrics["naive_rmse"] > 1.0 and metrics["rmse"] == pytest.approx(metrics["naive_rmse"], rel=2e-3)
    assert ("as served" in how) == (fitted_on == "raw")
    assert ("train + test" in how) == (fitted_on == "train+test")
    assert ("GOOGL" in how) == (fitted_on == "googl")


def test_a_lagging_or_offset_model_is_worse_than_naive(tmp_path: Path) -> None:
    hold = _provide(tmp_path)["holdout"]
    prices = hold["context"][: int(hold["n_train"][0])]
    model = _persistence((T,))  # (None, T) input: a Dense-only window model
    weights = model.get_weights()
    weights[1][:] = 20.0  # forecasts $20 too high every day
    model.set_weights(weights)
    metrics, _ = load_evaluator("stock").score(model, hold, fit_record(_fit_record(prices, 1.0, 0.0)), eval_spec())
    naive = np.concatenate([hold["context"][-1:], hold["y"][:-1]])
    assert metrics["bias"] == pytest.approx(20.0 + np.mean(naive - hold["y"]), abs=0.01)
    assert metrics["rmse_ratio"] > 2.0


def test_a_model_forecasting_the_days_change_is_read_as_such(tmp_path: Path) -> None:
    """Targets that are scaled daily moves: a model forecasting "no move" (and one a move of +$1) against naive."""
    import keras

    hold = _provide(tmp_path)["holdout"]
    prices = hold["context"][: int(hold["n_train"][0])]
    lo, hi = prices.min(), prices.max()
    record = _fit_record(prices, 1 / (hi - lo), -lo / (hi - lo))
    scaled = (prices - lo) / (hi - lo)
    changes = np.lib.stride_tricks.sliding_window_view(scaled, T + 1)[:, -1] - scaled[T - 1 : -1]
    assert len(changes) == record["y"]["shape"][0]
    record["y"] = {
        k: float(v)
        for k, v in (("mean", changes.mean()), ("std", changes.std()), ("min", changes.min()), ("max", changes.max()))
    } | {"shape": [len(changes)]}
    evaluator = load_evaluator("stock")
    still = keras.Sequential(
        [keras.Input((T, 1)), keras.layers.Flatten(), keras.layers.Dense(1, kernel_initializer="zeros")]
    )
    metrics, how = evaluator.score(still, hold, fit_record(record), eval_spec())
    assert metrics["rmse_ratio"] == pytest.approx(1.0, abs=1e-6) and "the day's change" in how, how
    still.set_weights([still.get_weights()[0], np.array([1.0 / (hi - lo)], "float32")])  # +$1 a day
    metrics, _ = evaluator.score(still, hold, fit_record(record), eval_spec())
    naive = np.concatenate([hold["context"][-1:], hold["y"][:-1]])
    assert metrics["bias"] == pytest.approx(1.0 + np.mean(naive - hold["y"]), abs=1e-3)


def _window_model(T_: int, k: int, feature: int) -> Any:
    """A model of (T_, k) windows that forecasts tomorrow's value of one feature as today's (persistence)."""
    import keras

    model = keras.Sequential([keras.Input((T_, k)), keras.layers.Flatten(), keras.layers.Dense(1)])
    weights = np.zeros((T_ * k, 1), "float32")
    weights[(T_ - 1) * k + feature, 0] = 1.0
    model.set_weights([weights, np.zeros(1, "float32")])
    return model


def _windows_of(table: np.ndarray, T_: int, scale: np.ndarray, offset: np.ndarray, target: int, names: list[str]):
    """What the probe and the fit() shim record for windows of scaled columns, and the windows' targets."""
    from labgrade_runtime.contract import WindowFeatures
    from labgrade_runtime.kernel.shims import _array_stats

    scaled = table * scale + offset
    x = np.stack([np.lib.stride_tricks.sliding_window_view(scaled[:-1, c], T_) for c in range(table.shape[1])], -1)
    y = scaled[T_:, target]
    windows = WindowFeatures(
        shape=list(x.shape),
        min=x.min(axis=(0, 1)).tolist(),
        max=x.max(axis=(0, 1)).tolist(),
        mean=x.mean(axis=(0, 1)).tolist(),
        std=x.std(axis=(0, 1)).tolist(),
        scalers=[{"scaler": "MinMaxScaler", "names": names, "scale": scale.tolist(), "offset": offset.tolist()}]
        if names
        else [],
    )
    return fit_record({"x": _array_stats(x), "y": _array_stats(y)}), windows


@pytest.mark.parametrize(
    ("columns", "T_", "target", "named"),
    [
        (["Open", "High", "Low", "Close", "Volume"], 10, "Open", False),  # the (10, 5) of the whole file
        (["Open", "High", "Low", "Close", "Volume"], 10, "Close", True),  # fitted on a DataFrame: names known
        (["Close", "Volume"], 60, "Close", False),  # (60, 2)
        (["Volume", "Open"], 30, "Open", False),  # not in the file's order
    ],
)
def test_windows_of_several_columns_are_built_as_in_training(
    tmp_path: Path, columns: list[str], T_: int, target: str, named: bool
) -> None:
    hold = _provide(tmp_path)["holdout"]
    sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    all_columns = [str(c) for c in hold["table_columns"]]
    picked = [all_columns.index(c) for c in columns]
    train = hold["context_table"][: int(hold["n_train"][0])][:, picked]
    lo, hi = train.min(axis=0), train.max(axis=0)
    scale, offset = 1 / (hi - lo), -lo / (hi - lo)  # MinMaxScaler on the chosen columns
    fit, windows = _windows_of(train, T_, scale, offset, columns.index(target), columns if named else [])
    model = _window_model(T_, len(columns), columns.index(target))
    evaluator = load_evaluator("stock")
    metrics, how = evaluator.score(model, hold, fit, eval_spec(window_features=windows))
    assert metrics["rmse_ratio"] == pytest.approx(1.0, abs=2e-3), how
    future = hold["future_table"][:, all_columns.index(target)]
    naive = np.concatenate([hold["context_table"][-1:, all_columns.index(target)], future[:-1]])
    assert metrics["naive_rmse"] == pytest.approx(float(np.sqrt(np.mean((naive - future) ** 2))), rel=1e-6), how
    assert f"({', '.join(columns)})" in how and f"forecasts the {target}" in how and "Kaggle train file" in how
    assert f"{T_}-day windows" in how


def test_windows_of_the_first_rows_only_are_matched_to_that_part(tmp_path: Path) -> None:
    """Scaled on the whole file, then split 80/20 in time before the windows were cut: the training windows
    cover the first 80 % of the rows, whose range is not the file's."""
    hold = _provide(tmp_path)["holdout"]
    sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    table = hold["context_table"][: int(hold["n_train"][0])][:, [0, 3]]  # Open, Close
    lo, hi = table.min(axis=0), table.max(axis=0)
    scaled_all = table * (1 / (hi - lo)) - lo / (hi - lo)
    part = scaled_all[: int(len(scaled_all) * 0.8)]
    fit, windows = _windows_of(part, 20, np.ones(2), np.zeros(2), 0, [])
    metrics, how = load_evaluator("stock").score(_window_model(20, 2, 0), hold, fit, eval_spec(window_features=windows))
    assert "the first 80% of the Kaggle train file: 2 features a day (Open, Close)" in how, how
    assert metrics["rmse_ratio"] == pytest.approx(1.0, abs=2e-3), how


def test_a_univariate_model_of_the_close_is_scored_on_the_close(tmp_path: Path) -> None:
    hold = _provide(tmp_path)["holdout"]
    sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    close = hold["context_table"][: int(hold["n_train"][0]), [str(c) for c in hold["table_columns"]].index("Close")]
    lo, hi = close.min(), close.max()
    fit = fit_record(_fit_record(close, 1 / (hi - lo), -lo / (hi - lo)))
    metrics, how = load_evaluator("stock").score(_persistence((T, 1)), hold, fit, eval_spec())
    assert metrics["rmse_ratio"] == pytest.approx(1.0, abs=2e-3) and "Close column" in how, how


def test_several_features_without_their_windows_or_engineered_are_refused_with_a_reason(tmp_path: Path) -> None:
    hold = _provide(tmp_path, days=10)["holdout"]
    sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    evaluator = load_evaluator("stock")
    model = _window_model(T, 5, 0)
    with pytest.raises(evaluator.EvaluationError, match="the harness could not tell which served columns"):
        evaluator.score(model, hold, fit_record(), eval_spec())
    train = hold["context_table"][: int(hold["n_train"][0])]
    opens = train[:, :1]
    noise = np.random.default_rng(0).normal(size=(len(opens), 1))  # a feature of the notebook's own invention
    fit, windows = _windows_of(np.hstack([opens / opens.max(), noise]), T, np.ones(2), np.zeros(2), 0, [])
    with pytest.raises(evaluator.EvaluationError, match="1 of them .feature 2. match no served column nor any usual"):
        evaluator.score(_window_model(T, 2, 0), hold, fit, eval_spec(window_features=windows))


def test_usual_engineered_features_are_rebuilt_for_the_hidden_days(tmp_path: Path) -> None:
    """(30, 6): the five columns, a 7-day moving average and daily returns of the Close, scaled together."""
    hold = _provide(tmp_path)["holdout"]
    sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    frame = pd.DataFrame(hold["context_table"][: int(hold["n_train"][0])], columns=list(hold["table_columns"]))
    frame["MA7"] = frame["Close"].rolling(7).mean()
    frame["Return"] = frame["Close"].pct_change()
    frame = frame.dropna()
    table = frame.to_numpy("float64")
    lo, hi = table.min(axis=0), table.max(axis=0)
    fit, windows = _windows_of(table, 30, 1 / (hi - lo), -lo / (hi - lo), 3, [])
    metrics, how = load_evaluator("stock").score(_window_model(30, 7, 3), hold, fit, eval_spec(window_features=windows))
    assert "(Open, High, Low, Close, Volume, Close 7-day moving average, Close daily return)" in how, how
    assert "forecasts the Close" in how, how
    assert metrics["rmse_ratio"] == pytest.approx(1.0, abs=5e-3), how


def load_targets_value() -> float:
    """The calibrated quick-profile reference rmse_ratio."""
    import json

    return float(json.loads((HOME / "reference" / "stock" / "targets-quick.json").read_text())["metrics"]["rmse_ratio"])


def _checked(ratio: float, reference: float = 2.5) -> dict[str, Any]:
    """The stock rubric's checks over artifacts whose forecasts scored ``ratio``."""
    arch = [
        {
            "name": "lstm",
            "class_name": "LSTM",
            "output_shape": [None, 50],
            "params": 10400,
            "activation": "tanh",
            "units": 50,
        },
        {
            "name": "dense",
            "class_name": "Dense",
            "output_shape": [None, 1],
            "params": 51,
            "activation": "linear",
            "units": 1,
        },
    ]
    art = make_artifacts(
        experiment="stock",
        profile="quick",
        status=Status.completed,
        submitted_at=datetime(2026, 9, 1),
        metrics={"rmse_ratio": ratio, "rmse": 9.0 * ratio, "naive_rmse": 9.0},
        architecture=arch,
        total_params=10451,
        compile={"loss": "mean_squared_error"},
        train_seconds=5.0,
        targets={"metrics": {"rmse_ratio": reference}, "total_params": 30651, "train_seconds": 20.0},
    )
    return {r.id: r for r in run_checks(load_rubric("stock"), art)}


# Against the calibrated reference (about the naive forecast), a forecast 2.2x or 4.9x worse than naive is
# no longer worth full metric marks: the column separates a model that learned the task from one that did not.
@pytest.mark.parametrize(
    ("ratio", "naive_points", "metric_points"),
    [
        (0.95, 0.5, 2.0),
        (1.15, 0.25, 2.0),
        (1.45, 0.25, 1.5),
        (1.6, 0.0, 1.0),
        (2.2, 0.0, 1.0),
        (4.9, 0.0, 0.0),
        (30.0, 0.0, 0.0),
    ],
)
def test_beats_naive_and_metric_bands(ratio: float, naive_points: float, metric_points: float) -> None:
    results = _checked(ratio, reference=float(load_targets_value()))
    assert results["beats_naive"].awarded == naive_points, results["beats_naive"].evidence
    assert results["metric"].awarded == metric_points, results["metric"].evidence
    assert results["structure"].passed and results["runs"].passed


def test_rubric_points_and_questions() -> None:
    rubric = load_rubric("stock")
    assert rubric.metric.name == "rmse_ratio" and not rubric.metric.higher_is_better
    coding = rubric.points[Component.coding_efficiency]
    assert sum(coding.values()) == 5.0 and coding["beats_naive"] == 0.5
    assert len(rubric.questions) == 5
    assert rubric.detection_score('pd.read_csv("Google_Stock_Price_Train.csv")') > rubric.detection_score(
        "fashion_mnist"
    )


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_sample_notebooks_are_ordered_good_weak_broken() -> None:
    from graders import api

    runs = {
        who: api.check(notebook=SAMPLE / who / NOTEBOOK, experiment="stock") for who in ("1_Good", "2_Weak", "3_Broken")
    }
    good, weak, broken = (runs[w].marks for w in ("1_Good", "2_Weak", "3_Broken"))
    assert runs["1_Good"].status.ran and good.total >= 16, runs["1_Good"].checks
    assert good.coding_efficiency > weak.coding_efficiency > broken.coding_efficiency
    assert not runs["3_Broken"].status.ran and "7,380,500" in runs["3_Broken"].reason


def test_the_probe_records_the_training_windows_per_feature_and_the_scalers() -> None:
    sys.path.insert(0, str(RUNTIME_PACKAGE.parent))
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from labgrade_runtime.contract import WindowFeatures
    from labgrade_runtime.kernel import windows
    from labgrade_runtime.kernel.shims import _array_stats

    frame = pd.DataFrame({"Open": np.linspace(10, 20, 50), "Volume": np.linspace(1e6, 3e6, 50) ** 1.1})
    by_name = MinMaxScaler().fit(frame)
    scaled = by_name.transform(frame)
    x = np.stack([scaled[i - 5 : i] for i in range(5, len(scaled))])
    y = scaled[5:, 0]
    standard = StandardScaler().fit(frame.values)
    fits = [{"x": _array_stats(x), "y": _array_stats(y)}]
    found = windows.capture({"sc": by_name, "std": standard, "X_train": x, "y_train": y, "_hidden": x}, fits)
    assert found is not None
    record = WindowFeatures.model_validate(found)
    assert record.shape == [45, 5, 2] and record.y_columns == 1
    np.testing.assert_allclose(record.min, x.min(axis=(0, 1))) and np.testing.assert_allclose(
        record.std, x.std(axis=(0, 1))
    )
    named, plain = record.scalers
    assert named.variable == "sc" and named.names == ["Open", "Volume"] and plain.names == []
    np.testing.assert_allclose(frame.values * named.scale + named.offset, scaled, atol=1e-12)
    np.testing.assert_allclose(frame.values * plain.scale + plain.offset, standard.transform(frame.values), atol=1e-9)
    assert windows.capture({"other": x + 1}, fits) is None  # no array with the fit input's mean: nothing guessed
