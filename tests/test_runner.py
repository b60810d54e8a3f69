"""The in-sandbox runner (``python -m labgrade_runtime.runner``) on the host, with a real kernel through nbclient."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import psutil
import pytest

from graders.paths import RUNTIME_PACKAGE
from labgrade_runtime.contract import JobSpec, RunRoots

PRINT_ENV = """import os
open("kernel.pid", "w").write(str(os.getpid()))
print("legacy keras:", os.environ.get("TF_USE_" + "LEGACY_KERAS"))  # spelt whole, the name alone picks tf-keras
"""


def run_notebook(tmp_path: Path, cells: list[str]) -> tuple[dict, nbformat.NotebookNode]:
    """Run the runner as the backends do (spec file, job roots in the env); its run record and executed notebook."""
    work, out, data = (tmp_path / d for d in ("work", "out", "data"))
    for folder in (work, out, data):
        folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), work / "nb.ipynb")
    spec = JobSpec(notebook="nb.ipynb", cell_seconds=60, output_bytes=1_000_000, profile="quick", seed=1)
    (tmp_path / "spec.json").write_text(spec.dump(), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(RUNTIME_PACKAGE.parent),
        **RunRoots(work=work, out=out, data=data, adapters=tmp_path / "no-adapters").env(),
    }
    env.pop("TF_USE_LEGACY_KERAS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "labgrade_runtime.runner", str(tmp_path / "spec.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((out / "run.json").read_text()), nbformat.read(out / "executed.ipynb", as_version=4)


def stdout_of(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_the_kernel_is_gone_when_the_runner_returns(tmp_path: Path) -> None:
    """The runner shuts its kernel down itself: nothing is left for the sandbox to clean up."""
    record, nb = run_notebook(tmp_path, [PRINT_ENV, "print(6 * 7)"])
    assert record["status"] == "completed" and record["cells_run"] == 2
    assert "42" in stdout_of(nb)
    pid = int((tmp_path / "work" / "kernel.pid").read_text())
    assert pid != os.getpid()
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        alive = False
    assert not alive, f"kernel {pid} outlived the runner"


@pytest.mark.parametrize(
    ("code", "legacy"), [("x = 1", "None"), ("# the manual's code\n# import tf_keras\nx = 1", "1")]
)
def test_the_chosen_keras_reaches_the_kernel(tmp_path: Path, code: str, legacy: str) -> None:
    """The kernel is launched before the notebook is read; the shims apply the Keras choice before any student code."""
    record, nb = run_notebook(tmp_path, [PRINT_ENV, code])
    assert record["keras_runtime"] == ("tf_keras" if legacy == "1" else "keras3")
    assert f"legacy keras: {legacy}" in stdout_of(nb)


def test_native_kernel_spec_is_jupyters_own_without_importing_ipython() -> None:
    """The runner's kernel spec is Jupyter's python3 spec, found without loading IPython.

    One deliberate difference: the kernel runs on the runner's own interpreter,
    where an installed kernel.json may say just ``python`` (whatever is first on PATH).
    """
    script = """
import json, sys
from labgrade_runtime.runner.run import KERNEL_NAME, NativeKernelSpecs
spec = NativeKernelSpecs().get_kernel_spec(KERNEL_NAME)
print(json.dumps({"ipython": "IPython" in sys.modules, "spec": spec.to_dict()}))
"""
    env = {**os.environ, "PYTHONPATH": str(RUNTIME_PACKAGE.parent)}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    found = json.loads(proc.stdout)
    assert found["ipython"] is False
    from jupyter_client.kernelspec import KernelSpecManager

    jupyters = json.loads(json.dumps(KernelSpecManager().get_kernel_spec("python3").to_dict()))
    assert found["spec"]["argv"] == [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert Path(jupyters.pop("argv")[0]).name.startswith("python")
    found["spec"].pop("argv")
    assert found["spec"] == jupyters
