"""The harness names no experiment and none of its data: an experiment is data (``rubrics/<id>/``, ``reference/<id>/``).

Every ``.py`` under ``graders/`` and ``sandbox/`` is read with its comments
and docstrings taken out; in what is left, no experiment id and no name an
experiment declares for its data (its Keras datasets, its holdout, its course
files and their aliases, its variants) may appear. The names are read from the
rubrics, never kept here by hand. Code is matched by its parts, not whole
words: an identifier or string is split at underscores, punctuation and
case humps (``fashion_mnist`` -> fashion, mnist; ``UTKFace.csv`` -> utk, face,
csv), and a name hits when its parts appear together (``imdb`` is in
``load_imdb``, ``utkface`` in ``"utkface_v2"``; ``face`` is not in ``interface``).
What an experiment needs lives in its own folder: its data provider
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
from graders.rubric import Rubric, available_experiments, load_rubric

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("graders", "sandbox")
# Hits allowed in code: path -> names (none: the harness names no experiment).
PENDING: dict[str, set[str]] = {}
PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


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


def parts(text: str) -> tuple[str, ...]:
    """``text``'s parts, lower case: split at anything not a letter or digit and at case humps."""
    return tuple(p.lower() for p in PART.findall(text))


def declared_names(rubric: Rubric) -> set[str]:
    """The experiment's id and every name it declares for its data, as the rubric spells them."""
    data = rubric.data
    aliases = {name for key, others in data.aliases.items() for name in (key, *others)}
    return {rubric.id, data.holdout, *data.keras_datasets, *data.files, *aliases, *rubric.variants}


def names_of(experiments: list[str], rubrics: Path) -> dict[tuple[str, ...], str]:
    """Each declared name's parts -> the name (every experiment's)."""
    return {parts(n): n for e in experiments for n in declared_names(load_rubric(e, rubrics)) if parts(n)}


def named(text: str, names: dict[tuple[str, ...], str]) -> list[str]:
    """The names whose parts appear, together and in order, among ``text``'s parts."""
    have = parts(text)
    return [n for want, n in names.items() if any(have[i : i + len(want)] == want for i in range(len(have)))]


def hits(root: Path, names: dict[tuple[str, ...], str]) -> list[str]:
    """Every place a declared name is named in code under ``root``'s harness folders."""
    found = []
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for line, text in code_tokens(path.read_text(encoding="utf-8")):
                for name in named(text, names):
                    if name not in PENDING.get(rel, set()):
                        found.append(f"{rel}:{line}: {name} in {text[:80]!r}")
    return found


def test_the_harness_names_no_experiment_and_no_dataset() -> None:
    experiments = available_experiments(HOME / "rubrics")
    assert len(experiments) >= 8
    names = names_of(experiments, HOME / "rubrics")
    declared = set(names.values())
    assert {"fashion_mnist", "utkface", "imdb_word_index", "BostonHousing.csv"} <= declared  # read from the rubrics
    assert hits(ROOT, names) == []


def test_the_scan_sees_code_and_skips_comments_and_docstrings(tmp_path: Path) -> None:
    (tmp_path / "graders").mkdir()
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "graders" / "m.py").write_text(
        '"""About boston."""\n# boston\n\n\ndef f() -> str:\n'
        '    """The boston rows."""\n    return "boston_housing" + "boston"\n',
        encoding="utf-8",
    )
    found = hits(tmp_path, {parts("boston"): "boston"})
    assert found == ["graders/m.py:7: boston in '\"boston_housing\"'", "graders/m.py:7: boston in '\"boston\"'"]


@pytest.mark.parametrize(
    "text, named_here",
    [
        ("fashion_mnist", ["fashion", "fashion_mnist"]),
        ("load_fashion_mnist_npz", ["fashion", "fashion_mnist"]),
        ("datasets.imdb", ["imdb"]),
        ("imdb2", ["imdb"]),
        ("'utkface'", ["utkface"]),
        ("UTKFace.csv", ["UTKFace.csv", "face"]),
        ("interface", []),
        ("surfaces", []),
        ("x_train", []),
        ("FASHION", ["fashion"]),
        ("mnist_like", []),
    ],
)
def test_names_are_found_by_their_parts(text: str, named_here: list[str]) -> None:
    names = {parts(n): n for n in ("fashion", "fashion_mnist", "imdb", "utkface", "UTKFace.csv", "face", "train.csv")}
    assert sorted(named(text, names)) == sorted(named_here)


def test_the_names_come_from_what_a_rubric_declares() -> None:
    rubric = load_rubric("letters")
    assert {"letters", "mnist", "letter-recognition.data", "letterdata.csv"} <= declared_names(rubric)
