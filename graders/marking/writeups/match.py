"""Matching a write-up's or a notebook's text to the rubric's questions: for each question, the better answer and
where it is (scoring is :mod:`graders.marking.answers`)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from graders.marking.answers import MIN_WORDS, AnswerScore, score_answer, split_answers
from graders.models import Artifacts, Section, WriteupText
from graders.rubric import Question, Rubric


@dataclass(frozen=True)
class AnswerSource:
    """The answer kept for one question and where it came from."""

    question: int  # 0-based index into the rubric's questions
    text: str
    source: str  # "notebook", a write-up's name, or "" when no answer was found
    location: str  # "markdown cell 12", "page 2", "paragraph 14", "line 30"
    score: AnswerScore
    under: str = ""
    matched_by: str = ""  # "wording" (the question's words, and its number) or "number" (a "Q3"/"Ans 3" marker)
    note: str = ""  # write-ups that could not be read, when the answer was not found

    @property
    def found(self) -> bool:
        """Whether any answer text was found."""
        return self.score.found

    @property
    def where(self) -> str:
        """'notebook markdown cell 12', 'answers.docx, page 2', 'answers.docx, paragraph 9 (under 'Theory')',
        or 'not found'."""
        if not self.source:
            return "not found"
        if self.source == "notebook":
            return f"notebook {self.location}"
        under = f" (under '{_shorten(self.under)}')" if self.under else ""
        return f"{self.source}, {self.location}{under}"


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


QMARK = re.compile(r"^\W*(?:q|ans(?:wer)?)\s*(\d{1,2})\b(?!\s*%)", re.IGNORECASE)
_Q_PREFIX = re.compile(r"^(\W*)(?:question|ques|que|qu|q)\s*(?:no)?\s*[.#:\-]?\s*(\d{1,2})\b", re.IGNORECASE)
_ANS_INLINE = re.compile(r"\s+(?=(?:ans|answer)\s*[:.\-)]\s*\S)", re.IGNORECASE)
_ASKED = re.compile(r"^(.{3,}?\?)[\s*_:]+(\S.*)$")


def normalized(text: str) -> list[str]:
    """Lines as :func:`graders.marking.answers.split_answers` reads them: "Question No. 1:" / "Q.1)" become "Q1", and a
    question with its answer on the same line ("Q1) What is …? Ans: …") is split after the question."""
    out: list[str] = []
    for line in text.splitlines():
        line = _Q_PREFIX.sub(lambda m: f"{m.group(1)}Q{m.group(2)}", line)
        for part in _ANS_INLINE.split(line, maxsplit=1):
            asked = _ASKED.match(part)
            if asked and len(asked.group(1).split()) <= 30 and len(asked.group(2).split()) >= 3:
                out += [asked.group(1), asked.group(2)]
            else:
                out.append(part)
    return out


class _Matcher:
    """split_answers over growing prefixes of a list of cells, to tell in which cell an answer starts.

    Answers are stable as cells are added after them, so the answer to a question is non-empty exactly for the
    prefixes that include the cell where it starts. That cell is first guessed from where the answer's text
    occurs (its first occurrence cannot come after its true place), confirmed with one split_answers call, and
    searched for by bisection only when the guess fails.
    """

    def __init__(self, cells: list[str], questions: list[Question]) -> None:
        self.cells, self.questions = cells, questions
        self._memo: dict[int, list[str]] = {}
        self._joined = ""
        self._offsets: list[int] = []  # where each cell starts in _joined
        for cell in cells:
            self._offsets.append(len(self._joined))
            self._joined += "\n".join(cell.splitlines() + [""]) + "\n"

    def answers(self, upto: int) -> list[str]:
        """split_answers over the first ``upto`` cells."""
        if upto not in self._memo:
            self._memo[upto] = split_answers(self.cells[:upto], self.questions)
        return self._memo[upto]

    def start(self, index: int, answer: str) -> int:
        """The cell holding the first line of question ``index``'s (non-empty) ``answer``."""
        at = self._joined.find(answer.split("\n", 1)[0])
        if at >= 0:
            guess = max(0, bisect.bisect_right(self._offsets, at) - 1)
            if self.answers(guess + 1)[index]:
                return guess
        low, high = 1, len(self.cells)
        while low < high:
            mid = (low + high) // 2
            if self.answers(mid)[index]:
                high = mid
            else:
                low = mid + 1
        return low - 1


@dataclass(frozen=True)
class _Candidate:
    text: str
    source: str
    location: str
    under: str
    matched_by: str


def _notebook_candidates(
    markdown: list[str], questions: list[Question], numbers: Sequence[int]
) -> list[list[_Candidate]]:
    """Per question: the notebook's answer as split_answers finds it today, and in the normalized lines."""
    out: list[list[_Candidate]] = [[] for _ in questions]
    for cells in (markdown, ["\n".join(normalized(c)) for c in markdown]):
        matcher = _Matcher(cells, questions)
        for index, text in enumerate(matcher.answers(len(cells))):
            if text:
                cell = matcher.start(index, text)
                number = numbers[cell] if cell < len(numbers) else cell + 1
                out[index].append(_Candidate(text, "notebook", f"markdown cell {number}", "", "wording"))
    return out


def _by_number(sections: Sequence[Section], cells: list[str], number: int) -> tuple[int, str] | None:
    """The first non-empty answer marked by its number ("Q3." / "Ans 3:"), for answers without the question's
    words, or below a list of all the questions."""
    for index, cell in enumerate(cells):
        lines = cell.splitlines()
        marker = QMARK.match(lines[0]) if lines else None
        if marker is None or int(marker.group(1)) != number:
            continue
        first = lines[0][marker.end() :].strip(" .):-*_#")
        body = ([] if first.endswith("?") else [first]) + lines[1:]
        start = index if "".join(body).strip() else index + 1  # cite where the answer's text begins
        for later, section in zip(cells[index + 1 :], sections[index + 1 :]):
            if section.heading or QMARK.match(later):
                break
            body.append(later)
        if "".join(body).strip():  # else a list of the questions, answered further on ("Ans 3: …")
            return min(start, len(cells) - 1), "\n".join(body).strip()
    return None


def _writeup_candidates(text: WriteupText, questions: list[Question]) -> list[list[_Candidate]]:
    """Per question: the write-up's answer found by the question's wording, and by its number alone."""
    out: list[list[_Candidate]] = [[] for _ in questions]
    sections = text.sections
    cells = ["\n".join(normalized(s.text)) for s in sections]
    matcher = _Matcher(cells, questions)
    headings = [i for i, s in enumerate(sections) if s.heading]
    for index, answer in enumerate(matcher.answers(len(cells))):
        if answer:
            start = matcher.start(index, answer)
            end = next((h for h in headings if h > start), None)  # an answer ends at the next heading
            answer = matcher.answers(end)[index] if end is not None else answer
            section = sections[start]
            out[index].append(_Candidate(answer, text.name, section.location, section.under, "wording"))
        numbered = _by_number(sections, cells, index + 1)
        if numbered and numbered[1]:
            section = sections[numbered[0]]
            out[index].append(_Candidate(numbered[1], text.name, section.location, section.under, "number"))
    return out


def _rank(score: AnswerScore) -> tuple[float, int, bool, int]:
    return score.fraction, len(score.hits), score.found, min(score.words, MIN_WORDS)


def answers_from(
    texts: Sequence[WriteupText],
    notebook_markdown: list[str],
    questions: list[Question],
    cell_numbers: Sequence[int] = (),
) -> list[AnswerSource]:
    """For each question, the best-scoring answer in the notebook's markdown or any write-up, and where it is.

    ``cell_numbers`` gives each markdown cell's 1-based position among all the notebook's cells, so evidence
    names the cell the examiner sees; without it, markdown cells are counted among themselves. On a tie
    the notebook wins, then the write-ups in the order given; an answer found by wording beats one found
    by its number alone.
    """
    pools = _notebook_candidates(notebook_markdown, questions, cell_numbers)
    for text in texts:
        if text.readable:
            for index, extra in enumerate(_writeup_candidates(text, questions)):
                pools[index] += extra
    unread = "; ".join(t.note for t in texts if not t.readable and t.note)
    out = []
    for index, (question, pool) in enumerate(zip(questions, pools)):
        scored = [(c, score_answer(c.text, question)) for c in pool]
        best = max(scored, key=lambda cs: _rank(cs[1]), default=None)  # max keeps the first of equals
        if best is None:
            out.append(AnswerSource(index, "", "", "", score_answer("", question), note=unread))
            continue
        c, score = best
        out.append(AnswerSource(index, c.text, c.source, c.location, score, c.under, c.matched_by))
    return out


def nothing_written(sources: Sequence[AnswerSource]) -> bool:
    """True when neither the notebook nor any write-up answers any question: Answers is then pending for the
    examiner (the student may have handed in on paper, or a scan), not 0."""
    return not any(s.found for s in sources)


def evidence(source: AnswerSource, question: Question) -> str:
    """The answers check's evidence line: which question, where its answer is, what it covers."""
    label = f"Q{source.question + 1}"
    if not source.found:
        unread = f"; {source.note}" if source.note else ""
        return f"{label} '{question.text}' not answered in the notebook or a write-up{unread}"
    how = ", found by its number" if source.matched_by == "number" else ""
    hits = ", ".join(source.score.hits) or "no key idea"
    missing = f"; missing: {', '.join(source.score.missing)}" if source.score.missing else ""
    return f"{label} in {source.where}{how}: covers {hits}{missing}"


def answer_sources(art: Artifacts, rubric: Rubric) -> list[AnswerSource]:
    """Each question's best answer for one run's artifacts: its notebook markdown and its write-ups."""
    return answers_from(art.writeups, art.markdown, rubric.questions, cell_numbers=art.markdown_cells)
