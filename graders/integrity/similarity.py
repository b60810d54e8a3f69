"""Class-wide code similarity for one experiment: pairs, clusters, a side-by-side page and a CSV.

How a pair is judged
--------------------
1. Each submission's code cells are normalised to one symbol per token
   (:mod:`graders.integrity.normalise`: renamed variables, numbers, strings,
   comments, prints, formatting and cell boundaries are normalised away).
2. copydetect's winnowing (Schleimer, Wilkerson and Aiken's robust
   winnowing over hashed k-grams, ``copydetect.utils``) selects fingerprints:
   any run of at least ``guarantee`` shared tokens is certain to share one,
   runs shorter than ``k`` tokens never count.
3. Fingerprints that are not evidence are dropped before anything is
   compared: every k-gram of the boilerplate (the lab manual's code and the
   reference solution) and every fingerprint found in more than
   ``common_share`` of the class (code everyone copies from the same
   tutorial or lecture).
4. For large classes, MinHash LSH (datasketch) over the remaining
   fingerprints picks the candidate pairs; smaller classes compare all pairs.
5. A candidate pair's overlap in each direction is copydetect's measure: the
   tokens of A covered by fingerprints also in B, over the tokens of A
   covered by any kept fingerprint. A pair is reported when either direction
   reaches ``threshold`` *and* the shared code is at least ``min_tokens``
   tokens.
6. Each reported pair is named in words a teacher can repeat to a student:
   *identical* when the code is the same once whitespace and comments alone
   are removed (cell boundaries and, noted, cell order aside);
   *near-identical* when it is the same once names, numbers and strings are
   normalised (renamed variables, other epochs, other titles, added prints);
   *shared code* for every other reported pair.
7. Clusters are cliques (complete linkage over the reported pairs): three or
   more students each of whom is listed with every other. A student who shares
   a fragment with two unrelated groups is listed with each, but does not join
   the two groups into one.

Nothing here changes a mark: the report is evidence for an examiner.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path

import nbformat
import numpy as np
import numpy.typing as npt
from copydetect import utils as cd
from datasketch import MinHash, MinHashLSH
from pydantic import BaseModel, ConfigDict, Field
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from graders.integrity.normalise import Normalised, normalise, strip_shell_lines

Span = tuple[int, int, int]  # (cell index, start character, end character) in the submission's own cell
_PATH_PART = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CodeDoc:
    """One submission's code for one experiment.

    ``cells`` are the code cells in order: a notebook's code cells, or a
    module split at ``# %%`` markers, without magics and shell lines (see
    :func:`code_cells`). ``source`` names the file the code came from, for the
    evidence page.
    """

    roll_no: str
    name: str
    source: str
    cells: tuple[str, ...]


def code_cells(notebook: nbformat.NotebookNode) -> tuple[str, ...]:
    """The notebook's code cells, without ``%magic`` and ``!shell`` lines and without empty cells.

    Magics and ``!pip install`` lines are dropped because they are not the
    student's code and would match between any two notebooks.
    """
    cells = (strip_shell_lines(str(c.source)) for c in notebook.cells if c.cell_type == "code")
    return tuple(c for c in cells if c.strip())


def module_cells(source: str) -> tuple[str, ...]:
    """A ``.py`` module's cells: split at ``# %%`` markers (as editors export notebooks), else one cell."""
    parts = re.split(r"^# ?%%.*$", source, flags=re.MULTILINE)
    cells = (strip_shell_lines(p.strip("\n")) for p in parts)
    return tuple(c for c in cells if c.strip())


def doc_from_notebook(roll_no: str, name: str, source: str, notebook: nbformat.NotebookNode) -> CodeDoc:
    """A :class:`CodeDoc` from an intake notebook (a module or archive member read by ``graders.submissions``)."""
    return CodeDoc(roll_no=roll_no, name=name, source=source, cells=code_cells(notebook))


class SimilaritySettings(BaseModel):
    """How alike two submissions must be to be reported. Defaults are chosen on the fixtures of
    ``tests/integrity`` (see ``tests/test_similarity.py``): there, copies disguised in every way the
    lab's students use score 0.80 and more in at least one direction, while honest pairs that share
    the manual's code score at most about 0.4 once boilerplate is removed.

    A false accusation costs more than a missed copy, so the defaults lean to silence: a threshold
    of 0.7 leaves a wide margin above honest pairs, and ``min_tokens`` keeps a student who wrote
    almost nothing of their own (their few own tokens can be "100% found" anywhere) out of the report.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(
        default=0.75,
        gt=0,
        le=1,
        description="Report a pair when the mean of both directions' overlap reaches this.",
    )
    containment: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="... or when one direction reaches this (one submission inside the other)",
    )
    containment_tokens: int = Field(default=200, ge=1, description="... with at least this many shared own tokens.")
    common_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Drop fingerprints found in more than this share of the class.",
    )
    common_min_docs: int = Field(
        default=10,
        ge=2,
        description="Only drop common fingerprints in classes of at least this many submissions.",
    )
    k: int = Field(default=12, ge=3, description="Noise threshold: shared runs shorter than this never count.")
    guarantee: int = Field(default=18, ge=3, description="Shared runs this many tokens long are always detected.")
    min_tokens: int = Field(default=60, ge=1, description="Least shared own (non-boilerplate) tokens.")
    lsh_min_docs: int = Field(default=150, ge=0, description="Use the MinHash LSH pre-filter from this class size on.")
    lsh_threshold: float = Field(default=0.15, gt=0, lt=1, description="Jaccard level the LSH pre-filter aims at.")
    num_perm: int = Field(default=128, ge=16, description="MinHash permutations.")

    @property
    def window(self) -> int:
        """Winnowing window: ``guarantee - k + 1`` (at least 1)."""
        return max(1, self.guarantee - self.k + 1)


class Pair(BaseModel):
    """Two submissions whose code is too alike: both directions' overlap and the matched fragments."""

    model_config = ConfigDict(frozen=True)

    a: str = Field(description="Roll number of the first submission.")
    b: str = Field(description="Roll number of the second submission.")
    a_name: str
    b_name: str
    a_source: str
    b_source: str
    a_in_b: float = Field(description="Share of A's own code (tokens) that is also found in B.")
    b_in_a: float = Field(description="Share of B's own code that is also found in A.")
    matched_tokens: int = Field(description="Tokens of A's own code inside matches (the smaller side's count).")
    exact: bool = Field(
        description="The same code once names, numbers, strings, prints and formatting are normalised (up to cell "
        "order): near-identical, or identical."
    )
    identical: bool = Field(False, description="The same code once whitespace and comments alone are removed.")
    reordered: bool = Field(False, description="Identical or near-identical code whose cells are in another order.")
    a_spans: tuple[Span, ...] = Field(description="Matched fragments in A: (cell, start, end).")
    b_spans: tuple[Span, ...] = Field(description="Matched fragments in B.")

    @property
    def score(self) -> float:
        """Both directions' mean: what the threshold is compared with."""
        return (self.a_in_b + self.b_in_a) / 2

    @property
    def kind(self) -> str:
        """The pair in words: 'identical', 'near-identical' or 'shared code'."""
        return "identical" if self.identical else "near-identical" if self.exact else "shared code"

    @property
    def kind_class(self) -> str:
        """A CSS class for the kind: identical, near or shared."""
        return "identical" if self.identical else "near" if self.exact else "shared"

    def other(self, roll_no: str) -> str:
        """The other student of the pair."""
        return self.b if roll_no == self.a else self.a


class Cluster(BaseModel):
    """Three or more submissions each listed in a pair with every other (a clique of reported pairs)."""

    model_config = ConfigDict(frozen=True)

    number: int
    members: tuple[str, ...]
    names: tuple[str, ...]
    strongest: float = Field(description="Highest pair score inside the cluster.")
    weakest: float = Field(0.0, description="Lowest pair score inside the cluster.")
    pairs: int = Field(description="Reported pairs inside the cluster: every two members.")


class SimilarityReport(BaseModel):
    """The outcome of one experiment's comparison; JSON-serialisable (``model_dump_json``) for storage."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    settings: SimilaritySettings
    submissions: int
    compared_pairs: int = Field(description="Candidate pairs actually compared.")
    boilerplate_fingerprints: int = Field(description="Distinct k-gram hashes of the boilerplate.")
    common_fingerprints: int = Field(description="Fingerprints dropped: in more than common_share of the class.")
    too_little_code: tuple[str, ...] = Field(description="Rolls with fewer than min_tokens own tokens: never reported.")
    pairs: tuple[Pair, ...]
    clusters: tuple[Cluster, ...]


@dataclass
class _Print:
    """One submission's kept fingerprints and what they cover."""

    doc: CodeDoc
    norm: Normalised
    hashes: set[int]
    hash_idx: dict[int, list[int]]
    coverage: float
    reorder_key: tuple[str, ...]  # the normalised top-level statements, sorted: near-identical in another order
    literal: str  # the code less whitespace and comments (see normalise.literal)
    literal_key: tuple[str, ...]  # ... its top-level statements, sorted: identical in another order


def kgram_hashes(text: str, k: int) -> npt.NDArray[np.int64]:
    """64-bit BLAKE2 hashes of every k-gram. copydetect's ``hashed_kgrams`` uses Python's ``hash``, which is
    salted per process: the same class would give different fingerprints, and so slightly different
    overlaps, on every run. Evidence must be reproducible."""
    if len(text) < k:
        return np.array([], dtype=np.int64)
    data = text.encode("utf-32-le")  # fixed width: k symbols are 4k bytes
    width = 4 * k
    return np.array(
        [
            int.from_bytes(blake2b(data[i : i + width], digest_size=8).digest(), "little", signed=True)
            for i in range(0, len(data) - width + 1, 4)
        ],
        dtype=np.int64,
    )


def _winnowed(text: str, settings: SimilaritySettings) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    if len(text) < settings.k:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    hashes = kgram_hashes(text, settings.k)
    selected, idx = cd.winnow(hashes, settings.window, remove_duplicates=False)
    return np.asarray(selected, dtype=np.int64), np.asarray(idx, dtype=np.int64)


def _boilerplate_hashes(boilerplate: Iterable[str], settings: SimilaritySettings) -> set[int]:
    """Every k-gram (not only the winnowed ones) of the boilerplate, so no fingerprint of it slips through."""
    found: set[int] = set()
    for source in boilerplate:
        text = normalise(module_cells(source)).text
        if len(text) >= settings.k:
            found.update(kgram_hashes(text, settings.k).tolist())
    return found


def _prints(docs: Sequence[CodeDoc], drop_bp: set[int], settings: SimilaritySettings) -> tuple[list[_Print], int]:
    norms = [normalise(d.cells) for d in docs]
    winnowed = [_winnowed(n.text, settings) for n in norms]
    counts: Counter[int] = Counter()
    for hashes, _ in winnowed:
        counts.update({int(h) for h in hashes} - drop_bp)
    common: set[int] = set()
    if len(docs) >= settings.common_min_docs:
        common = {h for h, c in counts.items() if c > settings.common_share * len(docs)}
    drop = drop_bp | common
    out: list[_Print] = []
    for doc, norm, (hashes, idx) in zip(docs, norms, winnowed):
        hash_idx: dict[int, list[int]] = {}
        for h, i in zip(hashes.tolist(), idx.tolist()):
            if h not in drop:
                hash_idx.setdefault(h, []).append(i)
        coverage = float(cd.get_token_coverage(hash_idx, settings.k, len(norm.text))) if hash_idx else 0.0
        reorder_key, literal_key = tuple(sorted(norm.statements)), tuple(sorted(norm.literal_statements))
        out.append(_Print(doc, norm, set(hash_idx), hash_idx, coverage, reorder_key, norm.literal, literal_key))
    return out, len(common)


def _minhash(p: _Print, settings: SimilaritySettings) -> MinHash:
    m = MinHash(num_perm=settings.num_perm, seed=1)
    m.update_batch([h.to_bytes(8, "little", signed=True) for h in p.hashes])
    return m


def _candidates(prints: Sequence[_Print], settings: SimilaritySettings) -> list[tuple[int, int]]:
    """Pairs worth comparing: all of them in a small class, those MinHash LSH finds alike in a large one.

    LSH estimates Jaccard similarity, while pairs are judged by containment; a copy that adds much
    code of its own has a lower Jaccard than containment, so the LSH level is set well below the
    report threshold and its bands are weighted towards recall.
    """
    usable = [i for i, p in enumerate(prints) if p.coverage >= settings.min_tokens]
    if len(prints) < settings.lsh_min_docs:
        return list(itertools.combinations(usable, 2))
    lsh = MinHashLSH(threshold=settings.lsh_threshold, num_perm=settings.num_perm, weights=(0.2, 0.8))
    hashes = {i: _minhash(prints[i], settings) for i in usable}
    for i, m in hashes.items():
        lsh.insert(str(i), m)
    found: set[tuple[int, int]] = set()
    for i, m in hashes.items():
        for key in lsh.query(m):
            j = int(key)
            if j != i:
                found.add((min(i, j), max(i, j)))
    return sorted(found)


def _spans(norm: Normalised, slices: npt.NDArray[np.int64]) -> tuple[Span, ...]:
    """Matched symbol ranges as character ranges of the student's cells, split where a line was skipped
    (a dropped print or comment between two matched lines is not highlighted)."""
    spans: list[Span] = []
    for s, e in zip(slices[0].tolist(), slices[1].tolist()):
        run = s
        for i in range(s + 1, e + 1):
            if i == e or norm.cell[i] != norm.cell[i - 1] or norm.first_line[i] > norm.last_line[i - 1] + 1:
                spans.append((norm.cell[run], norm.start[run], norm.end[i - 1]))
                run = i
    merged: list[Span] = []
    for span in sorted(set(spans)):
        if merged and merged[-1][0] == span[0] and span[1] <= merged[-1][2]:
            merged[-1] = (span[0], merged[-1][1], max(merged[-1][2], span[2]))
        else:
            merged.append(span)
    return tuple(merged)


def _strong(a_in_b: float, b_in_a: float, tokens: int, settings: SimilaritySettings) -> bool:
    """Whether the overlap is evidence: both ways on average, or one submission almost wholly inside the other
    with enough code that it cannot be a few common lines."""
    if (a_in_b + b_in_a) / 2 >= settings.threshold:
        return True
    return max(a_in_b, b_in_a) >= settings.containment and tokens >= settings.containment_tokens


def _compare(a: _Print, b: _Print, settings: SimilaritySettings) -> Pair | None:
    shared = len(a.hashes & b.hashes)
    if not shared or shared < 0.5 * settings.threshold * min(len(a.hashes), len(b.hashes)):
        return None  # cheap gate on fingerprint counts before the token-level measure
    idx_a, idx_b = cd.find_fingerprint_overlap(a.hashes, b.hashes, a.hash_idx, b.hash_idx)
    slices_a = np.asarray(cd.get_copied_slices(idx_a, settings.k), dtype=np.int64)
    slices_b = np.asarray(cd.get_copied_slices(idx_b, settings.k), dtype=np.int64)
    tokens_a = int(np.sum(slices_a[1] - slices_a[0]))
    tokens_b = int(np.sum(slices_b[1] - slices_b[0]))
    a_in_b, b_in_a = tokens_a / a.coverage, tokens_b / b.coverage
    exact = a.norm.text == b.norm.text or a.reorder_key == b.reorder_key
    identical = a.literal == b.literal or a.literal_key == b.literal_key
    if min(tokens_a, tokens_b) < settings.min_tokens or not (exact or _strong(a_in_b, b_in_a, tokens_a, settings)):
        return None
    return Pair(
        a=a.doc.roll_no,
        b=b.doc.roll_no,
        a_name=a.doc.name,
        b_name=b.doc.name,
        a_source=a.doc.source,
        b_source=b.doc.source,
        a_in_b=round(min(a_in_b, 1.0), 4),
        b_in_a=round(min(b_in_a, 1.0), 4),
        matched_tokens=min(tokens_a, tokens_b),
        exact=exact or identical,
        identical=identical,
        reordered=(exact or identical) and a.norm.text != b.norm.text and a.literal != b.literal,
        a_spans=_spans(a.norm, slices_a),
        b_spans=_spans(b.norm, slices_b),
    )


UNLISTED = 1.0  # the distance of two students not listed as a pair: never inside one cluster


def _clusters(pairs: Sequence[Pair], names: dict[str, str], order: dict[str, int]) -> tuple[Cluster, ...]:
    """Cliques of three or more, largest first: complete-linkage clustering (scipy) of the students in a
    pair, each pair at distance 1 - score and two students not listed at :data:`UNLISTED`, cut below that.

    Complete linkage measures a group by its least alike two members, so a cluster is a group of students
    each listed with every other; a student listed with members of two groups that are not listed with
    each other joins at most one of them, never bridging the two into one cluster."""
    rolls = sorted({r for p in pairs for r in (p.a, p.b)}, key=order.__getitem__)
    if len(rolls) < 3:
        return ()
    at = {r: i for i, r in enumerate(rolls)}
    distance = np.full((len(rolls), len(rolls)), UNLISTED)
    np.fill_diagonal(distance, 0.0)
    score = {frozenset((p.a, p.b)): p.score for p in pairs}
    for p in pairs:
        distance[at[p.a], at[p.b]] = distance[at[p.b], at[p.a]] = min(1.0 - p.score, 0.9 * UNLISTED)
    labels = fcluster(linkage(squareform(distance), method="complete"), t=0.95 * UNLISTED, criterion="distance")
    groups: dict[int, list[str]] = {}
    for roll, label in zip(rolls, labels.tolist()):
        groups.setdefault(label, []).append(roll)
    big = sorted((g for g in groups.values() if len(g) >= 3), key=lambda g: (-len(g), order[g[0]]))
    out = []
    for number, members in enumerate(big, start=1):
        inside = [score[frozenset(two)] for two in itertools.combinations(members, 2)]
        out.append(
            Cluster(
                number=number,
                members=tuple(members),
                names=tuple(names[m] for m in members),
                strongest=max(inside),
                weakest=min(inside),
                pairs=len(inside),
            )
        )
    return tuple(out)


def compare_class(
    experiment: str,
    docs: Sequence[CodeDoc],
    *,
    boilerplate: Sequence[str] = (),
    settings: SimilaritySettings | None = None,
) -> SimilarityReport:
    """Compare every submission of one experiment with every other; report pairs and clusters.

    ``boilerplate`` is code everyone is given (the lab manual's listings, the reference solution), as
    module text (``# %%`` markers allowed): matches inside it are not evidence. Roll numbers must be
    unique: one submission per student.
    """
    settings = settings or SimilaritySettings()
    rolls = [d.roll_no for d in docs]
    if len(set(rolls)) != len(rolls):
        dupes = sorted({r for r in rolls if rolls.count(r) > 1})
        raise ValueError(f"one submission per student expected; repeated roll numbers: {', '.join(dupes)}")
    bp = _boilerplate_hashes(boilerplate, settings)
    prints, common = _prints(docs, bp, settings)
    candidates = _candidates(prints, settings)
    pairs = [p for i, j in candidates if (p := _compare(prints[i], prints[j], settings)) is not None]
    pairs.sort(key=lambda p: (not p.identical, not p.exact, -p.score, rolls.index(p.a), rolls.index(p.b)))
    order = {r: i for i, r in enumerate(rolls)}
    return SimilarityReport(
        experiment=experiment,
        settings=settings,
        submissions=len(docs),
        compared_pairs=len(candidates),
        boilerplate_fingerprints=len(bp),
        common_fingerprints=common,
        too_little_code=tuple(p.doc.roll_no for p in prints if p.coverage < settings.min_tokens),
        pairs=tuple(pairs),
        clusters=_clusters(pairs, {d.roll_no: d.name for d in docs}, order),
    )


def flagged_rolls(report: SimilarityReport) -> dict[str, str]:
    """Roll number -> a short label for the register ("cluster 1", "identical to 7", "near-identical to 7",
    "shares code with 7 (83%)").

    A student in a cluster gets the cluster; otherwise their strongest pair names the other student.
    """
    labels: dict[str, str] = {}
    for cluster in report.clusters:
        for roll in cluster.members:
            labels[roll] = f"cluster {cluster.number}"
    for pair in report.pairs:  # sorted: exact first, then strongest
        for me, other in ((pair.a, pair.b), (pair.b, pair.a)):
            if me not in labels:
                labels[me] = (
                    f"shares code with {other} ({pair.score:.0%})" if not pair.exact else f"{pair.kind} to {other}"
                )
    return labels


CSV_COLUMNS = (
    "experiment",
    "kind",
    "cluster",
    "a_roll_no",
    "a_name",
    "b_roll_no",
    "b_name",
    "a_in_b",
    "b_in_a",
    "matched_tokens",
    "a_source",
    "b_source",
)


def write_pairs_csv(report: SimilarityReport, path: Path | str) -> Path:
    """One row per reported pair, in the page's order; overlaps as fractions 0-1."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cluster_of = {roll: c.number for c in report.clusters for roll in c.members}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for p in report.pairs:
            writer.writerow(
                [
                    report.experiment,
                    p.kind,
                    cluster_of.get(p.a, ""),
                    p.a,
                    p.a_name,
                    p.b,
                    p.b_name,
                    f"{p.a_in_b:.4f}",
                    f"{p.b_in_a:.4f}",
                    p.matched_tokens,
                    p.a_source,
                    p.b_source,
                ]
            )
    return path


def page_name(experiment: str) -> str:
    """File name of an experiment's page: ``similarity-<experiment>.html``."""
    return f"similarity-{_PATH_PART.sub('_', experiment)}.html"
