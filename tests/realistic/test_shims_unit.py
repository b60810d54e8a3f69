"""The offline/headless shims' decisions, in this process on tiny real files (fast).

The kernel-level behaviour (patches installed in a real kernel) is covered by
test_realistic.py; here each decision is checked directly: which course file
a path means, which formats are derived, which Keras runtime code needs, how
an error is classified, what ``pip install`` does.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from graders.paths import RUNTIME_PACKAGE
from graders.rubric import available_experiments, load_rubric
from tests.job_spec import change_spec, kernel_spec

sys.path.insert(0, str(RUNTIME_PACKAGE.parent))

from labgrade_runtime import errors  # noqa: E402
from labgrade_runtime.kernel import datafiles, derived, environment, keras2, shims, sklearn_compat  # noqa: E402
from labgrade_runtime.kernel.state import JOB  # noqa: E402
from labgrade_runtime.runner import keras_choice  # noqa: E402

BOSTON_HEADER = "crim,zn,indus,chas,nox,rm,age,dis,rad,tax,ptratio,b,lstat,medv"
KAGGLE_HEADER = BOSTON_HEADER.upper()


@cache
def adapters() -> dict[str, ModuleType]:
    """Every experiment's kernel adapters (``rubrics/<id>/kernel/*.py``), loaded and installed once in this process.

    The kernel installs only the graded experiment's; their registrations
    concern only files and datasets that experiment serves, so all of them
    side by side decide exactly as each alone.
    """
    loaded: dict[str, ModuleType] = {}
    for experiment in available_experiments():
        for path in load_rubric(experiment).kernel_adapters():
            spec = importlib.util.spec_from_file_location(f"adapter_under_test_{experiment}_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.install()
            loaded[f"{experiment}/{path.stem}"] = module
    return loaded


def declared_aliases() -> dict[str, list[str]]:
    """Every rubric's ``[data] aliases`` (the job spec carries the graded experiment's)."""
    return {k: v for e in available_experiments() for k, v in load_rubric(e).data.aliases.items()}


@pytest.fixture
def course(tmp_path: Path) -> Iterator[Path]:
    """A work folder with small course files, and the shims' job spec pointing at it."""
    rows = [",".join(str(float(i + j)) for j in range(14)) for i in range(6)]
    (tmp_path / "BostonHousing.csv").write_text(BOSTON_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "HousingData.csv").write_text(KAGGLE_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "letter-recognition.data").write_text("T,2,8,3,5,1,8,13,0,6,6,10,8,0,8,0,8\n", encoding="utf-8")
    (tmp_path / "Google_Stock_Price_Train.csv").write_text(
        'Date,Open,High,Low,Close,Volume\n1/3/2012,325.25,332.83,324.97,663.59,"7,380,500"\n'
        '1/4/2012,331.27,333.87,329.08,666.45,"5,749,400"\n',
        encoding="utf-8",
    )
    np.savez(
        tmp_path / "fashion_mnist.npz",
        x_train=np.arange(2 * 784, dtype="uint8").reshape(2, 28, 28),
        y_train=np.array([3, 7]),
        x_test=np.zeros((1, 28, 28), "uint8"),
        y_test=np.array([1]),
    )
    noted = set(shims.STATE["noted"])
    adapters()
    with kernel_spec(
        cwd=str(tmp_path),
        out_dir=str(tmp_path),
        aliases=declared_aliases(),
        data_files=["BostonHousing.csv", "HousingData.csv", "letter-recognition.data", "Google_Stock_Price_Train.csv"],
        keras_datasets={"fashion_mnist": str(tmp_path / "fashion_mnist.npz")},
    ):
        yield tmp_path
    shims.STATE["noted"] = noted


def noted(folder: Path) -> list[dict[str, str]]:
    """The adaptations the shims wrote."""
    path = folder / "adaptations.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


@pytest.mark.parametrize(
    "path, course_file",
    [
        ("/content/drive/MyDrive/DL/HousingData.csv", "HousingData.csv"),
        ("C:\\Users\\me\\Desktop\\housingdata (1).csv", "HousingData.csv"),
        ("/kaggle/input/boston/BostonHousing.csv", "BostonHousing.csv"),
        ("OCR/letter-recognition.data", "letter-recognition.data"),
        ("/home/amit/Downloads/letter_recognition.csv", "letter-recognition.data"),
        ("trainset.csv", "Google_Stock_Price_Train.csv"),
        ("/content/GOOG_train.csv", "Google_Stock_Price_Train.csv"),
    ],
)
def test_paths_resolve_to_course_files(course: Path, path: str, course_file: str) -> None:
    assert datafiles.resolve(path) == str(course / course_file)


def test_boston_family_follows_the_columns_the_code_names(course: Path) -> None:
    change_spec(code="df = pd.read_csv('1_boston_housing.csv')\ny = df['MEDV']\ndf = df.fillna(0)")
    assert datafiles.resolve("1_boston_housing.csv") == str(course / "HousingData.csv")
    change_spec(code="df = pd.read_csv('1_boston_housing.csv')\ny = df['medv']")
    assert datafiles.resolve("1_boston_housing.csv") == str(course / "BostonHousing.csv")
    change_spec(code="df = pd.read_csv('boston.csv')")  # names no column, fills no NA: the clean file
    assert datafiles.resolve("boston.csv") == str(course / "BostonHousing.csv")


def test_unknown_data_file_is_a_clear_missing_file(course: Path) -> None:
    with pytest.raises(errors.LabgradeMissingDataFile, match="missing data file 'marks_2024.csv'") as info:
        datafiles.local("marks_2024.csv")
    assert isinstance(info.value, FileNotFoundError)  # students' try/except FileNotFoundError still works
    assert datafiles.local("notes_without_suffix") == "notes_without_suffix"  # not data-like: left to the caller
    assert errors.classify(type(info.value).__name__, str(info.value)) == (
        "missing_data_file",
        str(info.value)[len("[labgrade] ") :],
    )


def test_alias_read_is_noted(course: Path) -> None:
    assert datafiles.local("/content/BostonHousing.csv") == str(course / "BostonHousing.csv")
    assert any(a["kind"] == "file_alias" and "/content/BostonHousing.csv" in a["detail"] for a in noted(course))


def test_derived_formats(course: Path) -> None:
    change_spec(code="pd.read_csv('housing.csv', header=None, delim_whitespace=True)")
    uci = Path(datafiles.resolve("housing.csv") or "")
    assert uci.name == "housing.csv" and len(uci.read_text().split("\n")[0].split()) == 14
    assert datafiles.resolve("boston") is None  # a bare name is not StatLib's file; its URL is
    statlib = Path(datafiles.resolve("boston", url=True) or "").read_text().splitlines()
    assert len(statlib) == 22 + 2 * 6 and len(statlib[22].split()) == 11 and len(statlib[23].split()) == 3
    pixels = (
        Path(datafiles.resolve("/kaggle/input/fashionmnist/fashion-mnist_train.csv") or "").read_text().splitlines()
    )
    assert (
        pixels[0].startswith("label,pixel1,pixel2") and pixels[1].split(",")[:3] == ["3", "0", "1"] and len(pixels) == 3
    )


def test_url_of_a_course_file_is_served_else_needs_network(course: Path) -> None:
    from labgrade_runtime.kernel import network

    url = "https://archive.ics.uci.edu/ml/machine-learning-databases/letter-recognition/letter-recognition.data"
    assert network.fetch(url) == str(course / "letter-recognition.data")
    with pytest.raises(errors.LabgradeNeedsNetwork, match="needs network: https://example.org/x.csv"):
        network.fetch("https://example.org/x.csv")


@pytest.mark.parametrize(
    "code, runtime",
    [
        ("from keras.preprocessing.text import Tokenizer", "tf_keras"),
        ("model.predict_classes(x)", "tf_keras"),
        ("opt = Adam(lr=0.01)", "tf_keras"),
        ("from keras.layers.core import Dense", "tf_keras"),
        ("gen = ImageDataGenerator(rescale=1/255)", "tf_keras"),
        (
            "import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
            "model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01))",
            "keras3",
        ),
    ],
)
def test_keras_runtime_is_chosen_from_the_code(code: str, runtime: str) -> None:
    chosen, reasons = keras_choice.choose(code)
    assert chosen == runtime
    assert bool(reasons) == (runtime == "tf_keras")


def test_keras2_errors_trigger_a_rerun_others_do_not() -> None:
    assert keras_choice.looks_keras2("ModuleNotFoundError: No module named 'tensorflow.keras.layers.experimental'")
    assert keras_choice.looks_keras2("AttributeError: 'Sequential' object has no attribute 'predict_classes'")
    assert not keras_choice.looks_keras2("ValueError: Input 0 of layer dense is incompatible with the layer")


def test_alias_targets() -> None:
    to_tf = keras2.KerasAlias(to_tf_keras=True)
    assert to_tf.target("keras") == "tf_keras" and to_tf.target("keras.layers.core") == "tf_keras.layers"
    assert to_tf.target("kerastuner") is None
    on_keras3 = keras2.KerasAlias(to_tf_keras=False)
    assert on_keras3.target("keras.layers.core") == "keras.layers" and on_keras3.target("keras.models") is None


@pytest.mark.parametrize(
    "ename, evalue, status",
    [
        ("URLError", "<urlopen error [labgrade] needs network: a connection to example.org (...)>", "needs_network"),
        (
            "Exception",
            "URL fetch failure on https://x: None -- [labgrade] needs network: a connection to x",
            "needs_network",
        ),
        (
            "StdinNotImplementedError",
            "raw_input was called, but this frontend does not support input requests.",
            "needs_input",
        ),
        ("LabgradeNeedsCamera", "[labgrade] needs a camera: cv2.VideoCapture(0)", "needs_camera"),
        ("ModuleNotFoundError", "No module named 'seaborn_not_installed_xyz'", "missing_package"),
    ],
)
def test_errors_are_classified(ename: str, evalue: str, status: str) -> None:
    found = errors.classify(ename, evalue)
    assert found is not None and found[0] == status


def test_reason_is_cut_out_of_a_library_wrapper() -> None:
    wrapped = (
        "HTTPSConnectionPool(host='api.example.org', port=443): Max retries exceeded (Caused by NameResolutionError("
        f'"{errors.LabgradeNeedsNetwork("a connection to api.example.org")}"))'
    )
    status, reason = errors.classify("ConnectionError", wrapped) or ("", "")
    assert status == "needs_network"
    assert reason == f"needs network: a connection to api.example.org {errors.OFFLINE}"


def test_missing_submodule_of_an_installed_package_is_a_code_error() -> None:
    assert errors.classify("ModuleNotFoundError", "No module named 'numpy.keras_preprocessing'") is None
    assert errors.classify("ValueError", "could not convert string to float: 'NA'") is None


def test_pip_install_is_offline(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environment.pip(
        "install -q --upgrade numpy==1.0 'scikit-learn>=1' definitely-not-installed-pkg-xyz -i https://pypi.example"
    )
    details = [a["detail"] for a in noted(course)]
    assert any("numpy==1.0: already installed" in d for d in details)
    assert any("scikit-learn>=1" in d and "already installed" in d for d in details)
    assert any("definitely-not-installed-pkg-xyz: not installed" in d for d in details)
    assert not any("pypi.example" in d for d in details)
    assert "cannot be installed offline" not in capsys.readouterr().out


def test_yfinance_stand_in_reads_the_kaggle_file(course: Path) -> None:
    stock = adapters()["stock/yfinance_offline"]
    df = stock.download("GOOG", start="2012-01-01", end="2013-01-01", progress=False)
    assert list(df.columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    assert df["Volume"].iloc[0] == 7_380_500 and df.index[0].year == 2012
    with pytest.raises(errors.LabgradeNeedsNetwork):
        stock.download("AAPL")


def test_load_boston_bunch_and_squared(course: Path) -> None:
    bunch = adapters()["boston/sklearn_data"].load_boston()
    assert (
        bunch.data.shape == (6, 13) and bunch.target.shape == (6,) and list(bunch.feature_names[:2]) == ["CRIM", "ZN"]
    )
    import sklearn.metrics as metrics

    rmse = sklearn_compat._with_squared(metrics.mean_squared_error)([0.0, 0.0], [3.0, 4.0], squared=False)
    assert rmse == pytest.approx((12.5) ** 0.5)


def test_derived_is_not_made_when_data_is_not_served(course: Path) -> None:
    change_spec(keras_datasets={})
    assert derived.make("fashion-mnist_train.csv", {}) is None


def test_opencv_is_headless_and_a_webcam_is_a_clear_status(course: Path) -> None:
    """patch_cv2 on a stand-in module: OpenCV itself is not installed on this machine (see the report)."""
    import types

    opened: list[object] = []

    def capture(*args: object) -> str:
        opened.append(args)
        return "capture"

    fake = types.SimpleNamespace(
        imshow=None, waitKey=None, destroyAllWindows=None, VideoCapture=capture, imread=lambda path, *a: path
    )
    environment.patch_cv2(fake)
    assert fake.imshow("window", object()) is None and fake.waitKey(0) == -1
    with pytest.raises(errors.LabgradeNeedsCamera, match=r"VideoCapture\(0\)"):
        fake.VideoCapture(0)
    assert fake.VideoCapture("lecture.mp4") == "capture" and opened == [("lecture.mp4",)]
    assert fake.imread("/content/drive/MyDrive/HousingData.csv") == str(course / "HousingData.csv")
    assert any(a["kind"] == "headless" and "imshow" in a["detail"] for a in noted(course))


def test_pip_install_of_a_stand_in_says_so(course: Path) -> None:
    import importlib.util

    from labgrade_runtime.kernel import stubs

    finder = stubs.StubFinder()
    sys.meta_path.insert(0, finder)
    try:
        environment.pip("install yfinance")
    finally:
        sys.meta_path.remove(finder)
    details = [a["detail"] for a in noted(course)]
    if importlib.util.find_spec("yfinance") is None:
        assert any("stand-in for yfinance" in d for d in details), details
    else:  # the real package is installed: no stand-in is served
        assert any("yfinance: already installed" in d for d in details), details


def test_rubric_declared_aliases_resolve(course: Path) -> None:
    assert datafiles.resolve("prices_from_teacher.csv") is None
    change_spec(aliases={"HousingData.csv": ["prices_from_teacher.csv"], "not_a_course_file.csv": ["x.csv"]})
    assert datafiles.resolve("E:\\lab\\Prices_From_Teacher (2).csv") == str(course / "HousingData.csv")
    assert datafiles.resolve("x.csv") is None  # an alias of a file the course does not serve means nothing


# ---------------------------------------------------------------- registration APIs (what adapters build on)


@pytest.mark.parametrize(
    "module, dataset",
    [
        ("keras.src.datasets.mnist", "mnist"),
        ("keras.datasets.reuters", "reuters"),
        ("tf_keras.datasets.cifar10", "cifar10"),
        ("keras._tf_keras.keras.datasets.imdb", "imdb"),
        ("sklearn.datasets.mnist", None),
        ("keras.datasets", None),
        ("tensorflow_datasets.core", None),
    ],
)
def test_keras_dataset_modules_are_recognised_by_name(module: str, dataset: str | None) -> None:
    from labgrade_runtime.kernel import kerasdata

    assert kerasdata.dataset_of(module) == dataset


def test_a_registered_dataset_is_served_and_an_unregistered_one_needs_network(course: Path) -> None:
    import types

    from labgrade_runtime.kernel import kerasdata

    np.savez(course / "toy.npz", x=np.arange(3))
    change_spec(keras_datasets={"toy_rows": str(course / "toy.npz")})
    change_spec(dataset_source={"toy_rows": "toy rows"})
    fake = types.ModuleType("keras.src.datasets.toy_rows")
    fake.load_data, fake.get_vocabulary = (lambda: "downloaded"), (lambda: "downloaded")  # type: ignore[attr-defined]
    sys.modules[fake.__name__] = fake
    try:
        kerasdata.register_dataset(
            "toy_rows",
            lambda: np.load(kerasdata.data_file("toy_rows"))["x"].tolist(),
            extra={"get_vocabulary": lambda: ["a", "b"]},
        )
        assert fake.load_data() == [0, 1, 2] and fake.get_vocabulary() == [
            "a",
            "b",
        ]  # already imported: patched at once
    finally:
        del sys.modules[fake.__name__]
    assert any(
        "keras.datasets.toy_rows.load_data() served offline" in a["detail"] and "toy rows" in a["detail"]
        for a in noted(course)
    )
    other = types.ModuleType("keras.src.datasets.not_registered")
    other.load_data = lambda: "downloaded"  # type: ignore[attr-defined]
    kerasdata.patch_module(other)
    with pytest.raises(errors.LabgradeNeedsNetwork, match="not_registered is not served"):
        other.load_data()


def test_a_stand_in_module_yields_to_an_installed_package() -> None:
    import types

    from labgrade_runtime.kernel import stubs

    assert not stubs.register("numpy", lambda: {"numpy": types.ModuleType("numpy")})  # installed: the real one wins
    assert stubs.register("labgrade_toy_standin_xyz", lambda: {"labgrade_toy_standin_xyz": types.ModuleType("x")})
    finder = stubs.StubFinder()
    assert finder.find_spec("labgrade_toy_standin_xyz", None) is not None and finder.find_spec("numpy", None) is None


def test_fetch_openml_serves_registered_datasets_only() -> None:
    import types

    fake = types.SimpleNamespace(fetch_openml=lambda *a, **k: "downloaded", fetch_california_housing=None)
    sklearn_compat.patch_datasets(fake)
    sklearn_compat.register_openml(lambda **kwargs: ("served", kwargs["name"]), names=("ToyRows",), data_ids=(99999,))
    assert fake.fetch_openml("toyrows") == ("served", "toyrows")
    assert fake.fetch_openml(data_id=99999) == ("served", None)
    with pytest.raises(errors.LabgradeNeedsNetwork, match="openml.org"):
        fake.fetch_openml("titanic")


def test_families_and_derived_formats_are_registered_in_order(course: Path) -> None:
    (course / "toy.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    change_spec(data_files=[*JOB.spec.data_files, "toy.csv"])
    assert datafiles.resolve("zz_toy_rows.csv") is None
    datafiles.register_family(r"zztoy", ("toy.csv",))
    assert datafiles.resolve("zz_toy_rows.csv") == str(course / "toy.csv")

    def find_toy_table(key: str, files: dict[str, str], url: bool) -> derived.Maker | None:
        return (lambda out: out.write_text("made\n", encoding="utf-8")) if key == "zztable" else None

    derived.register(find_toy_table)
    derived.register(find_toy_table)  # again: replaced, not asked twice
    assert Path(datafiles.resolve("zz_table") or "").read_text(encoding="utf-8") == "made\n"
