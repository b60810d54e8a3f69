"""The view model of the similarity page: each pair's two submissions as cells of highlighted segments.

Highlighting is done here as (text, matched) segments that the template
autoescapes, rather than with copydetect's ``highlight_overlap`` (which
returns ready-made HTML): students' code is untrusted text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from graders.integrity.similarity import CodeDoc, Pair, SimilarityReport, Span, page_name


@dataclass(frozen=True)
class Segment:
    """A run of a cell's text, matched (highlighted) or not."""

    text: str
    matched: bool


@dataclass(frozen=True)
class CellView:
    """One code cell of a submission as shown beside the other: its segments, or a one-line note if unmatched."""

    number: int  # 1-based code cell number
    lines: int
    segments: tuple[Segment, ...]  # empty: the cell has no matched code and is folded

    @property
    def folded(self) -> bool:
        """A cell with nothing in common is named, not shown, to keep the evidence short."""
        return not self.segments


@dataclass(frozen=True)
class SideView:
    """One submission of a pair."""

    roll_no: str
    name: str
    source: str
    share: float  # share of this submission's own code found in the other
    cells: tuple[CellView, ...]


@dataclass(frozen=True)
class PairView:
    """A reported pair with both sides ready to print side by side."""

    number: int
    pair: Pair
    cluster: int | None
    left: SideView
    right: SideView


def segments(text: str, spans: Sequence[tuple[int, int]]) -> tuple[Segment, ...]:
    """The text cut at the spans' edges: matched runs and the text between them."""
    out: list[Segment] = []
    at = 0
    for start, end in sorted(spans):
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        if start > at:
            out.append(Segment(text[at:start], False))
        out.append(Segment(text[start:end], True))
        at = end
    if at < len(text):
        out.append(Segment(text[at:], False))
    return tuple(out)


def _side(doc: CodeDoc, spans: Sequence[Span], share: float) -> SideView:
    cells = []
    for index, text in enumerate(doc.cells):
        mine = [(s, e) for c, s, e in spans if c == index]
        lines = text.count("\n") + 1
        cells.append(CellView(index + 1, lines, segments(text, mine) if mine else ()))
    return SideView(doc.roll_no, doc.name, doc.source, share, tuple(cells))


def page_context(report: SimilarityReport, docs: Sequence[CodeDoc], *, course_name: str) -> dict[str, object]:
    """Everything ``similarity.html`` shows."""
    by_roll = {d.roll_no: d for d in docs}
    cluster_of = {roll: c.number for c in report.clusters for roll in c.members}
    views = [
        PairView(
            number=n,
            pair=p,
            cluster=cluster_of.get(p.a),
            left=_side(by_roll[p.a], p.a_spans, p.a_in_b),
            right=_side(by_roll[p.b], p.b_spans, p.b_in_a),
        )
        for n, p in enumerate(report.pairs, start=1)
    ]
    names = {d.roll_no: d.name for d in docs}
    return {
        "course_name": course_name,
        "report": report,
        "settings": report.settings,
        "pairs": views,
        "exact": sum(1 for p in report.pairs if p.exact),
        "flagged": len({r for p in report.pairs for r in (p.a, p.b)}),
        "too_little": [(r, names.get(r, "")) for r in report.too_little_code],
        "cluster_pairs": {c.number: [v.number for v in views if v.cluster == c.number] for c in report.clusters},
    }


def render_similarity_page(
    report: SimilarityReport,
    docs: Sequence[CodeDoc],
    out_dir: Path | str,
    *,
    course_name: str,
) -> Path:
    """Write ``out_dir/similarity-<experiment>.html``: clusters, the pairs table, each pair side by side."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(loader=jinja2.PackageLoader("graders", "templates"), autoescape=True)
    html = env.get_template("similarity.html").render(page_context(report, docs, course_name=course_name))
    path = out / page_name(report.experiment)
    path.write_text(html, encoding="utf-8")
    return path
