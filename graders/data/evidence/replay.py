"""Replaying a notebook's evidence on one variant: the student's own read call on that copy, then the saved
expressions' renderings, compared with what the notebook saved."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from graders.data.evidence.model import Observation, ReadCall, Step, Unknown, strip_html
from graders.data.variants import CourseFile, VariantSpec, student_bytes


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pandas' parser and dtype warnings are part of what a student saw, not failures of the matcher."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pd.option_context("display.max_columns", 20, "display.max_rows", 60, "display.width", 80):
            yield


def _read_options(kwargs: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The student's literal read options, as pandas 3 takes them."""
    opts = {k: _thaw(v) for k, v in kwargs if not isinstance(v, Unknown)}
    if opts.pop("delim_whitespace", False):
        opts["sep"] = r"\s+"  # removed from pandas 3; the harness's runtime reads it this way too
    if opts.get("skipfooter"):
        opts["engine"] = "python"
    return opts


@lru_cache(maxsize=256)
def _simulated(course_json: str, folder: str, variant_id: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    course = CourseFile.model_validate_json(course_json).model_copy(update={"folder": Path(folder)})
    data = student_bytes(course, variant_id)
    with _quiet():
        try:
            frame = pd.read_csv(io.BytesIO(data), **_read_options(kwargs))
        except Exception:  # noqa: BLE001 - the student's read fails on this copy: that is evidence
            return None
    return frame if isinstance(frame, pd.DataFrame) else None


def simulate_read(course: CourseFile, spec: VariantSpec, read: ReadCall | None) -> pd.DataFrame | None:
    """The frame the student's read call gives on their copy ``spec`` (None: the read raises)."""
    kwargs = _hashable(tuple((k, v) for k, v in (read.kwargs if read else ()) if not isinstance(v, Unknown)))
    try:
        hash(kwargs)
    except TypeError:  # e.g. a dict of dtypes: read without the options that cannot be cached
        kwargs = tuple((k, v) for k, v in kwargs if isinstance(v, (str, int, float, bool, type(None), tuple)))
    frame = _simulated(course.model_dump_json(), str(course.folder), spec.id, kwargs)
    return None if frame is None else frame.copy()


def _hashable(kwargs: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    def freeze(v: Any) -> Any:
        return tuple(freeze(x) for x in v) if isinstance(v, (list, tuple)) else v

    return tuple((k, freeze(v)) for k, v in kwargs)


def _thaw(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _apply(obj: Any, steps: tuple[Step, ...]) -> Any:
    """Interpret a whitelisted chain of pandas steps (never the notebook's code itself)."""
    for step in steps:
        if step[0] == "attr":
            obj = getattr(obj, step[1])
        elif step[0] == "item":
            key = step[1]
            if isinstance(key, Unknown):
                raise LookupError("a computed key")
            obj = obj[_thaw(key)]
        elif step[0] == "len":
            obj = len(obj)
        elif step[0] == "cols":
            obj = obj.copy()
            obj.columns = list(step[1])
        elif step[0] == "call":
            args = [_thaw(a) for a in step[2]]
            kwargs = {k: _thaw(v) for k, v in step[3]}
            if any(isinstance(a, Unknown) for a in args + list(kwargs.values())):
                raise LookupError("a computed argument")
            if step[1] == "info":
                buf = io.StringIO()
                obj.info(*args, **kwargs, buf=buf)
                obj = _Printed(buf.getvalue())
            else:
                obj = getattr(obj, step[1])(*args, **kwargs)
    return obj


@dataclass(frozen=True)
class _Printed:
    """What an expression printed (``df.info()``)."""

    text: str


def _render(value: Any, kind: str) -> str:
    if isinstance(value, _Printed):
        return value.text
    if kind == "stream":
        return f"{value}\n"
    if kind == "text/html" and hasattr(value, "_repr_html_") and isinstance(value, pd.DataFrame):
        return str(value._repr_html_())
    return repr(value)


def _tokens(text: str, kind: str) -> Counter[str]:
    if kind == "text/html" and "<t" in text:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", text, re.S)
        tail = re.findall(r"<p>(.*?)</p>", text, re.S)
        return Counter([strip_html(c) for c in cells] + [strip_html(t) for t in tail])
    return Counter(t for t in text.split() if t not in ("...", "\\", "…"))


def similarity(saved: str, rendered: str, kind: str) -> float:
    """How alike two outputs are: the Dice overlap of their tokens (table cells, or words), 0..1."""
    a, b = _tokens(saved, kind), _tokens(rendered, kind)
    total = sum(a.values()) + sum(b.values())
    return 2.0 * sum((a & b).values()) / total if total else 0.0


def replay(frame: pd.DataFrame | None, obs: Observation) -> str | None:
    """What the observation's expressions would have shown on ``frame`` (None when they fail on it)."""
    if frame is None:
        return None
    out = []
    with _quiet():
        for history, chain in obs.parts:
            try:
                value: Any = frame
                for steps in history:
                    value = _apply(value, steps)
                out.append(_render(_apply(value, chain), obs.kind))
            except Exception:  # noqa: BLE001 - the student's expression fails on this copy
                return None
    return "".join(out)
