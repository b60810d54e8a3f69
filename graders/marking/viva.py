"""Viva questions drawn from the student's own model, with an answer key.

The examiner asks them in the viva and enters marks (``labgrade override``);
a question the notebook's own text already answers (it states the number)
is marked as auto-answered and earns its share of the Viva column until the
examiner says otherwise.
"""

from __future__ import annotations

import re

from graders.models import VIVA_QUESTIONS, Artifacts, Layer, VivaQuestion
from graders.rubric import Rubric


def _num_forms(n: int) -> list[str]:
    return [f"{n:,}", str(n)]


def _shape(layer: Layer) -> str:
    dims = layer.output_shape[1:]
    return "×".join(str(d) for d in dims) if dims else "?"


def _states(markdown: str, forms: list[str]) -> bool:
    return any(re.search(rf"(?<![\d,.]){re.escape(f)}(?![\d,])", markdown) for f in forms)


def _first(arch: list[Layer], classes: tuple[str, ...]) -> Layer | None:
    return next((layer for layer in arch if layer.class_name in classes), None)


def _param_question(layer: Layer, text: str) -> VivaQuestion:
    n = layer.params
    return VivaQuestion(
        question=f"Your layer '{layer.name}' ({layer.class_name}) has how many parameters? Show the calculation.",
        answer=f"{n:,} (output shape {_shape(layer)})",
        auto_answered=_states(text, _num_forms(n)),
    )


# What an output activation gives, in the words of the key (the student's own layer is the one asked about).
_ACTIVATION_KEYS = {
    "softmax": "a probability for each of the {units} classes, summing to 1 (the predicted class is the largest)",
    "sigmoid": "the probability of the positive class, between 0 and 1 (threshold 0.5)",
    "linear": "an unbounded real number: the predicted value itself (regression)",
    "relu": "a non-negative real number (a regression output that cannot go below 0)",
    "tanh": "a value between -1 and 1 (e.g. scaled colour channels)",
}


def _output_key(rubric: Rubric, layer: Layer) -> str:
    """The key for the student's own output layer, and where it differs from what the task expects."""
    units, act = layer.units, layer.activation or "linear"
    gives = _ACTIVATION_KEYS.get(act, f"'{act}' outputs").format(units=units)
    key = f"{units} unit(s) with '{act}': {gives}."
    wanted = rubric.structure
    expected_units = wanted.output_units is not None and units != wanted.output_units
    expected_act = bool(wanted.output_activation) and act not in wanted.output_activation
    if expected_units or expected_act:
        want = " with ".join(
            x
            for x in (
                f"{wanted.output_units} unit(s)" if wanted.output_units else "",
                " or ".join(wanted.output_activation),
            )
            if x
        )
        key += f" The task expects {want}: ask why this model differs."
    return key


def _candidates(rubric: Rubric, art: Artifacts, text: str) -> list[VivaQuestion]:
    arch = art.architecture
    out: list[VivaQuestion] = []
    if art.total_params:
        out.append(
            VivaQuestion(
                question="How many trainable parameters does your model have in total?",
                answer=f"{art.total_params:,}",
                auto_answered=_states(text, _num_forms(art.total_params)),
            )
        )
    first = _first(arch, ("Conv2D", "Dense", "LSTM", "GRU", "SimpleRNN", "Conv1D"))
    if first:
        out.append(_param_question(first, text))
    pool = _first(arch, ("MaxPooling2D", "AveragePooling2D", "MaxPooling1D"))
    if pool:
        shape = _shape(pool)
        out.append(
            VivaQuestion(
                question=f"What is the output shape after your first pooling layer ('{pool.name}'), and why?",
                answer=shape,
                auto_answered=_states(text, [shape, shape.replace("×", "x"), shape.replace("×", ", ")]),
            )
        )
    last = arch[-1] if arch else None
    if last:
        act = last.activation
        out.append(
            VivaQuestion(
                question=f"Why does your output layer have {last.units} unit(s) with a '{act}' activation?",
                answer=_output_key(rubric, last),
                auto_answered=bool(act)
                and re.search(rf"\b{re.escape(act)}\b", text, re.I) is not None
                and "output" in text.lower(),
            )
        )
    loss = art.compile.get("loss", "")
    if loss:
        key = next((why for name, why in rubric.viva_loss_keys.items() if name in loss.lower()), "")
        out.append(
            VivaQuestion(
                question=f"Why did you train with the loss '{loss}'? What does it measure?",
                answer=key or f"{loss}: explain what it measures and why it fits a {rubric.kind} task",
                auto_answered=bool(key) and loss.replace("_", " ").lower() in text.replace("_", " ").lower(),
            )
        )
    second_dense = [layer for layer in arch if layer.class_name == "Dense"]
    for layer in second_dense[1:2] + arch[1:]:
        if len(out) >= VIVA_QUESTIONS:
            break
        if layer.params and layer is not first:
            out.append(_param_question(layer, text))
    return out


def viva_questions(rubric: Rubric, art: Artifacts) -> list[VivaQuestion]:
    """Up to five questions about this student's own model (none if no model)."""
    text = "\n".join(art.markdown)
    seen: set[str] = set()
    unique = []
    for q in _candidates(rubric, art, text):
        if q.question not in seen:
            seen.add(q.question)
            unique.append(q)
    return unique[:VIVA_QUESTIONS]
