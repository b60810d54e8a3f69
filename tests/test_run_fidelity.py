"""Running a notebook as its author ran it (fast, in this process): errors the author saw compared across Keras
generations, the Keras generation read off a saved traceback, prose pasted into code cells, heavy analysis under
the run's budget, the pandas generation read off the saved outputs, and Colab's memory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from graders.paths import RUNTIME_PACKAGE
from tests.job_spec import kernel_spec, spec_of
from tests.saved_outputs import error, notebook, stream

sys.path.insert(0, str(RUNTIME_PACKAGE.parent))

from labgrade_runtime.contract import JobSpec  # noqa: E402
from labgrade_runtime.kernel import compat  # noqa: E402
from labgrade_runtime.runner import drift, evidence, keras_choice, pandas_choice  # noqa: E402


@pytest.fixture
def spec(tmp_path: Path) -> Iterator[JobSpec]:
    """A job spec pointing at tmp_path (the notes go to tmp_path/adaptations.jsonl)."""
    with kernel_spec(cwd=str(tmp_path), out_dir=str(tmp_path)) as job:
        yield job


ANSI_FRAME = "\x1b[0;32m{path}\x1b[0m in \x1b[0;36mtrain_function\x1b[0;34m(iterator)\x1b[0m"
KERAS3_TRACE = [
    ANSI_FRAME.format(path="/usr/local/lib/python3.11/dist-packages/keras/src/utils/traceback_utils.py"),
    ANSI_FRAME.format(path="/usr/local/lib/python3.11/dist-packages/keras/src/backend/tensorflow/trainer.py"),
]
KERAS2_TRACE = [ANSI_FRAME.format(path="/usr/local/lib/python3.10/dist-packages/keras/engine/training.py")]
KERAS2_LINE = "1875/1875 [==============================] - 5s 3ms/step - loss: 0.5012 - accuracy: 0.8237\n"


# ---------------------------------------------------------------- the same error, worded by two generations

KERAS3_SHAPES = (
    "Arguments `target` and `output` must have the same shape. Received: target.shape=(None, 1), "
    "output.shape=(None, 10)"
)
TF_KERAS_SHAPES = (
    'in user code:\n\n    File "/venv/lib/python3.11/site-packages/tf_keras/src/engine/training.py", line 1401, in '
    "train_function  *\n        return step_function(self, iterator)\n\n"
    "    ValueError: Shapes (None, 1) and (None, 10) are incompatible\n"
)
KERAS3_INPUT = (
    'Exception encountered when calling Sequential.call().\n\n\x1b[1mInput 0 of layer "dense" is incompatible with '
    "the layer: expected axis -1 of input shape to have value 784, but received input with shape (None, 28, 28)\x1b[0m"
    "\n\nArguments received by Sequential.call():\n  • inputs=tf.Tensor(shape=(None, 28, 28), dtype=float32)"
)
TF_KERAS_INPUT = (
    'in user code:\n\n    File "/venv/tf_keras/src/engine/training.py", line 1401, in train_function  *\n'
    '        return step_function(self, iterator)\n\n    ValueError: Input 0 of layer "sequential_1" is incompatible '
    "with the layer: expected shape=(None, 784), found shape=(None, 28, 28)\n"
)


@pytest.mark.parametrize(
    ("saved", "now"), [(KERAS3_SHAPES, TF_KERAS_SHAPES), (KERAS3_INPUT, TF_KERAS_INPUT), (TF_KERAS_INPUT, KERAS3_INPUT)]
)
def test_the_same_error_worded_by_keras_3_and_tf_keras_matches(saved: str, now: str) -> None:
    cells = notebook(
        ("model.fit(x, y)", [error("ValueError", saved)], 4), ("model.evaluate(x, y)", [stream("ok\n")], 5)
    )
    assert evidence.same_error(cells[0], "ValueError", now)
    why = drift.ran_past(cells, 1, "ValueError", now)
    assert why is not None and "the same error" in why
    assert "in user code" not in why  # the message inside tf-keras' wrapper is quoted


def test_another_class_or_another_phrase_is_not_the_same_error() -> None:
    cells = notebook(("model.fit(x, y)", [error("ValueError", KERAS3_SHAPES)], 4))
    assert not evidence.same_error(cells[0], "TypeError", TF_KERAS_SHAPES)
    assert not evidence.same_error(cells[0], "ValueError", "could not convert string to float: '2012-01-03'")
    names = notebook(("print(x)", [error("NameError", "name 'x' is not defined")], 4))
    assert evidence.same_error(names[0], "NameError", "name 'x' is not defined")
    assert not evidence.same_error(names[0], "NameError", "name 'model' is not defined")


def test_a_module_qualified_class_is_its_class() -> None:
    cells = notebook(("a", [error("InvalidArgumentError", "indices[3,1] = 88000 is not in [0, 10000)")], 4))
    assert evidence.same_error(
        cells[0],
        "tensorflow.python.framework.errors_impl.InvalidArgumentError",
        "indices[7,2] = 87000 is not in [0, 10000)",
    )


# ---------------------------------------------------------------- the generation from a saved traceback


def test_a_keras3_traceback_outranks_a_stale_keras2_progress_bar() -> None:
    saved = notebook(
        ("model.fit(x, y, epochs=2)", [stream("Epoch 1/2\n" + KERAS2_LINE)], 3),
        ("model.fit(x, y_onehot)", [error("ValueError", KERAS3_SHAPES, KERAS3_TRACE)], 7),
    )
    runtime, reasons = keras_choice.choose("model.fit(x, y)", saved)
    assert runtime == "keras3"
    assert reasons and "saved traceback of cell 2 runs through Keras 3" in reasons[0]
    assert keras_choice.choose("model.fit(x, y)", saved[:1])[0] == "tf_keras"  # the bar alone still says Keras 2


def test_a_keras2_traceback_is_keras2_even_beside_a_keras3_bar() -> None:
    saved = notebook(
        ("model.fit(x, y)", [stream("10/10 ━━━━━━━━━━ 1s 2ms/step - loss: 1\n")], 1),
        ("model.fit(x, z)", [error("ValueError", TF_KERAS_SHAPES, KERAS2_TRACE)], 2),
    )
    runtime, reasons = keras_choice.choose("", saved)
    assert runtime == "tf_keras" and "runs through Keras 2" in reasons[0]


def test_keras2_code_decides_before_any_saved_output() -> None:
    saved = notebook(("model.fit(x, y)", [error("ValueError", KERAS3_SHAPES, KERAS3_TRACE)], 2))
    assert keras_choice.choose("model.predict_classes(x)", saved)[0] == "tf_keras"


def test_paths_both_generations_share_are_no_evidence() -> None:
    shared = [ANSI_FRAME.format(path="/usr/local/lib/python3.10/dist-packages/keras/src/utils/traceback_utils.py")]
    saved = notebook(("model.fit(x, y)", [error("ValueError", "x", shared)], 2))
    assert keras_choice.traceback_generation(saved) is None


# ---------------------------------------------------------------- prose pasted into a code cell


@pytest.mark.parametrize(
    "source",
    [
        "```python\nmodel.fit(x, y)\n```\nThe model is trained for ten epochs.",
        "Q1. What is the role of the activation function?\nIt adds non-linearity, so the network can learn curves.",
        "## Observations\nThe validation loss stops falling after epoch 6, which means the model starts to overfit.",
    ],
)
def test_never_run_prose_in_a_code_cell_is_markdown(source: str) -> None:
    cell = notebook((source, [], None))[0]
    why = drift.prose_cell(cell)
    assert why is not None and "treated as Markdown" in why and "cell 1" in why


@pytest.mark.parametrize(
    ("source", "outputs", "count"),
    [
        ("model.fit(x, y", [], None),  # a syntax error in code: the author's own
        ("for i in range(10) print(i)", [], None),
        ("!pip install mlxtend\n%matplotlib inline\nprint('a b c d e')", [], None),  # IPython reads it
        ("# The model is trained for ten epochs and then evaluated.\nx = 1", [], None),  # compiles
        ("The model is trained for ten epochs and then evaluated.", [stream("x")], 3),  # the author ran it
    ],
)
def test_code_or_a_cell_the_author_ran_is_not_prose(
    source: str, outputs: list[dict[str, Any]], count: int | None
) -> None:
    assert drift.prose_cell(notebook((source, outputs, count))[0]) is None


# ---------------------------------------------------------------- the pandas generation from the saved outputs

PANDAS15_WARNING = (
    "/tmp/ipykernel_812/3340611.py:1: FutureWarning: The default value of numeric_only in DataFrame.corr is "
    "deprecated. In a future version, it will default to False. Select only valid columns or specify the value of "
    "numeric_only to silence this warning.\n  sns.heatmap(df.corr())\n"
)
PY310_PATH = "/usr/local/lib/python3.10/dist-packages/seaborn/matrix.py:260: UserWarning: x\n"


def test_pandas15_warnings_choose_the_2023_generation() -> None:
    saved = notebook(
        ("import pandas as pd", [], 1),
        ("sns.heatmap(df.corr())", [stream(PANDAS15_WARNING + PY310_PATH, "stderr")], 2),
    )
    reasons = pandas_choice.choose(saved)
    assert reasons == [
        "saved output of cell 2 shows pandas 1.5's numeric_only FutureWarning",
        "its paths are Python 3.10's (Colab 2023)",
    ]


def test_python310_paths_alone_or_pandas2_outputs_keep_pandas2() -> None:
    assert pandas_choice.choose(notebook(("x", [stream(PY310_PATH, "stderr")], 1))) == []
    pip2 = "Requirement already satisfied: pandas in /usr/local/lib/python3.10/dist-packages (2.2.2)\n"
    assert pandas_choice.choose(notebook(("!pip install pandas", [stream(pip2)], 1))) == []
    pip1 = pip2.replace("(2.2.2)", "(1.5.3)")
    assert pandas_choice.choose(notebook(("!pip install pandas", [stream(pip1)], 1))) != []


def test_pandas15_reductions_skip_what_they_cannot_use(spec: JobSpec, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"Date": ["2012-01-03", "2012-01-04", "2012-01-05"], "Open": [1.0, 2.0, 4.0]})
    frame["Close"] = frame["Open"] * 2
    with pytest.raises(ValueError):
        frame.corr()  # pandas 2 and later, unpatched
    patched = type("Frame", (pd.DataFrame,), {})
    module = type(sys)("fake_pandas")
    module.DataFrame = patched  # type: ignore[attr-defined]
    compat._PANDAS15["reasons"] = ["saved output of cell 2 shows pandas 1.5's numeric_only FutureWarning"]
    compat.patch_pandas15(module)
    old = patched(frame)
    with pytest.warns(FutureWarning, match="numeric_only in DataFrame.corr"):
        corr = old.corr()
    assert list(corr.columns) == ["Open", "Close"] and corr.loc["Open", "Close"] == pytest.approx(1.0)
    with pytest.warns(FutureWarning, match="numeric_only in DataFrame.mean"):
        assert old.mean()["Open"] == pytest.approx(7 / 3)
    with pytest.raises(ValueError):
        old.corr(numeric_only=False)  # asked for explicitly: pandas 2's answer
    notes = (tmp_path / "adaptations.jsonl").read_text()
    assert "pandas_generation" in notes and "(Date)" in notes and "pandas 1.5" in notes


# ---------------------------------------------------------------- heavy analysis under the run's budget


def test_a_cell_its_author_completed_gets_the_wall_budget_left_in_the_quick_profile() -> None:
    from labgrade_runtime.runner import cells

    job = spec_of(cell_seconds=120, wall_seconds=600, profile="quick")
    done, failed, never = notebook(
        ("tsne = TSNE().fit_transform(x)", [stream("done\n")], 3),
        ("gs.fit(x, y)", [error("KeyboardInterrupt", "")], 4),
        ("gs.fit(x, y)", [], None),
    )
    assert cells.cell_limit(job, done, elapsed=100) == 600 - 100 - (120 + 30)
    assert cells.cell_limit(job, done, elapsed=500) == 120  # never below the cell limit
    assert cells.cell_limit(job, failed, elapsed=100) == 120
    assert cells.cell_limit(job, never, elapsed=100) == 120
    assert cells.cell_limit(job, None, elapsed=100) == 120
    full = spec_of(cell_seconds=120, wall_seconds=600, profile="full")
    assert cells.cell_limit(full, done, elapsed=100) == 120


def test_a_tsne_over_the_budget_embeds_a_seeded_sample_and_keeps_one_point_per_row(
    spec: JobSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    from sklearn import manifold

    from labgrade_runtime.kernel import budget, heavy

    monkeypatch.setattr(heavy, "TSNE_ROWS", 150)
    monkeypatch.setattr(manifold.TSNE, "fit_transform", manifold.TSNE.fit_transform)  # undone after the test
    heavy.patch_manifold(manifold)
    rng = np.random.RandomState(0)
    x = np.vstack([rng.normal(0, 1, (200, 5)), rng.normal(8, 1, (200, 5))])
    model = manifold.TSNE(n_components=2, perplexity=10, random_state=0, max_iter=250)
    points = model.fit_transform(x)
    assert points.shape == (400, 2) and model.embedding_.shape == (400, 2)
    sampled = set(budget.sample(400, 150, 3).tolist())
    for row in set(range(400)) - sampled:  # each other row sits on a sampled row of its own cluster
        twins = [r for r in sampled if np.array_equal(points[r], points[row])]
        assert twins and all((r < 200) == (row < 200) for r in twins)
    assert (
        "TSNE.fit_transform() of 400 rows embedded a seeded sample of 150"
        in (tmp_path / "adaptations.jsonl").read_text()
    )
    again = manifold.TSNE(n_components=2, perplexity=10, random_state=0, max_iter=250).fit_transform(x)
    assert np.array_equal(points, again)  # the same sample every time
    small = manifold.TSNE(n_components=2, perplexity=10, random_state=0, max_iter=250).fit_transform(x[:100])
    assert small.shape == (100, 2)


def test_a_search_over_the_budget_searches_a_sample_and_fits_the_best_on_every_row(
    spec: JobSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    from sklearn import model_selection
    from sklearn.neighbors import KNeighborsClassifier

    from labgrade_runtime.kernel import heavy

    monkeypatch.setattr(heavy, "SEARCH_ROW_FITS", 20_000)
    base = model_selection._search.BaseSearchCV
    monkeypatch.setattr(base, "fit", base.fit)  # undone after the test
    heavy.patch_search(model_selection._search)
    rng = np.random.RandomState(0)
    x = rng.normal(size=(3000, 4))
    y = (x[:, 0] + 0.3 * rng.normal(size=3000) > 0).astype(int)
    grid = {"n_neighbors": [1, 5, 15, 45]}
    search = model_selection.GridSearchCV(KNeighborsClassifier(), grid, cv=5).fit(x, y)
    assert len(search.cv_results_["mean_test_score"]) == 4 and search.best_params_["n_neighbors"] > 1
    assert search.best_estimator_.n_samples_fit_ == 3000  # the best candidate, fitted on every row
    assert search.predict(x).shape == (3000,)
    text = (tmp_path / "adaptations.jsonl").read_text()
    assert "GridSearchCV.fit() searched 4 candidates x 5 folds on a seeded sample of 1,000 of its 3,000 rows" in text
    assert "fitted on all 3,000 rows" in text
    halves = np.arange(0, 1500), np.arange(1500, 3000)
    folds = [halves, halves[::-1]]  # explicit indices (4 x 2 x 3,000 row-fits): searched as written
    listed = model_selection.GridSearchCV(KNeighborsClassifier(), grid, cv=folds).fit(x, y)
    assert listed.best_estimator_.n_samples_fit_ == 3000
    assert text == (tmp_path / "adaptations.jsonl").read_text()
    small = model_selection.GridSearchCV(KNeighborsClassifier(), grid, cv=5).fit(x[:500], y[:500])
    assert small.best_estimator_.n_samples_fit_ == 500
    assert text == (tmp_path / "adaptations.jsonl").read_text()


def test_prose_cells_become_markdown_cells_of_the_notebook_run(tmp_path: Path) -> None:
    from labgrade_runtime.runner import cells

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# lab"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("```\nThe loss falls for five epochs and then stays flat, so we stop there.\n```"),
        nbformat.v4.new_code_cell("print(x"),
    ]
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    loaded, saved = cells.load(str(path))
    notes = cells.prose_to_markdown(loaded, saved)
    assert [c.cell_type for c in loaded.cells] == ["markdown", "code", "markdown", "code"]
    assert len(notes) == 1 and notes[0].startswith("cell 2 is prose")
    assert "The loss falls" not in cells.notebook_code(loaded)
