"""``keras.wrappers.scikit_learn`` (removed from Keras 2.12+ and Keras 3), for the many
Boston notebooks that follow the well-known ``KerasRegressor`` + ``cross_val_score``
tutorial. Keras 2's semantics: ``build_fn`` builds a compiled model; the
wrapper's other keyword arguments go to ``build_fn`` when it accepts them,
else to ``fit`` (epochs, batch_size, verbose...). Every ``fit`` goes through
the harness's fit hook, so the epoch cap applies and the last trained model
is the one evaluated.
"""

from __future__ import annotations

import inspect
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from labgrade_runtime.kernel.state import note


class _KerasWrapper(BaseEstimator):
    def __init__(self, build_fn: Any = None, **sk_params: Any) -> None:
        self.build_fn = build_fn
        self.sk_params = sk_params
        note(
            "keras2_compat",
            f"keras.wrappers.scikit_learn.{type(self).__name__} (removed from Keras) provided by the harness",
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The wrapper's parameters, as scikit-learn's clone() needs them."""
        return {"build_fn": self.build_fn, **self.sk_params}

    def set_params(self, **params: Any) -> _KerasWrapper:
        """Set build_fn or any build/fit argument."""
        self.build_fn = params.pop("build_fn", self.build_fn)
        self.sk_params.update(params)
        return self

    def _split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        accepted = set(inspect.signature(self.build_fn).parameters) if self.build_fn else set()
        build = {k: v for k, v in self.sk_params.items() if k in accepted}
        return build, {k: v for k, v in self.sk_params.items() if k not in accepted}

    def fit(self, x: Any, y: Any, **kwargs: Any) -> Any:
        """Build a fresh model and train it (Keras 2 returned the History)."""
        build, fit_args = self._split()
        self.model = self.build_fn(**build)
        return self.model.fit(x, y, **{**fit_args, **kwargs})


class KerasRegressor(RegressorMixin, _KerasWrapper):
    """Keras 2's scikit-learn regressor wrapper."""

    def predict(self, x: Any, **kwargs: Any) -> Any:
        """Predictions, one value per sample."""
        out = self.model.predict(x, verbose=0, **kwargs)
        return out.reshape(len(out), -1)[:, 0] if out.ndim > 1 and out.shape[-1] == 1 else out

    def score(self, x: Any, y: Any, sample_weight: Any = None) -> float:
        """Keras 2: the negated loss (higher is better)."""
        loss = self.model.evaluate(x, y, verbose=0)
        return -float(loss[0] if isinstance(loss, list) else loss)


class KerasClassifier(ClassifierMixin, _KerasWrapper):
    """Keras 2's scikit-learn classifier wrapper."""

    def fit(self, x: Any, y: Any, **kwargs: Any) -> Any:
        """Train; remembers the classes like Keras 2 did."""
        import numpy as np

        self.classes_ = np.unique(y if np.ndim(y) == 1 else np.argmax(y, axis=-1))
        return super().fit(x, y, **kwargs)

    def predict_proba(self, x: Any, **kwargs: Any) -> Any:
        """Class probabilities (two columns for one sigmoid unit)."""
        import numpy as np

        proba = self.model.predict(x, verbose=0, **kwargs)
        return np.hstack([1 - proba, proba]) if proba.shape[-1] == 1 else proba

    def predict(self, x: Any, **kwargs: Any) -> Any:
        """The most likely class per sample."""
        return self.classes_[self.predict_proba(x, **kwargs).argmax(axis=-1)]
