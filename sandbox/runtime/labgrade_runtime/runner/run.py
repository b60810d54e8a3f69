"""The runner: executes one submission inside the sandbox with nbclient.

    python -m labgrade_runtime.runner /job/spec.json

Reads the job spec, runs the notebook's code cells one by one in a fresh
kernel (per-cell time limit, output cap), installs the shims first and runs
the probe last -- also after a failing or timed-out cell, so that whatever
was trained before the failure is still evaluated. Writes ``run.json`` and
the executed notebook into the artifact directory.

Before the kernel starts, the code is read (never executed) and the saved
outputs looked at, to pick the Keras runtime: Keras 2 code, or a notebook
whose saved outputs show Keras 2's progress lines, runs on tf-keras
(``TF_USE_LEGACY_KERAS=1``). A run on
Keras 3 that fails the way Keras 2 code does is re-run once on tf-keras. A
failing cell whose error is one the harness has a clear status for (needs
network, missing data file, missing package, needs input, needs a camera)
gets that status instead of ``cell_error`` -- unless it asks for input or a
camera after the model was trained, when the run stops there as completed
(noted); a cell whose saved output shows the author ran past its error is run
past (:mod:`labgrade_runtime.runner.drift`, noted).

The kernel is launched first, before nbformat and nbclient are imported
(:mod:`labgrade_runtime.runner.cells`): its own start-up, most of a second, overlaps
theirs. Which Keras the notebook gets is applied inside the kernel by the
shims, before any student code, so the choice can be made after the launch.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from labgrade_runtime import errors
from labgrade_runtime.contract import (
    ADAPTATIONS_FILE,
    MODEL_FILE,
    PROBE_FILE,
    RUN_FILE,
    JobSpec,
    RunResult,
    RunRoots,
)
from labgrade_runtime.runner import keras_choice

KERNEL_NAME = "python3"
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]  # what nbclient passes when it starts a kernel itself


class NativeKernelSpecs(KernelSpecManager):
    """Only this interpreter's own ipykernel, the spec Jupyter itself picks for ``python3``.

    Jupyter finds it by searching its data paths, which imports IPython into
    the runner first: 0.4 s before the kernel could even launch, paid again
    inside the kernel. A job only ever runs this kernel, so there is nothing
    to search for.
    """

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name != KERNEL_NAME:
            return super().get_kernel_spec(kernel_name)
        from ipykernel.kernelspec import RESOURCES, get_kernel_dict

        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


@asynccontextmanager
async def kernel(spec: JobSpec) -> AsyncIterator[AsyncKernelManager]:
    """A fresh python3 kernel launched in the notebook's folder (IPC sockets under the job's TMPDIR).

    Yields as soon as the process is started, not when the kernel is ready.
    On the way out the kernel is shut down if it still runs (nbclient shuts it
    down itself after a run; not when reading the notebook failed first).
    """
    runtime_dir = Path(tempfile.mkdtemp(prefix="kernel-"))
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=NativeKernelSpecs(), transport="ipc", ip=str(runtime_dir / "k")
    )
    await km.start_kernel(cwd=spec.cwd, extra_arguments=KERNEL_ARGUMENTS)
    try:
        yield km
    finally:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)


async def execute(spec: JobSpec) -> dict[str, Any]:
    """Execute the submission, choosing the Keras runtime; re-run once on tf-keras after a Keras 2 error."""
    async with kernel(spec) as km:
        from labgrade_runtime.runner import cells  # nbformat + nbclient: imported while the kernel boots

        nb, saved = cells.load(spec.notebook)
        cells.prose_to_markdown(nb, saved)  # prose pasted into a code cell is not code to read
        code = cells.notebook_code(nb)
        runtime, reasons = keras_choice.choose(code, saved)
        spec = spec.model_copy(update={"code": code})
        result = await cells.execute_once(
            spec.model_copy(update={"keras_runtime": runtime, "keras_reasons": reasons}), km
        )
    error = result.get("cell_error") or {}
    if runtime == "keras3" and result["status"] == "cell_error" and keras_choice.looks_keras2(errors.describe(error)):
        for name in (ADAPTATIONS_FILE, PROBE_FILE, MODEL_FILE):
            Path(spec.out_dir, name).unlink(missing_ok=True)
        first = errors.describe(error)[:200]
        rerun = spec.model_copy(
            update={"keras_runtime": "tf_keras", "keras_reasons": [f"re-run after a Keras 3 error: {first}"]}
        )
        async with kernel(rerun) as km:
            result = await cells.execute_once(rerun, km)
        result["rerun"] = f"re-run on tf-keras after: {first}"
    result["keras_runtime"] = "tf_keras" if result.get("rerun") or runtime == "tf_keras" else "keras3"
    return result


def resolve(raw: str) -> JobSpec:
    """The job spec with its names made absolute under the job's roots (given by the backend)."""
    return JobSpec.model_validate_json(raw).rooted(RunRoots.from_env())


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m labgrade_runtime.runner SPEC``."""
    args = sys.argv[1:] if argv is None else argv
    with open(args[0], encoding="utf-8") as fh:
        spec = resolve(fh.read())
    os.chdir(spec.cwd)
    result = asyncio.run(execute(spec))
    (Path(spec.out_dir) / RUN_FILE).write_text(RunResult.model_validate(result).dump(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
