"""The harness names no experiment: an experiment is data (``rubrics/<id>/``, ``reference/<id>/``).

Every ``.py`` under ``graders/`` and ``sandbox/`` is read with its comments
and docstrings taken out; no experiment id may appear in what is left as a
word. What an experiment needs lives in its own folder: its data provider
(``rubrics/<id>/provider.py``) and kernel adapters (``rubrics/<id>/kernel/``).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from graders.paths import HOME
from graders.rubric import available_experiments

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("graders", "sandbox")
# Hits allowed in code: path -> words (none: the harness names no experiment).
PENDING: dict[str, set[str]] = {}


def _docstring_lines(tree: ast.AST) -> set[int]:
    """The lines every module, class and function docstring spans."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_tokens(source: str) -> list[tuple[int, str]]:
    """(line, text) of every token that is code: no comments, no docstrings."""
    docs = _docstring_lines(ast.parse(source))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip:
            continue
        if tok.type == tokenize.STRING and tok.start[0] in docs:
            continue
        out.append((tok.start[0], tok.string))
    return out


def experiment_words(experiments: list[str]) -> re.Pattern[str]:
    """A word-boundary match of any experiment id (``grep -w`` semantics: letters, digits and _ make words)."""
    return re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, experiments)) + r")(?![A-Za-z0-9_])")


def hits(root: Path, experiments: list[str]) -> list[str]:
    """Every place an experiment id is named in code under ``root``'s harness folders."""
    words = experiment_words(experiments)
    found = []
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for line, text in code_tokens(path.read_text(encoding="utf-8")):
                for word in words.findall(text):
                    if word not in PENDING.get(rel, set()):
                        found.append(f"{rel}:{line}: {word} in {text[:80]!r}")
    return found


def test_the_harness_names_no_experiment() -> None:
    experiments = available_experiments(HOME / "rubrics")
    assert len(experiments) >= 8
    assert hits(ROOT, experiments) == []


def test_the_scan_sees_code_and_skips_comments_and_docstrings(tmp_path: Path) -> None:
    (tmp_path / "graders").mkdir()
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "graders" / "m.py").write_text(
        '"""About boston."""\n# boston\n\n\ndef f() -> str:\n'
        '    """The boston rows."""\n    return "boston_housing" + "boston"\n',
        encoding="utf-8",
    )
    found = hits(tmp_path, ["boston"])
    assert found == ["graders/m.py:7: boston in '\"boston\"'"]


@pytest.mark.parametrize(
    "name, named", [("fashion_mnist", False), ("fashion", True), ("datasets.imdb", True), ("imdb2", False)]
)
def test_word_boundaries_are_greps(name: str, named: bool) -> None:
    assert bool(experiment_words(["fashion", "imdb"]).search(name)) is named
