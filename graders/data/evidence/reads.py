"""The evidence of every course-file read of a notebook (see :mod:`graders.data.evidence`)."""

from __future__ import annotations

import re

import nbformat

from graders.data.evidence.model import Evidence, Observation, strip_html
from graders.data.evidence.walk import State, code_cells, sep_of, strings, walk

NA_HANDLERS = re.compile(r"\.(dropna|fillna|interpolate|ffill|bfill)\(|SimpleImputer|KNNImputer|IterativeImputer")
NA_CHECKS = re.compile(r"\.(isnull|isna|notnull|notna)\(")
THOUSANDS = re.compile(r"""replace\(\s*(['"]),\1\s*,\s*(['"])\2|thousands\s*=\s*['"],['"]""")


def _mentions(nb: nbformat.NotebookNode, names: set[str], whole: bool) -> str:
    """The code lines that speak of a read's frames (the whole notebook when it reads one file)."""
    lines = [ln for _, src, _ in code_cells(nb) for ln in src.splitlines()]
    if whole:
        return "\n".join(lines)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b") if names else None
    return "\n".join(ln for ln in lines if pattern and pattern.search(ln))


SHAPE = re.compile(r"^\((\d+), (\d+)\)$")


_Summary = tuple[tuple[tuple[int, int], ...], tuple[str, ...], tuple[tuple[str, int], ...]]


def _summaries(observations: list[Observation]) -> _Summary:
    """Shapes, head() columns and isnull().sum() counts as the saved outputs show them (for reasons and reports)."""
    shapes: list[tuple[int, int]] = []
    columns: list[str] = []
    counts: list[tuple[str, int]] = []
    for obs in observations:
        for line in obs.text.strip().splitlines():
            m = SHAPE.match(line.strip())
            if m:
                shapes.append((int(m.group(1)), int(m.group(2))))
        chain = obs.parts[-1][1]
        calls = [s[1] for s in chain if s[0] == "call"]
        if obs.kind == "text/html" and not columns and calls[-1:] in (["head"], ["tail"]):
            header = re.search(r"<thead>(.*?)</tr>", obs.text, re.S)
            cells = re.findall(r"<th[^>]*>(.*?)</th>", header.group(1), re.S) if header else []
            columns = [strip_html(c) for c in cells][1:]
        if calls[-2:] in (["isnull", "sum"], ["isna", "sum"]):
            for line in obs.text.splitlines():
                m = re.match(r"^(.*\S)\s+(\d+)$", line)
                if m:
                    counts.append((m.group(1), int(m.group(2))))
    return tuple(shapes), tuple(columns), tuple(counts)


def _evidence(nb: nbformat.NotebookNode, state: State, idx: int) -> Evidence:
    read = state.reads[idx]
    kw = read.kw()
    code = _mentions(nb, state.names.get(idx, set()), whole=len(state.reads) == 1)
    keys = state.keys.get(idx, []) + (state.loose_keys if len(state.reads) == 1 else [])
    observations = state.observations.get(idx, [])
    shapes, head, counts = _summaries(observations)
    names = tuple(strings(kw.get("names")))
    where = [f"cell {read.cell}: {read.func}({read.name!r}{''.join(f', {k}={v!r}' for k, v in read.kwargs)})"]
    where += [f"cell {o.cell}: saved output of {o.expr}" for o in observations]
    return Evidence(
        read=read,
        columns_used=tuple(dict.fromkeys(k for k in keys if k and k not in names)),
        assigned_columns=tuple(dict.fromkeys(state.assigned.get(idx, []))),
        handles_na=bool(NA_HANDLERS.search(code)),
        checks_na=bool(NA_CHECKS.search(code)),
        handles_thousands=bool(THOUSANDS.search(code)) or kw.get("thousands") == ",",
        header_none=kw.get("header", 0) is None,
        index_col=kw.get("index_col"),
        sep=sep_of(kw),
        names_given=names,
        shape_seen=shapes,
        head_columns_seen=head,
        na_counts_seen=counts,
        observations=tuple(observations),
        where=tuple(where),
    )


def notebook_reads(nb: nbformat.NotebookNode) -> list[Evidence]:
    """The evidence of every course-file read of the notebook, in the order the notebook reads them."""
    state = walk(nb)
    return [_evidence(nb, state, i) for i in range(len(state.reads))]


def notebook_evidence(nb: nbformat.NotebookNode, file_name: str | None = None) -> Evidence:
    """The evidence about the file read as ``file_name`` (as written; default: the first read), or none."""
    for ev in notebook_reads(nb):
        if ev.read is not None and (file_name is None or ev.read.name == file_name):
            return ev
    return Evidence()
