"""Which Keras generation a notebook was written for, read from its code before the kernel starts.

The Keras 2 runtime (tf-keras) is chosen when the code uses what Keras 3
removed (``keras.preprocessing.text``, ``ImageDataGenerator``,
``predict_classes``, ``fit_generator``, ``keras.layers.core``, optimizer
``lr=``/``decay=``...); a run on Keras 3 that fails the way Keras 2 code does
is re-run once on tf-keras. The kernel side lives in
:mod:`labgrade_runtime.kernel.keras2`.
"""

from __future__ import annotations

import re

# Regex over the code -> why it needs Keras 2.
KERAS2_SIGNS: tuple[tuple[str, str], ...] = (
    (r"\bimport\s+tf_keras\b|\bfrom\s+tf_keras\b|TF_USE_LEGACY_KERAS", "the code imports tf_keras"),
    (r"keras\.preprocessing\.text|preprocessing\.text\s+import|\bone_hot\(|text_to_word_sequence", "keras.preprocessing.text (removed in Keras 3)"),
    (r"ImageDataGenerator", "ImageDataGenerator (removed in Keras 3)"),
    (r"\.predict_classes\(", "Model.predict_classes (removed in Keras 3)"),
    (r"\.(fit|evaluate|predict)_generator\(", "Model.fit_generator (removed in Keras 3)"),
    (r"keras\.layers\.(core|embeddings|recurrent|convolutional|pooling|normalization|merge|advanced_activations)\b",
     "Keras 2 module paths such as keras.layers.core"),
    (r"\bnp_utils\b|keras\.wrappers|keras\.engine\b|\bnb_epoch\s*=", "Keras 2 APIs (np_utils, wrappers, nb_epoch)"),
    (r"\b(Adam|SGD|RMSprop|Adagrad|Adadelta|Adamax|Nadam)\([^)]*\b(lr|decay)\s*=", "optimizer lr=/decay= (Keras 2 arguments)"),
)
# Errors that mean "this was Keras 2 code" when it ran on Keras 3: the runner re-runs with tf-keras.
KERAS2_ERRORS = re.compile(
    r"No module named '(keras|tensorflow\.keras)\.|cannot import name '\w+' from '(keras|tensorflow\.keras)|"
    r"has no attribute '(predict_classes|predict_proba|fit_generator|evaluate_generator|predict_generator)'|"
    r"module '(keras|tensorflow\.keras)[\w.]*' has no attribute|Argument\(s\) not recognized|Unrecognized keyword arguments"
)

def choose(code: str) -> tuple[str, list[str]]:
    """('tf_keras' | 'keras3', reasons) for the notebook's code."""
    reasons = [why for pattern, why in KERAS2_SIGNS if re.search(pattern, code)]
    return ("tf_keras" if reasons else "keras3"), reasons


def looks_keras2(error_text: str) -> bool:
    """True when a cell error on Keras 3 is one tf-keras would not raise."""
    return bool(KERAS2_ERRORS.search(error_text or ""))
