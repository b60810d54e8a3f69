"""Text features built by scikit-learn, captured at probe time for the trusted evaluator.

A Dense network trained on ``TfidfVectorizer(max_features=5000)`` features
scores at chance on hidden reviews encoded any other way: the columns are the
vectorizer's own vocabulary, weighted by its own idf. The probe finds the
fitted ``TfidfVectorizer`` / ``CountVectorizer`` / ``HashingVectorizer`` (or a
``Pipeline`` of one, optionally followed by a ``TfidfTransformer``) whose
output width is the model's input width, and captures it as data: the
vocabulary in column order, the idf weights, and the plain options that shape
the output (lower-casing, token pattern, n-grams, stop words, binary,
sublinear tf, norm). The evaluator rebuilds the features in trusted code
(``evaluator/text.py``); no student object is ever unpickled or called there.

Runs in the student's process: what it writes is untrusted and can only
change how the holdout is encoded for the student's own model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

VOCABULARY_CAP = 150_000  # columns kept: a wider vocabulary is refused (probe.json stays under its size cap)
VERIFY_ROWS = 32  # training texts re-encoded to confirm a match
_COUNT_KEYS = ("lowercase", "token_pattern", "ngram_range", "analyzer", "strip_accents", "binary", "stop_words")
_TFIDF_KEYS = ("norm", "use_idf", "smooth_idf", "sublinear_tf")
_HASH_KEYS = ("n_features", "alternate_sign")
_CALLABLES = ("tokenizer", "preprocessor", "analyzer")


def _kind(value: Any) -> str:
    """The scikit-learn text class ``value`` is an instance of ('' if none)."""
    cls = type(value)
    if not cls.__module__.startswith("sklearn."):
        return ""
    for base in cls.__mro__:
        if base.__name__ in ("TfidfVectorizer", "CountVectorizer", "HashingVectorizer", "TfidfTransformer"):
            return base.__name__
        if base.__name__ == "Pipeline":
            return "Pipeline"
    return ""


def _plain(value: Any) -> Any:
    """A JSON value for a parameter (tuples as lists), or None for anything else."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, frozenset, set)) and all(isinstance(v, (str, int)) for v in value):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return None


def _steps(value: Any) -> list[Any] | None:
    """The text steps of a vectorizer or a Pipeline of one (optionally then a TfidfTransformer); None otherwise."""
    kind = _kind(value)
    if kind == "Pipeline":
        steps = [step for _, step in value.steps if step not in (None, "passthrough")]
        kinds = [_kind(s) for s in steps]
        if not steps or kinds[0] not in ("TfidfVectorizer", "CountVectorizer", "HashingVectorizer"):
            return None
        if kinds[1:] not in ([], ["TfidfTransformer"]) or (kinds[0] == "TfidfVectorizer" and len(kinds) > 1):
            return None
        return steps
    return [value] if kind in ("TfidfVectorizer", "CountVectorizer", "HashingVectorizer") else None


def _record(name: str, steps: list[Any]) -> dict[str, Any]:
    """The steps as data: what the evaluator needs to rebuild their output for new texts."""
    first, kinds = steps[0], [_kind(s) for s in steps]
    params = first.get_params(deep=False)
    custom = [k for k in _CALLABLES if params.get(k) is not None and not isinstance(params.get(k), str)]
    config: dict[str, Any] = {"class": " + ".join(kinds)}
    config.update({k: _plain(params.get(k)) for k in _COUNT_KEYS})
    if kinds[0] == "HashingVectorizer":
        config.update({k: _plain(params.get(k)) for k in _HASH_KEYS})
        config["hash_norm"] = _plain(params.get("norm"))  # the hashing step's own norm, before any tf-idf step
        vocabulary: list[str] = []
        width = int(params["n_features"])
    else:
        vocab = getattr(first, "vocabulary_", None)
        if not isinstance(vocab, dict):
            return {"kind": "unmatched", "variable": name, "reason": f"{name} was never fitted"}
        ordered = sorted(vocab.items(), key=lambda kv: int(kv[1]))
        if [int(i) for _, i in ordered] != list(range(len(ordered))):
            return {"kind": "unmatched", "variable": name, "reason": f"{name}'s vocabulary is not numbered 0..n-1"}
        vocabulary, width = [str(w) for w, _ in ordered], len(ordered)
    weighting = steps[-1] if kinds[-1] in ("TfidfVectorizer", "TfidfTransformer") else None
    if weighting is not None:
        config.update({k: _plain(weighting.get_params(deep=False).get(k)) for k in _TFIDF_KEYS})
        idf = getattr(weighting, "idf_", None) if config.get("use_idf") else None
        if config.get("use_idf") and idf is None:
            return {"kind": "unmatched", "variable": name, "reason": f"{name}'s tf-idf weights were never fitted"}
        config["idf"] = [float(v) for v in idf] if idf is not None else None
    output = "tf_idf" if weighting is not None else "binary" if config.get("binary") else "count"
    reason = ""
    if custom:
        reason = f"{name} uses a custom {' and '.join(custom)} function"
    elif width > VOCABULARY_CAP:
        reason = f"{name} has {width:,} columns, more than the {VOCABULARY_CAP:,} the probe keeps"
    elif config.get("analyzer") not in ("word", "char", "char_wb"):
        reason = f"{name} uses analyzer={params.get('analyzer')!r}"
    return {
        "kind": "sklearn",
        "variable": name,
        "vocabulary": vocabulary[:VOCABULARY_CAP],
        "vocabulary_size": width,
        "config": config,
        "output": output,
        "length": width,
        "reason": reason,
    }


def _model_width(model: Any) -> int | None:
    try:
        shape = tuple(model.inputs[0].shape)
    except Exception:  # no single known input
        return None
    return int(shape[1]) if len(shape) == 2 and shape[1] is not None else None


def _texts(namespace: dict[str, Any]) -> list[tuple[str, Sequence[Any], int]]:
    """(name, first texts, length) of the sequences of strings in the namespace: training texts, perhaps."""
    found: list[tuple[str, Sequence[Any], int]] = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, (str, bytes, dict)) or getattr(value, "ndim", 1) != 1:
            continue
        try:
            head = list(value.iloc[:VERIFY_ROWS]) if hasattr(value, "iloc") else list(value[:VERIFY_ROWS])
            if head and all(isinstance(t, str) for t in head):
                found.append((name, head, len(value)))
        except Exception:  # not a sized, sliceable sequence of texts
            continue
    return found


def _matrices(namespace: dict[str, Any], width: int) -> list[tuple[str, Any]]:
    """Dense or sparse 2-D arrays of the model's input width: the features fit() was given, perhaps."""
    out = []
    for name, value in list(namespace.items()):
        shape = getattr(value, "shape", None)
        if name.startswith("_") or isinstance(value, type) or not isinstance(shape, tuple) or len(shape) != 2:
            continue
        if shape[1] == width and shape[0] > 0:
            out.append((name, value))
    return out


def _verify(record: dict[str, Any], steps: list[Any], namespace: dict[str, Any]) -> None:
    """Re-encode training texts with the live steps; a matrix whose first rows equal them confirms the match."""
    import numpy as np

    matrices = _matrices(namespace, int(record["length"]))
    for text_name, head, n in _texts(namespace):
        try:
            features = steps[0].transform(head)
            for step in steps[1:]:
                features = step.transform(features)
            ours = features.toarray() if hasattr(features, "toarray") else np.asarray(features)
        except Exception:  # these texts are not what the steps take
            continue
        for name, value in matrices:
            try:
                if value.shape[0] != n:
                    continue
                rows = value[: len(head)]
                theirs = rows.toarray() if hasattr(rows, "toarray") else np.asarray(rows)
                if theirs.shape == ours.shape and np.allclose(theirs, ours, atol=1e-6):
                    record["verified"] = len(head)
                    record["evidence"] = (
                        f"{record['variable']}.transform({text_name}) reproduces the first {len(head)} rows of {name}"
                    )
                    return
            except Exception:  # an array we cannot slice or compare
                continue


def capture(namespace: dict[str, Any], model: Any) -> dict[str, Any] | None:
    """The fitted scikit-learn text features that fed the model (as data), or None when there are none.

    Never raises: a failure here must not lose the rest of the probe.
    """
    try:
        return _capture(namespace, model)
    except Exception as exc:  # report it: the evaluator then says it could not reproduce the features
        return {"kind": "unmatched", "reason": f"the probe failed reading the scikit-learn text features: {exc!r:.200}"}


def _capture(namespace: dict[str, Any], model: Any) -> dict[str, Any] | None:
    width = _model_width(model) if model is not None else None
    if width is None:
        return None
    found: list[tuple[dict[str, Any], list[Any]]] = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or not _kind(value):
            continue
        steps = _steps(value)
        if steps is None:
            continue
        record = _record(name, steps)
        if record.get("length") == width:
            found.append((record, steps))
    if not found:
        return None
    for record, steps in found:
        if not record["reason"]:
            _verify(record, steps, namespace)
    verified = [f for f in found if f[0].get("verified")]
    record, _ = (verified or found)[-1]  # pipelines and bare vectorizers both found: the verified one, else the last
    record.setdefault("verified", 0)
    record.setdefault(
        "evidence", f"{record['variable']}: {record['config']['class']} output of width {width}, the model's input"
    )
    if len(found) > 1:
        record["evidence"] += f" (chosen from {', '.join(r['variable'] for r, _ in found)})"
    return record
