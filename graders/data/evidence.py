"""Which variant of a course file a notebook was written against: evidence from its code and saved outputs.

A notebook's author had one copy of each course file, and the notebook remembers it: the names its code
indexes (``df["MEDV"]``), how it reads (``header=None``, ``sep=r"\\s+"``, ``thousands=","``), whether it
handles NA, and above all the outputs saved with it (``df.head()`` tables, ``df.info()``, ``df.shape``).

The matcher does not guess from keywords alone: for each declared variant it rebuilds the student's copy
host side, reads it *with the student's own read call*, replays the simple pandas steps the notebook took
on the frame (``dropna()``, ``drop(...)``, ``inplace=True`` calls), renders each expression whose output was
saved (``head()``, ``info()``, ``shape``, ``describe()``, ``isnull().sum()``...) and compares the rendering
with the saved output. The variant that reproduces the saved outputs wins; code heuristics (column names
that would raise KeyError, NA left in a model's input, thousands separators read as text, a header line
read as data) decide only where the outputs do not, and a conflict is said in the reason. A file's name
never picks a variant; it only routes a read with no evidence at all to a course file's canonical copy.
Nothing of the notebook is executed: expressions are interpreted from a short whitelist of pandas calls.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from graders.data.variants import CourseFile, VariantSpec, student_bytes

WRAPPERS = ("len", "print", "display")
READERS = {"read_csv", "read_table", "read_excel", "read_fwf"}
ARCHIVE_OPENERS = {"ZipFile", "unpack_archive", "extractall"}
READ_KWARGS = {
    "header",
    "names",
    "index_col",
    "sep",
    "delimiter",
    "delim_whitespace",
    "skiprows",
    "thousands",
    "decimal",
    "usecols",
    "na_values",
    "keep_default_na",
    "skipinitialspace",
    "parse_dates",
    "dayfirst",
    "nrows",
    "skipfooter",
    "engine",
    "dtype",
    "date_format",
}
METHODS = {
    "head",
    "tail",
    "info",
    "describe",
    "isnull",
    "isna",
    "notnull",
    "notna",
    "sum",
    "dropna",
    "drop",
    "fillna",
    "count",
    "nunique",
    "copy",
    "reset_index",
    "mean",
    "value_counts",
    "unique",
    "set_index",
    "rename",
    "to_numpy",
    "max",
    "min",
    "corr",
    "any",
    "all",
}
ATTRIBUTES = {"shape", "columns", "dtypes", "index", "size", "ndim", "values", "T", "iloc", "loc"}
NA_HANDLERS = re.compile(r"\.(dropna|fillna|interpolate|ffill|bfill)\(|SimpleImputer|KNNImputer|IterativeImputer")
NA_CHECKS = re.compile(r"\.(isnull|isna|notnull|notna)\(")
THOUSANDS = re.compile(r"""replace\(\s*(['"]),\1\s*,\s*(['"])\2|thousands\s*=\s*['"],['"]""")
OUTPUT_WEIGHT = 100.0  # one saved output reproduced exactly outweighs any amount of code heuristics
SHARPNESS = 32  # similarity ** SHARPNESS: an output 1 % off scores 28 % less, more than code can ever add
CODE_CAP = 4.0

Step = tuple[Any, ...]  # ("attr", name) | ("call", name, args, kwargs) | ("item", key) | ("len",) | ("cols", names)


# ---------------------------------------------------------------- evidence


@dataclass(frozen=True)
class ReadCall:
    """One read of a course file in the notebook, as written."""

    name: str  # the path as the notebook writes it
    func: str  # read_csv, read_table, ..., or "archive" (ZipFile, !unzip)
    kwargs: tuple[tuple[str, Any], ...]  # literal keyword arguments
    var: str | None
    cell: int

    def kw(self) -> dict[str, Any]:
        """The literal keyword arguments as a dict."""
        return dict(self.kwargs)


@dataclass(frozen=True)
class Observation:
    """A saved output of expressions over the read's frame, each with the steps taken on the frame before it."""

    cell: int
    expr: str  # the expressions, as written
    parts: tuple[tuple[tuple[tuple[Step, ...], ...], tuple[Step, ...]], ...]  # (history, chain) per expression
    kind: str  # "text/html", "text/plain" or "stream"
    text: str
    opaque: bool = False  # the frame was changed in a way that cannot be replayed: a weaker witness


@dataclass(frozen=True)
class Evidence:
    """What a notebook tells about the copy of one file it read."""

    read: ReadCall | None = None
    columns_used: tuple[str, ...] = ()
    assigned_columns: tuple[str, ...] = ()  # columns the code itself creates or renames to
    handles_na: bool = False
    checks_na: bool = False
    handles_thousands: bool = False
    header_none: bool = False
    index_col: Any = None
    sep: str | None = None
    names_given: tuple[str, ...] = ()
    shape_seen: tuple[tuple[int, int], ...] = ()
    head_columns_seen: tuple[str, ...] = ()
    na_counts_seen: tuple[tuple[str, int], ...] = ()
    observations: tuple[Observation, ...] = ()
    where: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing in the notebook speaks about this file."""
        return not (
            self.columns_used
            or self.observations
            or self.handles_na
            or self.handles_thousands
            or self.header_none
            or self.names_given
            or self.sep
            or self.index_col is not None
        )


@dataclass
class _Binding:
    read: int
    history: list[tuple[Step, ...]] = field(default_factory=list)
    opaque: bool = False


@dataclass
class _State:
    reads: list[ReadCall] = field(default_factory=list)
    bound: dict[str, _Binding] = field(default_factory=dict)
    literals: dict[str, Any] = field(default_factory=dict)
    observations: dict[int, list[Observation]] = field(default_factory=dict)
    keys: dict[int, list[str]] = field(default_factory=dict)
    assigned: dict[int, list[str]] = field(default_factory=dict)
    loose_keys: list[str] = field(default_factory=list)
    names: dict[int, set[str]] = field(default_factory=dict)


def _clean(source: str) -> str:
    """Cell source with IPython magics and shell escapes turned into ``pass`` (same indentation)."""
    lines = []
    for line in source.splitlines():
        body = line.lstrip()
        lines.append(line[: len(line) - len(body)] + "pass" if body.startswith(("!", "%")) else line)
    return "\n".join(lines)


def _literal(node: ast.AST, state: _State) -> Any:
    if isinstance(node, ast.Name) and node.id in state.literals:
        return state.literals[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _Unknown()


class _Unknown:
    """A value the notebook computes at run time (not a literal)."""

    def __repr__(self) -> str:
        return "<expr>"


def _path_of(node: ast.AST | None, state: _State) -> str | None:
    """The path a read names: a literal, a name bound to one, or the last literal piece of a composed path."""
    if node is None:
        return None
    value = _literal(node, state)
    if isinstance(value, str):
        return value
    pieces = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    bound = [state.literals.get(n.id) for n in ast.walk(node) if isinstance(n, ast.Name)]
    names = [v for v in bound if isinstance(v, str)]
    found = pieces + names
    return max(found, key=lambda p: ("." in p, len(p))) if found else None


def _column_attribute(node: ast.Attribute) -> bool:
    """``df.MEDV``: an attribute that is no DataFrame attribute names a column."""
    return isinstance(node.value, ast.Name) and not hasattr(pd.DataFrame, node.attr)


def _sep(kw: dict[str, Any]) -> str | None:
    sep = kw.get("sep", kw.get("delimiter"))
    if isinstance(sep, str):
        return sep
    return r"\s+" if kw.get("delim_whitespace") else None


def _func_name(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else (f.id if isinstance(f, ast.Name) else None)


def _chain(node: ast.AST, state: _State) -> tuple[str, tuple[Step, ...]] | None:
    """``df.drop("MEDV", axis=1).head()`` as (root name, steps), or None when not a whitelisted chain."""
    steps: list[Step] = []
    while True:
        if isinstance(node, ast.Name):
            return node.id, tuple(reversed(steps))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in WRAPPERS:
            if len(node.args) != 1:
                return None
            steps.append(("len",) if node.func.id == "len" else ("show",))
            node = node.args[0]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:
            args = tuple(_literal(a, state) for a in node.args)
            kwargs = tuple((k.arg, _literal(k.value, state)) for k in node.keywords if k.arg)
            steps.append(("call", node.func.attr, args, kwargs))
            node = node.func.value
        elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
            steps.append(("attr", node.attr))
            node = node.value
        elif isinstance(node, ast.Attribute) and _column_attribute(node):
            steps.append(("item", node.attr))  # df.MEDV: a column by attribute
            node = node.value
        elif isinstance(node, ast.Subscript):
            steps.append(("item", _literal(node.slice, state)))
            node = node.value
        else:
            return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set)):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [k for k in value if isinstance(k, str)]
    return []


def _keys_of(steps: tuple[Step, ...]) -> list[str]:
    """Column names a chain indexes or drops (the code would raise KeyError on a copy without them)."""
    keys: list[str] = []
    for step in steps:
        if step[0] == "item" and not isinstance(step[1], (int, slice, tuple)):
            keys += _strings(step[1])
        elif step[0] == "call" and step[1] in ("drop", "set_index"):
            args, kw = step[2], dict(step[3])
            axis = kw.get("axis", args[1] if len(args) > 1 else 0)
            keys += _strings(kw.get("columns"))
            if args and (step[1] == "set_index" or axis in (1, "columns")):
                keys += _strings(args[0])
        elif step[0] == "attr":
            break
    return keys


# ---------------------------------------------------------------- walking the notebook


def _reader_in(node: ast.AST) -> tuple[ast.Call, tuple[ast.AST, ...]] | None:
    """A read call at the root of ``node`` (``pd.read_csv(...)`` or ``pd.read_csv(...).dropna()``)."""
    outer: list[ast.AST] = []
    while True:
        if isinstance(node, ast.Call) and _func_name(node) in READERS:
            return node, tuple(reversed(outer))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            outer.append(node)
            node = node.func.value
        elif isinstance(node, ast.Subscript):
            outer.append(node)
            node = node.value
        else:
            return None


def _add_read(call: ast.Call, var: str | None, cell: int, state: _State) -> int:
    path_kw = (k.value for k in call.keywords if k.arg in ("filepath_or_buffer", "io"))
    arg = call.args[0] if call.args else next(path_kw, None)
    name = _path_of(arg, state) or "<unknown>"
    kwargs = tuple((k.arg, _literal(k.value, state)) for k in call.keywords if k.arg in READ_KWARGS)
    if _func_name(call) == "read_table" and not any(k == "sep" for k, _ in kwargs):
        kwargs += (("sep", "\t"),)
    state.reads.append(ReadCall(name=name, func=_func_name(call) or "read_csv", kwargs=kwargs, var=var, cell=cell))
    return len(state.reads) - 1


def _add_archive(name: str, cell: int, state: _State) -> None:
    if not any(r.func == "archive" and r.name == name for r in state.reads):
        state.reads.append(ReadCall(name=name, func="archive", kwargs=(), var=None, cell=cell))


def _assign(target: ast.AST, value: ast.AST, cell: int, state: _State) -> None:
    """``x = ...``: a read, a literal, a replayable step from a bound frame, or an opaque change."""
    if isinstance(target, ast.Name):
        found = _reader_in(value)
        if found is not None:
            idx = _add_read(found[0], target.id, cell, state)
            rest = _chain(_swap(value, found[0]), state)
            state.bound[target.id] = _Binding(idx, [rest[1]] if rest and rest[1] else [])
            return
        lit = _literal(value, state)
        if not isinstance(lit, _Unknown):
            state.literals[target.id] = lit
        chain = _chain(value, state)
        if chain is not None and chain[0] in state.bound and not any(s[0] == "attr" for s in chain[1]):
            base = state.bound[chain[0]]
            state.bound[target.id] = _Binding(base.read, base.history + [chain[1]], base.opaque)
        elif target.id in state.bound:
            mentions = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            if target.id in mentions:
                state.bound[target.id].opaque = True  # df = f(df): changed, not replayable
            else:
                del state.bound[target.id]
    elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id in state.bound:
        binding = state.bound[target.value.id]
        state.assigned.setdefault(binding.read, []).extend(_strings(_literal(target.slice, state)))
        binding.opaque = True
    elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in state.bound:
        binding = state.bound[target.value.id]
        names = _literal(value, state)
        if target.attr == "columns" and isinstance(names, list):
            binding.history.append((("cols", tuple(names)),))
            state.assigned.setdefault(binding.read, []).extend(_strings(names))
        else:
            binding.opaque = True


def _swap(value: ast.AST, call: ast.Call) -> ast.AST:
    """``pd.read_csv(...).dropna()`` with the read replaced by a placeholder name, to parse the steps after it."""
    node = value
    parents: list[ast.AST] = []
    while node is not call:
        parents.append(node)
        is_method = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        node = node.func.value if is_method else node.value  # type: ignore[attr-defined]
    holder = parents[-1] if parents else None
    placeholder = ast.Name(id="__read__")
    if isinstance(holder, ast.Call) and isinstance(holder.func, ast.Attribute):
        holder.func.value = placeholder
    elif isinstance(holder, ast.Subscript):
        holder.value = placeholder
    return value if parents else placeholder


def _expr_steps(node: ast.AST, state: _State) -> tuple[int, tuple[Step, ...]] | None:
    """(read index, steps) of an expression over a bound frame, else None."""
    chain = _chain(node, state)
    if chain is None or chain[0] not in state.bound:
        return None
    return state.bound[chain[0]].read, chain[1]


def _statement(stmt: ast.stmt, cell: int, state: _State, outputs: list[tuple[ast.AST, str]]) -> None:
    """One statement: reads, bindings, in-place steps; expressions whose output may be saved go to ``outputs``."""
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            _assign(target, stmt.value, cell, state)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
        _assign(stmt.target, stmt.value, cell, state)
    elif isinstance(stmt, ast.Expr):
        value = stmt.value
        found = _reader_in(value)
        if found is not None:
            _add_read(found[0], None, cell, state)
        if isinstance(value, ast.Call) and any(
            k.arg == "inplace" and _literal(k.value, state) is True for k in value.keywords
        ):
            chain = _chain(value, state)
            if chain and chain[0] in state.bound:
                last = chain[1][-1]
                step = (last[0], last[1], last[2], tuple(kv for kv in last[3] if kv[0] != "inplace"))
                state.bound[chain[0]].history.append(chain[1][:-1] + (step,))
            return
        name = _func_name(value) if isinstance(value, ast.Call) else None
        if name == "display" or name == "print" or name == "info":
            outputs.append((value, "display" if name == "display" else "stream"))
        else:
            outputs.append((value, "result"))
    elif isinstance(stmt, (ast.With, ast.For, ast.If, ast.Try)):
        for inner in stmt.body:
            _statement(inner, cell, state, [])
    _archives(stmt, cell, state)


def _archives(stmt: ast.stmt, cell: int, state: _State) -> None:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and _func_name(node) in ARCHIVE_OPENERS and node.args:
            path = _path_of(node.args[0], state)
            if path and _func_name(node) != "extractall":
                _add_archive(path, cell, state)


def _collect_keys(tree: ast.AST, state: _State) -> None:
    """Column names the code indexes, per read (bound frames) and notebook-wide (any frame)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Subscript, ast.Call, ast.Attribute)):
            found = _expr_steps(node, state)
            if found is not None:
                state.keys.setdefault(found[0], []).extend(_keys_of(found[1]))
        if isinstance(node, ast.Subscript):
            state.loose_keys.extend(_strings(_literal(node.slice, state)))
        elif isinstance(node, ast.Call) and _func_name(node) == "drop":
            for kw in node.keywords:
                state.loose_keys.extend(_strings(_literal(kw.value, state)) if kw.arg == "columns" else [])
            if node.args and any(k.arg == "axis" for k in node.keywords):
                state.loose_keys.extend(_strings(_literal(node.args[0], state)))


UNZIP = re.compile(r"""^\s*!\s*unzip\s+(?:-\S+\s+)*["']?([^\s"']+\.zip)""", re.MULTILINE)
_Pending = tuple[str, ast.AST, int, tuple[tuple[Step, ...], ...], tuple[Step, ...], bool]


def _pending(stmt_outputs: list[tuple[ast.AST, str]], state: _State) -> list[_Pending]:
    """Each output-producing expression with its frame's history now (later statements may change it)."""
    out: list[_Pending] = []
    for node, kind in stmt_outputs:
        wrapped = kind in ("display", "stream") and isinstance(node, ast.Call) and _func_name(node) != "info"
        inner = node.args[0] if wrapped and isinstance(node, ast.Call) and node.args else node
        chain = _chain(inner, state)
        if chain is None or chain[0] not in state.bound:
            continue
        binding = state.bound[chain[0]]
        out.append((kind, inner, binding.read, tuple(binding.history), chain[1], binding.opaque))
    return out


def _saved(outputs: list[Any]) -> tuple[dict[str, str] | None, list[dict[str, str]], str]:
    """A cell's execute_result data, display_data items and stdout text."""
    result, shown, stream = None, [], ""
    for out in outputs:
        kind = out.get("output_type")
        if kind == "execute_result":
            result = {k: _text(v) for k, v in out.get("data", {}).items()}
        elif kind == "display_data":
            shown.append({k: _text(v) for k, v in out.get("data", {}).items()})
        elif kind == "stream" and out.get("name") == "stdout":
            stream += _text(out.get("text", ""))
    return result, shown, stream


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _observe(
    cell: int, pending: list[_Pending], outputs: list[Any], last: ast.AST | None
) -> list[tuple[int, Observation]]:
    """Pair the cell's saved outputs with the expressions that produced them."""
    result, shown, stream = _saved(outputs)
    found: list[tuple[int, Observation]] = []
    shown_at = 0
    for kind, inner, read, history, chain, opaque in pending:
        data = None
        if kind == "result" and inner is last:
            data = result
        elif kind == "display":
            data = shown[shown_at] if shown_at < len(shown) else None
            shown_at += 1
        if data:
            mime = "text/html" if "text/html" in data else "text/plain"
            obs = Observation(cell, ast.unparse(inner), ((history, chain),), mime, data.get(mime, ""), opaque)
            found.append((read, obs))
    for read in {p[2] for p in pending if p[0] == "stream"}:
        parts = [p for p in pending if p[0] == "stream" and p[2] == read]
        if stream:
            expr = "; ".join(ast.unparse(p[1]) for p in parts)
            pairs = tuple((p[3], p[4]) for p in parts)
            obs = Observation(cell, expr, pairs, "stream", stream, any(p[5] for p in parts))
            found.append((read, obs))
    return found


def _walk_cell(cell: int, source: str, outputs: list[Any], state: _State) -> None:
    for match in UNZIP.finditer(source):
        _add_archive(match.group(1), cell, state)
    try:
        tree = ast.parse(_clean(source))
    except SyntaxError:
        return
    pending: list[_Pending] = []
    for stmt in tree.body:
        stmt_outputs: list[tuple[ast.AST, str]] = []
        _statement(stmt, cell, state, stmt_outputs)
        pending += _pending(stmt_outputs, state)
        for name, binding in state.bound.items():
            state.names.setdefault(binding.read, set()).add(name)
    last = tree.body[-1].value if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    for read, obs in _observe(cell, pending, outputs, last):
        state.observations.setdefault(read, []).append(obs)
    _collect_keys(tree, state)


def _code_of(nb: nbformat.NotebookNode) -> list[tuple[int, str, list[Any]]]:
    return [
        (i, _text(c.get("source", "")), list(c.get("outputs", [])))
        for i, c in enumerate(nb.get("cells", []), 1)
        if c.get("cell_type") == "code"
    ]


def _walk(nb: nbformat.NotebookNode) -> _State:
    state = _State()
    for cell, source, outputs in _code_of(nb):
        _walk_cell(cell, source, outputs, state)
    return state


def _mentions(nb: nbformat.NotebookNode, names: set[str], whole: bool) -> str:
    """The code lines that speak of a read's frames (the whole notebook when it reads one file)."""
    lines = [ln for _, src, _ in _code_of(nb) for ln in src.splitlines()]
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
            columns = [_strip(c) for c in cells][1:]
        if calls[-2:] in (["isnull", "sum"], ["isna", "sum"]):
            for line in obs.text.splitlines():
                m = re.match(r"^(.*\S)\s+(\d+)$", line)
                if m:
                    counts.append((m.group(1), int(m.group(2))))
    return tuple(shapes), tuple(columns), tuple(counts)


def _strip(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&nbsp;", " ").strip()


def _evidence(nb: nbformat.NotebookNode, state: _State, idx: int) -> Evidence:
    read = state.reads[idx]
    kw = read.kw()
    code = _mentions(nb, state.names.get(idx, set()), whole=len(state.reads) == 1)
    keys = state.keys.get(idx, []) + (state.loose_keys if len(state.reads) == 1 else [])
    observations = state.observations.get(idx, [])
    shapes, head, counts = _summaries(observations)
    names = tuple(_strings(kw.get("names")))
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
        sep=_sep(kw),
        names_given=names,
        shape_seen=shapes,
        head_columns_seen=head,
        na_counts_seen=counts,
        observations=tuple(observations),
        where=tuple(where),
    )


def notebook_reads(nb: nbformat.NotebookNode) -> list[Evidence]:
    """The evidence of every course-file read of the notebook, in the order the notebook reads them."""
    state = _walk(nb)
    return [_evidence(nb, state, i) for i in range(len(state.reads))]


def notebook_evidence(nb: nbformat.NotebookNode, file_name: str | None = None) -> Evidence:
    """The evidence about the file read as ``file_name`` (as written; default: the first read), or none."""
    for ev in notebook_reads(nb):
        if ev.read is not None and (file_name is None or ev.read.name == file_name):
            return ev
    return Evidence()


# ---------------------------------------------------------------- replaying the evidence on a variant


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pandas' parser and dtype warnings are part of what a student saw, not failures of the matcher."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pd.option_context("display.max_columns", 20, "display.max_rows", 60, "display.width", 80):
            yield


def _read_options(kwargs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The student's literal read options, as pandas 3 takes them."""
    opts = {k: _thaw(v) for k, v in kwargs if not isinstance(v, _Unknown)}
    if opts.pop("delim_whitespace", False):
        opts["sep"] = r"\s+"  # removed from pandas 3; the harness's runtime reads it this way too
    if opts.get("skipfooter"):
        opts["engine"] = "python"
    return opts


@lru_cache(maxsize=256)
def _simulated(course_json: str, folder: str, variant_id: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    course = CourseFile.model_validate_json(course_json).model_copy(update={"folder": Path(folder)})
    data = student_bytes(course, variant_id)
    with _quiet():
        try:
            frame = pd.read_csv(io.BytesIO(data), **_read_options(kwargs))
        except Exception:  # noqa: BLE001 - the student's read fails on this copy: that is evidence
            return None
    return frame if isinstance(frame, pd.DataFrame) else None


def simulate_read(course: CourseFile, spec: VariantSpec, read: ReadCall | None) -> pd.DataFrame | None:
    """The frame the student's read call gives on their copy ``spec`` (None: the read raises)."""
    kwargs = _hashable(tuple((k, v) for k, v in (read.kwargs if read else ()) if not isinstance(v, _Unknown)))
    try:
        hash(kwargs)
    except TypeError:  # e.g. a dict of dtypes: read without the options that cannot be cached
        kwargs = tuple((k, v) for k, v in kwargs if isinstance(v, (str, int, float, bool, type(None), tuple)))
    frame = _simulated(course.model_dump_json(), str(course.folder), spec.id, kwargs)
    return None if frame is None else frame.copy()


def _hashable(kwargs: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    def freeze(v: Any) -> Any:
        return tuple(freeze(x) for x in v) if isinstance(v, (list, tuple)) else v

    return tuple((k, freeze(v)) for k, v in kwargs)


def _thaw(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _apply(obj: Any, steps: tuple[Step, ...]) -> Any:
    """Interpret a whitelisted chain of pandas steps (never the notebook's code itself)."""
    for step in steps:
        if step[0] == "attr":
            obj = getattr(obj, step[1])
        elif step[0] == "item":
            key = step[1]
            if isinstance(key, _Unknown):
                raise LookupError("a computed key")
            obj = obj[_thaw(key)]
        elif step[0] == "len":
            obj = len(obj)
        elif step[0] == "cols":
            obj = obj.copy()
            obj.columns = list(step[1])
        elif step[0] == "call":
            args = [_thaw(a) for a in step[2]]
            kwargs = {k: _thaw(v) for k, v in step[3]}
            if any(isinstance(a, _Unknown) for a in args + list(kwargs.values())):
                raise LookupError("a computed argument")
            if step[1] == "info":
                buf = io.StringIO()
                obj.info(*args, **kwargs, buf=buf)
                obj = _Printed(buf.getvalue())
            else:
                obj = getattr(obj, step[1])(*args, **kwargs)
    return obj


@dataclass(frozen=True)
class _Printed:
    """What an expression printed (``df.info()``)."""

    text: str


def _render(value: Any, kind: str) -> str:
    if isinstance(value, _Printed):
        return value.text
    if kind == "stream":
        return f"{value}\n"
    if kind == "text/html" and hasattr(value, "_repr_html_") and isinstance(value, pd.DataFrame):
        return str(value._repr_html_())
    return repr(value)


def _tokens(text: str, kind: str) -> Counter[str]:
    if kind == "text/html" and "<t" in text:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", text, re.S)
        tail = re.findall(r"<p>(.*?)</p>", text, re.S)
        return Counter([_strip(c) for c in cells] + [_strip(t) for t in tail])
    return Counter(t for t in text.split() if t not in ("...", "\\", "…"))


def similarity(saved: str, rendered: str, kind: str) -> float:
    """How alike two outputs are: the Dice overlap of their tokens (table cells, or words), 0..1."""
    a, b = _tokens(saved, kind), _tokens(rendered, kind)
    total = sum(a.values()) + sum(b.values())
    return 2.0 * sum((a & b).values()) / total if total else 0.0


def replay(frame: pd.DataFrame | None, obs: Observation) -> str | None:
    """What the observation's expressions would have shown on ``frame`` (None when they fail on it)."""
    if frame is None:
        return None
    out = []
    with _quiet():
        for history, chain in obs.parts:
            try:
                value: Any = frame
                for steps in history:
                    value = _apply(value, steps)
                out.append(_render(_apply(value, chain), obs.kind))
            except Exception:  # noqa: BLE001 - the student's expression fails on this copy
                return None
    return "".join(out)


# ---------------------------------------------------------------- scoring and choosing


@dataclass(frozen=True)
class Choice:
    """The variant served for one read, and why."""

    file: str  # the read name, as the notebook writes it
    course_file: str  # the course file (canonical name) the variant belongs to
    variant: str
    label: str
    reason: str
    score: float
    decided_by: str  # "outputs", "code" or "default"


@dataclass
class _Score:
    course: CourseFile
    spec: VariantSpec
    outputs: float = 0.0
    code: float = 0.0
    role: float = 0.0
    exact: list[str] = field(default_factory=list)
    close: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def code_score(self) -> float:
        """What the code and the read name alone say (capped: they never outweigh one reproduced output)."""
        return max(-CODE_CAP, min(CODE_CAP, self.code)) + self.role

    @property
    def total(self) -> float:
        return self.outputs + self.code_score

    def key(self) -> tuple[float, bool, bool, int]:
        """Best first: score, then the canonical copy, then a format over the canonical rows, then how common."""
        canonical = self.spec.id == self.course.canonical_variant
        return (round(self.total, 6), canonical, self.spec.source == "canonical", self.spec.repos)


def _norm(name: str) -> str:
    base = re.split(r"[\\/]", name)[-1]
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\s*\(\d+\)(?=\.[^.]+$)", "", base.lower()))


def _numeric(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


GROUPED = re.compile(r"^-?\d{1,3}(,\d{2,3})+(\.\d+)?$")


def _text_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Columns read as text because of a header line read as data, and columns of grouped numbers."""
    header_as_data, grouped = [], []
    for col in frame.columns:
        values = frame[col].dropna()
        if (
            values.empty
            or pd.api.types.is_numeric_dtype(frame[col])
            or not (frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]))
        ):
            continue
        bad = sum(1 for v in values.head(400) if not _numeric(v))
        if 0 < bad <= 2 and len(values) > 10:
            header_as_data.append(str(col))
        if any(isinstance(v, str) and GROUPED.match(v) for v in values.head(5000)):
            grouped.append(str(col))
    return header_as_data, grouped


UNSPLIT = re.compile(r"\S[,;\t ]\S")


def _unsplit(frame: pd.DataFrame) -> bool:
    """A read that left every line whole: one text column whose values still hold separators (a comma-separated
    copy read with whitespace as the separator, say)."""
    if frame.shape[1] != 1 or len(frame) < 2:
        return False
    values = frame.iloc[:, 0].dropna().head(200)
    if values.empty or pd.api.types.is_numeric_dtype(values):
        return False
    return sum(1 for v in values if isinstance(v, str) and UNSPLIT.search(v)) > len(values) // 2


def _case(names: list[str]) -> str | None:
    """ "upper" or "lower" when most of the names with letters are spelled that way."""
    words = [n for n in names if any(c.isalpha() for c in n)]
    upper = sum(1 for n in words if n == n.upper())
    lower = sum(1 for n in words if n == n.lower())
    if not words or upper == lower:
        return None
    return "upper" if upper > lower else "lower"


def _score_code(score: _Score, ev: Evidence, frame: pd.DataFrame | None) -> None:
    """Code heuristics: KeyErrors, NA left in, a header read as data, thousands separators read as text."""
    if frame is None:
        score.code -= 3.0
        score.notes.append("the notebook's read call fails on it")
        return
    cols = {str(c) for c in frame.columns}
    keys = [k for k in ev.columns_used if k not in ev.assigned_columns]
    hits, misses = [k for k in keys if k in cols], [k for k in keys if k not in cols]
    score.code += 0.5 * len(hits) - 1.0 * len(misses)
    if misses:
        score.notes.append(f"has no {', '.join(map(repr, misses[:4]))}")
    has_na = bool(frame.isna().to_numpy().any())
    if has_na and not ev.handles_na:
        score.code -= 1.5
        score.notes.append("has NA cells the code never handles")
    elif has_na and ev.handles_na and len(frame.dropna()) == 0:
        score.code -= 2.0
        score.notes.append("dropna() leaves no rows")
    if _case(keys) is not None and _case(list(cols)) == _case(keys):
        score.code += 0.25  # code spelling MEDV upper-case was most likely written against an upper-case header
    if _unsplit(frame):
        score.code -= 3.0
        score.notes.append("the read leaves each line one text field (its separator does not split this copy)")
    header_as_data, grouped = _text_columns(frame)
    if header_as_data:
        score.code -= min(3.0, 0.5 * len(header_as_data))
        score.notes.append("the read takes a header line as data")
    used_grouped = [g for g in grouped if g in keys]
    if grouped and ev.handles_thousands:
        score.code += 0.5
    elif used_grouped:
        score.code -= 0.75 * len(used_grouped)
        score.notes.append(f"{', '.join(used_grouped)} would read as text (thousands separators)")


def _score_outputs(score: _Score, ev: Evidence, frame: pd.DataFrame | None) -> None:
    for obs in ev.observations:
        rendered = replay(frame, obs)
        sim = similarity(obs.text, rendered, obs.kind) if rendered is not None else 0.0
        score.outputs += OUTPUT_WEIGHT * sim**SHARPNESS * (0.3 if obs.opaque else 1.0)
        label = f"{obs.expr} (cell {obs.cell})"
        if sim >= 0.999:
            score.exact.append(label)
        elif sim >= 0.8:
            score.close.append(f"{label}, similarity {sim:.2f}")


def _candidates(course_files: Sequence[CourseFile], ev: Evidence) -> list[_Score]:
    archive = ev.read is not None and ev.read.func == "archive"
    name = _norm(ev.read.name) if ev.read else ""
    out = []
    for course in course_files:
        role = 1.0 if name and name in {_norm(n) for n in course.read_names} else 0.0
        out += [_Score(course, spec, role=role) for spec in course.variants if (spec.archive is not None) == archive]
    return out


def score_variants(course_files: CourseFile | Sequence[CourseFile], ev: Evidence) -> list[_Score]:
    """Every candidate variant scored against the evidence, best first."""
    files = [course_files] if isinstance(course_files, CourseFile) else list(course_files)
    scores = _candidates(files, ev)
    for score in scores:
        if score.spec.archive is not None:
            continue  # an archive is opened, not parsed: only its kind of read speaks for it
        frame = simulate_read(score.course, score.spec, ev.read)
        _score_outputs(score, ev, frame)
        if not ev.empty:
            _score_code(score, ev, frame)
    return sorted(scores, key=lambda s: s.key(), reverse=True)


def _describe_copy(score: _Score, ev: Evidence) -> str:
    frame = simulate_read(score.course, score.spec, ev.read) if score.spec.archive is None else None
    if frame is None:
        return ""
    cols = [str(c) for c in frame.columns]
    span = f"{cols[0]}..{cols[-1]}" if len(cols) > 2 else ", ".join(cols)
    na = int(frame.isna().to_numpy().sum())
    return f" ({frame.shape[0]} rows x {frame.shape[1]} columns {span}, {f'{na} NA cells' if na else 'no NA'})"


def _code_summary(ev: Evidence) -> str:
    parts = []
    if ev.read and ev.read.kwargs:
        parts.append("read with " + ", ".join(f"{k}={v!r}" for k, v in ev.read.kwargs))
    if ev.columns_used:
        more = " ..." if len(ev.columns_used) > 6 else ""
        parts.append("indexes " + ", ".join(map(repr, ev.columns_used[:6])) + more)
    parts.append("handles NA" if ev.handles_na else "no NA handling")
    if ev.handles_thousands:
        parts.append("strips thousands separators")
    return "; ".join(parts)


def _reason(best: _Score, scores: list[_Score], ev: Evidence, decided_by: str) -> str:
    name = ev.read.name if ev.read else "the file"
    head = f"served {best.spec.id} ({best.spec.label}) of {best.course.name} for {name!r}"
    if decided_by == "default":
        return (
            f"{head}: the notebook says nothing about this copy (no saved output of it, no column names, "
            "no read options): the canonical copy"
        )
    if decided_by == "outputs":
        seen = best.exact or best.close
        how = "are reproduced exactly by it" if best.exact else "match it best"
        text = f"{head}: the saved outputs of {', '.join(seen)} {how}{_describe_copy(best, ev)}"
        text += f"; code: {_code_summary(ev)}"
        by_code = max(scores, key=lambda s: (round(s.code_score, 6),) + s.key()[1:])
        if by_code.code_score > best.code_score + 1e-6:
            text += f"; the code alone points to {by_code.spec.id} ({by_code.spec.label}), but the saved outputs win"
        return text
    if ev.read is not None and ev.read.func == "archive":
        return f"{head}: the notebook opens it as an archive (cell {ev.read.cell}); this is the archive copy declared"
    against = sorted((s for s in scores[1:] if s.notes), key=lambda s: -s.spec.repos)[:4]  # the commonest rivals
    others = [f"{s.spec.id} {'; '.join(s.notes)}" for s in against]
    text = (
        f"{head}: no saved output shows this file; from the code ({_code_summary(ev)}) "
        f"it is the copy that fits{_describe_copy(best, ev)}"
    )
    if others:
        text += f" (against: {'; '.join(others)})"
    return text + "; ties go to the canonical copy, then to a format of the canonical rows, then to the commonest copy"


def choose_variant(course_files: CourseFile | Sequence[CourseFile], evidence: Evidence) -> Choice:
    """The variant to serve for one read, with a reason naming the evidence."""
    scores = score_variants(course_files, evidence)
    if not scores:
        raise ValueError("no variant of this kind of file is declared")
    best = scores[0]
    rivals = [s for s in scores[1:] if s.spec.archive is None]
    top_rival = max((s.outputs for s in rivals), default=0.0)
    if evidence.observations and best.outputs > 0.5 and (best.exact or best.outputs - top_rival > 0.5):
        decided_by = "outputs"
    elif evidence.read is not None and evidence.read.func == "archive" and len(scores) == 1:
        decided_by = "code"  # the notebook opens the file as an archive, and one archive copy is declared
    elif not evidence.empty and any(s.key()[0] != best.key()[0] for s in scores):
        decided_by = "code"
    else:
        decided_by = "default"
        best = _default(scores)
    return Choice(
        file=evidence.read.name if evidence.read else "",
        course_file=best.course.name,
        variant=best.spec.id,
        label=best.spec.label,
        reason=_reason(best, scores, evidence, decided_by),
        score=round(best.total, 3),
        decided_by=decided_by,
    )


def _default(scores: list[_Score]) -> _Score:
    """Without evidence: the canonical copy of the course file the read routes to (or the first one declared)."""
    routed = [s for s in scores if s.role > 0] or scores
    canonical = [s for s in routed if s.spec.id == s.course.canonical_variant]
    return canonical[0] if canonical else routed[0]


def choose_for_notebook(nb: nbformat.NotebookNode, course_files: Sequence[CourseFile]) -> dict[str, Choice]:
    """Read name (as the notebook writes it) -> the variant served for it, for every read of a course file."""
    out: dict[str, Choice] = {}
    for ev in notebook_reads(nb):
        if ev.read is None or ev.read.name in out:
            continue
        try:
            out[ev.read.name] = choose_variant(course_files, ev)
        except ValueError:
            continue  # e.g. an archive read in an experiment that declares no archive variant
    return out


def serve(
    choices: dict[str, Choice], course_files: Sequence[CourseFile], rows: dict[str, pd.DataFrame], folder: Path
) -> dict[str, str]:
    """Write each chosen variant into ``folder``; the read name -> served file name map for the job spec.

    ``rows`` holds each course file's *served* canonical rows (canonical name -> frame of cell text, canonical
    row index), as the provider cut them: the holdout is removed before any variant is written.
    """
    from graders.data.variants import served_name, write_variant

    by_name = {c.name: c for c in course_files}
    out: dict[str, str] = {}
    for read_name, choice in choices.items():
        course = by_name[choice.course_file]
        spec = course.variant(choice.variant)
        target = served_name(spec, course)
        if not (folder / target).exists():
            write_variant(spec, course, rows.get(course.name), folder / target)
        out[read_name] = target
    return out
