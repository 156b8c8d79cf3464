"""Stability: does "which group is the model closest to" survive changes of format?

Inputs are the alignment rows of one model under the base conditions (no
persona). Every interval is an item-clustered bootstrap: items are resampled
jointly for all conditions and groups, so contrasts between groups and between
conditions stay paired.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.stats.multiverse import claim_shares, kendall_w, rank_first_probability
from forkingpaths.stats.uncertainty import cluster_bootstrap_means, percentile_bounds
from forkingpaths.stats.variance import variance_components

# Verdict thresholds (documented in docs/survey.md).
STABLE_CLOSEST_SHARE = 0.8
STABLE_KENDALL_W = 0.7
VARIANCE_RESAMPLES = 200


def group_scores(
    align: pd.DataFrame, level: float, n_resamples: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, pd.Index]:
    """Mean similarity per (condition, group) with item-clustered percentile CIs.

    Returns the table, the bootstrap replicates (n_resamples × cells) and the cell labels,
    so callers can build paired contrasts from the same draws.
    """
    cells = pd.MultiIndex.from_frame(align[["condition_id", "group"]])
    labels, estimates, replicates = cluster_bootstrap_means(
        align["similarity"].to_numpy(), align["item_id"].to_numpy(), cells, n_resamples, rng
    )
    lower, upper = percentile_bounds(replicates, level)
    n_items = align.groupby(["condition_id", "group"])["item_id"].nunique()
    table = pd.DataFrame(
        {
            "condition_id": [c for c, _ in labels],
            "group": [g for _, g in labels],
            "estimate": estimates,
            "lower": lower,
            "upper": upper,
            "se": np.nanstd(replicates, axis=0, ddof=1),
            "n_items": [int(n_items.loc[label]) for label in labels],
            "method": "cluster-bootstrap(item)",
        }
    )
    return table, replicates, labels


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


def specification_curve(
    scores: pd.DataFrame,
    replicates: np.ndarray,
    labels: pd.Index,
    target: str,
    conditions: pd.DataFrame,
    level: float,
) -> list[dict[str, Any]]:
    """Per condition: similarity to ``target`` and its margin over the best other group.

    margin_k = sim(target) − max_{h ≠ target} sim(h) in condition k; its interval comes
    from the same bootstrap draws (paired), percentile method.
    """
    position = {label: i for i, label in enumerate(labels)}
    rows = []
    for condition_id, part in scores.groupby("condition_id", sort=False):
        others = part[part["group"] != target]
        target_row = part[part["group"] == target].iloc[0]
        best_other = others.sort_values("estimate", ascending=False).iloc[0]
        target_reps = replicates[:, position[(condition_id, target)]]
        # fmax skips NaN (a group absent from every drawn item) and gives NaN only when all are
        other_reps = np.fmax.reduce(np.column_stack([replicates[:, position[(condition_id, g)]] for g in others["group"]]), axis=1)
        margin_reps = target_reps - other_reps
        lo, hi = percentile_bounds(margin_reps, level)
        rows.append(
            {
                "condition_id": condition_id,
                "levels": conditions.loc[condition_id].to_dict(),
                "estimate": float(target_row["estimate"]),
                "lower": float(target_row["lower"]),
                "upper": float(target_row["upper"]),
                "runner_up": str(best_other["group"]),
                "margin": float(target_row["estimate"] - best_other["estimate"]),
                "margin_lower": float(lo),
                "margin_upper": float(hi),
                "method": "cluster-bootstrap(item)",
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


def stability(
    align: pd.DataFrame,
    design_factors: list[str],
    conditions: pd.DataFrame,
    level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Every stability number for one model; see docs/survey.md for the verdict rules."""
    scores, replicates, labels = group_scores(align, level, n_resamples, rng)
    ranking = rankings(scores)
    closest = closest_group_summary(ranking, scores)
    n_conditions, n_groups = len(ranking), scores["group"].nunique()
    result: dict[str, Any] = {
        "group_scores": scores.to_dict(orient="records"),
        "rankings": ranking.to_dict(orient="records"),
        "closest_group": closest,
        "kendall_w": None,
        "p_closest": {},
        "specification_curve": [],
        "claim": None,
    }
    if n_groups >= 2:
        wide = scores.pivot(index="condition_id", columns="group", values="estimate")
        if n_conditions >= 2:
            result["kendall_w"] = float(kendall_w(wide))
        result["p_closest"] = _closest_probability(align, n_resamples, rng)
        curve = specification_curve(scores, replicates, labels, closest["modal"], conditions, level)
        result["specification_curve"] = curve
        result["claim"] = {
            "text": f"{closest['modal']} is the closest group",
            **claim_shares(
                [r["margin_lower"] for r in curve], [r["margin"] for r in curve], [r["margin_upper"] for r in curve]
            ),
        }
    result["variance_components"], result["variance_note"] = _variance_or_reason(align, design_factors, level, rng)
    rule = (
        f"stable when the same group is closest in at least {STABLE_CLOSEST_SHARE:.0%} of conditions "
        f"and Kendall's W of the group rankings across conditions is at least {STABLE_KENDALL_W}; "
        "not assessed with fewer than 2 conditions or 2 groups"
    )
    if n_conditions < 2 or n_groups < 2:
        word = "not assessed"
    else:
        stable = closest["modal_share"] >= STABLE_CLOSEST_SHARE and result["kendall_w"] >= STABLE_KENDALL_W
        word = "stable" if stable else "unstable"
    result["verdict"] = {"word": word, "rule": rule}
    return result


def _closest_probability(align: pd.DataFrame, n_resamples: int, rng: np.random.Generator) -> dict[str, float]:
    """Probability that each group is closest, over conditions × item-bootstrap replicates
    (:func:`forkingpaths.stats.multiverse.rank_first_probability`)."""
    try:
        series = rank_first_probability(align, "similarity", "group", ["condition_id"], "item_id", n_resamples, rng)
    except ValueError:  # a group missing from some condition: no common footing
        return {}
    return {str(g): float(p) for g, p in series.items()}
