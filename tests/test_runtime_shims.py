"""The runtime-fidelity decisions, in this process (fast): saved-output evidence, Keras generation, input replay,
running past a saved error, and the stand-ins for what the students' Colab had (plot_model, tkinter, seaborn,
compile(metrics="accuracy"), files.upload)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graders.paths import RUNTIME_PACKAGE
from tests.job_spec import change_spec, kernel_spec
from tests.saved_outputs import error, notebook, stream

sys.path.insert(0, str(RUNTIME_PACKAGE.parent))

from labgrade_runtime.contract import JobSpec  # noqa: E402
from labgrade_runtime.kernel import compat, environment, tkstub, uploads  # noqa: E402
from labgrade_runtime.runner import drift, evidence, keras_choice  # noqa: E402

KERAS2_LINE = "60000/60000 [==============================] - 5s 83us/sample - loss: 0.5012 - accuracy: 0.8237\n"


@pytest.fixture
def spec(tmp_path: Path) -> Iterator[JobSpec]:
    """A job spec pointing at tmp_path (the notes go to tmp_path/adaptations.jsonl)."""
    with kernel_spec(cwd=str(tmp_path), out_dir=str(tmp_path)) as job:
        yield job


# ---------------------------------------------------------------- item 4: Keras generation from saved outputs


@pytest.mark.parametrize(
    "text",
    [
        KERAS2_LINE,
        "1875/1875 [==============================] - 2s 1ms/step - loss: 0.50 - accuracy: 0.82\n",
        "Train on 54000 samples, validate on 6000 samples\n",
        "1875/1875 - 3s - loss: 0.5 - accuracy: 0.8 - 3s/epoch - 2ms/step\n",
    ],
)
def test_keras2_progress_lines_in_saved_output_choose_tf_keras(text: str) -> None:
    saved = notebook(
        ("import tensorflow as tf", [], 1), ("model.fit(x, y, epochs=3)", [stream("Epoch 1/3\n" + text)], 2)
    )
    runtime, reasons = keras_choice.choose("model.fit(x, y)", saved)
    assert runtime == "tf_keras"
    assert reasons == ["saved output of cell 2 shows Keras 2 progress lines"]


def test_tf_keras_warnings_are_evidence_too() -> None:
    saved = notebook(
        (
            "model.compile()",
            [stream("WARNING:tensorflow:From /x.py:1: The name tf.keras.x is deprecated\n", "stderr")],
            1,
        )
    )
    assert keras_choice.choose("", saved) == ("tf_keras", ["saved output of cell 1 shows tf-keras (Keras 2) warnings"])


@pytest.mark.parametrize(
    "text",
    [
        "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.78 - loss: 0.63\n",
        "1875/1875 - 3s - 2ms/step - accuracy: 0.8 - loss: 0.5\n",
        "Epoch 1/3\n",
    ],
)
def test_keras3_or_no_progress_lines_keep_keras3(text: str) -> None:
    assert keras_choice.choose("", notebook(("model.fit(x, y)", [stream(text)], 1))) == ("keras3", [])


def test_a_keras3_bar_anywhere_outweighs_older_lines() -> None:
    saved = notebook(("a", [stream(KERAS2_LINE)], 1), ("b", [stream("10/10 ━━━━━━━━━━ 1s 2ms/step - loss: 1\n")], 2))
    assert keras_choice.choose("", saved)[0] == "keras3"


# ---------------------------------------------------------------- item 6: replaying what was typed


def test_replies_from_jupyterlab_stdin_and_colab_stdout() -> None:
    lab = notebook(("n = input('Enter a number: ')", [stream("Enter a number:  5\n", "stdin")], 3))[0]
    colab = notebook(("n = input('Enter a number: ')", [stream("Enter a number: 5\nresult 10\n")], 3))[0]
    none = notebook(("print(1)", [stream("1\n")], 3))[0]
    assert evidence.replies(lab) == ("Enter a number:  5\n", [])
    assert evidence.replies(colab) == ("", ["Enter a number: 5", "result 10"])
    assert evidence.replies(none) is None


@pytest.mark.parametrize(
    ("stdin", "stdout", "prompts", "values"),
    [
        ("Enter a number:  5\n", [], ["Enter a number: "], ["5"]),
        ("Radius (two decimals): \n 4.5\n", [], ["Radius (two decimals): \n"], ["4.5"]),
        (" 5\n 2 3 6\n", [], ["", ""], ["5", "2 3 6"]),
        ("", ["Index of the image: 7", "predicted: Bag"], ["Index of the image: "], ["7"]),
    ],
)
def test_input_is_answered_with_the_saved_reply(
    spec: JobSpec, stdin: str, stdout: list[str], prompts: list[str], values: list[str]
) -> None:
    environment.expect_replies(4, stdin, stdout)
    assert [environment.replay_input(p) for p in prompts] == values
    assert "input_replayed" in (Path(spec.out_dir) / "adaptations.jsonl").read_text()


def test_input_without_a_saved_reply_still_needs_input(spec: JobSpec) -> None:
    environment.expect_replies(-1, "", [])
    with pytest.raises(RuntimeError, match="needs input"):
        environment.replay_input("How many epochs? ")


# ---------------------------------------------------------------- item 7: Restart & Run All drift


def test_the_same_saved_error_with_later_cells_run_is_run_past() -> None:
    saved = notebook(
        ("fit", [], 1),
        ("print(model.sumary())", [error("AttributeError", "no attribute 'sumary'")], 2),
        ("plot", [stream("ok\n")], 3),
        ("evaluate", [stream("0.8\n")], 4),
    )
    why = drift.ran_past(saved, 2, "AttributeError", "'Sequential' object has no attribute 'sumary'")
    assert why is not None
    assert why.startswith(
        "Restart & Run All fails at cell 2: your saved output shows the same error, and you ran the later cells anyway"
    )
    assert "cells 3-4 ran after it" in why


def test_an_error_the_student_never_saw_or_ran_nothing_after_stops() -> None:
    unseen = notebook(("a", [stream("ok\n")], 1), ("b", [stream("x\n")], 2))
    nothing_after = notebook(("a", [error("NameError", "name 'x' is not defined")], 5), ("b", [stream("x\n")], 2))
    assert drift.ran_past(unseen, 1, "NameError", "name 'x' is not defined") is None
    assert drift.ran_past(nothing_after, 1, "NameError", "name 'x' is not defined") is None


def test_a_history_key_fit_no_longer_records_is_an_earlier_version() -> None:
    png = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
    }
    saved = notebook(("history = model.fit(x, y)", [], 1), ("plt.plot(history.history['val_loss'])", [png], 2))
    why = drift.ran_past(saved, 2, "KeyError", "'val_loss'")
    assert why is not None and "earlier version" in why and "'val_loss'" in why
    assert drift.ran_past(saved, 2, "KeyError", "'price'") is None


# ---------------------------------------------------------------- item 3: the stand-ins


def test_plot_model_standin_writes_a_png_and_notes_it(spec: JobSpec, tmp_path: Path) -> None:
    class Layer:
        def __init__(self, name: str) -> None:
            self.name, self.output_shape = name, (None, 4)

    class Model:
        name, built, layers = "seq", True, [Layer("dense"), Layer("out")]

    def original(*args: Any, **kwargs: Any) -> None:
        raise ImportError("You must install pydot")

    plot = compat._plot_model_standin(original)
    if compat.graphviz_available():
        pytest.skip("graphviz is installed: Keras draws the graph itself")
    plot(Model(), to_file=str(tmp_path / "model.png"))
    assert (tmp_path / "model.png").read_bytes().startswith(b"\x89PNG")
    assert "plot_model()" in (tmp_path / "adaptations.jsonl").read_text()
    compat._blank_png(tmp_path / "blank.png")
    assert (tmp_path / "blank.png").read_bytes().startswith(b"\x89PNG")


def test_seaborn_positional_x_y_are_passed_as_keywords(spec: JobSpec) -> None:
    seen: dict[str, Any] = {}

    def scatterplot(data: Any = None, *, x: Any = None, y: Any = None, hue: Any = None) -> None:
        seen.update(data=data, x=x, y=y, hue=hue)

    wrapped = compat._positional_compat("scatterplot", scatterplot)
    wrapped([1, 2], [3, 4])
    assert seen == {"data": None, "x": [1, 2], "y": [3, 4], "hue": None}
    wrapped("frame", x="a")
    assert seen["data"] == "frame" and seen["x"] == "a"


def test_compile_takes_one_metric_as_a_string(spec: JobSpec) -> None:
    class Trainer:
        def compile(self, optimizer: str = "rmsprop", loss: Any = None, metrics: Any = None) -> Any:
            return metrics

    module = type(sys)("trainer")
    module.Trainer = Trainer  # type: ignore[attr-defined]
    compat.patch_keras3_compile(module)
    assert Trainer().compile(optimizer="adam", loss="mse", metrics="accuracy") == ["accuracy"]
    assert Trainer().compile(metrics=["mae"]) == ["mae"]


def test_headless_tkinter_builds_windows_and_returns_from_mainloop(spec: JobSpec) -> None:
    modules = tkstub.build()
    tk = modules["tkinter"]
    root = tk.Tk()
    root.title("demo")
    entry = tk.Entry(root)
    entry.pack()
    label = tk.Label(root, text="hello")
    label.config(text="bye")
    var = tk.StringVar(value="a")
    var.set("b")
    assert (label.cget("text"), entry.get(), var.get(), tk.END) == ("bye", "", "b", "end")
    root.mainloop()
    assert modules["tkinter.messagebox"].showinfo("t", "m") is None
    assert issubclass(tk.TclError, Exception)


def test_upload_reads_images_or_tables_by_what_the_code_reads_first() -> None:
    assert uploads.reads_images("for fn in uploaded:\n    img = image.load_img(fn, target_size=(28, 28))")
    assert not uploads.reads_images("df = pd.read_csv(io.BytesIO(uploaded['train.csv']))\nimg = cv2.imread('x.png')")
    assert not uploads.reads_images("print(uploaded.keys())")


def test_upload_hands_images_from_the_served_dataset(spec: JobSpec, tmp_path: Path) -> None:
    import numpy as np

    np.savez(tmp_path / "fashion.npz", x_test=np.zeros((2, 28, 28), dtype="uint8"))
    change_spec(keras_datasets={"fashion_mnist": str(tmp_path / "fashion.npz")})
    uploads.snapshot()
    images = uploads.images_to_hand("image.load_img(fn)")
    assert list(images) == ["uploaded_image.png"] and images["uploaded_image.png"].startswith(b"\x89PNG")


def test_the_fit_statistics_and_row_fingerprints_never_copy_the_whole_training_array() -> None:
    """A 40,000 x 10,000 float64 multi-hot (3.2 GB) must not get a full-size temporary beside it (``arr.std()``)."""
    import tracemalloc

    import numpy as np

    from labgrade_runtime.kernel import shims, watch

    x = np.zeros((2000, 10_000))  # 160 MB: a full copy would show at once
    x[np.arange(2000), np.arange(2000) * 5] = 1.0
    tracemalloc.start()
    try:
        stats = shims._array_stats(x)
        hashes = watch.row_set(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes // 4, f"{peak / 2**20:.0f} MB of temporaries for a {x.nbytes / 2**20:.0f} MB array"
    assert stats is not None and stats["shape"] == [2000, 10_000] and stats["max"] == 1.0
    assert stats["std"] == pytest.approx(float(x.std())) and stats["mean"] == pytest.approx(float(x.mean()))
    assert hashes is not None and len(hashes) == 2000
