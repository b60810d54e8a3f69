"""Variants of course files: declarations, writers and the evidence matcher, over all 36 real variants.

Each variant gets a notebook written the way students of the lab write it, whose saved outputs are made by
actually running its cells with pandas on the real variant file (``/work/shared/datasets/variants`` or
``LABGRADE_VARIANTS``). The matcher must pick that variant from the notebook alone, and the file the harness
writes for it must parse under the student's own read call like the student's copy, minus the holdout.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import io
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest

from graders.data.evidence import choice as ev_choice
from graders.data.evidence import reads as ev_reads
from graders.data.evidence import replay as ev_replay
from graders.data.evidence.model import Evidence, ReadCall
from graders.data.variants import CourseFile, VariantSpec, load_variants, read_canonical, student_bytes, variant_bytes
from graders.paths import RUBRICS_DIR

REAL = Path(os.environ.get("LABGRADE_VARIANTS", "/work/shared/datasets/variants"))
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="the catalogue of real student variants is not on this host")
BOSTON_COLS = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT", "MEDV"]

# How a student with each copy reads it and names its target (their code, not the harness's).
STUDENT: dict[tuple[str, str], dict[str, Any]] = {
    ("boston", "v01"): {"target": "medv"},
    ("boston", "v02"): {"target": "MEDV", "prep": "df = df.dropna()"},
    ("boston", "v03"): {"target": "MEDV"},
    ("boston", "v04"): {"target": "MEDV"},
    ("boston", "v05"): {
        "pre": f"column_names = {BOSTON_COLS!r}",
        "kw": ', header=None, sep=r"\\s+", names=column_names',
        "target": "MEDV",
    },
    ("boston", "v06"): {"target": "MEDV"},
    ("boston", "v07"): {"target": "MEDV"},
    ("boston", "v08"): {"target": "MEDV"},
    ("boston", "v09"): {"kw": ", index_col=0", "target": "Price"},
    ("boston", "v10"): {"kw": ", index_col=0", "target": "medv"},
    ("boston", "v11"): {"target": "PRICE"},
    ("boston", "v12"): {"kw": ", skiprows=1", "target": "MEDV"},
    ("boston", "v13"): {"target": "MEDV"},
    ("boston", "v14"): {"target": "medv", "prep": "df['rm'] = df['rm'].fillna(df['rm'].mean())"},
    ("boston", "v15"): {"target": None},
    ("boston", "v16"): {"target": "MEDV"},
    ("letters", "v01"): {"kw": ", header=None", "target": None},
    ("letters", "v02"): {"target": "letter"},
    ("letters", "v03"): {"zip": True, "kw": ", header=None", "target": None},
    ("stock", "v12"): {"kw": ", sep='\\t'", "target": "Open"},
    ("stock", "v13"): {"target": "open"},
    ("stock", "v14"): {"kw": ", skiprows=[1, 2]", "target": "Open"},
    ("stock", "v15"): {"target": "open"},
}
ALL = (
    [
        (exp, f.name.split("__")[0], f.name.split("__")[1])
        for exp in ("boston", "letters", "stock")
        for f in sorted((REAL / exp).glob("v*__*"))
    ]
    if REAL.is_dir()
    else []
)


# ---------------------------------------------------------------- a notebook, run for real


def run_cells(cells: list[str], folder: Path, *, html: bool = True) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with the outputs pandas gives when they run in ``folder`` (Jupyter's display)."""
    nb = nbformat.v4.new_notebook()
    ns: dict[str, Any] = {}
    here = Path.cwd()
    os.chdir(folder)
    try:
        display = ("display.max_columns", 20, "display.max_rows", 60, "display.width", 80)
        with warnings.catch_warnings(), pd.option_context(*display):
            warnings.simplefilter("ignore")
            for n, source in enumerate(cells, 1):
                nb.cells.append(_run_cell(source, ns, n, html))
    finally:
        os.chdir(here)
    return nb


def _run_cell(source: str, ns: dict[str, Any], n: int, html: bool) -> nbformat.NotebookNode:
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, f"cell{n}", "exec"), ns)  # noqa: S102 - the test's own notebook cells
        value = eval(compile(ast.Expression(last.value), f"cell{n}", "eval"), ns) if last else None  # noqa: S307
    cell = nbformat.v4.new_code_cell(source, execution_count=n)
    if out.getvalue():
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=out.getvalue()))
    if value is not None:
        data = {"text/plain": repr(value)}
        if html and isinstance(value, pd.DataFrame):
            data["text/html"] = value._repr_html_()
        cell.outputs.append(nbformat.v4.new_output("execute_result", data=data, execution_count=n))
    return cell


def student_notebook(exp: str, vid: str, read_name: str, folder: Path, *, html: bool = True) -> nbformat.NotebookNode:
    """The cells a student with copy ``vid`` writes: read, head(), shape, info(), then their model's X/y."""
    how = STUDENT.get((exp, vid), {"target": "Open" if exp == "stock" else None})
    cells = ["import pandas as pd\nimport numpy as np"]
    if how.get("zip"):
        cells.append(f"import zipfile\nwith zipfile.ZipFile({read_name!r}) as z:\n    z.extractall()")
        read_name = "letter-recognition.data"
    pre = how["pre"] + "\n" if how.get("pre") else ""
    cells.append(pre + f"df = pd.read_csv({read_name!r}{how.get('kw', '')})")
    cells += ["df.head()", "df.shape", "df.info()"]
    if how.get("prep"):
        cells.append(how["prep"])
    if how.get("target"):
        cells.append(f"X = df.drop({how['target']!r}, axis=1)\ny = df[{how['target']!r}]")
    return run_cells(cells, folder, html=html)


def courses(exp: str) -> list[CourseFile]:
    return load_variants(RUBRICS_DIR / exp)


def served_rows(course: CourseFile, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The canonical rows a provider serves (holdout removed, as graders.data.store / graders.data.datasets do)."""
    rows = read_canonical(course)
    if course.holdout.kind == "rows":
        n_hold = 56 if len(rows) < 1000 else 2000
        order = np.random.RandomState(seed).permutation(len(rows))
        return rows.iloc[np.sort(order[n_hold:])], np.sort(order[:n_hold])
    if course.canonical_date_format == "%Y-%m-%d":  # the Yahoo file is served up to the last Kaggle day
        return rows[rows[course.date_column] <= "2017-01-31"], np.array([], dtype=int)
    return rows, np.array([], dtype=int)


def find(exp: str, vid: str) -> tuple[CourseFile, VariantSpec]:
    for course in courses(exp):
        for spec in course.variants:
            if spec.id == vid:
                return course, spec
    raise KeyError(vid)


def _student_read(nb: nbformat.NotebookNode, exclude_archive: bool = True) -> Evidence:
    reads = [e for e in ev_reads.notebook_reads(nb) if e.read is not None]
    return next(e for e in reads if e.read is not None and (e.read.func != "archive" or not exclude_archive))


def _parse(data: bytes, read: ReadCall) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_csv(io.BytesIO(data), **ev_replay._read_options(read.kwargs))


def _table_bytes(data: bytes, spec: VariantSpec) -> bytes:
    if spec.archive is None:
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(spec.archive.data_member)


# ---------------------------------------------------------------- declarations and writers


def test_every_real_variant_is_declared() -> None:
    declared = {(exp, v.id) for exp in ("boston", "letters", "stock") for c in courses(exp) for v in c.variants}
    assert len(declared) == 36
    if REAL.is_dir():
        assert {(exp, vid) for exp, vid, _ in ALL} == declared


@needs_real
@pytest.mark.parametrize(("exp", "vid", "name"), ALL, ids=[f"{e}-{v}" for e, v, _ in ALL])
def test_declared_format_rebuilds_the_students_bytes(exp: str, vid: str, name: str) -> None:
    """A format over the canonical rows, applied to all of them, gives the student's file byte for byte."""
    course, spec = find(exp, vid)
    real = (REAL / exp / f"{vid}__{name}").read_bytes()
    if spec.archive is None:
        assert student_bytes(course, vid) == real
    else:
        with zipfile.ZipFile(io.BytesIO(real)) as zf:
            assert student_bytes(course, vid) == zf.read(spec.archive.data_member)
            for member in spec.archive.members:
                assert (course.folder / member.file).read_bytes() == zf.read(member.name)


# ---------------------------------------------------------------- the matcher, one notebook per variant


@needs_real
@pytest.mark.parametrize(("exp", "vid", "name"), ALL, ids=[f"{e}-{v}" for e, v, _ in ALL])
def test_saved_outputs_pick_the_students_variant(exp: str, vid: str, name: str, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes((REAL / exp / f"{vid}__{name}").read_bytes())
    nb = student_notebook(exp, vid, name, tmp_path, html=int(vid[1:]) % 2 == 1)
    choices = ev_choice.choose_for_notebook(nb, courses(exp))
    choice = choices[name]
    if STUDENT.get((exp, vid), {}).get("zip"):  # the archive is known by how it is opened; its member by outputs
        assert (choice.variant, choice.decided_by) == (vid, "code"), choice.reason
        choice = choices["letter-recognition.data"]
        vid = "v01"
    assert (choice.variant, choice.decided_by) == (vid, "outputs"), choice.reason
    assert "saved outputs" in choice.reason and "cell 4" in choice.reason


@needs_real
@pytest.mark.parametrize(("exp", "vid", "name"), ALL, ids=[f"{e}-{v}" for e, v, _ in ALL])
def test_served_file_parses_like_the_students_copy(exp: str, vid: str, name: str, tmp_path: Path) -> None:
    """Same columns, dtypes, NA presence and number parsing under the student's own read; holdout rows absent."""
    course, spec = find(exp, vid)
    (tmp_path / name).write_bytes((REAL / exp / f"{vid}__{name}").read_bytes())
    read = _student_read(student_notebook(exp, vid, name, tmp_path)).read
    assert read is not None
    rows, hold = served_rows(course)
    served = _parse(_table_bytes(variant_bytes(spec, course, rows), spec), read)
    student = _parse(student_bytes(course, vid), read)
    assert list(served.columns) == list(student.columns)
    assert served.dtypes.astype(str).to_dict() == student.dtypes.astype(str).to_dict()
    assert bool(served.isna().to_numpy().any()) == bool(student.isna().to_numpy().any())
    expected = _expected_rows(course, spec, student, hold)
    pd.testing.assert_frame_equal(served.reset_index(drop=True), expected.reset_index(drop=True))


def _expected_rows(course: CourseFile, spec: VariantSpec, student: pd.DataFrame, hold: np.ndarray) -> pd.DataFrame:
    """The student's rows that the harness may serve: held-out canonical rows and hidden dates removed."""
    if course.holdout.kind == "rows":
        order = read_canonical(course).index + 1
        order = order[~order.isin(spec.exclude_rows)]
        if spec.include_rows is not None:
            order = order[order.isin(spec.include_rows)]
        kept = ~np.isin(order - 1, hold)
        assert kept.sum() < len(order)  # some of this copy's rows are held out
        return student[kept]
    assert course.holdout.hidden_from is not None and course.holdout.hidden_to is not None
    skip = spec.header_lines if spec.source == "file" else 1
    text = student_bytes(course, spec.id).decode("utf-8").splitlines()[skip:]
    days = [_day(spec, course, line, i) for i, line in enumerate(text, 1) if line.strip()]
    shown = [not (course.holdout.hidden_from <= d <= course.holdout.hidden_to) for d in days]
    if course.canonical_date_format == "%Y-%m-%d" and spec.source == "canonical":
        shown = [s and d <= dt.date(2017, 1, 31) for s, d in zip(shown, days)]
    return student[np.array(shown[: len(student)])]


def _day(spec: VariantSpec, course: CourseFile, line: str, row: int) -> dt.date:
    if spec.source == "file":
        from graders.data.variants import _line_date

        return _line_date(spec, line, row)
    field = next(iter(__import__("csv").reader([line])))[0]
    fmt = spec.date_format or course.canonical_date_format or "%Y-%m-%d"
    try:
        return dt.datetime.strptime(field, fmt.replace("%-", "%")).date()
    except ValueError:
        return dt.datetime.strptime(field, (spec.date_format_day_gt_12 or fmt).replace("%-", "%")).date()


# ---------------------------------------------------------------- evidence rules


def _nb(*cells: str | tuple[str, str]) -> nbformat.NotebookNode:
    """A notebook of cells without outputs, or (source, saved text/plain) pairs."""
    nb = nbformat.v4.new_notebook()
    for n, cell in enumerate(cells, 1):
        source, saved = (cell, None) if isinstance(cell, str) else cell
        code = nbformat.v4.new_code_cell(source, execution_count=n)
        if saved is not None:
            code.outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": saved}, execution_count=n))
        nb.cells.append(code)
    return nb


def test_no_evidence_serves_the_canonical_copy() -> None:
    nb = _nb("df = pd.read_csv('BostonHousing.csv')", "model.fit(df.values[:, :-1], df.values[:, -1])")
    choice = ev_choice.choose_for_notebook(nb, courses("boston"))["BostonHousing.csv"]
    assert (choice.variant, choice.decided_by) == ("v01", "default")
    assert "canonical" in choice.reason


def test_no_evidence_routes_each_stock_read_to_its_course_files_canonical_copy() -> None:
    nb = _nb(
        "train = pd.read_csv('/content/Google_Stock_Price_Train.csv')",
        "test = pd.read_csv('Google_Stock_Price_Test.csv')",
    )
    choices = ev_choice.choose_for_notebook(nb, courses("stock"))
    assert choices["/content/Google_Stock_Price_Train.csv"].variant == "v01"
    assert choices["Google_Stock_Price_Test.csv"].variant == "v02"


@pytest.mark.parametrize("name", ["HousingData.csv", "BostonHousing.csv", "data.csv"])
def test_code_only_upper_case_target_without_na_handling_gets_an_na_free_copy(name: str) -> None:
    nb = _nb(f"df = pd.read_csv({name!r})", "X = df.drop('MEDV', axis=1)\ny = df['MEDV']\nmodel.fit(X, y)")
    choice = ev_choice.choose_for_notebook(nb, courses("boston"))[name]
    assert (choice.variant, choice.decided_by) == ("v04", "code"), choice.reason
    assert "v02 has NA cells the code never handles" in choice.reason


def test_a_whitespace_read_without_names_gets_the_whitespace_separated_copy() -> None:
    """``read_csv(sep=whitespace, header=None)`` leaves every line of a comma-separated copy one text field."""
    nb = _nb(
        "dataframe = pd.read_csv('housing.csv', delim_whitespace=True, header=None)",
        "dataset = dataframe.values\nX = dataset[:, 0:13]\nY = dataset[:, 13]",
    )
    choice = ev_choice.choose_for_notebook(nb, courses("boston"))["housing.csv"]
    assert choice.variant == "v05", choice.reason  # the UCI housing.data layout
    assert "one text field" in choice.reason


def test_code_only_upper_case_target_with_na_handling_gets_the_kaggle_copy_with_na() -> None:
    nb = _nb(
        "df = pd.read_csv('boston.csv')\ndf.isnull().sum()", "df = df.fillna(df.mean())", "X = df.drop('MEDV', axis=1)"
    )
    choice = ev_choice.choose_for_notebook(nb, courses("boston"))["boston.csv"]
    assert choice.variant == "v02", choice.reason


@needs_real
def test_saved_outputs_win_over_conflicting_code_and_say_so(tmp_path: Path) -> None:
    (tmp_path / "HousingData.csv").write_bytes((REAL / "boston" / "v01__BostonHousing.csv").read_bytes())
    nb = run_cells(["import pandas as pd\ndf = pd.read_csv('HousingData.csv')", "df.head()", "df.shape"], tmp_path)
    nb.cells.append(nbformat.v4.new_code_cell("X = df.drop('MEDV', axis=1)\ny = df['MEDV']\nz = df['RM']"))
    choice = ev_choice.choose_for_notebook(nb, courses("boston"))["HousingData.csv"]
    assert (choice.variant, choice.decided_by) == ("v01", "outputs")
    assert "but the saved outputs win" in choice.reason


@needs_real
@pytest.mark.parametrize(("exp", "vid", "name"), [a for a in ALL if a[0] == "boston"], ids=lambda a: str(a))
def test_a_misleading_file_name_changes_nothing(exp: str, vid: str, name: str, tmp_path: Path) -> None:
    """Every Boston copy read under the canonical's name (or a neutral one) is still recognised by its outputs."""
    for read_name in ("BostonHousing.csv", "data.csv"):
        (tmp_path / read_name).write_bytes((REAL / exp / f"{vid}__{name}").read_bytes())
        nb = student_notebook(exp, vid, read_name, tmp_path, html=False)
        assert ev_choice.choose_for_notebook(nb, courses(exp))[read_name].variant == vid


def test_letters_header_evidence_from_code() -> None:
    with_header = _nb("df = pd.read_csv('letter-recognition.csv')\nX = df.drop('letter', axis=1)\ny = df['letter']")
    without = _nb("df = pd.read_csv('letter-recognition.csv', header=None)\nX = df.iloc[:, 1:]\ny = df[0]")
    assert ev_choice.choose_for_notebook(with_header, courses("letters"))["letter-recognition.csv"].variant == "v02"
    assert ev_choice.choose_for_notebook(without, courses("letters"))["letter-recognition.csv"].variant == "v01"


def test_excel_saved_stock_file_from_code_that_casts_close() -> None:
    """Code that casts Close without stripping separators had a numeric Close: not the byte-exact Kaggle file."""
    nb = _nb("df = pd.read_csv('Google_Stock_Price_Train.csv')\nclose = df['Close'].astype(float)")
    choice = ev_choice.choose_for_notebook(nb, courses("stock"))["Google_Stock_Price_Train.csv"]
    assert choice.variant == "v04", choice.reason
    stripped = _nb(
        "df = pd.read_csv('Google_Stock_Price_Train.csv')", "close = df['Close'].str.replace(',', '').astype(float)"
    )
    assert ev_choice.choose_for_notebook(stripped, courses("stock"))["Google_Stock_Price_Train.csv"].variant == "v01"


def test_a_shape_output_alone_tells_a_short_yahoo_export_from_the_kaggle_file() -> None:
    nb = _nb("df = pd.read_csv('goog.csv')", ("df.shape", "(61, 6)"))
    choice = ev_choice.choose_for_notebook(nb, courses("stock"))["goog.csv"]
    assert (choice.variant, choice.decided_by) == ("v08", "outputs"), choice.reason


def test_removed_pandas_options_are_read_as_pandas_3_does() -> None:
    read = ev_reads.notebook_evidence(_nb("df = pd.read_csv('housing.csv', header=None, delim_whitespace=True)")).read
    assert read is not None and ev_replay._read_options(read.kwargs) == {"header": None, "sep": r"\s+"}


def test_every_served_stock_file_hides_the_holdout_period() -> None:
    for course in courses("stock"):
        rows, _ = served_rows(course)
        for spec in course.variants:
            lines = variant_bytes(spec, course, rows).decode("utf-8").splitlines()[spec.header_lines :]
            for i, line in enumerate(filter(str.strip, lines), 1):
                day = _day(spec, course, line, i) if spec.source == "canonical" else None
                assert day is None or not (dt.date(2017, 2, 1) <= day <= dt.date(2017, 12, 31))
            assert not any(line.startswith(("2017-03", "2017-06")) for line in lines), spec.id


def test_a_file_variant_cannot_be_declared_over_held_out_rows() -> None:
    course = courses("boston")[0]
    bad = course.model_dump() | {
        "variants": [v.model_dump() for v in course.variants]
        + [{"id": "v99", "label": "x", "source": "file", "file": "x.csv", "dates": [{"format": "%Y"}]}]
    }
    with pytest.raises(ValueError, match="cannot hide held-out rows"):
        CourseFile.model_validate(bad)


def test_serve_writes_each_choice_once_and_maps_read_names(tmp_path: Path) -> None:
    files = courses("stock")
    nb = _nb(
        "train = pd.read_csv('Google_Stock_Price_Train.csv')",
        ("train.shape", "(1509, 6)"),
        "test = pd.read_csv('Google_Stock_Price_Test.csv')",
        ("test.shape", "(125, 6)"),
    )
    choices = ev_choice.choose_for_notebook(nb, files)
    assert {k: c.variant for k, c in choices.items()} == {
        "Google_Stock_Price_Train.csv": "v05",
        "Google_Stock_Price_Test.csv": "v06",
    }
    served = ev_choice.serve(choices, files, {c.name: served_rows(c)[0] for c in files}, tmp_path)
    train = pd.read_csv(tmp_path / served["Google_Stock_Price_Train.csv"])
    # as long as the student's copy: the Kaggle years and January 2017, and in place of the hidden rest of 2017
    # (the holdout) the 231 trading days before 2012, written in the copy's own format
    assert len(train) == 1509
    assert list(train["Date"].iloc[[230, 231, -1]]) == ["12/30/2011", "01/03/2012", "31/01/2017"]
    assert len(pd.read_csv(tmp_path / served["Google_Stock_Price_Test.csv"])) == 125


def test_a_broken_variants_file_is_one_line_naming_every_problem(tmp_path: Path) -> None:
    from graders.rubric import RubricError

    text = (RUBRICS_DIR / "boston" / "variants.toml").read_text(encoding="utf-8")
    (tmp_path / "variants.toml").write_text(text.replace("canonical_variant =", "canonical_varaint =", 1), "utf-8")
    with pytest.raises(RubricError) as info:
        load_variants(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'variants.toml'}: 2 problems: ") and "\n" not in message
    assert "key 'canonical_variant': Field required" in message
    assert "unknown key 'canonical_varaint' (a misspelt table or key? known: name, canonical," in message
