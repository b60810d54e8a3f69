"""Kernel adapter: ``keras.datasets.imdb`` (``load_data``, ``get_word_index``) over the served raw word ranks.

The store serves ``imdb.npz`` in Keras' own raw form (word ranks, no start
character, no offset) and ``imdb_word_index.json``; ``load_data`` applies its
arguments (``num_words``, ``skip_top``, ``maxlen``, ``start_char``,
``oov_char``, ``index_from``, the seeded shuffle) exactly as Keras does.
"""

from __future__ import annotations

import json
from typing import Any

from labgrade_runtime.kernel import kerasdata


def load_data(
    path: str = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs: Any,
) -> Any:
    """Keras' imdb.load_data semantics over the harness's raw word-rank sequences."""
    import numpy as np

    with np.load(kerasdata.data_file("imdb"), allow_pickle=True) as f:
        x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    for xs, ys in ((x_train, y_train), (x_test, y_test)):
        order = np.arange(len(xs))
        rng.shuffle(order)
        xs[:], ys[:] = xs[order], ys[order]
    xs = np.concatenate([x_train, x_test])
    labels = np.concatenate([y_train, y_test])
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    if maxlen:
        kept = [(x, y) for x, y in zip(xs, labels) if len(x) <= maxlen]
        xs, labels = [k[0] for k in kept], np.array([k[1] for k in kept])
    num_words = num_words or max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    cut = len(x_train)
    out_x = np.array(xs, dtype="object")
    return (out_x[:cut], labels[:cut]), (out_x[cut:], labels[cut:])


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The served {word: rank} index."""
    with open(kerasdata.data_file("imdb_word_index", "imdb.get_word_index()"), encoding="utf-8") as fh:
        return dict(json.load(fh))


def install() -> None:
    """Serve keras.datasets.imdb from the harness's files."""
    kerasdata.register_dataset("imdb", load_data, extra={"get_word_index": get_word_index})
