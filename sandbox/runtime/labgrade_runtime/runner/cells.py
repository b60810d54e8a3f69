"""The notebook side of the runner: nbclient with an output cap, cell by cell.

Imported by :mod:`labgrade_runtime.runner.run` only after the kernel has been
launched: nbformat and nbclient take a noticeable part of a second to import
(more on slow container file systems), and the kernel boots meanwhile.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from labgrade_runtime import errors
from labgrade_runtime.contract import SCHEMA_VERSION, JobSpec

TIMEOUT_ENAME = "CellTimeoutError"


class CappedClient(NotebookClient):
    """nbclient with a cap on the total size of the outputs it keeps."""

    output_cap = 2_000_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept_bytes = 0
        self.truncated = False

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self._kept_bytes + size > self.output_cap:
            if not self.truncated:
                self.truncated = True
                outs.append(nbformat.v4.new_output("stream", name="stderr", text="[labgrade: output truncated]\n"))
            return None
        self._kept_bytes += size
        return super().output(outs, msg, display_id, cell_index)


def _code_cell(source: str) -> Any:
    return nbformat.v4.new_code_cell(source)


def _first_line(text: str) -> str:
    return next((line for line in str(text).splitlines() if line.strip()), "")[:300]


def _cell_error(index: int, cell: Any, exc: CellExecutionError) -> dict[str, Any]:
    return {
        "cell_index": index,
        "ename": exc.ename,
        "evalue": _first_line(exc.evalue) if exc.evalue else "",
        "source_excerpt": "\n".join(str(cell.source).splitlines()[:6])[:600],
    }


async def _run_cells(client: CappedClient, nb: Any, result: dict[str, Any]) -> None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        started = time.perf_counter()
        try:
            await client.async_execute_cell(cell, index)
        except CellExecutionError as exc:
            timed_out = exc.ename == TIMEOUT_ENAME
            result["status"] = "timeout" if timed_out else "cell_error"
            result["cell_error"] = _cell_error(index, cell, exc)
            clear = None if timed_out else errors.classify(exc.ename, str(exc.evalue or ""))
            if clear:
                result["status"], result["reason"] = clear
            return
        finally:
            result["cell_seconds"][str(index)] = round(time.perf_counter() - started, 3)
        result["cells_run"] += 1


async def _hidden(client: CappedClient, source: str, timeout: float) -> str:
    """Run harness code in the kernel; returns the error text, '' when it worked."""
    cell = _code_cell(source)
    saved = client.timeout
    client.timeout = int(timeout)
    # nbclient writes a cell's outputs through its index: give the hidden cell a slot of its own.
    client.nb.cells.append(cell)
    try:
        await client.async_execute_cell(cell, len(client.nb.cells) - 1, store_history=False)
    except CellExecutionError as exc:
        return f"{exc.ename}: {_first_line(exc.evalue)}"
    finally:
        client.nb.cells.remove(cell)
        client.timeout = saved
    return ""


def notebook_code(nb: Any) -> str:
    """The code of every code cell, for static analysis (never executed here)."""
    return "\n".join(str(c.source) for c in nb.cells if c.cell_type == "code")


def fresh(path: str) -> Any:
    """The notebook without the outputs the student saved (stale numbers must not count)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


async def execute_once(spec: JobSpec, km: AsyncKernelManager) -> dict[str, Any]:
    """Execute the submission described by ``spec`` in the started kernel ``km``; returns the run record.

    The kernel is shut down afterwards, whatever happened.
    """
    nb = fresh(spec.notebook)
    client = CappedClient(
        nb,
        km=km,
        timeout=int(spec.cell_seconds),
        startup_timeout=120,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": f"a cell ran longer than {spec.cell_seconds} s", "traceback": []},
        allow_errors=False,
        record_timing=True,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": spec.cwd}},
    )
    client.output_cap = int(spec.output_bytes)
    result: dict[str, Any] = {"schema": SCHEMA_VERSION, "status": "completed", "cell_error": None, "cells_run": 0, "cell_seconds": {}}
    started = time.perf_counter()
    try:
        async with client.async_setup_kernel(cleanup_kc=True):
            setup_error = await _hidden(client, f"import labgrade_runtime.kernel.shims as _lg_shims\n_lg_shims.install({spec.dump()!r})", 120)
            if setup_error:
                raise RuntimeError(f"the harness shims failed to install: {setup_error}")
            await _run_cells(client, nb, result)
            probe_error = await _hidden(client, "import labgrade_runtime.kernel.probe as _lg_probe\n_lg_probe.export(globals())", spec.probe_seconds)
            result["probe_error"] = probe_error
    except DeadKernelError as exc:
        result["status"] = "kernel_died"
        result["reason"] = f"the kernel died: {exc}"
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["output_truncated"] = client.truncated
    nbformat.write(nb, os.path.join(spec.out_dir, "executed.ipynb"))
    return result
