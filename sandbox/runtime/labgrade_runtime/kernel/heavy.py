"""Heavy analysis under the quick profile's budget: a t-SNE or a hyper-parameter search over the budget runs on a
seeded sample.

The same mechanism and rule as the training budget (:mod:`labgrade_runtime.kernel.budget`): a budget of work
(rows embedded, never seconds, so a notebook is cut the same way on any host), only what exceeds it is cut, the
cut is invisible to the notebook's code, and it is said with its numbers. A t-SNE of 20,000 images embeds a
seeded sample of :data:`TSNE_ROWS` of them; every other row is placed at the embedding of its nearest sampled
neighbour (in the input space, by the estimator's own metric), so ``fit_transform`` still returns one point per
row, ``embedding_`` has the shape the author's had, and the scatter plot of the next cell draws. The plot is a
sketch of the author's, never scored.

A scikit-learn ``GridSearchCV`` / ``RandomizedSearchCV`` whose fits (candidates x folds) times the rows it is
given exceed :data:`SEARCH_ROW_FITS` searches on a seeded sample of the rows (at least :data:`MIN_SEARCH_ROWS`);
the best candidate is then fitted on all of them, so ``best_estimator_`` is what the author's was: the best
parameters, trained on every row. ``cv_results_``, ``best_params_`` and ``best_score_`` come from the sample
(said in the note). A search given explicit train/test index lists is never sampled.

Installed by the runner in the quick profile with a training budget (not in ``--uncapped-inconclusive`` runs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from labgrade_runtime.kernel import budget
from labgrade_runtime.kernel.state import JOB, note

SEARCH_ROW_FITS = 200_000  # rows x fits one hyper-parameter search may make in the quick profile
MIN_SEARCH_ROWS = 1_000  # a sampled search still sees at least this many rows
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


def _wrap_method(
    module: ModuleType, cls_name: str, method: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Replace ``module.cls_name.method`` by ``wrap`` of it, once (a wrapped method carries ``_labgrade``)."""
    cls = getattr(module, cls_name, None)
    if cls is None or getattr(getattr(cls, method), "_labgrade", False):
        return
    setattr(cls, method, wrap(getattr(cls, method)))


def patch_manifold(module: ModuleType) -> None:
    """scikit-learn's TSNE embeds at most the budget's rows, the rest placed by their nearest sampled row."""
    _wrap_method(module, "TSNE", "fit_transform", _sampled_fit_transform)


def _search_fits(search: Any, X: Any, y: Any, params: dict[str, Any]) -> tuple[int, int] | None:
    """(candidates, folds) of a grid or randomised search, or None where its cost or its rows cannot be read."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import ParameterGrid, check_cv

    kind = type(search).__name__
    cv = search.cv
    if not (cv is None or isinstance(cv, int) or hasattr(cv, "split")):  # explicit index lists: never sampled
        return None
    if kind == "GridSearchCV":
        candidates = len(ParameterGrid(search.param_grid))
    elif kind == "RandomizedSearchCV":
        candidates = int(search.n_iter)
    else:
        return None
    try:
        folds = check_cv(cv, y, classifier=is_classifier(search.estimator)).get_n_splits(X, y, params.get("groups"))
    except Exception:  # a splitter that cannot say: no budget applied
        return None
    return candidates, int(folds)


def _sampled_search_fit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, X: Any, y: Any = None, **params: Any) -> Any:
        n = budget.length(X)
        cost = _search_fits(self, X, y, params) if n else None
        if n is None or cost is None or n * cost[0] * cost[1] <= SEARCH_ROW_FITS:
            return original(self, X, y, **params)
        fits = cost[0] * cost[1]
        size = max(MIN_SEARCH_ROWS, SEARCH_ROW_FITS // fits)
        if size >= n:
            return original(self, X, y, **params)
        rows = budget.sample(n, size, 4)
        sampled = {k: budget.take(v, rows) if budget.length(v) == n else v for k, v in params.items()}
        original(self, budget.take(X, rows), budget.take(y, rows) if budget.length(y) == n else y, **sampled)
        refit = ""
        if self.refit and hasattr(self, "best_params_"):
            from sklearn.base import clone

            best = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
            fit_params = {k: v for k, v in params.items() if k != "groups"}
            self.best_estimator_ = best.fit(X, y, **fit_params) if y is not None else best.fit(X, **fit_params)
            refit = f"; the best candidate was then fitted on all {n:,} rows"
        note(
            "heavy_budget",
            f"{type(self).__name__}.fit() searched {cost[0]} candidates x {cost[1]} folds on a seeded sample of "
            f"{size:,} of its {n:,} rows (the {JOB.spec.profile} profile's budget of {SEARCH_ROW_FITS:,} row-fits "
            f"per search; it asked for {n * fits:,}){refit}: cv_results_ and best_score_ are the sample's",
            once=False,
        )
        return self

    fit._labgrade = True  # type: ignore[attr-defined]
    return fit


def patch_search(module: ModuleType) -> None:
    """scikit-learn's grid and randomised searches stay within the budget of row-fits."""
    _wrap_method(module, "BaseSearchCV", "fit", _sampled_search_fit)


_PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "sklearn.manifold._t_sne": patch_manifold,
    "sklearn.model_selection._search": patch_search,
}


def install() -> None:
    """Patch scikit-learn's t-SNE and searches when the notebook imports them (now, if it already has)."""
    from labgrade_runtime.kernel import hooks

    hooks.install(_PATCHES.get)
