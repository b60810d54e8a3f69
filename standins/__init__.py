"""Deterministic synthetic stand-ins for the lab's datasets (pure numpy): a data library the experiments share.

No grading sandbox has network, so when the instructor has no real files an
experiment's provider (``rubrics/<id>/provider.py``) serves these generators
instead; it reaches this folder, beside ``rubrics/``, through
``graders.kit.standins()``. The harness itself knows none of them. Each one copies the real dataset's
format exactly (dtypes, shapes, value ranges, index conventions) and is
learnable, so that a good model clearly beats a broken one.

Every generator returns three disjoint splits: ``train`` and ``test`` (what
students get) and ``holdout`` (kept by the harness for the trusted
evaluation). Determinism: the same arguments give byte-identical arrays on
the same platform and numpy version, in any process (no dependence on hash
seeds or global random state). Each split has its own
``SeedSequence([seed, dataset, split, ...])`` stream, so a split does not
depend on the sizes of the others, except that IMDB's word ranks are counted
over train + test. Garments, digits and outdoor scenes are also prefix-stable:
they are drawn in fixed chunks, so ``n_train=8000`` gives the first 8000
images of ``n_train=60000``.

Generation is vectorised numpy (no per-pixel Python loops); see ``describe()``
for a one-line summary of each generator.
"""

from __future__ import annotations

from ._common import FASHION_CLASSES, SPLITS
from .digits import mnist
from .garments import fashion_mnist
from .people import faces, utkface
from .reviews import apply_load_args, review_sequences, review_texts
from .scenes import outdoor_scenes, to_gray

__all__ = [
    "SPLITS",
    "FASHION_CLASSES",
    "fashion_mnist",
    "mnist",
    "review_sequences",
    "apply_load_args",
    "review_texts",
    "faces",
    "utkface",
    "outdoor_scenes",
    "to_gray",
    "describe",
]


def describe() -> dict[str, str]:
    """One line per generator (shape, dtype, signal), for the docs and ``labgrade`` help."""
    return {
        "fashion_mnist": "x uint8 (N,28,28) 0..255, y uint8 0..9 balanced; ten garment silhouettes "
        "with shift/scale/texture/noise, T-shirt/pullover/coat/shirt overlap",
        "mnist": "x uint8 (N,28,28) 0..255, y uint8 0..9 balanced; anti-aliased stroke digits "
        "with writing variants, slant, warp and thickness",
        "review_sequences": "x object (N,) lists of int (1 = start, rank r -> r+3), y int64 0/1 balanced, "
        "word_index {word: rank}; Zipf filler + sentiment words, negation, 5% label noise",
        "review_texts": "(texts, sentiments) lists of str, 'positive'/'negative'; the review_sequences "
        "reviews decoded as Kaggle 'IMDB Dataset.csv' rows",
        "faces": "x uint8 (N,S,S,3), y int64 identity 0..K-1; cartoon faces with identity "
        "geometry/colours, varying pose, expression, light, background",
        "utkface": "x uint8 (N,S,S,3), age int64 1..90, gender int64 0/1, race int64 0..4; "
        "gender in hair/jaw/lips/beard, age in proportions/grey/wrinkles",
        "outdoor_scenes": "x uint8 (N,S,S,3) outdoor scenes; blue sky gradient, green/sand/water "
        "ground, trees, random-hue blobs; to_gray() gives the uint8 (N,S,S) inputs",
    }
