"""``labgrade``: a thin command-line shell over graders.api.

Every expected problem (a bad course file, a missing notebook, an unknown
experiment) ends as one clear line on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape  # student text (names, error messages, evidence) is never markup
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from graders import __version__, api
from graders.config import ConfigError, Overrides, load_course
from graders.data.fetch import Fetched, FetchError
from graders.executors import ExecutorError
from graders.gradebook import GradebookError
from graders.integrity.similarity import page_name
from graders.models import COMPONENT_MAX, TOTAL_MAX, Component, RunRecord, Status
from graders.reports.model import MISSING_WORDING, pending_why
from graders.reports.sheet import format_marks, format_total
from graders.rubric import RubricError
from graders.submissions import IntakeError

EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    api.GradingError,
    ConfigError,
    IntakeError,
    RubricError,
    GradebookError,
    ExecutorError,
    FetchError,
    FileNotFoundError,
)
try:
    from graders.backends.image import ImageBuildError

    EXPECTED_ERRORS += (ImageBuildError,)
except ImportError:  # the docker SDK is optional for grading with the local backend
    pass
SIMILARITY_KINDS = ("identical", "near-identical", "shared code")
# soft_wrap: a line piped to a file or another program is one line, never hard-wrapped at 80 columns.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- verbs


def cmd_grade(args: argparse.Namespace) -> int:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=False) as progress:
        bar = progress.add_task("grading", total=None)

        def started(n: int, note: str) -> None:
            out.print(f"[bold]sandbox:[/] {note}")
            progress.update(bar, total=n)

        def done(run: RunRecord) -> None:
            mark = "green" if run.status is Status.completed else "yellow"
            total = MISSING_WORDING if run.status is Status.missing else format_total(run.marks)
            progress.console.print(
                f"  {run.roll_no:>3} {escape(run.name):<12} {run.experiment:<10} "
                f"[{mark}]{run.status.value:<18}[/] {total:>20}  {escape(run.reason[:70])}"
            )
            progress.advance(bar)

        summary = api.grade(
            course=args.course,
            experiments=args.experiment,
            students=args.student,
            overrides=Overrides(
                backend=args.backend,
                profile=args.profile,
                workers=args.workers,
                executor=args.executor,
                address=args.address,
            ),
            regrade=args.regrade,
            uncapped_inconclusive=args.uncapped_inconclusive,
            on_result=done,
            on_start=started,
        )
    where = summary.csv.parent if summary.csv else "?"
    out.print(
        f"{len(summary.runs)} submission(s): {summary.executed} executed, {summary.rescored} re-scored from "
        f"stored artifacts, {summary.reused} unchanged and reused; reports in {where} (CSV: {summary.csv})"
    )
    _print_summary(args.course)
    return 0


def _check_table(run: RunRecord) -> Table:
    table = Table(show_header=True, header_style="bold", box=None)
    for col in ("", "check", "points", "evidence"):
        table.add_column(col)
    for c in run.checks:
        if c.hidden:
            continue
        sign = "[green]✔[/]" if c.passed and c.awarded >= c.points else ("[yellow]~[/]" if c.passed else "[red]✘[/]")
        sign = "[yellow]?[/]" if c.inconclusive else sign
        table.add_row(
            sign,
            f"{escape(c.title)} [dim]({c.component.value})[/]",
            f"{format_marks(c.awarded)}/{format_marks(c.points)}",
            escape(c.evidence),
        )
    return table


def cmd_check(args: argparse.Namespace) -> int:
    out.print(f"checking {args.notebook} (profile {args.profile}, {args.backend} sandbox) ...")
    run = api.check(notebook=args.notebook, experiment=args.experiment, profile=args.profile, backend=args.backend)
    out.print(
        f"experiment: [bold]{run.experiment}[/]"
        + (f" ({escape(run.reason)})" if "detected" in run.reason or "looks like" in run.reason else "")
    )
    out.print(
        f"status: [bold]{run.status.value}[/]"
        + (f" — {escape(run.reason)}" if run.reason and run.status is not Status.completed else "")
    )
    if run.adaptations:
        out.print("[bold]what the grader changed about your run:[/]")
        for a in run.adaptations:
            out.print(f"  • {a.kind}: {escape(a.detail)}")
    out.print(_check_table(run))
    for c in run.checks:
        if c.inconclusive and c.id == "metric":
            out.print(f"[bold yellow]⚠ {escape(c.title)}: {escape(c.evidence)}[/]")
    out.print("[bold]predicted marks[/] (public checks only; viva marks are entered by the examiner):")
    for comp in Component:
        value = run.marks.get(comp)
        given = f"{format_marks(value)} / {format_marks(COMPONENT_MAX)}" if value is not None else ""
        shown = f"pending: {pending_why(run, comp)}" if value is None else given
        out.print(f"  {comp.heading:<18} {shown}")
    out.print(
        f"  {'Total':<18} {format_total(run.marks)} of {format_marks(TOTAL_MAX)}"
        "  (Timely Completion assumes you hand in now)"
    )
    hints = [c.hint for c in run.checks if c.hint and not c.hidden]
    if hints:
        out.print("[bold]hints:[/]")
        for h in dict.fromkeys(hints):
            out.print(f"  - {escape(h)}")
    return 0 if run.status is Status.completed else 1


def cmd_report(args: argparse.Namespace) -> int:
    if args.for_students is not None:
        written = api.student_copy(course=args.course, out=args.for_students, students=args.student)
        folders = [p for p in written if p.is_dir()]
        out.print(f"wrote the student copy of {len(folders)} student(s): a folder and a zip each", markup=False)
        for folder in folders:
            out.print(f"  {folder}  {folder.with_suffix('.zip').name}", markup=False)
        return 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        bar = progress.add_task("rendering", total=None)
        paths = api.report(
            course=args.course,
            everything=args.all,
            students=args.student,
            progress=lambda done, total: progress.update(bar, completed=done, total=total),
        )
    out.print(
        f"wrote {len(paths)} file(s) under {paths[-1].parent if paths else '?'}"
        + ("" if args.all else " (pages whose runs, marks and flags did not change were kept; --all redraws them)")
    )
    _print_summary(args.course)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    done = api.export_marks(
        course=args.course,
        out=args.out,
        format=args.format,
        per_component=args.per_component,
        identifier=args.identifier,
        experiments=args.experiment,
    )
    out.print(f"wrote {done.path} ({done.written} {'mark(s)' if args.format == 'gradescope' else 'row(s)'})")
    if args.format == "gradescope":
        out.print(f"upload: zip the contents of each {done.path}/<experiment>/ as that assignment's autograder")
    if done.left_out:
        out.print(f"left out, not final (the LMS keeps what it has for them): {len(done.left_out)}")
        for item in done.left_out:
            out.print(f"  roll {item.roll_no}: {escape(item.why)}")
    return 0


def _print_summary(course: Path) -> None:
    for line in api.class_summary(course=course):
        out.print(escape(line))


def cmd_override(args: argparse.Namespace) -> int:
    entry = api.override(
        course=args.course,
        roll_no=args.roll_no,
        experiment=args.experiment,
        component=args.component,
        marks=args.marks,
        who=args.who,
        why=args.why,
    )
    out.print(
        f"recorded: roll {entry.roll_no} {entry.experiment} {entry.component.value} = {_fmt_mark(entry.marks)} "
        f"by {entry.who} ({entry.why})"
    )
    out.print("run `labgrade report` to re-render the marks sheets")
    return 0


def _fmt_mark(value: float | None) -> str:
    return "withdrawn (back to the run's own mark)" if value is None else format_marks(value)


def cmd_marks_import(args: argparse.Namespace) -> int:
    entries = api.marks_import(course=args.course, file=args.file)
    out.print(f"recorded {len(entries)} mark(s) from {args.file}; run `labgrade report` to re-render the sheets")
    return 0


def cmd_marks_list(args: argparse.Namespace) -> int:
    rows = api.marks_history(course=args.course, roll_no=args.roll_no, experiment=args.experiment)
    if not rows:
        out.print("no examiner marks recorded")
        return 0
    table = Table(show_header=True, header_style="bold", box=None)
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out.print(table)
    return 0


def cmd_marks_revert(args: argparse.Namespace) -> int:
    entry = api.marks_revert(
        course=args.course,
        roll_no=args.roll_no,
        experiment=args.experiment,
        column=args.column,
        who=args.who,
        why=args.why,
    )
    out.print(
        f"reverted: roll {entry.roll_no} {entry.experiment} {entry.component.value} is {_fmt_mark(entry.marks)} again"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from graders.desk.app import serve

    token = args.token or os.environ.get("LABGRADE_DESK_TOKEN") or None
    serve(args.course, args.host, args.port, token)
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    reports = api.similarity(course=args.course, experiments=args.experiment)
    folder = load_course(args.course).reports
    for exp, report in reports.items():
        kinds = ", ".join(f"{sum(p.kind == k for p in report.pairs)} {k}" for k in SIMILARITY_KINDS)
        out.print(
            f"  {exp:<10} {report.submissions:>3} submission(s): {len(report.pairs)} pair(s) listed ({kinds}), "
            f"{len(report.clusters)} cluster(s)"
        )
        out.print(f"    page: {folder / page_name(exp)}", markup=False)
    out.print("marks are not changed: an examiner decides")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    if args.course is not None:
        if args.seed is not None:
            raise api.GradingError("--seed: a course is calibrated with its own seed (`seed` in the course file)")
        written = api.calibrate_course(
            course=args.course,
            experiments=[args.experiment] if args.experiment else None,
            profile=args.profile,
            backend=args.backend,
            progress=lambda exp, run: _print_calibrated(exp, run),
        )
        folder = next(iter(written.values())).parent if written else load_course(args.course).targets_dir
        out.print(f"targets: {folder} (the next `grade` re-scores the class against them; no notebook is run again)")
        return 0
    if not args.experiment:
        raise api.GradingError("calibrate needs --experiment ID (the harness's targets) or --course FILE (a course's)")
    profile, seed = args.profile or "quick", 1234 if args.seed is None else args.seed
    targets = api.calibrate(experiment=args.experiment, profile=profile, backend=args.backend or "local", seed=seed)
    _print_calibrated(f"{args.experiment} [{profile}]", targets)
    return 0


def _print_calibrated(title: str, targets: dict[str, Any]) -> None:
    _print_reference(title, targets)
    kinds = dict(targets.get("dataset_kind") or {})
    if kinds:
        out.print("  data: " + ", ".join(f"{name} {kind}" for name, kind in sorted(kinds.items())))
    for name, variant in dict(targets.get("variants") or {}).items():
        _print_reference(f"  variant {name}", variant)


def cmd_data_fetch(args: argparse.Namespace) -> int:
    def said(got: Fetched) -> None:
        what = "fetched" if got.downloaded else "present"
        out.print(
            f"  {got.remote.relpath:<48} {got.size:>12,} bytes  sha256 {got.sha256[:16]}…  {what}, checksum ok "
            f"({got.verified})",
            markup=False,
        )

    folder, got = api.fetch_data(
        course=args.course, datasets=args.dataset, base_url=args.base_url, keras_source=args.keras_source, progress=said
    )
    fetched = sum(g.downloaded for g in got)
    out.print(f"{fetched} file(s) fetched, {len(got) - fetched} already present and verified; in {folder}")
    return 0


def _print_reference(title: str, reference: dict[str, Any]) -> None:
    out.print(
        f"{title}: {reference['metrics']}, {reference['total_params']:,} parameters, "
        f"trained {reference['train_seconds']} s ({reference.get('train_cpu_seconds', '?')} CPU s)"
    )


def cmd_sandbox_build(args: argparse.Namespace) -> int:
    from graders.backends.image import build_image

    image_id = build_image(progress=lambda line: out.print(line), rebuild=args.rebuild)
    out.print(f"grading image ready: {image_id}")
    return 0


# ---------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="labgrade", description="Autograde deep-learning lab notebooks into the manual's marks sheets."
    )
    p.add_argument("--version", action="version", version=f"labgrade {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    g = sub.add_parser(
        "grade",
        help="grade a whole class into the gradebook and reports",
        description="Grade every student on the roster for every enabled experiment.",
    )
    g.add_argument("--course", required=True, type=Path, help="course.toml")
    g.add_argument("--experiment", action="append", help="only this experiment (repeatable)")
    g.add_argument("--student", action="append", help="only this roll number (repeatable)")
    g.add_argument("--backend", choices=["auto", "local", "docker"], help="sandbox backend (default: the course's)")
    g.add_argument("--profile", choices=["quick", "full"], help="data/epochs profile (default: the course's)")
    g.add_argument("--workers", type=int, help="submissions graded at once")
    g.add_argument("--executor", choices=["local", "ray"], help="where jobs run (default: the course's; local)")
    g.add_argument("--address", help="the Ray cluster's HOST:PORT (with --executor ray)")
    g.add_argument("--regrade", action="store_true", help="execute every submission again, even unchanged ones")
    g.add_argument(
        "--uncapped-inconclusive",
        action="store_true",
        help="execute again, without the quick profile's training budget, only the runs whose metric was "
        "inconclusive under it (their marks are pending until then)",
    )
    g.set_defaults(func=cmd_grade)
    c = sub.add_parser(
        "check",
        help="self-check one notebook before handing it in",
        description="Run one notebook as the grader would and show each check.",
    )
    c.add_argument("notebook", type=Path)
    c.add_argument("--experiment", help="experiment id (default: detected from the code)")
    c.add_argument("--profile", default="quick", choices=["quick", "full"])
    c.add_argument("--backend", default="local", choices=["auto", "local", "docker"])
    c.set_defaults(func=cmd_check)
    r = sub.add_parser("report", help="re-render the reports from the gradebook (runs nothing)")
    r.add_argument("--course", required=True, type=Path)
    r.add_argument("--all", action="store_true", help="redraw every page, not only those whose inputs changed")
    r.add_argument("--student", action="append", help="only this roll number's pages (repeatable)")
    r.add_argument(
        "--for-students",
        type=Path,
        metavar="OUT",
        help="write each student's own feedback into OUT instead (a folder and a zip per student, to hand out)",
    )
    r.set_defaults(func=cmd_report)
    e = sub.add_parser("export", help="write the marks for an LMS (csv, moodle, canvas, gradescope)")
    e.add_argument("--course", required=True, type=Path)
    e.add_argument("--format", default="csv", choices=list(api.EXPORT_FORMATS))
    e.add_argument("--out", required=True, type=Path, help="the file to write (a folder for gradescope)")
    e.add_argument("--per-component", action="store_true", help="one column per marks-sheet column, not per total")
    e.add_argument("--identifier", choices=["email", "id_number"], help="the roster column the LMS matches on")
    e.add_argument("--experiment", action="append", help="only this experiment's column (repeatable)")
    e.set_defaults(func=cmd_export)
    m = sub.add_parser("marks", help="examiners' marks in bulk: import a CSV, list the history, revert")
    msub = m.add_subparsers(dest="action", required=True, metavar="ACTION")
    mi = msub.add_parser("import", help="record every row of roll_no,experiment,column,marks,who,why (all or none)")
    mi.add_argument("file", type=Path)
    mi.add_argument("--course", required=True, type=Path)
    mi.set_defaults(func=cmd_marks_import)
    ml = msub.add_parser("list", help="the history of examiners' marks")
    ml.add_argument("--course", required=True, type=Path)
    ml.add_argument("--roll-no")
    ml.add_argument("--experiment")
    ml.set_defaults(func=cmd_marks_list)
    mr = msub.add_parser("revert", help="restore the value before the latest mark of one column (kept as history)")
    mr.add_argument("--course", required=True, type=Path)
    mr.add_argument("--roll-no", required=True)
    mr.add_argument("--experiment", required=True)
    mr.add_argument("--column", required=True)
    mr.add_argument("--who", required=True)
    mr.add_argument("--why", required=True)
    mr.set_defaults(func=cmd_marks_revert)
    d = sub.add_parser("serve", help="the examiners' desk in a browser: register, sheets, viva forms")
    d.add_argument("--course", required=True, type=Path)
    d.add_argument("--host", default="127.0.0.1", help="loopback by default; another address needs --token")
    d.add_argument("--port", type=int, default=8765)
    d.add_argument("--token", help="password for the desk (or $LABGRADE_DESK_TOKEN)")
    d.set_defaults(func=cmd_serve)
    y = sub.add_parser("similarity", help="copied code across the class, per experiment (evidence, no penalty)")
    y.add_argument("--course", required=True, type=Path)
    y.add_argument("--experiment", action="append", help="only this experiment (repeatable)")
    y.set_defaults(func=cmd_similarity)
    o = sub.add_parser("override", help="record an examiner's marks for one column, with who and why")
    o.add_argument("--course", required=True, type=Path)
    o.add_argument("--roll-no", required=True)
    o.add_argument("--experiment", required=True)
    o.add_argument("--component", required=True, choices=[c.value for c in Component])
    o.add_argument("--marks", required=True, type=float)
    o.add_argument("--who", required=True)
    o.add_argument("--why", required=True)
    o.set_defaults(func=cmd_override)
    k = sub.add_parser(
        "calibrate",
        help="run the reference solution and store its targets",
        description="With --experiment: the harness's own targets (reference/<id>/). With --course: the course's "
        "targets, measured on its own data and written to targets/ beside the course file.",
    )
    k.add_argument("--course", type=Path, help="calibrate on this course's data and seed; targets beside it")
    k.add_argument("--experiment", help="the experiment (with --course: default every enabled one)")
    k.add_argument("--profile", choices=["quick", "full"], help="default: quick, or the course's profile")
    k.add_argument("--backend", choices=["auto", "local", "docker"], help="default: local, or the course's backend")
    k.add_argument("--seed", type=int, help="the harness's targets' seed (default 1234)")
    k.set_defaults(func=cmd_calibrate)
    dt = sub.add_parser("data", help="the course's real datasets")
    dsub = dt.add_subparsers(dest="action", required=True, metavar="ACTION")
    df = dsub.add_parser(
        "fetch",
        help="download the real Keras datasets into the course's data folder, each file's checksum verified",
        description="Downloads the files the Keras loaders of every declared keras.datasets name (their URLs and "
        "hashes read from the installed keras) into the course's `data` folder, in Keras' cache layout.",
    )
    df.add_argument("--course", required=True, type=Path)
    df.add_argument("--dataset", action="append", help="only this dataset, by its keras.datasets name (repeatable)")
    df.add_argument("--base-url", help="a mirror serving the same file names (or $LABGRADE_DATASETS_URL)")
    df.add_argument(
        "--keras-source", type=Path, help="a folder of Keras dataset loaders to read (or $LABGRADE_KERAS_SOURCE)"
    )
    df.set_defaults(func=cmd_data_fetch)
    s = sub.add_parser("sandbox", help="manage the docker grading image")
    ssub = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    b = ssub.add_parser("build", help="build the grading image locally (no registry needed)")
    b.add_argument("--rebuild", action="store_true")
    b.set_defaults(func=cmd_sandbox_build)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labgrade`` command."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EXPECTED_ERRORS as exc:
        err.print(f"labgrade: error: {exc}", markup=False)
        return 2
    except KeyboardInterrupt:
        err.print("labgrade: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
