"""Mini project 3's own check: the network outputs an image of colour channels."""

from __future__ import annotations

import pytest

from graders.kit import Artifacts, Award


@pytest.mark.check("image_output", title="Outputs a colour image")
def check_image_output(art: Artifacts, award: Award) -> None:
    """The last layer's output is an image (height, width, channels) with 2 (a*b*) or 3 (RGB) channels."""
    award.hint = (
        "End the decoder with Conv2D(2, (3, 3), activation='tanh', padding='same') (a*b*) or 3 "
        "channels for RGB, at the input's size."
    )
    assert art.architecture, f"no Keras model to inspect: {art.reason or 'no trained model'}"
    shape = art.architecture[-1].output_shape
    assert len(shape) == 4, f"the output has shape {tuple(shape[1:])}, not an image (height, width, channels)"
    assert shape[-1] in (2, 3), f"the output image has {shape[-1]} channel(s); expected 2 (a*b*) or 3 (RGB)"
    assert "colour_gain" in art.metrics, f"the output could not be compared with the hidden colours: {art.reason}"
    award.evidence = f"output {tuple(shape[1:])}: {'a*b* channels' if shape[-1] == 2 else 'RGB'}"
