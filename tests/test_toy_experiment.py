"""A tenth experiment added as data only: two folders in a course's own home, graded end to end.

``LABGRADE_HOME`` points at a temporary copy of the real ``rubrics/`` and
``reference/`` plus ``rubrics/toy/`` (its rubric, a data provider serving a
small CSV and an npz holdout, a kernel adapter teaching the kernel another
name of that CSV) and ``reference/toy/targets-quick.json``. A small notebook
for it is graded with the local backend (a real kernel, real TensorFlow on
tiny data) in a fresh process, nothing in ``graders/`` or the runtime knowing
the experiment exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from graders.paths import HOME, RUBRICS_DIR

pytestmark = pytest.mark.e2e

RUBRIC = """
id = "toy"
number = "10"
title = "A toy regression: three features, one target"
kind = "regression"
input = "tabular"

[detect]
"tiny_dataset|toy\\\\.csv" = 10

[data]
files = ["toy.csv"]
holdout = "toy"

[profiles.quick]
holdout_size = 50
reference_updates = 100  # the reference: 5 epochs of its rows in batches of 16
update_margin = 2

[metric]
name = "mse"
label = "test MSE"
higher_is_better = false
margin_kind = "relative"
bands = [{ margin = 0.5, fraction = 1.0 }, { margin = 3.0, fraction = 0.5 }]

[structure]
required_layers = ["Dense"]
output_units = 1
output_activation = ["linear"]
losses = ["mse", "mean_squared_error"]

[points.coding_efficiency]
runs = 1.0
metric = 2.0
structure = 1.0
efficiency = 0.5
honest = 0.5

[points.answers]
answer = 5.0

[points.viva]
viva = 5.0

[points.timely_completion]
timely = 5.0

[[questions]]
text = "What does a regression model predict?"
key = "A continuous number, here the target y from the three features."
concepts = [["continuous", "number", "real"], ["feature", "input"]]
"""

PROVIDER = '''
"""The toy experiment's data: y = x . w + noise; 200 rows served as toy.csv, the rest held back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graders.data.datasets.arrays import feature_stats
from graders.rubric import ProfileSpec


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    rng = np.random.RandomState(seed)
    n_hold = profile.holdout_size or 50
    x = rng.normal(size=(200 + n_hold, 3))
    y = x @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.normal(size=len(x))
    files = served / "files"
    files.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({"x1": x[:200, 0], "x2": x[:200, 1], "x3": x[:200, 2], "y": y[:200]})
    table.to_csv(files / "toy.csv", index=False)
    return {
        "keras": {},
        "holdout": {"x": x[200:], "y": y[200:]},
        "raw_stats": {"x": feature_stats(x[:200], True), "y": feature_stats(y[:200], False)},
        "source": {"toy": f"toy rows (seed {seed}), 200 served, {n_hold} held out"},
    }
'''

ADAPTER = '''
"""The toy experiment's kernel adapter: any CSV named like 'tiny' data means the course's toy.csv."""

from __future__ import annotations

from labgrade_runtime.kernel import datafiles


def install() -> None:
    datafiles.register_family(r"tiny", ("toy.csv",))
'''

TARGETS = {
    "experiment": "toy",
    "profile": "quick",
    "seed": 1234,
    "metrics": {"mse": 0.5},
    "total_params": 41,
    "train_seconds": 2.0,
    "train_cpu_seconds": 2.0,
    "dataset_source": {"toy": "toy rows"},
}

CODE = """import pandas as pd
from tensorflow import keras

df = pd.read_csv("/content/drive/MyDrive/my_tiny_dataset.csv")  # found by content: the columns the code uses
rows = open("tiny_rows.csv").read().splitlines()  # nothing but the name: the toy adapter's family, toy.csv
assert len(rows) == len(df) + 1
x, y = df[["x1", "x2", "x3"]].to_numpy("float32"), df["y"].to_numpy("float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=5, batch_size=16, verbose=0)
"""


@pytest.fixture
def toy_home() -> Iterator[Path]:
    """A course home outside the checkout: the real experiments plus rubrics/toy and reference/toy.

    A temporary folder the sandboxed job (another uid) can read, unlike pytest's own tmp_path.
    """
    home = Path(tempfile.mkdtemp(prefix="labgrade-toy-home-"))
    home.chmod(0o755)
    try:
        shutil.copytree(HOME / "rubrics", home / "rubrics", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(HOME / "reference", home / "reference")
        toy = home / "rubrics" / "toy"
        (toy / "kernel").mkdir(parents=True)
        (toy / "rubric.toml").write_text(RUBRIC, encoding="utf-8")
        (toy / "provider.py").write_text(PROVIDER, encoding="utf-8")
        (toy / "kernel" / "files.py").write_text(ADAPTER, encoding="utf-8")
        (home / "reference" / "toy").mkdir()
        (home / "reference" / "toy" / "targets-quick.json").write_text(json.dumps(TARGETS), encoding="utf-8")
        notebook = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell(
                    "# Toy regression\n\nQ: What does a regression model predict?\n\n"
                    "A continuous number (the target y) from the input features."
                ),
                nbformat.v4.new_code_cell(CODE),
            ]
        )
        nbformat.write(notebook, home / "toy_lab.ipynb")
        for path in home.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


GRADE = """
import json, sys
from graders import api, paths
run = api.check(notebook=sys.argv[1], experiment="toy")
print(json.dumps({"home": str(paths.HOME), "status": run.status.value, "reason": run.reason, "metrics": run.metrics,
                  "marks": run.marks.model_dump(mode="json"),
                  "adaptations": [[a.kind, a.detail] for a in run.adaptations]}))
"""


def test_a_tenth_experiment_is_graded_from_its_own_folders(toy_home: Path) -> None:
    assert not (RUBRICS_DIR / "toy").exists()  # the harness's own experiments do not include it
    env = {**os.environ, "LABGRADE_HOME": str(toy_home)}
    proc = subprocess.run(
        [sys.executable, "-c", GRADE, str(toy_home / "toy_lab.ipynb")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    assert run["home"] == str(toy_home)
    assert run["status"] == "completed", run
    assert run["metrics"]["mse"] > 0
    served = {kind: detail for kind, detail in run["adaptations"] if "toy.csv" in detail}
    assert "my_tiny_dataset.csv" in served.get("file_variant", ""), run
    assert "tiny_rows.csv" in served.get("file_alias", ""), run  # the experiment's own kernel adapter named it
    marks = run["marks"]
    assert marks["coding_efficiency"] >= 1.0 and marks["timely_completion"] == 5.0, marks
