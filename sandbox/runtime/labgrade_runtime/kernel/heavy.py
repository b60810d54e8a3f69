"""Heavy analysis under the quick profile's budget: a t-SNE over more rows than the budget runs on a seeded sample.

The same mechanism and rule as the training budget (:mod:`labgrade_runtime.kernel.budget`): a budget of work
(rows embedded, never seconds, so a notebook is cut the same way on any host), only what exceeds it is cut, the
cut is invisible to the notebook's code, and it is said with its numbers. A t-SNE of 20,000 images embeds a
seeded sample of :data:`TSNE_ROWS` of them; every other row is placed at the embedding of its nearest sampled
neighbour (in the input space, by the estimator's own metric), so ``fit_transform`` still returns one point per
row, ``embedding_`` has the shape the author's had, and the scatter plot of the next cell draws. The plot is a
sketch of the author's, never scored. Installed by the runner in the quick profile with a training budget
(not in ``--uncapped-inconclusive`` runs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from labgrade_runtime.kernel import budget
from labgrade_runtime.kernel.state import JOB, note

TSNE_ROWS = 2_000  # rows one t-SNE embeds in the quick profile (sklearn's Barnes-Hut: seconds on 2 idle cores)


def _sampled_fit_transform(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit_transform(self: Any, X: Any, y: Any = None) -> Any:
        n = budget.length(X)
        if n is None or n <= TSNE_ROWS or getattr(self, "metric", "") == "precomputed":
            return original(self, X, y)
        import numpy as np
        from sklearn.neighbors import NearestNeighbors

        rows = budget.sample(n, TSNE_ROWS, 3)
        data = np.asarray(X.toarray() if hasattr(X, "toarray") else X).reshape(n, -1)
        sampled = original(self, data[rows])
        metric = self.metric if isinstance(self.metric, str) else "euclidean"
        nearest = NearestNeighbors(n_neighbors=1, metric=metric).fit(data[rows]).kneighbors(data, return_distance=False)
        embedding = np.asarray(sampled)[nearest[:, 0]]
        embedding[rows] = sampled
        self.embedding_ = embedding
        note(
            "heavy_budget",
            f"TSNE.fit_transform() of {n:,} rows embedded a seeded sample of {TSNE_ROWS:,} (the {JOB.spec.profile} "
            f"profile's budget of rows per t-SNE); the other {n - TSNE_ROWS:,} rows were placed at their nearest "
            "sampled neighbour's point, so the embedding keeps one point per row",
            once=False,
        )
        return embedding

    fit_transform._labgrade = True  # type: ignore[attr-defined]
    return fit_transform


def patch_manifold(module: ModuleType) -> None:
    """scikit-learn's TSNE embeds at most the budget's rows, the rest placed by their nearest sampled row."""
    cls = getattr(module, "TSNE", None)
    if cls is None or getattr(cls.fit_transform, "_labgrade", False):
        return
    cls.fit_transform = _sampled_fit_transform(cls.fit_transform)


def install() -> None:
    """Patch scikit-learn's t-SNE when the notebook imports it (now, if it already has)."""
    from labgrade_runtime.kernel import hooks

    hooks.install(lambda name: patch_manifold if name == "sklearn.manifold._t_sne" else None)
