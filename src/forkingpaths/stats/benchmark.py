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
    if kind == "kendall":
        return float(stats.kendalltau(x, y).statistic)
    if kind == "pearson":
        return float(stats.pearsonr(x, y).statistic)
    if kind == "spearman":
        return float(stats.spearmanr(x, y).statistic)
    raise ValueError(f"kind must be kendall, pearson or spearman, got {kind!r}")


def rank_agreement(
    x: ArrayLike, y: ArrayLike, kind: str = "kendall", level: float = 0.95, n_resamples: int = 2000, rng: RngLike = 0
) -> Interval:
    """Kendall's τ_b (or Pearson's r, Spearman's ρ) between two benchmarks' scores of the same models,
    with a percentile bootstrap interval over models (Efron & Tibshirani 1993, ch. 13).

    Each replicate draws the models with replacement (one ``rng.integers`` call per replicate) and
    recomputes the coefficient; replicates where it is undefined (every drawn score tied) are left
    out. The coverage of this interval at small numbers of models is checked in
    tests/stats/test_benchmark.py; below about 10 models it is too short (docs/meta.md).
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size < 3:
        raise ValueError("x and y must be 1-D arrays of the same length, with at least three models")
    if np.any(~np.isfinite(xs)) or np.any(~np.isfinite(ys)):
        raise ValueError("x and y must be finite (one score per model)")
    generator = np.random.default_rng(rng)
    estimate = _statistic(xs, ys, kind)
    replicates = np.full(n_resamples, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for b in range(n_resamples):
            draw = generator.integers(0, xs.size, xs.size)
            if np.ptp(xs[draw]) > 0 and np.ptp(ys[draw]) > 0:
                replicates[b] = _statistic(xs[draw], ys[draw], kind)
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
        values = []
        for _ in range(n_draws if k < xs.size else 1):
            pick = generator.choice(xs.size, k, replace=False)
            if np.ptp(xs[pick]) > 0 and np.ptp(ys[pick]) > 0:
                values.append(_statistic(xs[pick], ys[pick], kind))
        if values:
            lo, hi = np.quantile(values, [0.025, 0.975])
            rows.append({"models": k, "mean": float(np.mean(values)), "low": float(lo), "high": float(hi), "draws": len(values)})
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
