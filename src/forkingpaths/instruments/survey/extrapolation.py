"""Extrapolability: does the group profile found on some items hold on other items?

Items are split into an *evaluated* and a *held-out* set — by topic (whole
topics are held out, so the question is whether the result transfers to a new
subject) or by a seeded random split. For each group g, m_E(g) and m_H(g) are
the model's mean similarity to g on each set (over the base conditions). The
statistic is Pearson's r between m_E and m_H across groups: a high r means the
ranking of groups learnt on one set of questions predicts the other.

One split is one draw: on a real data set, different seeds gave r from 0.36 to 0.70
and both verdicts. So r is computed over many splits — every partition of the topics
into two sets when there are at most ``MAX_SPLITS`` of them, otherwise ``MAX_SPLITS``
seeded random splits — and the statistic is the mean r over splits, r̄ (the
distribution over splits is reported too). The splits are drawn once per run and
shared by every model (:func:`candidate_splits`), so a model's result does not depend
on its position in the model list.

Interval: percentile item bootstrap — items are resampled with replacement (one draw
for all splits, and for the model and the uniform reference alike), each split keeps
the drawn items on its sides, and r̄ is recomputed. Reference: the same r̄ for a model
that answers uniformly (the human data's own structure); the excess r̄ − r̄_uniform
gets an interval from the same draws, so the comparison carries uncertainty. Baseline:
a permutation test that applies one shuffle of the group labels to the held-out means
of every split; p = (1 + #{r̄* ≥ r̄}) / (1 + B), one-sided because extrapolation claims a
positive relation (Good 2005, "Permutation, Parametric and Bootstrap Tests of
Hypotheses", ch. 3). The percentile interval of a correlation is a convention here; it
is not adjusted for few items (the finding flags fewer than FEW_CLUSTERS items).
"""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.stats.uncertainty import percentile_bounds

MIN_GROUPS = 3
PERMUTATIONS = 2000
MAX_SPLITS = 64


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


def candidate_splits(
    items: pd.DataFrame, holdout: dict[str, Any], rng: np.random.Generator
) -> tuple[list[set[str]], dict[str, Any]]:
    """The held-out item sets to average over, and a description.

    Named topics (``holdout.topics``): that one split. ``by: topic``: every partition of the
    topics into two non-empty sets (each side with at least 2 items; a partition and its
    mirror give the same r, so each is listed once) when there are at most ``MAX_SPLITS``,
    else ``MAX_SPLITS`` draws of :func:`split_items`. ``by: random``: ``MAX_SPLITS``
    draws of :func:`split_items`. Duplicates are dropped.
    """
    topics = items.dropna(subset=["topic"])
    by = holdout.get("by") or ("topic" if topics["topic"].nunique() >= 2 else "random")
    if by == "topic" and holdout.get("topics"):
        _, held, description = split_items(items, holdout, rng)
        return [held], {**description, "kind": "named topics", "n_splits": 1}
    if by == "topic":
        names = sorted(topics["topic"].unique())
        if 2 ** (len(names) - 1) - 1 <= MAX_SPLITS:
            n_items = len(items)
            held_sets = []
            for size in range(1, len(names)):
                for chosen in combinations(names[1:], size):
                    held = set(items.loc[items["topic"].isin(chosen), "item_id"])
                    if len(held) >= 2 and n_items - len(held) >= 2:
                        held_sets.append(held)
            return held_sets, {"by": "topic", "kind": "every topic partition", "n_splits": len(held_sets)}
    held_sets, seen = [], set()
    for _ in range(MAX_SPLITS):
        _, held, description = split_items(items, {**holdout, "by": by}, rng)
        key = frozenset(held)
        if key not in seen:
            seen.add(key)
            held_sets.append(held)
    return held_sets, {"by": description["by"], "kind": f"{MAX_SPLITS} seeded random splits", "n_splits": len(held_sets)}


def _mean_over_splits(rs: np.ndarray) -> np.ndarray:
    """Mean r over the splits per resample, NaN when no split has an r (too few drawn items)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(rs, axis=1)


def _null_summary(null: np.ndarray) -> dict[str, float]:
    """Mean and 95% quantile of the permutation null (NaN when every permuted r is undefined)."""
    finite = null[np.isfinite(null)]
    if not finite.size:
        return {"null_mean": float("nan"), "null_q95": float("nan")}
    return {"null_mean": float(finite.mean()), "null_q95": float(np.quantile(finite, 0.95))}


def _split_rs(scores: np.ndarray, held: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pearson r across groups per (resample, split): ``held`` is splits × items, ``weights``
    resamples × items, ``scores`` items × groups; returns resamples × splits."""
    out = np.empty((weights.shape[0], held.shape[0]))
    for k, mask in enumerate(held):
        out[:, k] = _pearson_rows(_group_means(scores, weights * ~mask), _group_means(scores, weights * mask))
    return out


def extrapolability(
    align: pd.DataFrame,
    items: pd.DataFrame,
    holdout: dict[str, Any],
    level: float,
    n_resamples: int,
    rng: np.random.Generator,
    reference: pd.DataFrame | None = None,
    splits: tuple[list[set[str]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Mean correlation over splits of group similarity on evaluated vs held-out items, with
    its interval, its excess over a uniform model's and a permutation baseline.

    ``reference`` holds the similarity of an uninformative model (uniform answers) to each
    group per item (columns item_id, group, similarity): some groups answer more evenly
    than others on every topic, so even that model gets a positive r; the verdict requires
    the model's r̄ to exceed the reference's with an interval above 0. ``splits`` (from
    :func:`candidate_splits`) is shared by every model of a run; without it the splits are
    drawn from ``rng``.
    """
    held_sets, description = splits if splits is not None else candidate_splits(items, holdout, rng)
    per_item = align.groupby(["item_id", "group"])["similarity"].mean().unstack("group")
    per_item = per_item.loc[:, per_item.notna().sum() >= 2]
    groups = list(per_item.columns)
    ids = list(per_item.index)
    held = np.array([[i in h for i in ids] for h in held_sets], dtype=bool).reshape(len(held_sets), len(ids))
    usable = (held.sum(axis=1) >= 2) & ((~held).sum(axis=1) >= 2)
    held = held[usable]
    if len(groups) < MIN_GROUPS or not len(held):
        return {"available": False, "split": description, "reason": f"needs at least {MIN_GROUPS} groups and 2 items in each set"}
    scores = per_item.to_numpy()
    ones = np.ones((1, len(ids)))
    rs = _split_rs(scores, held, ones)[0]
    r = float(np.nanmean(rs))
    weights = rng.multinomial(len(ids), np.full(len(ids), 1 / len(ids)), size=n_resamples).astype(float)
    boot = _mean_over_splits(_split_rs(scores, held, weights))
    lower, upper = percentile_bounds(boot, level)
    r_reference: float | None = None
    excess: dict[str, Any] | None = None
    rs_reference = np.full(len(rs), np.nan)
    if reference is not None:
        ref = reference.groupby(["item_id", "group"])["similarity"].mean().unstack("group").reindex(index=ids, columns=groups).to_numpy()
        rs_reference = _split_rs(ref, held, ones)[0]
        r_reference = float(np.nanmean(rs_reference))
        boot_excess = boot - _mean_over_splits(_split_rs(ref, held, weights))
        lo_x, hi_x = percentile_bounds(boot_excess, level)
        excess = {"estimate": r - r_reference, "lower": float(lo_x), "upper": float(hi_x), "method": "item-bootstrap-percentile"}
    perms = np.argsort(rng.random((PERMUTATIONS, len(groups))), axis=1)
    null = np.zeros(PERMUTATIONS)
    for mask in held:
        m_e, m_h = _group_means(scores, ones * ~mask)[0], _group_means(scores, ones * mask)[0]
        null += _pearson_rows(np.broadcast_to(m_e, perms.shape), m_h[perms])
    null /= len(held)
    p_value = float((1 + np.sum(null >= r - 1e-12)) / (1 + PERMUTATIONS))
    # The split with the median r is drawn (the upper one of the middle two for an even count).
    # Ranked, not matched to nanmedian: two splits are then equally far from the median, and
    # which one rounding favoured changed between numpy versions.
    finite = np.flatnonzero(np.isfinite(rs))
    shown = int(finite[np.argsort(rs[finite], kind="stable")[len(finite) // 2]]) if len(finite) else 0
    m_e, m_h = _group_means(scores, ones * ~held[shown])[0], _group_means(scores, ones * held[shown])[0]
    spearman = float(_pearson_rows(pd.Series(m_e).rank().to_numpy(), pd.Series(m_h).rank().to_numpy()))
    beats = excess is None or excess["lower"] > 0
    extrapolates = bool(lower > 0 and p_value < 1 - level and beats)
    heldout_ids = [i for i, h in zip(ids, held[shown]) if h]
    return {
        "available": True,
        "split": {
            **description,
            "n_splits": int(len(held)),
            "evaluated_items": int(len(ids) - len(heldout_ids)),  # of the split shown in by_group
            "heldout_items": len(heldout_ids),
            "shown_heldout_items": heldout_ids,
        },
        "n_groups": len(groups),
        "n_items": len(ids),
        "by_group": [{"group": g, "evaluated": float(a), "heldout": float(b)} for g, a, b in zip(groups, m_e, m_h)],
        "pearson_r": {"estimate": r, "lower": float(lower), "upper": float(upper), "method": "mean over splits; item-bootstrap-percentile"},
        "splits": {
            "n": int(len(held)),
            "r_min": float(np.nanmin(rs)),
            "r_q05": float(np.nanquantile(rs, 0.05)),
            "r_median": float(np.nanmedian(rs)),
            "r_q95": float(np.nanquantile(rs, 0.95)),
            "r_max": float(np.nanmax(rs)),
            "share_above_uniform": float(np.mean(rs > rs_reference)) if reference is not None else None,
        },
        "spearman_rho": spearman,
        "uniform_model_r": r_reference,
        "excess_over_uniform": excess,
        "permutation": {"p_value": p_value, "n_permutations": PERMUTATIONS, **_null_summary(null)},
        "verdict": {
            "word": "extrapolates" if extrapolates else "does not extrapolate",
            "rule": (
                f"extrapolates when the {level:.0%} interval of the mean r over splits lies above 0, the permutation "
                f"p-value is below {1 - level:.2f} and the interval of r minus the r of a model that answers uniformly "
                "lies above 0"
            ),
        },
    }
