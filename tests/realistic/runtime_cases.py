"""Notebooks written the way this lab's students write them, for what their Colab had and the grading
runtime lacks (test_runtime_fidelity.py): each cell with the outputs and execution count it was handed in with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

Output = dict[str, object]


@dataclass(frozen=True)
class Cell:
    """One code cell as handed in."""

    source: str
    outputs: tuple[Output, ...] = ()
    count: int | None = None


@dataclass(frozen=True)
class RuntimeCase:
    """A notebook and what grading it must give."""

    name: str
    status: str
    cells: tuple[Cell, ...]
    kinds: tuple[str, ...] = ()  # adaptation kinds that must be recorded
    reason: tuple[str, ...] = ()  # phrases the run's reason must contain
    details: tuple[str, ...] = ()  # phrases some adaptation's detail must contain
    experiment: str = "fashion"
    absent: tuple[str, ...] = field(default=())  # adaptation kinds that must not be recorded


def stream(text: str, name: str = "stdout") -> Output:
    """A saved stream output."""
    return {"output_type": "stream", "name": name, "text": text}


def error(ename: str, evalue: str) -> Output:
    """A saved error output."""
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


PNG: Output = {
    "output_type": "display_data",
    "metadata": {},
    "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"},
}

LOAD = (
    "import numpy as np\nimport tensorflow as tf\nfrom tensorflow import keras\n"
    "(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()\n"
    "x_train, x_test = x_train / 255.0, x_test / 255.0\n"
    "class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker',\n"
    "               'Bag', 'Ankle boot']"
)
MODEL = (
    "model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),\n"
    "                          keras.layers.Dense(16, activation='relu'),\n"
    "                          keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])"
)
FIT = "history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)"
FIT_NO_VALIDATION = "history = model.fit(x_train, y_train, epochs=5)"
KERAS2_LOG = (
    "Train on 54000 samples, validate on 6000 samples\nEpoch 1/5\n"
    "54000/54000 [==============================] - 5s 83us/sample - loss: 0.5012 - accuracy: 0.8237 "
    "- val_loss: 0.4101 - val_accuracy: 0.8533\n"
)

COLAB_EXTRAS = (
    "model2 = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),\n"
    "                           keras.layers.Dense(10, activation='softmax')])\n"
    "model2.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics='accuracy')\n"
    "keras.utils.plot_model(model, to_file='model.png', show_shapes=True)\n"
    "tf.keras.utils.plot_model(model2, 'model2.png')\n"
    "from IPython.display import Image\nImage('model.png')"
)
SEABORN = (
    "import seaborn as sns\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"
    "sns.scatterplot(history.history['loss'], history.history['val_loss'])\nplt.show()\n"
    "counts = pd.Series(y_train).value_counts().sort_index()\n"
    "sns.barplot(counts.index, counts.values)\nplt.show()\n"
    "sns.distplot(x_train[:200].reshape(-1))\nplt.show()"
)
PATCHES = "from google.colab.patches import cv2_imshow\nimg = (x_test[0] * 255).astype('uint8')\ncv2_imshow(img)"
UPLOAD_IMAGE = (
    "from google.colab import files\nfrom tensorflow.keras.preprocessing import image\n"
    "uploaded = files.upload()\n"
    "for fn in uploaded.keys():\n"
    "    img = image.load_img(fn, target_size=(28, 28), color_mode='grayscale')\n"
    "    x = image.img_to_array(img).reshape(1, 28, 28) / 255.0\n"
    "    print(fn, class_names[np.argmax(model.predict(x))])"
)
TK_GUI = (
    "import tkinter as tk\nfrom tkinter import messagebox\nroot = tk.Tk()\nroot.title('Fashion classifier')\n"
    "entry = tk.Entry(root)\nentry.pack()\n"
    "def classify():\n    i = int(entry.get())\n"
    "    messagebox.showinfo('Prediction', class_names[np.argmax(model.predict(x_test[i:i+1]))])\n"
    "tk.Button(root, text='Classify', command=classify).pack()\n"
    "label = tk.Label(root, text='index of a test image')\n"
    "label.pack()\nroot.mainloop()"
)
ASK = (
    "i = int(input('Enter the index of a test image: '))\n"
    "print('predicted:', class_names[np.argmax(model.predict(x_test[i:i+1]))])"
)

CASES: tuple[RuntimeCase, ...] = (
    RuntimeCase(
        "rt_colab_extras",
        "completed",
        (
            Cell(LOAD),
            Cell(MODEL),
            Cell(FIT),
            Cell(COLAB_EXTRAS),
            Cell(SEABORN),
            Cell(PATCHES),
            Cell(UPLOAD_IMAGE),
            Cell(TK_GUI),
        ),
        kinds=("headless", "keras2_compat", "seaborn_compat", "colab"),
        details=(
            "plot_model()",
            "metrics='accuracy'",
            "sns.scatterplot()",
            "sns.barplot()",
            "cv2_imshow",
            "answered with images",
            "tkinter.Tk()",
            "mainloop()",
        ),
    ),
    RuntimeCase(
        "rt_keras2_saved_replay",
        "completed",
        (
            Cell(LOAD, (), 1),
            Cell(MODEL, (), 2),
            Cell(FIT, (stream(KERAS2_LOG),), 3),
            Cell(ASK, (stream("Enter the index of a test image:  7\n", "stdin"), stream("predicted: Sneaker\n")), 4),
        ),
        kinds=("keras_runtime", "input_replayed"),
        details=("saved output of cell 3 shows Keras 2 progress lines", "answered with '7'"),
        absent=("interactive_end",),
    ),
    RuntimeCase(
        "rt_input_after_training",
        "completed",
        (Cell(LOAD), Cell(MODEL), Cell(FIT), Cell(ASK)),
        kinds=("interactive_end",),
        reason=("stopped at cell 4", "keyboard input", "the model trained up to there"),
    ),
    RuntimeCase(
        "rt_input_before_training",
        "needs_input",
        (Cell("epochs = int(input('How many epochs? '))"), Cell(LOAD), Cell(MODEL), Cell(FIT)),
        reason=("How many epochs?",),
    ),
    RuntimeCase(
        "rt_camera_then_training",
        "needs_camera",
        (
            Cell(LOAD),
            Cell(MODEL),
            Cell(FIT),
            Cell("import cv2\ncap = cv2.VideoCapture(0)\nok, frame = cap.read()"),
            Cell(FIT),
        ),
        reason=("VideoCapture",),
    ),
    RuntimeCase(
        "rt_ran_past_errors",
        "completed",
        (
            Cell(LOAD, (), 1),
            Cell(MODEL, (), 2),
            Cell(FIT_NO_VALIDATION, (stream("Epoch 1/5\n"),), 9),
            Cell(
                "print(model.sumary())", (error("AttributeError", "'Sequential' object has no attribute 'sumary'"),), 4
            ),
            Cell(
                "import matplotlib.pyplot as plt\nplt.plot(history.history['loss'])\n"
                "plt.plot(history.history['val_loss'])\nplt.show()",
                (PNG,),
                5,
            ),
            Cell("print(model.evaluate(x_test, y_test))", (stream("[0.45, 0.84]\n"),), 10),
        ),
        kinds=("ran_past_error",),
        reason=(
            "Restart & Run All fails at cell 4: your saved output shows the same error",
            "and you ran the later cells anyway",
            "cell 5",
            "earlier version",
            "'val_loss'",
        ),
    ),
    RuntimeCase(
        "rt_unseen_error",
        "cell_error",
        (
            Cell(LOAD, (), 1),
            Cell(MODEL, (), 2),
            Cell(FIT, (stream("Epoch 1/5\n"),), 3),
            Cell("print(model.sumary())", (stream("ok\n"),), 4),
            Cell("print('after')", (stream("after\n"),), 5),
        ),
        reason=("cell 4 failed", "AttributeError"),
        absent=("ran_past_error",),
    ),
)


def write(case: RuntimeCase, folder: Path) -> Path:
    """The case as an .ipynb file in ``folder``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_markdown_cell(f"# Experiment: Fashion-MNIST\n{case.name}"))
    for cell in case.cells:
        code = nbformat.v4.new_code_cell(cell.source)
        code.outputs = [nbformat.from_dict(o) for o in cell.outputs]
        code.execution_count = cell.count
        nb.cells.append(code)
    path = folder / f"{case.name}.ipynb"
    nbformat.write(nb, str(path))
    return path
