"""Experiment 5's trusted scoring: one-step-ahead forecasts of the hidden future.

Loaded by ``labgrade_runtime.evaluator.evaluate`` in a fresh process (no student code).
The student's model maps a window of the previous T Open prices, scaled the
way the student scaled them, to the next day's (scaled) Open. Here:

1. T and the per-sample layout come from the model's input shape
   ((None, T, 1), (None, T) or (None, 1, T); the fit record's shape where the
   model leaves T open). Multivariate windows (T x k, k > 1) are refused with
   a reason: the harness only holds the Open series for the future.
2. The student's scaling is inferred from the last fit() record: under the
   hypothesis "an affine map of the prices of series S, windows of length T",
   the recorded y (and x) statistics fix the map by their mean and spread, and
   their min and max confirm it. S is the Kaggle train Open column (the
   classic MinMaxScaler), train + January test, or GOOGL.csv's Open (its own
   scale and its own holdout, GOOGL's raw 2017 prices). The best-confirmed
   hypothesis wins; raw (unscaled) prices are the identity map.
3. Windows over [last T served prices + hidden future] feed the model one
   day at a time with the true previous prices (one step ahead); predictions
   are mapped back to dollars and compared with the naive "tomorrow = today"
   forecast on the same days: rmse_ratio = rmse / naive_rmse. Targets that
   are the day's change rather than the price (their recorded spread says
   which) are added to the previous day's price.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from labgrade_runtime.evaluator.kit import ArrayStats, EvalSpec, EvaluationError, FitRecord, WindowFeatures, affine

IDENTITY_TOLERANCE = 0.02  # |a - 1| and |b| / price level below this: prices were used as served
MISMATCH_WARN = 0.05  # min/max off by more than this share of the range: the map is a best guess
OTHER_COLUMN = 0.005  # a column other than Open must match by this much better (similar columns: Open, High...)
OTHER_PLACE = 0.002  # a feature's own place in the file breaks near-ties (Close and Adj Close are equal in GOOGL.csv)
NO_COLUMN = 0.25  # a feature whose best served column is off by more than this share of its range is none of them


# NamedTuples, not dataclasses: the evaluator loads this file without registering
# it in sys.modules, and @dataclass needs its module there.
class Series(NamedTuple):
    """One hypothesis of what the student trained on, with its own future."""

    name: str
    fitted: np.ndarray  # the prices the training windows were cut from
    context: np.ndarray  # every served price before the future, same scale
    future: np.ndarray  # the hidden prices to forecast, same scale


class Affine(NamedTuple):
    """scaled = a * price + b."""

    a: float
    b: float

    def apply(self, prices: np.ndarray) -> np.ndarray:
        """Prices to the student's scale."""
        return prices * self.a + self.b

    def invert(self, scaled: np.ndarray) -> np.ndarray:
        """The student's scale back to prices."""
        return (scaled - self.b) / self.a


def window_layout(model: Any, fit: FitRecord) -> tuple[int, tuple[int, ...]]:
    """T (prices per sample) and the per-sample input shape the model takes."""
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    per_sample = [None if d is None else int(d) for d in tuple(shape)[1:]]
    recorded = fit.x.shape[1:] if fit.x else []
    if None in per_sample and len(recorded) == len(per_sample):
        per_sample = [r if d is None else d for d, r in zip(per_sample, recorded)]
    known = [d for d in per_sample if d is not None]
    if len(known) < len(per_sample) or not known:
        raise EvaluationError(f"the model's input shape {tuple(shape)} does not say how many past prices it reads")
    return int(np.prod(known)), tuple(known)


def features_per_day(per_sample: tuple[int, ...]) -> tuple[int, int]:
    """(window length T, features a day k) of a per-sample shape: (60, 1), (60,), (1, 60) or (10, 5)."""
    if len(per_sample) >= 2 and sorted(per_sample)[-2] > 1:
        if len(per_sample) != 2:
            raise EvaluationError(f"the model reads {per_sample} values per sample; windows are (days, features)")
        return per_sample[0], per_sample[1]
    return int(np.prod(per_sample)), 1


def candidates(holdout: dict[str, np.ndarray]) -> list[Series]:
    """What a student may have trained on, each with its matching future: the Open prices first, then the
    other columns of the same files (a model of the Close, the High...)."""
    context, future, n_train = holdout["context"], holdout["y"], int(holdout["n_train"][0])
    out = [
        Series("the Kaggle train Open prices", context[:n_train], context, future),
        Series("the Kaggle train + test Open prices", context, context, future),
    ]
    if "context_googl" in holdout:
        out.append(
            Series("GOOGL.csv's Open prices", holdout["context_googl"], holdout["context_googl"], holdout["y_googl"])
        )
    for table in tables(holdout):
        for i, column in enumerate(table.columns):
            if column != "Open":
                fitted, context_c, future_c = table.fitted[:, i], table.context[:, i], table.future[:, i]
                out.append(Series(f"the {column} column of {table.name}", fitted, context_c, future_c))
    return out


class Table(NamedTuple):
    """A served file's columns (Open, High, Low, Close, Volume...), with their hidden future on the same scale."""

    name: str
    columns: list[str]
    fitted: np.ndarray  # rows x columns the training windows were cut from
    context: np.ndarray  # every served row before the future
    future: np.ndarray  # the hidden rows


def tables(holdout: dict[str, np.ndarray]) -> list[Table]:
    """The multi-column hypotheses: Kaggle train, Kaggle train + test, GOOGL.csv."""
    if "context_table" not in holdout:
        return []
    n_train = int(holdout["n_train"][0])
    columns, context, future = (
        [str(c) for c in holdout["table_columns"]],
        holdout["context_table"],
        holdout["future_table"],
    )
    out = [
        Table("the Kaggle train file", columns, context[:n_train], context, future),
        Table("the Kaggle train + test files", columns, context, context, future),
    ]
    if "context_table_googl" in holdout:
        googl = holdout["context_table_googl"]
        out.append(
            Table(
                "GOOGL.csv",
                [str(c) for c in holdout["table_columns_googl"]],
                googl,
                googl,
                holdout["future_table_googl"],
            )
        )
    return out


def _match(stats: ArrayStats | None, raw: np.ndarray) -> tuple[Affine, float]:
    """The affine map matching ``raw`` to the recorded moments, and its min/max mismatch."""
    if not stats or raw.size == 0:
        return Affine(1.0, 0.0), float("inf")
    a, b = (float(v) for v in affine(stats.mean, stats.std, raw.mean(), raw.std()))
    if a <= 0:
        return Affine(1.0, 0.0), float("inf")
    spread = max(stats.max - stats.min, 1e-12)
    mismatch = (abs(a * raw.min() + b - stats.min) + abs(a * raw.max() + b - stats.max)) / spread
    return Affine(a, b), float(mismatch)


def _snap(m: Affine, level: float) -> Affine:
    """Exactly the identity when the moments say the prices were used as served."""
    if abs(m.a - 1.0) <= IDENTITY_TOLERANCE and abs(m.b) <= IDENTITY_TOLERANCE * level:
        return Affine(1.0, 0.0)
    return m


def infer_scaling(fit: FitRecord, options: list[Series], T: int) -> tuple[Series, Affine, Affine, str]:
    """The best-confirmed (series, input map, target map) and how it was found."""
    if not fit.y and not fit.x:
        series = options[0]
        lo, hi = float(series.fitted.min()), float(series.fitted.max())
        classic = Affine(1 / (hi - lo), -lo / (hi - lo))
        return (
            series,
            classic,
            classic,
            "training data not recorded: assumed MinMaxScaler on the Kaggle train Open prices",
        )
    best: tuple[float, Series, Affine, Affine] | None = None
    for series in options:
        if len(series.fitted) <= T:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(series.fitted[:-1], T)
        x_map, x_off = _match(fit.x, windows.reshape(-1))
        y_map, y_off = _match(fit.y, series.fitted[T:])
        if not fit.x:
            x_map, x_off = y_map, y_off
        if not fit.y:
            y_map, y_off = x_map, x_off
        # The Open prices are what the course's notebooks model: another column must fit clearly better.
        off = x_off + y_off + (0.0 if series.name.endswith("Open prices") else OTHER_COLUMN)
        if best is None or off < best[0]:
            best = (off, series, x_map, y_map)
    if best is None:
        raise EvaluationError(f"the model reads {T} past prices, more than any served series holds")
    off, series, x_map, y_map = best
    level = float(series.fitted.mean())
    x_map, y_map = _snap(x_map, level), _snap(y_map, level)
    return series, x_map, y_map, _describe(series, x_map, y_map, off)


def change_target(fit: FitRecord, series: Series, T: int) -> Affine | None:
    """The map of the day's *change* to the recorded targets, when they are changes rather than prices.

    A student may train the network to predict tomorrow's move (scaled
    price[t] - price[t-1]) and add it to today's price: the recorded targets
    then centre near zero with the spread of the daily moves, which an affine
    map of the prices cannot give. Which of the two the targets are is decided
    by which one their min/max confirm better.
    """
    y = fit.y
    if not y or len(series.fitted) <= T:
        return None
    change_map, change_off = _match(y, np.diff(series.fitted)[T - 1 :])
    _, level_off = _match(y, series.fitted[T:])
    return change_map if change_off < level_off else None


def _describe(series: Series, x_map: Affine, y_map: Affine, off: float) -> str:
    def one(m: Affine) -> str:
        return "as served (raw prices)" if (m.a, m.b) == (1.0, 0.0) else f"price*{m.a:.4g}{m.b:+.4g}"

    how = f"trained on {series.name}; inputs {one(x_map)}, targets {one(y_map)}"
    if off > MISMATCH_WARN:
        how += f" (best guess: the training data's min/max differ by {off:.0%} of their range from any served series)"
    return how


def forecast_metrics(pred: np.ndarray, series: Series) -> dict[str, float]:
    """RMSE, MAE and the naive forecast's RMSE on the same days, in dollars."""
    future = series.future
    naive = np.concatenate([series.context[-1:], future[:-1]])
    err, naive_err = pred - future, naive - future
    rmse, naive_rmse = float(np.sqrt(np.mean(err**2))), float(np.sqrt(np.mean(naive_err**2)))
    return {
        "rmse": rmse,
        "mae": float(np.mean(np.abs(err))),
        "naive_rmse": naive_rmse,
        "naive_mae": float(np.mean(np.abs(naive_err))),
        "rmse_ratio": rmse / naive_rmse,
        "bias": float(np.mean(err)),
    }


# ---------------------------------------------------------------- several features a day


class Feature(NamedTuple):
    """Which served column one feature of the windows is, and its map to the student's scale."""

    column: int
    scale: Affine
    off: float


def _stats(lo: float, hi: float, mean: float, std: float) -> ArrayStats:
    return ArrayStats(shape=[1], mean=mean, std=std, min=lo, max=hi)


def _named_columns(spec_windows: WindowFeatures, table: Table) -> list[int] | None:
    """The columns a scaler of the notebook was fitted on, by name, when one has exactly the model's features."""
    k = spec_windows.shape[-1]
    for scaler in spec_windows.scalers:
        if len(scaler.names) == k and all(n in table.columns for n in scaler.names):
            return [table.columns.index(n) for n in scaler.names]
    return None


# Features students engineer from the served columns, each computed day by day from the past only.
MOVING = (5, 7, 10, 14, 20, 21, 30, 50, 100, 200)
EXPONENTIAL = (10, 12, 20, 26, 50)
SPREADS = (5, 10, 20)
DERIVED = 0.002  # an engineered feature must match by this much better than a served column


def _engineered(column: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """The usual engineered features of one served column (NaN where its past is too short)."""
    import pandas as pd

    series = pd.Series(values)
    out = {f"{column} {n}-day moving average": series.rolling(n).mean() for n in MOVING}
    out |= {f"{column} {n}-day exponential average": series.ewm(span=n, adjust=False).mean() for n in EXPONENTIAL}
    out |= {f"{column} {n}-day standard deviation": series.rolling(n).std() for n in SPREADS}
    out[f"{column} MACD (12/26-day)"] = (
        series.ewm(span=12, adjust=False).mean() - series.ewm(span=26, adjust=False).mean()
    )
    out[f"{column} daily return"] = series.pct_change()
    out[f"{column} daily log return"] = np.log(series).diff()
    out[f"{column} daily change"] = series.diff()
    return {name: np.asarray(v, "float64") for name, v in out.items()}


def with_engineered(table: Table) -> Table:
    """``table`` with the usual engineered features of its columns as further columns (after the served ones)."""
    full = np.concatenate([table.context, table.future])
    extra: dict[str, np.ndarray] = {}
    for c, column in enumerate(table.columns):
        extra |= _engineered(column, full[:, c])
    named = {table.columns[i]: full[:, i] for i in range(len(table.columns))}
    if {"High", "Low", "Open", "Close"} <= set(named):
        extra["High - Low"], extra["Close - Open"] = named["High"] - named["Low"], named["Close"] - named["Open"]
    rows = np.concatenate([full, np.stack(list(extra.values()), axis=1)], axis=1)
    n_fit, n_context = len(table.fitted), len(table.context)
    return Table(table.name, [*table.columns, *extra], rows[:n_fit], rows[:n_context], rows[n_context:])


def _window_moments(values: np.ndarray, T: int) -> tuple[float, float, float, float]:
    """(mean, std, min, max) of every value of every T-long window of ``values``, without building the windows.

    Value i is in min(i + 1, T, n - i, n - T + 1) windows: the statistics are the weighted ones.
    """
    n = len(values)
    i = np.arange(n)
    weights = np.minimum.reduce([i + 1, np.full(n, T), n - i, np.full(n, n - T + 1)]).astype("float64")
    mean = float(np.average(values, weights=weights))
    std = float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))
    return mean, std, float(values.min()), float(values.max())


def _match_moments(stats: ArrayStats, mean: float, std: float, lo: float, hi: float) -> tuple[Affine, float]:
    """:func:`_match` from the raw values' moments and range."""
    a, b = (float(v) for v in affine(stats.mean, stats.std, mean, std))
    if a <= 0:
        return Affine(1.0, 0.0), float("inf")
    spread = max(stats.max - stats.min, 1e-12)
    return Affine(a, b), (abs(a * lo + b - stats.min) + abs(a * hi + b - stats.max)) / spread


def _features(
    windows: WindowFeatures, table: Table, T: int, served: int | None = None, start: int = 0
) -> list[Feature] | None:
    """Each feature's best column of ``table`` and its map (None when the table is too short).

    ``served``: how many of the table's columns are the served ones (the rest engineered, matched only when
    clearly better). ``start``: the rows the notebook dropped first (the days its engineered features lacked).
    """
    if len(table.fitted) <= T:
        return None
    k = windows.shape[-1]
    served = len(table.columns) if served is None else served
    named = _named_columns(windows, table)
    rows = table.fitted[start:-1]
    values = [rows[:, c][np.isfinite(rows[:, c])] for c in range(len(table.columns))]
    moments = [_window_moments(v, T) if len(v) >= T else None for v in values]
    out = []
    for j in range(k):
        stats = _stats(windows.min[j], windows.max[j], windows.mean[j], windows.std[j])
        options = [named[j]] if named is not None else range(len(table.columns))
        best: Feature | None = None
        for c in options:
            found = moments[c]
            if found is None:
                continue
            m, off = _match_moments(stats, *found)
            off += 0.0 if (named is not None or c == j) else OTHER_PLACE  # a file's own order breaks near-ties
            off += DERIVED if c >= served else 0.0
            if best is None or off < best.off:
                best = Feature(c, _snap(m, float(np.mean(values[c]))), off)
        if best is None:
            return None
        out.append(best)
    return out


def _target(
    fit: FitRecord, windows: WindowFeatures, table: Table, features: list[Feature], T: int
) -> tuple[int, Affine, int]:
    """(served column, map, model output index) of what the model forecasts."""
    if windows.y_columns > 1:  # one output per feature (or per day ahead): the first feature's next value
        return features[0].column, features[0].scale, 0
    best: tuple[float, int, Affine] | None = None
    for rank, feature in enumerate(features):
        targets = table.fitted[T:, feature.column]
        if not fit.y:
            return feature.column, feature.scale, 0
        lo, hi = float(fit.y.min), float(fit.y.max)
        spread = max(hi - lo, 1e-12)
        mapped = feature.scale.apply(targets)
        off = (abs(float(mapped.min()) - lo) + abs(float(mapped.max()) - hi)) / spread
        off += abs(float(mapped.mean()) - float(fit.y.mean)) / spread + (0.0 if rank == 0 else OTHER_PLACE)
        if best is None or off < best[0]:
            best = (off, feature.column, feature.scale)
    assert best is not None
    _, column, scale = best
    # targets of a column that is not among the features: matched on their own
    return column, scale, 0


# Shares of a file's rows a notebook trains on when it splits them in time before cutting windows (80/20...).
TRAIN_SHARES = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def _training_parts(table: Table) -> list[Table]:
    """The whole file, then its first rows in the shares notebooks keep for training."""
    parts = [table]
    for share in TRAIN_SHARES:
        n = int(len(table.fitted) * share)
        parts.append(table._replace(name=f"the first {share:.0%} of {table.name}", fitted=table.fitted[:n]))
    return parts


def score_features(
    model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec, T: int, per_sample: tuple[int, ...]
) -> tuple[dict[str, float], str]:
    """Windows of several columns a day, built as the student's training windows were, one step ahead."""
    k = per_sample[-1]
    windows = spec.window_features
    if windows is None or windows.shape[-1] != k or windows.shape[1] != T:
        raise EvaluationError(
            f"the harness could not tell which served columns the model's {k} features a day are: "
            "the run did not record its training windows"
        )
    best: tuple[float, Table, list[Feature]] | None = None
    for whole in tables(holdout):
        for table in _training_parts(whole):
            features = _features(windows, table, T)
            if features is not None:
                total = sum(f.off for f in features) + (0.0 if table is whole else OTHER_PLACE)
                if best is None or total < best[0]:
                    best = (total, table, features)
    if best is None:
        raise EvaluationError(f"the model reads {T} days of {k} features, more than any served file holds")
    _, table, features = best
    served = len(table.columns)
    if any(f.off > MISMATCH_WARN for f in features):  # engineered in the notebook? the usual ones are rebuilt
        engineered = with_engineered(table)
        rebuilt = _features(windows, engineered, T, served)
        if rebuilt is not None:
            # the notebook dropped the days its engineered features lacked (dropna): matched again without them
            start = max(int(np.argmax(np.isfinite(engineered.fitted[:, f.column]))) for f in rebuilt)
            again = _features(windows, engineered, T, served, start) if start else None
            rebuilt = (
                again if again is not None and sum(f.off for f in again) < sum(f.off for f in rebuilt) else rebuilt
            )
        if rebuilt is not None and sum(f.off for f in rebuilt) < sum(f.off for f in features):
            table, features = engineered, rebuilt
    unknown = [j for j, f in enumerate(features) if f.off > NO_COLUMN]
    if unknown:
        raise EvaluationError(
            f"the model reads {k} features a day and {len(unknown)} of them (feature "
            f"{', '.join(str(j + 1) for j in unknown[:8])}) match no served column nor any usual engineered feature "
            "(moving averages, returns...) of one: the harness cannot rebuild them for the hidden days"
        )
    column, y_map, output = _target(fit, windows, table, [f for f in features if f.column < served] or features, T)
    if column >= served:
        raise EvaluationError(
            "the model forecasts an engineered feature, not a served column: no naive forecast to match"
        )
    history = np.concatenate([table.context[-T:], table.future[:-1]])
    x = np.stack(
        [f.scale.apply(np.lib.stride_tricks.sliding_window_view(history[:, f.column], T)) for f in features], axis=-1
    ).astype("float32")
    pred = model.predict(x, verbose=0, batch_size=256)
    if isinstance(pred, (list, tuple)):
        pred = pred[0]
    first = np.asarray(pred, "float64").reshape(len(x), -1)[:, output]
    values = y_map.invert(first)
    if not np.all(np.isfinite(values)):
        raise EvaluationError("the model's forecasts are not finite numbers (NaN or infinity): did training diverge?")
    series = Series(table.columns[column], table.fitted[:, column], table.context[:, column], table.future[:, column])
    names = ", ".join(table.columns[f.column] for f in features)
    guess = max(f.off for f in features)
    caveat = f" (best guess: off by {guess:.0%} of a feature's range)" if guess > MISMATCH_WARN else ""
    target = "as served" if (y_map.a, y_map.b) == (1.0, 0.0) else f"value*{y_map.a:.4g}{y_map.b:+.4g}"
    how = (
        f"trained on {table.name}: {k} features a day ({names}), each scaled as in training{caveat}; "
        f"forecasts the {table.columns[column]} (targets {target}) against its naive forecast; "
        f"{T}-day windows, one step ahead over {len(values)} hidden days"
    )
    return forecast_metrics(values, series), how


def score(model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec) -> tuple[dict[str, float], str]:
    """One-step-ahead forecasts of the hidden future, against the naive forecast."""
    T, per_sample = window_layout(model, fit)
    T, k = features_per_day(per_sample)
    if k > 1:
        return score_features(model, holdout, fit, spec, T, per_sample)
    series, x_map, y_map, how = infer_scaling(fit, candidates(holdout), T)
    if len(series.context) < T:
        raise EvaluationError(f"the model reads {T} past prices, but only {len(series.context)} are served")
    history = np.concatenate([series.context[-T:], series.future[:-1]])
    windows = np.lib.stride_tricks.sliding_window_view(history, T)
    x = x_map.apply(windows).astype("float32").reshape((len(windows),) + per_sample)
    pred = model.predict(x, verbose=0, batch_size=256)
    if isinstance(pred, (list, tuple)):
        pred = pred[0]
    # A model with several outputs per sample (e.g. a multi-day forecast): its first is tomorrow.
    first = np.asarray(pred, "float64").reshape(len(windows), -1)[:, 0]
    change = change_target(fit, series, T)
    if change is not None:  # the model forecasts tomorrow's move: added to today's price
        prices = windows[:, -1] + (first - change.b) / change.a
        how = how.split(", targets")[0] + f"; targets the day's change (change*{change.a:.4g}{change.b:+.4g})"
    else:
        prices = y_map.invert(first)
    if not np.all(np.isfinite(prices)):
        raise EvaluationError("the model's forecasts are not finite numbers (NaN or infinity): did training diverge?")
    return forecast_metrics(prices, series), f"{how}; {T}-day windows, one step ahead over {len(prices)} hidden days"
