"""The kernel's job spec in tests: the shims read ``labgrade_runtime.kernel.state.JOB.spec``, a frozen JobSpec."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from labgrade_runtime.contract import JobSpec
from labgrade_runtime.kernel.state import JOB


def spec_of(**fields: Any) -> JobSpec:
    """A validated job spec as the runner resolves it (absolute paths), with these fields."""
    base: dict[str, Any] = {"notebook": "nb.ipynb", "cell_seconds": 60, "output_bytes": 1_000_000}
    return JobSpec.model_validate({**base, "profile": "quick", "seed": 0, **fields})


@contextmanager
def kernel_spec(**fields: Any) -> Iterator[JobSpec]:
    """The kernel's spec set to one with these fields for the block, the previous one put back after."""
    saved = JOB.spec
    JOB.spec = spec_of(**fields)
    try:
        yield JOB.spec
    finally:
        JOB.spec = saved


def change_spec(**changes: Any) -> JobSpec:
    """The kernel's spec with some fields changed (validated again), as a test's notebook would have been run."""
    JOB.spec = JobSpec.model_validate_json(JOB.spec.model_copy(update=changes).dump())
    return JOB.spec
