"""Embedding lookups out of range behave as on the GPU the students had: zero vectors, not an error.

On Colab's GPU, ``tf.gather`` returns zeros for an index outside the table,
so a notebook that feeds word indices up to 88,000 into ``Embedding(10000)``
trains there (on the words it can see). On a CPU the same lookup raises
``InvalidArgumentError`` and the run ends at the first batch. Both the
student's kernel (this module's patchers, registered where the shims are)
and the trusted evaluator (:func:`patch_loaded`) give ``Embedding.call`` the
GPU's semantics: an index ``< 0`` or ``>= input_dim`` looks up a zero vector.

The lookups that fell outside are counted in a TensorFlow variable that no
layer tracks (so it is never saved with a model); :func:`report` reads it for
the note to the student. Nothing here scores anything.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

KIND = "gpu_embedding"
_COUNTER: dict[str, Any] = {}  # "hits": lookups out of range, "top": the largest index seen out of range
_DIMS: set[int] = set()  # the input_dim of every Embedding that looked up an index out of its range


def _counters() -> tuple[Any, Any]:
    import tensorflow as tf

    if not _COUNTER:
        with tf.init_scope():  # created eagerly, even when first reached while a function is traced
            _COUNTER["hits"] = tf.Variable(0, dtype=tf.int64, trainable=False, name="labgrade_embedding_out_of_range")
            _COUNTER["top"] = tf.Variable(-1, dtype=tf.int64, trainable=False, name="labgrade_embedding_top_index")
    return _COUNTER["hits"], _COUNTER["top"]


def _wrap(call: Any) -> Any:
    import tensorflow as tf

    # The signature of Embedding.call itself (inputs only): the Keras generations read it to decide what to pass.
    def call_as_on_gpu(self: Any, inputs: Any) -> Any:
        if isinstance(inputs, (tf.RaggedTensor, tf.SparseTensor)):
            return call(self, inputs)
        try:
            ids = tf.convert_to_tensor(inputs)
        except (TypeError, ValueError):
            return call(self, inputs)
        if ids.dtype not in (tf.int32, tf.int64):
            ids = tf.cast(ids, "int32")  # as Embedding.call itself casts
        limit = int(self.input_dim)
        valid = tf.logical_and(ids >= 0, ids < tf.cast(limit, ids.dtype))
        out = call(self, tf.where(valid, ids, tf.zeros_like(ids)))
        hits, top = _counters()
        outside = tf.logical_not(valid)
        hits.assign_add(tf.reduce_sum(tf.cast(outside, tf.int64)))
        top.assign(tf.maximum(top, tf.reduce_max(tf.where(outside, tf.cast(ids, tf.int64), tf.constant(-1, tf.int64)))))
        _DIMS.add(limit)
        return out * tf.expand_dims(tf.cast(valid, out.dtype), -1)

    call_as_on_gpu._labgrade = True  # type: ignore[attr-defined]
    call_as_on_gpu.__doc__ = call.__doc__
    return call_as_on_gpu


def patch_class(cls: Any) -> bool:
    """Give one Embedding class the GPU's out-of-range semantics (idempotent); False if it is not one."""
    call = getattr(cls, "call", None)
    if call is None or getattr(call, "_labgrade", False):
        return call is not None
    cls.call = _wrap(call)
    return True


def patch_module(module: ModuleType) -> None:
    """Patcher for ``keras.src.layers.core.embedding`` / ``tf_keras.src.layers.core.embedding`` (kernel side)."""
    cls = getattr(module, "Embedding", None)
    if cls is not None:
        patch_class(cls)


def patch_loaded(runtime: str) -> None:
    """The evaluator's side: the Keras generation a model is loaded with looks up out-of-range indices as zeros."""
    if runtime == "tf_keras":
        from tf_keras.src.layers.core import embedding as tf_keras_embedding

        patch_module(tf_keras_embedding)
    else:
        from keras.src.layers.core import embedding as keras_embedding

        patch_module(keras_embedding)


def out_of_range() -> tuple[int, int, list[int]]:
    """(lookups out of range so far, the largest such index, the Embedding input_dims concerned)."""
    if not _COUNTER:
        return 0, -1, []
    return int(_COUNTER["hits"].numpy()), int(_COUNTER["top"].numpy()), sorted(_DIMS)


def report() -> str:
    """The note to the student, or '' when every lookup was within range."""
    hits, top, dims = out_of_range()
    if not hits:
        return ""
    sizes = " / ".join(f"{d:,}" for d in dims) or "?"
    return (
        f"{hits:,} Embedding lookups used word indices beyond the layer's vocabulary (input_dim {sizes}; "
        f"indices up to {top:,}): on a GPU these give zero vectors, as here, but a CPU raises an error; "
        "give the Embedding an input_dim above your largest index (or limit the vocabulary, e.g. num_words=)"
    )
