"""Training curves as inline SVG: well-formed, accessible, honest about NaN, fast."""

from __future__ import annotations

import math
import re
import time
import xml.etree.ElementTree as ET

from graders.reports.curves import curves_svg, fmt_value

NS = {"svg": "http://www.w3.org/2000/svg"}
CLASSIFIER = {
    "loss": [0.69, 0.52, 0.41, 0.35],
    "val_loss": [0.70, 0.58, 0.50, 0.48],
    "accuracy": [0.55, 0.71, 0.80, 0.85],
    "val_accuracy": [0.52, 0.66, 0.74, 0.77],
    "lr": [1e-3] * 4,
}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def y_ticks(root: ET.Element) -> list[float]:
    """The y tick labels (right-aligned texts), as numbers."""
    return [float(t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("text-anchor") == "end"]


def test_empty_histories_give_none() -> None:
    assert curves_svg({}) is None
    assert curves_svg({"lr": [0.1, 0.01]}) is None
    assert curves_svg({"loss": []}) is None


def test_panels_legend_and_accessibility() -> None:
    svg = curves_svg(CLASSIFIER, title="Roll 7, fashion: training curves")
    assert svg is not None
    root = parse(svg)
    assert root.get("role") == "img" and root.get("viewBox") == "0 0 680 220"
    title = root.find("svg:title", NS)
    desc = root.find("svg:desc", NS)
    assert title is not None and title.text == "Roll 7, fashion: training curves"
    assert desc is not None and "loss: 4 epochs, from 0.690 at epoch 1 to 0.350 at epoch 4" in (desc.text or "")
    assert "highest 0.850 at epoch 4" in (desc.text or "")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    words = texts(root)
    assert {"Loss", "Accuracy", "training", "validation", "epoch"} <= set(words)
    assert "lr" not in " ".join(words)
    dashed = [p for p in root.iter("{http://www.w3.org/2000/svg}polyline") if p.get("stroke-dasharray")]
    assert len(dashed) == 2  # validation dashed in both panels: readable in black and white
    assert not re.search(r"<script|<style|href=|url\(", svg)


def test_ids_are_stable_and_differ_between_histories() -> None:
    a, b = curves_svg(CLASSIFIER), curves_svg(CLASSIFIER)
    c = curves_svg({**CLASSIFIER, "loss": [0.7, 0.5, 0.4, 0.3]})
    assert a == b
    assert a is not None and c is not None
    assert parse(a).get("aria-labelledby") != parse(c).get("aria-labelledby")


def test_one_epoch_is_a_point_on_a_sensible_axis_with_its_value() -> None:
    svg = curves_svg({"loss": [0.6931], "val_loss": [0.7012], "accuracy": [0.945], "val_accuracy": [0.93]})
    assert svg is not None
    root = parse(svg)
    words = texts(root)
    assert {"0.693", "0.701", "0.945", "0.930"} <= set(words)  # the values are written out
    ticks = y_ticks(root)
    loss_ticks, acc_ticks = ticks[: len(ticks) // 2], ticks[len(ticks) // 2 :]
    assert loss_ticks[0] == 0 and 0.7012 < loss_ticks[-1] <= 1.0
    assert acc_ticks[0] == 0 and acc_ticks[-1] == 1.0  # not a 0.945-1.050 axis
    assert not list(root.iter("{http://www.w3.org/2000/svg}polyline"))
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) >= 2


def test_flat_curve_is_not_magnified() -> None:
    svg = curves_svg({"accuracy": [0.9450, 0.9451, 0.9452]})
    assert svg is not None
    ticks = y_ticks(parse(svg))
    assert ticks[0] == 0 and ticks[-1] == 1.0


def test_nan_and_inf_are_skipped_and_said() -> None:
    history = {
        "loss": [1.0, 0.8, 0.6, math.nan, math.nan],
        "val_loss": [1.1, math.inf, 0.9, 0.8, 0.7],
        "accuracy": [math.nan, math.nan],
    }
    svg = curves_svg(history)
    assert svg is not None
    root = parse(svg)
    words = " ".join(texts(root))
    assert "loss: NaN at epochs 4\u20135, not drawn" in words
    assert "val_loss: inf at epoch 2, not drawn" in words
    assert "accuracy: no finite values (NaN), nothing drawn" in words
    assert "nothing finite to draw" in words
    assert "nan" not in svg.lower().replace("nan at", "").replace("(nan)", "").replace("nan/", "")
    # val_loss's line breaks at the gap: epoch 1 is a lone point, epochs 3-5 a line
    assert len([p for p in root.iter("{http://www.w3.org/2000/svg}polyline")]) == 2


def test_untrusted_names_are_escaped() -> None:
    svg = curves_svg({"<script>alert(1)</script>": [1.0, 2.0]}, title="a & b")
    assert svg is not None
    parse(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_long_runs_and_many_measures() -> None:
    history = {f"out{i}_loss": [1 / (e + 1) for e in range(500)] for i in range(8)}
    svg = curves_svg(history)
    assert svg is not None
    root = parse(svg)
    assert "also recorded, not drawn: out6_loss, out7_loss" in " ".join(texts(root))
    assert {"1", "100", "200", "300", "400", "500"} <= set(texts(root))
    # no markers on 500 epochs: the only circles are the six panels' legend samples
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 6


def test_value_format() -> None:
    assert [fmt_value(v) for v in (0.3, 0.6931, 12.345, 1234.5, 0.00012, 0.0)] == [
        "0.300",
        "0.693",
        "12.3",
        "1,234",
        "1.20e-04",
        "0.00",
    ]


def test_fast_enough_to_draw_on_every_render() -> None:
    history = {
        "loss": [1 / (e + 1) for e in range(50)],
        "val_loss": [1.1 / (e + 1) for e in range(50)],
        "accuracy": [1 - 1 / (e + 2) for e in range(50)],
        "val_accuracy": [1 - 1.2 / (e + 2) for e in range(50)],
    }
    curves_svg(history)
    start = time.perf_counter()
    for _ in range(50):
        curves_svg(history)
    per_history = (time.perf_counter() - start) / 50
    assert per_history < 0.02  # ~0.5 ms measured; generous for loaded CI machines
