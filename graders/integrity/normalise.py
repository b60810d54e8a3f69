"""Turn a submission's code cells into a stream of normalised tokens, one symbol per token.

Copy detection compares token streams, not text, so that the cheap disguises
students use do not hide a copy:

* renamed variables: every name the submission *binds* (assignment targets,
  function and class names, parameters, loop and ``with``/``except`` targets,
  ``import ... as`` aliases) becomes ``V``. Names it only *uses* -- library
  functions, Keras layers, keyword arguments, attributes after a dot -- stay
  as they are, because a student cannot rename ``Dense`` or ``.fit``; keeping
  them makes two honest Keras notebooks look less alike than copydetect's own
  filter (which turns every name into ``V``) would.
* changed epochs, layer sizes, learning rates: every number becomes ``N``.
* strings become ``S`` (changed titles and labels).
* comments, blank lines, indentation and spacing are dropped (reformatting).
* added ``print``/``display`` calls and bare display expressions
  (``df.head()``, ``model.summary()``, ``x.shape``, docstrings) are dropped.
* cells are concatenated with no separator, so merged or split cells give the
  same stream; reordered cells only break the few k-grams at their edges.

Each symbol remembers where it came from (cell, character range, lines), so a
match found on the symbols can be highlighted in the student's own code, and
its top-level statement, so that copies with their cells or statements in
another order are still told apart from rewritten ones.

Beside the symbols, :func:`literal` keeps the code as written less whitespace
and comments alone: two submissions equal there are *identical*; equal only as
symbols they are *near-identical* (renamed, renumbered, re-worded).
"""

from __future__ import annotations

import ast
import bisect
import io
import keyword
import re
import tokenize
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

_SYMBOL_BASE = 0xE000  # Unicode private use area: never an operator character
_SYMBOL_RANGE = 6400
_SKIPPED = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
    tokenize.ENCODING,
}
_FSTRING_START: int | None = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END: int | None = getattr(tokenize, "FSTRING_END", None)
_DISPLAY_CALLS = frozenset({"print", "display", "pprint"})
_DISPLAY_METHODS = frozenset({"head", "tail", "summary", "describe", "info", "show", "sample", "value_counts"})
_BINDING_KEYWORDS = frozenset({"def", "class", "as", "for"})
_SHELL_LINE = re.compile(r"^\s*[%!]")


@dataclass(frozen=True)
class Normalised:
    """A submission's code as one symbol per token, with each symbol's origin."""

    text: str  # the symbols, all cells concatenated
    cell: tuple[int, ...]  # per symbol: index of its cell
    start: tuple[int, ...]  # per symbol: character offset in that cell where the token starts
    end: tuple[int, ...]  # per symbol: ... and ends
    first_line: tuple[int, ...]  # per symbol: 1-based line of the token's start in its cell
    last_line: tuple[int, ...]
    cell_texts: tuple[str, ...]  # the symbols of each cell on its own
    statements: tuple[str, ...] = ()  # the symbols of each top-level statement, in order (to spot reordered copies)
    statement: tuple[int, ...] = ()  # per symbol: the index of its statement in ``statements``
    literal: str = ""  # the code less whitespace and comments alone (see :func:`literal`)
    literal_statements: tuple[str, ...] = ()  # ... per top-level statement


@dataclass(frozen=True)
class _Tok:
    symbol: str
    start: int
    end: int
    first_line: int
    last_line: int


def strip_shell_lines(source: str) -> str:
    """The cell without IPython magics and shell escapes (``%matplotlib``, ``!pip install``): not Python."""
    return "\n".join(line for line in source.split("\n") if not _SHELL_LINE.match(line))


def _blank_shell_lines(source: str) -> str:
    """Shell and magic lines as spaces of the same length, so character offsets still point into the cell."""
    return "\n".join(" " * len(line) if _SHELL_LINE.match(line) else line for line in source.split("\n"))


def symbol(text: str) -> str:
    """One character for a normalised token, so that k characters are k tokens for winnowing."""
    if len(text) == 1 and text.isascii() and not text.isalnum():
        return text
    if text in ("V", "N", "S"):
        return text
    return chr(_SYMBOL_BASE + zlib.crc32(text.encode("utf-8")) % _SYMBOL_RANGE)


def _bound_in_tree(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


def _bound_by_tokens(tokens: Sequence[tokenize.TokenInfo]) -> set[str]:
    """Names a cell that does not parse appears to bind: ``name =`` and ``def/class/as/for name``."""
    names: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or keyword.iskeyword(tok.string):
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        before = tokens[i - 1] if i else None
        if (after is not None and after.string == "=") or (before is not None and before.string in _BINDING_KEYWORDS):
            names.add(tok.string)
    return names


def _is_display(stmt: ast.AST) -> bool:
    """A statement that only shows something: it carries no logic a copier would have to keep."""
    if not isinstance(stmt, ast.Expr):
        return False
    value = stmt.value
    if isinstance(value, (ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Tuple)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Name):
            return func.id in _DISPLAY_CALLS
        if isinstance(func, ast.Attribute):
            return func.attr in _DISPLAY_METHODS
    return False


def _char_offset(lines: Sequence[str], starts: Sequence[int], row: int, col_bytes: int) -> int:
    """ast columns count UTF-8 bytes; tokenize columns count characters."""
    line = lines[row - 1] if row - 1 < len(lines) else ""
    return starts[row - 1] + len(line.encode("utf-8")[:col_bytes].decode("utf-8", "ignore"))


def _dropped_ranges(tree: ast.AST, lines: Sequence[str], starts: Sequence[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if _is_display(node) and isinstance(node, ast.Expr) and node.end_lineno is not None:
            lo = _char_offset(lines, starts, node.lineno, node.col_offset)
            hi = _char_offset(lines, starts, node.end_lineno, node.end_col_offset or 0)
            ranges.append((lo, hi))
    return ranges


def _tokenize(source: str) -> list[tokenize.TokenInfo]:
    """Every token up to the first one tokenize cannot read (a broken cell still counts up to there)."""
    tokens: list[tokenize.TokenInfo] = []
    try:
        tokens.extend(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        pass
    return tokens


def _line_starts(lines: Sequence[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


@dataclass(frozen=True)
class _Cell:
    source: str
    lines: tuple[str, ...]
    starts: tuple[int, ...]
    tokens: tuple[tokenize.TokenInfo, ...]
    tree: ast.Module | None


def _read_cell(source: str) -> _Cell:
    lines = tuple(io.StringIO(source).readlines())
    try:
        tree: ast.Module | None = ast.parse(source)
    except (SyntaxError, ValueError):
        tree = None
    return _Cell(source, lines, tuple(_line_starts(lines)), tuple(_tokenize(source)), tree)


def _cell_symbols(cell: _Cell, bound: set[str]) -> list[_Tok]:
    dropped = _dropped_ranges(cell.tree, cell.lines, cell.starts) if cell.tree else []
    out: list[_Tok] = []
    fstring_depth = 0
    previous = ""
    for tok in cell.tokens:
        start = cell.starts[tok.start[0] - 1] + tok.start[1] if tok.start[0] <= len(cell.lines) else 0
        end = cell.starts[tok.end[0] - 1] + tok.end[1] if tok.end[0] <= len(cell.lines) else start
        if tok.type == _FSTRING_START:
            fstring_depth += 1
            if fstring_depth > 1:
                continue
        elif tok.type == _FSTRING_END:
            fstring_depth -= 1
            continue
        elif fstring_depth or tok.type in _SKIPPED or not tok.string.strip():
            continue
        if any(lo <= start < hi for lo, hi in dropped):
            continue
        out.append(_Tok(_token_symbol(tok, bound, previous), start, end, tok.start[0], tok.end[0]))
        previous = tok.string
    return out


def _token_symbol(tok: tokenize.TokenInfo, bound: set[str], previous: str) -> str:
    if tok.type == tokenize.NUMBER:
        return "N"
    if tok.type == tokenize.STRING or tok.type == _FSTRING_START:
        return "S"
    if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string) and previous != "." and tok.string in bound:
        return "V"
    return symbol(tok.string)


_LITERAL_SEPARATOR = "\x1f"  # between two tokens' text: "a b" and "ab" stay two different streams


def _statement_of(tree: ast.Module | None) -> Callable[[int], int]:
    """Line (1-based) -> the index of the top-level statement it belongs to (0 for a cell that does not parse)."""
    if tree is None or not tree.body:
        return lambda line: 0
    ends = [stmt.end_lineno or stmt.lineno for stmt in tree.body]
    return lambda line: min(bisect.bisect_left(ends, line), len(ends) - 1)


def _by_statement(cell: _Cell, items: Iterable[tuple[int, str]]) -> list[str]:
    """(line, text) items grouped by the top-level statement of their line, in order."""
    which = _statement_of(cell.tree)
    groups: dict[int, list[str]] = {}
    for line, text in items:
        groups.setdefault(which(line), []).append(text)
    return ["".join(g) for _, g in sorted(groups.items())]


def _statement_numbers(cell: _Cell, lines: Sequence[int], first: int) -> list[int]:
    """Each item's statement index, counting the cell's non-empty statements from ``first``."""
    which = _statement_of(cell.tree)
    order = {s: first + i for i, s in enumerate(sorted({which(line) for line in lines}))}
    return [order[which(line)] for line in lines]


def _literal(cell: _Cell) -> tuple[str, list[str]]:
    kept = [
        (t.start[0], t.string + _LITERAL_SEPARATOR) for t in cell.tokens if t.type not in _SKIPPED and t.string.strip()
    ]
    return "".join(text for _, text in kept), _by_statement(cell, kept)


def literal(cells: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """The code as it is written, less whitespace and comments alone: every other token's exact text, all
    cells concatenated, and each top-level statement's on its own. Two submissions with the same literal
    stream are *identical* in the sense a teacher can repeat: nothing was renamed, renumbered, re-worded or
    added, only spacing, blank lines, indentation, comments or cell boundaries differ (the same statements
    in another order: identical, reordered)."""
    norm = normalise(cells)
    return norm.literal, norm.literal_statements


def normalise(cells: Iterable[str]) -> Normalised:
    """The cells as one normalised symbol stream (see the module docstring for what is normalised away)."""
    read = [_read_cell(_blank_shell_lines(c)) for c in cells]
    bound: set[str] = set()
    for cell in read:
        bound |= _bound_in_tree(cell.tree) if cell.tree else _bound_by_tokens(cell.tokens)
    text: list[str] = []
    cell_no: list[int] = []
    start: list[int] = []
    end: list[int] = []
    first: list[int] = []
    last: list[int] = []
    per_cell: list[str] = []
    statements: list[str] = []
    numbers: list[int] = []
    literal_text: list[str] = []
    literal_statements: list[str] = []
    for index, cell in enumerate(read):
        whole, parts = _literal(cell)
        literal_text.append(whole)
        literal_statements.extend(parts)
        toks = _cell_symbols(cell, bound)
        per_cell.append("".join(t.symbol for t in toks))
        numbers.extend(_statement_numbers(cell, [t.first_line for t in toks], len(statements)))
        statements.extend(_by_statement(cell, ((t.first_line, t.symbol) for t in toks)))
        for t in toks:
            text.append(t.symbol)
            cell_no.append(index)
            start.append(t.start)
            end.append(t.end)
            first.append(t.first_line)
            last.append(t.last_line)
    return Normalised(
        "".join(text),
        tuple(cell_no),
        tuple(start),
        tuple(end),
        tuple(first),
        tuple(last),
        tuple(per_cell),
        tuple(statements),
        tuple(numbers),
        "".join(literal_text),
        tuple(literal_statements),
    )
