"""What the shims share inside the student's kernel: the job spec, what fit() saw, the adaptations.

Every kernel-side module reads and writes this one place, and this module
imports none of them: the shims that install the patches (``shims``) and the
patches themselves (``datafiles``, ``stubs``...) depend on it, never on each
other through it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labgrade_runtime.contract import ADAPTATIONS_FILE, JobSpec


class Job:
    """The job this kernel runs: the validated spec, resolved under the job's roots by the runner.

    One holder, so that every module that imported it sees the spec the shims install.
    """

    spec = JobSpec(notebook="", cell_seconds=0, output_bytes=0, profile="", seed=0)


JOB = Job()
# What the run left for the probe: the last trained model, every history and fit() record, the notes made.
STATE: dict[str, Any] = {"model": None, "histories": [], "fits": [], "noted": set()}


def note(kind: str, detail: str, *, once: bool = True) -> None:
    """Record an adaptation (once per kind+detail unless told otherwise).

    Appended to ``adaptations.jsonl`` as it happens, so it survives a crash of the kernel.
    """
    key = (kind, detail)
    if once and key in STATE["noted"]:
        return
    STATE["noted"].add(key)
    out = Path(JOB.spec.out_dir)
    with open(out / ADAPTATIONS_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, "detail": detail}) + "\n")
