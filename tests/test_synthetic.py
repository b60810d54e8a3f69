"""The synthetic stand-ins: real formats, determinism, disjoint splits, keras
semantics for IMDB, and learnability with real Keras on small data."""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from PIL import Image

from graders.kit import standins

syn = standins()  # the stand-in library the experiments share (standins/ beside rubrics/)
reviews_module = syn.reviews

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _digest(data: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for key in sorted(data):
        value = data[key]
        h.update(key.encode())
        if isinstance(value, dict):
            h.update(repr(sorted(value.items())).encode())
        elif value.dtype == object:
            h.update(repr([list(x) for x in value]).encode())
        else:
            h.update(str((value.dtype, value.shape)).encode())
            h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def _rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x.reshape(len(x), -1)}


@pytest.fixture(scope="module")
def fashion() -> dict[str, np.ndarray]:
    return syn.fashion_mnist(n_train=3000, n_test=500, n_holdout=1000, seed=0)


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return syn.mnist(n_train=3000, n_test=500, n_holdout=1000, seed=0)


@pytest.fixture(scope="module")
def reviews() -> dict[str, Any]:
    return syn.review_sequences(n_train=3000, n_test=1000, n_holdout=1000, seed=0)


# ------------------------------------------------------------------ format


def test_keras_default_sizes_are_the_real_ones() -> None:
    for fn, n_train, n_test in (
        (syn.fashion_mnist, 60000, 10000),
        (syn.mnist, 60000, 10000),
        (syn.review_sequences, 25000, 25000),
    ):
        params = inspect.signature(fn).parameters
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
        assert (params["n_train"].default, params["n_test"].default, params["seed"].default) == (n_train, n_test, 0)


@pytest.mark.parametrize("name", ["fashion", "digits"])
def test_image_classes_have_the_mnist_format(name: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(name)
    assert sorted(data) == sorted(["x_train", "y_train", "x_test", "y_test", "x_holdout", "y_holdout"])
    for split, n in (("train", 3000), ("test", 500), ("holdout", 1000)):
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8
        assert y.shape == (n,) and y.dtype == np.uint8
        assert np.array_equal(np.bincount(y, minlength=10), np.full(10, n // 10))  # exactly balanced
    x = data["x_train"]
    assert x.max() == 255 and x.min() == 0
    assert 0.3 < (x == 0).mean() < 0.9  # black background, as in the real data
    per_image_max = x.reshape(len(x), -1).max(axis=1)
    assert (per_image_max > 40).all()  # no blank images


def test_fashion_classes_have_distinct_silhouettes(fashion: dict[str, np.ndarray]) -> None:
    x, y = fashion["x_train"].astype(np.float64) / 255, fashion["y_train"]
    ink = np.array([(x[y == c] > 0.05).mean(axis=(1, 2)).mean() for c in range(10)])
    # trousers, sandals and sneakers cover little; pullovers and coats much
    assert ink[5] < ink[1] < ink[2] and ink[7] < ink[4]

    def runs_low_down(img: np.ndarray) -> int:
        """Separate ink runs in the row at 80 % of the item's height."""
        rows = np.flatnonzero((img > 0.1).any(axis=1))
        on = img[int(rows[0] + 0.8 * (rows[-1] - rows[0]))] > 0.15 * img.max()
        return int(on[0]) + int(np.count_nonzero(on[1:] & ~on[:-1]))

    legs = {c: np.mean([runs_low_down(img) == 2 for img in x[y == c]]) for c in (1, 3, 8, 9)}
    assert legs[1] > 0.95  # two legs
    assert max(legs[3], legs[8], legs[9]) < 0.1  # a dress, a bag, a boot: one piece


def test_empty_splits_keep_shapes() -> None:
    data = syn.fashion_mnist(n_train=10, n_test=0, n_holdout=0)
    assert data["x_test"].shape == (0, 28, 28) and data["y_test"].dtype == np.uint8
    data = syn.review_sequences(n_train=10, n_test=10, n_holdout=0)
    assert data["x_holdout"].shape == (0,) and data["y_holdout"].dtype == np.int64
    with pytest.raises(ValueError, match="n_train"):
        syn.mnist(n_train=-1)
    with pytest.raises(ValueError, match="seed"):
        syn.mnist(n_train=10, seed=-3)


# ------------------------------------------------------------------ determinism


GENERATORS = {
    "fashion_mnist": lambda seed: syn.fashion_mnist(n_train=300, n_test=100, n_holdout=100, seed=seed),
    "mnist": lambda seed: syn.mnist(n_train=300, n_test=100, n_holdout=100, seed=seed),
    "imdb": lambda seed: syn.review_sequences(n_train=200, n_test=200, n_holdout=50, seed=seed),
    "faces": lambda seed: syn.faces(n_identities=4, per_identity=5, holdout_per_identity=2, size=32, seed=seed),
    "utkface": lambda seed: syn.utkface(n_train=40, n_test=10, n_holdout=10, size=32, seed=seed),
    "colorize": lambda seed: syn.outdoor_scenes(n_train=40, n_test=10, n_holdout=10, size=16, seed=seed),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_bytes_other_seed_other_data(name: str) -> None:
    make = GENERATORS[name]
    first, again, other = make(7), make(7), make(8)
    assert _digest(first) == _digest(again)
    for key, value in first.items():
        if key != "word_index" and value.dtype != object and value.size:
            if key.startswith("x_"):
                assert not np.array_equal(value, other[key]), key
    assert _digest(first) != _digest(other)


def test_same_bytes_in_a_fresh_process_with_another_hash_seed() -> None:
    """The trusted evaluator regenerates the holdout in its own process."""
    code = (
        "import hashlib, sys\nfrom graders.kit import standins\ns = standins()\n"
        "d = s.fashion_mnist(n_train=0, n_test=0, n_holdout=500, seed=3)\n"
        "i = s.review_sequences(n_train=100, n_test=100, n_holdout=100, seed=3)\n"
        "h = hashlib.sha256(d['x_holdout'].tobytes() + d['y_holdout'].tobytes())\n"
        "h.update(repr([list(x) for x in i['x_holdout']]).encode())\n"
        "h.update(repr(sorted(i['word_index'].items())).encode())\n"
        "print(h.hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    d = syn.fashion_mnist(n_train=0, n_test=0, n_holdout=500, seed=3)
    i = syn.review_sequences(n_train=100, n_test=100, n_holdout=100, seed=3)
    h = hashlib.sha256(d["x_holdout"].tobytes() + d["y_holdout"].tobytes())
    h.update(repr([list(x) for x in i["x_holdout"]]).encode())
    h.update(repr(sorted(i["word_index"].items())).encode())
    assert out.stdout.strip() == h.hexdigest()


def test_image_splits_are_prefix_stable_and_independent_of_other_sizes() -> None:
    small = syn.mnist(n_train=1200, n_test=10, n_holdout=10, seed=1)
    large = syn.mnist(n_train=2500, n_test=30, n_holdout=0, seed=1)
    assert np.array_equal(small["x_train"], large["x_train"][:1200])
    assert np.array_equal(small["y_train"], large["y_train"][:1200])
    assert np.array_equal(small["x_test"], large["x_test"][:10])


# ------------------------------------------------------------------ disjoint splits


@pytest.mark.parametrize("name", ["fashion", "digits"])
def test_image_splits_share_no_image(name: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(name)
    train, test, hold = (_rows(data[f"x_{s}"]) for s in ("train", "test", "holdout"))
    assert len(train) == 3000 and len(hold) == 1000  # no duplicates inside a split either
    assert not hold & train and not hold & test and not test & train


def test_mini_project_splits_share_no_image() -> None:
    for data in (GENERATORS["faces"](0), GENERATORS["utkface"](0), GENERATORS["colorize"](0)):
        train, test, hold = (_rows(data[f"x_{s}"]) for s in ("train", "test", "holdout"))
        assert not hold & train and not hold & test and not test & train


def test_imdb_splits_share_no_review(reviews: dict[str, Any]) -> None:
    train, test, hold = ({tuple(x) for x in reviews[f"x_{s}"]} for s in ("train", "test", "holdout"))
    assert len(train) == 3000 and not hold & train and not hold & test and not test & train


# ------------------------------------------------------------------ IMDB


def test_imdb_has_the_keras_format(reviews: dict[str, Any]) -> None:
    for split, n in (("train", 3000), ("test", 1000), ("holdout", 1000)):
        x, y = reviews[f"x_{split}"], reviews[f"y_{split}"]
        assert x.shape == (n,) and x.dtype == object
        assert y.shape == (n,) and y.dtype == np.int64 and y.sum() == n // 2
        assert all(type(s) is list and s[0] == 1 for s in x)
        assert type(x[0][1]) is int
        lengths = np.array([len(s) for s in x])
        assert lengths.min() >= 51 and lengths.max() <= 401 and 150 < lengths.mean() < 260
        assert min(min(s[1:]) for s in x) >= 4  # 0 pad, 1 start, 2 OOV, 3 unused


def test_imdb_word_index_is_ranked_by_frequency(reviews: dict[str, Any]) -> None:
    index = reviews["word_index"]
    assert len(index) >= 20000
    assert sorted(index.values()) == list(range(1, len(index) + 1))
    assert index["the"] == 1
    for word in ("great", "awful", "boring", "masterpiece", "not"):
        assert word in index
    tokens = np.concatenate([np.array(s[1:]) for s in (*reviews["x_train"], *reviews["x_test"])])
    counts = np.bincount(tokens - 3, minlength=len(index) + 1)[1:]
    assert (np.diff(counts) <= 0).all()  # rank 1 most frequent, and so on
    assert max(max(s) for s in reviews["x_train"]) <= len(index) + 3


def test_imdb_sentiment_words_follow_the_label(reviews: dict[str, Any]) -> None:
    index = reviews["word_index"]

    def rate(word: str, label: int) -> float:
        code = index[word] + 3
        docs = [s for s, y in zip(reviews["x_train"], reviews["y_train"]) if y == label]
        return float(np.mean([code in s for s in docs]))

    for word in ("great", "excellent", "wonderful"):
        assert rate(word, 1) > 1.5 * rate(word, 0)
    for word in ("bad", "awful", "boring"):
        assert rate(word, 0) > 1.5 * rate(word, 1)
    assert rate("great", 0) > 0.02  # negation and mixed reviews: not a lookup table
    assert 0.8 < rate("the", 0) / rate("the", 1) < 1.25


def _keras_load_data(
    tmp_path: Any, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch, **kwargs: Any
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """keras' own load_data on an npz in the stored IMDB form (word ranks, no start).

    A fresh copy of Keras's module: a test that loaded the experiment's kernel adapter in this process has pointed
    the imported one's ``load_data`` at the served files, as a kernel does.
    """
    import importlib.util

    found = importlib.util.find_spec("keras.src.datasets.imdb")
    assert found is not None and found.loader is not None
    keras_imdb = importlib.util.module_from_spec(found)
    found.loader.exec_module(keras_imdb)

    path = tmp_path / "imdb.npz"
    if not path.exists():
        stored: dict[str, Any] = {}
        for split in ("train", "test"):
            stored[f"x_{split}"] = reviews_module._as_object_array([[w - 3 for w in s[1:]] for s in raw[f"x_{split}"]])
            stored[f"y_{split}"] = raw[f"y_{split}"]
        np.savez(path, **stored)  # object arrays of lists pickle as keras' real file does
    monkeypatch.setattr(keras_imdb, "get_file", lambda *a, **k: str(path))  # no network here
    return keras_imdb.load_data(**kwargs)


KERAS_ARGS = [
    {},
    {"num_words": 10000},
    {"num_words": 500, "skip_top": 20},
    {"maxlen": 150},
    {"num_words": 1000, "maxlen": 200, "oov_char": None},
    {"start_char": None, "index_from": 0, "num_words": 300},
    {"start_char": 7, "oov_char": 5, "index_from": 10, "skip_top": 3, "num_words": 2000},
]


@pytest.mark.parametrize("kwargs", KERAS_ARGS, ids=[str(k) for k in KERAS_ARGS])
def test_imdb_apply_args_matches_keras_load_data(
    kwargs: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = syn.review_sequences(n_train=300, n_test=200, n_holdout=20, seed=5)
    (kx_train, ky_train), (kx_test, ky_test) = _keras_load_data(tmp_path, raw, monkeypatch, **kwargs)
    # keras shuffles with RandomState(113) first; apply the same order to ours
    rng = np.random.RandomState(113)
    order = {}
    for split in ("train", "test"):
        idx = np.arange(len(raw[f"x_{split}"]))
        rng.shuffle(idx)
        order[split] = idx
    shuffled = {f"{k}_{s}": raw[f"{k}_{s}"][order[s]] for s in ("train", "test") for k in ("x", "y")}
    ours = syn.apply_load_args(shuffled, **kwargs)
    assert [list(s) for s in ours["x_train"]] == [list(s) for s in kx_train]
    assert [list(s) for s in ours["x_test"]] == [list(s) for s in kx_test]
    assert np.array_equal(ours["y_train"], ky_train) and np.array_equal(ours["y_test"], ky_test)
    assert ours["x_train"].ndim == 1 and ours["y_train"].dtype == ky_train.dtype


def test_imdb_apply_args_quirks_and_holdout(reviews: dict[str, Any]) -> None:
    out = syn.apply_load_args(reviews, num_words=10000)
    assert max(max(s) for s in out["x_holdout"]) <= 9999
    assert out["word_index"] is reviews["word_index"]
    kept = syn.apply_load_args(reviews, maxlen=100)
    lengths = [len(s) for s in kept["x_holdout"]]
    assert lengths and max(lengths) == 99  # dropped, never truncated
    assert len(kept["y_holdout"]) == len(lengths)
    with pytest.raises(ValueError, match="maxlen=10"):
        syn.apply_load_args(reviews, maxlen=10)
    with pytest.raises(ValueError, match="raw form"):
        syn.apply_load_args(out, num_words=500)  # already has OOV markers


def test_imdb_reviews_text_decodes_the_same_reviews() -> None:
    texts, sentiments = syn.review_texts(n=60, n_holdout=10, seed=2)
    data = syn.review_sequences(n_train=30, n_test=30, n_holdout=10, seed=2)
    words = {r + 3: w for w, r in data["word_index"].items()}
    seqs = [*data["x_train"], *data["x_test"]]
    assert len(texts) == len(sentiments) == 60
    for text, sentiment, seq, label in zip(texts, sentiments, seqs, [*data["y_train"], *data["y_test"]]):
        assert re.sub(r"^(<br /><br /> )+", "", text)[0].isupper()
        assert text.endswith((".", "<br /><br />"))
        plain = re.findall(r"[\w']+", text.replace("<br /><br />", " br ").lower())
        assert plain == [words[i] for i in seq[1:]]
        assert sentiment == ("positive" if label == 1 else "negative")
    hold_texts, _ = syn.review_texts(n=60, n_holdout=10, seed=2, holdout=True)
    assert len(hold_texts) == 10 and not set(hold_texts) & set(texts)


# ------------------------------------------------------------------ mini projects


def test_faces_format_and_labels() -> None:
    data = syn.faces(n_identities=6, per_identity=10, holdout_per_identity=3, test_fraction=0.2, size=48)
    for split, per in (("train", 8), ("test", 2), ("holdout", 3)):
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        assert x.shape == (6 * per, 48, 48, 3) and x.dtype == np.uint8
        assert y.dtype == np.int64 and np.array_equal(np.bincount(y), np.full(6, per))
    x = data["x_train"].astype(np.float64)
    assert x.std(axis=(1, 2)).min() > 10  # colourful, not blank
    with pytest.raises(ValueError, match="test_fraction"):
        syn.faces(test_fraction=1.0)


def test_utkface_labels_are_in_range_and_visible() -> None:
    data = syn.utkface(n_train=600, n_test=10, n_holdout=10, size=32, seed=4)
    x, age, gender, race = (data[f"{k}_train"] for k in ("x", "age", "gender", "race"))
    assert x.shape == (600, 32, 32, 3) and x.dtype == np.uint8
    assert age.dtype == gender.dtype == race.dtype == np.int64
    assert age.min() >= 1 and age.max() <= 90 and set(gender) == {0, 1} and set(race) == {0, 1, 2, 3, 4}
    assert 0.4 < np.mean((age >= 15) & (age <= 45)) < 0.8  # skewed to young adults like UTKFace
    # long hair: beside the lower face women's pixels differ from the background far more often
    x = x.astype(float)
    beside = [
        np.abs(x[:, 18:25, a:b].mean(axis=(1, 2)) - x[:, 18:25, c:d].mean(axis=(1, 2))).sum(axis=1)
        for a, b, c, d in ((5, 8, 0, 2), (24, 27, 30, 32))
    ]
    hair = (beside[0] + beside[1]) / 2
    assert hair[gender == 1].mean() > 2 * hair[gender == 0].mean()


def test_colorize_and_to_gray() -> None:
    x = syn.outdoor_scenes(n_train=50, n_test=5, n_holdout=5, size=32)["x_train"]
    assert x.shape == (50, 32, 32, 3) and x.dtype == np.uint8
    gray = syn.to_gray(x)
    assert gray.shape == (50, 32, 32) and gray.dtype == np.uint8
    for img, g in zip(x[:10], gray[:10]):
        assert np.array_equal(np.asarray(Image.fromarray(img).convert("L")), g)
    top, bottom = x[:, :4].reshape(-1, 3).mean(axis=0), x[:, -4:].reshape(-1, 3).mean(axis=0)
    assert top[2] > top[0] + 40  # sky: blue at the top
    assert bottom[1] > bottom[2] + 20  # ground: mostly grass
    with pytest.raises(ValueError):
        syn.to_gray(x.astype(np.float32))


def test_describe_covers_every_generator() -> None:
    lines = syn.describe()
    for name in ("fashion_mnist", "mnist", "review_sequences", "review_texts", "faces", "utkface", "outdoor_scenes"):
        assert callable(getattr(syn, name))
        assert isinstance(lines[name], str) and "\n" not in lines[name] and len(lines[name]) > 40


# ------------------------------------------------------------------ learnability (real Keras)


@pytest.fixture(scope="module")
def keras_mod() -> Any:
    import keras

    return keras


def _manual_cnn(keras: Any) -> Any:
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Conv2D(128, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fashion_cnn_learns_and_beats_a_weak_model(keras_mod: Any, fashion: dict[str, np.ndarray]) -> None:
    keras = keras_mod
    x = fashion["x_train"].reshape(-1, 28, 28, 1).astype("float32") / 255
    xh = fashion["x_holdout"].reshape(-1, 28, 28, 1).astype("float32") / 255
    y, yh = fashion["y_train"], fashion["y_holdout"]
    keras.utils.set_random_seed(0)
    good = _manual_cnn(keras)
    good.fit(x, y, epochs=2, batch_size=32, verbose=0)
    acc = good.evaluate(xh, yh, verbose=0)[1]
    weak = _manual_cnn(keras)
    weak.fit(x[:300], y[:300], epochs=1, batch_size=32, verbose=0)
    weak_acc = weak.evaluate(xh, yh, verbose=0)[1]
    assert 0.72 <= acc <= 0.95  # learnable, but the tops stay confusable
    assert acc >= weak_acc + 0.15 and weak_acc < 0.6


def test_mnist_mlp_learns(keras_mod: Any, digits: dict[str, np.ndarray]) -> None:
    keras = keras_mod
    layers = keras.layers
    x = digits["x_train"].reshape(-1, 784).astype("float32") / 255
    xh = digits["x_holdout"].reshape(-1, 784).astype("float32") / 255

    def mlp() -> Any:
        model = keras.Sequential(
            [
                keras.Input((784,)),
                layers.Dense(512, activation="relu"),
                layers.Dropout(0.2),
                layers.Dense(512, activation="relu"),
                layers.Dropout(0.2),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizer=keras.optimizers.RMSprop(), loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    keras.utils.set_random_seed(0)
    good = mlp()
    good.fit(x, np.eye(10)[digits["y_train"]], batch_size=128, epochs=3, verbose=0)
    acc = good.evaluate(xh, np.eye(10)[digits["y_holdout"]], verbose=0)[1]
    weak = mlp()
    weak.fit(x[:300], np.eye(10)[digits["y_train"][:300]], batch_size=128, epochs=1, verbose=0)
    weak_acc = weak.evaluate(xh, np.eye(10)[digits["y_holdout"]], verbose=0)[1]
    assert 0.8 <= acc <= 0.99 and acc >= weak_acc + 0.15


def test_imdb_dense_model_learns(keras_mod: Any, reviews: dict[str, Any]) -> None:
    keras = keras_mod
    layers = keras.layers
    data = syn.apply_load_args(reviews, num_words=10000)

    def multi_hot(seqs: np.ndarray) -> np.ndarray:
        out = np.zeros((len(seqs), 10000), np.float32)
        for i, s in enumerate(seqs):
            out[i, s] = 1.0
        return out

    def dnn() -> Any:
        model = keras.Sequential(
            [
                keras.Input((10000,)),
                layers.Dense(50, activation="relu"),
                layers.Dropout(0.3),
                layers.Dense(50, activation="relu"),
                layers.Dropout(0.2),
                layers.Dense(50, activation="relu"),
                layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model

    x, xh = multi_hot(data["x_train"]), multi_hot(data["x_holdout"])
    keras.utils.set_random_seed(0)
    good = dnn()
    good.fit(x, data["y_train"], epochs=3, batch_size=100, verbose=0)
    acc = good.evaluate(xh, data["y_holdout"], verbose=0)[1]
    weak = dnn()  # too little data: 200 reviews, one epoch
    weak.fit(x[:200], data["y_train"][:200], epochs=1, batch_size=100, verbose=0)
    weak_acc = weak.evaluate(xh, data["y_holdout"], verbose=0)[1]
    assert 0.75 <= acc <= 0.95 and acc >= weak_acc + 0.15


def _small_cnn(keras: Any, size: int) -> tuple[Any, Any]:
    layers = keras.layers
    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32):
        x = layers.MaxPooling2D()(layers.Conv2D(filters, 3, activation="relu")(x))
    return inputs, layers.Dense(64, activation="relu")(layers.Flatten()(x))


def test_faces_identities_are_learnable(keras_mod: Any) -> None:
    keras = keras_mod
    data = syn.faces(n_identities=10, per_identity=20, holdout_per_identity=5, size=32, seed=0)
    keras.utils.set_random_seed(0)
    inputs, features = _small_cnn(keras, 32)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(features))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data["x_train"], data["y_train"], epochs=10, batch_size=16, verbose=0)
    assert model.evaluate(data["x_holdout"], data["y_holdout"], verbose=0)[1] >= 0.6  # chance 0.1


def test_utkface_gender_and_age_are_learnable(keras_mod: Any) -> None:
    keras = keras_mod
    data = syn.utkface(n_train=1000, n_test=0, n_holdout=400, size=32, seed=0)
    keras.utils.set_random_seed(0)
    inputs, features = _small_cnn(keras, 32)
    gender = keras.layers.Dense(1, activation="sigmoid", name="gender")(features)
    age = keras.layers.Dense(1, name="age")(features)
    model = keras.Model(inputs, [gender, age])
    model.compile(
        optimizer="adam",
        loss={"gender": "binary_crossentropy", "age": "mse"},
        loss_weights={"gender": 1.0, "age": 0.005},
    )
    targets = {"gender": data["gender_train"].astype("float32"), "age": data["age_train"].astype("float32")}
    model.fit(data["x_train"], targets, epochs=10, batch_size=32, verbose=0)
    p_gender, p_age = model.predict(data["x_holdout"], verbose=0)
    gender_acc = float(((p_gender[:, 0] > 0.5) == data["gender_holdout"]).mean())
    mae = float(np.abs(p_age[:, 0] - data["age_holdout"]).mean())
    baseline = float(np.abs(np.median(data["age_train"]) - data["age_holdout"]).mean())
    assert gender_acc >= 0.72 and mae <= 0.85 * baseline  # a bigger CNN, longer: ~0.97 and 0.4


def test_colorize_colour_is_learnable_from_gray(keras_mod: Any) -> None:
    keras = keras_mod
    layers = keras.layers
    data = syn.outdoor_scenes(n_train=1000, n_test=0, n_holdout=300, size=16, seed=0)
    gray = syn.to_gray(data["x_train"])[..., None] / 255.0
    gray_h = syn.to_gray(data["x_holdout"])[..., None] / 255.0
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 1))
    x = layers.Conv2D(16, 3, activation="relu", padding="same")(inputs)
    x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
    model = keras.Model(inputs, layers.Conv2D(3, 1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="mse")
    model.fit(gray, data["x_train"] / 255.0, epochs=5, batch_size=32, verbose=0)
    mse = model.evaluate(gray_h, data["x_holdout"] / 255.0, verbose=0)
    gray_as_rgb = float(((np.repeat(gray_h, 3, axis=-1) - data["x_holdout"] / 255.0) ** 2).mean())
    assert mse <= 0.8 * gray_as_rgb
