"""Agreement between raters (human annotators, LLM judges, repeated runs of one model).

Ratings arrays are ``raters x units`` (one row per rater, one column per unit rated), the
layout of Krippendorff (2011). Missing ratings are NaN where a function allows them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "bootstrap_agreement_ci",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "percent_agreement",
    "weighted_kappa",
]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
_LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")


def _paired_codes(a: ArrayLike, b: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.intp], int]:
    """Validate two raters' labels and encode them on a shared set of categories."""
    aa, ba = np.asarray(a), np.asarray(b)
    if aa.ndim != 1 or ba.ndim != 1 or len(aa) != len(ba):
        raise ValueError("a and b must be 1-D arrays of the same length (one label per unit)")
    if len(aa) == 0:
        raise ValueError("a and b must rate at least one unit")
    for name, arr in (("a", aa), ("b", ba)):
        if arr.dtype.kind == "f" and np.any(np.isnan(arr)):
            raise ValueError(f"{name} has missing ratings; use krippendorff_alpha for missing data")
        if arr.dtype == object and any(v is None for v in arr):
            raise ValueError(f"{name} has missing ratings; use krippendorff_alpha for missing data")
    categories, codes = np.unique(np.concatenate([aa, ba]), return_inverse=True)
    return codes[: len(aa)], codes[len(aa) :], len(categories)


def percent_agreement(a: ArrayLike, b: ArrayLike) -> float:
    """Share of units on which two raters give the same label: ``p_o = (1/n) sum_i [a_i = b_i]``."""
    ca, cb, _ = _paired_codes(a, b)
    return float(np.mean(ca == cb))


def cohen_kappa(a: ArrayLike, b: ArrayLike) -> float:
    """Cohen's kappa for two raters and nominal labels.

    Formula (Cohen 1960, "A coefficient of agreement for nominal scales", Educ. Psychol. Meas.
    20(1)): ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed share of agreement and
    ``p_e = sum_k p_a(k) p_b(k)`` the agreement expected from each rater's own marginal label
    shares. Undefined (ValueError) when ``p_e = 1``, i.e. both raters use one same label only.
    """
    ca, cb, k = _paired_codes(a, b)
    p_observed = np.mean(ca == cb)
    marginal_a = np.bincount(ca, minlength=k) / len(ca)
    marginal_b = np.bincount(cb, minlength=k) / len(cb)
    p_expected = float(marginal_a @ marginal_b)
    if np.isclose(p_expected, 1.0):
        raise ValueError("cohen_kappa is undefined: both raters use a single, identical label")
    return float((p_observed - p_expected) / (1.0 - p_expected))


def weighted_kappa(a: ArrayLike, b: ArrayLike, low: int, high: int, weights: Literal["quadratic", "linear"] = "quadratic") -> float:
    """Cohen's weighted κ of two raters' whole-number scores on the scale ``low..high``.

    Formula (Cohen 1968, "Weighted kappa", Psychol. Bull. 70(4)): with the ``k`` scale points,
    observed joint shares ``O_ij``, the product of the marginal shares ``E_ij`` and the
    disagreement weights ``w_ij = |i - j|^p / (k - 1)^p`` (p = 2 quadratic, 1 linear),
    ``kappa_w = 1 - sum(w O) / sum(w E)``. The scale's points are the categories whether or
    not a rater used them (so the weights follow the scale, not the observed labels).
    Undefined (ValueError) when ``sum(w E) = 0`` (both raters give one same score only).
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError("a and b must be non-empty 1-D arrays of the same length")
    if high <= low:
        raise ValueError(f"the scale needs high > low, got {low}..{high}")
    for name, arr in (("a", x), ("b", y)):
        if not (np.all(arr == np.floor(arr)) and arr.min() >= low and arr.max() <= high):  # NaN fails the first test
            raise ValueError(f"{name} must hold whole-number scores within {low}..{high}")
    k = high - low + 1
    cells = (x - low).astype(int) * k + (y - low).astype(int)
    observed = np.bincount(cells, minlength=k * k).reshape(k, k) / x.size
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    points = np.arange(k)
    power = 2 if weights == "quadratic" else 1
    w = np.abs(points[:, None] - points[None, :]) ** power / (k - 1) ** power
    denominator = float((w * expected).sum())
    if np.isclose(denominator, 0.0):
        raise ValueError("weighted_kappa is undefined: both raters give one same score only")
    return float(1.0 - (w * observed).sum() / denominator)


def _ratings_to_table(ratings: ArrayLike) -> NDArray[np.float64]:
    """Turn raters x units ratings (NaN = missing) into a units x categories count table."""
    arr = np.asarray(ratings, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"ratings must be a 2-D raters x units array, got {arr.ndim} dimension(s)")
    observed = ~np.isnan(arr)
    categories, codes = np.unique(arr[observed], return_inverse=True)
    unit_index = np.broadcast_to(np.arange(arr.shape[1]), arr.shape)[observed]
    table = np.zeros((arr.shape[1], len(categories)))
    np.add.at(table, (unit_index, codes), 1.0)
    return table


def fleiss_kappa(ratings: ArrayLike | None = None, *, table: ArrayLike | None = None) -> float:
    """Fleiss' kappa for a fixed number n >= 2 of ratings per unit (raters may differ by unit).

    Give either ``ratings`` (raters x units; NaN allowed only if every unit keeps the same
    number of ratings) or ``table`` (units x categories counts, each row summing to n).

    Formula (Fleiss 1971, "Measuring nominal scale agreement among many raters", Psychol.
    Bull. 76(5)), with N units and n_ij the number of ratings of unit i in category j:
    ``P_i = (sum_j n_ij^2 - n) / (n (n - 1))``, ``P_bar = mean_i P_i``,
    ``p_j = sum_i n_ij / (N n)``, ``P_e = sum_j p_j^2``,
    ``kappa = (P_bar - P_e) / (1 - P_e)``.
    """
    if (ratings is None) == (table is None):
        raise ValueError("give exactly one of ratings or table")
    counts = np.asarray(table, dtype=float) if ratings is None else _ratings_to_table(ratings)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise ValueError("table must be a non-empty 2-D units x categories array of counts")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("table counts must be finite and non-negative")
    per_unit = counts.sum(axis=1)
    n = per_unit[0]
    if not np.all(per_unit == n):
        raise ValueError("fleiss_kappa needs the same number of ratings for every unit")
    if n < 2:
        raise ValueError("fleiss_kappa needs at least two ratings per unit")
    p_bar = float(np.mean((np.sum(counts**2, axis=1) - n) / (n * (n - 1))))
    shares = counts.sum(axis=0) / counts.sum()
    p_expected = float(np.sum(shares**2))
    if np.isclose(p_expected, 1.0):
        raise ValueError("fleiss_kappa is undefined: every rating falls in one category")
    return (p_bar - p_expected) / (1.0 - p_expected)


def _delta_squared(
    values: NDArray[np.float64], totals: NDArray[np.float64], level: str
) -> NDArray[np.float64]:
    """Krippendorff's squared difference function for sorted distinct values."""
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        return (c != k).astype(float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        total = c + k
        safe = np.where(total == 0, 1.0, total)
        return np.where(total == 0, 0.0, ((c - k) / safe) ** 2)
    # ordinal: (sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2, on ranks of the sorted values
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    lo = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
    hi = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
    between = cumulative[hi + 1] - cumulative[lo]
    return (between - (totals[:, None] + totals[None, :]) / 2.0) ** 2


def krippendorff_alpha(ratings: ArrayLike, level: Level = "nominal") -> float:
    """Krippendorff's alpha from the coincidence matrix, with missing ratings as NaN.

    Source: Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability" (Annenberg School
    for Communication, Departmental Papers 43). With ``m_u`` the number of ratings of unit u
    (units with ``m_u < 2`` are not pairable and are dropped) and ``n_uc`` the number of them
    equal to value c, the coincidences are
    ``o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1)``, the value totals ``n_c = sum_k o_ck``
    and ``n = sum_c n_c``. Then
    ``alpha = 1 - (n - 1) * sum_ck o_ck delta2_ck / sum_ck n_c n_k delta2_ck``.
    Difference functions ``delta2_ck``: nominal ``[c != k]``; ordinal
    ``(sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2`` over the ranks of the values; interval
    ``(c - k)^2``; ratio ``((c - k)/(c + k))^2``.

    ``ratings`` is raters x units; ratio level needs non-negative values.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
    arr = np.asarray(ratings, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"ratings must be a 2-D raters x units array, got {arr.ndim} dimension(s)")
    if np.any(np.isinf(arr)):
        raise ValueError("ratings must be finite or NaN (missing)")
    if level == "ratio" and np.any(arr[~np.isnan(arr)] < 0):
        raise ValueError("ratio level needs non-negative ratings")
    observed = ~np.isnan(arr)
    pairable = observed.sum(axis=0) >= 2
    if not np.any(pairable):
        raise ValueError("krippendorff_alpha needs at least one unit with two or more ratings")
    sub = arr[:, pairable]
    values, codes = np.unique(sub[~np.isnan(sub)], return_inverse=True)
    unit_index = np.broadcast_to(np.arange(sub.shape[1]), sub.shape)[~np.isnan(sub)]
    counts = np.zeros((sub.shape[1], len(values)))
    np.add.at(counts, (unit_index, codes), 1.0)
    weights = 1.0 / (counts.sum(axis=1) - 1.0)
    coincidence = (counts * weights[:, None]).T @ counts - np.diag(weights @ counts)
    totals = coincidence.sum(axis=1)
    n_total = totals.sum()
    delta2 = _delta_squared(values, totals, level)
    expected = float(totals @ delta2 @ totals)
    if expected == 0.0:
        raise ValueError("krippendorff_alpha is undefined: all pairable ratings are equal")
    return 1.0 - (n_total - 1.0) * float(np.sum(coincidence * delta2)) / expected


def bootstrap_agreement_ci(
    ratings: ArrayLike,
    statistic: Callable[[NDArray[np.float64]], float],
    n_resamples: int = 2000,
    level: float = 0.95,
    rng: np.random.Generator | int | None = 0,
) -> dict[str, float | str]:
    """Percentile bootstrap interval for an agreement statistic, resampling units (columns).

    Each replicate draws the units' columns with replacement (``rng.integers(0, U, U)``, one
    call per replicate, in order) and evaluates ``statistic`` on the ``raters x U`` array, e.g.
    ``lambda r: krippendorff_alpha(r, "ordinal")`` or ``lambda r: cohen_kappa(r[0], r[1])``.
    The interval is the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the replicates
    (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13). Replicates on which
    the statistic is undefined (it raises ValueError, e.g. every resampled rating equal) are
    left out; if none is defined, ValueError.

    Returns ``{"estimate", "lower", "upper", "method": "bootstrap-percentile(unit)", "level"}``.
    """
    arr = np.asarray(ratings, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError("ratings must be a 2-D raters x units array with at least two units")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    generator = np.random.default_rng(rng)
    estimate = float(statistic(arr))
    n_units = arr.shape[1]
    replicates = np.full(n_resamples, np.nan)
    for b in range(n_resamples):
        columns = generator.integers(0, n_units, n_units)
        try:
            replicates[b] = statistic(arr[:, columns])
        except ValueError:
            continue
    defined = replicates[~np.isnan(replicates)]
    if defined.size == 0:
        raise ValueError("the statistic was undefined on every bootstrap replicate")
    lower, upper = np.quantile(defined, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return {
        "estimate": estimate,
        "lower": float(lower),
        "upper": float(upper),
        "method": "bootstrap-percentile(unit)",
        "level": level,
    }
