"""Mini project 2's own checks: the age error and the two output heads.

The gender accuracy is the rubric's metric (common ``metric`` check); these
read the evaluator's ``mae`` / ``mae_baseline`` / ``heads`` metrics.
"""

from __future__ import annotations

import pytest

from graders.kit import Artifacts, Award

# Age MAE within these relative margins of the reference's earns these shares.
AGE_BANDS = ((0.15, 1.0), (0.35, 0.75), (0.70, 0.5))


@pytest.mark.check("age", title="Age error (MAE in years) on the hidden photos")
def check_age(art: Artifacts, award: Award) -> None:
    """The age head's mean absolute error, relative to the calibrated reference; it must beat guessing the mean age."""
    award.hint = (
        "Train the age head as a regression (one linear unit, MSE/MAE loss) on scaled ages, "
        "and map predictions back to years."
    )
    mae, baseline = art.metrics.get("mae"), art.metrics.get("mae_baseline")
    reference = art.targets.metrics.get("mae")
    assert mae is not None and baseline is not None, (
        f"no age error measured: {art.reason or 'no trained model was evaluated'}"
    )
    assert reference is not None, f"no calibrated reference age MAE for the {art.profile} profile"
    assert mae < baseline, (
        f"age MAE {mae:.2f} years is no better than always guessing the mean age ({baseline:.2f} years)"
    )
    for margin, fraction in AGE_BANDS:
        if mae <= reference * (1 + margin):
            award.fraction = fraction
            award.evidence = (
                f"age MAE {mae:.2f} years, target ≤ {reference * (1 + margin):.2f} = reference "
                f"{reference:.2f} + {margin:.0%} (guessing the mean: {baseline:.2f})"
            )
            return
    award.fraction = 0.25
    award.evidence = (
        f"age MAE {mae:.2f} years beats guessing the mean ({baseline:.2f}) but is far from the "
        f"reference {reference:.2f}"
    )


@pytest.mark.check("heads", title="Two outputs: a gender head and an age head")
def check_heads(art: Artifacts, award: Award) -> None:
    """The model has separate gender (sigmoid/softmax) and age (linear) outputs."""
    award.hint = (
        "Use the functional API: a shared CNN with two Dense outputs, gender (1 unit, sigmoid) "
        "and age (1 unit, linear)."
    )
    heads = art.metrics.get("heads")
    assert heads is not None, f"no model evaluated: {art.reason or 'no trained model'}"
    assert heads >= 2, (
        "one combined output (like the manual's Dense(2)): gender and age need their own heads, activations and losses"
    )
    award.evidence = f"{int(heads)} outputs: a gender probability and an age value"
