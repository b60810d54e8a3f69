"""A model cannot kill the trusted evaluator's result.

* The main result is written before any secondary scoring; a step TensorFlow ends natively (SIGABRT, as a
  oneDNN assertion does) leaves the stage it was in, and the host says it in words and keeps what was measured.
* The notebook's own split is shaped as the model's Keras generation shaped it (a 3-D stack of gray images fed
  to a Conv2D taking 4-D input gets its channel), and a mismatch is refused in words before TensorFlow sees it.
* Embedding lookups out of the vocabulary give zero vectors in the evaluation, as on the students' GPU.

Every evaluator here is the real entry point in a process of its own; the native deaths are real aborts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graders.backends import Ending, JobResult
from graders.paths import RUNTIME_PACKAGE
from graders.steps.evaluate import settled_evaluation
from labgrade_runtime.contract import (
    EVAL_STAGE_FILE,
    ArrayStats,
    EvalResult,
    EvalRoots,
    EvalSpec,
    FitRecord,
    OwnSplit,
    ProbeResult,
    read_artifact,
)

ROWS = 48


def _stats(a: np.ndarray) -> ArrayStats:
    return ArrayStats(
        shape=list(a.shape), mean=float(a.mean()), std=float(a.std()), min=float(a.min()), max=float(a.max())
    )


@pytest.fixture(scope="module")
def conv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Conv2D model taking (8, 8, 1), trained on 3-D gray images (the channel added by Keras), saved as a run
    saves it, with its own split saved 3-D as the notebook held it and the kernel's predictions on it."""
    import keras

    folder = tmp_path_factory.mktemp("conv")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(ROWS, 8, 8)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2)) > x[:, 4:].mean(axis=(1, 2))).astype("int64")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x / 255.0, y, epochs=1, verbose=0)
    model.save(folder / "model.keras")
    scaled = (x / 255.0).astype("float32")
    pred = np.asarray(model.predict(scaled[..., None], verbose=0), "float64").reshape(-1)
    np.savez(folder / "own_split.npz", x=scaled, y=y)
    np.savez(folder / "holdout.npz", x=x, y=y)
    probe = ProbeResult(
        model_found=True,
        model_saved=True,
        fits=[FitRecord(x=_stats(scaled), y=_stats(y.astype("float64")), epochs=1)],
        own_split=OwnSplit(
            call=0,
            rows=ROWS,
            total_rows=ROWS,
            predictions={"mean": pred.mean(), "std": pred.std(), "head": [*pred[:8]]},
        ),
    )
    (folder / "probe.json").write_text(probe.dump(), encoding="utf-8")
    raw = {"x": {"mean": float(x.mean()), "std": float(x.std()), "max": float(x.max())}, "y": {}}
    (folder / "spec.json").write_text(EvalSpec(kind="classification", input="image", raw_stats=raw).dump())
    return folder


def _job(tmp_path: Path, trained: Path, own_x: np.ndarray | None = None) -> tuple[Path, dict[str, str]]:
    """An evaluate job's folders around ``trained`` (its own split's inputs replaced by ``own_x``)."""
    artifacts, holdout, out = (tmp_path / d for d in ("artifacts", "holdout", "out"))
    for folder in (artifacts, holdout, out):
        folder.mkdir()
    for name in ("model.keras", "probe.json", "own_split.npz"):
        (artifacts / name).write_bytes((trained / name).read_bytes())
    if own_x is not None:
        with np.load(trained / "own_split.npz") as data:
            np.savez(artifacts / "own_split.npz", x=own_x, y=data["y"])
    (holdout / "holdout.npz").write_bytes((trained / "holdout.npz").read_bytes())
    env = {
        **os.environ,
        "PYTHONPATH": str(RUNTIME_PACKAGE.parent),
        **EvalRoots(artifacts=artifacts, holdout=holdout, out=out).env(),
    }
    return out, env


def _run(code: str, spec: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, str(spec)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


EVALUATOR = "import sys\nfrom labgrade_runtime.evaluator.evaluate import main\nraise SystemExit(main(sys.argv[1:]))"


def test_a_3d_own_split_is_fed_to_a_conv2d_as_keras_fed_it(tmp_path: Path, conv: Path) -> None:
    out, env = _job(tmp_path, conv)
    proc = _run(EVALUATOR, conv / "spec.json", env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = read_artifact(out / "evaluation.json", EvalResult)
    assert result is not None and result.ok, result
    assert result.own_split is not None and result.own_split.rows == ROWS, result.own_split
    assert result.own_split.reproduced, result.own_split  # the kernel's own predictions, reproduced
    assert not (out / EVAL_STAGE_FILE).exists()  # finished: no stage left in progress


def test_an_own_split_of_another_shape_is_refused_in_words(tmp_path: Path, conv: Path) -> None:
    out, env = _job(tmp_path, conv, own_x=np.zeros((ROWS, 8, 7), "float32"))
    proc = _run(EVALUATOR, conv / "spec.json", env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = read_artifact(out / "evaluation.json", EvalResult)
    assert result is not None and result.ok and result.own_split is not None
    assert "samples of shape (8, 7) and the model takes (8, 8, 1): not fed to it" in result.own_split.reason


def _aborting(step: str) -> str:
    """The real evaluator, with one step ended natively the way a oneDNN assertion ends it (abort())."""
    target = {
        "own split": "from labgrade_runtime.evaluator import own_split as m\nm.score = lambda *a: os.abort()",
        "holdout": "from labgrade_runtime.evaluator import evaluate as m\nm.builtin_metrics = lambda *a: os.abort()",
    }[step]
    return f"import os\n{target}\n{EVALUATOR}"


def test_an_abort_while_scoring_the_own_split_keeps_the_result(tmp_path: Path, conv: Path) -> None:
    out, env = _job(tmp_path, conv)
    proc = _run(_aborting("own split"), conv / "spec.json", env)
    assert proc.returncode in (-signal.SIGABRT, 128 + signal.SIGABRT), proc.returncode
    stage = json.loads((out / EVAL_STAGE_FILE).read_text())
    assert stage["secondary"] and stage["stage"] == "scoring the notebook's own test split"
    result = settled_evaluation(out, JobResult(ending=Ending.exited, exit_code=proc.returncode, duration_s=1.0))
    assert result.ok and "accuracy" in result.metrics, result  # the main result, measured before the abort
    assert result.own_split is not None and result.own_split.rows == 0
    assert result.own_split.reason.startswith(
        "TensorFlow aborted (SIGABRT) while scoring the notebook's own test split: "
        f"Conv2D model taking (None, 8, 8, 1) fed ({ROWS}, 8, 8) float32"
    ), result.own_split.reason


def test_an_abort_while_scoring_the_holdout_is_a_reason_in_words(tmp_path: Path, conv: Path) -> None:
    out, env = _job(tmp_path, conv)
    proc = _run(_aborting("holdout"), conv / "spec.json", env)
    code = 128 + signal.SIGABRT  # as docker reports it
    assert proc.returncode in (-signal.SIGABRT, code)
    result = settled_evaluation(out, JobResult(ending=Ending.exited, exit_code=code, duration_s=1.0))
    assert not result.ok and result.metrics == {}
    assert result.reason == (
        "TensorFlow aborted (SIGABRT) while scoring the hidden holdout: Conv2D model taking (None, 8, 8, 1)"
    )


def test_a_finished_evaluation_is_read_as_written(tmp_path: Path) -> None:
    (tmp_path / "evaluation.json").write_text(EvalResult(ok=True, metrics={"accuracy": 0.5}).dump())
    result = settled_evaluation(tmp_path, JobResult(ending=Ending.exited, exit_code=0, duration_s=1.0))
    assert result.ok and result.metrics == {"accuracy": 0.5} and result.own_split is None
    gone = settled_evaluation(tmp_path / "none", JobResult(Ending.timeout, None, 300.0, output_tail="x\nlast line"))
    assert not gone.ok and gone.reason == "the evaluator did not finish (timeout): last line"


def test_out_of_vocabulary_lookups_give_zero_vectors_in_the_evaluation(tmp_path: Path) -> None:
    """The model a GPU run trained with indices beyond its Embedding is scored, as the run that trained it."""
    code = """
import numpy as np, keras
from labgrade_runtime.kernel import embedding
m = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(10, 3), keras.layers.Flatten()])
plain = np.asarray(m.predict(np.array([[1, 2, 3, 4]]), verbose=0))
try:
    m.predict(np.array([[1, 2, 30, 4]]), verbose=0)
    raise SystemExit("a CPU lookup out of range did not fail before the patch")
except Exception as exc:
    assert "indices" in str(exc).lower() or "out of range" in str(exc).lower() or "not in" in str(exc), exc
embedding.patch_loaded("keras3")
m = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(10, 3), keras.layers.Flatten()])
m.set_weights([np.arange(30, dtype="float32").reshape(10, 3)])
out = np.asarray(m.predict(np.array([[1, 2, 30, -1]]), verbose=0)).reshape(4, 3)
assert out[0].tolist() == [3, 4, 5] and out[1].tolist() == [6, 7, 8], out
assert out[2].tolist() == [0, 0, 0] and out[3].tolist() == [0, 0, 0], out
hits, top, dims = embedding.out_of_range()
assert hits == 2 and top == 30 and dims == [10], (hits, top, dims)
assert "beyond the layer's vocabulary (input_dim 10; indices up to 30)" in embedding.report()
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": str(RUNTIME_PACKAGE.parent), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
