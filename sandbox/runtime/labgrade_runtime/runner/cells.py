"""The notebook side of the runner: nbclient with an output cap, cell by cell.

Imported by :mod:`labgrade_runtime.runner.run` only after the kernel has been
launched: nbformat and nbclient take a noticeable part of a second to import
(more on slow container file systems), and the kernel boots meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from labgrade_runtime import errors
from labgrade_runtime.contract import ADAPTATIONS_FILE, EXECUTED_FILE, SCHEMA_VERSION, JobSpec
from labgrade_runtime.runner import drift, evidence, pandas_choice

TIMEOUT_ENAME = "CellTimeoutError"
# Statuses a notebook may end with after training (a prediction typed in, a webcam demo): see _interactive_end.
INTERACTIVE = {"needs_input": "asks for keyboard input", "needs_camera": "opens a webcam"}
TRAINS = re.compile(r"\.fit(_generator)?\(|\.train_on_batch\(")
_ENV = "import labgrade_runtime.kernel.environment as _lg_env\n_lg_env"
_FITS = "import labgrade_runtime.kernel.state as _lg_state\nprint(len(_lg_state.STATE['fits']))"


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


STARTED = time.monotonic()  # the runner's start (imported first thing): what the backend's wall clock counts from


def cell_limit(spec: JobSpec, cell: evidence.SavedCell | None, elapsed: float) -> float:
    """The time limit of one cell: the profile's cell limit; in the quick profile, for a cell whose saved output
    shows it completed for its author (outputs, no error), what is left of the run's wall budget instead, less a
    reserve for the probe and the cells after it (never less than the cell limit)."""
    if spec.profile != "quick" or not spec.wall_seconds or cell is None or not completed(cell):
        return float(spec.cell_seconds)
    reserve = min(spec.probe_seconds, spec.wall_seconds / 4) + 30
    return max(float(spec.cell_seconds), spec.wall_seconds - elapsed - reserve)


def completed(cell: evidence.SavedCell) -> bool:
    """Whether the cell's saved output shows the author ran it to the end (it printed or drew, raised nothing)."""
    return cell.execution_count is not None and cell.has_outputs and not cell.errors


def _timeout_text(spec: JobSpec, limit: float) -> str:
    if limit > spec.cell_seconds:
        return f"a cell its author completed ran longer than the {limit:.0f} s left of the run's wall budget"
    return f"a cell ran longer than {spec.cell_seconds} s"


async def _run_cells(
    client: CappedClient, nb: Any, result: dict[str, Any], saved: list[evidence.SavedCell], spec: JobSpec
) -> None:
    """Every code cell in order; after a failing one, :func:`_after_error` says whether the run goes on."""
    cells = evidence.by_index(saved)
    ran_on: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        started = time.perf_counter()
        reply = evidence.replies(cells[index]) if index in cells else None
        if reply:
            await _hidden(client, f"{_ENV}.expect_replies({index}, {reply[0]!r}, {reply[1]!r})", 30)
        limit = cell_limit(spec, cells.get(index), time.monotonic() - STARTED)
        client.timeout = int(limit)
        client.error_on_timeout = {"ename": TIMEOUT_ENAME, "evalue": _timeout_text(spec, limit), "traceback": []}
        try:
            await client.async_execute_cell(cell, index)
        except CellExecutionError as exc:
            if await _after_error(client, nb, index, exc, result, saved, ran_on):
                continue
            return
        finally:
            seconds = time.perf_counter() - started
            result["cell_seconds"][str(index)] = round(seconds, 3)
            client.timeout = int(spec.cell_seconds)
            if reply:
                await _hidden(client, f"{_ENV}.expect_replies(-1, '', [])", 30)
        if seconds > spec.cell_seconds:
            _adapt(
                client,
                "heavy_budget",
                f"cell {index} ran {seconds:.0f} s, past the {spec.profile} profile's {spec.cell_seconds:.0f} s "
                "cell limit, within the run's wall budget: its saved output shows it completed for its author",
            )
        result["cells_run"] += 1
    if ran_on:
        result["reason"] = "; ".join(ran_on)


async def _after_error(
    client: CappedClient,
    nb: Any,
    index: int,
    exc: CellExecutionError,
    result: dict[str, Any],
    saved: list[evidence.SavedCell],
    ran_on: list[str],
) -> bool:
    """Settle a failed cell: True to run on past it (the saved outputs show the author did), else stop.

    * a timeout, or an error with a clear status (needs network, input...), stops the run; input or a
      camera asked for after the model was trained, with no training after it, stops it as *completed*
      (:func:`_interactive_end`);
    * an error the saved output shows too, with later cells the author ran after it, or a cell whose
      saved output came from an earlier version of the code (a history key fit() no longer records):
      the run goes on, noted, and the run's reason says so (:mod:`labgrade_runtime.runner.drift`);
    * any other error stops the run with ``cell_error``.
    """
    timed_out = exc.ename == TIMEOUT_ENAME
    clear = None if timed_out else errors.classify(exc.ename, str(exc.evalue or ""))
    evalue = str(exc.evalue or "")
    if clear and clear[0] in INTERACTIVE and await _interactive_end(client, nb, index, clear, result):
        return False
    if not timed_out and not clear and len(ran_on) < drift.MAX_RAN_ON:
        why = drift.ran_past(saved, index, exc.ename, evalue)
        if why:
            ran_on.append(why)
            _adapt(client, "ran_past_error", why)
            return True
    result["status"] = "timeout" if timed_out else "cell_error"
    result["cell_error"] = _cell_error(index, nb.cells[index], exc)
    if clear:
        result["status"], result["reason"] = clear
    elif ran_on:
        result["reason"] = "; ".join(ran_on)
    return False


async def _interactive_end(
    client: CappedClient, nb: Any, index: int, clear: tuple[str, str], result: dict[str, Any]
) -> bool:
    """Input or a camera asked for by a cell after a model was trained, and no cell after it trains:
    the run ends there as completed, the model trained so far graded, the stop noted and named in the reason."""
    later = "\n".join(str(c.source) for c in nb.cells[index + 1 :] if c.cell_type == "code")
    if TRAINS.search(later) or (await _ask(client, _FITS)).strip() in ("", "0"):
        return False
    status, why = clear
    detail = why.split(":", 1)[-1].strip()
    text = (
        f"stopped at cell {index}: it {INTERACTIVE[status]} after the model was trained ({detail}); "
        f"the model trained up to there is graded, the cells from {index} on were not run"
    )
    _adapt(client, "interactive_end", text)
    result["reason"] = text
    return True


async def _ask(client: CappedClient, source: str) -> str:
    """What harness code run in the kernel prints ('' when it failed)."""
    cell = _code_cell(source)
    if await _hidden(client, source, 30, cell):
        return ""
    return "".join(str(o.get("text", "")) for o in cell.outputs if o.get("output_type") == "stream")


def _adapt(client: CappedClient, kind: str, detail: str) -> None:
    """Record an adaptation the runner itself made, beside the kernel's (same file, same format)."""
    out = Path(client.resources.get("labgrade_out", "."))
    with open(out / ADAPTATIONS_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, "detail": detail}) + "\n")


async def _hidden(client: CappedClient, source: str, timeout: float, cell: Any = None) -> str:
    """Run harness code in the kernel; returns the error text, '' when it worked."""
    cell = _code_cell(source) if cell is None else cell
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


def prose_to_markdown(nb: Any, saved: list[evidence.SavedCell]) -> list[str]:
    """Turn the never-run code cells that hold prose into Markdown cells; the notes saying so."""
    notes: list[str] = []
    for cell in saved:
        why = drift.prose_cell(cell)
        if why:
            nb.cells[cell.index] = nbformat.v4.new_markdown_cell(nb.cells[cell.index].source)
            notes.append(why)
    return notes


def notebook_code(nb: Any) -> str:
    """The code of every code cell, for static analysis (never executed here)."""
    return "\n".join(str(c.source) for c in nb.cells if c.cell_type == "code")


def load(path: str) -> tuple[Any, list[evidence.SavedCell]]:
    """The notebook without the outputs the student saved (stale numbers must not count), and what they showed."""
    nb = nbformat.read(path, as_version=4)
    saved = evidence.saved_cells(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb, saved


def fresh(path: str) -> Any:
    """The notebook without the outputs the student saved."""
    return load(path)[0]


async def execute_once(spec: JobSpec, km: AsyncKernelManager) -> dict[str, Any]:
    """Execute the submission described by ``spec`` in the started kernel ``km``; returns the run record.

    The kernel is shut down afterwards, whatever happened.
    """
    nb, saved = load(spec.notebook)
    prose = prose_to_markdown(nb, saved)
    client = CappedClient(
        nb,
        km=km,
        timeout=int(spec.cell_seconds),
        startup_timeout=120,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": TIMEOUT_ENAME,
            "evalue": f"a cell ran longer than {spec.cell_seconds} s",
            "traceback": [],
        },
        allow_errors=False,
        record_timing=True,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": spec.cwd}, "labgrade_out": spec.out_dir},
    )
    client.output_cap = int(spec.output_bytes)
    result: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "status": "completed",
        "cell_error": None,
        "cells_run": 0,
        "cell_seconds": {},
    }
    started = time.perf_counter()
    try:
        async with client.async_setup_kernel(cleanup_kc=True):
            setup_error = await _hidden(
                client, f"import labgrade_runtime.kernel.shims as _lg_shims\n_lg_shims.install({spec.dump()!r})", 120
            )
            if setup_error:
                raise RuntimeError(f"the harness shims failed to install: {setup_error}")
            for why in prose:
                _adapt(client, "prose_cell", why)
            pandas15 = pandas_choice.choose(saved)
            if pandas15:
                compat_error = await _hidden(
                    client,
                    f"import labgrade_runtime.kernel.compat as _lg_compat\n_lg_compat.use_pandas15({pandas15!r})",
                    60,
                )
                if compat_error:
                    raise RuntimeError(f"the pandas 1.5 compatibility shim failed to install: {compat_error}")
            if spec.profile == "quick" and spec.fit_updates:
                heavy_error = await _hidden(
                    client, "import labgrade_runtime.kernel.heavy as _lg_heavy\n_lg_heavy.install()", 60
                )
                if heavy_error:
                    raise RuntimeError(f"the heavy-analysis budget failed to install: {heavy_error}")
            await _run_cells(client, nb, result, saved, spec)
            probe_error = await _hidden(
                client,
                "import labgrade_runtime.kernel.probe as _lg_probe\n_lg_probe.export(globals())",
                spec.probe_seconds,
            )
            result["probe_error"] = probe_error
    except DeadKernelError as exc:
        result["status"] = "kernel_died"
        result["reason"] = f"the kernel died: {exc}"
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["output_truncated"] = client.truncated
    nbformat.write(nb, os.path.join(spec.out_dir, EXECUTED_FILE))
    return result
