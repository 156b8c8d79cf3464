"""How well a benchmark tells models apart: signal and noise, saturation, agreement with other benchmarks.

Matrices are models × items of scores in [0, 1] (NaN = not answered). A model's score is the
mean of its answered items.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from forkingpaths.stats.uncertainty import Interval, RngLike, percentile_bounds

__all__ = [
    "agreement_by_size",
    "bat_agreement",
    "category_signal_noise",
    "condition_noise",
    "rank_agreement",
    "saturation",
    "signal_noise",
]

Array = NDArray[np.float64]


def _as_matrix(matrix: ArrayLike | pd.DataFrame, name: str = "matrix") -> Array:
    arr = np.asarray(matrix, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D models x items array with at least two models, got shape {arr.shape}")
    if np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be finite or NaN (missing)")
    if np.any(np.all(np.isnan(arr), axis=1)):
        raise ValueError(f"{name} has a model with no answered item")
    return arr


def signal_noise(matrix: ArrayLike | pd.DataFrame) -> dict[str, float]:
    """Signal, noise and their ratio for one benchmark (Heineman et al. 2025, "Signal and Noise:
    a framework for reducing uncertainty in language model evaluation", §2).

    With s_m the score of model m, s̄ their mean and SD_m the item-bootstrap SD of s_m:
    ``signal = max_{m,m'} |s_m - s_m'| / s̄`` (the relative dispersion of the models' scores);
    ``noise = mean_m SD_m / s̄`` (here the noise is item sampling, not checkpoint-to-checkpoint
    variation as in the paper: the matrix has one score per model and item); ``snr = signal /
    noise``. ``SD_m`` is the exact bootstrap SD of a mean of n_m answered items,
    ``sqrt(Σ_i (y_mi - s_m)² / n_m) / sqrt(n_m)`` (the plug-in variance over n; Efron & Tibshirani
    1993, "An Introduction to the Bootstrap", §5.2), so no resampling is needed. Also returned:
    ``sd_signal`` = SD of the scores (ddof 1) and ``sd_ratio`` = sd_signal / mean SD_m, a
    dispersion-to-noise ratio that does not depend on the mean score.
    """
    arr = _as_matrix(matrix)
    n = np.sum(~np.isnan(arr), axis=1)
    scores = np.nanmean(arr, axis=1)
    plugin_var = np.nanmean((arr - scores[:, None]) ** 2, axis=1)
    boot_sd = np.sqrt(plugin_var / n)
    mean = float(np.mean(scores))
    spread = float(np.max(scores) - np.min(scores))
    noise_abs = float(np.mean(boot_sd))
    signal = spread / mean if mean > 0 else float("nan")
    noise = noise_abs / mean if mean > 0 else float("nan")
    sd_signal = float(np.std(scores, ddof=1))
    return {
        "models": int(arr.shape[0]),
        "items": int(arr.shape[1]),
        "mean_score": mean,
        "max_gap": spread,
        "signal": signal,
        "noise": noise,
        "snr": signal / noise if noise > 0 else float("inf"),
        "noise_sd": noise_abs,
        "sd_signal": sd_signal,
        "sd_ratio": sd_signal / noise_abs if noise_abs > 0 else float("inf"),
    }


def category_signal_noise(matrix: pd.DataFrame, categories: pd.Series) -> pd.DataFrame:
    """:func:`signal_noise` within each category of items (a subject, a subset): which parts of a benchmark are noisiest.

    ``matrix`` is models × items with item ids as columns; ``categories`` maps item id → category
    (items without one are left out). Within a category, a model that answered none of its items
    is left out of that category. One row per category with at least two scored models, sorted
    from the lowest dispersion-to-noise ratio ``sd_ratio`` (the noisiest) up. A category of few
    items has a large item-sampling noise by construction: that is what the ratio shows, not a
    defect of the estimate.
    """
    labels = categories.reindex(matrix.columns)
    rows = []
    for category in sorted(labels.dropna().unique(), key=str):
        part = matrix.loc[:, (labels == category).to_numpy()]
        part = part[part.notna().any(axis=1)]
        if part.shape[0] < 2:
            continue
        rows.append({"category": str(category), **signal_noise(part)})
    columns = ["category", "models", "items", "mean_score", "max_gap", "signal", "noise", "snr", "noise_sd", "sd_signal", "sd_ratio"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["sd_ratio", "category"], ignore_index=True)


def condition_noise(matrices: Sequence[pd.DataFrame]) -> dict[str, float]:
    """Signal and noise across the conditions of a design (templates, option orders, …) measured on the same models.

    With s_mk the score of model m in condition k (the mean of its answered items there), over the
    models scored in every condition: each model's score across conditions ``s̄_m = mean_k s_mk``;
    signal ``sd_signal = SD_m(s̄_m)`` (ddof 1) and ``max_gap = max s̄_m - min s̄_m``; noise
    ``noise_sd = mean_m SD_k(s_mk)`` (ddof 1): how far a model's score moves when only the
    condition changes, the analogue of Heineman et al.'s (2025) checkpoint-to-checkpoint noise for
    a design of conditions. ``sd_ratio = sd_signal / noise_sd`` and ``snr = max_gap / noise_sd``
    (signal over noise, both relative to the mean score, as in :func:`signal_noise`). ``item_noise_sd`` is the mean item-bootstrap SD
    of one score (:func:`signal_noise`) over models and conditions, for comparison: the condition
    SD includes item sampling only through the items' condition-to-condition differences.
    """
    if len(matrices) < 2:
        raise ValueError("condition_noise needs at least two conditions")
    common = sorted(set.intersection(*(set(m.index[m.notna().any(axis=1)]) for m in matrices)), key=str)
    if len(common) < 2:
        raise ValueError("condition_noise needs at least two models scored in every condition")
    table = np.column_stack([np.nanmean(_as_matrix(m.loc[common]), axis=1) for m in matrices])  # models × conditions
    per_model = table.mean(axis=1)
    noise_sd = float(np.mean(np.std(table, axis=1, ddof=1)))
    mean = float(np.mean(per_model))
    gap = float(np.max(per_model) - np.min(per_model))
    sd_signal = float(np.std(per_model, ddof=1))
    item_noise = float(np.mean([signal_noise(m.loc[common])["noise_sd"] for m in matrices]))
    return {
        "conditions": len(matrices),
        "models": len(common),
        "mean_score": mean,
        "max_gap": gap,
        "sd_signal": sd_signal,
        "noise_sd": noise_sd,
        "item_noise_sd": item_noise,
        "sd_ratio": sd_signal / noise_sd if noise_sd > 0 else float("inf"),
        "snr": gap / noise_sd if noise_sd > 0 else float("inf"),
    }


def saturation(matrix: ArrayLike | pd.DataFrame) -> dict[str, float]:
    """Shares of items that every model answering them gets right (score 1) and that every one gets wrong (0).

    An item with a single answer counts when that answer is 1 (or 0). Such items cannot separate
    the models measured: a benchmark near its ceiling or floor has little room left.
    """
    arr = _as_matrix(matrix)
    answered = np.sum(~np.isnan(arr), axis=0) > 0
    all_right = answered & np.all(np.isnan(arr) | (arr == 1.0), axis=0)
    all_wrong = answered & np.all(np.isnan(arr) | (arr == 0.0), axis=0)
    total = int(answered.sum())
    return {
        "items": total,
        "all_right": float(all_right.sum() / total),
        "all_wrong": float(all_wrong.sum() / total),
        "n_all_right": int(all_right.sum()),
        "n_all_wrong": int(all_wrong.sum()),
    }


def _statistic(x: Array, y: Array, kind: str) -> float:
    """The coefficient of one pair of score vectors, by scipy (the reference for :func:`_statistics`)."""
    if kind == "kendall":
        return float(stats.kendalltau(x, y).statistic)
    if kind == "pearson":
        return float(stats.pearsonr(x, y).statistic)
    if kind == "spearman":
        return float(stats.spearmanr(x, y).statistic)
    raise ValueError(f"kind must be kendall, pearson or spearman, got {kind!r}")


#: Replicates of Kendall's τ are computed in blocks of at most this many pair comparisons.
_PAIRS_PER_BLOCK = 4_000_000


def _pearson_rows(x: Array, y: Array) -> Array:
    """Pearson's r of each row pair: ``Σ(x - x̄)(y - ȳ) / sqrt(Σ(x - x̄)² Σ(y - ȳ)²)``."""
    dx, dy = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    return np.asarray(np.sum(dx * dy, axis=1) / np.sqrt(np.sum(dx**2, axis=1) * np.sum(dy**2, axis=1)))


def _kendall_rows(x: Array, y: Array) -> Array:
    """Kendall's τ_b of each row pair: ``Σ_{i<j} s^x_ij s^y_ij / sqrt(Σ (s^x_ij)² Σ (s^y_ij)²)`` with
    ``s_ij = sign(v_i - v_j)``: the numerator is n_c - n_d and each sum of squares counts the pairs
    not tied in that variable (Kendall 1945, "The treatment of ties in ranking problems",
    Biometrika 33(3)), which is scipy's τ_b."""
    n = x.shape[1]
    upper = np.triu_indices(n, 1)
    out = np.empty(x.shape[0])
    block = max(1, _PAIRS_PER_BLOCK // max(len(upper[0]), 1))
    for start in range(0, x.shape[0], block):
        xs, ys = x[start : start + block], y[start : start + block]
        sx = np.sign(xs[:, upper[0]] - xs[:, upper[1]])
        sy = np.sign(ys[:, upper[0]] - ys[:, upper[1]])
        out[start : start + block] = np.sum(sx * sy, axis=1) / np.sqrt(np.sum(sx**2, axis=1) * np.sum(sy**2, axis=1))
    return out


def _statistics(x: Array, y: Array, kind: str) -> Array:
    """The coefficient of every row pair of two replicates × models arrays at once (NaN where undefined).

    Vectorised forms of :func:`_statistic` (tested against it): Pearson's r by its definition,
    Spearman's ρ as Pearson's r of average ranks, Kendall's τ_b as in :func:`_kendall_rows`. A
    bootstrap of a few thousand replicates then costs one array operation instead of a few
    thousand scipy calls, which made agreement the slowest part of ``forkingpaths meta``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "pearson":
            return _pearson_rows(x, y)
        if kind == "spearman":
            return _pearson_rows(stats.rankdata(x, axis=1), stats.rankdata(y, axis=1))
        if kind == "kendall":
            return _kendall_rows(x, y)
    raise ValueError(f"kind must be kendall, pearson or spearman, got {kind!r}")


def rank_agreement(
    x: ArrayLike, y: ArrayLike, kind: str = "kendall", level: float = 0.95, n_resamples: int = 2000, rng: RngLike = 0
) -> Interval:
    """Kendall's τ_b (or Pearson's r, Spearman's ρ) between two benchmarks' scores of the same models,
    with a percentile bootstrap interval over models (Efron & Tibshirani 1993, ch. 13).

    Each replicate draws the models with replacement and recomputes the coefficient (all replicates
    at once, :func:`_statistics`); replicates where it is undefined (every drawn score tied) are
    left out. The coverage of this interval at small numbers of models is checked in
    tests/stats/test_benchmark.py; below about 10 models it is too short (docs/meta.md).
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size < 3:
        raise ValueError("x and y must be 1-D arrays of the same length, with at least three models")
    if np.any(~np.isfinite(xs)) or np.any(~np.isfinite(ys)):
        raise ValueError("x and y must be finite (one score per model)")
    generator = np.random.default_rng(rng)
    estimate = _statistic(xs, ys, kind)
    draws = generator.integers(0, xs.size, (n_resamples, xs.size))  # the same stream as one call per replicate
    bx, by = xs[draws], ys[draws]
    varied = (np.ptp(bx, axis=1) > 0) & (np.ptp(by, axis=1) > 0)
    replicates = np.where(varied, _statistics(bx, by, kind), np.nan)
    defined = replicates[np.isfinite(replicates)]
    lower, upper = percentile_bounds(defined, level) if defined.size else (np.nan, np.nan)
    return Interval(estimate, float(lower), float(upper), f"bootstrap-percentile(model),{kind}", level)


def agreement_by_size(
    x: ArrayLike, y: ArrayLike, sizes: Sequence[int], kind: str = "kendall", n_draws: int = 200, rng: RngLike = 0
) -> pd.DataFrame:
    """How the agreement of two benchmarks depends on how many models are compared (Perlitz et al. 2024,
    "Do these LLM benchmarks agree? Fixing benchmark evaluation with BenchBench", §4).

    For each size k, ``n_draws`` random sets of k models (without replacement) and the coefficient
    on each: its mean and its 2.5% and 97.5% quantiles across sets. This is the spread a reader
    would see comparing two benchmarks on some other k models of the same population, not a
    confidence interval.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    generator = np.random.default_rng(rng)
    rows = []
    for k in sizes:
        if not 3 <= k <= xs.size:
            continue
        picks = np.stack([generator.choice(xs.size, k, replace=False) for _ in range(n_draws if k < xs.size else 1)])
        px, py = xs[picks], ys[picks]
        varied = (np.ptp(px, axis=1) > 0) & (np.ptp(py, axis=1) > 0)
        values = _statistics(px[varied], py[varied], kind)
        if values.size:
            lo, hi = np.quantile(values, [0.025, 0.975])
            rows.append({"models": k, "mean": float(np.mean(values)), "low": float(lo), "high": float(hi), "draws": int(values.size)})
    return pd.DataFrame(rows, columns=["models", "mean", "low", "high", "draws"])


def bat_agreement(
    scores: pd.DataFrame, kind: str = "kendall", level: float = 0.95, n_resamples: int = 2000, rng: RngLike = 0
) -> pd.DataFrame:
    """Each benchmark's agreement with the mean of the others (Benchmark Agreement Testing, Perlitz et al. 2024).

    ``scores`` is models × benchmarks (only models with a score on every benchmark are used). The
    reference for benchmark B is the mean over the other benchmarks of their z-scored model scores
    (z-scoring keeps a benchmark with a wide score range from dominating the reference). The
    answer depends on which benchmarks make up the reference: with two other benchmarks, the
    reference is mostly their shared component, so read it beside the pairwise matrix.
    """
    table = scores.dropna()
    if table.shape[1] < 3:
        raise ValueError("bat_agreement needs at least three benchmarks (one against the mean of two or more others)")
    z = (table - table.mean()) / table.std(ddof=1)
    generator = np.random.default_rng(rng)
    rows = []
    for name in table.columns:
        reference = z.drop(columns=name).mean(axis=1)
        interval = rank_agreement(table[name].to_numpy(), reference.to_numpy(), kind, level, n_resamples, generator)
        rows.append({"benchmark": name, "reference": ", ".join(map(str, z.columns.drop(name))), **interval.to_dict()})
    return pd.DataFrame(rows)
