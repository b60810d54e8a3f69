"""Finding the write-ups of an experiment in a student's folder (or inside a .zip), by their text first and their
file name second."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from graders.marking.answers import split_answers
from graders.marking.writeups.match import QMARK, normalized
from graders.marking.writeups.read import ARCHIVE_SUFFIXES, NOTEBOOK_SUFFIXES, WRITEUP_SUFFIXES, read_writeup
from graders.models import WriteupText
from graders.rubric import Rubric
from graders.submissions import unsafe_member

MAX_CANDIDATES = 200


_NAME_LABEL = re.compile(
    r"(?<![a-z])(?:(miniproject|mini[\s_.\-]?project|mp)|assignment|assign|asgn|ass|experiment|expt|exp|practical"
    r"|pract|prac|lab|a)[\s_.\-]*(?:no[\s_.\-]*)?(\d{1,2})([a-z](?![a-z]))?",
    re.IGNORECASE,
)
_TEXT_LABEL = re.compile(
    r"\b(?:(mini[\s\-]?project)|assignment|experiment|expt|exp|practical|lab)\s*(?:no\.?|number|#)?\s*[:.\-]?\s*"
    r"(\d{1,2})([a-z](?![a-z]))?\b",
    re.IGNORECASE,
)
_GENERIC = {
    "assignment",
    "assign",
    "answers",
    "answer",
    "ans",
    "writeup",
    "write",
    "up",
    "journal",
    "report",
    "lab",
    "dl",
    "deep",
    "learning",
    "final",
    "submission",
    "doc",
    "document",
    "notes",
    "theory",
    "questions",
    "question",
    "experiment",
    "exp",
    "practical",
    "no",
    "copy",
    "new",
    "mini",
    "project",
    "miniproject",
    "mp",
    "zip",
    "handin",
    "part",
    "file",
    "my",
    "of",
    "and",
    "the",
}


def _labels(text: str, pattern: re.Pattern[str] = _NAME_LABEL) -> set[str]:
    """Experiment numbers a name or title carries: "Assignment2A_IMDB" -> {"2a"}, "MiniProject1" -> {"mp1"}."""
    return {
        ("mp" if m.group(1) else "") + str(int(m.group(2))) + (m.group(3) or "").lower() for m in pattern.finditer(text)
    }


def _labels_meet(ours: set[str], theirs: set[str]) -> float:
    """1 when a label is the same, 0.5 when only its number is ("2" and "2A"), else 0."""
    if ours & theirs:
        return 1.0
    digits = {re.sub(r"[a-z]$", "", label) for label in ours}
    return 0.5 if digits & {re.sub(r"[a-z]$", "", label) for label in theirs} else 0.0


def _own_stem(path: Path) -> str:
    return PurePosixPath(path.name.rsplit("!", 1)[-1]).stem


def _tokens(stem: str) -> set[str]:
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", stem)
    return {w.lower() for w in words if not w.isdigit() and w.lower() not in _GENERIC and len(w) > 1}


def writeup_detector(rubrics: Sequence[Rubric]) -> Callable[[str], str]:
    """The experiment a write-up's text is about ('' when it is no write-up, or it cannot tell).

    The text must head at least one of the experiment's questions (by their wording), or carry "Q1"/"Ans 1"
    markers, to be a write-up at all: a dataset's README that names the dataset is not one. Among write-ups,
    the experiments' detection signals (the dataset's name), the questions it heads and the assignment
    number in its title decide; experiments sharing their questions (2A and 3B) are told apart by those.
    """

    def detect(text: str) -> str:
        lines = normalized(text)
        marked = any(QMARK.match(line) for line in lines)
        title = _labels("\n".join(lines[:20]), _TEXT_LABEL)
        scores: dict[str, float] = {}
        for rubric in rubrics:
            heads = sum(1 for answer in split_answers(lines, list(rubric.questions)) if answer)
            if heads == 0 and not marked:
                continue
            numbered = 8.0 * _labels_meet({rubric.number.lower()}, title) if title else 0.0
            scores[rubric.id] = 10.0 * heads + min(rubric.detection_score(text), 20.0) + numbered
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked or ranked[0][1] <= 0 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
            return ""
        return ranked[0][0]

    return detect


def _archive_members(archive: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Members of a .zip with these suffixes, named as intake names them; none from an unsafe archive."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError):
        return []
    if any(unsafe_member(m.filename) for m in members):
        return []
    return [
        archive.parent / f"{archive.name}!{m.filename}"
        for m in members
        if m.filename.lower().endswith(suffixes)
        and "__MACOSX" not in m.filename
        and not PurePosixPath(m.filename).name.startswith(("~$", "._"))
    ]


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The folder's files (and archive members) with these suffixes, skipping editor and OS leftovers."""
    found: list[Path] = []
    for path in sorted(folder.rglob("*")):
        skip = any(p.startswith(".") or p == "__MACOSX" for p in path.relative_to(folder).parts)
        if skip or not path.is_file() or path.name.startswith(("~$", "._")):
            continue
        if path.suffix.lower() in suffixes:
            found.append(path)
        elif path.suffix.lower() in ARCHIVE_SUFFIXES:
            found += _archive_members(path, suffixes)
    return found[:MAX_CANDIDATES]


def _named_for(path: Path, notebook: Path | None, experiment: str, notebooks: Iterable[Path]) -> bool:
    """Whether the file's name ties it to this experiment: its id, or the notebook's assignment number or a word
    of the notebook's name that no other notebook in the folder shares (not the student's own name)."""
    stem = _own_stem(path)
    if experiment.lower() in stem.lower():
        return True
    if notebook is None:
        return False
    ours, theirs = _labels(stem), _labels(_own_stem(notebook))
    if ours and theirs:
        return _labels_meet(ours, theirs) > 0
    others = set().union(*(_tokens(_own_stem(n)) for n in notebooks if n != notebook))
    return bool(_tokens(stem) & (_tokens(_own_stem(notebook)) - others))


def _looks_like_answers(text: WriteupText) -> bool:
    lines = normalized(text.text)
    asked = sum(1 for line in lines if line.rstrip(" *_").endswith("?"))
    return asked >= 2 or any(QMARK.match(line) for line in lines)


def find_writeups(folder: Path, notebook: Path | None, experiment: str, detect: Callable[[str], str]) -> list[Path]:
    """The write-ups in the student's folder (or its archives) that belong to this experiment.

    A readable write-up belongs where its text says (``detect``, best :func:`writeup_detector`); one whose
    text cannot tell, or that cannot be read (a scan, an encrypted PDF), belongs where its name says: beside
    the experiment's notebook with the same assignment number or subject ("Assignment3_answers.docx" beside
    "Assignment3_FashionMNIST.ipynb"). Anything else (a dataset's README, requirements.txt) is left out.
    """
    if not folder.is_dir():
        return []
    notebooks = _files(folder, NOTEBOOK_SUFFIXES)
    chosen = []
    for path in _files(folder, WRITEUP_SUFFIXES):
        text = read_writeup(path)
        verdict = detect(text.text) if text.readable else ""
        if verdict:
            belongs = verdict == experiment
        else:
            belongs = _named_for(path, notebook, experiment, notebooks) and (
                not text.readable or _looks_like_answers(text)
            )
        if belongs:
            chosen.append(path)
    return chosen
