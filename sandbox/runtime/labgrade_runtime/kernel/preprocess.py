"""The student's own text preprocessing, captured at probe time for the trusted evaluator.

A model trained on word indices only scores on the hidden reviews if they are
encoded exactly as its training texts were: the same vocabulary (a Keras
``Tokenizer`` fitted in the notebook numbers words by *its* counts, not the
harness's), the same lower-casing and filters, the same padding length and
sides. None of this is in the saved model, so the probe finds the fitted
``Tokenizer`` / ``TextVectorization`` objects in the notebook's namespace,
decides which one produced the last fit()'s inputs (its vocabulary size and
output must fit the recorded shape and values) and, when the training array
and its texts are in the namespace too, re-encodes a few of those texts to
confirm the match and read the padding and truncation sides off the array.

What is captured is data only (vocabulary, plain config values); the
evaluator re-implements the encoding in trusted code. It runs in the
student's process, so its output is untrusted: it can only change how the
holdout is encoded for the student's own model, never what it is scored on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

VOCABULARY_CAP = 150_000  # words kept (most frequent first); keeps probe.json well under its size cap
VERIFY_ROWS = 64  # training texts re-encoded to confirm a match
SIDES = (("pre", "pre"), ("post", "post"), ("post", "pre"), ("pre", "post"))  # (padding, truncating)
_TOKENIZER_KEYS = ("num_words", "filters", "lower", "split", "char_level", "oov_token")
_VECTORIZER_KEYS = (
    "max_tokens",
    "standardize",
    "split",
    "ngrams",
    "output_mode",
    "output_sequence_length",
    "pad_to_max_tokens",
)


def _is_tokenizer(value: Any) -> bool:
    kind = type(value)
    return (
        kind.__name__ == "Tokenizer"
        and "preprocessing" in kind.__module__
        and isinstance(getattr(value, "word_index", None), dict)
    )


def _is_vectorizer(value: Any) -> bool:
    return type(value).__name__ == "TextVectorization" and callable(getattr(value, "get_vocabulary", None))


def _tokenizer(name: str, tok: Any) -> dict[str, Any]:
    """A fitted Tokenizer as data: its words in index order and the options that shape its output."""
    config = {key: getattr(tok, key, None) for key in _TOKENIZER_KEYS}
    reason = "" if getattr(tok, "analyzer", None) is None else "it uses a custom analyzer function"
    ordered = sorted(tok.word_index.items(), key=lambda kv: kv[1])
    words = [str(w) for w, i in ordered[:VOCABULARY_CAP]]
    size = int(config["num_words"]) if config["num_words"] else len(ordered) + 1
    return {
        "kind": "tokenizer",
        "variable": name,
        "vocabulary": words,
        "vocabulary_size": len(ordered),
        "config": config,
        "index_limit": size,
        "reason": reason,
    }


def _vectorizer(name: str, layer: Any) -> dict[str, Any]:
    """A TextVectorization layer as data: its vocabulary (index order) and plain config values."""
    cfg = layer.get_config()
    config = {key: cfg.get(key) for key in _VECTORIZER_KEYS}
    unplain = [k for k in ("standardize", "split") if config[k] is not None and not isinstance(config[k], str)]
    reason = f"its {' and '.join(unplain)} is a custom function" if unplain else ""
    for key in unplain:
        config[key] = None
    vocab = [str(w) for w in layer.get_vocabulary()]
    return {
        "kind": "text_vectorization",
        "variable": name,
        "vocabulary": vocab[:VOCABULARY_CAP],
        "vocabulary_size": len(vocab),
        "config": config,
        "index_limit": len(vocab),
        "reason": reason,
    }


def _candidates(namespace: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """(captured record, live object) for every fitted text encoder in the namespace."""
    out = []
    for name, value in list(namespace.items()):
        if name.startswith("_"):
            continue
        try:
            if _is_tokenizer(value) and value.word_index:
                out.append((_tokenizer(name, value), value))
            elif _is_vectorizer(value) and len(value.get_vocabulary()) > 2:
                out.append((_vectorizer(name, value), value))
        except Exception:  # a half-built object: not what fed the model
            continue
    return out


def _output_kind(record: dict[str, Any], fit_x: dict[str, Any]) -> str | None:
    """How this encoder's output would look in the fit input: 'sequence', a matrix mode, or None (cannot be it)."""
    shape, limit = fit_x.get("shape") or [], int(record["index_limit"])
    if len(shape) != 2 or fit_x.get("min", 0.0) < 0:
        return None
    high = float(fit_x.get("max", 0.0))
    mode = str(record["config"].get("output_mode") or "int")
    if record["kind"] == "text_vectorization" and mode != "int":
        return mode if shape[1] == limit or shape[1] == record["config"].get("max_tokens") else None
    if record["kind"] == "tokenizer" and shape[1] == limit and float(fit_x.get("mean", 0.0)) < 1.0:
        return "binary" if high == 1.0 else "count" if high > 1.0 and high.is_integer() else "freq"
    if high < limit and float(high).is_integer():
        return "sequence"
    return None


def _texts_of_length(namespace: dict[str, Any], n: int) -> list[tuple[str, Sequence[Any]]]:
    """Sequences of n strings in the namespace (lists, arrays, pandas Series): the training texts, perhaps."""
    found: list[tuple[str, Sequence[Any]]] = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, (str, bytes, dict)) or getattr(value, "ndim", 1) != 1:
            continue
        try:
            if len(value) != n or not hasattr(value, "__getitem__"):
                continue
            items = list(value[:VERIFY_ROWS]) if not hasattr(value, "iloc") else list(value.iloc[:VERIFY_ROWS])
        except Exception:  # not a sized, sliceable sequence
            continue
        if items and all(isinstance(t, str) for t in items):
            found.append((name, items))
    return found


def _arrays_like(namespace: dict[str, Any], fit_x: dict[str, Any]) -> list[Any]:
    """Arrays in the namespace with the fit input's shape and mean: what fit() was given, most likely."""
    import numpy as np

    shape, out = tuple(fit_x.get("shape") or ()), []
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, type) or not hasattr(value, "shape"):
            continue
        try:
            if tuple(int(d) for d in value.shape) != shape:
                continue
            arr = np.asarray(value)
            if abs(float(arr.mean()) - float(fit_x.get("mean", 0.0))) <= 1e-6 * max(1.0, abs(float(arr.mean()))):
                out.append(arr)
        except Exception:  # not convertible: a tensor on a device, a dataset
            continue
    return out


def pad(seqs: list[list[int]], length: int, padding: str, truncating: str) -> list[list[int]]:
    """``pad_sequences`` semantics on python lists (zeros as padding)."""
    out = []
    for seq in seqs:
        keep = seq[-length:] if truncating == "pre" else seq[:length]
        fill = [0] * (length - len(keep))
        out.append(fill + list(keep) if padding == "pre" else list(keep) + fill)
    return out


def _encoder(record: dict[str, Any], live: Any) -> Callable[[list[str]], list[list[int]]]:
    if record["kind"] == "tokenizer":
        return lambda texts: [list(map(int, s)) for s in live.texts_to_sequences(texts)]

    def vectorize(texts: list[str]) -> list[list[int]]:
        rows = live(texts)
        rows = rows.numpy() if hasattr(rows, "numpy") else rows
        return [[int(v) for v in row if int(v) != 0] for row in rows]

    return vectorize


def _verify(record: dict[str, Any], live: Any, arrays: list[Any], texts: list[tuple[str, Sequence[Any]]]) -> None:
    """Re-encode training texts and find the (padding, truncating) that reproduces the fit input's rows."""
    length = int(record["length"])
    encode = _encoder(record, live)
    for arr in arrays:
        rows = [list(map(int, r)) for r in arr[:VERIFY_ROWS]]
        for name, items in texts:
            try:
                seqs = encode([str(t) for t in items])
            except Exception:  # the encoder cannot take these texts: not the pair that fed fit()
                continue
            for padding, truncating in SIDES:
                if pad(seqs, length, padding, truncating) == rows:
                    record.update(
                        padding=padding,
                        truncating=truncating,
                        verified=len(rows),
                        evidence=f"{record['variable']}({name}) reproduces the training array's "
                        f"first {len(rows)} rows (padding='{padding}', truncating='{truncating}')",
                    )
                    return


def _padding_from_array(arrays: list[Any]) -> str:
    """'pre' or 'post' from where the zeros sit in the training array ('' if it does not say)."""
    import numpy as np

    for arr in arrays:
        a = np.asarray(arr)
        lead = int(np.sum((a[:, 0] == 0) & (a[:, -1] != 0)))
        trail = int(np.sum((a[:, -1] == 0) & (a[:, 0] != 0)))
        if lead != trail:
            return "pre" if lead > trail else "post"
    return ""


def _choose(matches: list[tuple[dict[str, Any], Any]]) -> tuple[dict[str, Any], Any]:
    """The verified match, else the one whose vocabulary is the tightest fit."""
    verified = [m for m in matches if m[0].get("verified")]
    return verified[0] if verified else min(matches, key=lambda m: int(m[0]["index_limit"]))


def capture(namespace: dict[str, Any], fits: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The text preprocessing that fed the last fit(), as data; None when no fitted text encoder is around.

    Never raises: a failure here must not lose the rest of the probe.
    """
    try:
        return _capture(namespace, fits)
    except Exception as exc:  # report it: the evaluator then says it could not reproduce the encoding
        return {"kind": "unmatched", "reason": f"the probe failed reading the text preprocessing: {type(exc).__name__}"}


def _capture(namespace: dict[str, Any], fits: list[dict[str, Any]]) -> dict[str, Any] | None:
    fit_x = (fits[-1].get("x") if fits else None) or {}
    found = _candidates(namespace)
    if not found or not fit_x:
        return None
    matches = []
    for record, live in found:
        kind = _output_kind(record, fit_x)
        if kind is not None:
            record.update(output=kind, length=int(fit_x["shape"][1]))
            matches.append((record, live))
    if not matches:
        names = ", ".join(r["variable"] for r, _ in found)
        return {
            "kind": "unmatched",
            "reason": f"no fitted text encoder ({names}) gives inputs of the shape and "
            f"values the model was trained on ({fit_x.get('shape')})",
        }
    arrays = _arrays_like(namespace, fit_x)
    texts = _texts_of_length(namespace, int(fit_x["shape"][0])) if arrays else []
    for record, live in matches:
        if record["output"] == "sequence" and texts:
            _verify(record, live, arrays, texts)
    record, _ = _choose(matches)
    for key, empty in (("padding", ""), ("truncating", ""), ("verified", 0)):
        record.setdefault(key, empty)
    if record["output"] == "sequence" and not record.get("verified"):
        record["padding"] = _padding_from_array(arrays)
        record["evidence"] = f"{record['variable']}: vocabulary and output fit the training inputs {fit_x['shape']}"
    elif not record.get("evidence"):
        record["evidence"] = f"{record['variable']}: {record['output']} output of width {fit_x['shape'][1]}"
    if len(matches) > 1:
        record["evidence"] += f" (chosen from {', '.join(r['variable'] for r, _ in matches)})"
    record.pop("index_limit", None)
    return record
