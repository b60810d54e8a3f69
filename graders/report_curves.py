"""Training-curve pictures for the feedback page (matplotlib, Agg, no pyplot state)."""

from __future__ import annotations

import math
from pathlib import Path

# Not plotted: schedules, not measures of how training went.
_SKIPPED = {"lr", "learning_rate"}


def _series(history: dict[str, list[float]]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Split a Keras history into loss curves and metric curves (accuracy, mae, ...)."""
    losses: dict[str, list[float]] = {}
    metrics: dict[str, list[float]] = {}
    for name, values in sorted(history.items()):
        points = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if name.lower() in _SKIPPED or not any(math.isfinite(v) for v in points):
            continue
        (losses if "loss" in name.lower() else metrics)[name] = points
    return losses, metrics


def write_curves(history: dict[str, list[float]], path: Path) -> Path | None:
    """Draw loss and metric curves per epoch into ``path`` (PNG).

    One panel for the losses (loss, val_loss, ...), one for the other metrics.
    Returns None, and removes a stale picture, when there is nothing to draw.
    """
    losses, metrics = _series(history)
    panels = [(title, series) for title, series in (("Loss", losses), ("Metrics", metrics)) if series]
    if not panels:
        path.unlink(missing_ok=True)
        return None
    # Imported here: matplotlib costs a noticeable start-up time and only this needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(5.2 * len(panels), 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    for axes, (title, series) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
        for name, values in series.items():
            axes.plot(range(1, len(values) + 1), values, marker="o" if len(values) <= 20 else None,
                      markersize=3, linestyle="--" if name.startswith("val_") else "-", label=name)
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
