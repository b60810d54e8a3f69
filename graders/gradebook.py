"""The gradebook: every grading run and every examiner override, on SQLite.

Runs and overrides are append-only history. The database itself enforces it:
triggers abort any UPDATE or DELETE (and any INSERT that would replace an
existing run), so not even a hand-typed ``sqlite3`` session can rewrite a
grade. A change of marks is a new :class:`~graders.models.Override`, and the
marks a student sees are :func:`effective_marks` of the latest run.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from pydantic import ValidationError

from graders.models import COMPONENT_MAX, Component, ComponentMarks, Override, RunRecord

SCHEMA_VERSION = 2  # 2: run records nest their artifacts (graders.models.Artifacts)
APPLICATION = "labgrade-gradebook"

_SCHEMA = f"""
CREATE TABLE schema_version (
    application TEXT NOT NULL,
    version INTEGER NOT NULL
);
INSERT INTO schema_version (application, version) VALUES ('{APPLICATION}', {SCHEMA_VERSION});

CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,       -- insertion order; rowids may move on VACUUM
    course TEXT NOT NULL,
    roll_no TEXT NOT NULL,
    experiment TEXT NOT NULL,
    status TEXT NOT NULL,
    graded_at TEXT NOT NULL,           -- UTC, fixed width, so text order is time order
    record TEXT NOT NULL               -- RunRecord.model_dump_json()
);
CREATE INDEX runs_by_student ON runs (course, roll_no, experiment, graded_at);
CREATE INDEX runs_by_status ON runs (course, status);

CREATE TABLE overrides (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    course TEXT NOT NULL,
    roll_no TEXT NOT NULL,
    experiment TEXT NOT NULL,
    component TEXT NOT NULL,
    at TEXT NOT NULL,
    record TEXT NOT NULL               -- Override.model_dump_json()
);
CREATE INDEX overrides_by_student ON overrides (course, roll_no, experiment, at);

-- History is immutable: enforced here, not by the goodwill of callers.
CREATE TRIGGER runs_no_update BEFORE UPDATE ON runs
BEGIN SELECT RAISE(ABORT, 'gradebook runs are immutable: UPDATE refused'); END;
CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs
BEGIN SELECT RAISE(ABORT, 'gradebook runs are immutable: DELETE refused'); END;
-- INSERT OR REPLACE deletes without firing delete triggers (unless
-- recursive_triggers is on), so refuse a second insert of the same run_id.
CREATE TRIGGER runs_no_replace BEFORE INSERT ON runs
WHEN EXISTS (SELECT 1 FROM runs WHERE run_id = NEW.run_id)
BEGIN SELECT RAISE(ABORT, 'gradebook runs are immutable: run_id already recorded'); END;
CREATE TRIGGER overrides_no_update BEFORE UPDATE ON overrides
BEGIN SELECT RAISE(ABORT, 'gradebook overrides are append-only: UPDATE refused'); END;
CREATE TRIGGER overrides_no_delete BEFORE DELETE ON overrides
BEGIN SELECT RAISE(ABORT, 'gradebook overrides are append-only: DELETE refused'); END;
"""


class GradebookError(Exception):
    """The gradebook file cannot be used, or a write would break its history."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(f"{path}: {message}" if path is not None else message)
        self.path = path


def _utc_text(moment: datetime) -> str:
    """A fixed-width UTC timestamp whose text order is its time order.

    Naive datetimes are taken to be UTC already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


class Gradebook:
    """An SQLite gradebook file: append-only runs and overrides.

    Use as a context manager (``with Gradebook(path) as book: ...``) or call
    :meth:`close`. A missing or empty file gets the schema; anything else must
    be a labgrade gradebook of a schema version this code knows.
    """

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the gradebook at ``path``."""
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise GradebookError("the directory does not exist", path=self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise GradebookError(f"cannot open as SQLite: {exc}", path=self.path) from exc
        try:
            self._configure()
            self._ensure_schema()
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        self._db.close()

    # -- opening -----------------------------------------------------------

    def _configure(self) -> None:
        try:
            self._db.execute("PRAGMA journal_mode=WAL").fetchone()
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise GradebookError(f"not a gradebook (not an SQLite database: {exc})", path=self.path) from exc

    def _ensure_schema(self) -> None:
        with self._write():
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                for statement in _split_sql(_SCHEMA):
                    self._db.execute(statement)
            else:
                self._check_version(tables)

    def _check_version(self, tables: set[str]) -> None:
        if "schema_version" not in tables:
            raise GradebookError(
                f"not a labgrade gradebook (an SQLite database with tables {sorted(tables)}, no schema_version)",
                path=self.path,
            )
        row = self._db.execute("SELECT application, version FROM schema_version").fetchone()
        if row is None or row[0] != APPLICATION:
            raise GradebookError(f"not a labgrade gradebook (schema_version says {row!r})", path=self.path)
        if row[1] > SCHEMA_VERSION:
            raise GradebookError(
                f"gradebook schema version {row[1]} is newer than this labgrade understands "
                f"({SCHEMA_VERSION}); upgrade labgrade",
                path=self.path,
            )
        if row[1] < SCHEMA_VERSION:
            raise GradebookError(
                f"gradebook schema version {row[1]} was written by an earlier labgrade, whose run records do not "
                f"keep their artifacts; grade into a new gradebook (set `gradebook` in the course file)",
                path=self.path,
            )

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taking the write lock up front."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise GradebookError(f"cannot write: {exc}", path=self.path) from exc
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- runs --------------------------------------------------------------

    def record_run(self, run: RunRecord) -> None:
        """Append one run. Recording the identical run again is a no-op;
        a different run under an existing ``run_id`` is a :class:`GradebookError`."""
        record = run.model_dump_json()
        with self._write():
            row = self._db.execute("SELECT record FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
            if row is not None:
                if row[0] == record:
                    return
                raise GradebookError(
                    f"run {run.run_id!r} is already recorded with different content; runs are immutable"
                )
            self._db.execute(
                "INSERT INTO runs (run_id, seq, course, roll_no, experiment, status, graded_at, record) "
                "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM runs), ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.course,
                    run.roll_no,
                    run.experiment,
                    run.status.value,
                    _utc_text(run.graded_at),
                    record,
                ),
            )

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        row = self._db.execute("SELECT run_id, record FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else self._load_run(row[0], row[1])

    def runs_for(self, course: str, roll_no: str, experiment: str) -> list[RunRecord]:
        """Every run of one student on one experiment, oldest first."""
        rows = self._db.execute(
            "SELECT run_id, record FROM runs WHERE course = ? AND roll_no = ? AND experiment = ? "
            "ORDER BY graded_at, seq",
            (course, roll_no, experiment),
        )
        return [self._load_run(run_id, record) for run_id, record in rows]

    def latest_runs(self, course: str, roll_no: str | None = None) -> list[RunRecord]:
        """The latest run (by graded_at, then insertion) per roll_no × experiment of a course (or of one student)."""
        rows = self._db.execute(
            "SELECT run_id, record FROM ("
            "  SELECT run_id, record, roll_no, experiment, ROW_NUMBER() OVER ("
            "    PARTITION BY roll_no, experiment ORDER BY graded_at DESC, seq DESC) AS rank"
            "  FROM runs WHERE course = ? AND (? IS NULL OR roll_no = ?)"
            ") WHERE rank = 1 ORDER BY roll_no, experiment",
            (course, roll_no, roll_no),
        )
        return [self._load_run(run_id, record) for run_id, record in rows]

    def _load_run(self, run_id: str, record: str) -> RunRecord:
        try:
            return RunRecord.model_validate_json(record)
        except ValidationError as exc:
            raise GradebookError(f"run {run_id!r} cannot be read back: {exc}", path=self.path) from exc

    # -- overrides ---------------------------------------------------------

    def add_override(self, course: str, o: Override) -> None:
        """Append an examiner's override for one column (history is kept)."""
        self.add_overrides(course, [o])

    def add_overrides(self, course: str, entries: list[Override]) -> None:
        """Append several overrides in one transaction: all of them, or none (a bulk import)."""
        for o in entries:
            if o.marks is not None and not math.isfinite(o.marks):
                raise GradebookError(f"override marks must be a finite number, not {o.marks!r}")
        with self._write():
            self._db.executemany(
                "INSERT INTO overrides (course, roll_no, experiment, component, at, record) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (course, o.roll_no, o.experiment, o.component.value, _utc_text(o.at), o.model_dump_json())
                    for o in entries
                ],
            )

    def overrides(self, course: str, roll_no: str, experiment: str) -> list[Override]:
        """The overrides of one student on one experiment, oldest first."""
        rows = self._db.execute(
            "SELECT seq, record FROM overrides WHERE course = ? AND roll_no = ? AND experiment = ? ORDER BY at, seq",
            (course, roll_no, experiment),
        )
        return [self._load_override(seq, record) for seq, record in rows]

    def all_overrides(self, course: str, roll_no: str | None = None) -> dict[tuple[str, str], list[Override]]:
        """Every override of a course (or of one student) keyed by (roll_no, experiment), each list oldest first."""
        grouped: dict[tuple[str, str], list[Override]] = {}
        for _, o in self.override_history(course, roll_no):
            grouped.setdefault((o.roll_no, o.experiment), []).append(o)
        return grouped

    def override_history(self, course: str, roll_no: str | None = None) -> list[tuple[int, Override]]:
        """Every override of a course (or of one student) with its stored sequence number, oldest first."""
        rows = self._db.execute(
            "SELECT seq, record FROM overrides WHERE course = ? AND (? IS NULL OR roll_no = ?) ORDER BY at, seq",
            (course, roll_no, roll_no),
        )
        return [(seq, self._load_override(seq, record)) for seq, record in rows]

    def _load_override(self, seq: int, record: str) -> Override:
        try:
            return Override.model_validate_json(record)
        except ValidationError as exc:
            raise GradebookError(f"override #{seq} cannot be read back: {exc}", path=self.path) from exc


def _split_sql(script: str) -> list[str]:
    """Split the schema script into statements (triggers contain ';' inside BEGIN…END)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in schema: {buffer!r}")
    return statements


def _sort_key(moment: datetime) -> datetime:
    """Compare naive and aware datetimes alike (naive taken as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def winning_overrides(overrides: list[Override]) -> dict[Component, Override]:
    """The override in force per column: the latest by ``at`` (ties: the later in the list)."""
    ordered = sorted(overrides, key=lambda o: _sort_key(o.at))  # stable: list order breaks ties
    return {o.component: o for o in ordered}


def _clamp(marks: float | None) -> float | None:
    if marks is None or not math.isfinite(marks):
        return None  # pending: a mark nobody gave is never a 0
    return min(max(float(marks), 0.0), COMPONENT_MAX)


def effective_marks(run: RunRecord, overrides: list[Override]) -> ComponentMarks:
    """The run's marks with the examiner's overrides on top, each column clamped to 0..5 (or still pending).

    Overrides belong to a student × experiment, not to one run, so an examiner's
    viva mark stays in force when the student resubmits.
    """
    for o in overrides:
        if (o.roll_no, o.experiment) != (run.roll_no, run.experiment):
            raise ValueError(
                f"override for {o.roll_no}/{o.experiment} given for run {run.run_id} of {run.roll_no}/{run.experiment}"
            )
    values = {c.value: run.marks.get(c) for c in Component}
    for component, o in winning_overrides(overrides).items():
        if o.marks is not None:  # None withdraws the examiner's mark: the run's own value stands again
            values[component.value] = o.marks
    return ComponentMarks(**{name: _clamp(v) for name, v in values.items()})
