"""Realistic fixtures:
heavy analysis under the run's budget, run-past across Keras generations, prose in code cells, Colab's memory,
GPU lookups, older pandas generations.

Each case is a small notebook written to a pattern seen in students' work (never a copy of one), with the
outcome it deserves; ``cases.CASES`` includes them, so ``test_realistic.py`` grades them and
``benchmarks/realistic.py`` lists their expected statuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cases import B_IMPORTS, B_MODEL, B_SPLIT, F_LOAD, F_MODEL, L_IMPORTS, L_MODEL, L_PREP, S_MODEL, S_WINDOWS, Case


@dataclass(frozen=True)
class RunCase(Case):
    """A case whose saved cells carry the In [n] their author ran them in (``make_notebooks`` writes them)."""

    counts: dict[int, int] = field(default_factory=dict)


def stream(text: str, name: str = "stdout") -> dict[str, object]:
    return {"output_type": "stream", "name": name, "text": text}


def error(ename: str, evalue: str, frames: tuple[str, ...] = ()) -> dict[str, object]:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": list(frames)}


# A cell of Colab's traceback as Keras 3 prints it (the frames' paths are what counts).
KERAS3_FRAMES = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
    "\x1b[0;31mValueError\x1b[0m                                Traceback (most recent call last)",
    "\x1b[0;32m/usr/local/lib/python3.11/dist-packages/keras/src/utils/traceback_utils.py\x1b[0m in "
    "\x1b[0;36merror_handler\x1b[0;34m(*args, **kwargs)\x1b[0m",
    "\x1b[0;32m/usr/local/lib/python3.11/dist-packages/keras/src/backend/tensorflow/nn.py\x1b[0m in "
    "\x1b[0;36mcategorical_crossentropy\x1b[0;34m(target, output, from_logits, axis)\x1b[0m",
)
KERAS3_RANK = (
    "Arguments `target` and `output` must have the same rank (ndim). Received: target.shape=(None,), "
    "output.shape=(None, 10)"
)
# A progress line of Keras 2, left in the cell's output by an older run of it.
KERAS2_STALE = "Epoch 1/2\n1875/1875 [==============================] - 6s 3ms/step - loss: 0.5301 - accuracy: 0.8142\n"
F_WRONG_LOSS = (
    (
        "import tensorflow as tf\n"
        "model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(), "
        "tf.keras.layers.Dense(64, activation='relu'), tf.keras.layers.Dense(10, activation='softmax')])\n"
    )
    + """model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=2, batch_size=64)"""
)
F_FIXED_LOSS = """model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=10, batch_size=64)
print('test accuracy', model.evaluate(x_test, y_test, verbose=0)[1])"""

# pandas 1.5's warning for a reduction over a frame with a date column, as a Colab notebook of 2023 saved it.
PANDAS15_WARNING = (
    "/usr/local/lib/python3.10/dist-packages/ipykernel_launcher.py:2: FutureWarning: The default value of "
    "numeric_only in DataFrame.corr is deprecated. In a future version, it will default to False. Select only "
    "valid columns or specify the value of numeric_only to silence this warning.\n"
)
S_CORR = (
    "train = pd.read_csv('Google_Stock_Price_Train.csv')\ncorrelations = train.corr()\nprint(correlations.round(3))"
)
KERAS3_STOCK_BAR = (
    "Epoch 100/100\n\x1b[1m19/19\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m "
    "9ms/step - loss: 0.0014\n"
)
S_IMPORTS = "import numpy as np\nimport pandas as pd"

CASES: list[Case] = [
    # -- 7. a t-SNE of 20,000 images the author's machine could afford: a seeded sample, one point per row kept
    Case(
        "f_tsne_20000_rows",
        "fashion",
        "completed",
        (
            F_LOAD,
            "from sklearn.decomposition import PCA\nfrom sklearn.manifold import TSNE\n"
            "flat = x_train[:20000].reshape(20000, -1)\n"
            "embedded = TSNE(n_components=2, random_state=42).fit_transform(PCA(n_components=30).fit_transform(flat))\n"
            "print(embedded.shape)",
            "import matplotlib.pyplot as plt\n"
            "plt.scatter(embedded[:, 0], embedded[:, 1], c=y_train[:20000], s=1, cmap='tab10')\n"
            "plt.title('t-SNE of 20,000 training images')\nplt.show()",
            F_MODEL,
        ),
        ("heavy_budget",),
        details=("TSNE.fit_transform() of 20,000 rows embedded a seeded sample of 2,000",),
        outputs={1: [stream("(20000, 2)\n")]},
    ),
    # -- 7. a grid search over the letters' training rows, 20 forests: searched on a seeded sample, the best fitted
    #    on every row
    Case(
        "l_grid_search_forest",
        "letters",
        "completed",
        (
            L_IMPORTS,
            "df = pd.read_csv('letter-recognition.data', header=None)",
            L_PREP,
            "from sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import GridSearchCV\n"
            "grid = {'n_estimators': [50, 100], 'max_depth': [12, None]}\n"
            "search = GridSearchCV(RandomForestClassifier(random_state=0), grid, cv=5, n_jobs=-1)\n"
            "search.fit(X_train, y_train)\n"
            "print('best', search.best_params_, round(search.best_score_, 3))\n"
            "print('forest test accuracy', search.score(X_test, y_test))",
            L_MODEL,
        ),
        ("heavy_budget",),
        details=(
            "GridSearchCV.fit() searched 4 candidates x 5 folds on a seeded sample of 10,000 of its",
            "the best candidate was then fitted on all",
        ),
        outputs={3: [stream("best {'max_depth': None, 'n_estimators': 100} 0.951\nforest test accuracy 0.96\n")]},
    ),
    # -- 8. the author saw the error on Keras 3 and ran on; the traceback (not the stale Keras 2 bar) says Keras 3
    RunCase(
        "f_keras3_traceback_stale_bar",
        "fashion",
        "completed",
        (F_LOAD, F_WRONG_LOSS, F_FIXED_LOSS),
        ("ran_past_error", "keras_runtime"),
        reason="Restart & Run All fails at cell 2",
        details=("saved traceback of cell 2 runs through Keras 3",),
        outputs={
            1: [stream(KERAS2_STALE), error("ValueError", KERAS3_RANK, KERAS3_FRAMES)],
            2: [stream("test accuracy 0.86\n")],
        },
        counts={1: 5, 2: 6},
    ),
    # -- 8. the same error on tf-keras (chosen from the code) is worded differently from the author's Keras 3 one
    RunCase(
        "f_keras3_error_on_tf_keras",
        "fashion",
        "completed",
        (F_LOAD + "\nfrom tensorflow.keras.preprocessing.image import ImageDataGenerator", F_WRONG_LOSS, F_FIXED_LOSS),
        ("ran_past_error",),
        reason="Restart & Run All fails at cell 2",
        details=("ValueError",),
        outputs={1: [error("ValueError", KERAS3_RANK, KERAS3_FRAMES)], 2: [stream("test accuracy 0.86\n")]},
        counts={1: 3, 2: 4},
    ),
    # -- 8. notes pasted into a code cell after the model was trained, never run: Markdown, noted
    Case(
        "b_prose_in_code_cell",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "df = pd.read_csv('BostonHousing.csv')",
            B_SPLIT,
            B_MODEL,
            "## Conclusion\n```python\nmodel.save('boston_model.h5')\n```\n"
            "The network reaches a test error of about 2.5 (in thousands of dollars), which is better than the "
            "linear model we tried first.\n"
            "Increasing the epochs beyond 100 did not help, the validation loss was flat.",
        ),
        ("prose_cell",),
        details=("treated as Markdown",),
    ),
    # -- 11. several float64 copies of the images: about 5 GB, more than the check's 4 GB, less than Colab's 12 GB
    Case(
        "f_float64_copies",
        "fashion",
        "completed",
        (
            F_LOAD,
            "import numpy as np\nx_full = x_train.astype('float64')\n"
            "versions = [x_full * 1.0 for _ in range(10)]  # normalised, augmented, shifted ... copies\n"
            "x_train = versions[-1]\nprint(round(sum(v.nbytes for v in versions) / 1e9, 1), 'GB in copies')",
            F_MODEL,
        ),
    ),
    # -- 15. pandas 1.5 (Colab 2023) skipped the date column of corr() with a warning: so does its run here
    Case(
        "s_corr_pandas15",
        "stock",
        "completed",
        (S_IMPORTS, S_CORR, S_WINDOWS, S_MODEL),
        ("pandas_generation",),
        details=("pandas 1.5", "Python 3.10"),
        outputs={1: [stream(PANDAS15_WARNING, "stderr")]},
    ),
    # -- 15. the same call in a notebook of the 2024-25 generation: pandas 2's error, as its author would get
    Case(
        "s_corr_pandas2",
        "stock",
        "cell_error",
        (S_IMPORTS, S_CORR, S_WINDOWS, S_MODEL),
        reason="could not convert string to float",
        outputs={3: [stream(KERAS3_STOCK_BAR)]},
    ),
]
