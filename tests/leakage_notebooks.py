"""Boston notebooks that leak the test set (or forge numbers) in the ways students do, and honest controls.

Each is a list of code cells; :func:`write` makes the notebook. Models are
tiny (two epochs) so a real kernel runs each in seconds; what matters is
what the notebook did with its rows, not how good the model is.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

LOAD = """import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import mean_squared_error
df = pd.read_csv("BostonHousing.csv")"""
XY = 'X = df.drop(columns=["medv"]).values\ny = df["medv"].values'
SPLIT = "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)"
SCALE = "sc = StandardScaler()\nX_train = sc.fit_transform(X_train)\nX_test = sc.transform(X_test)"
MODEL = """import keras
model = keras.Sequential([keras.Input((13,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])"""
FIT = "history = model.fit(X_train, y_train, epochs=2, verbose=0)"
EVALUATE = """mse, mae = model.evaluate(X_test, y_test, verbose=0)
print("Mean squared error on test data:", mse)"""

NOTEBOOKS: dict[str, list[str]] = {
    # honest controls: the training set scored too, and a predict()-based test score
    "honest": [
        LOAD,
        XY,
        SPLIT,
        SCALE,
        MODEL,
        FIT,
        'print("Train MSE:", model.evaluate(X_train, y_train, verbose=0)[0])',
        EVALUATE,
    ],
    "honest_predict": [
        LOAD,
        XY,
        SPLIT,
        SCALE,
        MODEL,
        FIT,
        'y_pred = model.predict(X_test, verbose=0)\nprint("Test MSE:", mean_squared_error(y_test, y_pred))',
    ],
    "no_own_split": [LOAD, XY, SPLIT, SCALE, MODEL, FIT, 'print("Test MSE: 5.0")'],
    # leaks
    "fit_on_test": [
        LOAD,
        XY,
        SPLIT,
        SCALE,
        MODEL,
        "history = model.fit(X_test, y_test, epochs=2, verbose=0)",
        EVALUATE,
    ],
    "concatenate": [
        LOAD,
        XY,
        SPLIT,
        SCALE,
        MODEL,
        "X_all = np.concatenate([X_train, X_test])\ny_all = np.concatenate([y_train, y_test])\n"
        "history = model.fit(X_all, y_all, epochs=2, verbose=0)",
        EVALUATE,
    ],
    "duplicate_split": [
        LOAD,
        "df = pd.concat([df, df], ignore_index=True)  # more data",
        XY,
        SPLIT,
        SCALE,
        MODEL,
        FIT,
        EVALUATE,
    ],
    "scaler_on_all": [LOAD, XY, "sc = StandardScaler()\nX = sc.fit_transform(X)", SPLIT, MODEL, FIT, EVALUATE],
    "validation_on_test": [
        LOAD,
        XY,
        SPLIT,
        SCALE,
        MODEL,
        "history = model.fit(X_train, y_train, epochs=2, verbose=0,\n"
        "                    validation_data=(X_test, y_test))",
        EVALUATE,
    ],
    # forged: the model's own evaluate() ran, the print is typed in
    "typed_in": [
        LOAD,
        XY,
        SPLIT,
        SCALE,
        MODEL,
        FIT,
        'mse, mae = model.evaluate(X_test, y_test, verbose=0)\nprint("Mean squared error on test data:", 9.1)',
    ],
}


def write(name: str, folder: Path) -> Path:
    """The notebook ``name`` written into ``folder``, with a markdown title cell first."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# Boston housing ({name})")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in NOTEBOOKS[name]]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path
