"""The locked grading runtime: built from sandbox/lock/runtime.lock into a fresh environment, checked against the
lock, and running notebooks as their authors ran them (numpy 2.0, pandas 2.2, Colab's preinstalled packages).

The build itself is the session's fixture: every run of this file builds the environment from scratch into a
fresh virtual environment in a temporary cache, with the same builder the local backend uses. pip installs the
lock's wheels, each checked against its hash, from the wheelhouse the grading image is built from (downloaded once
per machine, see tests/conftest.py), so the test measures the install, not the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from graders import api
from graders.backends import runtime_env
from graders.backends.base import Job, Limits, Mount
from graders.backends.local import LocalSandbox
from graders.paths import RUNTIME_PACKAGE
from labgrade_runtime.contract import JobSpec, RunRoots

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "sandbox" / "lock" / "runtime.lock"

# What students ran: the idioms that newer releases break, each as the author wrote it.
FIDELITY_CELLS = [
    "import numpy as np\nimport pandas as pd\nprint('numpy', np.__version__, 'pandas', pd.__version__)",
    "x = np.arange(12)\nprint('reshaped', np.reshape(x, newshape=(3, 4)).shape)",
    "df = pd.DataFrame({'rm': [6.5, np.nan, 7.1, np.nan], 'age': [65.2, 78.9, np.nan, 45.8], 'id': [1, 2, 3, 4]})\n"
    "df = df.drop(columns=['id'], axis=1)\n"
    "print('columns', list(df.columns))",
    "for col in ['rm', 'age']:\n    df[col].fillna(df[col].mean(), inplace=True)\n"
    "print('NA left', int(df.isna().sum().sum()))\nprint('rm', df['rm'].round(2).tolist())",
    "import mlxtend\nfrom mlxtend.plotting import plot_confusion_matrix\nprint('mlxtend', mlxtend.__version__)",
    "from google.colab.patches import cv2, cv2_imshow\nprint('cv2', cv2.__version__)",
]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, lock_wheelhouse: Path) -> Path:
    """The grading runtime built from scratch by the builder into a temporary cache: its interpreter. The builder's
    pip reads its index settings from the environment: here, the lock's wheelhouse and no index."""
    cache = tmp_path_factory.mktemp("runtime-cache")
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as offline:
        offline.setenv("PIP_NO_INDEX", "1")
        offline.setenv("PIP_FIND_LINKS", str(lock_wheelhouse))
        python = runtime_env.ensure(cache=cache, progress=lines.append)
    assert lines[0] == "building the grading runtime from sandbox/lock/runtime.lock (first use, a few minutes)"
    return python


def test_the_build_is_the_lock_exactly(built: Path) -> None:
    env = built.parent.parent
    assert env.name == f"py{sys.version_info.major}.{sys.version_info.minor}-{runtime_env.lock_digest(LOCK)}"
    assert runtime_env.mismatches(built, LOCK) == []
    versions = runtime_env.installed_versions(built)
    for name, version in {"numpy": "2.0.2", "pandas": "2.2.2", "keras": "3.8.0", "mlxtend": "0.23.4"}.items():
        assert versions[name] == version
    marker = json.loads((env / runtime_env.MARKER).read_text())
    assert marker["lock"] == runtime_env.lock_digest(LOCK)
    # Renamed into place when complete: no staging folder or build log is left beside it.
    assert sorted(p.name for p in env.parent.iterdir()) == sorted([env.name, f".{env.name}.lock"])


def test_a_second_ensure_reuses_the_build_and_a_drifted_env_is_one_line(built: Path) -> None:
    cache = built.parent.parent.parent.parent
    said: list[str] = []
    assert runtime_env.ensure(cache=cache, progress=said.append) == built and said == []
    # A drift: the lock asks for another version of one package than the environment holds.
    drifted = cache / "drifted.lock"
    drifted.write_text(LOCK.read_text().replace("numpy==2.0.2 ", "numpy==2.4.6 "))
    with pytest.raises(runtime_env.RuntimeEnvError) as info:
        runtime_env.check(built, drifted, fix="rebuild it")
    message = str(info.value)
    assert "numpy 2.0.2 (lock: 2.4.6)" in message and message.endswith("rebuild it") and "\n" not in message


def test_a_second_builder_waits_for_the_first_and_uses_its_build(tmp_path: Path, built: Path) -> None:
    """While one builder holds the build lock, another one for the same environment waits; when the first renames
    its finished build into place, the second uses it (no second build, a moved environment still works)."""
    cache = built.parent.parent.parent.parent
    other_lock = tmp_path / "runtime.lock"  # the same pins under another digest: an environment not built yet
    other_lock.write_text(LOCK.read_text() + "# the same packages\n")
    target = runtime_env.env_dir(cache, other_lock)
    said: list[str] = []
    found: list[Path] = []
    waiter = threading.Thread(
        target=lambda: found.append(runtime_env.ensure(cache=cache, lock=other_lock, progress=said.append))
    )
    with runtime_env._build_lock(target):  # the first builder, at work
        waiter.start()
        waiter.join(timeout=3)
        assert waiter.is_alive() and not target.exists()  # waiting on the lock, not building beside it
        built.parent.parent.rename(target)  # the first builder's finished environment, renamed into place
    try:
        waiter.join(timeout=120)
        assert found == [runtime_env.env_python(target)] and said == []
    finally:
        target.rename(built.parent.parent)


def _run_in_sandbox(python: Path, tmp_path: Path, cells: list[str]) -> tuple[dict[str, object], str]:
    """The runner in the local sandbox with ``python``, as the execute step runs it: its record and stdout."""
    work, out, data, job = (tmp_path / d for d in ("work", "out", "data", "job"))
    for folder in (work, out, data, job):
        folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, work / "nb.ipynb")
    spec = JobSpec(notebook="nb.ipynb", cell_seconds=120, output_bytes=1_000_000, profile="quick", seed=1)
    (job / "spec.json").write_text(spec.dump(), encoding="utf-8")
    roots = RunRoots(work=Path("/work"), out=Path("/out"), data=Path("/data"), adapters=Path("/adapters"))
    result = LocalSandbox().run(
        Job(
            name="fidelity",
            argv=(str(python), "-m", "labgrade_runtime.runner", "/job/spec.json"),
            mounts=(
                Mount(work, "/work", read_only=False),
                Mount(out, "/out", read_only=False),
                Mount(data, "/data"),
                Mount(job, "/job"),
                Mount(tmp_path / "job", "/adapters"),
            ),
            cwd="/work",
            env={"PYTHONPATH": str(RUNTIME_PACKAGE.parent), "MPLBACKEND": "Agg", **roots.env()},
            limits=Limits(wall_seconds=300, memory_mb=4096, pids=256, output_bytes=2_000_000, disk_mb=256),
        )
    )
    assert (out / "run.json").is_file(), result.message or result.tail[-2000:]
    executed = nbformat.read(out / "executed.ipynb", as_version=4)
    stdout = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    return json.loads((out / "run.json").read_text()), stdout


def test_a_notebook_runs_in_the_lock_as_its_author_ran_it(built: Path, tmp_path: Path) -> None:
    """np.reshape(newshape=), drop(columns=, axis=1) and a chained fillna(inplace=True) do what they did on Colab:
    the NA cells really filled (the notebook's own output says so); mlxtend and google.colab.patches.cv2 import."""
    record, stdout = _run_in_sandbox(built, tmp_path, FIDELITY_CELLS)
    assert record["status"] == "completed" and record["cell_error"] is None, (record, stdout)
    assert "numpy 2.0.2 pandas 2.2.2" in stdout
    assert "reshaped (3, 4)" in stdout
    assert "columns ['rm', 'age']" in stdout
    assert "NA left 0" in stdout and "rm [6.5, 6.8, 7.1, 6.8]" in stdout
    assert "mlxtend 0.23.4" in stdout and "cv2 4.11.0" in stdout


BOSTON_AS_WRITTEN = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import StandardScaler\ndf = pd.read_csv('BostonHousing.csv')",
    "df.loc[df.index[::7], 'rm'] = np.nan  # the NA cells of the Kaggle copy\n"
    "df['rm'].fillna(df['rm'].mean(), inplace=True)\n"
    "assert df.isna().sum().sum() == 0, 'NA cells left: the fill did nothing'",
    "X = df.drop(columns=['medv'], axis=1).values\ny = np.reshape(df['medv'].values, newshape=(-1,))",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)\n"
    "sc = StandardScaler()\nX_train = sc.fit_transform(X_train)\nX_test = sc.transform(X_test)",
    "import keras\nmodel = keras.Sequential([keras.Input((13,)), keras.layers.Dense(16, activation='relu'),"
    " keras.layers.Dense(1)])\nmodel.compile(optimizer='adam', loss='mean_squared_error', metrics=['mae'])\n"
    "history = model.fit(X_train, y_train, epochs=5, verbose=0)",
    "mse, mae = model.evaluate(X_test, y_test, verbose=0)\nprint('Mean squared error on test data:', mse)",
]


def test_a_boston_notebook_is_graded_in_the_lock(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole self-check on the built runtime ($LABGRADE_RUNTIME_PYTHON names it): completed, no cell error, and
    provenance names the lock."""
    monkeypatch.setenv(runtime_env.PYTHON_ENV, str(built))
    path = tmp_path / "boston.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in BOSTON_AS_WRITTEN]), path)
    run = api.check(notebook=path, experiment="boston", backend="local")
    assert run.status.value == "completed", (run.status, run.reason)
    assert run.provenance is not None
    assert run.provenance.runtime["lock"] == runtime_env.lock_digest(LOCK)
    assert run.provenance.runtime["pandas"] == "2.2.2" and run.provenance.runtime["numpy"] == "2.0.2"


def test_the_runtime_module_builds_and_reports_from_the_command_line(built: Path) -> None:
    """`python -m graders.backends.runtime_env` with the built cache: it reports the environment, nothing rebuilt."""
    cache = built.parent.parent.parent.parent
    env = {**os.environ, "LABGRADE_CACHE": str(cache)}
    proc = subprocess.run(
        [sys.executable, "-m", "graders.backends.runtime_env"], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(str(built)) and "as locked" in proc.stdout and "building" not in proc.stdout


@pytest.mark.parametrize("python", [sys.executable, "/nonexistent/bin/python"])
def test_a_runtime_that_is_not_the_lock_stops_the_grade_in_one_line(tmp_path: Path, python: str) -> None:
    """$LABGRADE_RUNTIME_PYTHON naming an interpreter that is not the lock (the harness's own, newer packages) or no
    interpreter at all: `labgrade check` stops before running anything, one line and exit 2, saying what to do."""
    notebook = tmp_path / "boston.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")]), notebook)
    env = {**os.environ, runtime_env.PYTHON_ENV: python}
    proc = subprocess.run(
        [sys.executable, "-m", "graders.cli", "check", str(notebook), "--experiment", "boston", "--backend", "local"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("labgrade: error: the grading runtime at " + python)
    if python == sys.executable:
        assert "does not match" in line and "pip install --require-hashes -r" in line
    else:
        assert "does not start" in line
