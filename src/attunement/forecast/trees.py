"""Boosted trees as plain arrays, evaluated with a few lines of numpy.

A model file must be data, never code: loading it must not unpickle anything. So the trees that
scikit-learn's histogram gradient boosting learns are copied into flat arrays (feature, threshold,
where a missing value goes, children, leaf value), stored as JSON lists, and evaluated here by
walking all trees at once, one level per step. For many rows (a national batch) the same arrays
go to scikit-learn's compiled tree walker (:mod:`attunement.forecast.compiled_trees`), which is
used only after it has reproduced this numpy walk exactly; the two give identical log-odds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from attunement.forecast.compiled_trees import CompiledEnsemble, compile_ensemble, default_threads

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

#: Below this many rows the numpy walk is quick enough and the compiled copy is not built.
COMPILED_FROM_ROWS = 2_000


@dataclass(frozen=True)
class TreeEnsemble:
    """The sum of many regression trees on the log-odds scale, plus a constant.

    Node ``i`` of the flat arrays is a leaf when ``left[i] == -1``; otherwise a row goes to
    ``left[i]`` when its ``feature[i]`` value is at most ``threshold[i]`` (or is missing and
    ``missing_left[i]``), else to ``right[i]``. ``roots`` holds each tree's first node.
    """

    baseline: float
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    #: The compiled walker's copy of the arrays per number of feature columns (None: numpy only).
    _compiled: dict[int, CompiledEnsemble | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def log_odds(self, x: np.ndarray, chunk: int = 10_000) -> np.ndarray:
        """The ensemble's log-odds for every row of ``x`` (rows in chunks to bound memory).

        Many rows go to the compiled walker when it has proved to agree with the numpy walk;
        the result is the same either way.
        """
        x = np.asarray(x, dtype=np.float64)
        compiled = self.compiled(x.shape[1]) if len(x) >= COMPILED_FROM_ROWS and x.ndim == 2 else None
        if compiled is not None:
            return compiled.log_odds(x, threads=default_threads())
        out = np.empty(len(x))
        for start in range(0, len(x), chunk):
            out[start : start + chunk] = self._log_odds(x[start : start + chunk])
        return out

    def compiled(self, columns: int) -> CompiledEnsemble | None:
        """The checked copy for the compiled walker (built once per column count), or None."""
        if columns not in self._compiled:
            self._compiled[columns] = compile_ensemble(self, columns)
        return self._compiled[columns]

    def _log_odds(self, x: np.ndarray) -> np.ndarray:
        summed: np.ndarray = self.baseline + self.leaf_values(x).sum(axis=1)
        return summed

    def leaf_values(self, x: np.ndarray) -> np.ndarray:
        """The leaf value each tree gives each row (rows x trees): the numpy walk."""
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        while True:
            inner = self.left[node] >= 0
            if not inner.any():
                break
            r, t = np.nonzero(inner)
            at = node[r, t]
            v = x[rows[r, 0], self.feature[at]]
            go_left = np.where(np.isnan(v), self.missing_left[at], v <= self.threshold[at])
            node[r, t] = np.where(go_left, self.left[at], self.right[at])
        leaves: np.ndarray = self.value[node]
        return leaves

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": float(self.baseline),
            "roots": self.roots.tolist(),
            "feature": self.feature.tolist(),
            # scikit-learn splits on missingness alone with an infinite threshold, which JSON
            # cannot hold; the largest float sends every finite value the same way.
            "threshold": [_short(v) for v in np.minimum(self.threshold, np.finfo(np.float64).max)],
            "missing_left": self.missing_left.astype(int).tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": [_short(v) for v in self.value],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeEnsemble:
        return cls(
            baseline=float(data["baseline"]),
            roots=np.asarray(data["roots"], dtype=np.int64),
            feature=np.asarray(data["feature"], dtype=np.int64),
            threshold=np.asarray(data["threshold"], dtype=np.float64),
            missing_left=np.asarray(data["missing_left"], dtype=bool),
            left=np.asarray(data["left"], dtype=np.int64),
            right=np.asarray(data["right"], dtype=np.int64),
            value=np.asarray(data["value"], dtype=np.float64),
        )


def ensemble_from_sklearn(model: HistGradientBoostingClassifier) -> TreeEnsemble:
    """Copy a fitted binary ``HistGradientBoostingClassifier`` (numeric features only) into arrays."""
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("feature", "threshold", "missing_left", "left", "right", "value")
    }
    roots: list[int] = []
    offset = 0
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits are not supported in a plain-data model")
        leaf = nodes["is_leaf"].astype(bool)
        roots.append(offset)
        parts["feature"].append(np.where(leaf, 0, nodes["feature_idx"]))
        parts["threshold"].append(np.where(leaf, 0.0, nodes["num_threshold"]))
        parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool) & ~leaf)
        parts["left"].append(np.where(leaf, -1, nodes["left"].astype(np.int64) + offset))
        parts["right"].append(np.where(leaf, -1, nodes["right"].astype(np.int64) + offset))
        parts["value"].append(np.where(leaf, nodes["value"], 0.0))
        offset += len(nodes)
    baseline = float(np.ravel(model._baseline_prediction)[0])
    return TreeEnsemble(
        baseline=baseline,
        roots=np.asarray(roots, dtype=np.int64),
        feature=np.concatenate(parts["feature"]).astype(np.int64),
        threshold=np.concatenate(parts["threshold"]).astype(np.float64),
        missing_left=np.concatenate(parts["missing_left"]),
        left=np.concatenate(parts["left"]),
        right=np.concatenate(parts["right"]),
        value=np.concatenate(parts["value"]).astype(np.float64),
    )


def _short(value: float) -> float:
    """Round-trip-exact float for JSON (repr of a Python float is exact)."""
    return float(value)
