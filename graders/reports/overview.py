"""The register's overview: a small distribution plot per experiment and the keys its columns sort by.

The plot is written as inline SVG text, as :mod:`graders.reports.curves` does:
no plotting library, no files, no script, presentation attributes only, a
``<title>`` and a ``<desc>`` for screen readers.
"""

from __future__ import annotations

from html import escape

from graders.models import TOTAL_MAX
from graders.reports.model import ClassMarks, ExperimentStats, MarksCell
from graders.reports.sheet import format_marks

BINS = 10
WIDTH, HEIGHT, BASE = 150, 46, 34  # BASE: the y of the bars' foot; the axis labels sit under it
# Sort keys of cells that hold no marks: below every real mark, not handed in above not assigned.
_MISSING_KEY, _UNGRADED_KEY, _NOT_ASSIGNED_KEY = -1.0, -2.0, -3.0


def distribution_svg(stats: ExperimentStats) -> str:
    """Bars of how many handed-in cells have given marks in each band of 0..20 (width 2 each)."""
    counts = stats.histogram(BINS)
    title = escape(f"Marks given so far, {stats.experiment.short or stats.experiment.title}")
    bands = ", ".join(
        f"{format_marks(i * TOTAL_MAX / BINS)}–{format_marks((i + 1) * TOTAL_MAX / BINS)}: {n}"
        for i, n in enumerate(counts)
        if n
    )
    desc = escape(f"{stats.handed_in} handed in; " + (bands or "no marks given yet"))
    top = max(counts) or 1
    step = (WIDTH - 10) / BINS
    parts = [
        f'<svg class="dist" role="img" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">',
        f"<title>{title}</title><desc>{desc}</desc>",
        f'<line x1="5" y1="{BASE}" x2="{WIDTH - 5}" y2="{BASE}" stroke="#888" stroke-width="1"/>',
    ]
    for i, n in enumerate(counts):
        if not n:
            continue
        height = max(2.0, (BASE - 4) * n / top)
        parts.append(
            f'<rect x="{5 + i * step + 1:.1f}" y="{BASE - height:.1f}" width="{step - 2:.1f}" '
            f'height="{height:.1f}" fill="#4a6fa5"><title>{n}</title></rect>'
        )
    parts.append(f'<text x="5" y="{HEIGHT - 2}" font-size="9" fill="#555">0</text>')
    parts.append(
        f'<text x="{WIDTH - 5}" y="{HEIGHT - 2}" font-size="9" fill="#555" text-anchor="end">'
        f"{format_marks(TOTAL_MAX)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def cell_sort_key(cell: MarksCell) -> float:
    """A cell's place when its column is sorted: its given marks; then not handed in, not graded, not assigned."""
    if cell.handed_in:
        return cell.given
    if cell.state.value == "missing":
        return _MISSING_KEY
    return _UNGRADED_KEY if cell.assigned else _NOT_ASSIGNED_KEY


def register_sort_keys(marks: ClassMarks) -> dict[str, dict[str, str]]:
    """Per roll number, the value each register column sorts by (as text, numbers where they are numbers)."""
    keys: dict[str, dict[str, str]] = {}
    for student in marks.students:
        row = {"roll": student.roll_no if student.roll_no.isdigit() else "0", "name": student.name.casefold()}
        row.update({c.experiment.id: repr(cell_sort_key(c)) for c in marks.row(student.roll_no)})
        row["total"] = repr(marks.given(student.roll_no))
        row["pending"] = repr(marks.pending_marks(student.roll_no))
        keys[student.roll_no] = row
    return keys


SORTS = ("roll", "name", "total", "pending")


def sort_rows(marks: ClassMarks, by: str, descending: bool) -> list[str]:
    """Roll numbers ordered by a register column (``roll``, ``name``, ``total``, ``pending`` or an experiment id);
    ties keep roll-number order; an unknown column keeps the roster's order."""
    keys = register_sort_keys(marks)
    rolls = [s.roll_no for s in marks.students]
    if by not in SORTS and by not in marks.experiments:
        return rolls
    if by == "name":
        return sorted(rolls, key=lambda r: keys[r]["name"], reverse=descending)
    return sorted(rolls, key=lambda r: float(keys[r].get(by, "-3")), reverse=descending)
