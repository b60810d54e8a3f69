"""Course files a variants table does not declare, found by content for a read under a name of the student's own.

An experiment's served course files (``IMDB Dataset.csv``: review, sentiment) are answered by the kernel under
their names, the rubric's aliases and its adapters' families. A student who saved one under a name of their
own (``my_reviews.csv``) left evidence of it instead: the columns its saved ``head()``, ``info()`` or
``columns`` show, the column count of a saved ``shape``, the columns the code indexes. A read whose evidence
names exactly a served file's columns (and nothing of another table) is answered from that file, with the
reason; a read whose evidence says nothing, or speaks of other columns, is left to the kernel (a course file
by name, else ``missing_data_file``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import nbformat

from graders.data.evidence.choice import known_name, other_dataset
from graders.data.evidence.model import Evidence, strip_html
from graders.data.evidence.reads import notebook_reads
from graders.data.variants import CourseFile, student_bytes

INFO_LINE = re.compile(r"^\s*\d+\s+(\S.*?)\s+\d+ non-null\s+\S+\s*$", re.MULTILINE)
INDEX = re.compile(r"Index\(\[(.*?)\]", re.S)
QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def _norm(name: str) -> str:
    base = re.split(r"[\\/]", name)[-1]
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\s*\(\d+\)(?=\.[^.]+$)", "", base.lower()))


def columns_seen(ev: Evidence, *, as_read: bool = False) -> list[str]:
    """The column names the read's saved outputs show: a head() table, an info() listing, a columns Index.

    ``as_read``: only outputs of the frame as it was read (no step before them changed its columns).
    """
    for obs in ev.observations:
        if as_read and (obs.opaque or any(history for history, _ in obs.parts)):
            continue
        chain = obs.parts[-1][1]
        calls = [s[1] for s in chain if s[0] == "call"]
        if obs.kind == "text/html" and calls[-1:] in (["head"], ["tail"], ["sample"]):
            header = re.search(r"<thead>(.*?)</tr>", obs.text, re.S)
            cells = re.findall(r"<th[^>]*>(.*?)</th>", header.group(1), re.S) if header else []
            if cells:
                return [strip_html(c) for c in cells][1:]
        if obs.kind == "stream" and (found := INFO_LINE.findall(obs.text)):
            return [c.strip() for c in found]
        if found_index := INDEX.search(obs.text):
            return [a or b for a, b in QUOTED.findall(found_index.group(1))]
        if obs.kind == "text/plain" and calls[-1:] in (["head"], ["tail"]):
            first = obs.text.strip().splitlines()[0] if obs.text.strip() else ""
            return first.split()
    return []


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        return next(csv.reader(fh), [])


def _match(ev: Evidence, columns: list[str]) -> str | None:
    """Why the read's evidence is this file's (its columns, nothing of another table), or None."""
    seen = columns_seen(ev)
    keys = [k for k in ev.columns_used if k not in ev.assigned_columns]
    if seen and [c.strip() for c in seen] != [c.strip() for c in columns]:
        return None  # a saved table of other columns: another dataset
    if any(k not in columns for k in keys) or any(cols != len(columns) for _, cols in ev.shape_seen):
        return None
    why = []
    if seen:
        why.append(f"its saved outputs show exactly its columns {', '.join(columns)}")
    if ev.shape_seen:
        why.append(f"the saved shape {ev.shape_seen[0]} has its {len(columns)} columns")
    if keys:
        why.append(f"the code uses its columns {', '.join(map(repr, dict.fromkeys(keys)))}")
    return "; ".join(why) if seen or keys else None


NOT_A_COURSE_FILE = ".not-a-course-file"  # the kernel's datafiles.NOT_A_COURSE_FILE: refuse, do not resolve


def _declared_headers(declared: Sequence[CourseFile]) -> list[list[str]]:
    """Each declared copy's column names (the header line it was shipped with); [] when a copy has no header."""
    out: list[list[str]] = []
    for course in declared:
        for spec in course.variants:
            if spec.archive is not None or (spec.source == "canonical" and not spec.header):
                return []  # a header-less copy: saved columns 0..16 say nothing against it
            text = student_bytes(course, spec.id).decode("utf-8", "replace").lstrip("\ufeff")
            line = text.splitlines()[len(spec.preamble) if spec.source == "canonical" else 0] if text else ""
            out.append([c.strip().strip('"') for c in line.split(spec.sep or ",")])
    return out


def _other_table(ev: Evidence, headers: list[list[str]]) -> str | None:
    """The saved outputs show a table sharing under half its columns with every course file and copy."""
    seen = [c.strip() for c in columns_seen(ev, as_read=True)]
    if not seen or not headers or ev.header_none or ev.names_given:
        return None
    best = max(len({c.lower() for c in seen} & {c.lower() for c in cols}) / len(seen) for cols in headers)
    if best >= 0.5:
        return None
    return (
        f"its saved outputs show the columns of another table ({', '.join(seen[:5])}{' ...' if len(seen) > 5 else ''})"
    )


def served_matches(
    nb: nbformat.NotebookNode,
    files_dir: Path,
    served: Sequence[str],
    declared: Sequence[CourseFile],
    aliases: dict[str, list[str]],
) -> tuple[dict[str, str], dict[str, str]]:
    """Read name -> ``files/<course file>`` for reads under unknown names whose evidence matches a served CSV,
    or -> ``.not-a-course-file`` (the kernel refuses it) for a read named for another dataset or whose saved
    outputs show another table's columns, though its name would route it to a course file.

    Only course files the variants table does not declare are candidates (a declared one is matched with its
    variants), and only reads under a name neither a served file, an alias nor a declared copy is known by.
    """
    known = {_norm(n) for n in served} | {_norm(a) for names in aliases.values() for a in names}
    declared_names = {c.name for c in declared}
    candidates = {
        name: _header(files_dir / name)
        for name in served
        if name not in declared_names and (files_dir / name).is_file() and name.lower().endswith((".csv", ".tsv"))
    }
    mapped: dict[str, str] = {}
    reasons: dict[str, str] = {}
    headers = list(candidates.values()) + _declared_headers(declared)
    for ev in notebook_reads(nb):
        if ev.read is None or ev.read.func == "archive" or ev.read.name in mapped:
            continue
        name = ev.read.name
        other = other_dataset(name, declared) or _other_table(ev, headers)
        if other and _norm(name) not in known and not known_name(name, declared):
            mapped[name] = NOT_A_COURSE_FILE
            reasons[name] = f"{name!r} is not one of the course's data files: {other}"
            continue
        if _norm(name) in known or known_name(name, declared):
            continue
        found = [(file, why) for file, cols in candidates.items() if cols and (why := _match(ev, cols))]
        if len(found) == 1:
            file, why = found[0]
            mapped[name] = f"files/{file}"
            reasons[name] = f"{name!r} read from the course file {file!r} (found by content): {why}"
    return mapped, reasons
