"""Uncertainty of eval scores: standard errors and confidence intervals for means.

Every interval is an :class:`Interval` that names the method that made it. The cluster
bootstrap engine (:func:`cluster_bootstrap_means`) is the one the paired and multiverse
analyses build on: it resamples clusters (items) jointly for every group, so differences
between groups measured on the same items keep their pairing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "Interval",
    "RngLike",
    "bootstrap_ci",
    "bootstrap_replicates",
    "clt_se",
    "cluster_bootstrap_ci",
    "cluster_bootstrap_means",
    "cluster_resample_counts",
    "clustered_se",
    "mean_ci",
    "two_way_clustered_se",
    "wilson_interval",
]

RngLike = np.random.Generator | int | None
"""A seed or generator; passed to ``numpy.random.default_rng`` so equal seeds give equal numbers."""

Statistic = Callable[..., Any]

# Resampling is done in blocks of at most this many drawn values, to bound memory.
_BLOCK_VALUES = 1 << 22


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval and the method that produced it.

    ``se`` is the standard error the interval was built from, when there is one (``None``
    for intervals such as Wilson's that are not "estimate ± z·se").
    """

    estimate: float
    lower: float
    upper: float
    method: str
    level: float = 0.95
    se: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, ready for JSON."""
        return asdict(self)


# ---------------------------------------------------------------------------- validation
# Shared by paired.py and multiverse.py so every module rejects bad input the same way.


def _as_scores(values: ArrayLike, name: str = "scores", min_size: int = 1) -> NDArray[np.float64]:
    """A 1-D float array with at least ``min_size`` finite values, else ValueError."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} value(s), got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _as_codes(labels: ArrayLike, n: int, name: str) -> tuple[NDArray[np.intp], pd.Index]:
    """Integer codes 0..k-1 (in sorted label order) and the labels, for ``n`` observations."""
    arr = labels if isinstance(labels, (pd.Series, pd.Index, pd.Categorical)) else np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"{name} has length {len(arr)} but the scores have length {n}")
    codes, uniques = pd.factorize(arr, sort=True)
    if (codes < 0).any():
        raise ValueError(f"{name} contains missing labels")
    return codes, pd.Index(uniques)


def _check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    return float(level)


def _z(level: float) -> float:
    """Two-sided normal critical value z_{1-(1-level)/2}."""
    return float(special.ndtri(0.5 + _check_level(level) / 2.0))


def _check_resamples(n_resamples: int) -> int:
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples}")
    return int(n_resamples)


def percentile_bounds(replicates: NDArray[np.float64], level: float) -> NDArray[np.float64]:
    """Percentile-interval bounds (lower, upper) per column of bootstrap replicates.

    lower, upper = the α/2 and 1 − α/2 quantiles of the replicates (α = 1 − level),
    ignoring NaN replicates (Efron & Tibshirani 1993, "An Introduction to the
    Bootstrap", §13.3). For a 1-D array the two bounds are scalars.
    """
    alpha = 1.0 - _check_level(level)
    return np.nanquantile(replicates, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)


# ------------------------------------------------------------------ analytic standard errors


def clt_se(scores: ArrayLike) -> float:
    """Standard error of a mean of independent scores by the central limit theorem.

    SE = s / sqrt(n) with s the sample standard deviation (ddof = 1).
    Valid when trials are independent; with several trials per item use
    :func:`clustered_se`. Source: Miller (2024), "Adding Error Bars to Evals",
    arXiv:2411.00640.
    """
    x = _as_scores(scores, min_size=2)
    return float(x.std(ddof=1) / np.sqrt(x.size))


def _cluster_variance(resid: NDArray[np.float64], codes: NDArray[np.intp]) -> float:
    """(1/n²) Σ_c (Σ_{i∈c} r_i)²: the sandwich variance of a mean, clustered by ``codes``."""
    sums = np.bincount(codes, weights=resid)
    return float(np.dot(sums, sums) / resid.size**2)


def clustered_se(scores: ArrayLike, clusters: ArrayLike) -> float:
    """Cluster-robust standard error of a mean (trials clustered by item, template, …).

    SE_C = sqrt( (1/n²) Σ_c Σ_i Σ_j (s_ic − s̄)(s_jc − s̄) ) = sqrt( Σ_c (Σ_i (s_ic − s̄))² ) / n,
    the sum over clusters of the squared within-cluster sum of residuals. Trials in
    one cluster may be correlated; clusters are assumed independent. No small-sample
    factor is applied: this equals statsmodels' OLS-on-a-constant ``cov_type='cluster'``
    with ``use_correction=False`` (CR0). With few clusters (< ~30) it is biased downward.
    With one trial per cluster it reduces to s_(ddof=0)/sqrt(n), slightly below
    :func:`clt_se`.
    Source: Miller (2024), "Adding Error Bars to Evals", arXiv:2411.00640
    (clustered standard errors); Liang & Zeger (1986), Biometrika 73(1).
    """
    x = _as_scores(scores)
    codes, labels = _as_codes(clusters, x.size, "clusters")
    if len(labels) < 2:
        raise ValueError("a clustered standard error needs at least 2 clusters")
    return float(np.sqrt(_cluster_variance(x - x.mean(), codes)))


def two_way_clustered_se(scores: ArrayLike, clusters_a: ArrayLike, clusters_b: ArrayLike) -> float:
    """Standard error of a mean with two non-nested clusterings (e.g. item and template).

    V = V_A + V_B − V_{A∩B}, each V_X = (1/n²) Σ_{g∈X} (Σ_{i∈g} (s_i − s̄))², where A∩B
    clusters by the (a, b) pair. Trials sharing either an a-label or a b-label may be
    correlated. No small-sample factor (matches statsmodels ``cov_type='cluster'`` with a
    two-column ``groups`` and ``use_correction=False``).
    The inclusion-exclusion sum can be negative in small samples; Cameron, Gelbach &
    Miller discuss this. We then return the larger one-way SE, sqrt(max(V_A, V_B)), a
    conservative choice of ours rather than a zero or NaN.
    Source: Cameron, Gelbach & Miller (2011), "Robust Inference With Multiway
    Clustering", Journal of Business & Economic Statistics 29(2), 238-249.
    """
    x = _as_scores(scores)
    codes_a, labels_a = _as_codes(clusters_a, x.size, "clusters_a")
    codes_b, labels_b = _as_codes(clusters_b, x.size, "clusters_b")
    if len(labels_a) < 2 or len(labels_b) < 2:
        raise ValueError("two-way clustering needs at least 2 clusters in each dimension")
    codes_ab, _ = pd.factorize(codes_a.astype(np.int64) * len(labels_b) + codes_b)
    resid = x - x.mean()
    v_a = _cluster_variance(resid, codes_a)
    v_b = _cluster_variance(resid, codes_b)
    v = v_a + v_b - _cluster_variance(resid, codes_ab)
    return float(np.sqrt(v if v >= 0 else max(v_a, v_b)))


def mean_ci(
    scores: ArrayLike,
    clusters: ArrayLike | None = None,
    level: float = 0.95,
    *,
    cluster_name: str = "item",
    second_clusters: ArrayLike | None = None,
    second_cluster_name: str = "template",
) -> Interval:
    """Normal-approximation interval for a mean: s̄ ± z_{1−α/2}·SE.

    SE is :func:`clt_se` without clusters, :func:`clustered_se` with ``clusters`` and
    :func:`two_way_clustered_se` when ``second_clusters`` is also given. The method is
    named "clt", "clustered-se(<cluster_name>)" or
    "two-way-clustered-se(<cluster_name>,<second_cluster_name>)".
    Source: Miller (2024), arXiv:2411.00640; Cameron, Gelbach & Miller (2011).
    """
    z = _z(level)
    x = _as_scores(scores)
    if second_clusters is not None and clusters is None:
        raise ValueError("second_clusters needs clusters as well")
    if clusters is None:
        se, method = clt_se(x), "clt"
    elif second_clusters is None:
        se, method = clustered_se(x, clusters), f"clustered-se({cluster_name})"
    else:
        se = two_way_clustered_se(x, clusters, second_clusters)
        method = f"two-way-clustered-se({cluster_name},{second_cluster_name})"
    est = float(x.mean())
    return Interval(est, est - z * se, est + z * se, method, float(level), se)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion p̂ = successes / n.

    centre = (p̂ + z²/2n) / (1 + z²/n),
    half-width = z / (1 + z²/n) · sqrt( p̂(1 − p̂)/n + z²/4n² ).
    Unlike the Wald interval it never has zero width at 0 or n successes and keeps
    close to nominal coverage for small n. Assumes independent trials (for clustered
    trials use :func:`mean_ci` with clusters or the cluster bootstrap). ``se`` is None.
    Source: Wilson (1927), JASA 22(158); Brown, Cai & DasGupta (2001), Statistical
    Science 16(2).
    """
    z = _z(level)
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if int(successes) != successes or not 0 <= successes <= n:
        raise ValueError(f"successes must be an integer between 0 and n={n}, got {successes}")
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    lower, upper = float(max(0.0, centre - half)), float(min(1.0, centre + half))
    return Interval(float(p), lower, upper, "wilson", level)


# ------------------------------------------------------------------------- plain bootstrap


def _apply_rows(statistic: Statistic, samples: NDArray[np.float64]) -> NDArray[np.float64]:
    """statistic(samples, axis=-1), checked to give one finite-or-NaN number per row."""
    out = np.asarray(statistic(samples, axis=-1), dtype=float)
    if out.shape != samples.shape[:1]:
        raise ValueError("statistic must accept axis=-1 and reduce each resample to one number")
    return out


def bootstrap_replicates(
    values: ArrayLike,
    statistic: Statistic = np.mean,
    n_resamples: int = 2000,
    rng: RngLike = 0,
) -> NDArray[np.float64]:
    """Nonparametric bootstrap replicates θ*_b = statistic(x*_b), x*_b drawn from x with replacement.

    ``statistic`` must accept ``axis=-1`` (numpy reductions do) so resamples are
    evaluated in vectorised blocks. Resample indices are ``rng.integers(0, n, (rows, n))``
    drawn block by block from ``numpy.random.default_rng(rng)``.
    Source: Efron & Tibshirani (1993), An Introduction to the Bootstrap, ch. 6.
    """
    x = _as_scores(values, "values", min_size=2)
    b = _check_resamples(n_resamples)
    gen = np.random.default_rng(rng)
    rows = max(1, _BLOCK_VALUES // x.size)
    out = np.empty(b)
    for start in range(0, b, rows):
        stop = min(b, start + rows)
        out[start:stop] = _apply_rows(statistic, x[gen.integers(0, x.size, (stop - start, x.size))])
    return out


def _jackknife(x: NDArray[np.float64], statistic: Statistic) -> NDArray[np.float64]:
    """Leave-one-out values θ_(i) = statistic(x without x_i), in vectorised blocks (O(n²) work)."""
    n = x.size
    base = np.arange(n - 1)
    out = np.empty(n)
    rows = max(1, _BLOCK_VALUES // n)
    for start in range(0, n, rows):
        left_out = np.arange(start, min(n, start + rows))
        idx = base[None, :] + (base[None, :] >= left_out[:, None])
        out[left_out] = _apply_rows(statistic, x[idx])
    return out


def bootstrap_ci(
    values: ArrayLike,
    statistic: Statistic = np.mean,
    n_resamples: int = 2000,
    level: float = 0.95,
    method: Literal["percentile", "bca"] = "percentile",
    rng: RngLike = 0,
) -> Interval:
    """Bootstrap confidence interval for ``statistic`` of independent values.

    percentile: [Q*(α/2), Q*(1−α/2)], quantiles of the replicates θ*_b.
    bca: [Q*(α₁), Q*(α₂)] with α_k = Φ( ẑ₀ + (ẑ₀ + z_k) / (1 − â(ẑ₀ + z_k)) ),
    z₁ = z_{α/2}, z₂ = z_{1−α/2}; bias correction ẑ₀ = Φ⁻¹( (#{θ* < θ̂} + #{θ* ≤ θ̂}) / 2B )
    (ties counted half, as scipy does, which matters for discrete scores); acceleration
    â = Σ(θ̄₍.₎ − θ₍ᵢ₎)³ / (6 [Σ(θ̄₍.₎ − θ₍ᵢ₎)²]^{3/2}) from the jackknife values θ₍ᵢ₎
    (O(n²) work). BCa is second-order accurate; percentile is simpler and
    transformation-respecting. Values are treated as independent: for trials clustered
    by item use :func:`cluster_bootstrap_ci`. ``se`` is the SD of the replicates.
    Raises ValueError when BCa is undefined (every replicate on one side of θ̂).
    Source: Efron (1987), "Better Bootstrap Confidence Intervals", JASA 82(397);
    Efron & Tibshirani (1993), ch. 13-14.
    """
    _check_level(level)
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    x = _as_scores(values, "values", min_size=2)
    boot = bootstrap_replicates(x, statistic, n_resamples, rng)
    if not np.isfinite(boot).all():
        raise ValueError("statistic returned NaN or infinite values on some resamples")
    theta = float(_apply_rows(statistic, x[None, :])[0])
    alpha = 1.0 - level
    if method == "percentile":
        probs = np.array([alpha / 2.0, 1.0 - alpha / 2.0])
    else:
        share_below = (np.sum(boot < theta) + np.sum(boot <= theta)) / (2.0 * boot.size)
        z0 = special.ndtri(share_below)
        if not np.isfinite(z0):
            raise ValueError("BCa is undefined: every bootstrap replicate lies on one side of the estimate")
        dev = _jackknife(x, statistic)
        dev = dev.mean() - dev
        ss = np.dot(dev, dev)
        accel = float(np.sum(dev**3) / (6.0 * ss**1.5)) if ss > 0 else 0.0
        zk = z0 + special.ndtri(np.array([alpha / 2.0, 1.0 - alpha / 2.0]))
        probs = special.ndtr(z0 + zk / (1.0 - accel * zk))
    lower, upper = np.quantile(boot, probs)
    return Interval(theta, float(lower), float(upper), f"bootstrap-{method}", level, float(boot.std(ddof=1)))


# ------------------------------------------------------------------------ cluster bootstrap


def cluster_resample_counts(n_clusters: int, n_resamples: int, rng: RngLike = 0) -> NDArray[np.int64]:
    """How many times each cluster is drawn in each bootstrap resample: (n_resamples, n_clusters).

    Row b ~ Multinomial(n_clusters, 1/n_clusters each): drawing n_clusters clusters with
    replacement. Exposed so slower reference implementations can reproduce the exact
    resamples of :func:`cluster_bootstrap_means` from the same seed.
    """
    if int(n_clusters) != n_clusters or n_clusters < 1:
        raise ValueError(f"n_clusters must be a positive integer, got {n_clusters}")
    b = _check_resamples(n_resamples)
    gen = np.random.default_rng(rng)
    return gen.multinomial(int(n_clusters), np.full(int(n_clusters), 1.0 / n_clusters), size=b)


def cluster_bootstrap_means(
    scores: ArrayLike,
    clusters: ArrayLike,
    groups: ArrayLike | None = None,
    n_resamples: int = 1000,
    rng: RngLike = 0,
) -> tuple[pd.Index, NDArray[np.float64], NDArray[np.float64]]:
    """Cluster bootstrap of the mean score of every group, resampling clusters jointly.

    Each replicate draws the clusters (e.g. items) with replacement, keeps all trials of
    each drawn cluster in every group, and recomputes each group's trial-weighted mean:
    with w_bc the number of times cluster c is drawn in replicate b, S_cg and N_cg the
    sum and count of group g's scores in cluster c,
        θ*_bg = Σ_c w_bc S_cg / Σ_c w_bc N_cg,    i.e. (W @ S) / (W @ N).
    Because one draw serves all groups, contrasts between groups measured on the same
    items (models, conditions) stay paired. Groups absent from every drawn cluster give
    NaN. Memory is O(clusters × groups + n_resamples × (clusters + groups)).
    Assumes clusters are independent and exchangeable; within a cluster anything goes.
    Source: Davison & Hinkley (1997), Bootstrap Methods and their Application, §3.8
    (hierarchical data: resample the top level); Field & Welsh (2007), JRSS B 69(3).

    Returns (group_labels, estimates, replicates): labels sorted (a single "all" group
    when ``groups`` is None), estimates shape (n_groups,), replicates (n_resamples, n_groups).
    ``groups`` may be a 1-D array-like or a pandas MultiIndex (labels are then tuples).
    """
    x = _as_scores(scores)
    c_codes, c_labels = _as_codes(clusters, x.size, "clusters")
    if groups is None:
        g_codes, g_labels = np.zeros(x.size, dtype=np.intp), pd.Index(["all"])
    else:
        g_codes, g_labels = _as_codes(groups, x.size, "groups")
    n_c, n_g = len(c_labels), len(g_labels)
    if n_c < 2:
        raise ValueError("the cluster bootstrap needs at least 2 clusters")
    weights = cluster_resample_counts(n_c, n_resamples, rng).astype(float)
    cell = c_codes.astype(np.int64) * n_g + g_codes
    sums = np.bincount(cell, weights=x, minlength=n_c * n_g).reshape(n_c, n_g)
    counts = np.bincount(cell, minlength=n_c * n_g).reshape(n_c, n_g).astype(float)
    estimates = sums.sum(axis=0) / counts.sum(axis=0)
    both = weights @ np.hstack([sums, counts])
    with np.errstate(invalid="ignore"):
        replicates = both[:, :n_g] / both[:, n_g:]
    return g_labels, estimates, replicates


def cluster_bootstrap_ci(
    scores: ArrayLike,
    clusters: ArrayLike,
    groups: ArrayLike | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    rng: RngLike = 0,
    *,
    cluster_name: str = "item",
) -> pd.DataFrame:
    """Percentile intervals from :func:`cluster_bootstrap_means`, one row per group.

    lower, upper = quantiles α/2 and 1−α/2 of θ*_g over replicates; se = SD (ddof=1) of
    θ*_g. Replicates where a group is absent (NaN) are ignored, so its interval is
    conditional on the group being observed. Columns: group, estimate, lower, upper, se,
    level, method ("cluster-bootstrap(<cluster_name>)").
    Source: Davison & Hinkley (1997), §3.8 and §5.3 (percentile method).
    """
    _check_level(level)
    labels, estimates, replicates = cluster_bootstrap_means(scores, clusters, groups, n_resamples, rng)
    bounds = percentile_bounds(replicates, level)
    return pd.DataFrame(
        {
            "group": list(labels),
            "estimate": estimates,
            "lower": bounds[0],
            "upper": bounds[1],
            "se": np.nanstd(replicates, axis=0, ddof=1),
            "level": level,
            "method": f"cluster-bootstrap({cluster_name})",
        }
    )
