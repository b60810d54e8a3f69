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

# The validated job spec (labgrade_runtime.contract.KernelSpec), as plain data for the patches to read.
SPEC: dict[str, Any] = {}
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
    out = Path(SPEC.get("out_dir", "."))
    with open(out / "adaptations.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, "detail": detail}) + "\n")
