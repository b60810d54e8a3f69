"""Intake: validation, hashing, detection from code (names lie), modules, rosters."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from graders.rubric import load_rubric
from graders.submissions import (
    IntakeError,
    detect,
    load_manifest,
    load_roster,
    normalise_roll,
    pick,
    read_notebook,
    read_submission,
)
from tests.conftest import SAMPLE

RUBRICS = [load_rubric("fashion"), load_rubric("boston")]


def test_malformed_notebook_is_a_one_line_reason(tmp_path):
    bad = tmp_path / "lab.ipynb"
    bad.write_text('{"cells": [ {"cell_type": "code", ', encoding="utf-8")
    with pytest.raises(IntakeError) as info:
        read_notebook(bad)
    assert "not a valid notebook" in str(info.value) and "\n" not in str(info.value)
    sub = read_submission(bad, RUBRICS)
    assert sub.notebook is None and "not a valid notebook" in sub.error and len(sub.sha256) == 64


def test_schema_invalid_notebook_is_rejected(tmp_path):
    bad = tmp_path / "lab.ipynb"
    bad.write_text(
        '{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', encoding="utf-8"
    )
    with pytest.raises(IntakeError, match="not a valid notebook"):
        read_notebook(bad)


def test_experiment_is_detected_from_code_not_the_file_name(tmp_path):
    good = nbformat.read(SAMPLE / "sample/1_Good/Assignment1_Boston.ipynb", as_version=4)
    liar = tmp_path / "fashion_assignment.ipynb"
    nbformat.write(good, liar)
    sub = read_submission(liar, RUBRICS)
    assert sub.detected == "boston"
    chosen, note = pick([sub], "boston")
    assert chosen is sub and "named like another experiment" in note


def test_detection_scores_each_experiment():
    found, scores = detect("(x, y), _ = keras.datasets.fashion_mnist.load_data()\nConv2D(32, 3)", RUBRICS)
    assert found == "fashion" and scores["fashion"] > scores["boston"] == 0
    assert detect("print('hello')", RUBRICS)[0] == ""


def test_python_module_becomes_a_notebook(tmp_path):
    module = tmp_path / "boston.py"
    module.write_text("# %%\nimport pandas as pd\n# %%\ndf = pd.read_csv('BostonHousing.csv')\n", encoding="utf-8")
    sub = read_submission(module, RUBRICS)
    assert sub.notebook is not None and len(sub.notebook.cells) == 2 and sub.detected == "boston"


def test_roster_errors_name_the_line(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("roll_no,name\n1,A\nx,B\n", encoding="utf-8")
    with pytest.raises(IntakeError, match="line 3"):
        load_roster(roster)
    assert [s.name for s in load_roster(SAMPLE / "roster.csv")][:2] == ["Good", "Weak"]


def test_a_notebook_in_a_sub_folder_of_an_archive_is_read(tmp_path: Path) -> None:
    """Students zip a folder: the notebook sits at Assignment3/lab.ipynb inside the archive."""
    import zipfile

    import nbformat

    from graders.rubric import load_rubric
    from graders.submissions import read_archive

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("from tensorflow import keras\\nkeras.datasets.fashion_mnist.load_data()")]
    )
    archive = tmp_path / "handin.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Assignment3/lab.ipynb", nbformat.writes(nb))
    subs = read_archive(archive, [load_rubric("fashion")], None)
    assert len(subs) == 1 and str(subs[0].path).endswith("handin.zip!Assignment3/lab.ipynb")
    assert subs[0].notebook is not None and subs[0].error == "" and subs[0].detected == "fashion"


@pytest.mark.parametrize(
    ("text", "roll"), [("7", "7"), ("07", "7"), (" 7 ", "7"), ("7.0", "7"), ("12.00", "12"), ("0", "0")]
)
def test_one_roll_number_rule_accepts_excels_spelling(text: str, roll: str) -> None:
    assert normalise_roll(text) == roll


@pytest.mark.parametrize("bad", ["", "abc", "2a", "-3", "1.5", "1e3", "²"])
def test_one_roll_number_rule_rejects_what_is_not_a_roll_number(bad: str) -> None:
    with pytest.raises(IntakeError, match="is not a roll number"):
        normalise_roll(bad)


def test_roster_manifest_and_marks_files_read_rolls_by_the_same_rule(tmp_path: Path) -> None:
    from graders.desk import marks_import

    roster = tmp_path / "roster.csv"
    roster.write_text("roll_no,name\n7.0,Seven\n08,Eight\n", encoding="utf-8")  # as Excel saves a number column
    assert [s.roll_no for s in load_roster(roster)] == ["7", "8"]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("roll_no,file,submitted_at\n07.0,a.ipynb,2026-08-10T10:15:00\n", encoding="utf-8")
    assert list(load_manifest(manifest)) == [("7", "a.ipynb")]
    assert marks_import.normalise_roll is normalise_roll
