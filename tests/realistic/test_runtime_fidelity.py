"""Notebooks that failed through the harness's fault, graded end to end (local sandbox, quick profile).

What the students' Colab had (plot_model, tkinter, cv2_imshow, files.upload of images, seaborn's positional
API, ``metrics="accuracy"``), Keras 2 chosen from the saved outputs, notebooks that end interactively after
training, and Restart & Run All drift -- each with the status, reason and adaptations it deserves.

    pytest -m realistic tests/realistic/test_runtime_fidelity.py
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from runtime_cases import CASES, RuntimeCase, write  # noqa: E402

from graders import api  # noqa: E402
from graders.models import RunRecord  # noqa: E402

pytestmark = [pytest.mark.realistic, pytest.mark.slow]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunRecord | Exception]:
    """Every case graded once, two at a time."""
    folder = tmp_path_factory.mktemp("runtime_fidelity")

    def one(case: RuntimeCase) -> RunRecord | Exception:
        try:
            return api.check(notebook=write(case, folder), experiment=case.experiment, backend="local")
        except Exception as exc:  # reported by the case's test
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip((c.name for c in CASES), pool.map(one, CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_runtime_fidelity(runs: dict[str, RunRecord | Exception], case: RuntimeCase) -> None:
    run = runs[case.name]
    assert not isinstance(run, Exception), repr(run)
    shown = f"{run.status.value}: {run.reason}\n" + "\n".join(f"  {a.kind}: {a.detail}" for a in run.adaptations)
    assert run.status.value == case.status, shown
    for phrase in case.reason:
        assert phrase in run.reason, shown
    kinds = {a.kind for a in run.adaptations}
    assert set(case.kinds) <= kinds, shown
    assert not set(case.absent) & kinds, shown
    details = " | ".join(a.detail for a in run.adaptations)
    for phrase in case.details:
        assert phrase in details, shown
