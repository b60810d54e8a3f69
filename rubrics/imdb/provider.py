"""Experiment 2A's data: IMDB movie reviews, served offline in two forms.

* ``keras.datasets.imdb``: ``imdb.npz`` (object arrays of RAW word ranks, 1 =
  most frequent word, no start character and no offset, exactly like Keras'
  own file; the kernel shim applies ``load_data``'s arguments) and
  ``imdb_word_index.json`` ({word: rank});
* the Kaggle course file ``IMDB Dataset.csv`` (columns review, sentiment with
  "positive"/"negative") holding the same reviews as text.

The hidden holdout keeps raw ranks in a zero-padded int matrix plus lengths
(loadable with ``allow_pickle=False``), the same reviews as raw text (UTF-8
bytes and offsets: the evaluator encodes them with the notebook's own
Tokenizer or TextVectorization), and the index a Keras Tokenizer fitted on
the CSV gives each rank (when no encoder was captured);
``rubrics/imdb/evaluate.py`` encodes it the way the student's model was trained. Real Keras files in an
instructor's cache (``<real>/datasets/imdb.npz`` + ``imdb_word_index.json``)
are used when present; otherwise the deterministic review stand-in of
the stand-in library (``standins/`` beside ``rubrics/``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graders.kit import ProfileSpec, standins

CSV_NAME = "IMDB Dataset.csv"
_TOKENIZER_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # keras Tokenizer's default filters


def _object_array(seqs: list[list[int]]) -> np.ndarray:
    """A 1-D object array of lists (np.array would make equal lengths 2-D)."""
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = list(s)
    return out


def raw_ranks(seqs: Any) -> list[list[int]]:
    """The stand-in ``review_sequences()`` sequences (start char 1, index_from 3) -> raw word ranks."""
    return [[int(w) - 3 for w in s[1:]] for s in seqs]


def pad_ranks(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged rank lists -> (int32 matrix zero-padded at the end, int32 lengths)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int32)
    x = np.zeros((len(seqs), int(lengths.max(initial=1))), dtype=np.int32)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
    return x, lengths


def _synthetic(profile: ProfileSpec, seed: int, n_hold: int) -> tuple[dict[str, Any], str]:
    synthetic = standins()
    # Train and test are drawn equally large so that the Kaggle CSV (which
    # review_texts decodes from review_sequences(n // 2, n - n // 2)) is the very same reviews.
    n_each = max(profile.train_size or 25000, profile.test_size or 25000)
    data = synthetic.review_sequences(n_train=n_each, n_test=n_each, n_holdout=n_hold, seed=seed)
    out: dict[str, Any] = {k: raw_ranks(data[f"x_{k}"]) for k in ("train", "test", "holdout")}
    out.update({f"y_{k}": np.asarray(data[f"y_{k}"], np.int64) for k in ("train", "test", "holdout")})
    out["word_index"] = data["word_index"]
    texts, sentiments = synthetic.review_texts(n=2 * n_each, n_holdout=n_hold, seed=seed, data=data)
    out["csv"] = pd.DataFrame({"review": texts, "sentiment": sentiments})
    out["holdout_text"] = synthetic.review_texts(n=2 * n_each, n_holdout=n_hold, seed=seed, holdout=True, data=data)[0]
    return out, f"synthetic IMDB stand-in (seed {seed}), Keras' raw format"


def _real(real: Path | None, n_hold: int) -> tuple[dict[str, Any], str] | None:
    """Real Keras imdb files from an instructor's cache; the holdout is the test tail."""
    folder = real / "datasets" if real else None
    if folder is None or not (folder / "imdb.npz").is_file() or not (folder / "imdb_word_index.json").is_file():
        return None
    with np.load(folder / "imdb.npz", allow_pickle=True) as f:
        parts = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    cut = len(parts["x_test"]) - n_hold
    out: dict[str, Any] = {"train": [list(s) for s in parts["x_train"]], "y_train": parts["y_train"].astype(np.int64)}
    out["test"], out["y_test"] = [list(s) for s in parts["x_test"][:cut]], parts["y_test"][:cut].astype(np.int64)
    out["holdout"], out["y_holdout"] = [list(s) for s in parts["x_test"][cut:]], parts["y_test"][cut:].astype(np.int64)
    out["word_index"] = json.loads((folder / "imdb_word_index.json").read_text(encoding="utf-8"))
    out["csv"] = _decode_csv(out)
    words = {rank: word for word, rank in out["word_index"].items()}
    out["holdout_text"] = [" ".join(words.get(r, "") for r in s) for s in out["holdout"]]
    return out, "real Keras IMDB files from the instructor's dataset cache"


def _decode_csv(data: dict[str, Any]) -> pd.DataFrame:
    """Kaggle-style text of the served reviews, decoded through the word index."""
    words = {rank: word for word, rank in data["word_index"].items()}
    reviews = [" ".join(words.get(r, "") for r in s) for s in data["train"] + data["test"]]
    labels = np.concatenate([data["y_train"], data["y_test"]])
    return pd.DataFrame({"review": reviews, "sentiment": np.where(labels == 1, "positive", "negative")})


def _subsample(data: dict[str, Any], profile: ProfileSpec, seed: int) -> None:
    """Cut the served train/test splits to the profile's sizes (seeded, order kept)."""
    rng = np.random.RandomState(seed)
    for split, size in (("train", profile.train_size), ("test", profile.test_size)):
        if size and len(data[split]) > size:
            pick = np.sort(rng.choice(len(data[split]), size, replace=False))
            data[split] = [data[split][i] for i in pick]
            data[f"y_{split}"] = data[f"y_{split}"][pick]


def tokenizer_word_index(texts: Any) -> dict[str, int]:
    """The word_index ``keras Tokenizer().fit_on_texts(texts)`` builds (default filters, lower case).

    Counts in first-occurrence order, then a stable sort by count: Keras'
    tie-break, so equal counts keep the order the words first appeared in.
    """
    table = str.maketrans(_TOKENIZER_FILTERS, " " * len(_TOKENIZER_FILTERS))
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(str(text).lower().translate(table).split())
    ordered = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
    return {word: i + 1 for i, (word, _) in enumerate(ordered)}


def tokenizer_map(word_index: dict[str, int], texts: Any) -> np.ndarray:
    """rank -> index a Tokenizer fitted on the CSV's reviews gives that word (0 = not a token)."""
    fitted = tokenizer_word_index(texts)
    out = np.zeros(max(word_index.values()) + 1, dtype=np.int32)
    for word, rank in word_index.items():
        out[rank] = fitted.get(word.lower(), 0)
    return out


def text_arrays(texts: list[str]) -> dict[str, np.ndarray]:
    """Texts as UTF-8 bytes and offsets: loadable with ``allow_pickle=False``, far smaller than a unicode array."""
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in encoded])]).astype(np.int64)
    return {"text_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8), "text_offsets": offsets}


def _length_stats(seqs: list[list[int]]) -> dict[str, float]:
    lengths = np.array([len(s) for s in seqs], dtype=float)
    return {"mean": float(lengths.mean()), "max": float(lengths.max()), "min": float(lengths.min())}


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """IMDB for one profile and seed: imdb.npz, word index, Kaggle CSV; holdout of raw ranks."""
    n_hold = profile.holdout_size or 2000
    made = _real(real, n_hold) or _synthetic(profile, seed, n_hold)
    data, source = made
    _subsample(data, profile, seed)
    np.savez(
        served / "imdb.npz",
        x_train=_object_array(data["train"]),
        y_train=data["y_train"],
        x_test=_object_array(data["test"]),
        y_test=data["y_test"],
    )
    (served / "imdb_word_index.json").write_text(json.dumps(data["word_index"]), encoding="utf-8")
    files = served / "files"
    files.mkdir(parents=True, exist_ok=True)
    data["csv"].to_csv(files / CSV_NAME, index=False)
    x_hold, len_hold = pad_ranks(data["holdout"])
    # "<br /><br />" in the CSV text is two "br" tokens for a Tokenizer: the evaluator repeats that rank.
    br_rank = (
        int(data["word_index"].get("br", 0)) if data["csv"]["review"].str.contains("<br />", regex=False).any() else 0
    )
    tokenizer = {
        "tokenizer_index": tokenizer_map(data["word_index"], data["csv"]["review"]),
        "br_rank": np.array(br_rank, np.int32),
    }
    return {
        "keras": {"imdb": "imdb.npz", "imdb_word_index": "imdb_word_index.json"},
        # The holdout's raw text too: a notebook that tokenised the CSV itself is scored with its own encoder.
        "holdout": {
            "x": x_hold,
            "lengths": len_hold,
            "y": data["y_holdout"],
            **tokenizer,
            **text_arrays(data["holdout_text"]),
        },
        "raw_stats": {
            "vocabulary": len(data["word_index"]),
            "review_length": _length_stats(data["train"]),
            "n_train": len(data["train"]),
            "n_test": len(data["test"]),
        },
        "source": {
            "imdb": f"{source}; {len(data['train'])} train / {len(data['test'])} test served, "
            f"{len(data['csv'])} reviews in {CSV_NAME}, {n_hold} held out"
        },
    }
