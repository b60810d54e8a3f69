"""The job's folders travel as one variable the contract defines (Roots), and reach a local job as host paths."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from graders.backends.base import Job, Limits, Mount
from graders.backends.local import LocalSandbox
from graders.paths import RUNTIME_PACKAGE
from labgrade_runtime.contract import ROOTS_ENV, EvalRoots, RunRoots

RUN_ROOTS = RunRoots(work=Path("/work"), out=Path("/out"), data=Path("/data"), adapters=Path("/adapters"))


def test_the_roots_go_and_come_back_as_they_were() -> None:
    assert RUN_ROOTS.env() == {ROOTS_ENV: "work=/work:out=/out:data=/data:adapters=/adapters"}
    assert RunRoots.from_env(RUN_ROOTS.env()) == RUN_ROOTS
    evaluate = EvalRoots(artifacts=Path("/artifacts"), holdout=Path("/holdout"), out=Path("/out"))
    assert EvalRoots.from_env(evaluate.env()) == evaluate and evaluate.rubric is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "must name the job's folders as name=path parts"),
        ("/work:/out", "must name the job's folders as name=path parts"),
        ("work=/work:out=/out:data=/data", "adapters: Field required"),
        ("work=/w:out=/o:data=/d:adapters=/a:holdout=/h", "holdout: Extra inputs are not permitted"),
    ],
)
def test_roots_that_are_not_the_jobs_are_refused_naming_what_is_wrong(value: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RunRoots.from_env({ROOTS_ENV: value})


def test_a_local_job_reads_its_roots_as_host_folders(tmp_path: Path) -> None:
    """The local backend runs jobs in place: each root's sandbox path is rewritten to the folder mounted there."""
    folders = {name: tmp_path / name for name in ("work", "out", "data", "adapters")}
    for folder in folders.values():
        folder.mkdir()
        folder.chmod(0o777)
    (folders["data"] / "served.csv").write_text("1,2\n", encoding="utf-8")
    code = """
        from labgrade_runtime.contract import RunRoots
        roots = RunRoots.from_env()
        print("roots", roots.work, roots.out, roots.data, roots.adapters)
        print("served", (roots.data / "served.csv").read_text().strip())
    """
    job = LocalSandbox(uid=64_321, gid=64_321).run(
        Job(
            name="roots",
            argv=(sys.executable, "-c", textwrap.dedent(code)),
            mounts=tuple(Mount(folders[name], f"/{name}", read_only=name not in ("work", "out")) for name in folders),
            cwd="/work",
            env={**RUN_ROOTS.env(), "PYTHONPATH": str(RUNTIME_PACKAGE.parent)},
            limits=Limits(wall_seconds=60, memory_mb=512, pids=64, output_bytes=100_000, disk_mb=16),
        )
    )
    assert job.exit_code == 0, job.output_tail
    assert f"roots {folders['work']} {folders['out']} {folders['data']} {folders['adapters']}" in job.output_tail
    assert "served 1,2" in job.output_tail
