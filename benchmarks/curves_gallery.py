"""Draw a gallery of training-curve cases with graders.reports.curves, and time them.

    python benchmarks/curves_gallery.py OUT.html
    chromium --headless --no-sandbox --screenshot=/tmp/curves.png --window-size=1000,2700 file://$PWD/OUT.html

The cases are the ones that have gone wrong before: one epoch, a flat curve,
a run that diverged to NaN, 500 epochs, a multi-output model with more
measures than panels.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import timeit
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from graders.reports.curves import curves_svg


def _decay(rng: random.Random, n: int, a: float, b: float, noise: float) -> list[float]:
    return [a * math.exp(-i / (n / 4)) + b + rng.uniform(-noise, noise) for i in range(n)]


def cases() -> dict[str, Mapping[str, Sequence[float]]]:
    """Named histories, the same on every run."""
    rng = random.Random(3)
    nan, inf = float("nan"), float("inf")
    return {
        "10 epochs, classification": {
            "loss": _decay(rng, 10, 0.5, 0.2, 0.01),
            "val_loss": _decay(rng, 10, 0.45, 0.28, 0.01),
            "accuracy": [1 - x for x in _decay(rng, 10, 0.35, 0.1, 0.01)],
            "val_accuracy": [1 - x for x in _decay(rng, 10, 0.3, 0.15, 0.01)],
            "lr": [0.001] * 10,
        },
        "one epoch": {"loss": [0.6931], "accuracy": [0.945], "val_loss": [0.7012], "val_accuracy": [0.93]},
        "NaN from epoch 7 (diverged)": {
            "loss": _decay(rng, 6, 1.0, 0.3, 0.01) + [nan] * 4,
            "val_loss": _decay(rng, 6, 1.0, 0.4, 0.01) + [inf, nan, nan, nan],
        },
        "500 epochs, regression": {
            "loss": _decay(rng, 500, 900, 40, 8),
            "val_loss": _decay(rng, 500, 900, 60, 15),
            "mae": _decay(rng, 500, 20, 4, 0.3),
            "val_mae": _decay(rng, 500, 20, 5, 0.6),
        },
        "multi-output, more measures than panels": {
            **{
                f"{k}_output_loss": [1 / (e + 1) + i for e in range(30)]
                for i, k in enumerate(["age", "gender", "race"])
            },
            "loss": [3 / (e + 1) for e in range(30)],
            "val_loss": [3.2 / (e + 1) for e in range(30)],
            "age_output_mae": [9 / (e + 1) + 3 for e in range(30)],
            "gender_output_accuracy": [0.9 - 0.3 / (e + 1) for e in range(30)],
            "race_output_accuracy": [0.7 - 0.3 / (e + 1) for e in range(30)],
        },
        "flat accuracy, val_loss all NaN": {
            "loss": [0.30, 0.301, 0.2995],
            "val_loss": [nan] * 3,
            "accuracy": [0.9450, 0.9451, 0.9452],
        },
    }


def main(argv: list[str]) -> int:
    """Write the gallery page and print the time per history."""
    out = Path(argv[1] if len(argv) > 1 else "curves_gallery.html")
    parts = [
        "<!doctype html><meta charset=utf-8><title>training curves</title>",
        "<body style='font-family:sans-serif;margin:16px;max-width:1100px'>",
    ]
    for name, history in cases().items():
        parts.append(f"<h3>{escape(name)}</h3>{curves_svg(history, title=name)}")
        runs = [t / 100 for t in timeit.repeat(lambda h=history: curves_svg(h), number=100, repeat=5)]
        print(f"{name}: best {min(runs) * 1e3:.2f} ms, median {statistics.median(runs) * 1e3:.2f} ms per history")
    out.write_text("\n".join(parts) + "</body>\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
