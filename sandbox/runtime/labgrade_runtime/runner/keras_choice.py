"""Which Keras generation a notebook was written for, read from its code before the kernel starts.

The Keras 2 runtime (tf-keras) is chosen when the code uses what Keras 3
removed (``keras.preprocessing.text``, ``ImageDataGenerator``,
``predict_classes``, ``fit_generator``, ``keras.layers.core``, optimizer
``lr=``/``decay=``...); a run on Keras 3 that fails the way Keras 2 code does
is re-run once on tf-keras. The saved outputs are evidence too: a notebook
handed in with Keras 2's progress lines (``60000/60000 [====] - 5s
83us/sample - loss:``, ``- 2s 1ms/step - loss:``, ``Train on N samples``) or
tf-keras' warnings was run on Keras 2 by its author, and gets tf-keras up
front; Keras 3 draws its bar with ``━`` and prints no ``[===]``. A saved
traceback outranks both: its file paths name the package that raised
(``…/keras/src/backend/…``, ``keras/src/trainers`` are Keras 3;
``…/tf_keras/…``, ``keras/engine``, ``keras/src/engine``,
``tensorflow/python/keras`` are Keras 2), while a progress bar may be left
over from an older run of the cell. The kernel side lives in
:mod:`labgrade_runtime.kernel.keras2`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from labgrade_runtime.runner.evidence import SavedCell

# Regex over the code -> why it needs Keras 2.
KERAS2_SIGNS: tuple[tuple[str, str], ...] = (
    (r"\bimport\s+tf_keras\b|\bfrom\s+tf_keras\b|TF_USE_LEGACY_KERAS", "the code imports tf_keras"),
    (
        r"keras\.preprocessing\.text|preprocessing\.text\s+import|\bone_hot\(|text_to_word_sequence",
        "keras.preprocessing.text (removed in Keras 3)",
    ),
    (r"ImageDataGenerator", "ImageDataGenerator (removed in Keras 3)"),
    (r"\.predict_classes\(", "Model.predict_classes (removed in Keras 3)"),
    (r"\.(fit|evaluate|predict)_generator\(", "Model.fit_generator (removed in Keras 3)"),
    (
        r"keras\.layers\.(core|embeddings|recurrent|convolutional|pooling|normalization|merge|advanced_activations)\b",
        "Keras 2 module paths such as keras.layers.core",
    ),
    (r"\bnp_utils\b|keras\.wrappers|keras\.engine\b|\bnb_epoch\s*=", "Keras 2 APIs (np_utils, wrappers, nb_epoch)"),
    (
        r"\b(Adam|SGD|RMSprop|Adagrad|Adadelta|Adamax|Nadam)\([^)]*\b(lr|decay)\s*=",
        "optimizer lr=/decay= (Keras 2 arguments)",
    ),
)
# Errors that mean "this was Keras 2 code" when it ran on Keras 3: the runner re-runs with tf-keras.
KERAS2_ERRORS = re.compile(
    r"No module named '(keras|tensorflow\.keras)\.|cannot import name '\w+' from '(keras|tensorflow\.keras)|"
    r"has no attribute '(predict_classes|predict_proba|fit_generator|evaluate_generator|predict_generator)'|"
    r"module '(keras|tensorflow\.keras)[\w.]*' has no attribute|Argument\(s\) not recognized|"
    r"Unrecognized keyword arguments"
)

# Keras 2's progress output: a bar of '=' and '.', then "- 5s 83us/sample" / "- 2s 1ms/step" / "- 3s - loss:".
KERAS2_PROGRESS = re.compile(
    r"^\s*\d+/\d+ \[[=>.]+\] - (ETA: )?\d+s|"
    r"^\s*\d+/\d+ - \d+s - (loss|acc|accuracy|mae|mse)\b|"
    r"\d+(us|ms|s)/sample\b|^Train on \d+ samples|"
    r"- \d+s/epoch - \d+(ms|us|s)/step\s*$",
    re.MULTILINE,
)
KERAS2_WARNINGS = re.compile(
    r"^WARNING:tensorflow:.*([Kk]eras|tf\.keras)|tensorflow/python/keras/|"
    r"^WARNING:absl:`lr` is deprecated in Keras optimizer|The `lr` argument is deprecated, use `learning_rate`",
    re.MULTILINE,
)
KERAS3_PROGRESS = re.compile(r"^\s*\d+/\d+ ━+")
# Folders only one generation has, as they show in a saved traceback's frames (keras/src/ alone is both:
# Keras 2.13-2.15 moved its code there too).
KERAS3_PATHS = re.compile(
    r"[/\\]keras[/\\]src[/\\]((backend|trainers|ops)[/\\]|layers[/\\]layer\.py|models[/\\](model|functional|sequential)\.py)"
)
KERAS2_PATHS = re.compile(
    r"[/\\]tf_keras[/\\]|[/\\]keras[/\\](src[/\\])?engine[/\\]|tensorflow[/\\]python[/\\]keras[/\\]"
)


def traceback_generation(cells: Iterable[SavedCell]) -> tuple[str, str] | None:
    """('keras3' | 'tf_keras', why) from the last saved traceback whose paths name one Keras generation."""
    found: tuple[str, str] | None = None
    for cell in cells:
        keras3, keras2 = KERAS3_PATHS.search(cell.traceback), KERAS2_PATHS.search(cell.traceback)
        if keras3 and not keras2:
            found = ("keras3", f"saved traceback of cell {cell.index} runs through Keras 3 ({keras3.group(0)})")
        elif keras2 and not keras3:
            found = ("tf_keras", f"saved traceback of cell {cell.index} runs through Keras 2 ({keras2.group(0)})")
    return found


def saved_output_signs(cells: Iterable[SavedCell]) -> list[str]:
    """Why the saved outputs say the author ran Keras 2: nothing when a saved traceback's paths say Keras 3 or
    any output shows Keras 3's progress bar; a Keras 2 traceback path before any progress line."""
    cells = list(cells)
    traced = traceback_generation(cells)
    if traced is not None:
        return [traced[1]] if traced[0] == "tf_keras" else []
    found: list[str] = []
    for cell in cells:
        if KERAS3_PROGRESS.search(cell.text):
            return []
        if KERAS2_PROGRESS.search(cell.text):
            found.append(f"saved output of cell {cell.index} shows Keras 2 progress lines")
        elif KERAS2_WARNINGS.search(cell.text):
            found.append(f"saved output of cell {cell.index} shows tf-keras (Keras 2) warnings")
    return found[:1]


def choose(code: str, saved: Iterable[SavedCell] = ()) -> tuple[str, list[str]]:
    """('tf_keras' | 'keras3', reasons) for the notebook's code and the outputs its author saved.

    Keras 2 APIs in the code decide first (they do not run on Keras 3); then a saved traceback's paths; then
    the saved progress lines and warnings."""
    saved = list(saved)
    needs = [why for pattern, why in KERAS2_SIGNS if re.search(pattern, code)]
    if needs:
        return "tf_keras", needs
    traced = traceback_generation(saved)
    if traced is not None:
        return traced[0], [traced[1]]
    signs = saved_output_signs(saved)
    return ("tf_keras" if signs else "keras3"), signs


def looks_keras2(error_text: str) -> bool:
    """True when a cell error on Keras 3 is one tf-keras would not raise."""
    return bool(KERAS2_ERRORS.search(error_text or ""))
