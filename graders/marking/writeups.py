"""Write-ups handed in beside a notebook: finding them, reading them, and taking the answers from them.

Students of this lab answer the assignment questions in a Word journal, a PDF
exported from Word or Google Docs, or a text file, more often than in the
notebook's markdown. Grading only the markdown gave those students 0 Answers.
This module finds the write-ups in the student's folder (or inside a .zip),
attributes each to an experiment by its text first and its file name second
(file names lie, as with notebooks), reads them into located sections (so
evidence can cite ``answers.docx, paragraph 14`` or ``answers.pdf, page 2``)
and, for each question, keeps the better of the notebook's and the write-ups'
answers. Matching and scoring are those of :mod:`graders.marking.answers`.

Nothing here raises on a student's file: a broken, encrypted or scanned
write-up becomes a note that the examiner sees, never a silent 0.
"""

from __future__ import annotations

import bisect
import codecs
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PasswordType, PdfReader

from graders.marking.answers import MIN_WORDS, AnswerScore, score_answer, split_answers
from graders.models import Artifacts, Section, WriteupText
from graders.rubric import Question, Rubric

WRITEUP_SUFFIXES = (".docx", ".pdf", ".md", ".markdown", ".txt", ".doc")
NOTEBOOK_SUFFIXES = (".ipynb", ".py")
ARCHIVE_SUFFIXES = (".zip",)
MAX_WRITEUP_BYTES = 20_000_000  # a journal with photos of hand-drawn diagrams stays well below this
MAX_DOCX_XML_BYTES = 40_000_000  # uncompressed XML inside a .docx: guards against zip bombs
MAX_PDF_PAGES = 40
MAX_TEXT_CHARS = 200_000  # about 60 pages of prose: more is not a lab write-up, and matching stays fast
MAX_CANDIDATES = 200
MIN_TEXT_LAYER_CHARS = 20  # fewer extracted characters than this over all pages: a scan


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


class _Unreadable(Exception):
    """A write-up that cannot be read; the message completes '<name> could not be read: ...'."""


@dataclass
class _Read:
    sections: list[Section] = field(default_factory=list)
    note: str = ""
    scanned: bool = False


def unsafe_member(name: str) -> bool:
    """Whether an archive member's name points outside the archive (absolute, drive-lettered or with '..').

    The rule intake applies to notebooks in archives; kept here so intake can import this module.
    """
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- reading -------------------------------------------------------------------------------------------------------


def _member_of(path: Path) -> tuple[Path, str] | None:
    """(archive, member) for a path naming a file inside a .zip as ``handin.zip!answers.docx``."""
    parts = path.parts
    for index, part in enumerate(parts):
        head, bang, tail = part.partition("!")
        if not bang:
            continue
        archive = Path(*parts[:index], head)
        if archive.suffix.lower() in ARCHIVE_SUFFIXES and archive.is_file():
            return archive, "/".join([tail, *parts[index + 1 :]])
    return None


def _display_name(path: Path) -> str:
    member = _member_of(path) if not path.is_file() else None
    return f"{member[0].name}!{member[1]}" if member else path.name


_KINDS = {".docx": "docx", ".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".doc": "doc"}


def _kind(path: Path) -> str:
    return _KINDS.get(path.suffix.lower(), "text")


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, from the folder or from inside its archive, within the size cap."""
    cap = f"it is larger than {MAX_WRITEUP_BYTES // 1_000_000} MB"
    if path.is_file():
        if path.stat().st_size > MAX_WRITEUP_BYTES:
            raise _Unreadable(cap)
        return path.read_bytes()
    member = _member_of(path)
    if member is None:
        raise _Unreadable("it was not found")
    archive, name = member
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(name)
            if info.file_size > MAX_WRITEUP_BYTES:
                raise _Unreadable(cap)
            return zf.read(info)
    except KeyError:
        raise _Unreadable(f"{archive.name} holds no {name}") from None
    except RuntimeError:  # zipfile's way of saying the member needs a password
        raise _Unreadable(f"encrypted inside {archive.name}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Unreadable(f"{archive.name} is not a readable zip archive ({exc})") from None


def _clean(text: str) -> str:
    """Compatibility forms folded (PDF ligatures such as 'ﬁ', non-breaking spaces), control characters dropped."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def decode_text(raw: bytes) -> str:
    """A text file's characters: UTF-8/16/32 by their byte-order mark, BOM-less UTF-16 by its zero bytes
    (Notepad's "Unicode"), then UTF-8, then Windows-1252 (Notepad's "ANSI" on Indian Windows installs)."""
    boms = (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    for bom, encoding in boms:
        if raw.startswith(bom):
            return raw.decode(encoding, errors="replace")
    sample = raw[:4000]
    if sample and sample.count(0) > len(sample) // 4:
        odd = sample[1::2].count(0) > sample[0::2].count(0)
        return raw.decode("utf-16-le" if odd else "utf-16-be", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _capped(sections: list[Section]) -> tuple[list[Section], str]:
    """The sections within MAX_TEXT_CHARS, and a note when some were left out."""
    total = 0
    for index, section in enumerate(sections):
        total += len(section.text) + 1
        if total > MAX_TEXT_CHARS:
            return sections[:index], f"only the first {MAX_TEXT_CHARS:,} characters were read"
    return sections, ""


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")


def _text_sections(text: str, markdown: bool) -> _Read:
    """One section per non-blank line, located by line number; markdown '#' lines are headings."""
    sections, under = [], ""
    for number, line in enumerate(_clean(text).splitlines(), start=1):
        if not line.strip():
            continue
        heading = markdown and _MD_HEADING.match(line) is not None
        sections.append(Section(text=line.rstrip(), location=f"line {number}", heading=heading, under=under))
        if heading:
            under = line.strip(" #")
    kept, note = _capped(sections)
    return _Read(kept, note)


def _docx_container(raw: bytes) -> None:
    """Refuse what python-docx should not open: password-protected files, non-zips, zip bombs."""
    if raw.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE container: Word's encrypted .docx (or a .doc renamed)
        raise _Unreadable("encrypted (password-protected), or an old .doc renamed to .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            inflated = sum(i.file_size for i in zf.infolist() if i.filename.endswith((".xml", ".rels")))
            if "word/document.xml" not in zf.namelist():
                raise _Unreadable("it is not a Word document (no word/document.xml)")
    except zipfile.BadZipFile:
        raise _Unreadable("it is damaged (not a valid .docx archive)") from None
    if inflated > MAX_DOCX_XML_BYTES:
        raise _Unreadable(f"its text unpacks to more than {MAX_DOCX_XML_BYTES // 1_000_000} MB")


class _Numbering:
    """Word's automatic list numbers, which are not in the paragraph's text ("1." of a numbered list)."""

    _LETTER = ("lowerLetter", "upperLetter")

    def __init__(self, document: DocxDocument) -> None:
        self._formats: dict[tuple[str, str], str] = {}
        self._counts: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):  # a document without any list has no numbering part
            return
        abstract = {a.get(qn("w:abstractNumId")): a for a in root.findall(qn("w:abstractNum"))}
        for num in root.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            definition = abstract.get(ref.get(qn("w:val")) if ref is not None else None)
            if definition is None:
                continue
            for lvl in definition.findall(qn("w:lvl")):
                fmt = lvl.find(qn("w:numFmt"))
                value = fmt.get(qn("w:val")) if fmt is not None else None
                self._formats[(str(num.get(qn("w:numId"))), str(lvl.get(qn("w:ilvl"))))] = value or "decimal"

    def prefix(self, paragraph: Paragraph) -> str:
        """'3. ' for the third item of a numbered list, '' for other paragraphs and bullets."""
        element = paragraph._p
        num_id = element.xpath("./w:pPr/w:numPr/w:numId/@w:val")
        level = element.xpath("./w:pPr/w:numPr/w:ilvl/@w:val")
        style = paragraph.style
        if not num_id and style is not None:  # "List Number" numbers through its style
            num_id = style.element.xpath("./w:pPr/w:numPr/w:numId/@w:val")
        if not num_id or str(num_id[0]) == "0":
            return ""
        key, depth = str(num_id[0]), int(str(level[0])) if level else 0
        fmt = self._formats.get((key, str(depth)), "decimal")
        if fmt not in ("decimal", "decimalZero", *self._LETTER):
            return ""
        counts = self._counts.setdefault(key, [0] * 10)
        depth = min(depth, 9)
        counts[depth] += 1
        counts[depth + 1 :] = [0] * (9 - depth)
        n = counts[depth]
        return f"{chr(96 + n) if fmt in self._LETTER and n <= 26 else n}. "


def _is_heading(paragraph: Paragraph) -> bool:
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    return name.startswith("Heading") or name in ("Title", "Subtitle")


def _row_sections(table: Table, table_no: int, under: str) -> list[Section]:
    """A table's rows as sections: "Q1 | What is …? | answer" becomes "Q1 What is …?" then the answer."""
    out = []
    for row_no, row in enumerate(table.rows, start=1):
        cells: list[str] = []
        for cell in row.cells:
            text = _clean(cell.text).strip()
            if text and (not cells or cells[-1] != text):  # a merged cell repeats in every column it spans
                cells.append(text)
        if len(cells) > 1 and len(cells[0]) <= 6:  # a number/label column: keep it on the question's line
            cells = [f"{cells[0]} {cells[1]}", *cells[2:]]
        if cells:
            out.append(Section(text="\n".join(cells), location=f"table {table_no}, row {row_no}", under=under))
    return out


def _docx_sections(raw: bytes) -> _Read:
    """Body paragraphs (with their list numbers) and table rows, in document order."""
    _docx_container(raw)
    document = docx.Document(io.BytesIO(raw))
    numbering = _Numbering(document)
    sections: list[Section] = []
    paragraph_no = table_no = 0
    under = ""
    for block in document.iter_inner_content():
        if not isinstance(block, Paragraph):
            table_no += 1
            sections += _row_sections(block, table_no, under)
            continue
        paragraph_no += 1
        text = _clean(numbering.prefix(block) + block.text).strip()
        if not text:
            continue
        heading = _is_heading(block)
        sections.append(Section(text=text, location=f"paragraph {paragraph_no}", heading=heading, under=under))
        if heading:
            under = text
    kept, note = _capped(sections)
    return _Read(kept, note)


def _pdf_sections(raw: bytes) -> _Read:
    """The text layer, line by line, located by page; a PDF without one is reported as a scan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about the many small defects of real-world PDFs
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # Word's "restrict editing" PDFs open without a password
            except Exception:  # pypdf raises several types for ciphers it cannot handle
                opened = PasswordType.NOT_DECRYPTED
            if opened == PasswordType.NOT_DECRYPTED:
                raise _Unreadable("encrypted (it needs a password)")
        total = len(reader.pages)
        sections, chars = [], 0
        for number in range(min(total, MAX_PDF_PAGES)):
            text = _clean(reader.pages[number].extract_text() or "")
            text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)  # words hyphenated across lines
            chars += len("".join(text.split()))
            sections += [
                Section(text=line.strip(), location=f"page {number + 1}") for line in text.splitlines() if line.strip()
            ]
    if total and chars < MIN_TEXT_LAYER_CHARS:
        return _Read(
            [], "it has no text layer (a scanned or photographed document?): for the examiner to read", scanned=True
        )
    kept, note = _capped(sections)
    if total > MAX_PDF_PAGES:
        note = f"only the first {MAX_PDF_PAGES} of {total} pages were read" + (f"; {note}" if note else "")
    return _Read(kept, note)


def read_writeup(path: Path) -> WriteupText:
    """Read one write-up into located sections; never raises (the reason is the note)."""
    name, kind = _display_name(path), _kind(path)
    try:
        raw = _read_bytes(path)
        if kind == "doc":
            raise _Unreadable("it is in the old Word format (.doc): ask for .docx or PDF")
        if kind == "docx":
            read = _docx_sections(raw)
        elif kind == "pdf":
            read = _pdf_sections(raw)
        else:
            read = _text_sections(decode_text(raw), markdown=kind == "markdown")
    except _Unreadable as exc:
        return WriteupText(path=path, name=name, kind=kind, note=f"{name} could not be read: {exc}")
    except Exception as exc:  # a damaged file can raise anything from zipfile, lxml, python-docx or pypdf
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return WriteupText(path=path, name=name, kind=kind, note=f"{name} could not be read: damaged ({reason})")
    note = f"{name}: {read.note}" if read.note and not read.scanned else ""
    if read.scanned:
        note = f"{name} could not be read: {read.note}"
    return WriteupText(path=path, name=name, kind=kind, sections=tuple(read.sections), note=note, scanned=read.scanned)


# --- matching ------------------------------------------------------------------------------------------------------

_QMARK = re.compile(r"^\W*(?:q|ans(?:wer)?)\s*(\d{1,2})\b(?!\s*%)", re.IGNORECASE)
_Q_PREFIX = re.compile(r"^(\W*)(?:question|ques|que|qu|q)\s*(?:no)?\s*[.#:\-]?\s*(\d{1,2})\b", re.IGNORECASE)
_ANS_INLINE = re.compile(r"\s+(?=(?:ans|answer)\s*[:.\-)]\s*\S)", re.IGNORECASE)
_ASKED = re.compile(r"^(.{3,}?\?)[\s*_:]+(\S.*)$")


def _normalized(text: str) -> list[str]:
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
    for cells in (markdown, ["\n".join(_normalized(c)) for c in markdown]):
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
        marker = _QMARK.match(lines[0]) if lines else None
        if marker is None or int(marker.group(1)) != number:
            continue
        first = lines[0][marker.end() :].strip(" .):-*_#")
        body = ([] if first.endswith("?") else [first]) + lines[1:]
        start = index if "".join(body).strip() else index + 1  # cite where the answer's text begins
        for later, section in zip(cells[index + 1 :], sections[index + 1 :]):
            if section.heading or _QMARK.match(later):
                break
            body.append(later)
        if "".join(body).strip():  # else a list of the questions, answered further on ("Ans 3: …")
            return min(start, len(cells) - 1), "\n".join(body).strip()
    return None


def _writeup_candidates(text: WriteupText, questions: list[Question]) -> list[list[_Candidate]]:
    """Per question: the write-up's answer found by the question's wording, and by its number alone."""
    out: list[list[_Candidate]] = [[] for _ in questions]
    sections = text.sections
    cells = ["\n".join(_normalized(s.text)) for s in sections]
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


# --- finding -------------------------------------------------------------------------------------------------------

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
        lines = _normalized(text)
        marked = any(_QMARK.match(line) for line in lines)
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
    lines = _normalized(text.text)
    asked = sum(1 for line in lines if line.rstrip(" *_").endswith("?"))
    return asked >= 2 or any(_QMARK.match(line) for line in lines)


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


def answer_sources(art: Artifacts, rubric: Rubric) -> list[AnswerSource]:
    """Each question's best answer for one run's artifacts: its notebook markdown and its write-ups."""
    return answers_from(art.writeups, art.markdown, rubric.questions, cell_numbers=art.markdown_cells)
