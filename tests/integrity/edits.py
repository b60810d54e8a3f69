"""The edits students make to disguise a copied notebook, each a function of the copied cells.

Each edit keeps the code valid Python (the grader must still be able to run
a copy), and each is one that the normalisation is meant to see through.
"""

from __future__ import annotations

import ast
import io
import random
import re
import tokenize
from collections.abc import Callable, Sequence

Cells = tuple[str, ...]
_FRESH = ["feat", "lbl", "mdl", "trn", "tst", "res", "arr", "val", "tmp", "obj", "my_var", "thing", "nn", "dat"]


def _bound(cells: Sequence[str]) -> set[str]:
    names: set[str] = set()
    for cell in cells:
        for node in ast.walk(ast.parse(cell)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
    return names


def _retoken(cell: str, change: Callable[[tokenize.TokenInfo, str], str]) -> str:
    """The cell with some tokens' text replaced, every other character kept."""
    lines = io.StringIO(cell).readlines()
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out, at, previous = [], 0, ""
    for tok in tokenize.generate_tokens(io.StringIO(cell).readline):
        if tok.type in (tokenize.ENDMARKER, tokenize.NEWLINE, tokenize.NL) or not tok.string:
            continue
        lo = starts[tok.start[0] - 1] + tok.start[1]
        hi = starts[tok.end[0] - 1] + tok.end[1]
        out.append(cell[at:lo] + change(tok, previous))
        at, previous = hi, tok.string
    return "".join(out) + cell[at:]


def rename(cells: Cells, rng: random.Random) -> Cells:
    """Every variable and function the copier's source binds gets a new name."""
    mapping = {name: f"{rng.choice(_FRESH)}_{i}" for i, name in enumerate(sorted(_bound(cells)))}

    def change(tok: tokenize.TokenInfo, prev: str) -> str:
        return mapping.get(tok.string, tok.string) if tok.type == tokenize.NAME and prev != "." else tok.string

    return tuple(_retoken(c, change) for c in cells)


def renumber(cells: Cells, rng: random.Random) -> Cells:
    """Other epochs, layer sizes, rates and figure sizes."""

    def change(tok: tokenize.TokenInfo, prev: str) -> str:
        if tok.type != tokenize.NUMBER or rng.random() < 0.3:
            return tok.string
        if not tok.string.isdigit():
            return f"{float(tok.string) * rng.choice([0.5, 2.0]):g}"
        return str(int(tok.string) * rng.choice([2, 3]) if int(tok.string) > 1 else tok.string)

    return tuple(_retoken(c, change) for c in cells)


def annotate(cells: Cells, rng: random.Random) -> Cells:
    """Comments above lines and prints after assignments, the way a copier makes it look worked on."""
    out = []
    for cell in cells:
        lines = []
        for line in cell.split("\n"):
            indent = line[: len(line) - len(line.lstrip())]
            if line.strip() and rng.random() < 0.3:
                lines.append(f"{indent}# {rng.choice(['now we', 'step:', 'here I', 'this part'])} do this")
            lines.append(line)
            m = re.match(r"^(\w+) = ", line)
            if m and not line.rstrip().endswith(("(", "[", ",")) and rng.random() < 0.4:
                lines.append(f"print('{m.group(1)}:', {m.group(1)})")
        out.append("\n".join(lines))
    return tuple(out)


def reformat(cells: Cells, rng: random.Random) -> Cells:
    """Quotes swapped, spaces around '=' and after ',' changed, blank lines added."""
    out = []
    for cell in cells:
        cell = _retoken(
            cell,
            lambda tok, prev: (
                tok.string.replace("'", '"') if tok.type == tokenize.STRING and '"' not in tok.string else tok.string
            ),
        )
        cell = re.sub(r"(\w) = (?!=)", r"\1=", cell)
        cell = re.sub(r", (?=\w)", ",", cell)
        out.append(cell.replace("\n", "\n\n", 1))
    return tuple(out)


def comment(cells: Cells, rng: random.Random) -> Cells:
    """Comments above some lines and at the end of others, nothing else: the code itself is untouched."""
    out = []
    for cell in cells:
        lines = []
        for line in cell.split("\n"):
            indent = line[: len(line) - len(line.lstrip())]
            if line.strip() and rng.random() < 0.3:
                lines.append(f"{indent}# {rng.choice(['load', 'my step', 'as in class', 'check this'])}")
            lines.append(line)
        out.append("\n".join(lines))
    return tuple(out)


def respace(cells: Cells, rng: random.Random) -> Cells:
    """Spaces around '=' and after ',' changed and blank lines added; quotes and every token kept."""
    out = []
    for cell in cells:
        cell = re.sub(r"(\w) = (?!=)", r"\1=", cell)
        cell = re.sub(r", (?=\w)", ",", cell)
        out.append(cell.replace("\n", "\n\n", 1) + "\n")
    return tuple(out)


def reorder(cells: Cells, rng: random.Random) -> Cells:
    """The last two cells swapped and the imports cell moved to the end (it still runs in Jupyter order)."""
    cells = list(cells)
    cells[-1], cells[-2] = cells[-2], cells[-1]
    return (*cells[1:], cells[0])


def merge(cells: Cells, rng: random.Random) -> Cells:
    """Neighbouring cells joined pairwise into one."""
    return tuple("\n".join(cells[i : i + 2]) for i in range(0, len(cells), 2))


def split(cells: Cells, rng: random.Random) -> Cells:
    """Every cell of four lines or more cut in two."""
    out: list[str] = []
    for cell in cells:
        lines = cell.split("\n")
        tops = [
            i
            for i in range(1, len(lines))
            if lines[i]
            and not lines[i][0].isspace()
            and _parses("\n".join(lines[:i]))
            and _parses("\n".join(lines[i:]))
        ]
        if len(lines) >= 4 and tops:
            cut = tops[len(tops) // 2]
            out += ["\n".join(lines[:cut]), "\n".join(lines[cut:])]
        else:
            out.append(cell)
    return tuple(out)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def to_module(cells: Cells) -> str:
    """The notebook as a ``.py`` module with ``# %%`` markers (VS Code's and jupytext's export)."""
    return "\n\n".join(f"# %%\n{c}" for c in cells) + "\n"


def copy(cells: Cells, seed: int, *edits: Callable[[Cells, random.Random], Cells]) -> Cells:
    """The cells with the edits applied in order."""
    rng = random.Random(seed)
    for edit in edits:
        cells = edit(cells, rng)
    return cells
