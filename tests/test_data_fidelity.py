"""Data fidelity: the copy of a course file a notebook's evidence matches is served; real shapes in every profile.

Host side: the store keeps each course file's served canonical rows and writes a chosen variant from them once
per cache key (its key hashes the variant declarations); prepare maps each read with evidence to its variant.
Kernel side: ``datafiles`` answers a mapped read from that variant and says why; ``fit()`` saves the quick
profile's time by training on a seeded sample, never by cutting what the notebook loads.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest

from graders.data.store import _key, served_data, variant_files
from graders.data.variants import load_variants
from graders.paths import RUBRICS_DIR, RUNTIME_PACKAGE
from graders.rubric import available_experiments, load_rubric
from graders.steps.prepare import matched_variants
from tests.job_spec import kernel_spec

sys.path.insert(0, str(RUNTIME_PACKAGE.parent))

from labgrade_runtime.contract import JobSpec, RunRoots  # noqa: E402
from labgrade_runtime.kernel import datafiles, derived, shims  # noqa: E402


def _nb(*cells: str | tuple[str, str]) -> nbformat.NotebookNode:
    """A notebook of cells, each without output or with a saved text/plain result."""
    nb = nbformat.v4.new_notebook()
    for n, cell in enumerate(cells, 1):
        source, saved = (cell, None) if isinstance(cell, str) else cell
        code = nbformat.v4.new_code_cell(source, execution_count=n)
        if saved is not None:
            code.outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": saved}, execution_count=n))
        nb.cells.append(code)
    return nb


KAGGLE_STUDENT = _nb(
    "import pandas as pd\ndf = pd.read_csv('/content/drive/MyDrive/DL/HousingData.csv')",
    ("df.shape", "(506, 14)"),
    ("df.isnull().sum().sum()", "120"),
    "df = df.dropna()\nX = df.drop('MEDV', axis=1)\ny = df['MEDV']",
)


@pytest.fixture(scope="module")
def boston(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Boston's quick-profile data in a cache of this test module's own."""
    return served_data(load_rubric("boston"), "quick", 1234, cache=tmp_path_factory.mktemp("cache"))


# ---------------------------------------------------------------- host side


def test_the_store_key_hashes_the_variant_declarations(tmp_path: Path) -> None:
    shutil.copytree(RUBRICS_DIR / "boston", tmp_path / "boston")
    rubric = load_rubric("boston", tmp_path)
    before = _key(rubric, "quick", 1, None)
    with open(tmp_path / "boston" / "variants.toml", "a", encoding="utf-8") as fh:
        fh.write("\n# a comment changes the declarations' bytes\n")
    assert _key(rubric, "quick", 1, None) != before
    after = _key(rubric, "quick", 1, None)
    (tmp_path / "boston" / "data" / "variants").mkdir(parents=True)
    (tmp_path / "boston" / "data" / "variants" / "v99.csv").write_text("Date,Open\n", encoding="utf-8")
    assert _key(rubric, "quick", 1, None) != after


def test_evidence_maps_the_read_as_written_to_its_variant_with_the_reason(boston: Any) -> None:
    data_map, reasons = matched_variants(load_rubric("boston"), boston, KAGGLE_STUDENT)
    read = "/content/drive/MyDrive/DL/HousingData.csv"
    assert list(data_map) == [read] and data_map[read].startswith("variants/")
    assert "v02" in reasons[read] and "saved outputs" in reasons[read]
    served = pd.read_csv(boston.served_dir / data_map[read])
    assert list(served.columns)[-1] == "MEDV" and served.isna().to_numpy().any()
    assert len(served) == 506 - 56  # the served rows: the hidden holdout is in no variant


def test_a_variant_holds_exactly_the_served_rows(boston: Any) -> None:
    data_map, _ = matched_variants(load_rubric("boston"), boston, KAGGLE_STUDENT)
    variant = pd.read_csv(boston.served_dir / next(iter(data_map.values())))
    canonical = pd.read_csv(boston.served_dir / "files" / "BostonHousing.csv")
    assert np.allclose(variant["MEDV"].to_numpy(), canonical["medv"].to_numpy())


def test_without_evidence_nothing_is_mapped(boston: Any) -> None:
    nb = _nb("df = pd.read_csv('BostonHousing.csv')", "model.fit(df.values[:, :-1], df.values[:, -1])")
    assert matched_variants(load_rubric("boston"), boston, nb) == ({}, {})
    assert matched_variants(load_rubric("fashion"), boston, nb) == ({}, {})  # an experiment without variants


def test_each_variant_is_written_once_per_cache(boston: Any) -> None:
    from graders.data.evidence.choice import choose_for_notebook

    courses = load_variants(RUBRICS_DIR / "boston")
    choices = choose_for_notebook(KAGGLE_STUDENT, courses)
    first = variant_files(boston, choices, courses)
    path = boston.served_dir / next(iter(first.values()))
    stamp = path.stat().st_mtime_ns
    assert variant_files(boston, choices, courses) == first and path.stat().st_mtime_ns == stamp
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_the_job_spec_roots_the_data_map_under_the_data_root() -> None:
    spec = JobSpec(
        notebook="n.ipynb",
        cell_seconds=1,
        output_bytes=10_000,
        profile="quick",
        seed=1,
        data_map={"HousingData.csv": "variants/x.csv"},
        data_reasons={"HousingData.csv": "why"},
    )
    rooted = spec.rooted(RunRoots(work=Path("/w"), out=Path("/o"), data=Path("/data"), adapters=Path("/a")))
    assert rooted.data_map == {"HousingData.csv": "/data/variants/x.csv"}
    assert JobSpec.model_validate_json(rooted.dump()).data_reasons == {"HousingData.csv": "why"}


def _real_sized(experiment: str) -> bool:
    """An experiment whose data has real sizes (Keras datasets or declared course files), not a generated folder."""
    rubric = load_rubric(experiment)
    return bool(rubric.data.keras_datasets) or (rubric.folder / "variants.toml").is_file()


REAL_SIZED = [e for e in available_experiments() if _real_sized(e)]
GENERATED = [e for e in available_experiments() if not _real_sized(e)]


@pytest.mark.parametrize("experiment", REAL_SIZED)
def test_no_profile_cuts_a_dataset_with_real_sizes(experiment: str) -> None:
    """What a notebook loads has the real sizes in every profile: no train_size/test_size for Keras or course data."""
    rubric = load_rubric(experiment)
    for name, profile in rubric.profiles.items():
        assert profile.train_size is None and profile.test_size is None, (experiment, name)


@pytest.mark.parametrize("experiment", GENERATED)
def test_a_generated_image_folder_has_the_size_its_profile_declares(experiment: str) -> None:
    """A generated image folder's size is the profile's own: declared in each profile, the full one the larger."""
    profiles = load_rubric(experiment).profiles
    sizes = {name: profile.train_size for name, profile in profiles.items()}
    assert all(isinstance(size, int) and size > 0 for size in sizes.values()), (experiment, sizes)
    assert sizes["full"] >= sizes["quick"], (experiment, sizes)  # type: ignore[operator]


def test_every_experiment_is_checked_for_its_data_sizes() -> None:
    assert sorted(REAL_SIZED + GENERATED) == sorted(available_experiments()) and REAL_SIZED


# ---------------------------------------------------------------- kernel side


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Path]:
    """The shims' job spec pointing at a work folder with the canonical file and a data root with a variant."""
    work, data = tmp_path / "work", tmp_path / "data" / "variants"
    work.mkdir()
    data.mkdir(parents=True)
    (work / "HousingData.csv").write_text("crim,medv\n1,2\n", encoding="utf-8")
    (data / "BostonHousing__v02.csv").write_text("CRIM,MEDV\n1,2\nNA,3\n", encoding="utf-8")
    noted = set(shims.STATE["noted"])
    with kernel_spec(
        cwd=str(work),
        out_dir=str(tmp_path),
        data_files=["HousingData.csv"],
        seed=7,
        profile="quick",
        data_map={"/content/drive/MyDrive/HousingData.csv": str(data / "BostonHousing__v02.csv")},
        data_reasons={"/content/drive/MyDrive/HousingData.csv": "served v02 because of cell 2"},
    ):
        datafiles.install(None)
        yield tmp_path
    shims.STATE["noted"] = noted


def _noted(folder: Path) -> list[dict[str, str]]:
    path = folder / "adaptations.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_a_mapped_read_is_answered_from_its_variant_and_says_why(kernel: Path) -> None:
    variant = str(kernel / "data" / "variants" / "BostonHousing__v02.csv")
    assert datafiles.local("/content/drive/MyDrive/HousingData.csv") == variant
    assert datafiles.local("HousingData.csv") == variant  # the canonical copy beside the notebook, by its basename
    assert {"kind": "file_variant", "detail": "served v02 because of cell 2"} in _noted(kernel)
    with open("/content/drive/MyDrive/HousingData.csv", encoding="utf-8") as fh:
        assert fh.readline() == "CRIM,MEDV\n"


def test_a_file_the_notebook_wrote_itself_is_never_replaced(kernel: Path) -> None:
    own = kernel / "work" / "sub"
    own.mkdir()
    (own / "HousingData.csv").write_text("mine\n", encoding="utf-8")
    assert datafiles.local(str(own / "HousingData.csv")) == str(own / "HousingData.csv")


def test_kaggle_fashion_pixel_csvs_under_plain_names(tmp_path: Path) -> None:
    from tests.realistic.test_shims_unit import adapters

    adapters()
    x = np.random.RandomState(0).randint(0, 256, (30, 28, 28)).astype("uint8")
    np.savez(tmp_path / "fashion_mnist.npz", x_train=x, y_train=np.arange(30) % 10, x_test=x[:5], y_test=np.arange(5))
    served = {"fashion_mnist": str(tmp_path / "fashion_mnist.npz")}
    with kernel_spec(cwd=str(tmp_path), out_dir=str(tmp_path), keras_datasets=served):
        for name, rows in (("train.csv", 30), ("test.csv", 5), ("fashion-mnist_train.csv", 30)):
            made = derived.make(name, {})
            assert made is not None
            frame = pd.read_csv(made)
            assert frame.shape == (rows, 785) and list(frame.columns[:2]) == ["label", "pixel1"]
        assert (pd.read_csv(tmp_path / "train.csv").iloc[:, 1:].to_numpy() == x.reshape(30, -1)).all()


# ---------------------------------------------------------------- reads found by content, names of other datasets

from graders.data.evidence.choice import choose_for_notebook  # noqa: E402
from graders.data.evidence.progress import fit_rows  # noqa: E402
from graders.data.variants import file_rows, hidden_lines  # noqa: E402


def _stock() -> list[Any]:
    return load_variants(RUBRICS_DIR / "stock")


def _with_stream(nb: nbformat.NotebookNode, cell: int, text: str) -> nbformat.NotebookNode:
    nb.cells[cell].outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
    return nb


WINDOWS = "x = df[['Open']].values\nX = [x[i - 60:i] for i in range(60, len(x))]"


@pytest.mark.parametrize("name", ["AAPL.csv", "/content/drive/MyDrive/TSLA.csv", "msft_stock_prices.csv", "Apple.csv"])
def test_a_read_named_for_another_company_is_never_served_a_course_file(name: str) -> None:
    nb = _nb(f"df = pd.read_csv({name!r})", WINDOWS, ("df.shape", "(1258, 6)"))
    assert choose_for_notebook(nb, _stock()) == {}


def test_a_read_under_a_name_of_the_students_own_is_served_what_its_columns_match() -> None:
    nb = _nb("df = pd.read_csv('my_prices_2012_2016.csv')", WINDOWS)
    choice = choose_for_notebook(nb, _stock())["my_prices_2012_2016.csv"]
    assert choice.decided_by == "code" and "found by content" in choice.reason


def test_a_read_under_its_own_name_whose_columns_are_another_tables_is_left_missing() -> None:
    nb = _nb("df = pd.read_csv('house_sales.csv')", "X = df[['bedrooms', 'sqft_living']]\ny = df['Open']")
    assert choose_for_notebook(nb, _stock()) == {}
    boston = load_variants(RUBRICS_DIR / "boston")
    sales = _nb("df = pd.read_csv('data.csv')", "X = df[['bedrooms', 'sqft_living']]\ny = df['price']")
    assert choose_for_notebook(sales, boston) == {}


def test_a_name_without_evidence_gets_the_copy_most_students_shipped_under_it() -> None:
    nb = _nb("df = pd.read_csv('goog.csv')", "model.fit(df.values, df.values)")
    choice = choose_for_notebook(nb, _stock())["goog.csv"]
    assert (choice.variant, choice.decided_by) == ("v08", "name"), choice.reason
    assert "5 of the students' repositories" in choice.reason
    tied = choose_for_notebook(_nb("df = pd.read_csv('GOOG.csv')"), _stock())["GOOG.csv"]
    assert tied.decided_by == "default"  # four copies, one repository each: no copy leads, the canonical one


@pytest.mark.parametrize(
    ("stream", "batch", "rows"),
    [
        ("Epoch 1/20\n11/11 [==============================] - 1s 5ms/step - loss: 0.1\n", 4, (41, 45)),
        (
            "Epoch 1/5\n\x1b[1m1/11\x1b[0m ━━ 0s\r"
            "\x1b[1m11/11\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m 1s 5ms/step - loss: 0.1\n",
            4,
            (41, 45),
        ),
        ("Train on 44 samples\nEpoch 1/5\n44/44 [====] - 0s - loss: 0.1\n", 32, (44, 45)),
    ],
)
def test_saved_progress_bars_bound_the_rows_a_fit_trained_on(stream: str, batch: int, rows: tuple[int, int]) -> None:
    nb = _with_stream(_nb("import pandas as pd", f"model.fit(X, y, epochs=20, batch_size={batch})"), 1, stream)
    found = fit_rows(nb)
    assert found is not None and (found.low, found.high) == rows


def test_progress_bars_pick_the_short_export_over_a_long_copy_of_the_same_name() -> None:
    """``11/11`` steps at ``batch_size=4``: some 44 windows, a 61-day export, not a 1,258-day file."""
    nb = _nb("df = pd.read_csv('Google_Stock_Price_Train.csv')", WINDOWS, "model.fit(X, y, epochs=20, batch_size=4)")
    _with_stream(nb, 2, "Epoch 1/20\n11/11 [==============================] - 1s 5ms/step - loss: 0.1\n")
    choice = choose_for_notebook(nb, _stock())["Google_Stock_Price_Train.csv"]
    assert (choice.variant, choice.decided_by) == ("v08", "rows"), choice.reason
    assert "saved training run" in choice.reason and "far more than" in choice.reason
    without = _nb("df = pd.read_csv('Google_Stock_Price_Train.csv')", WINDOWS)
    assert choose_for_notebook(without, _stock())["Google_Stock_Price_Train.csv"].variant == "v01"


def test_the_holdout_replaces_a_short_exports_hidden_days_and_keeps_its_length(tmp_path: Path) -> None:
    stock = {c.name: c for c in _stock()}
    data = served_data(load_rubric("stock"), "quick", 1234, cache=tmp_path)
    rows = {name: pd.read_pickle(data.rows_dir / f"{name}.pkl") for name in stock}
    course = stock["Google_Stock_Price_Train.csv"]
    spec = course.variant("v08")
    fill = {name: (stock[name], frame) for name, frame in rows.items()}
    served = pd.read_csv(io.BytesIO(file_rows(spec, course, fill=fill)))
    student = pd.read_csv(io.BytesIO(file_rows(spec, course, hide=False)))
    assert len(served) == len(student) == 61 and hidden_lines(spec, course) == 32
    days = pd.to_datetime(served["Date"], format="%m/%d/%Y")
    assert days.is_monotonic_increasing and days.max() < pd.Timestamp("2017-02-01")
    assert list(served.columns) == list(student.columns) and served.dtypes.equals(student.dtypes)
    assert (
        served["Date"].iloc[0].count("/") == 2 and not served["Date"].str.match(r"0\d/").any()
    )  # unpadded, as its own
    assert served.iloc[32:].reset_index(drop=True).equals(student.iloc[:29])  # its own first 29 days, unchanged
    windows = served["Open"].to_numpy()
    assert len([windows[i - 60 : i] for i in range(60, len(windows))]) == 1  # the 60-day window its author had
    choice = choose_for_notebook(_nb("df = pd.read_csv('goog.csv')", ("df.shape", "(61, 6)")), _stock())["goog.csv"]
    assert "replaced by the 32 trading days before its first day" in choice.reason


def _html_head(columns: list[str], row: list[str]) -> str:
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join(f"<td>{v}</td>" for v in row)
    table = f"<thead><tr><th></th>{head}</tr></thead><tbody><tr><th>0</th>{body}</tr></tbody>"
    return f'<table class="dataframe">{table}</table>'


def _with_html(nb: nbformat.NotebookNode, cell: int, html: str) -> nbformat.NotebookNode:
    nb.cells[cell].outputs = [
        nbformat.v4.new_output("execute_result", data={"text/html": html, "text/plain": "..."}, execution_count=cell)
    ]
    return nb


@pytest.fixture(scope="module")
def imdb(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """IMDB's quick-profile data (its served review CSV) in a cache of this test module's own."""
    return served_data(load_rubric("imdb"), "quick", 1234, cache=tmp_path_factory.mktemp("cache"))


def test_a_review_csv_under_the_students_own_name_is_found_by_its_saved_table(imdb: Any) -> None:
    from graders.data.evidence.served import served_matches

    data = imdb
    read = "/content/drive/MyDrive/NLP/movie_reviews_50k.csv"
    nb = _nb(f"df = pd.read_csv({read!r})", "df.head()", "y = (df['sentiment'] == 'positive').astype(int)")
    _with_html(nb, 1, _html_head(["review", "sentiment"], ["One of the other reviewers has mentioned", "positive"]))
    found, why = served_matches(nb, data.served_dir / "files", data.files, [], {})
    assert found == {read: "files/IMDB Dataset.csv"}
    assert "found by content" in why[read] and "review, sentiment" in why[read]
    other = _nb("df = pd.read_csv('top_movies.csv')", "df.head()")
    _with_html(other, 1, _html_head(["Series_Title", "Released_Year", "IMDB_Rating"], ["The Godfather", "1972", "9.2"]))
    silent = _nb("df = pd.read_csv('movie_reviews_50k.csv')")
    assert served_matches(silent, data.served_dir / "files", data.files, [], {}) == ({}, {})  # left to the kernel
    refused, _ = served_matches(other, data.served_dir / "files", data.files, [], {})
    assert refused == {"top_movies.csv": ".not-a-course-file"}  # another table's columns: refused


def test_prepare_maps_a_read_found_by_content_under_the_data_root(imdb: Any) -> None:
    rubric, data = load_rubric("imdb"), imdb
    nb = _nb("df = pd.read_csv('reviews_mine.csv')", "df.head()")
    _with_html(nb, 1, _html_head(["review", "sentiment"], ["A film", "negative"]))
    data_map, reasons = matched_variants(rubric, data, nb)
    assert (
        data_map == {"reviews_mine.csv": "files/IMDB Dataset.csv"}
        and (data.served_dir / data_map["reviews_mine.csv"]).is_file()
    )
    assert "reviews_mine.csv" in reasons


# ---------------------------------------------------------------- loaders of data the course holds, offline


def test_fetch_openml_and_ucimlrepo_of_the_letters_are_served_from_the_course_file(tmp_path: Path) -> None:
    from tests.realistic.test_shims_unit import adapters

    loaded = adapters()["letters/fetchers"]
    rows = [
        "T,2,8,3,5,1,8,13,0,6,6,10,8,0,8,0,8",
        "I,5,12,3,7,2,10,5,5,4,13,3,9,2,8,4,10",
        "D,4,11,6,8,6,10,6,2,6,10,3,7,3,7,3,9",
    ]
    (tmp_path / "letter-recognition.data").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with kernel_spec(cwd=str(tmp_path), out_dir=str(tmp_path), data_files=["letter-recognition.data"]):
        from sklearn import datasets

        from labgrade_runtime.kernel import sklearn_compat

        sklearn_compat.patch_datasets(datasets)
        bunch = datasets.fetch_openml(name="letter", version=1)
        assert bunch.data.shape == (3, 16) and list(bunch.target) == ["T", "I", "D"] and bunch.target.name == "class"
        x, y = datasets.fetch_openml(data_id=6, as_frame=False, return_X_y=True)
        assert x.shape == (3, 16) and x[1, 0] == 5.0 and list(y) == ["T", "I", "D"]
        uci = loaded.fetch_ucirepo(id=59)
        assert uci.data.features.shape == (3, 16) and list(uci.data.targets["lettr"]) == ["T", "I", "D"]
    assert any("fetch_openml(name='letter')" in n["detail"] for n in _noted(tmp_path))


# ---------------------------------------------------------------- variants' dates as their authors' pandas read them

MIXED_DATES = "Date,Open\n01/03/2012,325.25\n1/13/2012,319.0\n12/30/2016,782.75\n03/01/2017,786.0\n13/01/2017,807.5\n"


@pytest.fixture
def pandas_module(tmp_path: Path) -> Iterator[Any]:
    """pandas' readers and to_datetime, patched as the kernel patches them, on a stand-in module (pandas untouched)."""
    from types import SimpleNamespace

    fake = SimpleNamespace(**{n: getattr(pd, n) for n in (*datafiles.PANDAS_READERS, "to_datetime")})
    fake.DataFrame, fake.Series = pd.DataFrame, pd.Series
    (tmp_path / "prices.csv").write_text(MIXED_DATES, encoding="utf-8")
    with kernel_spec(cwd=str(tmp_path), out_dir=str(tmp_path)):
        datafiles.patch_pandas(fake)
        yield fake


def test_dates_in_more_than_one_form_parse_one_by_one_as_pandas_1_did(pandas_module: Any, tmp_path: Path) -> None:
    """An Excel re-save / a file extended by dd/mm dates: pandas 2 refuses (or leaves text); its author's parsed."""
    frame = pandas_module.read_csv(str(tmp_path / "prices.csv"))
    with pytest.raises(ValueError, match="doesn't match format"):
        pd.to_datetime(frame["Date"])  # what pandas 2 alone does
    days = pandas_module.to_datetime(frame["Date"])
    assert [d.date().isoformat() for d in days] == [
        "2012-01-03",
        "2012-01-13",
        "2016-12-30",
        "2017-03-01",
        "2017-01-13",
    ]
    with pytest.raises(ValueError):
        pandas_module.to_datetime(pd.Series(["1/3/2012", "not a date"]))  # not dates: the error stays
    parsed = pandas_module.read_csv(str(tmp_path / "prices.csv"), parse_dates=["Date"])
    assert parsed["Date"].dtype.kind == "M" and parsed["Date"].iloc[1] == pd.Timestamp("2012-01-13")
    indexed = pandas_module.read_csv(str(tmp_path / "prices.csv"), index_col="Date", parse_dates=True, dayfirst=True)
    assert indexed.index.dtype.kind == "M" and indexed.index[0] == pd.Timestamp("2012-03-01")  # 1 March, day first
    assert sum("parsed one by one, as pandas 1.x did" in n["detail"] for n in _noted(tmp_path)) == 3


def test_a_read_the_evidence_calls_another_dataset_is_refused_by_the_kernel_with_the_reason(
    imdb: Any, tmp_path: Path
) -> None:
    """Movie metadata under an IMDB-looking name is not the review CSV, though the name would route it there."""
    from graders.data.evidence.served import served_matches

    nb = _nb("df = pd.read_csv('imdb_top_1000.csv')", "df.head()")
    _with_html(
        nb, 1, _html_head(["Poster_Link", "Series_Title", "Released_Year", "IMDB_Rating"], ["x", "Up", "2009", "8.2"])
    )
    found, why = served_matches(nb, imdb.served_dir / "files", imdb.files, [], {})
    assert found == {"imdb_top_1000.csv": ".not-a-course-file"} and "another table" in why["imdb_top_1000.csv"]
    ticker, _ = served_matches(_nb("df = pd.read_csv('TSLA.csv')"), imdb.served_dir / "files", [], _stock(), {})
    assert ticker == {"TSLA.csv": ".not-a-course-file"}
    (tmp_path / "IMDB Dataset.csv").write_text("review,sentiment\nfine,positive\n", encoding="utf-8")
    refused = {"imdb_top_1000.csv": str(tmp_path / "data" / ".not-a-course-file")}
    with kernel_spec(
        cwd=str(tmp_path),
        out_dir=str(tmp_path),
        data_files=["IMDB Dataset.csv"],
        data_map=refused,
        data_reasons={"imdb_top_1000.csv": why["imdb_top_1000.csv"]},
    ):
        from labgrade_runtime.errors import LabgradeMissingDataFile

        datafiles.install(None)
        with pytest.raises(LabgradeMissingDataFile, match="imdb_top_1000.csv"):
            datafiles.local("imdb_top_1000.csv")
        assert not os.path.exists("imdb_top_1000.csv")
        assert datafiles.local("IMDB Dataset.csv") == str(tmp_path / "IMDB Dataset.csv")  # the course file, as ever
    assert any(n["kind"] == "file_refused" and "another table" in n["detail"] for n in _noted(tmp_path))


def test_the_code_alone_never_moves_a_read_of_the_course_file_s_own_name_to_other_data() -> None:
    """A read of the Kaggle train file by its own name whose code would fail on its thousands separators: no saved
    output or fit says the author had another copy, so the course file's own rows are served (the code may fail
    as it did for its author), never a 61-day export that happens to parse."""
    nb = _nb(
        "train = pd.read_csv('Google_Stock_Price_Train.csv')",
        "features = train[['Open', 'Volume']].astype(float).values",
    )
    (choice,) = choose_for_notebook(nb, _stock()).values()
    assert choice.variant == "v01" and choice.decided_by == "own name", choice
    assert "the code alone never chooses" in choice.reason
