"""Checks every experiment shares. Each reads JSON artifacts only.

Points per check id come from the experiment's rubric.toml ``[points]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from graders.marking.checks.plugin import Award
from graders.marking.writeups.match import answer_sources, evidence
from graders.models import COMPONENT_MAX, Artifacts, FitRecord, Status
from graders.reports.sheet import format_metric
from graders.rubric import Band, ProfileSpec, Rubric


def _reference(art: Artifacts, name: str) -> float | None:
    value = art.targets.metrics.get(name)
    return float(value) if value is not None else None


@pytest.mark.check("runs", title="Runs end to end")
def check_runs(art: Artifacts, award: Award) -> None:
    """The notebook runs from the first cell to the last without an error."""
    award.hint = "Restart the kernel and run all cells before handing in; fix the first error shown."
    assert art.status.ran, f"did not run to the end: {art.reason}"
    award.evidence = f"ran to the end ({art.status.value})"
    drift = [a.detail for a in art.adaptations if a.kind == "ran_past_error"]
    if drift:  # the grader ran on past an error the saved outputs show the student ran past too: half the point
        award.fraction = 0.5
        award.evidence = f"ran to the end only past an error: {drift[0]}"


@dataclass(frozen=True)
class MetricOutcome:
    """Where the trusted metric lands against the calibrated reference (shared by the checks that depend on it)."""

    value: float | None
    reference: float | None
    band: Band | None  # the tightest band met; None when none is (or nothing was measured)
    evidence: str  # what the metric check says
    improving: str  # a cut fit still improving at the budget, in words ("" when not)

    @property
    def inconclusive(self) -> bool:
        """A cut fit still improving, short of the top band: the cap, not the model, may be why."""
        return bool(self.improving) and self.value is not None and (self.band is None or self.band.fraction < 1)

    @property
    def reaches_a_band(self) -> bool:
        """The model earns at least the metric's lowest band."""
        return self.band is not None


def metric_outcome(art: Artifacts, rubric: Rubric) -> MetricOutcome:
    """The metric's band, its evidence, and whether a budget cut leaves it undecided."""
    rule = rubric.metric
    label = rule.label or rule.name
    value = art.metrics.get(rule.name)
    reference = _reference(art, rule.name)
    variant = f" ({art.targets.variant})" if art.targets.variant else ""
    improving = still_improving(art, rubric)
    if value is None:
        return MetricOutcome(
            None, reference, None, f"no {label} measured: {art.reason or 'no trained model was evaluated'}", improving
        )
    if reference is None:
        return MetricOutcome(value, None, None, f"no calibrated reference {label} for the {art.profile} profile", "")
    op = "≥" if rule.higher_is_better else "≤"
    for band in rule.bands:
        threshold = rule.target(reference, band)
        if rule.meets(value, threshold):
            sign = "−" if rule.higher_is_better else "+"
            margin = f"{band.margin:g}" if rule.margin_kind == "absolute" else f"{band.margin:.0%}"
            evidence = (
                f"{label} {format_metric(value)}, target {op} {format_metric(threshold)} = reference "
                f"{format_metric(reference)} {sign} {margin}{variant}"
            )
            return MetricOutcome(value, reference, band, evidence, improving)
    loosest = rule.target(reference, rule.bands[-1])
    evidence = (
        f"{label} {format_metric(value)}, target {op} {format_metric(loosest)} "
        f"(reference {format_metric(reference)}{variant})"
    )
    return MetricOutcome(value, reference, None, evidence, improving)


# A cut fit that falls slower than ``improving_rate`` per fifth is still learning when its fall is steady: it
# fell from every fifth of its epochs to the next, by at least LEARNT in all (so it learns at all, beyond the
# float noise of a flat curve), and its last fifth fell at STEADY_PACE or more of its average pace since the
# first fifth (a curve bending towards a plateau falls far slower at the end than on average; a slow learner,
# plain SGD with a small learning rate, falls at much the same pace throughout).
STEADY_PACE = 1 / 3
LEARNT = 0.005


@dataclass(frozen=True)
class LossTrend:
    """The shape of a fit's own training loss, read in fifths of its epochs (the last five blocks of k)."""

    means: tuple[float, ...]  # each block's mean loss, first to last
    k: int  # epochs per block

    @classmethod
    def of(cls, losses: list[float]) -> LossTrend | None:
        """None when there is no trend to read (under two epochs, or a loss that is not a finite number)."""
        n = len(losses)
        if n < 2 or not all(math.isfinite(v) for v in losses):
            return None
        k = max(1, n // 5)
        blocks = [losses[n - (i + 1) * k : n - i * k] for i in range(min(5, n // k))][::-1]
        return cls(tuple(sum(b) / len(b) for b in blocks), k)

    @property
    def fall(self) -> float:
        """The last block's fall below the one before, as a share of it."""
        before, last = self.means[-2], self.means[-1]
        return (before - last) / before if before > 0 else 0.0

    @property
    def learnt(self) -> float:
        """The whole fall from the first block to the last, as a share of the first."""
        first, last = self.means[0], self.means[-1]
        return (first - last) / first if first > 0 else 0.0

    @property
    def pace(self) -> float:
        """The last block's fall per epoch against the average fall per epoch since the first block."""
        travelled = self.means[0] - self.means[-1]
        return (self.means[-2] - self.means[-1]) * (len(self.means) - 1) / travelled if travelled > 0 else 0.0

    @property
    def steady(self) -> bool:
        """Still learning at a steady pace: a fall in every block, LEARNT in all, the last at STEADY_PACE or more."""
        falling = all(b < a for a, b in zip(self.means, self.means[1:], strict=False))
        return falling and self.learnt >= LEARNT and self.pace >= STEADY_PACE

    def words(self) -> str:
        """The last block's fall and the pace, in numbers."""
        span = f"{self.k} epoch(s)" if len(self.means) == 5 else "epoch"
        return (
            f"{self.means[-2]:.4g} → {self.means[-1]:.4g} ({self.fall:.1%}) over its last {span}, "
            f"{self.means[0]:.4g} → {self.means[-1]:.4g} ({self.learnt:.0%}) from its first {span} to its last, "
            f"the last at {self.pace:.0%} of its average pace"
        )


def still_improving(art: Artifacts, rubric: Rubric) -> str:
    """The evidence that the model's fit was cut by the profile's budget while it was still learning ("" if not).

    The last fit() trained the model that was scored; its own training history decides, read in fifths of its
    epochs: still learning when its mean loss over the last fifth fell more than the profile's ``improving_rate``
    below the fifth before, or fell steadily (:attr:`LossTrend.steady`); a loss that levelled off, however high,
    is settled and the metric decided.
    """
    profile, fit, trend = _cut_trend(art, rubric)
    if profile is None or fit is None or trend is None:
        return ""
    if trend.fall > profile.improving_rate:
        why = f"more than the {profile.improving_rate:.0%} a fifth that counts as settled"
    elif trend.steady:
        why = (
            f"slower than {profile.improving_rate:.0%} a fifth but steady, falling in every fifth and not bending "
            f"towards a plateau ({STEADY_PACE:.0%} of its average pace or more)"
        )
    else:
        return ""
    return f"{_cut_words(art, fit)}, and its training loss was still falling at the cut: {trend.words()}: {why}"


def settled_at_cut(art: Artifacts, rubric: Rubric) -> str:
    """For a cut fit that was not still learning: the evidence that its loss had levelled off ("" if uncut)."""
    profile, fit, trend = _cut_trend(art, rubric)
    if profile is None or fit is None:
        return ""
    if trend is None and len(fit.losses) < 2:
        return f"{_cut_words(art, fit)}; its history has too few epochs to show a trend"
    if trend is None:
        return f"{_cut_words(art, fit)}; its training loss is not a finite number (it diverged)"
    return (
        f"{_cut_words(art, fit)}, but its training loss had levelled off: {trend.words()} "
        f"(still learning would be a fall of more than {profile.improving_rate:.0%} a fifth, or a steady one: in "
        f"every fifth, and the last at {STEADY_PACE:.0%} or more of its average pace)"
    )


def _cut_trend(art: Artifacts, rubric: Rubric) -> tuple[ProfileSpec | None, FitRecord | None, LossTrend | None]:
    profile = rubric.profiles.get(art.profile)
    fit = art.fits[-1] if art.fits else None
    if profile is None or fit is None or not fit.cut:
        return None, None, None
    return profile, fit, LossTrend.of(fit.losses)


def _cut_words(art: Artifacts, fit: FitRecord) -> str:
    asked = f"{fit.updates_asked:,}" if fit.updates_asked is not None else "more"
    return f"the {art.profile} profile cut fit() to {fit.updates or 0:,} of the {asked} updates it asked for"


def _predicted(outcome: MetricOutcome) -> str:
    if outcome.band is None:
        return "below the lowest band so far"
    return f"{outcome.band.fraction:.0%} of the metric points so far, at least"


@pytest.mark.check("metric", title="Model quality on the hidden test set")
def check_metric(art: Artifacts, rubric: Rubric, award: Award) -> None:
    """The trusted metric meets the target set relative to the calibrated reference."""
    rule = rubric.metric
    label = rule.label or rule.name
    award.hint = f"Improve {label}: compare your preprocessing, architecture and epochs with the manual's."
    outcome = metric_outcome(art, rubric)
    if outcome.inconclusive:
        award.inconclusive = True
        award.hint = (
            "Inconclusive: the quick profile's training budget cut your fit while it was still learning. Nothing to "
            "fix for that: the graded run is repeated without the budget before these marks are given."
        )
        award.evidence = (
            f"inconclusive: {outcome.evidence}; predicted {_predicted(outcome)}, but {outcome.improving}; "
            "pending until the run is repeated without the budget"
        )
        return
    settled = settled_at_cut(art, rubric) if outcome.band is None or outcome.band.fraction < 1 else ""
    evidence = f"{outcome.evidence}; {settled}" if settled and outcome.value is not None else outcome.evidence
    assert outcome.band is not None, evidence
    award.fraction = outcome.band.fraction
    award.evidence = evidence


def _needs_a_band(art: Artifacts, rubric: Rubric, award: Award, what: str) -> bool:
    """The efficiency and "numbers match" half-marks go only to a model that reaches the metric's lowest band.

    True when the check may go on; an inconclusive metric leaves the check inconclusive (pending) too; a model
    below every band fails it, with the reason on the sheet.
    """
    outcome = metric_outcome(art, rubric)
    if outcome.inconclusive:
        award.inconclusive = True
        award.evidence = f"inconclusive with the metric: {what} is marked once the metric is decided"
        return False
    assert outcome.band is not None, (
        f"{what} is marked only for a model that reaches the metric's lowest band ({outcome.evidence})"
    )
    return True


@pytest.mark.check("structure", title="Required network structure")
def check_structure(art: Artifacts, rubric: Rubric, award: Award) -> None:
    """The model has the layers, output and loss the experiment asks for."""
    spec = rubric.structure
    award.hint = spec.describe
    if not art.architecture:
        why = (
            f"a scikit-learn {', '.join(art.sklearn_estimators)} is not a deep network"
            if art.sklearn_estimators
            else "no Keras model to inspect"
        )
        raise AssertionError(why)
    classes = {layer.class_name for layer in art.architecture}
    for required in spec.required_layers:
        options = required.split("|")
        assert classes & set(options), f"no {' or '.join(options)} layer (layers: {', '.join(sorted(classes))})"
    out = art.architecture[-1]
    if spec.output_units is not None:
        assert out.units == spec.output_units, f"output layer has {out.units} units, expected {spec.output_units}"
    if spec.output_activation:
        assert out.activation in spec.output_activation, (
            f"output activation '{out.activation}', expected {' or '.join(spec.output_activation)}"
        )
    loss = compiled_loss(art)
    if spec.losses:
        assert any(name in loss for name in spec.losses), (
            f"loss '{loss or 'unknown'}', expected {' or '.join(spec.losses)}"
        )
    award.evidence = f"{len(art.architecture)} layers, output {out.units} × {out.activation}, loss {loss or 'n/a'}"


def compiled_loss(art: Artifacts) -> str:
    """The loss the model was compiled with, by name, however it was spelt.

    The saved file names a string loss; a function object (``loss=losses.binary_crossentropy``) is saved as
    ``function``, and a ``Loss`` object by its class: the kernel's record of the fit names the function either way.
    """
    saved = str(art.compile.get("loss", "") or "").lower()
    recorded = next((f.loss for f in reversed(art.fits) if f.loss), "").lower()
    if recorded and (not saved or saved in ("function", "lossfunctionwrapper") or saved.startswith("<")):
        return recorded
    return saved or recorded


@pytest.mark.check("efficiency", title="Efficiency against the reference")
def check_efficiency(art: Artifacts, rubric: Rubric, award: Award) -> None:
    """Parameters and training time stay within the rubric's multiples of the reference, for a model that learns."""
    award.hint = "A far bigger model or far longer training than the reference is not better engineering."
    if not _needs_a_band(art, rubric, award, "efficiency"):
        return
    ref_params = art.targets.total_params
    assert art.total_params > 0, "no model to measure"
    max_params = rubric.efficiency.get("max_params_ratio", 5.0) * ref_params
    assert not ref_params or art.total_params <= max_params, (
        f"{art.total_params:,} parameters, over {max_params:,.0f} (reference {ref_params:,})"
    )
    # Training cost in CPU seconds: unlike wall-clock time it does not grow when other jobs share the host,
    # so a submission earns the same mark alone or in a busy batch. Targets calibrated before CPU time was
    # recorded fall back to wall-clock seconds. A floor of slack keeps short runs fair.
    unit, spent, ref_seconds = "CPU s", art.train_cpu_seconds, art.targets.train_cpu_seconds
    if not ref_seconds or not spent:
        unit, spent, ref_seconds = "s", art.train_seconds, art.targets.train_seconds
    max_seconds = max(
        rubric.efficiency.get("max_seconds_ratio", 4.0) * ref_seconds,
        ref_seconds + rubric.efficiency.get("seconds_slack", 20.0),
    )
    assert not ref_seconds or spent <= max_seconds, (
        f"trained for {spent:.1f} {unit}, over {max_seconds:.1f} {unit} (reference {ref_seconds:.1f} {unit})"
    )
    award.evidence = (
        f"{art.total_params:,} parameters (reference {ref_params:,}), trained {spent:.1f} {unit} "
        f"(reference {ref_seconds:.1f} {unit})"
    )


@pytest.mark.check("honest", title="Reported numbers match the measured ones")
def check_honest(art: Artifacts, rubric: Rubric, award: Award) -> None:
    """What the notebook printed is not far better than what the harness measured, for a model that learns."""
    award.hint = "Report the numbers your model really achieves."
    name = rubric.metric.name
    printed, measured = art.printed.get(name), art.metrics.get(name)
    assert measured is not None, "nothing measured to compare with"
    if printed is not None:  # a printed number far better than the truth fails first, whatever the band
        slack = 0.05 if rubric.metric.margin_kind == "absolute" else 0.5 * abs(measured)
        better = printed - measured if rubric.metric.higher_is_better else measured - printed
        assert better <= slack, (
            f"printed {name} {format_metric(printed)}, but the model measures {format_metric(measured)} on the hidden "
            f"test set{_own_split_words(art, name, printed)}"
        )
    if not _needs_a_band(art, rubric, award, "whether the printed numbers match"):
        return
    if printed is None:
        award.evidence = f"no {name} printed; measured {format_metric(measured)}"
        return
    award.evidence = f"printed {format_metric(printed)}, measured {format_metric(measured)}"


def _own_split_words(art: Artifacts, name: str, printed: float) -> str:
    """What the model measures on the notebook's own test rows, when the trusted evaluator reproduced them."""
    own = art.evaluation.own_split if art.evaluation is not None else None
    value = own.metrics.get(name) if own is not None and own.reproduced else None
    if own is None or value is None:
        return ""
    if abs(value - printed) <= 0.01 * max(abs(printed), 1.0):
        return (
            f"; on the notebook's own {own.rows:,} test rows it measures {format_metric(value)}, "
            "as printed: the gap is in "
            f"how the hidden set differs or generalisation, not in the numbers"
        )
    return f"; on the notebook's own {own.rows:,} test rows it measures {format_metric(value)}"


@pytest.mark.check("answer", title="Assignment question answered")
def check_answer(art: Artifacts, rubric: Rubric, award: Award, question_index: int) -> None:
    """The notebook's markdown or a write-up handed in beside it answers the question and covers the key's ideas."""
    question = rubric.questions[question_index]
    award.hint = (
        f"Answer in a markdown cell under the question, or in a write-up beside the notebook "
        f"(.docx, .pdf, .md, .txt): {question.text}"
    )
    source = answer_sources(art, rubric)[question_index]
    assert source.found, evidence(source, question)
    assert source.score.fraction > 0, f"{evidence(source, question)} ({source.score.words} words)"
    award.fraction = source.score.fraction
    award.evidence = evidence(source, question)


@pytest.mark.check("viva", title="Viva question", hidden=True)
def check_viva(art: Artifacts, award: Award, viva_index: int) -> None:
    """A suggestion for the examiner: a viva question the notebook's own text already answers.

    The viva column stays pending until an examiner marks it (unless the course counts these
    suggestions); the question's key is on the examiner's viva sheet only, never in this evidence.
    """
    award.hint = "The examiner asks this in the viva and enters the marks."
    assert viva_index < len(art.viva), "no viva question (no model to ask about)"
    q = art.viva[viva_index]
    assert q.auto_answered, f"viva question {viva_index + 1}: for the examiner to ask"
    award.evidence = f"viva question {viva_index + 1}: the notebook's text states the answer (suggested mark)"


@pytest.mark.check("timely", title="Handed in on time")
def check_timely(art: Artifacts, award: Award) -> None:
    """Submission time against the due date, under the course's late policy."""
    assert art.status is not Status.missing and art.submitted_at is not None, "nothing handed in"
    if art.due is None:
        award.evidence = "no due date set"
        return
    policy = art.late_policy
    late_hours = (art.submitted_at - art.due).total_seconds() / 3600 - policy.grace_hours
    if late_hours <= 0:
        award.evidence = f"handed in {art.submitted_at:%Y-%m-%d %H:%M}, due {art.due:%Y-%m-%d %H:%M}"
        return
    days = math.ceil(late_hours / 24)
    marks = max(policy.min_marks, COMPONENT_MAX - days * policy.marks_lost_per_day)
    award.fraction = marks / COMPONENT_MAX
    award.evidence = f"{days} day(s) late: handed in {art.submitted_at:%Y-%m-%d %H:%M}, due {art.due:%Y-%m-%d %H:%M}"
    assert marks > 0, award.evidence
