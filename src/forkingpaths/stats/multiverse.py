"""Multiverse (specification-curve) summaries: how much a conclusion depends on design choices.

Input is a tidy trials table, one row per trial, with a score column, one column per
factor (the condition columns), a cluster column (usually the item id) and optionally
an entity column (model or human group). All bootstraps resample clusters jointly
across every condition and entity (:func:`~forkingpaths.stats.uncertainty.cluster_bootstrap_means`),
so estimates on the same items stay paired.
Sources: Simonsohn, Simmons & Nelson (2020), "Specification curve analysis", Nature
Human Behaviour 4; Steegen, Tuerlinckx, Gelman & Vanpaemel (2016), "Increasing
transparency through a multiverse analysis", Perspectives on Psychological Science 11(5).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from forkingpaths.stats.uncertainty import (
    RngLike,
    _as_scores,
    _check_level,
    percentile_bounds,
    cluster_bootstrap_means,
)

__all__ = [
    "claim_shares",
    "kendall_w",
    "paired_claim_curve",
    "pairwise_kendall_tau",
    "rank_first_probability",
    "specification_curve",
]

Columns = str | Sequence[str]


def _column_list(cols: Columns | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _grouped_bootstrap(
    df: pd.DataFrame, score: str, keys: list[str], cluster_col: str, n_resamples: int, rng: RngLike
) -> tuple[pd.DataFrame, NDArray[np.integer], NDArray[np.float64], NDArray[np.float64]]:
    """Cluster bootstrap of the mean score per combination of ``keys``.

    Returns (labels: one row per group with the key columns, trials per group,
    estimates, replicates of shape (n_resamples, n_groups)), groups in sorted key order.
    """
    if not keys:
        raise ValueError("at least one condition column is needed")
    missing = [c for c in [score, cluster_col, *keys] if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the table: {missing}")
    if df.empty:
        raise ValueError("the trials table is empty")
    if df[[cluster_col, *keys]].isna().to_numpy().any():
        raise ValueError(f"missing values in the cluster or key columns {[cluster_col, *keys]}")
    grouper = df.groupby(keys, sort=True, observed=True)
    sizes = grouper.size()
    _, estimates, replicates = cluster_bootstrap_means(
        _as_scores(df[score], score), df[cluster_col], grouper.ngroup().to_numpy(), n_resamples, rng
    )
    return sizes.index.to_frame(index=False), sizes.to_numpy(), estimates, replicates


def _add_interval(out: pd.DataFrame, replicates: NDArray[np.float64], level: float, cluster_col: str) -> None:
    bounds = percentile_bounds(replicates, level)
    out["lower"], out["upper"] = bounds[0], bounds[1]
    out["se"] = np.nanstd(replicates, axis=0, ddof=1)
    out["level"] = level
    out["method"] = f"cluster-bootstrap({cluster_col})"


def _ranked(out: pd.DataFrame, by_cols: list[str]) -> pd.DataFrame:
    """Add rank (1 = lowest estimate, ties in table order) within each ``by`` group and sort."""
    est = out.groupby(by_cols, sort=False)["estimate"] if by_cols else out["estimate"]
    out["rank"] = est.rank(method="first").astype(int)
    return out.sort_values([*by_cols, "rank"]).reset_index(drop=True)


def specification_curve(
    df: pd.DataFrame,
    score: str,
    condition_cols: Columns,
    cluster_col: str,
    by: Columns | None = None,
    level: float = 0.95,
    n_resamples: int = 1000,
    rng: RngLike = 0,
) -> pd.DataFrame:
    """Mean score per condition (per ``by`` group, e.g. model) with cluster-bootstrap intervals.

    estimate = trial-weighted mean score of the condition; lower/upper = percentile
    interval of the cluster bootstrap; rank = position on the specification curve
    (1 = lowest estimate) within each ``by`` group. Columns: by…, conditions…, n_trials,
    estimate, lower, upper, se, level, method, rank; sorted by by… then rank.
    Source: Simonsohn, Simmons & Nelson (2020), Nature Human Behaviour 4 (the curve);
    Davison & Hinkley (1997), §3.8 (cluster bootstrap).
    """
    _check_level(level)
    by_cols = _column_list(by)
    labels, n_trials, estimates, replicates = _grouped_bootstrap(
        df, score, [*by_cols, *_column_list(condition_cols)], cluster_col, n_resamples, rng
    )
    out = labels.assign(n_trials=n_trials, estimate=estimates)
    _add_interval(out, replicates, level, cluster_col)
    return _ranked(out, by_cols)


def paired_claim_curve(
    df: pd.DataFrame,
    score: str,
    contrast_col: str,
    a: Hashable,
    b: Hashable,
    condition_cols: Columns,
    cluster_col: str,
    by: Columns | None = None,
    level: float = 0.95,
    n_resamples: int = 1000,
    rng: RngLike = 0,
) -> pd.DataFrame:
    """Per-condition difference of mean scores, a − b, with a paired cluster-bootstrap interval.

    ``contrast_col`` holds the two entities compared (e.g. model A and model B, or two
    human groups); rows with other values are ignored. In each replicate the clusters
    (items) are drawn once and used for both a and b, so the interval of
    θ*_a − θ*_b reflects the paired design. Columns: by…, conditions…, contrast,
    estimate_a, estimate_b, estimate (= a − b), lower, upper, se, level, method, rank
    (1 = lowest difference within each ``by`` group). Every condition must contain both.
    Source: Davison & Hinkley (1997), §3.8; Miller (2024), arXiv:2411.00640 (paired
    differences); Simonsohn, Simmons & Nelson (2020).
    """
    _check_level(level)
    if contrast_col not in df.columns:
        raise ValueError(f"column {contrast_col!r} not in the table")
    if a == b:
        raise ValueError("a and b must be different entities")
    cells = [*_column_list(by), *_column_list(condition_cols)]
    labels, _, estimates, replicates = _grouped_bootstrap(
        df[df[contrast_col].isin([a, b])], score, [*cells, contrast_col], cluster_col, n_resamples, rng
    )
    position = labels.assign(_pos=np.arange(len(labels))).pivot(
        index=cells, columns=contrast_col, values="_pos"
    )
    position = position.reindex(columns=[a, b])
    if position.isna().to_numpy().any():
        raise ValueError(f"some conditions lack trials for {a!r} or {b!r}; every condition needs both")
    pos_a, pos_b = position[a].to_numpy(int), position[b].to_numpy(int)
    out = position.index.to_frame(index=False)
    out["contrast"] = f"{a} - {b}"
    out["estimate_a"], out["estimate_b"] = estimates[pos_a], estimates[pos_b]
    out["estimate"] = estimates[pos_a] - estimates[pos_b]
    _add_interval(out, replicates[:, pos_a] - replicates[:, pos_b], level, cluster_col)
    return _ranked(out, _column_list(by))


def claim_shares(
    lower: ArrayLike,
    estimate: ArrayLike,
    upper: ArrayLike,
    direction: Literal["positive", "negative"] = "positive",
) -> dict[str, Any]:
    """Share of conditions in which a directional claim holds, per condition's estimate and CI.

    For a contrast claimed positive (e.g. "A − B > 0"; use ``direction='negative'`` for
    "< 0") each condition falls in exactly one class:
      holds_significant:        CI entirely on the claimed side (lower > 0);
      holds_not_significant:    estimate on the claimed side, CI includes 0;
      zero:                     estimate exactly 0, CI includes 0;
      reversed_not_significant: estimate on the opposite side, CI includes 0;
      reversed_significant:     CI entirely on the opposite side (upper < 0).
    ``reversed`` = reversed_significant + reversed_not_significant. Returns
    {"n", "counts": {class: int}, "shares": {class: count / n}}.
    This is a descriptive summary of a specification curve (Simonsohn, Simmons & Nelson
    2020 report the analogous share of significant estimates of each sign); the
    per-condition intervals are not adjusted for multiplicity.
    """
    lo, est, up = (
        _as_scores(v, name) for v, name in ((lower, "lower"), (estimate, "estimate"), (upper, "upper"))
    )
    if not lo.size == est.size == up.size:
        raise ValueError(
            f"lower, estimate and upper must have the same length, got {lo.size}, {est.size}, {up.size}"
        )
    if (lo > up).any():
        raise ValueError("lower must not exceed upper")
    if direction == "negative":
        lo, est, up = -up, -est, -lo
    elif direction != "positive":
        raise ValueError(f"direction must be 'positive' or 'negative', got {direction!r}")
    covers_zero = (lo <= 0) & (up >= 0)
    counts = {
        "holds_significant": int(np.sum(lo > 0)),
        "holds_not_significant": int(np.sum(covers_zero & (est > 0))),
        "zero": int(np.sum(covers_zero & (est == 0))),
        "reversed_not_significant": int(np.sum(covers_zero & (est < 0))),
        "reversed_significant": int(np.sum(up < 0)),
    }
    counts["reversed"] = counts["reversed_significant"] + counts["reversed_not_significant"]
    return {"n": int(est.size), "counts": counts, "shares": {k: v / est.size for k, v in counts.items()}}


def rank_first_probability(
    df: pd.DataFrame,
    score: str,
    entity_col: str,
    condition_cols: Columns,
    cluster_col: str,
    n_resamples: int = 1000,
    rng: RngLike = 0,
    higher_is_better: bool = True,
) -> pd.Series:
    """Probability that each entity ranks first, over conditions × cluster-bootstrap replicates.

    P(e first) = (1 / (K·B)) Σ_k Σ_b 1[e is best in condition k, replicate b] / (#tied best),
    conditions weighted equally; ties split the credit. It mixes two sources of
    variation: the choice of condition (design) and item sampling (bootstrap). An
    entity with no trials on any drawn item in a replicate sits that cell out. Every
    entity must appear in every condition. Returns a Series indexed by entity, name
    "p_first", summing to 1.
    Source: the bootstrap rank distribution of Hall & Miller (2009), "Using the
    bootstrap to quantify the authority of an empirical ranking", Annals of Statistics
    37(6B), averaged over the multiverse of conditions.
    """
    conds = _column_list(condition_cols)
    labels, _, _, replicates = _grouped_bootstrap(
        df, score, [*conds, entity_col], cluster_col, n_resamples, rng
    )
    cond_code = labels.groupby(conds, sort=True).ngroup().to_numpy()
    ent_code, entities = pd.factorize(labels[entity_col], sort=True)
    n_k, n_e = cond_code.max() + 1, len(entities)
    if n_k * n_e != len(labels):
        missing = n_k * n_e - len(labels)
        raise ValueError(
            f"{missing} (condition, entity) cells have no trials; every entity needs every condition"
        )
    grid = np.full((replicates.shape[0], n_k, n_e), np.nan)
    grid[:, cond_code, ent_code] = replicates if higher_is_better else -replicates
    is_best = grid == np.fmax.reduce(grid, axis=2, keepdims=True)
    n_best = is_best.sum(axis=2, keepdims=True)
    credit = np.divide(is_best, n_best, out=np.zeros(grid.shape), where=n_best > 0)
    prob = credit.sum(axis=(0, 1)) / np.count_nonzero(n_best)
    return pd.Series(prob, index=pd.Index(entities, name=entity_col), name="p_first")


def _as_matrix(matrix: ArrayLike | pd.DataFrame) -> NDArray[np.float64]:
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"need a 2-D matrix with at least 2 rows and 2 columns, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("matrix contains NaN or infinite values")
    return x


def kendall_w(matrix: ArrayLike | pd.DataFrame) -> float:
    """Kendall's coefficient of concordance W of m conditions ranking n entities.

    Rows are conditions (the "judges"), columns entities; values are scores or ranks,
    ranked within each row (average ranks for ties; the direction does not matter).
    With R_j the rank sum of entity j, S = Σ_j (R_j − R̄)² and, per row i,
    T_i = Σ_groups (t³ − t) over its groups of t tied entities:
        W = 12 S / ( m²(n³ − n) − m Σ_i T_i ),
    1 = every condition ranks the entities identically, 0 = no agreement. T_i is
    computed from Σ_j r_ij² = n(n+1)(2n+1)/6 − T_i/12 (average ranks lose (t³−t)/12 of
    sum of squares per tie group). Without ties the mean Spearman correlation over the
    m(m−1)/2 pairs of rows is ρ̄ = (mW − 1)/(m − 1); with ties W = χ²_F / (m(n − 1)),
    χ²_F the tie-corrected Friedman statistic. Returns NaN when every row is all ties.
    Source: Kendall & Babington Smith (1939), Annals of Mathematical Statistics 10(3);
    Legendre (2005), J. Agricultural, Biological and Environmental Statistics 10(2).
    """
    x = _as_matrix(matrix)
    m, n = x.shape
    ranks = stats.rankdata(x, axis=1)
    rank_sums = ranks.sum(axis=0)
    s = float(np.sum((rank_sums - rank_sums.mean()) ** 2))
    ties = np.rint(2.0 * n * (n + 1) * (2 * n + 1) - 12.0 * np.sum(ranks**2, axis=1)).sum()
    denominator = m**2 * (n**3 - n) - m * ties
    return float(12.0 * s / denominator) if denominator > 0 else float("nan")


def pairwise_kendall_tau(matrix: ArrayLike | pd.DataFrame) -> pd.DataFrame:
    """Kendall's τ_b between the entity orderings of every pair of conditions (rows).

    For rows x, y with pair signs s_x(j,k) = sign(x_j − x_k) over entity pairs j < k:
        τ_b = Σ s_x s_y / sqrt( Σ s_x² · Σ s_y² ),
    i.e. (concordant − discordant) / sqrt(untied pairs in x · untied pairs in y), computed
    for all rows at once as a matrix product. NaN for a row that ties every entity.
    Index and columns are the rows' labels (the DataFrame index, else 0..m−1).
    Source: Kendall (1945), "The treatment of ties in ranking problems", Biometrika 33(3).
    """
    x = _as_matrix(matrix)
    labels = matrix.index if isinstance(matrix, pd.DataFrame) else pd.RangeIndex(x.shape[0])
    j, k = np.triu_indices(x.shape[1], 1)
    signs = np.sign(x[:, j] - x[:, k])
    concordance = signs @ signs.T
    untied = np.diag(concordance)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = concordance / np.sqrt(np.outer(untied, untied))
    return pd.DataFrame(tau, index=labels, columns=labels)
