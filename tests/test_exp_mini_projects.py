"""The three mini projects (face, agegender, colorize): data, evaluators, checks, allotment, end to end."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from graders.marking.checks.plugin import run_checks
from graders.models import Artifacts, Status
from graders.paths import HOME
from graders.rubric import ProfileSpec, load_rubric
from tests.artifacts_helper import make_artifacts
from tests.conftest import load_evaluator, load_provider
from tests.eval_inputs import eval_spec, fit_record

MINI = ("face", "agegender", "colorize")
faces, utkface, colorize = (load_provider(experiment) for experiment in MINI)
TINY = ProfileSpec(train_size=40, holdout_size=20)


def _provide(module: ModuleType, root: Path, seed: int = 7) -> dict[str, Any]:
    served = root / "served"
    served.mkdir(parents=True)
    return module.provide(TINY, seed, None, served)


def _read(path: Path, mode: str = "RGB") -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert(mode))


def _min_distance(hidden: np.ndarray, served: np.ndarray) -> float:
    """Smallest mean absolute pixel difference between any hidden image and any served one."""
    h = hidden.reshape(len(hidden), -1).astype("float32")
    s = served.reshape(len(served), -1).astype("float32")
    return float(min(np.abs(s - row).mean(axis=1).min() for row in h))


# ---------------------------------------------------------------- providers


def test_faces_provider_serves_a_folder_tree_and_csv(tmp_path: Path) -> None:
    made = _provide(faces, tmp_path)
    files = tmp_path / "served" / "files"
    table = pd.read_csv(files / "faces.csv")
    public, hidden = faces._counts(TINY)  # at least a few photos of every identity, whatever the profile
    assert list(table.columns) == ["image_id", "identity", "label"] and len(table) == public * faces.N_IDENTITIES
    assert all((files / p).is_file() for p in table["image_id"])
    assert (table["identity"].str.slice(6).astype(int) == table["label"]).all()
    assert sorted(table["identity"].unique()) == [f"celeb_{i:02d}" for i in range(faces.N_IDENTITIES)]
    first = _read(files / table["image_id"][0])
    assert first.shape == (faces.IMAGE_SIZE, faces.IMAGE_SIZE, 3) and first.dtype == np.uint8
    hold = made["holdout"]
    assert hold["x"].shape == (hidden * faces.N_IDENTITIES, faces.IMAGE_SIZE, faces.IMAGE_SIZE, 3)
    assert np.array_equal(np.bincount(hold["y"]), np.full(faces.N_IDENTITIES, hidden))  # the same people, balanced
    assert made["keras"] == {} and "synthetic" in made["source"]["faces"]


def test_utkface_provider_names_files_like_utkface(tmp_path: Path) -> None:
    made = _provide(utkface, tmp_path)
    files = tmp_path / "served" / "files"
    table = pd.read_csv(files / "UTKFace.csv")
    assert list(table.columns) == ["image_path", "age", "gender", "race", "male"] and len(table) == 40
    for _, row in table.iterrows():
        age, gender, race, _ = re.match(r"(\d+)_(\d)_(\d)_(\d+)\.jpg$", row["image_path"]).groups()  # type: ignore[union-attr]
        assert (int(age), int(gender), int(race)) == (row["age"], row["gender"], row["race"])
        assert row["male"] == 1 - row["gender"] and (files / "UTKFace" / row["image_path"]).is_file()
    hold = made["holdout"]
    assert set(hold) == {"x", "age", "gender"} and len(hold["age"]) == 20
    assert hold["age"].min() >= 1 and hold["age"].max() <= 90 and set(hold["gender"]) <= {0, 1}


def test_colorize_provider_serves_lossless_colour(tmp_path: Path) -> None:
    made = _provide(colorize, tmp_path)
    files = tmp_path / "served" / "files"
    pngs = sorted((files / "color_images").glob("*.png"))
    assert len(pngs) == 40 and (files / "bw_image.jpg").is_file()
    with Image.open(files / "bw_image.jpg") as bw:
        assert bw.mode == "L"
    assert made["holdout"]["x"].shape == (20, colorize.IMAGE_SIZE, colorize.IMAGE_SIZE, 3)


@pytest.mark.parametrize("module", [faces, utkface, colorize], ids=MINI)
def test_providers_are_deterministic(tmp_path: Path, module: ModuleType) -> None:
    one, two = _provide(module, tmp_path / "a"), _provide(module, tmp_path / "b")
    for key in one["holdout"]:
        assert np.array_equal(one["holdout"][key], two["holdout"][key])
    listing = [
        sorted(p.relative_to(d).as_posix() for p in (d / "served").rglob("*")) for d in (tmp_path / "a", tmp_path / "b")
    ]
    assert listing[0] == listing[1]
    other = _provide(module, tmp_path / "c", seed=8)
    assert not np.array_equal(one["holdout"]["x"], other["holdout"]["x"])


@pytest.mark.parametrize(
    "module,pattern", [(faces, "faces/*/*.jpg"), (utkface, "UTKFace/*.jpg"), (colorize, "color_images/*.png")], ids=MINI
)
def test_holdout_is_never_served(tmp_path: Path, module: ModuleType, pattern: str) -> None:
    made = _provide(module, tmp_path)
    served = np.stack([_read(p) for p in sorted((tmp_path / "served" / "files").glob(pattern))])
    # JPEG changes pixels by ~1 level; an image served twice would sit far closer than distinct photos do.
    assert _min_distance(made["holdout"]["x"], served) > 3.0
    assert _min_distance(served[:5], served) == 0.0  # the measure does find an image that is served


# ---------------------------------------------------------------- evaluators (real Keras on tiny data)


def test_lab_conversion_matches_known_values_and_round_trips() -> None:
    ev = load_evaluator("colorize")
    red = ev.rgb_to_lab(np.array([1.0, 0.0, 0.0]))
    assert np.allclose(red, [53.24, 80.09, 67.20], atol=0.02)
    assert np.allclose(ev.rgb_to_lab(np.ones(3)), [100, 0, 0], atol=1e-3)
    rgb = np.random.RandomState(0).rand(3, 4, 4, 3)
    assert np.allclose(ev.lab_to_rgb(ev.rgb_to_lab(rgb)), rgb, atol=1e-6)


def test_colorize_score_rewards_true_colour_over_gray() -> None:
    import keras

    ev = load_evaluator("colorize")
    rgb = np.random.RandomState(1).randint(0, 256, (6, 8, 8, 3)).astype("uint8")
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 1, activation="tanh"), keras.layers.UpSampling2D(1)]
    )
    metrics, how = ev.score(model, {"x": rgb}, fit_record(), eval_spec())
    assert metrics["mse_ab_gray"] > 0 and metrics["psnr"] > 0 and "gray input" in how
    truth = ev.rgb_to_lab(rgb / 255.0)
    perfect = ev._metrics(truth[..., 1:], truth)
    assert perfect["colour_gain"] == pytest.approx(1.0) and perfect["psnr"] > 60
    assert ev._metrics(np.zeros_like(truth[..., 1:]), truth)["colour_gain"] == pytest.approx(0.0)


def test_agegender_reads_two_heads_and_the_age_scale() -> None:
    import keras

    ev = load_evaluator("agegender")
    inputs = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(inputs)
    model = keras.Model(
        inputs, [keras.layers.Dense(1, activation="sigmoid", name="g")(flat), keras.layers.Dense(1, name="a")(flat)]
    )
    x = np.random.RandomState(2).rand(5, 8, 8, 3).astype("float32")
    gender, age, n = ev.heads(model, model.predict(x, verbose=0))
    assert n == 2 and gender is not None and age is not None and gender.min() >= 0 and gender.max() <= 1
    combined = np.array([[0.9, 31.0], [0.1, 45.0]])
    g, a, n = ev.heads(model, combined)  # the manual's single Dense(2): [male, age]
    assert n == 1 and list(g) == [0.9, 0.1] and list(a) == [31.0, 45.0]
    raw_age = {"mean": 33.0, "std": 19.0, "max": 90.0}
    years, how = ev.age_back(np.array([0.30, 0.36]), raw_age)
    assert np.allclose(years, [30, 36]) and "age/100" in how
    years, how = ev.age_back(np.array([30.0, 36.0]), raw_age)
    assert np.allclose(years, [30, 36]) and "years" in how


def test_face_score_on_a_tiny_model() -> None:
    import keras

    ev = load_evaluator("face")
    x = np.random.RandomState(3).randint(0, 256, (10, 48, 48, 3)).astype("uint8")
    model = keras.Sequential(
        [keras.Input((24, 24, 1)), keras.layers.Flatten(), keras.layers.Dense(20, activation="softmax")]
    )
    metrics, how = ev.score(model, {"x": x, "y": np.arange(10)}, fit_record(), eval_spec(raw_stats={"x": {}}))
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["chance"] == pytest.approx(0.1)
    assert "not recorded" in how  # a generator-trained model: standard scalings are tried


# ---------------------------------------------------------------- checks


def _artifacts(exp: str, **kw: Any) -> Artifacts:
    base: dict[str, Any] = {
        "experiment": exp,
        "profile": "quick",
        "status": Status.completed,
        "submitted_at": datetime(2026, 10, 1),
        "targets": {
            "metrics": {"accuracy": 0.9, "mae": 8.0, "colour_gain": 0.5},
            "total_params": 1000,
            "train_seconds": 10,
        },
    }
    return make_artifacts(**{**base, **kw})


def _check(results: list[Any], cid: str) -> Any:
    return next(r for r in results if r.id == cid)


def test_agegender_checks_judge_age_and_heads() -> None:
    rubric = load_rubric("agegender")
    arch = [
        {
            "name": "c",
            "class_name": "Conv2D",
            "output_shape": [None, 6, 6, 4],
            "params": 100,
            "activation": "relu",
            "units": 4,
        }
    ]
    good = run_checks(
        rubric,
        _artifacts(
            "agegender",
            metrics={"accuracy": 0.9, "mae": 8.5, "mae_baseline": 16.0, "heads": 2.0},
            architecture=arch,
            total_params=900,
        ),
    )
    assert _check(good, "age").awarded == _check(good, "age").points and _check(good, "heads").passed
    weak = run_checks(
        rubric,
        _artifacts(
            "agegender",
            metrics={"accuracy": 0.6, "mae": 17.0, "mae_baseline": 16.0, "heads": 1.0},
            architecture=arch,
            total_params=900,
        ),
    )
    assert not _check(weak, "age").passed and "guessing the mean" in _check(weak, "age").evidence
    assert not _check(weak, "heads").passed


def test_colorize_image_output_check() -> None:
    rubric = load_rubric("colorize")
    conv = {"name": "out", "class_name": "Conv2D", "params": 10, "activation": "tanh", "units": 2}
    ok = run_checks(
        rubric,
        _artifacts(
            "colorize",
            metrics={"colour_gain": 0.5},
            architecture=[{**conv, "output_shape": [None, 32, 32, 2]}],
            total_params=10,
        ),
    )
    assert _check(ok, "image_output").passed
    flat = run_checks(
        rubric,
        _artifacts(
            "colorize",
            metrics={"colour_gain": 0.1},
            architecture=[{**conv, "output_shape": [None, 2]}],
            total_params=10,
        ),
    )
    assert not _check(flat, "image_output").passed


@pytest.mark.parametrize("exp", MINI)
def test_rubrics_have_five_questions_and_targets(exp: str) -> None:
    rubric = load_rubric(exp)
    assert len(rubric.questions) == 5 and rubric.kind == "custom"
    assert (rubric.folder / "evaluate.py").is_file()
    assert (HOME / "reference" / exp / "targets-quick.json").is_file()


# ---------------------------------------------------------------- allotment


def test_each_student_is_graded_on_their_own_mini_project_only() -> None:
    from graders.config import load_course
    from graders.submissions import class_list

    cfg = load_course(HOME / "submissions" / "course.toml")
    assert set(MINI) <= set(cfg.enabled)
    mine = {s.roll_no: exps for s, exps in class_list(cfg)}
    for roll, exps in mine.items():
        minis = [e for e in exps if e in MINI]
        expected = "face" if int(roll) <= 30 else "agegender" if int(roll) <= 60 else "colorize"
        assert minis == [expected], (roll, exps)
    assert {"31", "61"} <= set(mine)


# ---------------------------------------------------------------- end to end


SAMPLES = {
    "face": ("1_Good", "2_Weak", "3_Broken", "MiniProject1_FaceRecognition.ipynb"),
    "agegender": ("31_Good MP2", "32_Weak MP2", "33_Broken MP2", "MiniProject2_GenderAge.ipynb"),
    "colorize": ("61_Good MP3", "62_Weak MP3", "63_Broken MP3", "MiniProject3_Colorize.ipynb"),
}


@pytest.mark.slow
@pytest.mark.parametrize("exp", MINI)
def test_good_beats_weak_beats_broken(exp: str) -> None:
    from graders import api
    from graders.backends import Limits

    *folders, name = SAMPLES[exp]
    roomy = Limits(cell_seconds=900, wall_seconds=2400)  # a loaded CI host must not turn Good into a timeout
    runs = [api.check(notebook=HOME / "submissions" / "sample" / f / name, limits=roomy) for f in folders]
    good, weak, broken = runs
    assert [r.experiment for r in runs] == [exp] * 3
    assert good.status is Status.completed and good.marks.given >= 14.5, (good.reason, good.marks)  # of 15
    assert good.marks.viva is None and good.marks.total is None  # the viva waits for the examiner
    assert good.marks.coding_efficiency > weak.marks.coding_efficiency > broken.marks.coding_efficiency
    assert broken.status in (Status.cell_error, Status.missing_data_file) and broken.reason
