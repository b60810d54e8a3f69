"""The evaluator feeds a model the way its notebook did, and the IMDB stand-in is learnable by every model kind.

* The probe captures a fitted Keras ``Tokenizer`` / ``TextVectorization``
  (``kernel/preprocess.py``); the evaluator re-encodes the hidden reviews'
  text with it in trusted code (``evaluator/text.py``), so a model trained on
  its own word indices scores on the holdout what it scores in the notebook.
* What cannot be reproduced is ``evaluation_failed`` naming the harness.
* Bag-of-words, embedding and recurrent models all learn the stand-in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graders.kit import standins
from graders.paths import HOME, RUNTIME_PACKAGE
from graders.rubric import ProfileSpec
from labgrade_runtime.contract import ProbeResult, TextPreprocessing
from labgrade_runtime.evaluator import text
from labgrade_runtime.evaluator.kit import EvaluationError
from labgrade_runtime.kernel import preprocess
from tests.conftest import load_evaluator, load_provider
from tests.eval_inputs import eval_spec, fit_record

imdb_eval, imdb_provider = load_evaluator("imdb"), load_provider("imdb")
TEXTS = [
    "A great film. <br /><br />It's GREAT, truly!",
    "the dull, dull plot",
    "Dull and I",
    "never seen anything so wonderful",
    "an awful waste of time, awful",
]


def test_the_worktree_is_what_is_tested() -> None:
    assert Path(standins().__file__).is_relative_to(HOME) and RUNTIME_PACKAGE.is_relative_to(HOME)


# ---------------------------------------------------------------- trusted encoders equal Keras'


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"num_words": 6},
        {"num_words": 6, "oov_token": "<OOV>"},
        {"oov_token": "[?]", "lower": False},
        {"char_level": True},
    ],
)
def test_tokenizer_reimplementation_equals_keras(options: dict[str, Any]) -> None:
    keras_text = pytest.importorskip("tf_keras.preprocessing.text")
    tok = keras_text.Tokenizer(**options)
    tok.fit_on_texts(TEXTS[:3])
    captured = preprocess._tokenizer("tok", tok)
    unseen = TEXTS + ["Great? great! GREAT... zzz"]
    assert text.tokenizer_sequences(TextPreprocessing.model_validate(captured), unseen) == tok.texts_to_sequences(
        unseen
    )


@pytest.mark.parametrize(("padding", "truncating"), preprocess.SIDES)
def test_pad_equals_pad_sequences(padding: str, truncating: str) -> None:
    import keras

    seqs = [[1, 2, 3, 4, 5, 6], [7], [], [8, 9, 10]]
    want = keras.utils.pad_sequences(seqs, maxlen=4, padding=padding, truncating=truncating)
    assert np.array_equal(text.pad(seqs, 4, padding, truncating), want)
    assert preprocess.pad(seqs, 4, padding, truncating) == want.tolist()


@pytest.mark.parametrize(
    "options",
    [
        {"output_sequence_length": 7},
        {"output_mode": "multi_hot"},
        {"output_mode": "count", "ngrams": 2},
        {"standardize": "lower"},
    ],
)
def test_text_vectorization_is_rebuilt_from_its_capture(options: dict[str, Any]) -> None:
    import keras

    layer = keras.layers.TextVectorization(max_tokens=30, **options)
    layer.adapt(TEXTS)
    captured = preprocess._vectorizer("vec", layer)
    rebuilt = text.vectorizer(TextPreprocessing.model_validate(captured))
    assert np.array_equal(np.asarray(rebuilt(TEXTS)), np.asarray(layer(TEXTS)))


# ---------------------------------------------------------------- capture in the student's namespace


def _tokenizer_namespace(padding: str, truncating: str, maxlen: int = 6) -> dict[str, Any]:
    keras_text = pytest.importorskip("tf_keras.preprocessing.text")
    import keras

    tok = keras_text.Tokenizer(num_words=20, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    x = keras.utils.pad_sequences(tok.texts_to_sequences(TEXTS), maxlen=maxlen, padding=padding, truncating=truncating)
    return {"tokenizer": tok, "X_train": list(TEXTS), "X_train_pad": x, "other": np.zeros((5, 6)), "In": ["x"]}


def _fit_of(x: np.ndarray) -> list[dict[str, Any]]:
    a = np.asarray(x, "float64")
    return [
        {
            "x": {
                "shape": list(a.shape),
                "dtype": str(x.dtype),
                "mean": float(a.mean()),
                "std": float(a.std()),
                "min": float(a.min()),
                "max": float(a.max()),
            }
        }
    ]


@pytest.mark.parametrize(("padding", "truncating"), [("post", "post"), ("pre", "pre"), ("post", "pre")])
def test_the_probe_captures_the_tokenizer_and_reads_its_padding(padding: str, truncating: str) -> None:
    ns = _tokenizer_namespace(padding, truncating, maxlen=4)
    got = preprocess.capture(ns, _fit_of(ns["X_train_pad"]))
    assert got is not None and got["kind"] == "tokenizer" and got["variable"] == "tokenizer"
    assert (got["padding"], got["truncating"], got["length"]) == (padding, truncating, 4) and got["verified"] == 5
    record = TextPreprocessing.model_validate(got)
    assert ProbeResult.model_validate({"preprocessing": record.model_dump()}).preprocessing == record
    # The evaluator's encoding of the same texts is the training array itself.
    assert np.array_equal(text.encode(record, TEXTS), ns["X_train_pad"])


def test_an_inline_padded_fit_is_still_captured_from_its_shape() -> None:
    ns = _tokenizer_namespace("post", "post")
    x = ns.pop("X_train_pad")
    got = preprocess.capture(ns, _fit_of(x))
    assert got is not None and got["kind"] == "tokenizer" and not got["verified"] and got["length"] == 6


def test_no_text_encoder_no_capture_and_a_mismatch_is_reported() -> None:
    assert preprocess.capture({"x": np.ones((3, 4))}, _fit_of(np.ones((3, 4)))) is None
    ns = _tokenizer_namespace("pre", "pre")
    wide = np.full((5, 6), 500.0)  # indices far beyond the tokenizer's vocabulary: it did not make these
    got = preprocess.capture(ns, _fit_of(wide))
    assert got is not None and got["kind"] == "unmatched" and "tokenizer" in got["reason"]


# ---------------------------------------------------------------- scoring with the captured encoder


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small stand-in: the served CSV's texts and the hidden holdout (with its raw text)."""
    import pandas as pd

    served = tmp_path_factory.mktemp("served")
    made = imdb_provider.provide(ProfileSpec(train_size=1500, test_size=200, holdout_size=400), 5, None, served)
    csv = pd.read_csv(served / "files" / imdb_provider.CSV_NAME)
    return {"csv": csv, "holdout": made["holdout"]}


def test_the_holdout_ships_its_reviews_as_text(reviews: dict[str, Any]) -> None:
    hold = reviews["holdout"]
    texts = text.holdout_texts(hold)
    assert texts is not None and len(texts) == len(hold["y"])
    assert all(isinstance(t, str) and len(t.split()) >= n * 0.9 for t, n in zip(texts[:20], hold["lengths"][:20]))


def _trained_on_own_tokenizer(reviews: dict[str, Any]) -> tuple[Any, dict[str, Any], float]:
    """A Keras Tokenizer fitted on the CSV, an Embedding model without input_length, its own test accuracy."""
    keras_text = pytest.importorskip("tf_keras.preprocessing.text")
    import keras

    keras.utils.set_random_seed(1)
    csv = reviews["csv"].sample(frac=1.0, random_state=0)
    texts, y = csv["review"].tolist(), (csv["sentiment"] == "positive").to_numpy("float32")
    tok = keras_text.Tokenizer(num_words=5000, oov_token="<OOV>")
    tok.fit_on_texts(texts[:2400])
    x = keras.utils.pad_sequences(tok.texts_to_sequences(texts), maxlen=150, padding="post", truncating="post")
    model = keras.Sequential(
        [
            keras.layers.Embedding(5000, 16),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x[:2400], y[:2400], epochs=8, batch_size=64, verbose=0)
    own = float(((model.predict(x[2400:], verbose=0).ravel() > 0.5) == y[2400:]).mean())
    ns = {"tokenizer": tok, "train_texts": texts[:2400], "X_train_pad": x[:2400]}
    return model, preprocess.capture(ns, _fit_of(x[:2400])) or {}, own


def test_a_tokenizer_model_scores_on_the_holdout_what_it_scores_in_the_notebook(reviews: dict[str, Any]) -> None:
    model, captured, own = _trained_on_own_tokenizer(reviews)
    assert captured["verified"] and own > 0.7
    fit = _fit_of(np.zeros((2400, 150)))[0]
    metrics, how = imdb_eval.score(model, reviews["holdout"], fit_record(fit), eval_spec(preprocessing=captured))
    assert abs(metrics["accuracy"] - own) < 0.06, how
    assert "notebook's own Tokenizer 'tokenizer'" in how and "length 150" in how
    # Without the capture the harness's own word index is all it has: far from what the model learned.
    blind, _ = imdb_eval.score(model, reviews["holdout"], fit_record(fit), eval_spec())
    assert blind["accuracy"] < metrics["accuracy"] - 0.1


def test_an_encoding_the_harness_cannot_reproduce_fails_evaluation_naming_the_harness(reviews: dict[str, Any]) -> None:
    import keras

    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Embedding(50, 2),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    unmatched = {"kind": "unmatched", "reason": "no fitted text encoder (tok) gives inputs of the shape ..."}
    custom = {
        **preprocess._tokenizer("tok", _tokenizer_namespace("pre", "pre")["tokenizer"]),
        "reason": "it uses a custom analyzer function",
        "length": 6,
        "output": "sequence",
    }
    for pre in (unmatched, custom):
        with pytest.raises(EvaluationError, match="the harness could not reproduce"):
            imdb_eval.score(
                model, reviews["holdout"], fit_record(_fit_of(np.ones((5, 6)))[0]), eval_spec(preprocessing=pre)
            )
    no_text = {k: v for k, v in reviews["holdout"].items() if not k.startswith("text_")}
    with pytest.raises(EvaluationError, match="carries no review text"):
        imdb_eval.score(
            model, no_text, fit_record(_fit_of(np.ones((5, 6)))[0]), eval_spec(preprocessing=custom | {"reason": ""})
        )


def test_an_open_length_embedding_is_fed_the_recorded_training_length(reviews: dict[str, Any]) -> None:
    import keras

    model = keras.Sequential(
        [
            keras.layers.Embedding(10000, 4),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.build((None, None))
    fit = _fit_of(np.full((10, 120), 3.0))[0]
    metrics, how = imdb_eval.score(model, reviews["holdout"], fit_record(fit), eval_spec())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and "length 120" in how


# ---------------------------------------------------------------- scikit-learn text features


def _sk_vectorizers() -> dict[str, Any]:
    from sklearn.feature_extraction.text import (
        CountVectorizer,
        HashingVectorizer,
        TfidfTransformer,
        TfidfVectorizer,
    )
    from sklearn.pipeline import Pipeline, make_pipeline

    return {
        "tfidf": TfidfVectorizer(),
        "tfidf_capped_bigrams": TfidfVectorizer(max_features=12, ngram_range=(1, 2), stop_words="english"),
        "tfidf_sublinear_l1": TfidfVectorizer(sublinear_tf=True, norm="l1", lowercase=False, min_df=1),
        "tfidf_no_idf": TfidfVectorizer(use_idf=False, binary=True),
        "count_binary": CountVectorizer(binary=True, stop_words=["the", "and"]),
        "count_chars": CountVectorizer(analyzer="char_wb", ngram_range=(2, 3), max_features=40),
        "hashing": HashingVectorizer(n_features=64),
        "hashing_tfidf": make_pipeline(HashingVectorizer(n_features=32, alternate_sign=False), TfidfTransformer()),
        "count_tfidf": Pipeline([("vect", CountVectorizer()), ("tfidf", TfidfTransformer(smooth_idf=False))]),
    }


@pytest.mark.parametrize("name", list(_sk_vectorizers()))
def test_sklearn_text_features_are_rebuilt_from_their_capture(name: str) -> None:
    from labgrade_runtime.kernel import sktext

    live = _sk_vectorizers()[name]
    train = live.fit_transform(TEXTS[:3])
    width = train.shape[1]
    steps = sktext._steps(live)
    assert steps is not None
    record = TextPreprocessing.model_validate(sktext._record(name, steps))
    assert record.kind == "sklearn" and not record.reason and record.length == width
    unseen = [*TEXTS, "Wonderful! A GREAT and dull film, the end."]
    expected = live.transform(unseen)
    ours = text.encode(record, unseen)
    assert ours.dtype == np.float32 and ours.shape == (len(unseen), width)
    np.testing.assert_allclose(ours, expected.toarray(), rtol=1e-5, atol=1e-6)
    assert "notebook's own" in text.describe(record) and f"{width:,} columns" in text.describe(record)


def test_the_probe_captures_the_vectorizer_whose_width_feeds_the_model() -> None:
    import keras
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    from labgrade_runtime.kernel import sktext

    texts = TEXTS * 4
    tfidf = TfidfVectorizer(max_features=10)
    features = tfidf.fit_transform(texts)  # sparse, as fit() may be given it
    other = CountVectorizer().fit(texts)  # wider: not what fed the model
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(1, activation="sigmoid")])
    ns = {"tfidf": tfidf, "cv": other, "reviews": texts, "X_train": features, "model": model}
    captured = sktext.capture(ns, model)
    assert captured is not None and captured["kind"] == "sklearn" and captured["variable"] == "tfidf"
    assert captured["verified"] == len(texts) and "tfidf.transform(reviews) reproduces" in captured["evidence"]
    assert sktext.capture({"cv": other}, model) is None  # no vectorizer of the model's width
    custom = TfidfVectorizer(tokenizer=str.split, token_pattern=None).fit(texts)
    model_wide = keras.Sequential([keras.Input((len(custom.vocabulary_),)), keras.layers.Dense(1)])
    refused = sktext.capture({"vec": custom}, model_wide)
    assert refused is not None and refused["reason"] == "vec uses a custom tokenizer function"
    with pytest.raises(EvaluationError, match="the harness could not reproduce"):
        text.encode(TextPreprocessing.model_validate(refused), texts)


def test_crafted_sklearn_options_are_refused_naming_the_harness() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from labgrade_runtime.kernel import sktext

    live = TfidfVectorizer().fit(TEXTS)
    record = sktext._record("v", [live])
    for change in (
        {"analyzer": "os.system"},
        {"ngram_range": [1, 10**9]},
        {"idf": ["x"] * record["length"]},
        {"idf": [1.0]},
        {"norm": "l3"},
        {"lowercase": "yes"},
        {"class": "Pipeline"},
    ):
        crafted = TextPreprocessing.model_validate({**record, "config": {**record["config"], **change}})
        with pytest.raises(EvaluationError, match="the harness could not reproduce"):
            text.encode(crafted, TEXTS)


def test_a_tfidf_model_scores_on_the_holdout_what_it_scores_in_the_notebook(reviews: dict[str, Any]) -> None:
    import keras
    from sklearn.feature_extraction.text import TfidfVectorizer

    from labgrade_runtime.kernel import sktext

    keras.utils.set_random_seed(1)
    csv = reviews["csv"].sample(frac=1.0, random_state=0)
    texts, y = csv["review"].tolist(), (csv["sentiment"] == "positive").to_numpy("float32")
    tfidf = TfidfVectorizer(max_features=2000)
    x_train = tfidf.fit_transform(texts[:2400]).toarray()
    x_test = tfidf.transform(texts[2400:]).toarray()
    model = keras.Sequential(
        [keras.Input((2000,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x_train, y[:2400], epochs=6, batch_size=64, verbose=0)
    own = float(((model.predict(x_test, verbose=0).ravel() > 0.5) == y[2400:]).mean())
    captured = sktext.capture({"tfidf": tfidf, "train_texts": texts[:2400], "X_train": x_train}, model)
    assert captured is not None and captured["verified"] and own > 0.7
    fit = fit_record(_fit_of(x_train)[0])
    metrics, how = imdb_eval.score(model, reviews["holdout"], fit, eval_spec(preprocessing=captured))
    assert abs(metrics["accuracy"] - own) < 0.06, how
    assert "TfidfVectorizer 'tfidf' (2,000 columns)" in how
    blind, _ = imdb_eval.score(model, reviews["holdout"], fit, eval_spec())  # word ranks: not its columns
    assert blind["accuracy"] < metrics["accuracy"] - 0.1


# ---------------------------------------------------------------- the stand-in is learnable by every model kind


def _bag(seqs: Any, dim: int) -> np.ndarray:
    out = np.zeros((len(seqs), dim), "float32")
    for i, s in enumerate(seqs):
        out[i, s] = 1.0
    return out


@pytest.mark.slow
def test_every_model_kind_of_the_lab_learns_the_stand_in_in_a_few_epochs() -> None:
    """Multi-hot Dense, Embedding + pooling, LSTM, GRU, BiLSTM: each clearly beats chance on the holdout in 2 epochs.

    (A one-way LSTM fed post-padded reviews without masking stays near chance
    in 2 epochs, on real IMDB as here: it must carry the review through the
    padding. It is not asked of the stand-in.)
    """
    import keras
    from keras import layers

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    data = standins().apply_load_args(
        standins().review_sequences(n_train=4000, n_test=100, n_holdout=600, seed=11), num_words=10000
    )
    y, y_hold = data["y_train"].astype("float32"), data["y_holdout"]
    pad = keras.utils.pad_sequences
    kinds: dict[str, tuple[list[Any], Any, int]] = {
        "multi-hot Dense": (
            [keras.Input((10000,)), layers.Dense(16, activation="relu"), layers.Dense(16, activation="relu")],
            lambda xs: _bag(xs, 10000),
            512,
        ),
        "Embedding + pooling": (
            [keras.Input((200,)), layers.Embedding(10000, 16), layers.GlobalAveragePooling1D()],
            lambda xs: pad(xs, maxlen=200),
            64,
        ),
        "Embedding + LSTM": (
            [keras.Input((200,)), layers.Embedding(10000, 32), layers.LSTM(32)],
            lambda xs: pad(xs, maxlen=200),
            64,
        ),
        "Embedding + GRU": (
            [keras.Input((200,)), layers.Embedding(10000, 32), layers.GRU(32)],
            lambda xs: pad(xs, maxlen=200),
            64,
        ),
        "Embedding + BiLSTM (post padding)": (
            [keras.Input((200,)), layers.Embedding(10000, 32), layers.Bidirectional(layers.LSTM(32))],
            lambda xs: pad(xs, maxlen=200, padding="post", truncating="post"),
            64,
        ),
    }
    scores = {}
    for name, (body, encode, batch) in kinds.items():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([*body, layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(encode(data["x_train"]), y, epochs=2, batch_size=batch, verbose=0)
        scores[name] = float(((model.predict(encode(data["x_holdout"]), verbose=0).ravel() > 0.5) == y_hold).mean())
    assert all(acc >= 0.7 for acc in scores.values()), scores
