"""Real students' notebooks run unmodified, offline (issue 5).

Every fixture in ``notebooks/`` (written by ``make_notebooks.py`` from
``cases.py``) is graded once per session in the quick profile with the local
sandbox -- real kernels, real TensorFlow, two at a time -- and each test
asserts the outcome its pattern deserves: completed, or the named clear status,
with the shims that acted recorded in ``run.adaptations``.

    pytest -m realistic tests/realistic            # the whole set (minutes)
    python tests/realistic/test_realistic.py b_input f_tqdm   # a few, printed
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import CASES, Case  # noqa: E402

from graders import api  # noqa: E402
from graders.models import RunRecord, Status  # noqa: E402
from graders.rubric import targets_path  # noqa: E402

pytestmark = [pytest.mark.realistic, pytest.mark.slow]
NOTEBOOKS = HERE / "notebooks"
PIP_NAMES = {"cv2": "opencv-python"}


def gradable(case: Case) -> bool:
    """Whether the case's experiment has calibrated quick-profile targets here."""
    return case.experiment is None or targets_path(case.experiment, "quick").is_file()


def grade_all(
    cases: list[Case], workers: int = 2, show: Callable[[str, RunRecord | Exception], None] | None = None
) -> dict[str, RunRecord | Exception]:
    """Grade the cases' notebooks as ``labgrade check`` does, ``workers`` at a time."""

    def one(case: Case) -> RunRecord | Exception:
        try:
            result: RunRecord | Exception = api.check(
                notebook=NOTEBOOKS / f"{case.name}{case.suffix}", experiment=case.experiment
            )
        except Exception as exc:  # reported by the case's test, not a crash of the session
            result = exc
        if show:
            show(case.name, result)
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip((c.name for c in cases), pool.map(one, cases)))


def _show(name: str, result: RunRecord | Exception) -> None:
    if isinstance(result, Exception):
        print(f"{name}: raised {result!r}", flush=True)
        return
    lines = [f"{name}: {result.status.value} {result.reason[:200]}"] + [
        f"    {a.kind}: {a.detail[:160]}" for a in result.adaptations
    ]
    print("\n".join(lines), flush=True)


def expected(case: Case) -> tuple[str, str, tuple[str, ...]]:
    """(status, reason phrase, adaptation kinds) the case deserves on this machine."""
    if case.requires and importlib.util.find_spec(case.requires) is None:
        return Status.missing_package.value, PIP_NAMES.get(case.requires, case.requires), ()
    return case.status, case.reason, case.kinds


@pytest.fixture(scope="session")
def realistic_runs() -> dict[str, RunRecord | Exception]:
    """Every gradable case, graded once; prints the total time."""
    started = time.perf_counter()
    runs = grade_all([c for c in CASES if gradable(c)])
    print(f"\nrealistic: graded {len(runs)} notebooks in {time.perf_counter() - started:.0f} s")
    return runs


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_outcome(case: Case, realistic_runs: dict[str, RunRecord | Exception]) -> None:
    """The notebook gets the status its pattern deserves, says why, and lists the shims that acted."""
    if case.name not in realistic_runs:
        pytest.skip(f"experiment {case.experiment} has no calibrated quick-profile targets here")
    run = realistic_runs[case.name]
    assert isinstance(run, RunRecord), f"grading raised {run!r}"
    status, phrase, kinds = expected(case)
    shown = "; ".join(f"{a.kind}: {a.detail}" for a in run.adaptations)
    assert run.status.value == status, f"{run.status.value} ({run.reason}); adaptations: {shown}"
    assert phrase.lower() in run.reason.lower(), f"reason {run.reason!r} does not mention {phrase!r}"
    acted = {a.kind for a in run.adaptations}
    assert set(kinds) <= acted, f"missing adaptations {sorted(set(kinds) - acted)}; got: {shown}"
    for detail in case.details if kinds == case.kinds else ():
        assert any(detail.lower() in a.detail.lower() for a in run.adaptations), (
            f"no adaptation mentions {detail!r}; got: {shown}"
        )


def test_mislabelled_file_is_graded_as_its_code(realistic_runs: dict[str, RunRecord | Exception]) -> None:
    """A file called OCR... holding Fashion-MNIST code is detected and graded as fashion."""
    run = realistic_runs["OCR_letters_assignment"]
    assert isinstance(run, RunRecord) and run.experiment == "fashion", run


def test_unparseable_notebook_is_a_clear_status() -> None:
    """A notebook cut off mid-upload is an invalid submission with the parser's reason, not a crash."""
    from graders import submissions
    from graders.backends import get_backend
    from graders.backends.base import Limits
    from graders.models import LatePolicy
    from graders.pipeline import grade_task
    from graders.rubric import load_rubric
    from graders.state import GradeContext, Task

    rubric = load_rubric("boston")
    sub = submissions.read_submission(NOTEBOOKS / "b_broken_json.ipynb", [rubric], datetime.now())
    assert sub.notebook is None and sub.error
    ctx = GradeContext(
        course="t", profile="quick", seed=1, limits=Limits(), late_policy=LatePolicy(), backend=get_backend("local")
    )
    run = grade_task(ctx, Task(submissions.Student("1", "Broken JSON"), rubric, sub, None))
    assert run.status is Status.invalid_submission
    assert "b_broken_json.ipynb" in run.reason


if __name__ == "__main__":
    chosen = [c for c in CASES if not sys.argv[1:] or c.name in sys.argv[1:]]
    t0 = time.perf_counter()
    grade_all([c for c in chosen if gradable(c)], show=_show)
    print(f"{len(chosen)} notebooks in {time.perf_counter() - t0:.0f} s")
