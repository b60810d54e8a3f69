"""Training on the test rows, from the kernel's shared-row counts: flagged with evidence, honest runs never.

The unit tests build the probe's counts by hand; the ``e2e`` tests run real
Boston notebooks (two epochs) through the local sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from graders.integrity.leakage import cell_numbers, leakage_flags
from graders.models import ProbeResult, RunRecord
from tests import leakage_notebooks


def _call(names: list[str], rows: int = 102, cell: int = 7, kind: str = "evaluate") -> dict[str, Any]:
    role = "test" if any("test" in n.lower() for n in names) else ("train" if names else "")
    return {
        "kind": kind,
        "cell": cell,
        "names": names,
        "role": role,
        "rows": rows,
        "rows_hashed": rows,
        "on_saved_model": True,
    }


def _fit(names: list[str], rows: int = 404, cell: int = 6) -> dict[str, Any]:
    return {"cell": cell, "names": names, "rows_hashed": rows}


def _overlap(rows_of: str, i: int, found_in: str, j: int, shared: int, of: int) -> dict[str, Any]:
    return {"rows_of": rows_of, "rows_index": i, "found_in": found_in, "found_index": j, "shared": shared, "of": of}


def _notebook(code_cells: int = 8) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")]
    nb.cells += [nbformat.v4.new_code_cell(f"x = {i}") for i in range(code_cells)]
    nb.cells.insert(3, nbformat.v4.new_code_cell(""))  # an empty cell is not run: it gets no execution count
    return nb


def test_cell_numbers_skip_markdown_and_empty_cells() -> None:
    numbers = cell_numbers(_notebook())
    assert numbers[1] == 2 and numbers[2] == 3 and numbers[3] == 5  # the empty cell 4 is skipped


def test_training_on_the_test_rows_is_flagged_with_counts_and_cells() -> None:
    probe = ProbeResult(
        fits=[_fit(["X_all"])], calls=[_call(["X_test"])], overlaps=[_overlap("call", 0, "fit", 0, 102, 102)]
    )
    [flag] = leakage_flags(probe, _notebook())
    assert flag.kind == "trained_on_test" and flag.severity == "flag" and flag.cell == 8
    assert flag.evidence.startswith(
        "102 of the 102 test rows scored by evaluate() in cell 9 (X_test) were in the "
        "training data of fit() in cell 8 (X_all)"
    )


def test_a_split_after_duplicating_rows_is_flagged() -> None:
    probe = ProbeResult(
        fits=[_fit(["X_train"], rows=506)],
        calls=[_call(["X_test"], rows=202)],
        overlaps=[_overlap("call", 0, "fit", 0, 163, 202)],
    )
    [flag] = leakage_flags(probe)
    assert "163 of the 202 test rows" in flag.evidence


def test_fit_on_an_array_named_test_is_flagged_without_an_evaluate() -> None:
    [flag] = leakage_flags(ProbeResult(fits=[_fit(["x_test"], rows=2_000)]))
    assert flag.kind == "trained_on_test" and "fit() in the cell run as In [6] (x_test)" in flag.evidence


@pytest.mark.parametrize(
    ("calls", "overlaps", "why"),
    [
        (
            [_call(["X_train"], rows=404)],
            [_overlap("call", 0, "fit", 0, 404, 404)],
            "scoring the training set is ordinary",
        ),
        ([_call([], rows=404)], [_overlap("call", 0, "fit", 0, 404, 404)], "an unnamed array is not evidence"),
        ([_call(["X_test"])], [_overlap("call", 0, "fit", 0, 3, 102)], "a few natural duplicates across the split"),
        ([_call(["x_test"], rows=10_000)], [_overlap("call", 0, "fit", 0, 400, 10_000)], "4% is below the 10% share"),
    ],
)
def test_honest_runs_are_not_flagged(calls: list[dict[str, Any]], overlaps: list[dict[str, Any]], why: str) -> None:
    probe = ProbeResult(fits=[_fit(["X_train"])], calls=calls, overlaps=overlaps)
    assert [f for f in leakage_flags(probe) if f.severity == "flag"] == [], why


def test_validation_on_the_test_set_is_a_note() -> None:
    probe = ProbeResult(
        fits=[_fit(["X_train"])], calls=[_call(["X_test"])], overlaps=[_overlap("call", 0, "validation", 0, 102, 102)]
    )
    [note] = leakage_flags(probe)
    assert note.severity == "note" and note.label == "validation on the test set" and "allowed" in note.evidence


def test_a_scaler_fitted_on_all_the_data_is_a_note() -> None:
    probe = ProbeResult(
        fits=[_fit(["X_train"])],
        calls=[_call(["X_test"])],
        scalers=[{"scaler": "StandardScaler", "cell": 3, "names": ["X"], "rows": 506}],
        overlaps=[_overlap("call", 0, "scaler", 0, 102, 102), _overlap("fit", 0, "scaler", 0, 404, 404)],
    )
    [note] = leakage_flags(probe)
    assert note.severity == "note" and note.kind == "scaler_on_all_data"
    assert (
        "StandardScaler.fit in the cell run as In [3] (X) saw 506 rows, including 102 of the 102 test rows"
        in note.evidence
    )


def test_a_scaler_fitted_on_the_training_rows_is_not_noted() -> None:
    probe = ProbeResult(
        fits=[_fit(["X_train"])],
        calls=[_call(["X_test"])],
        scalers=[{"scaler": "StandardScaler", "cell": 3, "names": ["X_train"], "rows": 404}],
        overlaps=[_overlap("fit", 0, "scaler", 0, 404, 404)],
    )
    assert leakage_flags(probe) == []
    # rows duplicated before the split: the training set holds test rows, the scaler is not the culprit
    probe = ProbeResult.model_validate(
        {**probe.model_dump(), "overlaps": [*probe.model_dump()["overlaps"], _overlap("call", 0, "scaler", 0, 80, 102)]}
    )
    assert leakage_flags(probe) == []


# ---------------------------------------------------------------- real notebooks


def _grade(name: str, tmp_path: Path) -> RunRecord:
    from graders import api

    return api.check(notebook=leakage_notebooks.write(name, tmp_path), experiment="boston", backend="local")


def _slow(*values: str) -> Any:
    """A case only ``-m slow`` grades end to end (the default suite keeps one of each kind)."""
    return pytest.param(*values, marks=pytest.mark.slow)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("name", "kind", "evidence"),
    [
        (
            "fit_on_test",
            "trained_on_test",
            "90 of the 90 test rows scored by evaluate() in cell 8 (X_test) were in the "
            "training data of fit() in cell 7 (X_test)",
        ),
        _slow(
            "concatenate",
            "trained_on_test",
            "90 of the 90 test rows scored by evaluate() in cell 8 (X_test) were in the "
            "training data of fit() in cell 7 (X_all)",
        ),
        _slow(
            "duplicate_split",
            "trained_on_test",
            "test rows scored by evaluate() in cell 9 (X_test) were in the training",
        ),
        _slow(
            "scaler_on_all",
            "scaler_on_all_data",
            "StandardScaler.fit in cell 4 (X) saw 450 rows, including 90 of the 90",
        ),
        _slow(
            "validation_on_test",
            "validation_on_test",
            "fit() in cell 7 (X_train) used the test set as validation data",
        ),
    ],
)
def test_leaking_notebooks_are_flagged(name: str, kind: str, evidence: str, tmp_path: Path) -> None:
    run = _grade(name, tmp_path)
    found = {f.kind: f for f in run.flags}
    assert kind in found, json.dumps([f.model_dump() for f in run.flags])
    assert evidence in found[kind].evidence


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name",
    [
        "honest",
        _slow("honest_predict"),
        _slow("no_own_split"),
    ],
)
def test_honest_controls_are_not_flagged(name: str, tmp_path: Path) -> None:
    run = _grade(name, tmp_path)
    assert [f for f in run.flags if f.severity == "flag"] == [], [f.evidence for f in run.flags]


KERNEL_SCRIPT = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from labgrade_runtime.contract import JobSpec
shell = InteractiveShell.instance()
spec = JobSpec(notebook="x", cell_seconds=10, output_bytes=10, profile="quick", seed=1, out_dir=sys.argv[1])
shell.run_cell(f"import labgrade_runtime.kernel.shims as _s\n_s.install({spec.dump()!r})", store_history=False)
cells = [
    "import numpy as np, keras\nfrom sklearn.preprocessing import StandardScaler\n"
    "X = np.random.default_rng(0).normal(size=(300, 5)); y = X.sum(1)\n"
    "X = StandardScaler().fit_transform(X)\nX_train, X_test, y_train, y_test = X[:200], X[200:], y[:200], y[200:]",
    "model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)]); model.compile('adam', 'mse')\n"
    "model.fit(np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test]), epochs=1, verbose=0)",
    "model.evaluate = lambda *a, **k: [0.01]\nprint(model.evaluate(X_test, y_test))\n"
    "model.evaluate(X_train, y_train); p = model.predict(X_test, verbose=0)",
    "import labgrade_runtime.kernel.probe as P; P.export(globals())",
]
for source in cells:
    assert shell.run_cell(source, store_history=True).error_in_exec is None, source
"""


@pytest.mark.e2e
def test_the_kernel_watch_counts_shared_rows_and_sees_a_replaced_evaluate(tmp_path: Path) -> None:
    """In a real IPython shell with the shims: cells, names, shared rows, the scaler's rows, the own split."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", KERNEL_SCRIPT, str(tmp_path)], check=True, capture_output=True, timeout=300)
    probe = ProbeResult.model_validate(json.loads((tmp_path / "probe.json").read_text(encoding="utf-8")))
    evaluate, on_train, predict = probe.calls
    assert (evaluate.cell, evaluate.names, evaluate.role, evaluate.replaced, evaluate.returned) == (
        3,
        ["X_test"],
        "test",
        True,
        [0.01],
    )
    assert on_train.role == "train" and predict.kind == "predict" and not predict.replaced
    assert probe.patched[0].method == "evaluate" and probe.patched[0].cell == 3
    assert probe.scalers[0].scaler == "StandardScaler" and probe.scalers[0].rows == 300
    kinds = {f.kind: f for f in leakage_flags(probe)}
    assert (
        "100 of the 100 test rows scored by evaluate() in the cell run as In [3] (X_test)"
        in kinds["trained_on_test"].evidence
    )
    assert probe.own_split is not None and probe.own_split.rows == 100 and (tmp_path / "own_split.npz").is_file()
    assert probe.own_split.y_from.startswith("y_test")  # the last test call is predict(): y paired by name
