"""Reading what the student wrote: answers to the assignment questions, printed metrics.

Answers are found in the notebook's markdown by matching each question's
words, then scored by concept coverage against the rubric's answer key
(groups of synonyms). The examiner can override the result.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from graders.rubric import Question

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {
    "what",
    "is",
    "the",
    "a",
    "an",
    "of",
    "in",
    "are",
    "do",
    "does",
    "you",
    "by",
    "mean",
    "write",
    "down",
    "explain",
    "how",
    "many",
    "there",
    "why",
    "into",
    "and",
    "to",
    "for",
    "on",
    "used",
}
FULL_COVERAGE = 0.6  # share of the key's concepts that earns full marks
MIN_WORDS = 8


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _content(text: str) -> set[str]:
    return {w for w in _words(text) if w not in _STOP}


@dataclass(frozen=True)
class AnswerScore:
    """How one answer fared against its key."""

    found: bool
    fraction: float
    hits: list[str]
    missing: list[str]
    words: int


def _header_score(line: str, question: Question, number: int) -> float:
    """How much a line looks like the question's own heading (0 = not at all)."""
    want, have = _content(question.text), _content(line)
    if not want or not have or len(_words(line)) > 2 * len(_words(question.text)) + 6:
        return 0.0
    common = len(want & have)
    recall, precision = common / len(want), common / len(have)
    numbered = re.match(rf"^\W*(q(uestion)?\s*)?{number}\b", line.strip().lower()) is not None
    if (recall >= 0.75 and precision >= 0.5) or (numbered and recall >= 0.4):
        return recall + precision + (0.5 if numbered else 0.0)
    return 0.0


def split_answers(markdown: list[str], questions: list[Question]) -> list[str]:
    """The text answering each question ('' when the question is not found)."""
    lines = [line for cell in markdown for line in (cell.splitlines() + [""])]
    taken: dict[int, int] = {}  # question index -> line index
    for index, line in enumerate(lines):
        scores = [(_header_score(line, q, i + 1), i) for i, q in enumerate(questions) if i not in taken]
        best = max(scores, default=(0.0, -1))
        if best[0] > 0:
            taken[best[1]] = index
    answers = [""] * len(questions)
    starts = sorted((line_index, q_index) for q_index, line_index in taken.items())
    for pos, (line_index, q_index) in enumerate(starts):
        end = starts[pos + 1][0] if pos + 1 < len(starts) else len(lines)
        header_rest = lines[line_index].rsplit("?", 1)[1].strip(" *_:#") if "?" in lines[line_index] else ""
        answers[q_index] = "\n".join([header_rest] + lines[line_index + 1 : end]).strip()
    return answers


def score_answer(text: str, question: Question) -> AnswerScore:
    """Concept coverage of one answer against the question's key."""
    words = len(_words(text))
    if words < MIN_WORDS:
        return AnswerScore(bool(text.strip()), 0.0, [], [g[0] for g in question.concepts], words)
    hits: list[str] = []
    missing: list[str] = []
    for group in question.concepts:
        hit = any(re.search(rf"\b{alt}", text, re.IGNORECASE) for alt in group)
        (hits if hit else missing).append(group[0])
    needed = max(1, math.ceil(FULL_COVERAGE * len(question.concepts)))
    return AnswerScore(True, min(1.0, len(hits) / needed), hits, missing, words)


_PRINTED = {
    "accuracy": re.compile(r"(test|val\w*)?[ _\-]*acc(?:uracy)?\W{0,3}\s*[:=]?\s*\(?\s*(\d*\.\d+)", re.IGNORECASE),
    "mse": re.compile(r"(test)?[ _\-]*(?:mean[ _]squared[ _]error|mse)[^0-9\n]{0,30}?(\d+\.?\d*)", re.IGNORECASE),
    "mae": re.compile(r"(test)?[ _\-]*(?:mean[ _]absolute[ _]error|mae)[^0-9\n]{0,30}?(\d+\.?\d*)", re.IGNORECASE),
}


def _stream_text(nb: Any) -> str:
    chunks = []
    for cell in getattr(nb, "cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                chunks.append(str(out.get("text", "")))
            elif out.get("output_type") in ("execute_result", "display_data"):
                chunks.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(chunks)


def printed_metrics(nb: Any) -> dict[str, float]:
    """The last test-set metric of each kind the notebook printed (for an honesty check)."""
    text = _stream_text(nb) if nb is not None else ""
    found: dict[str, float] = {}
    for name, pattern in _PRINTED.items():
        matches = list(pattern.finditer(text))
        tested = [m for m in matches if m.group(1) and m.group(1).lower().startswith("test")]
        chosen = (tested or matches)[-1:] if matches else []
        for m in chosen:
            try:
                found[name] = float(m.group(2))
            except ValueError:
                pass
    return found
