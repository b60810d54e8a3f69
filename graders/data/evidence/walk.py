"""Walking a notebook's code cells: its reads of course files, the frames bound to them and the steps taken on them,
and the saved outputs of expressions over those frames.

Nothing of the notebook is executed: expressions are interpreted from a short whitelist of pandas calls.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

import nbformat
import pandas as pd

from graders.data.evidence.model import Observation, ReadCall, Step, Unknown

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


@dataclass
class _Binding:
    read: int
    history: list[tuple[Step, ...]] = field(default_factory=list)
    opaque: bool = False


@dataclass
class State:
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


def _literal(node: ast.AST, state: State) -> Any:
    if isinstance(node, ast.Name) and node.id in state.literals:
        return state.literals[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Unknown()


def _path_of(node: ast.AST | None, state: State) -> str | None:
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


def sep_of(kw: dict[str, Any]) -> str | None:
    sep = kw.get("sep", kw.get("delimiter"))
    if isinstance(sep, str):
        return sep
    return r"\s+" if kw.get("delim_whitespace") else None


def _func_name(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else (f.id if isinstance(f, ast.Name) else None)


def _chain(node: ast.AST, state: State) -> tuple[str, tuple[Step, ...]] | None:
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


def strings(value: Any) -> list[str]:
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
            keys += strings(step[1])
        elif step[0] == "call" and step[1] in ("drop", "set_index"):
            args, kw = step[2], dict(step[3])
            axis = kw.get("axis", args[1] if len(args) > 1 else 0)
            keys += strings(kw.get("columns"))
            if args and (step[1] == "set_index" or axis in (1, "columns")):
                keys += strings(args[0])
        elif step[0] == "attr":
            break
    return keys


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


def _add_read(call: ast.Call, var: str | None, cell: int, state: State) -> int:
    path_kw = (k.value for k in call.keywords if k.arg in ("filepath_or_buffer", "io"))
    arg = call.args[0] if call.args else next(path_kw, None)
    name = _path_of(arg, state) or "<unknown>"
    kwargs = tuple((k.arg, _literal(k.value, state)) for k in call.keywords if k.arg in READ_KWARGS)
    if _func_name(call) == "read_table" and not any(k == "sep" for k, _ in kwargs):
        kwargs += (("sep", "\t"),)
    state.reads.append(ReadCall(name=name, func=_func_name(call) or "read_csv", kwargs=kwargs, var=var, cell=cell))
    return len(state.reads) - 1


def _add_archive(name: str, cell: int, state: State) -> None:
    if not any(r.func == "archive" and r.name == name for r in state.reads):
        state.reads.append(ReadCall(name=name, func="archive", kwargs=(), var=None, cell=cell))


def _assign(target: ast.AST, value: ast.AST, cell: int, state: State) -> None:
    """``x = ...``: a read, a literal, a replayable step from a bound frame, or an opaque change."""
    if isinstance(target, ast.Name):
        found = _reader_in(value)
        if found is not None:
            idx = _add_read(found[0], target.id, cell, state)
            rest = _chain(_swap(value, found[0]), state)
            state.bound[target.id] = _Binding(idx, [rest[1]] if rest and rest[1] else [])
            return
        lit = _literal(value, state)
        if not isinstance(lit, Unknown):
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
        state.assigned.setdefault(binding.read, []).extend(strings(_literal(target.slice, state)))
        binding.opaque = True
    elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in state.bound:
        binding = state.bound[target.value.id]
        names = _literal(value, state)
        if target.attr == "columns" and isinstance(names, list):
            binding.history.append((("cols", tuple(names)),))
            state.assigned.setdefault(binding.read, []).extend(strings(names))
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


def _expr_steps(node: ast.AST, state: State) -> tuple[int, tuple[Step, ...]] | None:
    """(read index, steps) of an expression over a bound frame, else None."""
    chain = _chain(node, state)
    if chain is None or chain[0] not in state.bound:
        return None
    return state.bound[chain[0]].read, chain[1]


def _statement(stmt: ast.stmt, cell: int, state: State, outputs: list[tuple[ast.AST, str]]) -> None:
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


def _archives(stmt: ast.stmt, cell: int, state: State) -> None:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and _func_name(node) in ARCHIVE_OPENERS and node.args:
            path = _path_of(node.args[0], state)
            if path and _func_name(node) != "extractall":
                _add_archive(path, cell, state)


def _collect_keys(tree: ast.AST, state: State) -> None:
    """Column names the code indexes, per read (bound frames) and notebook-wide (any frame)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Subscript, ast.Call, ast.Attribute)):
            found = _expr_steps(node, state)
            if found is not None:
                state.keys.setdefault(found[0], []).extend(_keys_of(found[1]))
        if isinstance(node, ast.Subscript):
            state.loose_keys.extend(strings(_literal(node.slice, state)))
        elif isinstance(node, ast.Call) and _func_name(node) == "drop":
            for kw in node.keywords:
                state.loose_keys.extend(strings(_literal(kw.value, state)) if kw.arg == "columns" else [])
            if node.args and any(k.arg == "axis" for k in node.keywords):
                state.loose_keys.extend(strings(_literal(node.args[0], state)))


UNZIP = re.compile(r"""^\s*!\s*unzip\s+(?:-\S+\s+)*["']?([^\s"']+\.zip)""", re.MULTILINE)
_Pending = tuple[str, ast.AST, int, tuple[tuple[Step, ...], ...], tuple[Step, ...], bool]


def _pending(stmt_outputs: list[tuple[ast.AST, str]], state: State) -> list[_Pending]:
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
            result = {k: cell_text(v) for k, v in out.get("data", {}).items()}
        elif kind == "display_data":
            shown.append({k: cell_text(v) for k, v in out.get("data", {}).items()})
        elif kind == "stream" and out.get("name") == "stdout":
            stream += cell_text(out.get("text", ""))
    return result, shown, stream


def cell_text(value: Any) -> str:
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


def _walk_cell(cell: int, source: str, outputs: list[Any], state: State) -> None:
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


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str, list[Any]]]:
    return [
        (i, cell_text(c.get("source", "")), list(c.get("outputs", [])))
        for i, c in enumerate(nb.get("cells", []), 1)
        if c.get("cell_type") == "code"
    ]


def walk(nb: nbformat.NotebookNode) -> State:
    state = State()
    for cell, source, outputs in code_cells(nb):
        _walk_cell(cell, source, outputs, state)
    return state
