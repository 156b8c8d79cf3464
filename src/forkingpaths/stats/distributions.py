"""Distances and similarities between discrete distributions over answer options.

Every function works on the last axis and broadcasts the leading axes (numpy rules), so a
``(models, questions, K)`` array can be compared with a ``(questions, K)`` array of human
distributions in one call. Inputs are non-negative weights; each row is normalised to sum to 1
before comparison, so counts and probabilities are both accepted.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "js_distance",
    "similarity_js",
    "similarity_wasserstein",
    "total_variation",
    "wasserstein_ordered",
]


def _normalised_pair(
    p: ArrayLike, q: ArrayLike, min_options: int = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate, broadcast and normalise two weight arrays along the last axis."""
    pa = np.asarray(p, dtype=float)
    qa = np.asarray(q, dtype=float)
    if pa.ndim == 0 or qa.ndim == 0:
        raise ValueError("p and q must have at least one axis (the options)")
    if pa.shape[-1] != qa.shape[-1]:
        raise ValueError(
            f"p and q must have the same number of options, got {pa.shape[-1]} and {qa.shape[-1]}"
        )
    if pa.shape[-1] < min_options:
        raise ValueError(f"need at least {min_options} options, got {pa.shape[-1]}")
    for name, arr in (("p", pa), ("q", qa)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains non-finite values")
        if np.any(arr < 0):
            raise ValueError(f"{name} contains negative values")
        if np.any(arr.sum(axis=-1) == 0):
            raise ValueError(f"{name} has a row that sums to zero")
    try:
        pa, qa = np.broadcast_arrays(pa, qa)
    except ValueError as exc:
        raise ValueError(f"p and q have incompatible shapes {pa.shape} and {qa.shape}") from exc
    return pa / pa.sum(axis=-1, keepdims=True), qa / qa.sum(axis=-1, keepdims=True)


def _kl_base2(a: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Kullback-Leibler divergence in bits, with the convention 0 * log(0 / x) = 0."""
    positive = a > 0
    ratio = np.where(positive, a, 1.0) / np.where(positive, m, 1.0)
    return np.sum(np.where(positive, a * np.log2(ratio), 0.0), axis=-1)


def js_distance(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64] | float:
    """Jensen-Shannon distance in base 2, in [0, 1].

    Formula: with ``m = (p + q) / 2``,
    ``JSD(p, q) = sqrt( KL(p || m) / 2 + KL(q || m) / 2 )``, KL in bits (log base 2).
    This is the square root of the Jensen-Shannon divergence, which is a metric
    (Endres & Schindelin 2003, "A new metric for probability distributions", IEEE Trans. Inf.
    Theory 49(7)); the divergence itself is from Lin 1991, "Divergence measures based on the
    Shannon entropy", IEEE Trans. Inf. Theory 37(1). Same definition as
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
    """
    pn, qn = _normalised_pair(p, q)
    m = (pn + qn) / 2.0
    divergence = 0.5 * _kl_base2(pn, m) + 0.5 * _kl_base2(qn, m)
    return _scalar_or_array(np.sqrt(np.clip(divergence, 0.0, 1.0)))


def total_variation(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64] | float:
    """Total variation distance ``TV(p, q) = 1/2 * sum_k |p_k - q_k|``, in [0, 1].

    Source: the standard definition, e.g. Levin, Peres & Wilmer, "Markov Chains and Mixing
    Times" (2nd ed., 2017), Proposition 4.2.
    """
    pn, qn = _normalised_pair(p, q)
    return _scalar_or_array(0.5 * np.abs(pn - qn).sum(axis=-1))


def wasserstein_ordered(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64] | float:
    """Normalised 1-Wasserstein distance for K ordered options at positions 0..K-1, in [0, 1].

    Formula: ``W1 = sum_{k=0}^{K-2} |F_p(k) - F_q(k)|`` with ``F`` the cumulative distribution
    over the ordered options, divided by ``K - 1`` (the largest possible W1, all mass at
    opposite ends). On the line, W1 equals the L1 distance between the CDFs (Vallender 1974,
    "Calculation of the Wasserstein distance between probability distributions on the line",
    Theory Probab. Appl. 18(4)); equals
    ``scipy.stats.wasserstein_distance(range(K), range(K), p, q) / (K - 1)``.
    Used for ordinal survey answers in Santurkar et al. 2023, "Whose Opinions Do Language Models
    Reflect?" (ICML). Needs K >= 2.
    """
    pn, qn = _normalised_pair(p, q, min_options=2)
    k = pn.shape[-1]
    cdf_gap = np.cumsum(pn - qn, axis=-1)[..., :-1]
    return _scalar_or_array(np.abs(cdf_gap).sum(axis=-1) / (k - 1))


def similarity_js(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64] | float:
    """Similarity ``1 - js_distance(p, q)``, in [0, 1]; 1 means identical distributions."""
    return 1.0 - js_distance(p, q)


def similarity_wasserstein(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64] | float:
    """Similarity ``1 - wasserstein_ordered(p, q)``, in [0, 1] (Santurkar et al. 2023)."""
    return 1.0 - wasserstein_ordered(p, q)


def _scalar_or_array(values: NDArray[np.float64]) -> NDArray[np.float64] | float:
    """Return a Python float for 1-D inputs (0-d result), the array otherwise."""
    return float(values) if values.ndim == 0 else values
