"""Intake: find a student's files, validate them, hash them, and tell what they are.

File names lie, so the experiment is detected from the code (each rubric's
``detect`` signals); the name is only a fallback for files whose code cannot
be read. A ``.py`` module becomes a notebook (``# %%`` markers split cells).
Nothing here executes student code.
"""

from __future__ import annotations

import csv
import hashlib
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import nbformat

from graders.config import CourseConfig
from graders.rubric import Rubric, load_rubric, manual_order

SUBMISSION_SUFFIXES = (".ipynb", ".py")
ARCHIVE_SUFFIXES = (".zip",)
MAX_ARCHIVE_MEMBER_BYTES = 50_000_000


class IntakeError(ValueError):
    """A submission file that cannot be graded; the message says why."""


@dataclass(frozen=True)
class Student:
    """A row of the roster."""

    roll_no: str
    name: str
    email: str = ""  # optional roster columns: what an LMS matches its import on
    id_number: str = ""


def normalise_roll(text: str) -> str:
    """A roll number in its one canonical spelling, wherever it is read (roster, manifest, flags, marks files):
    ``02``, `` 2 `` and Excel's ``2.0`` are ``2``. Anything else is an IntakeError (a ValueError) whose message
    can be shown as it is."""
    value = str(text).strip()
    if re.fullmatch(r"[0-9]+\.0*", value):
        value = value.split(".")[0]
    if not re.fullmatch(r"[0-9]+", value):
        raise IntakeError(f"{text!r} is not a roll number (write it as digits, e.g. 7 or 07)")
    return str(int(value))


def _roll_or_none(text: str) -> str | None:
    try:
        return normalise_roll(text)
    except IntakeError:
        return None


@dataclass(frozen=True)
class Submission:
    """One handed-in file, read and validated (or with the reason it is not)."""

    path: Path
    sha256: str
    submitted_at: datetime | None
    notebook: nbformat.NotebookNode | None
    error: str = ""
    detected: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    repairs: tuple[str, ...] = ()  # what was repaired to read it as Jupyter does (read_repaired)

    @property
    def code(self) -> str:
        """All code cells joined."""
        if self.notebook is None:
            return ""
        return "\n".join(str(c.source) for c in self.notebook.cells if c.cell_type == "code")

    @property
    def markdown(self) -> list[str]:
        """The text of every markdown cell, in order."""
        if self.notebook is None:
            return []
        return [str(c.source) for c in self.notebook.cells if c.cell_type == "markdown"]

    @property
    def markdown_cells(self) -> list[int]:
        """Each markdown cell's 1-based position among all cells: the cell number evidence names."""
        if self.notebook is None:
            return []
        return [i for i, c in enumerate(self.notebook.cells, start=1) if c.cell_type == "markdown"]


def load_roster(path: Path) -> list[Student]:
    """Read ``roll_no,name[,email,id_number]`` rows; a clear error naming the file and line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise IntakeError(f"{path}: roster file not found") from None
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        roll, name = _roll_or_none(row.get("roll_no") or ""), (row.get("name") or "").strip()
        if roll is None or not name:
            raise IntakeError(f"{path}: line {line}: expected columns roll_no (a number) and name, got {row}")
        if roll in seen:
            raise IntakeError(f"{path}: line {line}: roll number {roll} is already on line {seen[roll]}")
        seen[roll] = line
        students.append(Student(roll, name, (row.get("email") or "").strip(), (row.get("id_number") or "").strip()))
    return students


def module_to_notebook(source: str) -> nbformat.NotebookNode:
    """A .py module as a notebook: ``# %%`` markers split cells, else one cell."""
    parts = [p.strip("\n") for p in re.split(r"^# ?%%.*$", source, flags=re.MULTILINE)]
    cells = [nbformat.v4.new_code_cell(p) for p in parts if p.strip()]
    nb = nbformat.v4.new_notebook(cells=cells or [nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook or module; IntakeError with a one-line reason."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IntakeError(f"{path.name}: cannot be read: {exc.strerror}") from None
    return parse_notebook(path.name, raw)


def parse_notebook(name: str, raw: bytes) -> nbformat.NotebookNode:
    """A notebook (or a .py module turned into one) from its bytes."""
    return read_repaired(name, raw)[0]


def read_repaired(name: str, raw: bytes) -> tuple[nbformat.NotebookNode, list[str]]:
    """A notebook read as Jupyter reads it, and what was repaired on the way (:func:`repair_notebook`); only
    what stays unreadable is an IntakeError."""
    text = raw.decode("utf-8", errors="replace")
    if name.endswith(".py"):
        return module_to_notebook(text), []
    try:
        return repair_notebook(text)
    except nbformat.ValidationError as exc:
        raise IntakeError(f"{name} is not a valid notebook: {exc.message}") from None
    except Exception as exc:  # nbformat raises several unrelated types for bad JSON
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IntakeError(f"{name} is not a valid notebook (the JSON does not parse: {first})") from None


def detect(code: str, rubrics: list[Rubric]) -> tuple[str, dict[str, float]]:
    """The experiment the code most looks like ('' if none), with every score."""
    scores = {r.id: r.detection_score(code) for r in rubrics}
    best = max(scores.items(), key=lambda kv: kv[1], default=("", 0.0))
    return (best[0] if best[1] > 0 else ""), scores


def read_submission(path: Path, rubrics: list[Rubric], submitted_at: datetime | None = None) -> Submission:
    """Read, hash and classify one file; an unreadable file keeps its reason."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    when = submitted_at or (
        datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).replace(tzinfo=None) if path.is_file() else None
    )
    try:
        nb, repairs = read_repaired(path.name, path.read_bytes())
    except (IntakeError, OSError) as exc:
        hint = next((r.id for r in rubrics if r.id in path.name.lower()), "")
        error = str(exc) if isinstance(exc, IntakeError) else f"{path.name}: cannot be read: {exc.strerror}"
        return Submission(path, digest, when, None, error=error, detected=hint)
    code = "\n".join(str(c.source) for c in nb.cells if c.cell_type == "code")
    found, scores = detect(code, rubrics)
    return Submission(path, digest, when, nb, detected=found, scores=scores, repairs=tuple(repairs))


def unsafe_member(name: str) -> bool:
    """Whether an archive member's name points outside the archive (absolute, drive-lettered or with '..'): the
    one rule for every archive a student hands in (notebooks here, write-ups in :mod:`graders.marking.writeups`)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def read_archive(path: Path, rubrics: list[Rubric], submitted_at: datetime | None = None) -> list[Submission]:
    """Notebooks inside a .zip, read in memory; an unsafe or unreadable archive is one invalid submission."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    when = submitted_at or datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).replace(tzinfo=None)
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            unsafe = [m.filename for m in members if unsafe_member(m.filename)]
            if unsafe:
                raise IntakeError(f"{path.name} is an unsafe archive: member {unsafe[0]!r} points outside the archive")
            wanted = [m for m in members if m.filename.endswith(SUBMISSION_SUFFIXES) and "__MACOSX" not in m.filename]
            if any(m.file_size > MAX_ARCHIVE_MEMBER_BYTES for m in wanted):
                raise IntakeError(f"{path.name}: a member is larger than {MAX_ARCHIVE_MEMBER_BYTES // 1_000_000} MB")
            texts = {m.filename: zf.read(m) for m in wanted}
    except zipfile.BadZipFile as exc:
        return [Submission(path, digest, when, None, error=f"{path.name} is not a readable zip archive: {exc}")]
    except IntakeError as exc:
        return [Submission(path, digest, when, None, error=str(exc))]
    return [_from_bytes(path, name, raw, digest, when, rubrics) for name, raw in texts.items()]


def _from_bytes(
    archive: Path, name: str, raw: bytes, digest: str, when: datetime | None, rubrics: list[Rubric]
) -> Submission:
    member = archive.parent / f"{archive.name}!{name}"  # a member in a sub-folder keeps its path in the name
    try:
        nb, repairs = read_repaired(PurePosixPath(name).name, raw)
    except IntakeError as exc:
        return Submission(member, digest, when, None, error=str(exc))
    code = "\n".join(str(c.source) for c in nb.cells if c.cell_type == "code")
    found, scores = detect(code, rubrics)
    return Submission(member, digest, when, nb, detected=found, scores=scores, repairs=tuple(repairs))


def load_manifest(path: Path | None) -> dict[tuple[str, str], datetime]:
    """(roll_no, file name) -> submission time, from the LMS export."""
    if path is None:
        return {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise IntakeError(f"{path}: manifest file not found") from None
    times = {}
    for line, row in enumerate(rows, start=2):
        try:
            roll = normalise_roll(row["roll_no"])
            times[(roll, row["file"].strip())] = datetime.fromisoformat(row["submitted_at"].strip())
        except (KeyError, ValueError, AttributeError):
            raise IntakeError(
                f"{path}: line {line}: expected roll_no,file,submitted_at (ISO date-time), got {row}"
            ) from None
    return times


def student_folder(root: Path, roll_no: str) -> Path | None:
    """The student's folder: named by roll number (leading zeros allowed), optionally followed by _name."""
    if not root.is_dir():
        return None
    pattern = re.compile(rf"^0*{re.escape(roll_no.lstrip('0') or '0')}([_\- ]|$)")
    for child in sorted(root.iterdir()):
        if child.is_dir() and pattern.match(child.name):
            return child
    return None


def student_submissions(
    root: Path, student: Student, rubrics: list[Rubric], manifest: dict[tuple[str, str], datetime]
) -> list[Submission]:
    """Every submission file in the student's folder, read and classified."""
    folder = student_folder(root, student.roll_no)
    if folder is None:
        return []
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    subs: list[Submission] = []
    for p in files:
        when = manifest.get((student.roll_no, p.name))
        if p.suffix in ARCHIVE_SUFFIXES:
            subs += read_archive(p, rubrics, when)
        elif p.suffix in SUBMISSION_SUFFIXES:
            subs.append(read_submission(p, rubrics, when))
    return subs


def pick(subs: list[Submission], experiment: str) -> tuple[Submission | None, str]:
    """The submission graded for an experiment, and a note when the choice was not obvious."""
    matching = [s for s in subs if s.detected == experiment]
    if not matching:
        unreadable = [s for s in subs if s.notebook is None and not s.detected]
        if unreadable:
            return unreadable[0], ""
        return None, ""
    valid = [s for s in matching if s.notebook is not None] or matching
    chosen = max(valid, key=lambda s: s.submitted_at or datetime.min)
    note = ""
    if len(valid) > 1:
        note = f"{len(valid)} files are {experiment} code; graded the latest, {chosen.path.name}"
    if experiment not in chosen.path.name.lower() and any(
        other in chosen.path.name.lower() for other in chosen.scores if other != experiment
    ):
        note = (
            note + "; " if note else ""
        ) + f"{chosen.path.name} is named like another experiment but its code is {experiment}"
    return chosen, note


def class_list(cfg: CourseConfig) -> list[tuple[Student, list[str]]]:
    """Each student on the roster with the experiments they are graded on: every enabled core
    experiment, and only the mini project their roll number is given."""
    core = sorted(
        (e for e in cfg.enabled if e not in cfg.mini_projects.allot), key=lambda e: manual_order(load_rubric(e).number)
    )
    out = []
    for student in load_roster(cfg.roster):
        mine = list(core)
        mini = cfg.mini_projects.for_roll(int(student.roll_no))
        if mini and mini in cfg.enabled:
            mine.append(mini)
        out.append((student, mine))
    return out


# -- notebooks read as Jupyter reads them ---------------------------------------------------------------

# The fields nbformat's v4 schema allows on each kind of cell and output; Jupyter drops any other on save.
_CELL_FIELDS = {
    "code": {"id", "cell_type", "metadata", "source", "outputs", "execution_count"},
    "markdown": {"id", "cell_type", "metadata", "source", "attachments"},
    "raw": {"id", "cell_type", "metadata", "source", "attachments"},
}
_OUTPUT_FIELDS = {
    "execute_result": {"output_type", "execution_count", "data", "metadata"},
    "display_data": {"output_type", "data", "metadata", "transient"},
    "stream": {"output_type", "name", "text"},
    "error": {"output_type", "ename", "evalue", "traceback"},
}
# What Jupyter assumes when an output lacks a required field.
_OUTPUT_DEFAULTS: dict[str, dict[str, object]] = {
    "execute_result": {"execution_count": None, "data": {}, "metadata": {}},
    "display_data": {"data": {}, "metadata": {}},
    "stream": {"name": "stdout", "text": ""},
    "error": {"ename": "", "evalue": "", "traceback": []},
}


def repair_notebook(text: str) -> tuple[nbformat.NotebookNode, list[str]]:
    """Parse ``text`` as Jupyter, VS Code and GitHub open it: what they tolerate a notebook lacking (output
    metadata, a stream's name, cell ids, execution counts) is filled in as Jupyter fills it, fields the schema
    does not know are dropped, and each kind of repair is one sentence. Raises ``nbformat.ValidationError`` for
    what stays unreadable, and nbformat's own errors for text that is no notebook at all."""
    with warnings.catch_warnings():  # nbformat warns about each missing id: the repairs below say it once
        warnings.simplefilter("ignore")
        nb = nbformat.convert(nbformat.reader.reads(text), 4)
        repairs = _fill_in(nb)
        if nb.nbformat_minor < 5 and any("id" in c for c in nb.cells):  # ids belong to format 4.5 on
            nb.nbformat_minor = 5
            repairs.append("cells carried ids under an older format version (raised to 4.5)")
        if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
            ids = [c.get("id") for c in nb.cells]
            if None in ids or len(set(ids)) != len(ids):
                repairs.append("cells lacked ids (or shared one)")
            nbformat.validator.normalize(nb)
        nbformat.validate(nb)
    return nb, repairs


def _fill_in(nb: nbformat.NotebookNode) -> list[str]:
    """Fill in the fields Jupyter assumes and drop the ones it ignores; what was done, in words."""
    found: list[str] = []

    def note(sentence: str) -> None:
        if sentence not in found:
            found.append(sentence)

    if not isinstance(nb.get("metadata"), dict):
        nb["metadata"] = nbformat.NotebookNode()
        note("the notebook lacked its metadata")
    for cell in nb.get("cells", []):
        allowed = _CELL_FIELDS.get(cell.get("cell_type", ""), set())
        if "metadata" not in cell:
            cell["metadata"] = nbformat.NotebookNode()
            note("cells lacked metadata")
        if cell.get("cell_type") == "code":
            if "execution_count" not in cell:
                cell["execution_count"] = None
                note("code cells lacked their execution count")
            if "outputs" not in cell:
                cell["outputs"] = []
                note("code cells lacked their outputs")
            for out in cell.get("outputs", []):
                _fill_output(out, note)
        if allowed and set(cell) - allowed:
            for key in set(cell) - allowed:
                del cell[key]
            note("cells held fields the format does not know (dropped)")
    return found


def _fill_output(out: nbformat.NotebookNode, note: Callable[[str], None]) -> None:
    kind = out.get("output_type", "")
    for key, default in _OUTPUT_DEFAULTS.get(kind, {}).items():
        if key not in out:
            out[key] = nbformat.from_dict(default) if isinstance(default, dict | list) else default
            what = "a stream output lacked its name" if key == "name" else f"outputs lacked {key.replace('_', ' ')}"
            note(what)
    extra = set(out) - _OUTPUT_FIELDS.get(kind, set(out))
    for key in extra:
        del out[key]
    if extra:
        note("outputs held fields the format does not know (dropped)")
