"""Notebooks read as Jupyter reads them: what Jupyter, VS Code and GitHub tolerate is repaired and said, only what
stays unreadable is rejected; the same reader serves grading, the self-check and the similarity report."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

from graders.integrity import compare_class, doc_from_notebook
from graders.rubric import load_rubric
from graders.submissions import IntakeError, read_archive, read_notebook, read_repaired, read_submission

RUBRICS = [load_rubric("boston")]


def _notebook(cells: list[dict[str, Any]], minor: int = 5) -> dict[str, Any]:
    return {"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": cells}


def _code(source: str, outputs: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": outputs, **fields}


# Each as a real notebook of that kind was saved by a tool that leaves the field out.
NO_OUTPUT_METADATA = _notebook(
    [
        _code(
            "import pandas as pd\ndf = pd.read_csv('BostonHousing.csv')\ndf.head()",
            [{"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": "   crim  zn"}}],
            id="c1",
            execution_count=1,
        ),
        _code("df.plot()", [{"output_type": "display_data", "data": {"text/plain": "<Axes>"}}], id="c2"),
    ]
)
NO_STREAM_NAME = _notebook(
    [_code("print(df.shape)", [{"output_type": "stream", "text": "(506, 14)\n"}], id="c1", execution_count=2)]
)
NO_IDS_NOR_COUNTS = _notebook(
    [
        _code("import numpy as np", []),
        {"cell_type": "markdown", "source": "## Boston housing", "metadata": {}},
        _code("x = np.zeros(3)", [], id="dup", execution_count=3),
        _code("y = x + 1", [], id="dup", execution_count=4),
    ]
)


def _write(tmp_path: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _fails_plain_validation(content: dict[str, Any]) -> bool:
    """Whether nbformat's own validation rejects ``content`` as written (as intake did before repairing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nbformat.validate(nbformat.from_dict(json.loads(json.dumps(content))))
        except nbformat.ValidationError:
            return True
    return False


def test_the_fixtures_fail_plain_validation() -> None:
    """The repairs below are needed: as saved, each fixture is what nbformat.validate rejects."""
    assert _fails_plain_validation(NO_OUTPUT_METADATA)
    assert _fails_plain_validation(NO_STREAM_NAME)
    assert _fails_plain_validation(NO_IDS_NOR_COUNTS)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (NO_OUTPUT_METADATA, "outputs lacked metadata"),
        (NO_STREAM_NAME, "a stream output lacked its name"),
        (NO_IDS_NOR_COUNTS, "cells lacked ids (or shared one)"),
        (NO_IDS_NOR_COUNTS, "code cells lacked their execution count"),
    ],
)
def test_what_jupyter_tolerates_is_repaired_and_said(tmp_path: Path, content: dict[str, Any], said: str) -> None:
    path = _write(tmp_path, "lab.ipynb", content)
    sub = read_submission(path, RUBRICS)
    assert sub.notebook is not None and sub.error == ""
    assert said in sub.repairs, sub.repairs
    nbformat.validate(sub.notebook)  # what intake hands on is a valid notebook
    assert sub.code == "\n".join(c["source"] for c in content["cells"] if c["cell_type"] == "code")  # unchanged


def test_the_repairs_fill_in_what_jupyter_assumes() -> None:
    nb, _ = read_repaired("lab.ipynb", json.dumps(NO_STREAM_NAME).encode())
    assert nb.cells[0].outputs[0].name == "stdout" and nb.cells[0].outputs[0].text == "(506, 14)\n"
    nb, _ = read_repaired("lab.ipynb", json.dumps(NO_OUTPUT_METADATA).encode())
    assert [o.metadata for c in nb.cells for o in c.outputs] == [{}, {}]
    assert nb.cells[1].execution_count is None and nb.cells[0].execution_count == 1
    nb, _ = read_repaired("lab.ipynb", json.dumps(NO_IDS_NOR_COUNTS).encode())
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == 4 and "dup" in ids
    assert [c.source for c in nb.cells][-1] == "y = x + 1"


def test_a_valid_notebook_needs_no_repair(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    assert read_submission(path, RUBRICS).repairs == ()


def test_fields_the_format_does_not_know_are_dropped() -> None:
    content = _notebook([_code("1", [{"output_type": "stream", "name": "stdout", "text": "1", "colab": {}}], id="a")])
    content["cells"][0]["execution_count"] = None
    content["cells"][0]["collapsed_by_tool"] = True
    nb, repairs = read_repaired("lab.ipynb", json.dumps(content).encode())
    assert "collapsed_by_tool" not in nb.cells[0] and "colab" not in nb.cells[0].outputs[0]
    assert "cells held fields the format does not know (dropped)" in repairs
    assert "outputs held fields the format does not know (dropped)" in repairs


@pytest.mark.parametrize(
    "text",
    [
        '{"cells": [ {"cell_type": "code", ',  # not JSON
        "[]",  # JSON, no notebook
        json.dumps(_notebook([{"cell_type": "chart", "source": "x", "metadata": {}, "id": "a"}])),
        json.dumps(_notebook([{"cell_type": "code", "source": 5, "metadata": {}, "id": "a", "outputs": []}])),
    ],
)
def test_what_stays_unreadable_is_rejected_in_one_line(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, "lab.ipynb", text)
    with pytest.raises(IntakeError, match="not a valid notebook") as info:
        read_notebook(path)
    assert "\n" not in str(info.value)
    sub = read_submission(path, RUBRICS)
    assert sub.notebook is None and "not a valid notebook" in sub.error


def test_a_notebook_in_an_archive_is_repaired_too(tmp_path: Path) -> None:
    archive = tmp_path / "lab.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("work/boston.ipynb", json.dumps(NO_OUTPUT_METADATA))
    (sub,) = read_archive(archive, RUBRICS)
    assert sub.notebook is not None and "outputs lacked metadata" in sub.repairs


def test_the_similarity_report_compares_repaired_notebooks(tmp_path: Path) -> None:
    """Two copies of one notebook, one saved without output metadata: both are read and found alike."""
    copied = json.loads(json.dumps(NO_OUTPUT_METADATA))
    for cell in copied["cells"]:
        for out in cell["outputs"]:
            out["metadata"] = {}
    subs = [
        read_submission(_write(tmp_path, "a.ipynb", NO_OUTPUT_METADATA), RUBRICS),
        read_submission(_write(tmp_path, "b.ipynb", copied), RUBRICS),
    ]
    assert all(s.notebook is not None for s in subs)
    docs = [doc_from_notebook(str(i), f"s{i}", str(s.path), s.notebook) for i, s in enumerate(subs, 1) if s.notebook]
    report = compare_class("boston", docs, boilerplate=[])
    assert report.submissions == 2
