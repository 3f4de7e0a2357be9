"""Distances between fingerprints: every metric of the authors' compbiolab-CLI, plus weighted Minkowski with any p.

The authors' tool calls scipy's one-pair functions (`scipy.spatial.distance.yule(u, v)` ...) on raw float
fingerprints. For the "boolean" metrics those functions count matches with float arithmetic (c_TT = sum(u * v),
c_TF = sum(u * (1 - v)), ...), whereas `cdist` first casts to bool, which gives other numbers. So we use `cdist`
only where it equals the one-pair function, and compute the float-count metrics from matrix products of the same
counts. scipy >= 1.12 removed `kulsinski` and `sokalmichener`; they are computed here from their published formulas
(scipy 1.10 docs) on those counts, which is what the authors' tool returned with the scipy of its day.
"""

from __future__ import annotations

import numpy as np

from protfam_core.errors import InputError

# The authors' tool's list, in its order (compbiolab-CLI 0.4.0, CLI/__init__.py).
AUTHORS_METRICS = (
    "euclidean",
    "minkowski",
    "cityblock",
    "sqeuclidean",
    "cosine",
    "correlation",
    "hamming",
    "jaccard",
    "chebyshev",
    "canberra",
    "braycurtis",
    "yule",
    "dice",
    "kulsinski",
    "rogerstanimoto",
    "russellrao",
    "sokalmichener",
    "sokalsneath",
)
# Inner product is what FAISS offers for embeddings; as a distance it is the negated dot product (smaller = nearer).
METRICS = (*AUTHORS_METRICS, "inner_product")

# The authors' "boolean" metrics whose one-pair functions count matches in float arithmetic (_float_count_metric);
# for every other metric scipy's cdist returns exactly what the one-pair function returns.
_FLOAT_COUNT = frozenset({"yule", "kulsinski", "rogerstanimoto", "russellrao", "sokalmichener", "sokalsneath"})
_CDIST = frozenset(AUTHORS_METRICS) - _FLOAT_COUNT
# Metrics that take per-dimension weights: the Minkowski family, as the paper ("weighted and unweighted Minkowski").
WEIGHTED = frozenset({"minkowski", "euclidean", "sqeuclidean", "cityblock"})


def check_metric(metric: str, p: float = 2.0, weights: np.ndarray | None = None, dim: int | None = None) -> None:
    """Reject an unknown metric, p <= 0, or weights that do not fit, before any work is done."""
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if not np.isfinite(p) or p <= 0:
        raise InputError(f"--p must be a number > 0 (got {p})")
    if weights is None:
        return
    if metric not in WEIGHTED:
        raise InputError(f"weights apply to the Minkowski metrics ({', '.join(sorted(WEIGHTED))}), not {metric!r}")
    if weights.ndim != 1 or (dim is not None and weights.shape[0] != dim):
        raise InputError(f"weights have {weights.size} values, the fingerprints have {dim} dimensions")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise InputError("weights must be finite and >= 0")


def _float_counts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scipy's `_nbool_correspond_all` on float input, for all pairs: (c_FF, c_FT, c_TF, c_TT)."""
    na, nb = 1.0 - a, 1.0 - b
    return na @ nb.T, na @ b.T, a @ nb.T, a @ b.T


def _float_count_metric(metric: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    nff, nft, ntf, ntt = _float_counts(a, b)
    n = float(a.shape[1])
    r = 2.0 * (ntf + nft)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "yule":
            half_r = ntf * nft
            return np.where(half_r == 0, 0.0, 2.0 * half_r / (ntt * nff + half_r))
        if metric in ("rogerstanimoto", "sokalmichener"):  # the same formula in scipy <= 1.10
            return r / (ntt + nff + r)
        if metric == "russellrao":
            return (n - ntt) / n
        if metric == "kulsinski":
            return (ntf + nft - ntt + n) / (ntf + nft + n)
        if metric == "sokalsneath":
            return r / (ntt + r)
    raise AssertionError(metric)


def pairwise(
    a: np.ndarray, b: np.ndarray, metric: str = "euclidean", p: float = 2.0, weights: np.ndarray | None = None
) -> np.ndarray:
    """Distances between every row of `a` (m, d) and of `b` (n, d) as an (m, n) float64 matrix."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    if a.shape[1] != b.shape[1]:
        raise InputError(f"fingerprints of {a.shape[1]} and {b.shape[1]} dimensions cannot be compared")
    check_metric(metric, p, weights, a.shape[1])
    if metric == "inner_product":
        return -(a @ b.T)
    if metric in _CDIST:
        if weights is not None:
            return _weighted(a, b, metric, p, weights)
        from scipy.spatial import distance as sd  # 0.2 s to import: a search by L2, cosine or inner product never does

        return sd.cdist(a, b, metric, p=p) if metric == "minkowski" else sd.cdist(a, b, metric)
    return _float_count_metric(metric, a, b)


def _weighted(a: np.ndarray, b: np.ndarray, metric: str, p: float, w: np.ndarray) -> np.ndarray:
    """Weighted Minkowski as scipy defines it: (sum_i w_i |a_i - b_i|^p)^(1/p)."""
    from scipy.spatial import distance as sd

    p = {"euclidean": 2.0, "sqeuclidean": 2.0, "cityblock": 1.0}.get(metric, p)
    d = sd.cdist(a, b, "minkowski", p=p, w=w)
    return d * d if metric == "sqeuclidean" else d


def distance(u: np.ndarray, v: np.ndarray, metric: str = "euclidean", p: float = 2.0, weights=None) -> float:
    """Distance between two fingerprints, as the authors' `compare` prints it."""
    return float(pairwise(u, v, metric, p, weights)[0, 0])
