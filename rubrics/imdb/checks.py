"""Experiment 2A's own check: the output really is a two-class output.

The common structure check accepts a sigmoid or a softmax output; this one
asks that it be one sigmoid unit with binary cross-entropy, or a 2-way
softmax with (sparse) categorical cross-entropy. Reads JSON artifacts only.
"""

from __future__ import annotations

import pytest

from graders.kit import Artifacts, Award

BINARY_OUTPUTS: dict[tuple[object, object], tuple[str, ...]] = {
    (1, "sigmoid"): ("binary",),
    (2, "softmax"): ("categorical",),
}


@pytest.mark.check("output", title="Two-class output and loss")
def check_output(art: Artifacts, award: Award) -> None:
    """One sigmoid unit with binary cross-entropy, or two softmax units with categorical cross-entropy."""
    award.hint = (
        "End with Dense(1, activation='sigmoid') and loss='binary_crossentropy': a review is positive or negative."
    )
    assert art.architecture, "no Keras model to inspect"
    out = art.architecture[-1]
    units, activation = out.units, out.activation
    losses = BINARY_OUTPUTS.get((units, activation))
    assert losses is not None, (
        f"output layer is {units} × {activation}; a two-class task needs 1 × sigmoid (or 2 × softmax)"
    )
    loss = art.compile.get("loss", "").lower().replace("_", "")
    assert any(name in loss for name in losses), (
        f"loss '{art.compile.get('loss') or 'unknown'}' does not fit a {units} × {activation} output"
    )
    award.evidence = f"output {units} × {activation}, loss {art.compile.get('loss')}"
