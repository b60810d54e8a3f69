"""Experiment 2B's own check: a softmax over the 26 letters (or the manual's 10 digits).

The common structure check asks for Dense layers, a softmax output and a
categorical cross-entropy loss; this one asks that the output have one unit
per class of the data the student chose. Reads JSON artifacts only.
"""

from __future__ import annotations

import pytest

from graders.kit import Artifacts, Award

CLASSES = {26: "letters A-Z (UCI letter recognition)", 10: "digits 0-9 (the manual's MNIST code)"}


@pytest.mark.check("output", title="One softmax unit per class")
def check_output(art: Artifacts, award: Award) -> None:
    """The output layer is a 26-way softmax (letters) or a 10-way softmax (MNIST digits)."""
    award.hint = "End with Dense(26, activation='softmax'): one probability per letter A-Z."
    assert art.architecture, "no Keras model to inspect"
    out = art.architecture[-1]
    units, activation = out.units, out.activation
    assert units in CLASSES, (
        f"output layer has {units} units; the letters need 26 (or 10 for the manual's MNIST digits)"
    )
    assert activation == "softmax", f"output activation '{activation}'; one probability per class needs softmax"
    award.evidence = f"output {units} × softmax: {CLASSES[units]}"
