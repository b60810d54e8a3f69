"""Scoring every declared variant against a notebook's evidence and choosing the one to serve, with a reason."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from graders.data.evidence.model import Evidence
from graders.data.evidence.progress import FitRows, fit_rows
from graders.data.evidence.reads import notebook_reads
from graders.data.evidence.replay import replay, similarity, simulate_read
from graders.data.variants import CourseFile, VariantSpec, hidden_lines

OUTPUT_WEIGHT = 100.0  # one saved output reproduced exactly outweighs any amount of code heuristics
SHARPNESS = 32  # similarity ** SHARPNESS: an output 1 % off scores 28 % less, more than code can ever add
CODE_CAP = 4.0
ROWS_FIT, ROWS_FLOOR = 2.0, -6.0  # the rows a saved fit trained on: one fitting copy, or far too many/few rows


@dataclass(frozen=True)
class Choice:
    """The variant served for one read, and why."""

    file: str  # the read name, as the notebook writes it
    course_file: str  # the course file (canonical name) the variant belongs to
    variant: str
    label: str
    reason: str
    score: float
    decided_by: str  # "outputs", "code", "own name", "rows", "content", "name" or "default"


@dataclass
class _Score:
    course: CourseFile
    spec: VariantSpec
    outputs: float = 0.0
    code: float = 0.0
    role: float = 0.0
    prior: int = 0  # how many students shipped this copy under the read's own name (when one copy leads)
    rows: float = 0.0
    rows_note: str = ""
    hits: int = 0
    misses: int = 0
    exact: list[str] = field(default_factory=list)
    close: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def code_score(self) -> float:
        """What the code and the read name alone say (capped: they never outweigh one reproduced output)."""
        return max(-CODE_CAP, min(CODE_CAP, self.code)) + self.role

    @property
    def total(self) -> float:
        return self.outputs + self.code_score + self.rows

    def key(self) -> tuple[float, int, bool, bool, int]:
        """Best first: score, the copy most students shipped under the read's name, the canonical copy, a format
        over the canonical rows, how common."""
        canonical = self.spec.id == self.course.canonical_variant
        return (round(self.total, 6), self.prior, canonical, self.spec.source == "canonical", self.spec.repos)


def _norm(name: str) -> str:
    base = re.split(r"[\\/]", name)[-1]
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\s*\(\d+\)(?=\.[^.]+$)", "", base.lower()))


def _numeric(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


GROUPED = re.compile(r"^-?\d{1,3}(,\d{2,3})+(\.\d+)?$")


def _text_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Columns read as text because of a header line read as data, and columns of grouped numbers."""
    header_as_data, grouped = [], []
    for col in frame.columns:
        values = frame[col].dropna()
        if (
            values.empty
            or pd.api.types.is_numeric_dtype(frame[col])
            or not (frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]))
        ):
            continue
        bad = sum(1 for v in values.head(400) if not _numeric(v))
        if 0 < bad <= 2 and len(values) > 10:
            header_as_data.append(str(col))
        if any(isinstance(v, str) and GROUPED.match(v) for v in values.head(5000)):
            grouped.append(str(col))
    return header_as_data, grouped


UNSPLIT = re.compile(r"\S[,;\t ]\S")


def _unsplit(frame: pd.DataFrame) -> bool:
    """A read that left every line whole: one text column whose values still hold separators (a comma-separated
    copy read with whitespace as the separator, say)."""
    if frame.shape[1] != 1 or len(frame) < 2:
        return False
    values = frame.iloc[:, 0].dropna().head(200)
    if values.empty or pd.api.types.is_numeric_dtype(values):
        return False
    return sum(1 for v in values if isinstance(v, str) and UNSPLIT.search(v)) > len(values) // 2


def _case(names: list[str]) -> str | None:
    """ "upper" or "lower" when most of the names with letters are spelled that way."""
    words = [n for n in names if any(c.isalpha() for c in n)]
    upper = sum(1 for n in words if n == n.upper())
    lower = sum(1 for n in words if n == n.lower())
    if not words or upper == lower:
        return None
    return "upper" if upper > lower else "lower"


def _score_code(score: _Score, ev: Evidence, frame: pd.DataFrame | None) -> None:
    """Code heuristics: KeyErrors, NA left in, a header read as data, thousands separators read as text."""
    if frame is None:
        score.code -= 3.0
        score.notes.append("the notebook's read call fails on it")
        return
    cols = {str(c) for c in frame.columns}
    keys = [k for k in ev.columns_used if k not in ev.assigned_columns]
    hits, misses = [k for k in keys if k in cols], [k for k in keys if k not in cols]
    score.hits, score.misses = len(hits), len(misses)
    score.code += 0.5 * len(hits) - 1.0 * len(misses)
    if misses:
        score.notes.append(f"has no {', '.join(map(repr, misses[:4]))}")
    has_na = bool(frame.isna().to_numpy().any())
    if has_na and not ev.handles_na:
        score.code -= 1.5
        score.notes.append("has NA cells the code never handles")
    elif has_na and ev.handles_na and len(frame.dropna()) == 0:
        score.code -= 2.0
        score.notes.append("dropna() leaves no rows")
    if _case(keys) is not None and _case(list(cols)) == _case(keys):
        score.code += 0.25  # code spelling MEDV upper-case was most likely written against an upper-case header
    if _unsplit(frame):
        score.code -= 3.0
        score.notes.append("the read leaves each line one text field (its separator does not split this copy)")
    header_as_data, grouped = _text_columns(frame)
    if header_as_data:
        score.code -= min(3.0, 0.5 * len(header_as_data))
        score.notes.append("the read takes a header line as data")
    used_grouped = [g for g in grouped if g in keys]
    if grouped and ev.handles_thousands:
        score.code += 0.5
    elif used_grouped:
        score.code -= 0.75 * len(used_grouped)
        score.notes.append(f"{', '.join(used_grouped)} would read as text (thousands separators)")


def _score_outputs(score: _Score, ev: Evidence, frame: pd.DataFrame | None) -> None:
    for obs in ev.observations:
        rendered = replay(frame, obs)
        sim = similarity(obs.text, rendered, obs.kind) if rendered is not None else 0.0
        score.outputs += OUTPUT_WEIGHT * sim**SHARPNESS * (0.3 if obs.opaque else 1.0)
        label = f"{obs.expr} (cell {obs.cell})"
        if sim >= 0.999:
            score.exact.append(label)
        elif sim >= 0.8:
            score.close.append(f"{label}, similarity {sim:.2f}")


def _base(name: str) -> str:
    return re.split(r"[\\/]", name)[-1]


def _priors(scores: list[_Score], name: str) -> None:
    """The copy most students shipped under this very name (case and all, else loosely) leads ties; none if tied."""
    for same in (lambda n: n == _base(name), lambda n: _norm(n) == _norm(name)):
        named = {id(s): s.spec.repos for s in scores if any(same(n) for n in s.spec.names)}
        if named:
            top = max(named.values())
            if list(named.values()).count(top) == 1:
                for s in scores:
                    s.prior = top if named.get(id(s)) == top else 0
            return


def _candidates(course_files: Sequence[CourseFile], ev: Evidence) -> list[_Score]:
    archive = ev.read is not None and ev.read.func == "archive"
    name = _norm(ev.read.name) if ev.read else ""
    out = []
    for course in course_files:
        role = 1.0 if name and name in {_norm(n) for n in course.read_names} else 0.0
        out += [_Score(course, spec, role=role) for spec in course.variants if (spec.archive is not None) == archive]
    if ev.read is not None:
        _priors(out, ev.read.name)
    return out


def _score_rows(score: _Score, fit: FitRows, frame: pd.DataFrame | None) -> None:
    """A copy the saved fit's rows fit (a few to all of its rows trained on) against one far off."""
    if frame is None:
        return
    rows = len(frame)
    if rows < fit.low * 0.98:
        score.rows, why = ROWS_FLOOR, "fewer"
    else:
        ratio = fit.high / rows
        score.rows = ROWS_FIT if ratio >= 0.25 else max(ROWS_FLOOR, -1.5 * math.log2(0.25 / ratio))
        why = "" if ratio >= 0.25 else "far more"
    if why:
        score.rows_note = f"{rows} rows, {why} than the {fit.low}-{fit.high} the saved fit trained on"


def score_variants(
    course_files: CourseFile | Sequence[CourseFile], ev: Evidence, fit: FitRows | None = None
) -> list[_Score]:
    """Every candidate variant scored against the evidence (and the rows a saved fit trained on), best first."""
    files = [course_files] if isinstance(course_files, CourseFile) else list(course_files)
    scores = _candidates(files, ev)
    for score in scores:
        if score.spec.archive is not None:
            continue  # an archive is opened, not parsed: only its kind of read speaks for it
        frame = simulate_read(score.course, score.spec, ev.read)
        _score_outputs(score, ev, frame)
        if not ev.empty:
            _score_code(score, ev, frame)
        if fit is not None:
            _score_rows(score, fit, frame)
    return sorted(scores, key=lambda s: s.key(), reverse=True)


def _describe_copy(score: _Score, ev: Evidence) -> str:
    frame = simulate_read(score.course, score.spec, ev.read) if score.spec.archive is None else None
    if frame is None:
        return ""
    cols = [str(c) for c in frame.columns]
    span = f"{cols[0]}..{cols[-1]}" if len(cols) > 2 else ", ".join(cols)
    na = int(frame.isna().to_numpy().sum())
    return f" ({frame.shape[0]} rows x {frame.shape[1]} columns {span}, {f'{na} NA cells' if na else 'no NA'})"


def _code_summary(ev: Evidence) -> str:
    parts = []
    if ev.read and ev.read.kwargs:
        parts.append("read with " + ", ".join(f"{k}={v!r}" for k, v in ev.read.kwargs))
    if ev.columns_used:
        more = " ..." if len(ev.columns_used) > 6 else ""
        parts.append("indexes " + ", ".join(map(repr, ev.columns_used[:6])) + more)
    parts.append("handles NA" if ev.handles_na else "no NA handling")
    if ev.handles_thousands:
        parts.append("strips thousands separators")
    return "; ".join(parts)


def _reason(best: _Score, scores: list[_Score], ev: Evidence, decided_by: str) -> str:
    name = ev.read.name if ev.read else "the file"
    head = f"served {best.spec.id} ({best.spec.label}) of {best.course.name} for {name!r}"
    if decided_by == "name":
        return (
            f"{head}: the notebook says nothing that tells the copies apart; {best.prior} of the students' "
            f"repositories ship this copy under the name {_base(name)!r}, more than any other copy"
        )
    if decided_by == "own name":
        other = scores[0].spec.id  # the copy the code alone fits best
        return (
            f"{head}: the read names the course file itself and no saved output or saved fit shows another copy; "
            f"the code alone ({_code_summary(ev)}) fits {other} better, other data than the course file's rows, "
            "which the code alone never chooses"
        )
    if decided_by == "rows":
        far = [f"{s.spec.id} {s.rows_note}" for s in scores[1:] if s.rows_note][:3]
        text = f"{head}: the rows its saved training run had fit this copy{_describe_copy(best, ev)}"
        return text + (f" (against: {'; '.join(far)})" if far else "")
    if decided_by == "default":
        return (
            f"{head}: the notebook says nothing about this copy (no saved output of it, no column names, "
            "no read options): the canonical copy"
        )
    if decided_by == "outputs":
        seen = best.exact or best.close
        how = "are reproduced exactly by it" if best.exact else "match it best"
        text = f"{head}: the saved outputs of {', '.join(seen)} {how}{_describe_copy(best, ev)}"
        text += f"; code: {_code_summary(ev)}"
        by_code = max(scores, key=lambda s: (round(s.code_score, 6),) + s.key()[1:])
        if by_code.code_score > best.code_score + 1e-6:
            text += f"; the code alone points to {by_code.spec.id} ({by_code.spec.label}), but the saved outputs win"
        return text
    if ev.read is not None and ev.read.func == "archive":
        return f"{head}: the notebook opens it as an archive (cell {ev.read.cell}); this is the archive copy declared"
    against = sorted((s for s in scores[1:] if s.notes), key=lambda s: -s.spec.repos)[:4]  # the commonest rivals
    others = [f"{s.spec.id} {'; '.join(s.notes)}" for s in against]
    text = (
        f"{head}: no saved output shows this file; from the code ({_code_summary(ev)}) "
        f"it is the copy that fits{_describe_copy(best, ev)}"
    )
    if others:
        text += f" (against: {'; '.join(others)})"
    return text + (
        "; ties go to the copy most students shipped under this name, then to the canonical copy, then to a format "
        "of the canonical rows, then to the commonest copy"
    )


def _decide(scores: list[_Score], evidence: Evidence) -> tuple[_Score, str]:
    best = scores[0]
    rivals = [s for s in scores[1:] if s.spec.archive is None]
    top_rival = max((s.outputs for s in rivals), default=0.0)
    if evidence.observations and best.outputs > 0.5 and (best.exact or best.outputs - top_rival > 0.5):
        return best, "outputs"
    if evidence.read is not None and evidence.read.func == "archive" and len(scores) == 1:
        return best, "code"  # the notebook opens the file as an archive, and one archive copy is declared
    by_code = [s for s in scores if round(s.code_score, 6) == round(best.code_score, 6)]
    if best.rows > 0 and any(s.rows < 0 for s in by_code):
        return best, "rows"  # the code alone could not tell it from a copy the saved fit rules out
    if not evidence.empty and any(s.key()[0] != best.key()[0] for s in scores):
        kept = _same_rows_under_own_name(best, scores, evidence)
        return kept, "code" if kept is best else "own name"
    named = [s for s in scores if s.prior > 0]
    if named and not (named[0].role > 0 and named[0].spec.id == named[0].course.canonical_variant):
        return named[0], "name"  # (the canonical copy under its own name is what the kernel serves anyway)
    return _default(scores), "default"


def _same_rows_under_own_name(best: _Score, scores: list[_Score], evidence: Evidence) -> _Score:
    """The code alone never moves a read of the course file's own name to other data (another period, share class
    or export): among the formats of the canonical rows, the one the code fits best. A notebook whose code fails on
    every format of them fails for its author too, as written; saved outputs or a saved fit's rows decide otherwise."""
    name = _norm(_base(evidence.read.name)) if evidence.read else ""
    if best.spec.source == "canonical" or name != _norm(best.course.name):
        return best
    same = [s for s in scores if s.course is best.course and s.spec.source == "canonical" and s.spec.archive is None]
    return same[0] if same else best


def _holdout_note(best: _Score) -> str:
    """What the hidden holdout changed in the served copy (its hidden days replaced by earlier ones)."""
    spec, course = best.spec, best.course
    count = hidden_lines(spec, course)
    if not count:
        return ""
    if spec.fill_from:
        sources = " / ".join(f.file for f in spec.fill_from)
        return (
            f"; its {count} days in the hidden holdout period are replaced by the {count} trading days before "
            f"its first day (from {sources}, in this copy's own format), so the read keeps its {spec.id} length"
        )
    return f"; its {count} days in the hidden holdout period are not served"


def choose_variant(
    course_files: CourseFile | Sequence[CourseFile], evidence: Evidence, fit: FitRows | None = None
) -> Choice:
    """The variant to serve for one read, with a reason naming the evidence."""
    scores = score_variants(course_files, evidence, fit)
    if not scores:
        raise ValueError("no variant of this kind of file is declared")
    best, decided_by = _decide(scores, evidence)
    return Choice(
        file=evidence.read.name if evidence.read else "",
        course_file=best.course.name,
        variant=best.spec.id,
        label=best.spec.label,
        reason=_reason(best, scores, evidence, decided_by) + _holdout_note(best),
        score=round(best.total, 3),
        decided_by=decided_by,
    )


def _default(scores: list[_Score]) -> _Score:
    """Without evidence: the canonical copy of the course file the read routes to (or the first one declared)."""
    routed = [s for s in scores if s.role > 0] or scores
    canonical = [s for s in routed if s.spec.id == s.course.canonical_variant]
    return canonical[0] if canonical else routed[0]


def other_dataset(name: str, course_files: Sequence[CourseFile]) -> str | None:
    """What another dataset a read's file name stands for (``AAPL.csv``: another company's ticker), or None."""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", _base(name))
    for course in course_files[:1]:  # every course file carries the experiment's list
        for other in course.other_data:
            if re.search(other.pattern, stem, re.IGNORECASE if other.ignore_case else 0):
                return other.label
    return None


def known_name(name: str, course_files: Sequence[CourseFile]) -> bool:
    """True when a read's file name is one the course files are read under (a course name, a variant's name)."""
    key = _norm(name)
    return any(
        key in {_norm(n) for n in [course.name, *course.read_names, *(n for v in course.variants for n in v.names)]}
        for course in course_files
    )


def _by_content(choice: Choice, scores_best: _Score) -> bool:
    """A read under a name of the student's own is served a course file only when its evidence matches one."""
    if choice.decided_by in ("outputs", "rows"):
        return True
    return choice.decided_by == "code" and scores_best.hits > 0 and scores_best.misses == 0


def choose_for_notebook(nb: nbformat.NotebookNode, course_files: Sequence[CourseFile]) -> dict[str, Choice]:
    """Read name (as the notebook writes it) -> the variant served for it, for every read of a course file.

    A read named for another dataset (:func:`other_dataset`) gets none, whatever its columns; a read under a
    name no course file is known by gets one only when its saved outputs, the rows its saved fit trained on or
    the columns its code uses (all of them) match a copy. Those left out are answered by the kernel: a course
    file by its name, else ``missing_data_file``.
    """
    out: dict[str, Choice] = {}
    fit = fit_rows(nb)
    reads = [ev for ev in notebook_reads(nb) if ev.read is not None]
    for ev in reads:
        assert ev.read is not None
        name = ev.read.name
        if name in out or other_dataset(name, course_files):
            continue
        trains = fit if fit is not None and (len(reads) == 1 or "test" not in _norm(name)) else None
        try:
            choice = choose_variant(course_files, ev, trains)
        except ValueError:
            continue  # e.g. an archive read in an experiment that declares no archive variant
        if not known_name(name, course_files) and ev.read.func != "archive":
            best = next(s for s in score_variants(course_files, ev, trains) if s.spec.id == choice.variant)
            if not _by_content(choice, best):
                continue
            choice = replace(choice, reason=choice.reason.replace(" for ", " (found by content) for ", 1))
        out[name] = choice
    return out


def serve(
    choices: dict[str, Choice], course_files: Sequence[CourseFile], rows: dict[str, pd.DataFrame], folder: Path
) -> dict[str, str]:
    """Write each chosen variant into ``folder``; the read name -> served file name map for the job spec.

    ``rows`` holds each course file's *served* canonical rows (canonical name -> frame of cell text, canonical
    row index), as the provider cut them: the holdout is removed before any variant is written.
    """
    from graders.data.variants import served_name, write_variant

    by_name = {c.name: c for c in course_files}
    fill = {name: (by_name[name], frame) for name, frame in rows.items() if name in by_name}
    out: dict[str, str] = {}
    for read_name, choice in choices.items():
        course = by_name[choice.course_file]
        spec = course.variant(choice.variant)
        target = served_name(spec, course)
        if not (folder / target).exists():
            write_variant(spec, course, rows.get(course.name), folder / target, fill=fill)
        out[read_name] = target
    return out
