"""Small subsets of a benchmark's items that estimate every model's full score (tinyBenchmarks, metabench).

A subset is chosen from the answers of some models (the training models) and judged on others
(held out): how far each held-out model's estimated full score is from its real full score, and
whether the estimated scores rank the held-out models as the full scores do. Matrices are
models × items of 0/1 (NaN = not answered); a model's full score is the mean of its answered items.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.cluster.vq import kmeans2

from forkingpaths.stats.irt import IRTFit, eap_abilities, fit_2pl, item_information, response_probabilities
from forkingpaths.stats.uncertainty import RngLike

__all__ = ["SUBSET_METHODS", "Subset", "estimate_scores", "select_items", "subset_curve"]

Array = NDArray[np.float64]
Selection = Literal["random", "stratified", "anchor", "information"]
Estimator = Literal["mean", "irt"]
#: The (selection, estimator) pairs the curve reports: plain means on random, stratified and
#: anchor subsets, and IRT estimates on anchor and information subsets.
SUBSET_METHODS: tuple[tuple[Selection, Estimator], ...] = (
    ("random", "mean"),
    ("stratified", "mean"),
    ("anchor", "mean"),
    ("anchor", "irt"),
    ("information", "irt"),
)
#: Difficulty strata of stratified selection (quantiles of the training models' item means).
STRATA = 5


@dataclass(frozen=True)
class Subset:
    """Chosen item columns and the weight of each in the estimate of the full mean (weights sum to 1)."""

    items: NDArray[np.intp]
    weights: Array


def _filled(train: Array) -> Array:
    """The training matrix with each missing cell replaced by its item's mean (0.5 for an unanswered item)."""
    answered = np.sum(~np.isnan(train), axis=0)
    means = np.where(answered > 0, np.nansum(train, axis=0) / np.maximum(answered, 1), 0.5)
    return np.where(np.isnan(train), means[None, :], train)


def select_items(
    train: ArrayLike, k: int, method: Selection, rng: RngLike = 0, fit: IRTFit | None = None
) -> Subset:
    """Choose ``k`` of the items from the training models' answers.

    - ``random``: k items uniformly without replacement, equal weights.
    - ``stratified``: items cut into :data:`STRATA` strata at the quantiles of their mean score
      over the training models; k is shared out in proportion to the strata's sizes (largest
      remainders), items drawn at random within each, and each weighted by its stratum's size over
      its draws (Cochran 1977, "Sampling Techniques", §5.3: the stratified estimator of a mean).
    - ``anchor``: k-means with k clusters on the items' response vectors over the training models
      (scipy ``kmeans2``, k-means++ start, seeded), the item nearest each centre as its anchor,
      weighted by its cluster's share of items (Polo et al. 2024, "tinyBenchmarks: evaluating LLMs
      with fewer examples", §3.1, anchor points). When k is at least the number of distinct
      response patterns, each pattern is a cluster (fewer than k anchors, the answer being exact).
    - ``information``: the k items of largest mean Fisher information
      ``a_i² P_i(θ_j)(1 - P_i(θ_j))`` over the training models' abilities (needs ``fit``, a 2PL
      fitted on them), equal weights (Kipnis et al. 2024, "metabench", select items by information).
    """
    y = np.asarray(train, dtype=float)
    n_items = y.shape[1]
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be between 1 and the number of items ({n_items}), got {k}")
    generator = np.random.default_rng(rng)
    if method == "random":
        return Subset(np.sort(generator.choice(n_items, k, replace=False)), np.full(k, 1.0 / k))
    if method == "stratified":
        return _stratified(np.nanmean(_filled(y), axis=0), k, generator)
    if method == "anchor":
        return _anchors(_filled(y), k, generator)
    if method == "information":
        if fit is None:
            raise ValueError("information selection needs a 2PL fitted on the training models")
        info = item_information(np.nan_to_num(fit.slope), np.nan_to_num(fit.intercept), fit.theta).mean(axis=1)
        info = np.where(fit.fitted, info, -1.0)
        chosen = np.sort(np.argsort(-info, kind="stable")[:k])
        return Subset(chosen, np.full(k, 1.0 / k))
    raise ValueError(f"method must be random, stratified, anchor or information, got {method!r}")


def _stratified(means: Array, k: int, generator: np.random.Generator) -> Subset:
    ranks = stats.rankdata(means, method="ordinal") - 1
    strata = np.minimum((ranks * STRATA) // means.size, STRATA - 1)
    sizes = np.bincount(strata, minlength=STRATA)
    quota = k * sizes / means.size
    take = np.floor(quota).astype(int)
    for extra in np.argsort(-(quota - take), kind="stable")[: k - take.sum()]:
        take[extra] += 1
    items, weights = [], []
    for stratum in range(STRATA):
        if take[stratum] == 0:
            continue
        members = np.flatnonzero(strata == stratum)
        items.append(generator.choice(members, take[stratum], replace=False))
        weights.append(np.full(take[stratum], sizes[stratum] / means.size / take[stratum]))
    order = np.argsort(np.concatenate(items))
    return Subset(np.concatenate(items)[order], np.concatenate(weights)[order])


def _anchors(filled: Array, k: int, generator: np.random.Generator) -> Subset:
    points = filled.T  # one row per item
    patterns, first, counts = np.unique(points, axis=0, return_index=True, return_counts=True)
    if k >= patterns.shape[0]:
        # as many clusters as distinct response patterns: each pattern is a cluster, its first item the anchor
        order = np.argsort(first)
        return Subset(np.asarray(first[order], dtype=np.intp), counts[order] / points.shape[0])
    with warnings.catch_warnings():
        # an empty cluster is skipped below; k-means++ on repeated points divides 0 by 0 in scipy
        warnings.filterwarnings("ignore", "One of the clusters is empty", UserWarning)
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        centres, labels = kmeans2(points, k, minit="++", seed=generator)
    chosen, weights = [], []
    for cluster in range(k):
        members = np.flatnonzero(labels == cluster)
        if members.size == 0:
            continue
        distance = np.sum((points[members] - centres[cluster]) ** 2, axis=1)
        chosen.append(members[np.argmin(distance)])
        weights.append(members.size / points.shape[0])
    order = np.argsort(chosen)
    return Subset(np.asarray(chosen, dtype=np.intp)[order], np.asarray(weights)[order])


def estimate_scores(test: ArrayLike, subset: Subset, estimator: Estimator, fit: IRTFit | None = None, train: ArrayLike | None = None) -> Array:
    """Each test model's estimated full score from its answers on the subset.

    - ``mean``: the weighted mean ``Σ_{i∈S} w_i y_i / Σ_{i∈S answered} w_i``.
    - ``irt``: the model's EAP ability from its subset answers under ``fit`` (:func:`eap_abilities`),
      then ``(Σ_{i∈S} y_i + Σ_{i∉S} P_i(θ̂)) / I``: answered subset items count as answered, the rest
      as predicted (Polo et al. 2024, §3.2, the p-IRT estimator). Items not fitted (every training
      model right, or every one wrong) are predicted by their training mean (``train``).
    """
    y = np.asarray(test, dtype=float)
    part = y[:, subset.items]
    answered = ~np.isnan(part)
    if estimator == "mean":
        w = np.where(answered, subset.weights[None, :], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.nansum(np.nan_to_num(part) * w, axis=1) / w.sum(axis=1))
    if estimator != "irt":
        raise ValueError(f"estimator must be mean or irt, got {estimator!r}")
    if fit is None or train is None:
        raise ValueError("the irt estimator needs the 2PL and the training matrix")
    theta, _ = eap_abilities(part, fit.slope[subset.items], fit.intercept[subset.items])
    predicted = response_probabilities(np.nan_to_num(fit.slope), np.nan_to_num(fit.intercept), theta).T
    train_means = np.nanmean(_filled(np.asarray(train, dtype=float)), axis=0)
    predicted = np.where(fit.fitted[None, :], predicted, train_means[None, :])
    full = predicted.copy()
    full[:, subset.items] = np.where(answered, part, predicted[:, subset.items])
    return np.asarray(full.mean(axis=1))


def subset_curve(
    matrix: ArrayLike | pd.DataFrame,
    sizes: Sequence[int],
    methods: Sequence[tuple[Selection, Estimator]] = SUBSET_METHODS,
    n_folds: int = 5,
    rng: RngLike = 0,
) -> pd.DataFrame:
    """Error and rank agreement of subset estimates against full scores, by leave-models-out cross-validation.

    The models are split at random into ``n_folds`` folds; for each fold, the subsets are chosen
    (and the 2PL fitted) on the other folds' models, and the fold's models' full scores estimated
    from their subset answers. With every model's cross-validated estimate in hand, for each
    subset size k and method: the mean and the largest absolute error (in score units), and
    Spearman's ρ and Kendall's τ_b between estimated and full scores over all models. Full scores
    use every answered item; subsets are drawn from the items every training fold can see.
    """
    y = np.asarray(matrix, dtype=float)
    n_models, n_items = y.shape
    if n_models < max(n_folds, 4):
        raise ValueError(f"subset_curve needs at least {max(n_folds, 4)} models, got {n_models}")
    generator = np.random.default_rng(rng)
    full = np.nanmean(y, axis=1)
    folds = np.array_split(generator.permutation(n_models), n_folds)
    needs_fit = any(estimator == "irt" or selection == "information" for selection, estimator in methods)
    kept = [k for k in sizes if 1 <= k < n_items]
    estimates = {(k, m): np.full(n_models, np.nan) for k in kept for m in methods}
    for held in folds:
        train_rows = np.setdiff1d(np.arange(n_models), held)
        train = y[train_rows]
        fit = fit_2pl(train) if needs_fit else None
        for k in kept:
            for selection, estimator in methods:
                subset = select_items(train, k, selection, generator, fit)
                estimates[(k, (selection, estimator))][held] = estimate_scores(y[held], subset, estimator, fit, train)
    rows = []
    for (k, (selection, estimator)), values in estimates.items():
        error = np.abs(values - full)
        rows.append(
            {
                "k": k,
                "selection": selection,
                "estimator": estimator,
                "mean_abs_error": float(np.nanmean(error)),
                "max_abs_error": float(np.nanmax(error)),
                "spearman": float(stats.spearmanr(values, full, nan_policy="omit").statistic),
                "kendall": float(stats.kendalltau(values, full, nan_policy="omit").statistic),
            }
        )
    return pd.DataFrame(rows).sort_values(["selection", "estimator", "k"], ignore_index=True)
