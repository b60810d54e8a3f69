"""Training curves as inline SVG, drawn straight from the numbers of a Keras history.

Reports used to redraw every curve with matplotlib on every render, which
cost most of the render time. A curve is a few polylines and some tick
labels, so it is written here as text: no plotting library, no files, no
external resources and no script, and the result can be inlined into the
static HTML pages (Jinja: ``{{ svg | safe }}`` or ``Markup(svg)``; history
keys are escaped here because they come from students' code).

Design choices that matter to readers of the marks:

* one panel per measure: ``loss`` with ``val_loss``, ``accuracy`` with
  ``val_accuracy``, ``mae`` with ``val_mae`` ..., so measures of different
  scales never share an axis;
* training is a solid line with filled circles, validation a dashed line with
  open squares: the series stay apart in black-and-white print too;
* one epoch is a point on a sensible axis, with its value written next to it;
* NaN/inf (a diverged run) are not drawn, and the panel says where they were;
* every SVG carries a ``<title>`` and a ``<desc>`` summary for screen readers;
* only presentation attributes, no ``<style>``: a style sheet inside inline
  SVG would apply to the whole page.
"""

from __future__ import annotations

import hashlib
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from operator import itemgetter

# Not plotted: schedules, not measures of how training went.
SKIPPED = frozenset({"lr", "learning_rate"})
MAX_PANELS = 6
COLUMNS = 2  # panels per row

PANEL_W, PANEL_H = 340, 220
M_LEFT, M_RIGHT, M_TOP, M_BOTTOM = 52, 48, 40, 38
NOTE_H = 14
MARKERS_UP_TO = 25  # epochs: at least ~10 px apart; beyond this markers would blur into the line

INK, MUTED, GRID, AXIS = "#1a1a1a", "#555555", "#e2e2e2", "#666666"
STYLES = {  # role -> (colour, dash, label)
    "training": ("#1f4e99", "", "training"),
    "validation": ("#c2410c", "6 3", "validation"),
}
_BOUNDED = ("accuracy", "acc", "auc", "precision", "recall", "f1")
_LOWER_IS_BETTER = ("loss", "mae", "mse", "error", "mape", "hinge", "crossentropy", "divergence")
_ABBREVIATIONS = {"mae": "MAE", "mse": "MSE", "rmse": "RMSE", "mape": "MAPE", "auc": "AUC"}


@dataclass
class _Series:
    """One history key: its finite points and the epochs that could not be drawn."""

    name: str
    role: str  # "training" or "validation"
    points: list[tuple[int, float]]  # (epoch, value), finite only
    length: int
    bad: dict[str, list[int]] = field(default_factory=dict)  # kind (NaN, inf, missing) -> epochs


@dataclass
class _Panel:
    title: str
    base: str
    series: list[_Series]

    @property
    def epochs(self) -> int:
        """The longest series sets the epoch axis (validation may stop early)."""
        return max(s.length for s in self.series)

    def values(self) -> list[float]:
        """Every finite value of the panel, for its y range."""
        return [v for s in self.series for v in map(itemgetter(1), s.points)]


def _read_series(name: str, role: str, values: Sequence[object]) -> _Series:
    try:  # the usual case, all finite numbers: C-speed passes, no per-value branching
        numbers = list(map(float, values))  # type: ignore[arg-type]
        if all(map(math.isfinite, numbers)):
            return _Series(name, role, list(enumerate(numbers, start=1)), len(values))
    except (TypeError, ValueError):
        pass
    points: list[tuple[int, float]] = []
    bad: dict[str, list[int]] = {}
    for epoch, value in enumerate(values, start=1):
        if not isinstance(value, (int, float)):
            bad.setdefault("missing", []).append(epoch)
        elif math.isnan(value):
            bad.setdefault("NaN", []).append(epoch)
        elif math.isinf(value):
            bad.setdefault("inf", []).append(epoch)
        else:
            points.append((epoch, float(value)))
    return _Series(name, role, points, len(values), bad)


def _title(base: str) -> str:
    if base in _ABBREVIATIONS:
        return _ABBREVIATIONS[base]
    return base[:1].upper() + base[1:] if base.isalpha() else base


def _panels(history: Mapping[str, Sequence[float]]) -> tuple[list[_Panel], list[str]]:
    """Panels in reading order (losses first), and the keys left out for lack of room."""
    groups: dict[str, dict[str, Sequence[float]]] = {}
    for name, values in history.items():
        if name.lower() in SKIPPED or not isinstance(values, Sequence) or isinstance(values, str) or not values:
            continue
        base = name[4:] if name.startswith("val_") and len(name) > 4 else name
        groups.setdefault(base, {})[name] = values
    ordered = sorted(groups, key=lambda b: 0 if b == "loss" else 1 if "loss" in b else 2)
    panels = []
    for base in ordered:
        members = groups[base]
        series = [
            _read_series(n, "validation" if n != base else "training", v)
            for n, v in sorted(members.items(), key=lambda item: item[0] != base)
        ]
        panels.append(_Panel(_title(base), base, series))
    left_out = [s.name for p in panels[MAX_PANELS:] for s in p.series]
    return panels[:MAX_PANELS], left_out


# -- scales --------------------------------------------------------------------------


def _nice_step(raw: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(raw))
    norm = raw / magnitude
    return (1.0 if norm < 1.5 else 2.0 if norm < 3.0 else 5.0 if norm < 7.0 else 10.0) * magnitude


def _y_range(base: str, values: Sequence[float]) -> tuple[float, float]:
    """The data range, widened so that flat curves and single values sit on a meaningful axis."""
    lo, hi = min(values), max(values)
    bounded = any(word in base.lower() for word in _BOUNDED) and 0.0 <= lo and hi <= 1.0
    floor_span = 0.05 * max(abs(lo), abs(hi))
    if hi - lo <= floor_span:  # one value, or a curve that barely moves
        if bounded:
            return 0.0, 1.0
        if lo == hi == 0.0:
            return 0.0, 1.0
        if lo >= 0.0:
            return 0.0, hi * 1.25
        if hi <= 0.0:
            return lo * 1.25, 0.0
    pad = 0.06 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if bounded:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    elif values and min(values) >= 0.0 and lo < 0.0:
        lo = 0.0  # losses and errors are not negative: no axis below 0 for them
    return lo, hi


def _ticks(lo: float, hi: float, target: int = 4) -> tuple[list[float], float]:
    step = _nice_step((hi - lo) / target)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    count = int(round((last - first) / step))
    return [first + i * step for i in range(count + 1)], step


def _tick_label(value: float, step: float) -> str:
    if abs(value) < step * 1e-6:
        return "0"
    if step >= 1000:
        for divisor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if step >= divisor:
                decimals = max(0, -math.floor(math.log10(step / divisor) + 1e-9))
                return f"{value / divisor:.{decimals}f}{suffix}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


def _epoch_ticks(epochs: int) -> list[int]:
    """Every epoch up to 12; beyond, 1 and round numbers (1, 100, 200, ...) or odd epochs for small steps."""
    if epochs <= 12:
        return list(range(1, epochs + 1))
    step = int(_nice_step((epochs - 1) / 5))
    if step <= 2:
        return list(range(1, epochs + 1, step))
    return [1] + [k for k in range(step, epochs + 1, step) if k - 1 >= step / 2]


def fmt_value(value: float) -> str:
    """A measured value for labels and descriptions: three significant digits, no exponent for usual sizes."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value != 0 and abs(value) < 0.001:
        return f"{value:.2e}"
    text = f"{value:#.3g}".rstrip(".")  # '#' keeps trailing zeros: 0.300 next to 0.208, not 0.3
    return text if "e" not in text else f"{value:.4f}"


def _epoch_spans(epochs: Sequence[int]) -> str:
    spans: list[str] = []
    start = prev = epochs[0]
    for e in [*epochs[1:], None]:
        if e is not None and e == prev + 1:
            prev = e
            continue
        spans.append(str(start) if start == prev else f"{start}\u2013{prev}")
        if e is not None:
            start = prev = e
    if len(spans) > 4:
        return ", ".join(spans[:3]) + f", \u2026 ({len(epochs)} epochs)"
    return ", ".join(spans)


# -- drawing -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Where a panel's plot area is, and how numbers map onto it."""

    x0: float
    y0: float
    width: float
    height: float
    epochs: int
    lo: float
    hi: float

    def x(self, epoch: float) -> float:
        """Epoch to x; a single epoch sits in the middle of the axis."""
        if self.epochs <= 1:
            return self.x0 + self.width / 2
        return self.x0 + (epoch - 1) / (self.epochs - 1) * self.width

    def y(self, value: float) -> float:
        """Value to y (SVG's y grows downwards)."""
        return self.y0 + self.height - (value - self.lo) / (self.hi - self.lo) * self.height


def _notes(panel: _Panel) -> list[str]:
    """What could not be drawn, in words."""
    notes = []
    for s in panel.series:
        kinds = "/".join(s.bad)
        if s.bad and not s.points:
            notes.append(f"{s.name}: no finite values ({kinds}), nothing drawn")
        elif s.bad:
            epochs = sorted(e for es in s.bad.values() for e in es)
            notes.append(
                f"{s.name}: {kinds} at epoch{'s' if len(epochs) > 1 else ''} {_epoch_spans(epochs)}, not drawn"
            )
    return [line for note in notes for line in _wrap(note)]


def _wrap(note: str) -> list[str]:
    """A note as lines that fit under a panel, flagged once and indented after."""
    return textwrap.wrap(note, 58, initial_indent="\u26a0 ", subsequent_indent="    ")


def _axes(frame: _Frame, ticks: Sequence[float], step: float) -> list[str]:
    """Grid, y ticks, epoch ticks and the axis lines (the y range ends on ticks)."""
    out: list[str] = []
    x0, y0, x1, y1 = frame.x0, frame.y0, frame.x0 + frame.width, frame.y0 + frame.height
    for t in ticks:
        y = frame.y(t)
        out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{x0 - 6:.1f}" y="{y + 3.5:.1f}" text-anchor="end" fill="{MUTED}">{_tick_label(t, step)}</text>'
        )
    for e in _epoch_ticks(frame.epochs):
        x = frame.x(e)
        out.append(f'<line x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" y2="{y1 + 4:.1f}" stroke="{AXIS}"/>')
        out.append(f'<text x="{x:.1f}" y="{y1 + 15:.1f}" text-anchor="middle" fill="{MUTED}">{e}</text>')
    out.append(f'<path d="M{x0:.1f} {y0:.1f}V{y1:.1f}H{x1:.1f}" fill="none" stroke="{AXIS}"/>')
    out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y1 + 30:.1f}" text-anchor="middle" fill="{MUTED}">epoch</text>')
    return out


def _gaps(frame: _Frame, panel: _Panel) -> list[str]:
    """A light band over epochs some series could not draw, labelled with why (NaN, inf)."""
    drawn = [s for s in panel.series if s.points]  # a series with nothing drawn is explained by its note alone
    bad = sorted({e for s in drawn for es in s.bad.values() for e in es})
    if not bad or frame.epochs <= 1:
        return []
    kinds = "/".join(sorted({k for s in drawn for k in s.bad}))
    half = frame.width / (frame.epochs - 1) / 2
    out = []
    for run in _segments([(e, 0.0) for e in bad]):
        left = max(frame.x0, frame.x(run[0][0]) - half)
        right = min(frame.x0 + frame.width, frame.x(run[-1][0]) + half)
        out.append(
            f'<rect x="{left:.1f}" y="{frame.y0:.1f}" width="{right - left:.1f}" height="{frame.height:.1f}" '
            f'fill="#efefef"/>'
        )
        if right - left >= 24:
            out.append(
                f'<text x="{(left + right) / 2:.1f}" y="{frame.y0 + 12:.1f}" text-anchor="middle" '
                f'font-size="10" fill="{MUTED}">{kinds}</text>'
            )
    return out


def _marker(role: str, x: float, y: float, colour: str) -> str:
    if role == "training":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.8" fill="{colour}"/>'
    return (
        f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="#ffffff" stroke="{colour}" '
        f'stroke-width="1.4"/>'
    )


def _segments(points: Sequence[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive epochs: a line never bridges a NaN."""
    if points and points[-1][0] - points[0][0] == len(points) - 1:
        return [list(points)]  # no gaps
    runs: list[list[tuple[int, float]]] = []
    for point in points:
        if runs and point[0] == runs[-1][-1][0] + 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _coords(frame: _Frame, run: Sequence[tuple[int, float]]) -> str:
    """Polyline points; the scale is applied inline because this is the hot loop for long runs."""
    sx = frame.width / (frame.epochs - 1) if frame.epochs > 1 else 0.0
    sy = frame.height / (frame.hi - frame.lo)
    x0, base = frame.x0 - sx, frame.y0 + frame.height + frame.lo * sy
    return " ".join([f"{x0 + e * sx:.1f},{base - v * sy:.1f}" for e, v in run])


def _thin(run: Sequence[tuple[int, float]], pixels: int) -> Sequence[tuple[int, float]]:
    """At most ~4 points per pixel column (first, min, max, last): the drawn line looks the same."""
    if len(run) <= 4 * pixels:
        return run
    span = run[-1][0] - run[0][0]
    buckets: dict[int, list[tuple[int, float]]] = {}
    for point in run:
        buckets.setdefault((point[0] - run[0][0]) * pixels // span, []).append(point)
    kept: list[tuple[int, float]] = []
    for bucket in buckets.values():
        picks = {bucket[0], min(bucket, key=lambda p: p[1]), max(bucket, key=lambda p: p[1]), bucket[-1]}
        kept.extend(sorted(picks))
    return kept


def _series_marks(frame: _Frame, s: _Series) -> list[str]:
    colour, dash, _ = STYLES[s.role]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    out = []
    for run in _segments(s.points):
        if len(run) > 1:
            coords = _coords(frame, _thin(run, int(frame.width)))
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.8" '
                f'stroke-linejoin="round"{dash_attr}/>'
            )
        if len(run) == 1 or frame.epochs <= MARKERS_UP_TO:
            out.extend(_marker(s.role, frame.x(e), frame.y(v), colour) for e, v in run)
    return out


def _end_labels(frame: _Frame, panel: _Panel) -> list[str]:
    """The last value of each series, written at its end and pushed apart when they would overlap."""
    ends = [(frame.y(s.points[-1][1]), s) for s in panel.series if s.points]
    ends.sort(key=lambda item: item[0])
    placed: list[float] = []
    for y, _ in ends:
        placed.append(max(y, placed[-1] + 12) if placed else y)
    out = []
    for (_, s), y in zip(ends, placed):
        epoch, value = s.points[-1]
        colour = STYLES[s.role][0]
        x = frame.x(epoch) + 7 if frame.epochs <= 1 or epoch < frame.epochs else frame.x0 + frame.width + 7
        out.append(f'<text x="{x:.1f}" y="{y + 3.5:.1f}" fill="{colour}" font-weight="600">{fmt_value(value)}</text>')
    return out


def _legend(panel: _Panel, right: float, y: float) -> list[str]:
    out = []
    x = right
    for s in reversed(panel.series):
        colour, dash, label = STYLES[s.role]
        width = 6.2 * len(label)
        x -= width
        out.append(f'<text x="{x:.1f}" y="{y + 3.5:.1f}" fill="{INK}">{label}</text>')
        x -= 30
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 24:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="1.8"{dash_attr}/>'
        )
        out.append(_marker(s.role, x + 12, y, colour))
        x -= 14
    return out


def _panel_svg(panel: _Panel, left: float, top: float, notes: Sequence[str]) -> list[str]:
    frame_w = PANEL_W - M_LEFT - M_RIGHT
    frame_h = PANEL_H - M_TOP - M_BOTTOM
    values = panel.values()
    out = [
        f'<g transform="translate({left:.0f},{top:.0f})">',
        f'<text x="{M_LEFT - 40}" y="16" font-size="13" font-weight="600" fill="{INK}">{escape(panel.title)}</text>',
    ]
    out.extend(_legend(panel, PANEL_W - 8, 31))
    if values:
        ticks, step = _ticks(*_y_range(panel.base, values))
        frame = _Frame(M_LEFT, M_TOP, frame_w, frame_h, panel.epochs, ticks[0], ticks[-1])
        out.extend(_gaps(frame, panel))
        out.extend(_axes(frame, ticks, step))
        for s in panel.series:
            out.extend(_series_marks(frame, s))
        out.extend(_end_labels(frame, panel))
    else:
        out.append(f'<rect x="{M_LEFT}" y="{M_TOP}" width="{frame_w}" height="{frame_h}" fill="none" stroke="{GRID}"/>')
        out.append(
            f'<text x="{M_LEFT + frame_w / 2:.1f}" y="{M_TOP + frame_h / 2:.1f}" text-anchor="middle" '
            f'fill="{MUTED}">nothing finite to draw</text>'
        )
    for i, note in enumerate(notes):
        indent = 12 if note.startswith(" ") else 0  # SVG collapses leading spaces: indent by position
        out.append(
            f'<text x="{M_LEFT - 40 + indent}" y="{PANEL_H + 4 + NOTE_H * i:.0f}" font-size="10.5" '
            f'fill="{INK}">{escape(note.strip())}</text>'
        )
    out.append("</g>")
    return out


def _describe(panel: _Panel) -> str:
    """A sentence per series for the <desc>: where it started, ended and was best."""
    parts = []
    for s in panel.series:
        if not s.points:
            parts.append(f"{s.name}: no finite values.")
            continue
        (e0, v0), (e1, v1) = s.points[0], s.points[-1]
        pick = min if any(word in panel.base.lower() for word in _LOWER_IS_BETTER) else max
        eb, vb = pick(s.points, key=itemgetter(1))
        text = f"{s.name}: {s.length} epoch{'s' if s.length != 1 else ''}"
        if len(s.points) == 1:
            text += f", {fmt_value(v0)} at epoch {e0}"
        else:
            best = "lowest" if pick is min else "highest"
            text += (
                f", from {fmt_value(v0)} at epoch {e0} to {fmt_value(v1)} at epoch {e1}, "
                f"{best} {fmt_value(vb)} at epoch {eb}"
            )
        if s.bad:
            text += f"; {sum(len(v) for v in s.bad.values())} epoch(s) not finite"
        parts.append(text + ".")
    return " ".join(parts)


def _id_prefix(title: str, panels: Iterable[_Panel]) -> str:
    """Ids unique per curve on a page, and the same on every render of the same history."""
    digest = hashlib.blake2s(title.encode(), digest_size=5)
    for p in panels:
        for s in p.series:
            digest.update(f"{s.name}:{s.length}:{math.fsum(map(itemgetter(1), s.points))!r}|".encode())
    return "curves-" + digest.hexdigest()


def curves_svg(history: Mapping[str, Sequence[float]], *, title: str = "") -> str | None:
    """An accessible inline ``<svg>`` of a Keras history, or None when there is nothing to draw.

    One panel per measure (training and validation together), laid out two
    per row. ``title`` names the chart for screen readers (e.g. "Roll 7,
    agegender: training curves"); the visible panel titles are the measures.
    """
    panels, left_out = _panels(history)
    if not panels:
        return None
    notes = [_notes(p) for p in panels]
    if left_out:
        notes[-1] = [*notes[-1], *_wrap(f"also recorded, not drawn: {', '.join(left_out)}")]
    cols = min(COLUMNS, len(panels))
    rows = [list(range(i, min(i + cols, len(panels)))) for i in range(0, len(panels), cols)]
    row_heights = [
        PANEL_H + NOTE_H * max(len(notes[i]) for i in row) + (10 if any(notes[i] for i in row) else 0) for row in rows
    ]
    width, height = PANEL_W * cols, sum(row_heights)
    prefix = _id_prefix(title, panels)
    name = title or "Training curves: " + ", ".join(p.title for p in panels) + " per epoch"
    desc = " ".join(_describe(p) for p in panels)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="training-curves" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{prefix}-t {prefix}-d" '
        f"font-family=\"system-ui, 'Segoe UI', 'DejaVu Sans', Arial, sans-serif\" font-size=\"11\" "
        f'style="max-width:100%;height:auto">',
        f'<title id="{prefix}-t">{escape(name)}</title>',
        f'<desc id="{prefix}-d">{escape(desc)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    top = 0
    for row, row_height in zip(rows, row_heights):
        for col, i in enumerate(row):
            out.extend(_panel_svg(panels[i], col * PANEL_W, top, notes[i]))
        top += row_height
    out.append("</svg>")
    return "\n".join(out)
