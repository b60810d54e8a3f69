"""End to end: notebooks written the way students of this lab write them, graded as their authors ran them.

* a Boston notebook saved with the outputs of Kaggle's copy (upper-case names, NA cells) reads it from a
  Colab Drive path: it is served that copy (not the clean canonical one), and the run says why;
* a Fashion-MNIST notebook that hard-codes the real sizes (``reshape(60000, 784)``, ``x_train[50000:]``)
  runs in the quick profile, which saves its time inside fit() and says so;
* a Fashion-MNIST notebook reading Kaggle's pixel CSVs as ``train.csv`` / ``test.csv`` gets all their rows.

The fixtures are written here (self-contained); the saved outputs of the Boston one are made by running its
cells with pandas on the project's own copy of Kaggle's file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from graders import api
from graders.paths import RUBRICS_DIR, course_data
from tests.test_variants import run_cells

pytestmark = pytest.mark.realistic

KERAS_MLP = """from tensorflow import keras
model = keras.Sequential([keras.layers.Input(shape=(13,)), keras.layers.Dense(64, activation='relu'),
                          keras.layers.Dense(1)])
model.compile(optimizer='adam', loss='mse', metrics=['mae'])
history = model.fit(X_train, y_train, epochs=100, batch_size=32, validation_split=0.1, verbose=0)
print(model.evaluate(X_test, y_test, verbose=0))"""


def _adaptations(record: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in record.artifacts.adaptations if record.artifacts else []:
        out.setdefault(item.kind, []).append(item.detail)
    return out


def _write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


@pytest.mark.slow  # the default suite keeps the real-sizes case; the slow realistic suite runs all
def test_a_kaggle_copy_notebook_is_served_the_kaggle_copy(tmp_path: Path) -> None:
    drive = tmp_path / "content" / "drive" / "MyDrive"
    drive.mkdir(parents=True)
    shutil.copyfile(course_data(RUBRICS_DIR / "boston") / "HousingData.csv", drive / "HousingData.csv")
    read = "/content/drive/MyDrive/HousingData.csv"
    cells = [
        f"import pandas as pd\nimport numpy as np\ndf = pd.read_csv({str(drive / 'HousingData.csv')!r})",
        "df.head()",
        "df.shape",
        "df.isnull().sum()",
    ]
    nb = run_cells(cells, tmp_path)
    nb.cells[0].source = f"import pandas as pd\nimport numpy as np\ndf = pd.read_csv({read!r})"  # as on Colab
    nb.cells += [
        nbformat.v4.new_code_cell(src)
        for src in (
            "df = df.dropna()\nprint(df.shape)\nX = df.drop('MEDV', axis=1).values\ny = df['MEDV'].values",
            "from sklearn.model_selection import train_test_split\nfrom sklearn.preprocessing import StandardScaler\n"
            "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)\n"
            "sc = StandardScaler()\nX_train = sc.fit_transform(X_train)\nX_test = sc.transform(X_test)",
            KERAS_MLP,
        )
    ]
    record = api.check(notebook=_write(nb, tmp_path / "boston_kaggle.ipynb"), experiment="boston", backend="local")
    assert record.status.value == "completed", record.reason
    notes = _adaptations(record)
    assert any("v02" in d and "saved outputs" in d for d in notes["file_variant"]), notes


FASHION_REAL_SIZES = [
    "import numpy as np\nfrom tensorflow import keras\n"
    "(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()\n"
    "print(x_train.shape, x_test.shape)",
    "x_train = x_train.reshape(60000, 784).astype('float32') / 255\n"
    "x_test = x_test.reshape(10000, 784).astype('float32') / 255\n"
    "x_val, y_val = x_train[50000:], y_train[50000:]\nx_train, y_train = x_train[:50000], y_train[:50000]",
    "model = keras.Sequential([keras.layers.Input(shape=(784,)), keras.layers.Dense(128, activation='relu'),\n"
    "                          keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
    "history = model.fit(x_train, y_train, epochs=10, batch_size=128, validation_data=(x_val, y_val))",
    "print(history.history['accuracy'][-1], history.history['val_accuracy'][-1])\n"
    "test_loss, test_acc = model.evaluate(x_test, y_test)\nprint('Test accuracy:', test_acc)",
]


def test_real_sizes_hard_coded_run_in_the_quick_profile(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in FASHION_REAL_SIZES]
    record = api.check(notebook=_write(nb, tmp_path / "fashion.ipynb"), experiment="fashion", backend="local")
    assert record.status.value == "completed", record.reason
    notes = _adaptations(record)
    # 10 epochs x 391 batches of 128 over the quick budget (563 updates): every epoch runs, on 56 batches each
    assert any("fit(epochs=10) trained 56 of its 391 batches per epoch" in d for d in notes["fit_budget"]), notes
    assert "empty_training_set" not in notes
    assert record.metrics["accuracy"] > 0.5


@pytest.mark.slow  # the default suite keeps the real-sizes case; the slow realistic suite runs all
def test_kaggle_pixel_csvs_under_plain_names_have_every_row(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(src)
        for src in (
            "import pandas as pd\nimport numpy as np\ntrain = pd.read_csv('/kaggle/input/fashionmnist/train.csv')\n"
            "test = pd.read_csv('/kaggle/input/fashionmnist/test.csv')\nprint(train.shape, test.shape)\n"
            "assert train.shape == (60000, 785) and test.shape == (10000, 785)",
            "x_train = train.drop('label', axis=1).values.reshape(-1, 28, 28, 1) / 255.0\n"
            "y_train = train['label'].values",
            "from tensorflow import keras\n"
            "model = keras.Sequential([keras.layers.Input(shape=(28, 28, 1)), keras.layers.Flatten(),\n"
            "                          keras.layers.Dense(64, activation='relu'),\n"
            "                          keras.layers.Dense(10, activation='softmax')])\n"
            "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
            "model.fit(x_train, y_train, epochs=2, batch_size=64)",
        )
    ]
    record = api.check(notebook=_write(nb, tmp_path / "fashion_csv.ipynb"), experiment="fashion", backend="local")
    assert record.status.value == "completed", record.reason
    assert "file_derived" in _adaptations(record)
