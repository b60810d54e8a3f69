"""Trusted re-implementations of the text encoders students fit in their notebooks.

The probe captures a fitted Keras ``Tokenizer`` or ``TextVectorization`` as
data (:class:`labgrade_runtime.contract.TextPreprocessing`); here the hidden
texts are encoded with it exactly as the student's own training texts were,
so that a model is scored on the indices it learned. No student object is
ever unpickled or called: the Tokenizer's rules (lower-case, filters, split,
``num_words``, ``oov_token``) are re-implemented, and a TextVectorization is
rebuilt from its vocabulary and plain options. Anything the evaluator cannot
reproduce raises :class:`EvaluationError` naming the harness as the cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labgrade_runtime.contract import TextPreprocessing
from labgrade_runtime.evaluator.kit import EvaluationError

HARNESS = "the harness could not reproduce the notebook's own text preprocessing"
_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = (None, "whitespace", "character")


def holdout_texts(holdout: dict[str, np.ndarray]) -> list[str] | None:
    """The hidden reviews as text (UTF-8 bytes + offsets in the holdout file), or None if it has none."""
    if "text_bytes" not in holdout or "text_offsets" not in holdout:
        return None
    raw, offsets = holdout["text_bytes"].tobytes(), holdout["text_offsets"].astype(np.int64)
    return [raw[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]


def pad(seqs: Sequence[Sequence[int]], length: int, padding: str, truncating: str) -> np.ndarray:
    """``pad_sequences(seqs, maxlen=length, padding=..., truncating=...)`` with zeros."""
    out = np.zeros((len(seqs), length), dtype="int32")
    for i, seq in enumerate(seqs):
        keep = list(seq[-length:]) if truncating == "pre" else list(seq[:length])
        if keep:
            if padding == "pre":
                out[i, length - len(keep) :] = keep
            else:
                out[i, : len(keep)] = keep
    return out


def _words(text: str, config: dict[str, Any]) -> list[str]:
    """``text_to_word_sequence`` (or the characters, for ``char_level``), as the Tokenizer splits."""
    if config.get("lower", True):
        text = text.lower()
    if config.get("char_level"):
        return list(text)
    split = str(config.get("split") or " ")
    filters = str(config.get("filters") or "")
    table: dict[str, str | int | None] = {c: split for c in filters}
    text = text.translate(str.maketrans(table))
    return [w for w in text.split(split) if w]


def tokenizer_sequences(pre: TextPreprocessing, texts: Sequence[str]) -> list[list[int]]:
    """``Tokenizer.texts_to_sequences``: known words by index, ``num_words`` and ``oov_token`` applied."""
    config = pre.config
    index = {w: i + 1 for i, w in enumerate(pre.vocabulary)}
    num_words = int(config.get("num_words") or 0)
    oov = index.get(str(config["oov_token"])) if config.get("oov_token") is not None else None
    out = []
    for text in texts:
        seq = []
        for word in _words(text, config):
            i = index.get(word)
            if i is not None and (not num_words or i < num_words):
                seq.append(i)
            elif oov is not None:
                seq.append(oov)
        out.append(seq)
    return out


def _matrix(seqs: list[list[int]], width: int, mode: str) -> np.ndarray:
    """``Tokenizer.texts_to_matrix`` for the modes that need no document counts."""
    out = np.zeros((len(seqs), width), dtype="float32")
    for row, seq in zip(out, seqs):
        idx = np.asarray([i for i in seq if i < width], dtype=np.int64)
        if mode == "binary":
            row[idx] = 1.0
        else:
            np.add.at(row, idx, 1.0)
            if mode == "freq" and len(seq):
                row /= len(seq)
    return out


def vectorizer(pre: TextPreprocessing) -> Any:
    """A TextVectorization layer rebuilt from the captured vocabulary and plain options."""
    config = dict(pre.config)
    if config.get("standardize") not in _STANDARDIZE or config.get("split") not in _SPLIT:
        raise EvaluationError(f"{HARNESS}: its TextVectorization uses a custom standardize or split function")
    if config.get("output_mode") == "tf_idf":
        raise EvaluationError(f"{HARNESS}: TextVectorization(output_mode='tf_idf') weights were not captured")
    import keras

    options = {
        k: config.get(k)
        for k in ("standardize", "split", "ngrams", "output_mode", "output_sequence_length", "pad_to_max_tokens")
    }
    options = {k: v for k, v in options.items() if v is not None or k in ("standardize", "split")}
    if config.get("max_tokens"):
        options["max_tokens"] = int(config["max_tokens"])
    try:
        return keras.layers.TextVectorization(vocabulary=list(pre.vocabulary), **options)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"{HARNESS}: the TextVectorization could not be rebuilt ({exc})"[:400]) from exc


def _vectorize(layer: Any, texts: Sequence[str]) -> np.ndarray:
    parts = [np.asarray(layer(list(texts[i : i + 500]))) for i in range(0, len(texts), 500)]
    width = max(p.shape[1] for p in parts)
    return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in parts])


def encode(pre: TextPreprocessing, texts: Sequence[str], truncating: str | None = None) -> np.ndarray:
    """The texts as the student's model was trained on them: padded index sequences or a bag of words."""
    kind, output, length = pre.kind, pre.output or "sequence", pre.length
    padding = pre.padding or "pre"
    truncating = truncating or pre.truncating or "pre"
    if kind == "tokenizer":
        seqs = tokenizer_sequences(pre, texts)
        return pad(seqs, length, padding, truncating) if output == "sequence" else _matrix(seqs, length, output)
    if kind == "text_vectorization":
        out = _vectorize(vectorizer(pre), texts)
        if output != "sequence" or pre.config.get("output_sequence_length") == length:
            return out  # the layer itself padded and truncated to the training length
        return pad([[int(v) for v in row if v != 0] for row in out], length, padding, truncating)
    if kind == "sklearn" and not pre.reason:
        return sklearn_features(pre, texts)
    raise EvaluationError(f"{HARNESS}: {pre.reason or 'it was not captured'}")


# ---------------------------------------------------------------- scikit-learn text features

_ANALYZERS = ("word", "char", "char_wb")
_ACCENTS = (None, "ascii", "unicode")
_NORMS = (None, "l1", "l2")


def _option(config: dict[str, Any], key: str, kinds: tuple[type, ...], default: Any = None) -> Any:
    """One captured option, of the types scikit-learn takes for it; anything else is the harness's failure."""
    value = config.get(key, default)
    if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
        raise EvaluationError(f"{HARNESS}: its option {key}={str(value)[:60]!r} is not a plain value")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _choice(config: dict[str, Any], key: str, allowed: tuple[Any, ...], default: Any) -> Any:
    value = config.get(key, default)
    if value not in allowed:
        raise EvaluationError(f"{HARNESS}: its option {key}={str(value)[:60]!r} is not one of {allowed}")
    return value


def _tokenising(config: dict[str, Any]) -> dict[str, Any]:
    """The options shared by CountVectorizer and HashingVectorizer, checked."""
    ngrams = config.get("ngram_range", [1, 1])
    if not (isinstance(ngrams, list) and len(ngrams) == 2 and all(type(n) is int and 0 < n <= 10 for n in ngrams)):
        raise EvaluationError(f"{HARNESS}: its ngram_range {str(ngrams)[:40]} is not two small numbers")
    stop = config.get("stop_words")
    if not (stop is None or stop == "english" or (isinstance(stop, list) and all(isinstance(w, str) for w in stop))):
        raise EvaluationError(f"{HARNESS}: its stop_words {str(stop)[:60]!r} are not a word list or 'english'")
    options: dict[str, Any] = {
        "lowercase": _option(config, "lowercase", (bool,), True),
        "ngram_range": (ngrams[0], ngrams[1]),
        "analyzer": _choice(config, "analyzer", _ANALYZERS, "word"),
        "strip_accents": _choice(config, "strip_accents", _ACCENTS, None),
        "stop_words": stop,
        "binary": _option(config, "binary", (bool,), False),
    }
    pattern = _option(config, "token_pattern", (str,))
    if pattern is not None:
        options["token_pattern"] = pattern
    return options


def sklearn_features(pre: TextPreprocessing, texts: Sequence[str]) -> np.ndarray:
    """The texts as the notebook's fitted scikit-learn vectorizer (and tf-idf step) would give them, dense.

    Rebuilt in trusted code from the captured vocabulary (or hashing width), options and idf weights: the
    counts by a fresh CountVectorizer / HashingVectorizer, then the tf-idf weighting as scikit-learn
    computes it (sublinear tf, times idf, row norm).
    """
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer
    from sklearn.preprocessing import normalize

    config = pre.config
    first = str(config.get("class", "")).split(" + ")[0]
    options = _tokenising(config)
    if first == "HashingVectorizer":
        width = _option(config, "n_features", (int,))
        if width != pre.length:
            raise EvaluationError(f"{HARNESS}: its hashing width {width} is not the model's {pre.length} inputs")
        counter: Any = HashingVectorizer(
            n_features=width,
            alternate_sign=_option(config, "alternate_sign", (bool,), True),
            norm=_choice(config, "hash_norm", _NORMS, "l2"),
            **options,
        )
    elif first in ("CountVectorizer", "TfidfVectorizer"):
        if len(pre.vocabulary) != pre.length or len(set(pre.vocabulary)) != pre.length:
            raise EvaluationError(
                f"{HARNESS}: {len(pre.vocabulary)} distinct vocabulary words captured for {pre.length} inputs"
            )
        counter = CountVectorizer(vocabulary={w: i for i, w in enumerate(pre.vocabulary)}, **options)
    else:
        raise EvaluationError(f"{HARNESS}: {first or 'its vectorizer'} is not a scikit-learn text vectorizer")
    features = counter.transform(list(texts)).astype("float64").tocsr()
    if pre.output == "tf_idf":
        if _option(config, "sublinear_tf", (bool,), False):
            features.data = np.log(features.data) + 1.0
        if _option(config, "use_idf", (bool,), True):
            idf = config.get("idf")
            if not isinstance(idf, list) or len(idf) != pre.length or not all(_number(v) for v in idf):
                raise EvaluationError(f"{HARNESS}: its idf weights were not captured for its {pre.length} columns")
            weights = np.asarray(idf, dtype="float64")
            if not np.all(np.isfinite(weights)):
                raise EvaluationError(f"{HARNESS}: its captured idf weights are not finite numbers")
            features = features.multiply(weights[np.newaxis, :]).tocsr()
        norm = _choice(config, "norm", _NORMS, "l2")
        if norm is not None:
            features = normalize(features, norm=norm)
    return np.asarray(features.toarray(), dtype="float32")


def describe(pre: TextPreprocessing) -> str:
    """How the hidden texts were encoded, for the examiner."""
    if pre.kind == "sklearn":
        check = f"; {pre.evidence}" if pre.evidence else ""
        width = f"{pre.length:,} columns"
        return (
            f"hidden texts encoded with the notebook's own {pre.config.get('class')} '{pre.variable}' ({width}){check}"
        )
    what = "Tokenizer" if pre.kind == "tokenizer" else "TextVectorization"
    name = f"'{pre.variable}'" if pre.variable else ""
    shape = (
        (f"sequences of length {pre.length} (padding '{pre.padding or 'pre'}', truncating '{pre.truncating or 'pre'}')")
        if pre.output == "sequence"
        else f"{pre.output} vectors of width {pre.length}"
    )
    check = f"; {pre.evidence}" if pre.evidence else ""
    words = f"({pre.vocabulary_size} words)"
    return f"hidden texts encoded with the notebook's own {what} {name} {words} as {shape}{check}"
