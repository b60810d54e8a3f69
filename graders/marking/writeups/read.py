"""Reading a write-up (Word, PDF, Markdown, text; loose or inside a .zip) into located sections.

Nothing here raises on a student's file: a broken, encrypted or scanned write-up becomes a note.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PasswordType, PdfReader

from graders.models import Section, WriteupText

WRITEUP_SUFFIXES = (".docx", ".pdf", ".md", ".markdown", ".txt", ".doc")
NOTEBOOK_SUFFIXES = (".ipynb", ".py")
ARCHIVE_SUFFIXES = (".zip",)
MAX_WRITEUP_BYTES = 20_000_000  # a journal with photos of hand-drawn diagrams stays well below this
MAX_DOCX_XML_BYTES = 40_000_000  # uncompressed XML inside a .docx: guards against zip bombs
MAX_PDF_PAGES = 40
MAX_TEXT_CHARS = 200_000  # about 60 pages of prose: more is not a lab write-up, and matching stays fast
MIN_TEXT_LAYER_CHARS = 20  # fewer extracted characters than this over all pages: a scan


class _Unreadable(Exception):
    """A write-up that cannot be read; the message completes '<name> could not be read: ...'."""


@dataclass
class _Read:
    sections: list[Section] = field(default_factory=list)
    note: str = ""
    scanned: bool = False


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
