"""Extrapolability: does the group profile found on some items hold on other items?

Items are split into an *evaluated* and a *held-out* set — by topic (whole
topics are held out, so the question is whether the result transfers to a new
subject) or by a seeded random split. For each group g, m_E(g) and m_H(g) are
the model's mean similarity to g on each set (over the base conditions). The
statistic is Pearson's r between m_E and m_H across groups: a high r means the
ranking of groups learnt on one set of questions predicts the other.

Interval: percentile bootstrap that resamples items within each set (a
stratified item bootstrap). Baseline: a permutation test that shuffles the
group labels of m_H; p = (1 + #{r* ≥ r}) / (1 + B), one-sided because
extrapolation claims a positive relation (Good 2005, "Permutation, Parametric
and Bootstrap Tests of Hypotheses", ch. 3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.stats.uncertainty import percentile_bounds

MIN_GROUPS = 3
PERMUTATIONS = 2000


def split_items(
    items: pd.DataFrame, holdout: dict[str, Any], rng: np.random.Generator
) -> tuple[set[str], set[str], dict[str, Any]]:
    """Evaluated and held-out item ids, and a description of the split.

    ``holdout`` (``instrument.params.holdout``): ``{by: topic, topics: [...]}`` holds
    out the named topics; ``{by: topic}`` holds out a seeded random set of whole
    topics covering about ``fraction`` (default 0.5) of the items;
    ``{by: random, fraction: 0.5}`` a seeded random set of items. The default is
    ``by: topic`` when items have at least two topics, else ``by: random``.
    """
    topics = items.dropna(subset=["topic"])
    by = holdout.get("by") or ("topic" if topics["topic"].nunique() >= 2 else "random")
    fraction = float(holdout.get("fraction", 0.5))
    ids = items["item_id"].tolist()
    if by == "topic":
        names = sorted(topics["topic"].unique())
        if holdout.get("topics"):
            chosen = [str(t) for t in holdout["topics"]]
            unknown = [t for t in chosen if t not in names]
            if unknown:
                raise ValueError(f"instrument.params.holdout.topics: unknown topics {unknown}; expected some of {names}")
        else:
            chosen = []
            for topic in rng.permutation(names):
                if len(chosen) and (items["topic"].isin(chosen).sum() >= fraction * len(ids)):
                    break
                chosen.append(str(topic))
            if len(chosen) == len(names):
                chosen = chosen[:-1]
        held = set(items.loc[items["topic"].isin(chosen), "item_id"])
        description: dict[str, Any] = {"by": "topic", "heldout_topics": sorted(chosen)}
    elif by == "random":
        n_held = max(1, int(round(fraction * len(ids))))
        held = set(rng.choice(ids, size=min(n_held, len(ids) - 1), replace=False).tolist())
        description = {"by": "random", "fraction": fraction}
    else:
        raise ValueError(f"instrument.params.holdout.by: unknown value {by!r}; expected topic or random")
    evaluated = set(ids) - held
    description.update(evaluated_items=len(evaluated), heldout_items=len(held))
    return evaluated, held, description


def _group_means(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted means over items, skipping items a group has no data for.

    ``scores`` is items × groups (NaN where a group has no human data for an item),
    ``weights`` is resamples × items.
    """
    present = ~np.isnan(scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ np.where(present, scores, 0.0)) / (weights @ present)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))


def _reference_r(reference: pd.DataFrame, evaluated: set[str], held: set[str], groups: list[str]) -> float:
    per_item = reference.groupby(["item_id", "group"])["similarity"].mean().unstack("group").reindex(columns=groups)
    m_e = per_item.loc[sorted(evaluated & set(per_item.index))].mean(axis=0).to_numpy()
    m_h = per_item.loc[sorted(held & set(per_item.index))].mean(axis=0).to_numpy()
    return float(_pearson_rows(m_e, m_h))


def extrapolability(
    align: pd.DataFrame,
    items: pd.DataFrame,
    holdout: dict[str, Any],
    level: float,
    n_resamples: int,
    rng: np.random.Generator,
    reference: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Correlation across groups of similarity on evaluated vs held-out items, with CI and baselines.

    ``reference`` holds the similarity of an uninformative model (uniform answers) to each
    group per item (columns item_id, group, similarity). Its r on the same split shows how
    much of the correlation the human data produce on their own — some groups answer more
    evenly than others on every topic — and the verdict requires the model to exceed it.
    """
    evaluated, held, split = split_items(items, holdout, rng)
    per_item = align.groupby(["item_id", "group"])["similarity"].mean().unstack("group")
    per_item = per_item.loc[:, per_item.loc[sorted(evaluated & set(per_item.index))].notna().any()]
    per_item = per_item.loc[:, per_item.loc[sorted(held & set(per_item.index))].notna().any()]
    groups = list(per_item.columns)
    if len(groups) < MIN_GROUPS or len(evaluated) < 2 or len(held) < 2:
        return {"available": False, "split": split, "reason": f"needs at least {MIN_GROUPS} groups and 2 items in each set"}
    e_scores = per_item.loc[sorted(evaluated & set(per_item.index))].to_numpy()
    h_scores = per_item.loc[sorted(held & set(per_item.index))].to_numpy()
    m_e, m_h = np.nanmean(e_scores, axis=0), np.nanmean(h_scores, axis=0)
    r = float(_pearson_rows(m_e, m_h))
    r_reference = _reference_r(reference, evaluated, held, groups) if reference is not None else None
    spearman = float(_pearson_rows(pd.Series(m_e).rank().to_numpy(), pd.Series(m_h).rank().to_numpy()))
    w_e = rng.multinomial(len(e_scores), np.full(len(e_scores), 1 / len(e_scores)), size=n_resamples)
    w_h = rng.multinomial(len(h_scores), np.full(len(h_scores), 1 / len(h_scores)), size=n_resamples)
    boot = _pearson_rows(_group_means(e_scores, w_e), _group_means(h_scores, w_h))
    lower, upper = percentile_bounds(boot, level)
    perms = rng.permuted(np.tile(m_h, (PERMUTATIONS, 1)), axis=1)
    null = _pearson_rows(np.broadcast_to(m_e, perms.shape), perms)
    p_value = float((1 + np.sum(null >= r)) / (1 + PERMUTATIONS))
    extrapolates = bool(lower > 0 and p_value < 1 - level and (r_reference is None or r > r_reference))
    return {
        "available": True,
        "split": split,
        "n_groups": len(groups),
        "by_group": [
            {"group": g, "evaluated": float(a), "heldout": float(b)} for g, a, b in zip(groups, m_e, m_h)
        ],
        "pearson_r": {"estimate": r, "lower": float(lower), "upper": float(upper), "method": "stratified-item-bootstrap-percentile"},
        "spearman_rho": spearman,
        "uniform_model_r": r_reference,
        "permutation": {"p_value": p_value, "n_permutations": PERMUTATIONS, "null_mean": float(np.nanmean(null)), "null_q95": float(np.nanquantile(null, 0.95))},
        "verdict": {
            "word": "extrapolates" if extrapolates else "does not extrapolate",
            "rule": (
                f"extrapolates when the {level:.0%} interval of r lies above 0, the permutation p-value is below "
                f"{1 - level:.2f} and r exceeds the r of a model that answers uniformly"
            ),
        },
    }
