"""Walking the plain tree arrays with scikit-learn's compiled tree walker, when it is safe to.

A national year asks for about 900 trees for each of two million clients. The numpy walk in
:mod:`attunement.forecast.trees` costs tens of nanoseconds per tree and client (every step of
every path is a handful of whole-array operations), the compiled walker that scikit-learn uses
for its own histogram gradient boosting a few. So the same node arrays are handed to that walker
as plain record arrays, copied from the model's numbers: nothing is unpickled and nothing named
in a model file is imported or run.

The walker is a private part of scikit-learn, so it is used only when it is there with the
record layout this module fills in, and only after it has reproduced the numpy walk exactly, leaf
for leaf, on probe rows that sit on, just below and just above every threshold of the ensemble
and on missing values (:func:`compile_ensemble` returns None otherwise, and the numpy walk is
used). Because the walker does not check bounds, the arrays are also checked to stay inside each
tree and inside the feature columns before they are handed over. The per-tree leaf values are
summed in the same order as the numpy walk sums them, so the log-odds are identical to the last
bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from attunement.forecast.trees import TreeEnsemble

#: The record fields this module fills in (scikit-learn's node layout has more; those stay zero).
FIELDS = ("value", "feature_idx", "bin_threshold", "missing_go_to_left", "left", "right", "is_leaf")
#: The bin of a missing value; thresholds on one feature therefore number at most 254.
MISSING_BIN = 255
#: Rows per call of the walker: large enough that the call overhead (one call per tree) vanishes,
#: small enough that a block of per-tree leaf values (trees x rows) stays a few tens of MB.
CHUNK = 8192
PROBE_ROWS = 512


@dataclass(frozen=True)
class CompiledEnsemble:
    """One record array per tree (node indices local to the tree) and the walker to run them.

    The walker compares small integers rather than floats: each feature value is replaced by
    the number of the ensemble's thresholds on that feature that lie below it (``cuts``), so
    ``value <= threshold`` becomes ``bin <= threshold's rank`` (the same comparison, exactly),
    and a missing value gets the bin :data:`MISSING_BIN`. A row is then 35 bytes instead of 280,
    which keeps a block of rows in the processor's cache while every tree walks it.
    """

    baseline: float
    trees: tuple[np.ndarray, ...]
    cuts: tuple[np.ndarray, ...]
    #: scikit-learn's walker: (nodes, binned rows, categorical bitsets, missing bin, threads, out).
    walk: Callable[..., None]

    @property
    def columns(self) -> int:
        return len(self.cuts)

    def bins(self, x: np.ndarray) -> np.ndarray:
        """Each value as the count of this feature's thresholds below it (missing: MISSING_BIN)."""
        out = np.empty(x.shape, dtype=np.uint8)
        for f, cuts in enumerate(self.cuts):
            column = x[:, f]
            out[:, f] = np.where(np.isnan(column), MISSING_BIN, np.searchsorted(cuts, column, side="left"))
        return out

    def leaf_values(self, x: np.ndarray) -> np.ndarray:
        """The leaf value each tree gives each row: (rows, trees), laid out as the numpy walk's."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.columns:
            raise ValueError(f"expected {self.columns} feature columns, got shape {x.shape}")
        binned = self.bins(x)
        out = np.empty((len(x), len(self.trees)))
        no_categories = np.zeros((0, 8), dtype=np.uint32)
        for t, nodes in enumerate(self.trees):
            self.walk(nodes, binned, no_categories, MISSING_BIN, 1, out[:, t])
        return out

    def log_odds(self, x: np.ndarray, threads: int = 1) -> np.ndarray:
        """``baseline`` plus the sum over trees, summed per row exactly as the numpy walk does.

        Row blocks run on ``threads`` threads: the walker releases the interpreter lock.
        """
        starts = range(0, len(x), CHUNK)

        def block(start: int) -> np.ndarray:
            summed: np.ndarray = self.baseline + self.leaf_values(x[start : start + CHUNK]).sum(axis=1)
            return summed

        if threads <= 1 or len(starts) <= 1:
            parts = [block(s) for s in starts]
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                parts = list(pool.map(block, starts))
        return np.concatenate(parts) if parts else np.empty(0)


def compile_ensemble(ensemble: TreeEnsemble, columns: int) -> CompiledEnsemble | None:
    """The ensemble ready for the compiled walker, or None when that walker cannot be trusted
    (not installed, another record layout, arrays that leave a tree, too many thresholds on one
    feature for a byte, or any probe disagreeing)."""
    walker = _walker()
    if walker is None:
        return None
    walk, record = walker
    cuts = _cuts(ensemble, columns)
    if cuts is None:
        return None
    trees = _records(ensemble, cuts, record)
    if trees is None:
        return None
    compiled = CompiledEnsemble(baseline=float(ensemble.baseline), trees=trees, cuts=cuts, walk=walk)
    probe = probe_rows(ensemble, columns)
    try:
        agrees = np.array_equal(compiled.leaf_values(probe), ensemble.leaf_values(probe))
    except (TypeError, ValueError):
        return None
    return compiled if agrees else None


def default_threads() -> int:
    """Both cores of a small machine; never more than the machine has."""
    return max(1, min(2, os.cpu_count() or 1))


def probe_rows(ensemble: TreeEnsemble, columns: int, rows: int = PROBE_ROWS, seed: int = 0) -> np.ndarray:
    """Rows whose values sit on, just below and just above the thresholds, or are missing, so
    that every kind of comparison the trees make is exercised."""
    rng = np.random.default_rng(seed)
    inner = ensemble.left >= 0
    x = np.full((rows, columns), np.nan)
    for f in range(columns):
        cuts = np.unique(ensemble.threshold[inner & (ensemble.feature == f)])
        if cuts.size == 0:
            continue
        candidates = np.concatenate([cuts, np.nextafter(cuts, -np.inf), np.nextafter(cuts, np.inf), [np.nan]])
        x[:, f] = rng.choice(candidates, size=rows)
    return x


def _walker() -> tuple[Callable[..., None], np.dtype[np.void]] | None:
    try:
        from sklearn.ensemble._hist_gradient_boosting._predictor import _predict_from_binned_data
        from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    except ImportError:
        return None
    record = np.dtype(PREDICTOR_RECORD_DTYPE)
    if record.names is None or not set(FIELDS) <= set(record.names):
        return None
    return _predict_from_binned_data, record


def _cuts(ensemble: TreeEnsemble, columns: int) -> tuple[np.ndarray, ...] | None:
    """The distinct thresholds of each feature, ascending (None when a byte cannot rank them)."""
    inner = ensemble.left >= 0
    if np.any(ensemble.feature[inner] < 0) or np.any(ensemble.feature[inner] >= columns):
        return None
    if np.isnan(ensemble.threshold[inner]).any():
        return None
    cuts = tuple(np.unique(ensemble.threshold[inner & (ensemble.feature == f)]) for f in range(columns))
    return cuts if all(len(c) < MISSING_BIN for c in cuts) else None


def _records(
    ensemble: TreeEnsemble, cuts: tuple[np.ndarray, ...], record: np.dtype
) -> tuple[np.ndarray, ...] | None:
    """One record array per tree with child indices local to the tree and each threshold as its
    rank among its feature's cuts; None when a child would point outside its own tree."""
    ends = np.append(ensemble.roots[1:], len(ensemble.left))
    if np.any(ends <= ensemble.roots):
        return None
    inner_all = ensemble.left >= 0
    rank = np.zeros(len(ensemble.left), dtype=np.int64)
    for f, c in enumerate(cuts):
        on = inner_all & (ensemble.feature == f)
        rank[on] = np.searchsorted(c, ensemble.threshold[on])
    trees = []
    for root, end in zip(ensemble.roots.tolist(), ends.tolist(), strict=True):
        leaf = ~inner_all[root:end]
        left = ensemble.left[root:end] - root
        right = ensemble.right[root:end] - root
        size = end - root
        inner = ~leaf
        index = np.arange(size)
        if (
            np.any(left[inner] <= index[inner])  # children after parents: every walk ends
            or np.any(right[inner] <= index[inner])
            or np.any(left[inner] >= size)
            or np.any(right[inner] >= size)
        ):
            return None
        nodes = np.zeros(size, dtype=record)
        nodes["value"] = np.where(leaf, ensemble.value[root:end], 0.0)
        nodes["feature_idx"] = np.where(leaf, 0, ensemble.feature[root:end])
        nodes["bin_threshold"] = np.where(leaf, 0, rank[root:end])
        nodes["missing_go_to_left"] = ensemble.missing_left[root:end]
        nodes["left"] = np.where(leaf, 0, left)
        nodes["right"] = np.where(leaf, 0, right)
        nodes["is_leaf"] = leaf
        trees.append(nodes)
    return tuple(trees)
