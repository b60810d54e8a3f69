"""Experiment 2A's scoring: feed the hidden reviews the way the student's model was trained.

The holdout holds raw word ranks (``x``: zero-padded int matrix, ``lengths``,
``y`` 0/1). Students encode reviews in one of two ways, and the model's
input and the recorded training inputs tell which:

* a bag of words (the manual's ``vectorize``): a 0/1 (or count) vector whose
  size is the model's input size; training inputs with mean < 1;
* word-index sequences padded to the model's input length (``pad_sequences``,
  for Embedding/LSTM models); training inputs with mean >= 1 or an Embedding.

A notebook that tokenised the Kaggle CSV itself (a fitted ``Tokenizer`` or
``TextVectorization``) is scored with that very encoder: the probe captured
it (``spec.preprocessing``) and the hidden reviews' raw text
(``text_bytes``/``text_offsets``) is encoded with it, padded to the length
and on the sides the model was trained with. A model that takes raw strings
(a TextVectorization inside it) is fed the text itself. Where the student's
encoding cannot be reproduced, the run is ``evaluation_failed`` naming the
harness, never scored on indices the model never saw.

Otherwise the indices follow Keras' ``imdb.load_data`` (rank + 3, start char
1, OOV 2), or, when no encoder was captured, a Tokenizer fitted on the whole
CSV (the provider stored the index it gives each rank), with or without an
OOV token. Each is scored and the best one kept (and named): a model fed the
wrong indices scores near chance, so the choice picks the student's encoding
rather than flattering the model. Runs in the trusted evaluator process; no
student code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from labgrade_runtime.evaluator import text
from labgrade_runtime.evaluator.kit import (
    ArrayStats,
    EvalSpec,
    EvaluationError,
    FitRecord,
    TextPreprocessing,
    classification_metrics,
)

CHUNK = 500  # reviews encoded and predicted at a time: a 2000 x 88k multi-hot would not fit
INDEXINGS = {
    "keras": "Keras imdb.load_data indices (rank + 3, start 1, OOV 2)",
    "tokenizer": "Tokenizer indices (fitted on the IMDB Dataset.csv reviews)",
    "tokenizer_oov": "Tokenizer(oov_token=...) indices (fitted on the IMDB Dataset.csv reviews)",
}


def _per_sample(model: Any, fit_x: ArrayStats | None = None) -> tuple[int, ...]:
    """The model's per-review input shape; a length the model leaves open (an Embedding without
    ``input_length``) is the one it was trained on."""
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    dims = tuple(tuple(shape)[1:])
    recorded = fit_x.shape[1:] if fit_x else []
    if any(d is None for d in dims) and len(recorded) == len(dims):
        dims = tuple(r if d is None else d for d, r in zip(dims, recorded))
    if any(d is None for d in dims):
        raise EvaluationError(
            f"the model's input shape {dims} is not fixed and its training inputs were not recorded; "
            "pad the reviews to a fixed length (or vectorise them)"
        )
    return tuple(int(d) for d in dims)


def _embedding_vocab(model: Any) -> int | None:
    for layer in model.layers:
        if type(layer).__name__ == "Embedding":
            return int(layer.get_config()["input_dim"])
    return None


def _word_ids(row: np.ndarray, n: int, indexing: str, holdout: dict[str, np.ndarray]) -> np.ndarray:
    """One review's word indices under an indexing, before the vocabulary cut."""
    ranks = row[:n].astype(np.int64)
    if indexing == "keras":
        return ranks + 3
    table = holdout.get("tokenizer_index")
    ids = table[ranks].astype(np.int64) if table is not None else ranks
    br = int(holdout["br_rank"]) if "br_rank" in holdout else 0
    if br:  # "<br /><br />" is two "br" tokens for a Tokenizer
        ids = np.repeat(ids, np.where(ranks == br, 2, 1))
    return ids


def _indices(holdout: dict[str, np.ndarray], rows: slice, indexing: str, limit: int) -> list[np.ndarray]:
    """Per review: the word indices under one indexing, words at or over ``limit`` as OOV/dropped."""
    out = []
    for row, n in zip(holdout["x"][rows], holdout["lengths"][rows]):
        idx = _word_ids(row, int(n), indexing, holdout)
        if indexing == "keras":  # load_data: start char 1, out-of-vocabulary words become 2
            idx = np.concatenate([[1], np.where(idx < limit, idx, 2)])
        elif indexing == "tokenizer_oov":  # Tokenizer(oov_token=...): index 1 is the OOV token
            idx = np.where((idx > 0) & (idx + 1 < limit), idx + 1, 1)
        else:  # Tokenizer: words beyond num_words (or never seen) are dropped
            idx = idx[(idx > 0) & (idx < limit)]
        out.append(idx)
    return out


def _bag(seqs: list[np.ndarray], size: int, counts: bool) -> np.ndarray:
    out = np.zeros((len(seqs), size), dtype="float32")
    for i, idx in enumerate(seqs):
        if counts:
            np.add.at(out[i], idx, 1.0)
        else:
            out[i, idx] = 1.0
    return out


def _padded(seqs: list[np.ndarray], size: int, post: bool) -> np.ndarray:
    """pad_sequences(maxlen=size): truncation 'pre' (Keras' default), padding 'pre' or 'post'."""
    out = np.zeros((len(seqs), size), dtype="int32")
    for i, idx in enumerate(seqs):
        keep = idx[-size:]
        if post:
            out[i, : len(keep)] = keep
        else:
            out[i, size - len(keep) :] = keep
    return out


def _encoding(model: Any, fit_x: ArrayStats | None) -> tuple[str, int, Callable[[list[np.ndarray], int], np.ndarray]]:
    """(description, index limit, encoder) for the model's input, decided from its shape and the fit record."""
    size = int(np.prod(_per_sample(model, fit_x)))
    vocab = _embedding_vocab(model)
    sequences = vocab is not None or (fit_x is not None and fit_x.mean >= 1.0)
    if not sequences:
        counts = fit_x is not None and fit_x.max > 1.0
        return f"{'word counts' if counts else 'multi-hot'} of dimension {size}", size, lambda s, n: _bag(s, n, counts)
    limit = vocab or (int(fit_x.max) + 1 if fit_x else 10000)
    if vocab is not None and fit_x is not None and fit_x.max >= vocab:
        # trained on indices beyond its Embedding (zero vectors, as on the students' GPU): fed the same indices
        limit = int(fit_x.max) + 1
    means = (fit_x.feature_mean if fit_x else None) or []
    post = (
        len(means) == size and size >= 4 and float(np.mean(means[: size // 4])) > float(np.mean(means[-(size // 4) :]))
    )
    return (
        f"word-index sequences padded ('{'post' if post else 'pre'}') to length {size}, vocabulary {limit}",
        limit,
        lambda s, n: _padded(s, n, post),
    )


def _predict(
    model: Any,
    holdout: dict[str, np.ndarray],
    indexing: str,
    limit: int,
    encode: Any,
    size: int,
    shape: tuple[int, ...],
) -> np.ndarray:
    parts = []
    for start in range(0, len(holdout["y"]), CHUNK):
        seqs = _indices(holdout, slice(start, start + CHUNK), indexing, limit)
        x = encode(seqs, size)
        pred = model.predict(x.reshape((len(x),) + shape), verbose=0, batch_size=250)
        parts.append(pred[0] if isinstance(pred, (list, tuple)) else pred)
    return np.concatenate(parts)


def _first(pred: Any) -> np.ndarray:
    return np.asarray(pred[0] if isinstance(pred, (list, tuple)) else pred)


def _takes_text(model: Any) -> bool:
    """True for a model whose input is raw strings (a TextVectorization layer inside it)."""
    inputs = getattr(model, "inputs", None) or []
    return bool(inputs) and "string" in str(getattr(inputs[0], "dtype", ""))


def _texts(holdout: dict[str, np.ndarray]) -> list[str]:
    texts = text.holdout_texts(holdout)
    if texts is None:
        raise EvaluationError(f"{text.HARNESS}: the hidden holdout carries no review text")
    return texts


def _score_raw_text(model: Any, holdout: dict[str, np.ndarray]) -> tuple[dict[str, float], str]:
    """A model that vectorises inside itself: fed the hidden reviews' text."""
    import tensorflow as tf

    texts = _texts(holdout)
    parts = [
        _first(model.predict(tf.constant(texts[i : i + CHUNK]), verbose=0, batch_size=250))
        for i in range(0, len(texts), CHUNK)
    ]
    how = "the hidden reviews' raw text (the model vectorises it)"
    return classification_metrics(np.concatenate(parts), holdout["y"]), how


def _score_captured(
    model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, pre: TextPreprocessing
) -> tuple[dict[str, float], str]:
    """Accuracy with the notebook's own Tokenizer / TextVectorization on the hidden reviews' text."""
    if pre.kind not in ("tokenizer", "text_vectorization", "sklearn") or pre.reason:
        raise EvaluationError(f"{text.HARNESS}: {pre.reason or 'it was not recognised'}")
    texts, shape = _texts(holdout), _per_sample(model, fit.x)
    if int(np.prod(shape)) != pre.length:
        raise EvaluationError(
            f"{text.HARNESS}: the captured encoding gives {pre.length} values per review, the model takes {shape}"
        )
    # The truncation side is only known when the probe reproduced the training rows; otherwise both are tried.
    sides = [pre.truncating] if pre.truncating or pre.kind == "sklearn" else ["pre", "post"]
    results = {}
    for side in sides:
        parts = [
            _first(
                model.predict(
                    text.encode(pre, texts[i : i + CHUNK], side).reshape((-1,) + shape), verbose=0, batch_size=250
                )
            )
            for i in range(0, len(texts), CHUNK)
        ]
        results[side] = classification_metrics(np.concatenate(parts), holdout["y"])["accuracy"]
    best = max(results, key=lambda k: results[k])
    how = text.describe(pre.model_copy(update={"truncating": best}))
    if len(results) > 1:
        how += f" (truncation side not known: '{best}' kept, the other scored {min(results.values()):.3f})"
    return {"accuracy": results[best]}, how


def score(model: Any, holdout: dict[str, np.ndarray], fit: FitRecord, spec: EvalSpec) -> tuple[dict[str, float], str]:
    """Holdout accuracy of a binary sentiment model, inputs encoded as it was trained."""
    out_units = int(tuple(model.outputs[0].shape)[-1]) if getattr(model, "outputs", None) else 1
    if out_units not in (1, 2):
        raise EvaluationError(
            f"the model has {out_units} outputs; a positive/negative review needs 1 sigmoid unit (or 2 softmax units)"
        )
    if _takes_text(model):
        return _score_raw_text(model, holdout)
    if spec.preprocessing is not None:
        return _score_captured(model, holdout, fit, spec.preprocessing)
    how, limit, encode = _encoding(model, fit.x)
    shape = _per_sample(model, fit.x)
    size = int(np.prod(shape))
    results = {}
    for name in INDEXINGS:
        pred = _predict(model, holdout, name, limit, encode, size, shape)
        results[name] = classification_metrics(pred, holdout["y"])["accuracy"]
    best = max(results, key=lambda k: results[k])
    others = ", ".join(f"{k} {v:.3f}" for k, v in results.items() if k != best)
    return {"accuracy": results[best]}, f"{how}, {INDEXINGS[best]}; other word indexings scored {others}"
