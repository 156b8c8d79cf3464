"""Stability: does "which group is the model closest to" survive changes of format?

Inputs are the alignment rows of one model under the base conditions (no
persona). Every interval is an item-clustered bootstrap: items are resampled
jointly for all conditions and groups, so contrasts between groups and between
conditions stay paired.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.stats.multiverse import claim_shares, kendall_w, rank_first_probability
from forkingpaths.stats.uncertainty import ClusteredMeans, clustered_means, contrasts, t_intervals
from forkingpaths.stats.variance import variance_components

# Verdict thresholds (documented in docs/survey.md).
STABLE_CLOSEST_SHARE = 0.8
STABLE_KENDALL_W = 0.7
VARIANCE_RESAMPLES = 200
METHOD = "cluster-t(item)"


def within_score_range(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval bounds intersected with [0, 1], the range of a similarity score.

    With few items a t interval can reach past the range a mean similarity can take
    (e.g. [−0.07, 1.43] from four items). Cutting it at the range drops only values
    the parameter cannot have, so an interval that covered the true mean still covers
    it: the coverage is unchanged. NaN bounds (no interval) stay NaN.
    """
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def group_scores(
    align: pd.DataFrame, level: float, n_resamples: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, ClusteredMeans, pd.Index]:
    """Mean similarity per (condition, group) with item-clustered CR1 t intervals.

    θ_kg ± t_{G−1}·se_kg, se from the cluster-robust (CR1) covariance of all cell means
    with items as clusters (:func:`forkingpaths.stats.uncertainty.clustered_means`).
    Returns the table, the :class:`ClusteredMeans` (its covariance gives paired contrasts
    between cells on the same items) and the cell labels. ``n_resamples`` and ``rng`` are
    unused (kept for callers); the percentile bootstrap these intervals replace
    under-covered with few items (docs/statistics.md).
    """
    cells = pd.MultiIndex.from_frame(align[["condition_id", "group"]])
    means = clustered_means(align["similarity"].to_numpy(), align["item_id"].to_numpy(), cells)
    labels = means.labels
    se = np.sqrt(np.diag(means.cov))
    lower, upper, _ = t_intervals(means.estimates, se, means.n_clusters - 1, level)
    lower, upper = within_score_range(lower, upper)
    table = pd.DataFrame(
        {
            "condition_id": [c for c, _ in labels],
            "group": [g for _, g in labels],
            "estimate": means.estimates,
            "lower": lower,
            "upper": upper,
            "se": se,
            "n_items": means.n_clusters.astype(int),
            "method": METHOD,
        }
    )
    return table, means, labels


def rankings(scores: pd.DataFrame) -> pd.DataFrame:
    """Groups ordered from most to least similar, per condition."""
    rows = []
    for condition_id, part in scores.groupby("condition_id", sort=False):
        ordered = part.sort_values(["estimate", "group"], ascending=[False, True])
        rows.append({"condition_id": condition_id, "ranking": ordered["group"].tolist(), "closest": ordered["group"].iloc[0]})
    return pd.DataFrame(rows)


def closest_group_summary(ranking: pd.DataFrame, scores: pd.DataFrame) -> dict[str, Any]:
    """How often each group is closest; the modal group and its share of conditions.

    When several groups are closest equally often, the one with the highest mean
    similarity over conditions is taken as modal and the others are listed in ``tied_with``.
    """
    counts = ranking["closest"].value_counts()
    top = counts.max()
    tied = list(counts[counts == top].index)
    mean_similarity = scores.groupby("group")["estimate"].mean()
    modal = max(sorted(tied), key=lambda g: mean_similarity[g])
    return {
        "modal": modal,
        "tied_with": sorted(g for g in tied if g != modal),
        "n_conditions": int(len(ranking)),
        "modal_count": int(top),
        "modal_share": float(top / len(ranking)),
        "n_distinct": int(len(counts)),
        "counts": {str(k): int(v) for k, v in counts.items()},
    }


def margin_interval(means: ClusteredMeans, target: Any, others: list[Any], level: float) -> dict[str, Any]:
    """Interval for the margin θ_T − max_{h≠T} θ_h from the pairwise margins d_h = θ_T − θ_h.

    The max is not a smooth function of the means (with tied groups the bootstrap of
    T − max(others) is biased below 0), so the bounds come from the pairwise contrasts,
    each with a CR1 t interval (:func:`forkingpaths.stats.uncertainty.contrasts`):

    - lower = min_h L_h at level 1 − α: the margin exceeds a bound only if every d_h does,
      so P(margin < lower) ≤ P(d_{h₀} < L_{h₀}) ≤ α/2 for the runner-up h₀ — an
      intersection–union argument, no multiplicity adjustment (Berger 1982,
      Technometrics 24(4); Berger & Hsu 1996, Statistical Science 11(4));
    - upper = min_h U_h with each U_h at level 1 − α/(m − 1) for m − 1 other groups: the
      upper bound falls below the margin only if some U_h < d_h, whose probability is at
      most Σ_h α/(2(m − 1)) = α/2 (Bonferroni).

    So [lower, upper] covers the margin with probability at least the level, and
    "reversed significantly" (upper < 0) means some other group is significantly closer
    with family-wise error at most α/2. Returns the bounds and the pairwise rows.
    """
    m = len(others)
    weights = np.zeros((m, len(means.labels)))
    weights[:, means.position(target)] = 1.0
    for row, h in enumerate(others):
        weights[row, means.position(h)] = -1.0
    pairwise = contrasts(means, weights, level)
    adjusted = contrasts(means, weights, 1 - (1 - level) / m)
    return {
        "lower": float(pairwise["lower"].min()),
        "upper": float(adjusted["upper"].min()),
        "pairwise": [
            {"group": str(h), "estimate": float(e), "lower": float(lo), "upper": float(hi), "p_value": float(p)}
            for h, e, lo, hi, p in zip(others, pairwise["estimate"], pairwise["lower"], pairwise["upper"], pairwise["p_value"])
        ],
    }


def specification_curve(
    scores: pd.DataFrame,
    means: ClusteredMeans,
    labels: pd.Index,
    target: str,
    conditions: pd.DataFrame,
    level: float,
) -> list[dict[str, Any]]:
    """Per condition: similarity to ``target`` and its margin over the best other group.

    margin_k = sim(target) − max_{h ≠ target} sim(h) in condition k; its interval comes
    from the pairwise margins against every other group (:func:`margin_interval`).
    """
    rows = []
    for condition_id, part in scores.groupby("condition_id", sort=False):
        others = part[part["group"] != target]
        target_row = part[part["group"] == target].iloc[0]
        best_other = others.sort_values("estimate", ascending=False).iloc[0]
        margin = margin_interval(means, (condition_id, target), [(condition_id, g) for g in others["group"]], level)
        rows.append(
            {
                "condition_id": condition_id,
                "levels": conditions.loc[condition_id].to_dict(),
                "estimate": float(target_row["estimate"]),
                "lower": float(target_row["lower"]),
                "upper": float(target_row["upper"]),
                "runner_up": str(best_other["group"]),
                "margin": float(target_row["estimate"] - best_other["estimate"]),
                "margin_lower": margin["lower"],
                "margin_upper": margin["upper"],
                "method": METHOD,
                "margin_method": "pairwise margins: min of lower bounds (intersection-union), min of Bonferroni upper bounds",
            }
        )
    rows.sort(key=lambda r: r["estimate"])
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def variance_shares(
    align: pd.DataFrame, design_factors: list[str], level: float, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Share of similarity variance per design factor, item, group, their item interactions
    and the residual.

    Each varying design factor f gets a main effect (it shifts every item alike) and an
    item × f interaction (its effect differs from item to item, e.g. reversing the options
    flips some answers and not others); item × group is the part of the model–human match
    that is specific to an item and a group. Factors with a single level are left out.
    Intervals resample items only, so the shares of factors with few levels are less
    certain than their intervals suggest. See
    :func:`forkingpaths.stats.variance.variance_components` for the estimator.
    """
    varying = [f for f in design_factors if align[f].nunique() > 1]
    table = align.rename(columns={"item_id": "item"})
    interactions = [("item", f) for f in varying] + [("item", "group")]
    components = variance_components(
        table,
        "similarity",
        [*varying, "item", "group"],
        n_resamples=VARIANCE_RESAMPLES,
        level=level,
        rng=rng,
        cluster="item",
        interactions=interactions,
    )
    return components.to_dict(orient="records")


def _variance_or_reason(
    align: pd.DataFrame, design_factors: list[str], level: float, rng: np.random.Generator
) -> tuple[list[dict[str, Any]], str | None]:
    """The variance decomposition, or an empty list and the reason it cannot be estimated
    (too few items or groups, or factors confounded by a ``max_conditions`` subset)."""
    if align["item_id"].nunique() < 2 or align["group"].nunique() < 2:
        return [], "needs at least 2 items and 2 groups"
    try:
        return variance_shares(align, design_factors, level, rng), None
    except ValueError as error:
        return [], f"not estimated: {error}"


def pooled_closest(align: pd.DataFrame, level: float) -> dict[str, Any]:
    """The closest group over all conditions pooled, and whether the items resolve it.

    The group with the highest mean similarity over the given conditions and items (the
    first row of ``overall`` and of the terminal table) and its margins over every other
    group, each with an item-clustered CR1 t interval. ``resolved`` is True when every
    margin's lower bound lies above 0: an intersection–union test of "T is closer than
    every other group" at level α/2 (one-sided), which accounts for item sampling because
    every condition's similarities are computed on the same items.
    """
    means = clustered_means(align["similarity"].to_numpy(), align["item_id"].to_numpy(), align["group"].to_numpy())
    order = np.argsort(-means.estimates, kind="stable")
    target = means.labels[order[0]]
    others = [means.labels[i] for i in order[1:]]
    margin = margin_interval(means, target, others, level)
    return {
        "group": str(target),
        "by": "pooled mean similarity over the no-persona conditions",
        "estimate": float(means.estimates[order[0]]),
        "margin_lower": margin["lower"],
        "margins": margin["pairwise"],
        "resolved": bool(margin["lower"] > 0),
        "method": METHOD,
    }


def stability_verdict(
    closest: dict[str, Any], ranking: pd.DataFrame, kendall: float | None, claim: dict[str, Any] | None, n_groups: int
) -> dict[str, Any]:
    """The stability verdict word and its rule; see docs/survey.md.

    not assessed: fewer than 2 conditions or 2 groups. unstable: the pooled closest group
    is closest in fewer than STABLE_CLOSEST_SHARE of the conditions, Kendall's W is below
    STABLE_KENDALL_W, or some condition reverses it significantly. closest group not
    resolved: the conditions agree but the pooled margins do not all exclude 0, so the
    agreement may be shared item noise. stable: otherwise. The two thresholds are
    conventions; the inferential part is the margin test (:func:`pooled_closest`).
    """
    rule = (
        "stable when the pooled closest group is closer than every other group with every item-clustered "
        f"margin interval above 0, is closest in at least {STABLE_CLOSEST_SHARE:.0%} of conditions, no condition "
        f"reverses it significantly and Kendall's W across conditions is at least {STABLE_KENDALL_W} "
        "(80% and 0.7 are conventions); 'closest group not resolved' when only the margin test fails; "
        "not assessed with fewer than 2 conditions or 2 groups"
    )
    n_conditions = len(ranking)
    if n_conditions < 2 or n_groups < 2 or claim is None or kendall is None:
        return {"word": "not assessed", "rule": rule}
    share = float((ranking["closest"] == closest["group"]).mean())
    consistent = share >= STABLE_CLOSEST_SHARE and kendall >= STABLE_KENDALL_W and claim["counts"]["reversed_significant"] == 0
    word = ("stable" if closest["resolved"] else "closest group not resolved") if consistent else "unstable"
    return {"word": word, "rule": rule, "closest_share": share}


def stability(
    align: pd.DataFrame,
    design_factors: list[str],
    conditions: pd.DataFrame,
    level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Every stability number for one model; see docs/survey.md for the verdict rules.

    The claim of the specification curve is about the pooled closest group (``closest``),
    the group the headline, ``overall`` and the terminal table name first.
    """
    scores, means, labels = group_scores(align, level, n_resamples, rng)
    ranking = rankings(scores)
    closest = closest_group_summary(ranking, scores)
    n_groups = scores["group"].nunique()
    result: dict[str, Any] = {
        "group_scores": scores.to_dict(orient="records"),
        "rankings": ranking.to_dict(orient="records"),
        "closest_group": closest,
        "closest": None,
        "kendall_w": None,
        "p_closest": {},
        "specification_curve": [],
        "claim": None,
    }
    if n_groups >= 2:
        wide = scores.pivot(index="condition_id", columns="group", values="estimate")
        complete = wide.dropna()  # Kendall's W needs every group ranked in each condition compared
        if len(complete) >= 2:
            result["kendall_w"] = float(kendall_w(complete))
        result["p_closest"] = _closest_probability(align, n_resamples, rng)
        result["closest"] = pooled_closest(align, level)
        target = result["closest"]["group"]
        curve = specification_curve(scores, means, labels, target, conditions, level)
        result["specification_curve"] = curve
        # A margin whose pairwise contrasts rest on a single item has no interval (t with 0 df):
        # such conditions are left out of the claim's shares and counted, never given a bound.
        assessed = [r for r in curve if math.isfinite(r["margin_lower"]) and math.isfinite(r["margin_upper"])]
        result["claim"] = (
            {
                "text": f"{target} is the closest group",
                "target": target,
                "unassessed_conditions": len(curve) - len(assessed),
                **claim_shares(
                    [r["margin_lower"] for r in assessed], [r["margin"] for r in assessed], [r["margin_upper"] for r in assessed]
                ),
            }
            if assessed
            else None
        )
    result["variance_components"], result["variance_note"] = _variance_or_reason(align, design_factors, level, rng)
    result["verdict"] = stability_verdict(result["closest"] or {}, ranking, result["kendall_w"], result["claim"], n_groups)
    return result


def _closest_probability(align: pd.DataFrame, n_resamples: int, rng: np.random.Generator) -> dict[str, float]:
    """Probability that each group is closest, over conditions × item-bootstrap replicates
    (:func:`forkingpaths.stats.multiverse.rank_first_probability`)."""
    try:
        series = rank_first_probability(align, "similarity", "group", ["condition_id"], "item_id", n_resamples, rng)
    except ValueError:  # a group missing from some condition: no common footing
        return {}
    return {str(g): float(p) for g, p in series.items()}
