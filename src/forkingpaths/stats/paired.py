"""Paired comparisons of two models scored on the same items, and multiple-testing corrections.

Pairing removes the item-difficulty variance that two independent means would carry,
so paired intervals and tests are much tighter than comparing two separate intervals.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from forkingpaths.stats.uncertainty import (
    _BLOCK_VALUES,
    Interval,
    RngLike,
    _as_scores,
    _check_level,
    _check_resamples,
    mean_ci,
)

__all__ = [
    "benjamini_hochberg",
    "holm",
    "mcnemar_exact",
    "paired_difference",
    "sign_flip_test",
    "tost",
]

Alternative = Literal["two-sided", "greater", "less"]


def _same_length(a: NDArray[np.float64], b: NDArray[np.float64]) -> None:
    if a.size != b.size:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")


def paired_difference(
    a: ArrayLike,
    b: ArrayLike,
    clusters: ArrayLike | None = None,
    level: float = 0.95,
    *,
    cluster_name: str = "item",
) -> Interval:
    """Mean paired difference d̄ = mean(a − b) with the interval of :func:`mean_ci`.

    a[i] and b[i] are the scores of two models on the same trial slot (same item, same
    condition, same repeat). SE is s_d/sqrt(n) (:func:`clt_se` of d) when each item
    appears once (d̄ ± z·SE), or the CR1 clustered SE of d (:func:`clustered_se`) with a
    t(G − 1) critical value when ``clusters`` (e.g. item ids) group several trials per item. The clustered SE only uses per-item
    sums of d, so how repeats are matched within an item does not matter.
    Source: Miller (2024), "Adding Error Bars to Evals", arXiv:2411.00640 (paired
    differences).
    """
    x, y = _as_scores(a, "a"), _as_scores(b, "b")
    _same_length(x, y)
    return mean_ci(x - y, clusters, level, cluster_name=cluster_name)


def _as_binary(values: ArrayLike, name: str) -> NDArray[np.bool_]:
    arr = _as_scores(values, name)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only 0/1 or booleans")
    return arr.astype(bool)


def mcnemar_exact(a_correct: ArrayLike, b_correct: ArrayLike) -> dict[str, Any]:
    """Exact McNemar test that two models have the same accuracy on the same items.

    Only discordant items carry information: b01 = #{a wrong, b right},
    b10 = #{a right, b wrong}. Under H0 each discordant item is equally likely to go
    either way, so b10 ~ Binomial(b01 + b10, 1/2) and the two-sided p-value is
    min(1, 2·P[X ≤ min(b01, b10)]). statistic = min(b01, b10) (as in statsmodels).
    Assumes one independent trial per item per model.
    Source: McNemar (1947), Psychometrika 12(2); Agresti (2013), Categorical Data
    Analysis, 3rd ed., §11.1.
    """
    a = _as_binary(a_correct, "a_correct")
    b = _as_binary(b_correct, "b_correct")
    if a.size != b.size:
        raise ValueError(f"a_correct and b_correct must have the same length, got {a.size} and {b.size}")
    b01, b10 = int(np.sum(~a & b)), int(np.sum(a & ~b))
    low = min(b01, b10)
    pvalue = min(1.0, 2.0 * float(stats.binom.cdf(low, b01 + b10, 0.5)))
    return {"b01": b01, "b10": b10, "statistic": low, "pvalue": pvalue}


def sign_flip_test(
    differences: ArrayLike,
    n_resamples: int = 10000,
    rng: RngLike = 0,
    alternative: Alternative = "two-sided",
) -> dict[str, Any]:
    """Paired permutation test of mean difference 0 by random sign flips.

    Under H0 (swapping the two models' labels within a pair does not change the
    distribution, so each d_i is symmetric about 0) T* = (1/n) Σ ε_i d_i with independent
    random signs ε_i = ±1 has the null distribution of T = d̄. Monte Carlo p-value with B
    flips, counting the observed statistic as one permutation so p is never 0:
    two-sided p = (1 + #{|T*| ≥ |T|}) / (1 + B); greater: #{T* ≥ T}; less: #{T* ≤ T}.
    Comparisons allow a rounding tolerance of 100·eps·max(|T|, max|d_i|), so flips that
    reproduce T exactly are counted whatever the summation order (scipy does likewise).
    For several trials per item pass per-item mean differences (items are the units).
    Source: Fisher (1935), The Design of Experiments, §21; Good (2005), Permutation,
    Parametric and Bootstrap Tests of Hypotheses, 3rd ed., ch. 3; Phipson & Smyth (2010),
    "Permutation p-values should never be zero", SAGMB 9(1).
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
    d = _as_scores(differences, "differences")
    b = _check_resamples(n_resamples)
    gen = np.random.default_rng(rng)
    observed = float(d.mean())
    tol = 100 * np.finfo(float).eps * max(abs(observed), np.abs(d).max())
    rows = max(1, _BLOCK_VALUES // d.size)
    hits = 0
    for start in range(0, b, rows):
        signs = 1.0 - 2.0 * gen.integers(0, 2, size=(min(rows, b - start), d.size))
        flipped = signs @ d / d.size
        if alternative == "two-sided":
            hits += int(np.sum(np.abs(flipped) >= abs(observed) - tol))
        elif alternative == "greater":
            hits += int(np.sum(flipped >= observed - tol))
        else:
            hits += int(np.sum(flipped <= observed + tol))
    return {
        "statistic": observed,
        "pvalue": (1 + hits) / (1 + b),
        "n_resamples": b,
        "alternative": alternative,
    }


def tost(differences: ArrayLike, margin: float, level: float = 0.95) -> dict[str, Any]:
    """Two one-sided t tests (TOST) that the mean paired difference lies within ±margin.

    With d̄, SE = s_d/sqrt(n), df = n − 1 and α = 1 − level:
    H0₁: μ ≤ −margin vs μ > −margin: t₁ = (d̄ + margin)/SE, p₁ = P[T_df ≥ t₁];
    H0₂: μ ≥ +margin vs μ < +margin: t₂ = (d̄ − margin)/SE, p₂ = P[T_df ≤ t₂].
    pvalue = max(p₁, p₂); equivalence is declared when pvalue < α, which is the same as
    the (1 − 2α) interval d̄ ± t_{df,1−α}·SE (returned as ``interval``, level 1 − 2α)
    lying inside (−margin, margin). Assumes independent, roughly normal differences
    (one per item; average repeats within an item first).
    Source: Schuirmann (1987), J. Pharmacokinetics and Biopharmaceutics 15(6);
    Lakens (2017), Social Psychological and Personality Science 8(4).
    """
    _check_level(level)
    if not np.isfinite(margin) or margin <= 0:
        raise ValueError(f"margin must be a positive number, got {margin}")
    d = _as_scores(differences, "differences", min_size=2)
    if np.ptp(d) == 0:
        raise ValueError("differences are constant, so the t statistics are undefined")
    est = float(d.mean())
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    df = d.size - 1
    alpha = 1.0 - level
    t_lower, t_upper = (est + margin) / se, (est - margin) / se
    p_lower, p_upper = float(stats.t.sf(t_lower, df)), float(stats.t.cdf(t_upper, df))
    half = float(stats.t.ppf(1.0 - alpha, df)) * se
    pvalue = max(p_lower, p_upper)
    return {
        "estimate": est,
        "se": se,
        "df": df,
        "margin": float(margin),
        "t_lower": t_lower,
        "p_lower": p_lower,
        "t_upper": t_upper,
        "p_upper": p_upper,
        "pvalue": pvalue,
        "equivalent": pvalue < alpha,
        # rounded: 1 − 2·(1 − 0.95) is 0.8999999999999999 in floating point
        "interval": Interval(est, est - half, est + half, "tost-t", round(1.0 - 2.0 * alpha, 12), se),
    }


def _as_pvalues(pvalues: ArrayLike) -> NDArray[np.float64]:
    p = _as_scores(pvalues, "pvalues")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("pvalues must lie in [0, 1]")
    return p


def holm(pvalues: ArrayLike) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values, controlling the family-wise error rate.

    With p₍₁₎ ≤ … ≤ p₍ₘ₎: p̃₍ᵢ₎ = min(1, max_{j ≤ i} (m − j + 1) p₍ⱼ₎), returned in the
    input order. Valid under any dependence between the tests.
    Source: Holm (1979), Scandinavian Journal of Statistics 6(2).
    """
    p = _as_pvalues(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    out = np.empty(m)
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def benjamini_hochberg(pvalues: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (q-values), controlling the false discovery rate.

    With p₍₁₎ ≤ … ≤ p₍ₘ₎: p̃₍ᵢ₎ = min(1, min_{j ≥ i} m p₍ⱼ₎ / j), returned in the input
    order. Valid for independent or positively dependent (PRDS) tests.
    Source: Benjamini & Hochberg (1995), JRSS B 57(1); Benjamini & Yekutieli (2001),
    Annals of Statistics 29(4) for the dependence condition.
    """
    p = _as_pvalues(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    out = np.empty(m)
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out
