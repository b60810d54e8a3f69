"""The view model of the similarity page: groups of students, each student's code shown once per group.

A group is a cluster (three or more students each listed with every other)
or a pair outside any cluster. In a group each member's code is printed once,
with every fragment found in another member's highlighted. A member whose code
is identical to one already printed is named, not printed again; one whose code
is near-identical to it is shown as what was changed, token by token (the
names renamed, the numbers and strings changed), which is both shorter and the
evidence a teacher can put to a student. That keeps the page short enough to
open in a browser for a class of 150 while every listed pair stays one click
from its evidence.

Highlighting is done here with the text escaped first (students' code is
untrusted text) rather than with copydetect's ``highlight_overlap``.
"""

from __future__ import annotations

import html
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from graders.integrity.normalise import Normalised, normalise
from graders.integrity.similarity import CodeDoc, Pair, SimilarityReport, page_name

_CHANGE_KINDS = {"V": "names", "N": "numbers", "S": "strings"}
_SHOWN_CHANGES = 8  # per kind; the rest are counted


@dataclass(frozen=True)
class Segment:
    """A run of a cell's text, matched (highlighted) or not."""

    text: str
    matched: bool


@dataclass(frozen=True)
class CellView:
    """One code cell of a submission: its text with the matched fragments marked, or a note if unmatched."""

    number: int  # 1-based code cell number
    lines: int
    code: Markup  # escaped text with <mark> around the matched fragments; empty: folded

    @property
    def folded(self) -> bool:
        """A cell with nothing in common is named, not shown, to keep the evidence short."""
        return not self.code


@dataclass(frozen=True)
class MemberView:
    """One student of a group, their code printed once (or the member it is identical to)."""

    roll_no: str
    name: str
    source: str
    cells: tuple[CellView, ...]
    same_as: str = ""  # the roll number of a member printed above whose code this is, identically
    near_of: str = ""  # ... whose code this is with the ``changes`` made
    changes: tuple[str, ...] = ()

    @property
    def shown_cells(self) -> int:
        """Cells printed (not folded)."""
        return sum(not c.folded for c in self.cells)


@dataclass(frozen=True)
class GroupView:
    """A cluster or a lone pair: its pairs and each member once."""

    number: int
    cluster: int | None  # the cluster number; None for a pair outside any cluster
    pairs: tuple[int, ...]  # the numbers of its pairs in the pairs table
    members: tuple[MemberView, ...]
    kind: str  # the weakest kind inside the group: "identical", "near-identical" or "shared code"
    kind_class: str


@dataclass(frozen=True)
class PairView:
    """A row of the pairs table."""

    number: int
    pair: Pair
    group: int


def segments(text: str, spans: Sequence[tuple[int, int]]) -> tuple[Segment, ...]:
    """The text cut at the spans' edges: matched runs and the text between them (overlapping spans merged,
    spans apart by whitespace only joined, so one fragment is one mark)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(end, len(text))
        if start >= end:
            continue
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out: list[Segment] = []
    at = 0
    for start, end in merged:
        if start > at:
            out.append(Segment(text[at:start], False))
        out.append(Segment(text[start:end], True))
        at = end
    if at < len(text):
        out.append(Segment(text[at:], False))
    return tuple(out)


def _marked(text: str, spans: Sequence[tuple[int, int]]) -> Markup:
    """The cell as HTML: escaped text (quotes left as they are: this is element content) with <mark>s."""
    parts = (
        f"<mark>{html.escape(s.text, quote=False)}</mark>" if s.matched else html.escape(s.text, quote=False)
        for s in segments(text, spans)
    )
    return Markup("".join(parts))


def _statement_tokens(doc: CodeDoc, norm: Normalised) -> list[tuple[str, list[str]]]:
    """Each top-level statement's normalised symbols and the text of its tokens as written."""
    tokens: dict[int, list[str]] = {}
    for i, number in enumerate(norm.statement):
        tokens.setdefault(number, []).append(doc.cells[norm.cell[i]][norm.start[i] : norm.end[i]])
    return [(norm.statements[n], tokens.get(n, [])) for n in range(len(norm.statements))]


@lru_cache(maxsize=512)
def _normalised(cells: tuple[str, ...]) -> Normalised:
    return normalise(cells)


def _short(text: str) -> str:
    return text if len(text) <= 32 else text[:29] + "..."


def changes(shown: CodeDoc, copy: CodeDoc) -> tuple[str, ...] | None:
    """What turns ``shown`` into ``copy`` when both hold the same statements once names, numbers and strings
    are normalised (in any order): one line per kind, "names: data → df, model → net"; None when they do not."""
    mine, theirs = _normalised(shown.cells), _normalised(copy.cells)
    if sorted(mine.statements) != sorted(theirs.statements):
        return None
    pool: dict[str, deque[list[str]]] = {}
    for key, texts in _statement_tokens(copy, theirs):
        pool.setdefault(key, deque()).append(texts)
    found: dict[str, Counter[tuple[str, str]]] = {kind: Counter() for kind in _CHANGE_KINDS.values()}
    for key, texts in _statement_tokens(shown, mine):
        for symbol, before, after in zip(key, texts, pool[key].popleft()):
            if before != after and symbol in _CHANGE_KINDS:
                found[_CHANGE_KINDS[symbol]][(before, after)] += 1
    lines = []
    for kind, counted in found.items():
        if counted:
            shown_changes = [f"{_short(a)} → {_short(b)}" for (a, b), _ in counted.most_common(_SHOWN_CHANGES)]
            more = len(counted) - _SHOWN_CHANGES
            lines.append(f"{kind}: {', '.join(shown_changes)}" + (f" and {more} more" if more > 0 else ""))
    return tuple(lines)


def _member(
    doc: CodeDoc, group_pairs: Iterable[Pair], same_as: str, near: tuple[str, tuple[str, ...]] | None
) -> MemberView:
    if same_as:
        return MemberView(doc.roll_no, doc.name, doc.source, (), same_as)
    if near is not None:
        return MemberView(doc.roll_no, doc.name, doc.source, (), near_of=near[0], changes=near[1])
    spans = [span for p in group_pairs for span in (p.a_spans if p.a == doc.roll_no else p.b_spans)]
    cells = []
    for index, text in enumerate(doc.cells):
        mine = [(s, e) for c, s, e in spans if c == index]
        cells.append(CellView(index + 1, text.count("\n") + 1, _marked(text, mine) if mine else Markup("")))
    return MemberView(doc.roll_no, doc.name, doc.source, tuple(cells))


def _group(
    number: int,
    cluster: int | None,
    members: Sequence[str],
    pairs: Sequence[tuple[int, Pair]],
    docs: dict[str, CodeDoc],
) -> GroupView:
    inside = [p for _, p in pairs]
    identical = {frozenset((p.a, p.b)) for p in inside if p.identical}
    near = {frozenset((p.a, p.b)) for p in inside if p.exact and not p.identical}
    views: list[MemberView] = []
    for roll in members:
        printed = [v.roll_no for v in views if v.cells]
        same = next((r for r in printed if frozenset((roll, r)) in identical), "")
        found = None
        for r in printed if not same else []:
            edits = changes(docs[r], docs[roll]) if frozenset((roll, r)) in near else None
            if edits is not None:
                found = (r, edits)
                break
        views.append(_member(docs[roll], [p for p in inside if roll in (p.a, p.b)], same, found))
    weakest = min(inside, key=lambda p: (p.identical, p.exact))
    return GroupView(number, cluster, tuple(n for n, _ in pairs), tuple(views), weakest.kind, weakest.kind_class)


def page_context(report: SimilarityReport, docs: Sequence[CodeDoc], *, course_name: str) -> dict[str, object]:
    """Everything ``similarity.html`` shows."""
    by_roll = {d.roll_no: d for d in docs}
    numbered = list(enumerate(report.pairs, start=1))
    groups: list[GroupView] = []
    group_of: dict[int, int] = {}
    for cluster in report.clusters:
        members = set(cluster.members)
        inside = [(n, p) for n, p in numbered if p.a in members and p.b in members]
        groups.append(_group(len(groups) + 1, cluster.number, cluster.members, inside, by_roll))
        group_of.update({n: len(groups) for n, _ in inside})
    for n, p in numbered:
        if n not in group_of:
            groups.append(_group(len(groups) + 1, None, (p.a, p.b), [(n, p)], by_roll))
            group_of[n] = len(groups)
    names = {d.roll_no: d.name for d in docs}
    counts = {kind: sum(1 for p in report.pairs if p.kind == kind) for kind in ("identical", "near-identical")}
    return {
        "course_name": course_name,
        "report": report,
        "settings": report.settings,
        "pairs": [PairView(n, p, group_of[n]) for n, p in numbered],
        "groups": groups,
        "counts": counts,
        "flagged": len({r for p in report.pairs for r in (p.a, p.b)}),
        "too_little": [(r, names.get(r, "")) for r in report.too_little_code],
        "cluster_group": {g.cluster: g.number for g in groups if g.cluster is not None},
    }


def render_similarity_page(
    report: SimilarityReport,
    docs: Sequence[CodeDoc],
    out_dir: Path | str,
    *,
    course_name: str,
) -> Path:
    """Write ``out_dir/similarity-<experiment>.html``: clusters, the pairs table, each group's code once."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("graders", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    html_text = env.get_template("similarity.html").render(page_context(report, docs, course_name=course_name))
    path = out / page_name(report.experiment)
    path.write_text(html_text, encoding="utf-8")
    return path
