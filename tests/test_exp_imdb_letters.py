"""Experiments 2A (IMDB) and 2B (OCR letters): served data, hidden holdouts, evaluators, end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from graders import submissions
from graders.kit import standins
from graders.paths import HOME
from graders.rubric import ProfileSpec, load_rubric, load_targets, targets_for
from tests.conftest import load_evaluator, load_provider
from tests.eval_inputs import eval_spec, fit_record

imdb, letters = load_provider("imdb"), load_provider("letters")

SAMPLE = HOME / "submissions" / "sample"
SMALL_IMDB = ProfileSpec(train_size=300, test_size=120, holdout_size=100)
SMALL_LETTERS = ProfileSpec(train_size=500, test_size=200, holdout_size=300)


def _provide(module: ModuleType, root: Path, profile: ProfileSpec, seed: int = 7) -> dict[str, Any]:
    served = root / "served"
    served.mkdir(parents=True)
    made: dict[str, Any] = module.provide(profile, seed, None, served)
    return made


def _served_reviews(served: Path) -> dict[str, np.ndarray]:
    with np.load(served / "imdb.npz", allow_pickle=True) as f:
        return {k: f[k] for k in f.files}


def _holdout_reviews(holdout: dict[str, np.ndarray]) -> list[tuple[int, ...]]:
    return [tuple(row[:n].tolist()) for row, n in zip(holdout["x"], holdout["lengths"])]


# ---------------------------------------------------------------- IMDB data


def test_imdb_serves_keras_raw_format_and_the_kaggle_csv(tmp_path: Path) -> None:
    made = _provide(imdb, tmp_path, SMALL_IMDB)
    served = tmp_path / "served"
    data = _served_reviews(served)
    assert data["x_train"].dtype == object and data["x_train"].shape == (300,) and data["x_test"].shape == (120,)
    flat = np.concatenate([np.asarray(s) for s in data["x_train"]])
    assert flat.min() >= 1  # raw ranks: no padding, no start char 1 prepended to every review
    assert not all(s[0] == 1 for s in data["x_train"])
    word_index = json.loads((served / "imdb_word_index.json").read_text(encoding="utf-8"))
    assert sorted(word_index.values())[:3] == [1, 2, 3] and flat.max() <= max(word_index.values())
    csv = pd.read_csv(served / "files" / imdb.CSV_NAME)
    assert list(csv.columns) == ["review", "sentiment"] and set(csv["sentiment"]) == {"positive", "negative"}
    assert len(csv) == 2 * max(SMALL_IMDB.train_size or 0, SMALL_IMDB.test_size or 0)
    assert made["keras"] == {"imdb": "imdb.npz", "imdb_word_index": "imdb_word_index.json"}
    assert set(np.unique(made["holdout"]["y"])) == {0, 1} and made["holdout"]["x"].shape[0] == 100


def test_imdb_served_reviews_decode_to_the_csv_text(tmp_path: Path) -> None:
    """The npz and the CSV are the same reviews: train rows decode to the CSV's words."""
    _provide(imdb, tmp_path, ProfileSpec(train_size=200, test_size=200, holdout_size=50))
    served = tmp_path / "served"
    words = {r: w for w, r in json.loads((served / "imdb_word_index.json").read_text(encoding="utf-8")).items()}
    first = _served_reviews(served)["x_train"][0]
    text = pd.read_csv(served / "files" / imdb.CSV_NAME)["review"]
    tokens = [t for t in text.str.lower().str.replace("<br /><br />", " br ").str.findall(r"[\w']+")]
    assert [words[r] for r in first] in tokens


def test_imdb_holdout_is_deterministic_and_disjoint(tmp_path: Path) -> None:
    a = _provide(imdb, tmp_path / "a", SMALL_IMDB)
    b = _provide(imdb, tmp_path / "b", SMALL_IMDB)
    c = _provide(imdb, tmp_path / "c", SMALL_IMDB, seed=8)
    for key in ("x", "lengths", "y", "tokenizer_index"):
        assert np.array_equal(a["holdout"][key], b["holdout"][key])
    assert not np.array_equal(a["holdout"]["x"], c["holdout"]["x"])
    served = _served_reviews(tmp_path / "a" / "served")
    public = {tuple(s) for split in ("x_train", "x_test") for s in served[split]}
    assert public.isdisjoint(_holdout_reviews(a["holdout"]))
    saved = tmp_path / "holdout.npz"
    np.savez(saved, **a["holdout"])
    with np.load(saved, allow_pickle=False) as f:  # the evaluator never unpickles
        assert f["x"].dtype == np.int32


def test_tokenizer_index_matches_keras_tokenizer() -> None:
    text = pytest.importorskip("tf_keras.preprocessing.text")
    texts = ["Great film. <br /><br />It's great!", "the the GREAT, dull film", "Dull and I"]
    tok = text.Tokenizer()
    tok.fit_on_texts(texts)
    assert imdb.tokenizer_word_index(texts) == tok.word_index


# ---------------------------------------------------------------- IMDB evaluator


def _vectorize(seqs: Any, dim: int) -> np.ndarray:
    out = np.zeros((len(seqs), dim), dtype="float32")
    for i, s in enumerate(seqs):
        out[i, s] = 1
    return out


@pytest.fixture(scope="module")
def imdb_small() -> dict[str, Any]:
    """The stand-in in load_data(num_words=1000) form (train) and as an evaluator holdout."""
    raw = standins().review_sequences(n_train=600, n_test=10, n_holdout=300, seed=3)
    keras_form = standins().apply_load_args(raw, num_words=1000)
    x, lengths = imdb.pad_ranks(imdb.raw_ranks(raw["x_holdout"]))
    return {"keras": keras_form, "holdout": {"x": x, "lengths": lengths, "y": raw["y_holdout"]}}


def test_imdb_encodings_equal_what_load_data_gives(imdb_small: dict[str, Any]) -> None:
    """Multi-hot and padded sequences of the holdout equal those of imdb_apply_args (an independent implementation)."""
    ev = load_evaluator("imdb")
    holdout, expected = imdb_small["holdout"], imdb_small["keras"]["x_holdout"]
    seqs = ev._indices(holdout, slice(0, 300), "keras", 1000)
    assert all(np.array_equal(s, e) for s, e in zip(seqs, expected))
    assert np.array_equal(ev._bag(seqs, 1000, counts=False), _vectorize(expected, 1000))
    pre = ev._padded(seqs, 50, post=False)
    assert np.array_equal(pre[0], np.asarray(expected[0][-50:])) and pre.dtype == np.int32


def test_imdb_score_reads_multi_hot_models_and_rejects_other_outputs(imdb_small: dict[str, Any]) -> None:
    keras = pytest.importorskip("keras")
    ev = load_evaluator("imdb")
    train = imdb_small["keras"]
    x = _vectorize(train["x_train"], 1000)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    model.fit(x, train["y_train"], epochs=15, batch_size=64, verbose=0)
    fit = fit_record(
        {"x": {"shape": list(x.shape), "mean": float(x.mean()), "std": float(x.std()), "min": 0.0, "max": 1.0}}
    )
    metrics, how = ev.score(model, imdb_small["holdout"], fit, eval_spec())
    assert metrics["accuracy"] > 0.7 and "multi-hot of dimension 1000" in how and "Keras imdb.load_data" in how
    wrong = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(3, activation="softmax")])
    with pytest.raises(ev.EvaluationError, match="3 outputs"):
        ev.score(wrong, imdb_small["holdout"], fit, eval_spec())


# ---------------------------------------------------------------- letters data


def _letter_rows(files: Path) -> list[tuple[object, ...]]:
    return list(map(tuple, pd.read_csv(files / "letter-recognition.data", header=None).to_numpy().tolist()))


def test_letters_serves_the_uci_rows_minus_the_holdout(tmp_path: Path) -> None:
    made = _provide(letters, tmp_path, ProfileSpec(holdout_size=300))
    files = tmp_path / "served" / "files"
    assert (files / "letter-recognition.data").read_bytes() == (files / "letter-recognition.csv").read_bytes()
    hold = made["holdout"]
    held = [(chr(65 + int(c)), *map(int, row)) for c, row in zip(hold["y_letters"], hold["x_letters"])]
    full = list(map(tuple, letters.read_letters().to_numpy().tolist()))
    # served + held-out rows are exactly the UCI file (a multiset: the file has duplicate rows)
    assert sorted(_letter_rows(files) + held) == sorted(full)
    assert hold["y_letters"].min() >= 0 and hold["y_letters"].max() == 25


def test_quick_profile_serves_fewer_letter_rows_same_holdout(tmp_path: Path) -> None:
    small = _provide(letters, tmp_path / "small", SMALL_LETTERS)
    whole = _provide(letters, tmp_path / "whole", ProfileSpec(holdout_size=300))
    rows = _letter_rows(tmp_path / "small" / "served" / "files")
    assert len(rows) == SMALL_LETTERS.train_size
    assert Counter(rows) <= Counter(_letter_rows(tmp_path / "whole" / "served" / "files"))
    assert np.array_equal(small["holdout"]["x_letters"], whole["holdout"]["x_letters"])


def test_letters_serves_mnist_and_holds_out_digits(tmp_path: Path) -> None:
    made = _provide(letters, tmp_path, SMALL_LETTERS)
    with np.load(tmp_path / "served" / "mnist.npz", allow_pickle=False) as f:
        assert (
            f["x_train"].shape == (500, 28, 28)
            and f["x_test"].shape == (200, 28, 28)
            and f["x_train"].dtype == np.uint8
        )
        public = {x.tobytes() for x in f["x_train"]} | {x.tobytes() for x in f["x_test"]}
    hold = made["holdout"]
    assert hold["x_mnist"].shape == (300, 28, 28) and public.isdisjoint(x.tobytes() for x in hold["x_mnist"])
    assert len(made["raw_stats"]["letters"]["x"]["feature_mean"]) == 16 and made["keras"] == {"mnist": "mnist.npz"}


def test_letters_provider_is_deterministic(tmp_path: Path) -> None:
    a = _provide(letters, tmp_path / "a", SMALL_LETTERS)
    b = _provide(letters, tmp_path / "b", SMALL_LETTERS)
    c = _provide(letters, tmp_path / "c", SMALL_LETTERS, seed=8)
    assert all(np.array_equal(a["holdout"][k], b["holdout"][k]) for k in a["holdout"])
    assert not np.array_equal(a["holdout"]["y_letters"], c["holdout"]["y_letters"])


def test_letter_codes_are_alphabetical() -> None:
    assert letters.letter_codes(["A", "B", "Z"]).tolist() == [0, 1, 25]


# ---------------------------------------------------------------- letters evaluator


def test_letters_score_picks_the_holdout_by_output_size(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    ev = load_evaluator("letters")
    made = _provide(letters, tmp_path, ProfileSpec(train_size=4000, test_size=200, holdout_size=300))
    frame = pd.read_csv(tmp_path / "served" / "files" / "letter-recognition.data", header=None)
    x, y = frame.iloc[:, 1:].to_numpy("float32"), letters.letter_codes(frame[0])
    mean, std = x.mean(axis=0), x.std(axis=0)
    xs = (x - mean) / std
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(26, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(xs, y, epochs=8, batch_size=128, verbose=0)
    fit = {
        "x": {
            "shape": list(xs.shape),
            "mean": float(xs.mean()),
            "std": float(xs.std()),
            "min": float(xs.min()),
            "max": float(xs.max()),
            "feature_mean": xs.mean(axis=0).tolist(),
            "feature_std": xs.std(axis=0).tolist(),
        }
    }
    metrics, how = ev.score(model, made["holdout"], fit_record(fit), eval_spec(raw_stats=made["raw_stats"]))
    assert metrics["accuracy"] > 0.6 and metrics["accuracy_letters"] == metrics["accuracy"]
    assert "UCI letters" in how and "standardisation" in how
    digits = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    _, how = ev.score(digits, made["holdout"], fit_record(), eval_spec(raw_stats=made["raw_stats"]))
    assert "MNIST digits" in how
    odd = keras.Sequential([keras.Input((16,)), keras.layers.Dense(5, activation="softmax")])
    with pytest.raises(ev.EvaluationError, match="5 outputs"):
        ev.score(odd, made["holdout"], fit_record(), eval_spec(raw_stats=made["raw_stats"]))


# ---------------------------------------------------------------- the MNIST variant's own reference


def test_an_mnist_run_is_compared_with_the_mnist_reference() -> None:
    rubric, targets = load_rubric("letters"), load_targets("letters", "quick")
    mnist_ref = targets.variants["mnist"]["metrics"]["accuracy"]
    chosen = targets_for(rubric, targets, {"accuracy": 0.9, "accuracy_mnist": 0.9})
    assert chosen.metrics["accuracy"] == mnist_ref != targets.metrics["accuracy"]
    assert chosen.variant == "the manual's MNIST variant"
    assert chosen.total_params == targets.variants["mnist"]["total_params"]
    assert targets_for(rubric, targets, {"accuracy": 0.8, "accuracy_letters": 0.8}) is targets


def test_an_uncalibrated_variant_says_which_reference_it_was_compared_with() -> None:
    rubric, targets = load_rubric("letters"), load_targets("letters", "quick")
    bare = targets.model_copy(update={"variants": {}})
    chosen = targets_for(rubric, bare, {"accuracy": 0.9, "accuracy_mnist": 0.9})
    assert chosen.metrics == bare.metrics and "not calibrated" in chosen.variant


def test_a_weak_mnist_model_no_longer_earns_full_metric_marks() -> None:
    from graders.marking.checks.plugin import run_checks
    from tests.artifacts_helper import make_artifacts

    rubric, targets = load_rubric("letters"), load_targets("letters", "quick")
    metrics = {"accuracy": 0.86, "accuracy_mnist": 0.86}  # full marks against the letters reference (0.857)
    art = make_artifacts(
        experiment="letters",
        profile="quick",
        status="completed",
        metrics=metrics,
        targets=targets_for(rubric, targets, metrics),
    )
    metric = next(c for c in run_checks(rubric, art) if c.id == "metric")
    assert metric.awarded < metric.points and "MNIST variant" in metric.evidence


# ---------------------------------------------------------------- rubrics and detection


def test_rubrics_load_and_detect_their_notebooks() -> None:
    rubrics = [load_rubric(e) for e in ("boston", "fashion", "imdb", "letters")]
    cases = {
        SAMPLE / "1_Good" / "Assignment2A_IMDB.ipynb": "imdb",
        SAMPLE / "2_Weak" / "Assignment2B_OCR.ipynb": "letters",
        HOME / "reference" / "letters" / "solution_mnist.ipynb": "letters",
        SAMPLE / "1_Good" / "Assignment3_FashionMNIST.ipynb": "fashion",
    }
    for path, expected in cases.items():
        sub = submissions.read_submission(path, rubrics)
        assert sub.detected == expected, (path.name, sub.scores)
        assert sub.scores["letters"] == 0 or expected == "letters"


# ---------------------------------------------------------------- end to end


def _check(path: Path) -> Any:
    from graders import api

    return api.check(notebook=path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "experiment, notebook", [("imdb", "Assignment2A_IMDB.ipynb"), ("letters", "Assignment2B_OCR.ipynb")]
)
def test_good_weak_broken_are_ordered(experiment: str, notebook: str) -> None:
    runs = {who: _check(SAMPLE / who / notebook) for who in ("1_Good", "2_Weak", "3_Broken")}
    good, weak, broken = runs["1_Good"], runs["2_Weak"], runs["3_Broken"]
    assert {r.experiment for r in runs.values()} == {experiment}
    assert good.status.value == "completed" and good.marks.given >= 14.5  # answers, coding, timely: of 15
    assert good.marks.viva is None and good.marks.total is None  # the viva waits for the examiner
    assert weak.status.value == "completed" and broken.status.value == "cell_error"
    assert good.marks.coding_efficiency > weak.marks.coding_efficiency > broken.marks.coding_efficiency
    assert good.metrics["accuracy"] > weak.metrics["accuracy"] + 0.2


@pytest.mark.slow
def test_the_manuals_mnist_code_is_graded_as_letters() -> None:
    run = _check(HOME / "reference" / "letters" / "solution_mnist.ipynb")
    assert run.experiment == "letters" and run.status.value == "completed"
    assert run.metrics["accuracy_mnist"] > 0.9
    metric = next(c for c in run.checks if c.id == "metric")
    assert metric.passed and "the manual's MNIST variant" in metric.evidence
    output = next(c for c in run.checks if c.id == "output")
    assert output.passed and "digits" in output.evidence
