"""The MCQ instrument's analyses: accuracy with item-clustered intervals, consistency under option
order (CAT, CircularEval), multi-prompt summaries, paired model comparisons, choices-only
accuracy against chance and position bias; and the findings built from them.

Every number is computed here from the trials table (error rows excluded) and stored in
``results.json``; the report only reads them. Every interval names its method. Verdict
thresholds marked *convention* are this project's choices, not results from the
literature; docs/mcq.md lists them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from forkingpaths import stats
from forkingpaths.instruments.base import Analysis
from forkingpaths.instruments.mcq import factors as F
from forkingpaths.instruments.mcq.items import MCQItem
from forkingpaths.results import Estimate, Finding
from forkingpaths.spec import Spec

#: Convention: a spread of accuracy across conditions (or templates) above this is called design-/prompt-sensitive.
SPREAD_THRESHOLD = 0.05
#: Convention: MCA(1) (right under every option order) this far below mean accuracy is called order-sensitive.
ORDER_GAP_THRESHOLD = 0.10
#: Convention: more than this share of scored answers not readable as an option means accuracy measures the answer format.
UNPARSED_THRESHOLD = 0.05
#: Convention: a displayed position chosen this much more (or less) often than it holds the gold answer is a bias.
POSITION_GAP_THRESHOLD = 0.10


def _none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _interval(estimate: float, lower: float | None, upper: float | None, method: str, level: float, **extra: Any) -> dict[str, Any]:
    return {"estimate": _none(estimate), "lower": _none(lower), "upper": _none(upper), "method": method, "level": level, **extra}


def clustered_accuracy(correct: np.ndarray, items: np.ndarray, level: float) -> dict[str, Any]:
    """Accuracy with the item-clustered Korn-Graubard interval (:func:`forkingpaths.stats.clustered_proportion_ci`).

    With one item there is no interval (bounds ``None``): items, not trials, are the units.
    """
    x = np.asarray(correct, dtype=float)
    n_items = len(np.unique(items))
    if n_items < 2:
        return _interval(float(x.mean()), None, None, "korn-graubard(item)", level, n_items=n_items, n_trials=x.size, se=None)
    ci = stats.clustered_proportion_ci(x, items, level)
    return _interval(ci.estimate, ci.lower, ci.upper, ci.method, level, n_items=n_items, n_trials=x.size, se=ci.se)


def accuracy_intervals(scored: pd.DataFrame, level: float, by: str | None = None) -> list[dict[str, Any]]:
    """Accuracy (share of correct trials) per ``by`` group (or pooled) with :func:`clustered_accuracy`.

    Clustering by item makes trials of one item under several conditions (or repeats)
    count as one independent unit. With one item the interval is missing (``None``).
    """
    groups = [("all", scored)] if by is None else list(scored.groupby(by, sort=False))
    return [
        {"group": key, **clustered_accuracy(part["correct"].to_numpy(dtype=float), part["item_id"].to_numpy(), level)}
        for key, part in groups
    ]


def distinct_displays(scored: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """The trials with one row per distinct display of an item (per model and repeat).

    Two option-order levels can show an item identically (``original`` and ``rotate-0``;
    ``rotate-R`` and ``rotate-(R mod K)`` for an item with K options below the largest);
    pooling over conditions would count that display twice. A display is the other
    factors' levels plus the permutation; the first condition (by id) is kept, the same
    one for every model, so paired comparisons stay paired.
    """
    if "option_order" not in factors or scored.empty:
        return scored
    rest = [f for f in factors if f != "option_order"]
    shown = [
        f"condition:{c}" if p is None else ",".join(map(str, p)) for p, c in zip(scored["permutation"], scored["condition_id"])
    ]  # an unknown permutation (imported results) is its own display
    keyed = scored.assign(_display=shown)
    keyed = keyed.sort_values("condition_id", kind="stable")
    kept = keyed.drop_duplicates(["model", "item_id", "repeat", "_display", *rest])
    return kept.drop(columns="_display").sort_index()


def _label(levels: dict[str, str]) -> str:
    return ", ".join(f"{f}={v}" for f, v in levels.items()) or "(single condition)"


def _levels(row: pd.Series, factors: list[str]) -> dict[str, str]:
    return {f: str(row[f]) for f in factors}


# --------------------------------------------------------------------------- consistency
def order_contexts(scored: pd.DataFrame, factors: list[str]) -> list[tuple[dict[str, str], pd.DataFrame]]:
    """Groups of trials that differ only in option order: (levels of the other factors, trials)."""
    rest = [f for f in factors if f != "option_order"]
    if not rest:
        return [({}, scored)]
    return [(dict(zip(rest, key if isinstance(key, tuple) else (key,))), part) for key, part in scored.groupby(rest, sort=False)]


def correctness_matrix(part: pd.DataFrame) -> pd.DataFrame:
    """Items × option-order variants of 0/1 correctness (repeat 0), for CAT.

    A variant (option_order level) is dropped when it shows every item in the same order as
    an earlier variant (``original`` and ``rotate-0``), so one display is not counted twice;
    a variant whose permutations are unknown (imported results) is always kept. Items
    missing any variant (error rows) are dropped.
    """
    first = part[part["repeat"] == 0]
    kept: list[str] = []
    orders: list[dict[str, tuple[int, ...]]] = []
    for level in dict.fromkeys(first["option_order"]):
        rows = first[first["option_order"] == level]
        perms = {str(i): tuple(p) for i, p in zip(rows["item_id"], rows["permutation"]) if p is not None}
        if len(perms) == len(rows) and any(all(perms.get(i) == other.get(i) for i in perms) for other in orders):
            continue
        kept.append(level)
        orders.append(perms)
    matrix = first[first["option_order"].isin(kept)].pivot_table(index="item_id", columns="option_order", values="correct", aggfunc="first")
    return matrix[kept].dropna().astype(int)


def cat_entries(scored: pd.DataFrame, factors: list[str]) -> list[dict[str, Any]]:
    """CAT metrics (Cavalin et al. 2025) per group of trials that differ only in option order.

    RC_i, MCA(c) on c = 0, 0.1, …, 1, the CAR curve, AUCAR, normDTW and CORE, from
    :func:`forkingpaths.stats.cat_metrics` on :func:`correctness_matrix`.
    """
    if "option_order" not in factors:
        return []
    out = []
    for levels, part in order_contexts(scored, factors):
        matrix = correctness_matrix(part)
        if matrix.shape[1] < 2 or matrix.shape[0] < 1:
            continue
        metrics = stats.cat_metrics(matrix.to_numpy())
        out.append(
            {
                "levels": levels,
                "label": _label(levels),
                "variants": list(matrix.columns),
                "n_items": int(matrix.shape[0]),
                "mean_accuracy": float(matrix.to_numpy().mean()),
                "mca": [{"c": c, "value": v} for c, v in metrics["mca"].items()],
                "car": metrics["car"],
                "aucar": metrics["aucar"],
                "normdtw": metrics["normdtw"],
                "core": metrics["core"],
            }
        )
    return out


def circular_entries(scored: pd.DataFrame, factors: list[str], level: float) -> list[dict[str, Any]]:
    """CircularEval: an item counts as correct only when it is correct under every distinct rotation.

    Per group of trials that differ only in option order, over the ``rotate-R`` levels
    (each distinct rotation of an item once). Accuracy beside it is the plain accuracy over
    the same rotations. Interval: Wilson (one 0/1 outcome per item). Source: Liu et al.
    2024, "MMBench: Is Your Multi-modal Model an All-around Player?" (CircularEval).
    """
    if "option_order" not in factors:
        return []
    out = []
    for levels, part in order_contexts(scored, factors):
        rot = part[(part["repeat"] == 0) & part["option_order"].map(F.is_rotation)]
        if rot["option_order"].nunique() < 2:
            continue
        rot = rot.assign(perm_key=rot["permutation"].map(tuple)).drop_duplicates(["item_id", "perm_key"])
        per_item = rot.groupby("item_id")["correct"].agg(["all", "mean"])
        n = len(per_item)
        k = int(per_item["all"].sum())
        circular = stats.wilson_interval(k, n, level)
        plain = float(per_item["mean"].mean())
        out.append(
            {
                "levels": levels,
                "label": _label(levels),
                "n_items": n,
                "circular": _interval(circular.estimate, circular.lower, circular.upper, circular.method, level),
                "plain_accuracy": plain,
                "drop": plain - circular.estimate,
            }
        )
    return out


def multi_prompt_entry(scored: pd.DataFrame, factors: list[str], level: float, n_resamples: int, seed: int) -> dict[str, Any] | None:
    """MaxP, AvgP, CPS and spread over templates (Mizrahi et al. 2024), with item-bootstrap intervals.

    Per-template accuracy a_p is the mean over items of each item's mean correctness under
    template p (over the other factors). Intervals: percentile intervals over resampled
    items (each resample draws the items with replacement and recomputes every a_p, then
    the summaries), method ``cluster-bootstrap(item)``.
    """
    if "template" not in factors or scored["template"].nunique() < 2:
        return None
    matrix = scored.pivot_table(index="item_id", columns="template", values="correct", aggfunc="mean").dropna()
    if len(matrix) < 2:
        return None
    values = matrix.to_numpy(dtype=float)
    point = stats.multi_prompt(values.mean(axis=0))
    weights = stats.cluster_resample_counts(len(matrix), n_resamples, seed).astype(float)
    replicate = stats.multi_prompt((weights @ values) / len(matrix))
    entry: dict[str, Any] = {"templates": {t: float(a) for t, a in zip(matrix.columns, values.mean(axis=0))}, "n_items": len(matrix)}
    for key in ("maxp", "avgp", "cps", "spread"):
        lower, upper = stats.percentile_bounds(np.asarray(replicate[key]), level)
        entry[key] = _interval(float(point[key]), float(lower), float(upper), "cluster-bootstrap(item)", level)
    return entry


# ------------------------------------------------------------------------ variance shares
def variance_entry(distinct: pd.DataFrame, factors: list[str], level: float, n_resamples: int, seed: int) -> list[dict[str, Any]]:
    """Variance components of correctness (0/1): item, model (with 2 or more models), each varied
    design factor, item × factor and model × factor.

    :func:`forkingpaths.stats.variance_components` (Henderson's Method I for a crossed
    random-effects model, negative estimates truncated at 0; percentile intervals over item
    resamples, which treat the observed models and factor levels as fixed and so understate
    the uncertainty of components with few levels). Over distinct displays; called per model
    (no model terms) and once over every model. Empty when fewer than 2 items, nothing
    varies, or the components are not identified (e.g. a ``max_conditions`` subset confounds
    factors).
    """
    varied = [f for f in factors if distinct[f].nunique() > 1]
    models = ["model"] if distinct["model"].nunique() > 1 else []
    if not (varied or models) or distinct["item_id"].nunique() < 2:
        return []
    frame = distinct.rename(columns={"item_id": "item"}).assign(score=lambda d: d["correct"].astype(float))
    try:
        table = stats.variance_components(
            frame, "score", ["item", *models, *varied], n_resamples=min(n_resamples, 200), level=level, rng=seed,
            interactions=[(unit, f) for unit in ["item", *models] for f in varied],
        )
    except ValueError:  # not identified, or correctness does not vary
        return []
    return [{k: (_none(v) if isinstance(v, float) else v) for k, v in row.items()} for row in table.to_dict("records")]


# ----------------------------------------------------------------------------- calibration
ECE_BINS = 10


def _ece(conf: np.ndarray, correct: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ECE for each row of ``weights`` (replicates × trials): Σ_b (W_b/W) |acc_b − conf_b| over 10 equal bins."""
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    onehot = np.eye(ECE_BINS)[bins]  # trials × bins
    w = weights @ onehot
    gap = np.abs(weights @ (onehot * correct[:, None]) - weights @ (onehot * conf[:, None]))
    return gap.sum(axis=1) / w.sum(axis=1)


def calibration(distinct: pd.DataFrame, level: float, n_resamples: int, seed: int) -> dict[str, Any] | None:
    """Brier score and expected calibration error of the option distributions (letter and cloze trials).

    Brier (multi-class; Brier 1950): mean over trials of Σ_k (p_k − 1[k = gold])², 0 best, 2
    worst. ECE (Naeini et al. 2015; Guo et al. 2017): with confidence = the largest p_k and 10
    equal-width confidence bins B_b, Σ_b (|B_b|/n)·|accuracy(B_b) − mean confidence(B_b)|.
    Intervals: percentile intervals over item resamples (each trial weighted by how often
    its item is drawn), method ``cluster-bootstrap(item)``. The reliability table holds each
    bin's trials, mean confidence and accuracy.
    """
    if "probs" not in distinct:
        return None
    part = distinct[distinct["probs"].notna()]
    if part.empty or part["item_id"].nunique() < 2:
        return None
    probs = [np.asarray(p, dtype=float) for p in part["probs"]]
    if any(np.isnan(p).any() for p in probs):
        return None  # a backend could not score every option: no complete distribution
    gold = part["gold"].to_numpy(dtype=int)
    brier = np.array([float(((p - np.eye(len(p))[g]) ** 2).sum()) for p, g in zip(probs, gold)])
    conf = np.array([p.max() for p in probs])
    correct = part["correct"].to_numpy(dtype=float)
    codes, uniques = pd.factorize(part["item_id"])
    counts = stats.cluster_resample_counts(len(uniques), n_resamples, seed).astype(float)[:, codes]  # replicates × trials
    ones = np.ones((1, len(part)))
    entry: dict[str, Any] = {"n_trials": len(part)}
    for name, point, reps in (
        ("brier", brier.mean(), (counts @ brier) / counts.sum(axis=1)),
        ("ece", _ece(conf, correct, ones)[0], _ece(conf, correct, counts)),
    ):
        lower, upper = stats.percentile_bounds(reps, level)
        entry[name] = _interval(float(point), float(lower), float(upper), "cluster-bootstrap(item)", level)
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    entry["reliability"] = [
        {"bin": b, "n": int((bins == b).sum()), "confidence": float(conf[bins == b].mean()), "accuracy": float(correct[bins == b].mean())}
        for b in range(ECE_BINS)
        if (bins == b).any()
    ]
    return entry


# ---------------------------------------------------------------------------- chance tests
def poisson_binomial_sf(k: int, p: np.ndarray) -> float:
    """P[X ≥ k] for X a sum of independent Bernoulli(p_i): exact, by convolving the p_i one by one."""
    dist = np.zeros(len(p) + 1)
    dist[0] = 1.0
    for pi in p:
        dist[1:] = dist[1:] * (1 - pi) + dist[:-1] * pi
        dist[0] *= 1 - pi
    return float(min(1.0, dist[k:].sum()))


def chance_test(correct: np.ndarray, n_options: np.ndarray, level: float) -> dict[str, Any]:
    """Is accuracy above chance (guessing uniformly among each item's K_i options)?

    One-sided exact test of H0: each item is answered correctly with probability 1/K_i.
    With one K for every item X ~ Binomial(n, 1/K): ``scipy.stats.binomtest(k, n, 1/K,
    alternative='greater')``; with mixed K the exact Poisson-binomial tail (same null,
    computed by convolution). Interval: Clopper-Pearson exact (``binomtest(...).proportion_ci
    (method='exact')``), two-sided at ``level``. Source: Clopper & Pearson (1934), Biometrika 26(4).
    """
    k, n = int(correct.sum()), int(correct.size)
    chance = 1.0 / n_options.astype(float)
    result = sps.binomtest(k, n, float(chance.mean()), alternative="greater")
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    same_k = bool(np.all(n_options == n_options[0]))
    pvalue = float(result.pvalue) if same_k else poisson_binomial_sf(k, chance)
    return {
        "k": k,
        "n": n,
        "chance": float(chance.mean()),
        "pvalue": pvalue,
        "test": "exact binomial (one-sided)" if same_k else "exact Poisson-binomial (one-sided)",
        **_interval(k / n, float(ci.low), float(ci.high), "clopper-pearson", level),
    }


def choices_only_entries(scored: pd.DataFrame, factors: list[str], level: float) -> list[dict[str, Any]]:
    """Choices-only accuracy against chance per condition with ``question: choices_only``; Holm across them."""
    if "question" not in factors:
        return []
    part = scored[(scored["question"] == "choices_only") & (scored["repeat"] == 0)]
    out = []
    for condition, rows in part.groupby("condition_id", sort=False):
        entry = chance_test(rows["correct"].to_numpy(dtype=float), rows["n_options"].to_numpy(dtype=int), level)
        levels = _levels(rows.iloc[0], factors)
        out.append({"condition_id": condition, "levels": levels, "label": _label(levels), **entry})
    if out:
        for entry, adjusted in zip(out, stats.holm([e["pvalue"] for e in out])):
            entry["p_holm"] = float(adjusted)
    return out


def position_bias(scored: pd.DataFrame, level: float) -> dict[str, Any] | None:
    """How often each displayed position is chosen against how often it holds the gold answer.

    Over every parsed trial; chosen share with a Wilson interval (trials treated as
    independent: descriptive). ``max_gap`` is the largest |chosen share − gold share|.
    """
    parsed = scored[scored["parsed"].eq(True) & scored["chosen_position"].notna() & scored["n_options"].notna()]
    if parsed.empty:
        return None
    n = len(parsed)
    rows: list[dict[str, Any]] = []
    for position in range(int(parsed["n_options"].max())):
        chosen = int((parsed["chosen_position"] == position).sum())
        gold = float((parsed["gold_position"] == position).mean())
        wilson = stats.wilson_interval(chosen, n, level)
        rows.append({"position": position, "chosen_share": chosen / n, "gold_share": gold, "gap": chosen / n - gold, "lower": wilson.lower, "upper": wilson.upper, "method": wilson.method})
    gaps = [abs(r["gap"]) for r in rows]
    return {"positions": rows, "n_trials": n, "max_gap": max(gaps), "max_gap_position": int(np.argmax(gaps))}


# ------------------------------------------------------------------------ paired comparison
def compare(scored: pd.DataFrame, a: str, b: str, factors: list[str], level: float) -> dict[str, Any]:
    """Model a against model b on the same items and conditions.

    Per condition: exact McNemar on the items both answered (repeat 0;
    :func:`forkingpaths.stats.mcnemar_exact`), Holm across conditions (and, in
    :func:`analyse_mcq`, across pairs). Pooled: the mean paired difference of correctness
    over every shared (item, condition, repeat) with an item-clustered CR1 t interval
    (:func:`forkingpaths.stats.paired_difference`) and its two-sided t p-value.
    Source: McNemar (1947); Miller (2024), "Adding Error Bars to Evals", arXiv:2411.00640.
    """
    keys = ["item_id", "condition_id", "repeat"]
    merged = scored[scored["model"] == a][keys + ["correct"]].merge(scored[scored["model"] == b][keys + ["correct"]], on=keys, suffixes=("_a", "_b"))
    entry: dict[str, Any] = {"a": a, "b": b, "n_trials": len(merged), "available": merged["item_id"].nunique() >= 2}
    if not entry["available"]:
        return entry
    diff = stats.paired_difference(merged["correct_a"].astype(float), merged["correct_b"].astype(float), merged["item_id"].to_numpy(), level)
    g = merged["item_id"].nunique()
    p = float(2 * sps.t.sf(abs(diff.estimate / diff.se), g - 1)) if diff.se else (1.0 if diff.estimate == 0 else 0.0)
    entry["pooled"] = _interval(diff.estimate, diff.lower, diff.upper, diff.method, level, pvalue=p, n_items=g)
    conditions = []
    first = merged[merged["repeat"] == 0]
    labels = scored.drop_duplicates("condition_id").set_index("condition_id")
    for condition, rows in first.groupby("condition_id", sort=False):
        test = stats.mcnemar_exact(rows["correct_a"].astype(bool), rows["correct_b"].astype(bool))
        levels = _levels(labels.loc[condition], factors)
        conditions.append(
            {"condition_id": condition, "label": _label(levels), "difference": float(rows["correct_a"].mean() - rows["correct_b"].mean()), **test}
        )
    entry["conditions"] = conditions
    entry["negative_flips"] = negative_flips(merged, level)
    entry["power"] = power_entry(merged, level)
    return entry


def negative_flips(merged: pd.DataFrame, level: float) -> dict[str, Any] | None:
    """Negative flips from a (the reference) to b: trials a answered right and b wrong.

    Count over every shared (item, condition, repeat), and the rate among the trials a
    answered right with a Wilson interval (trials treated as independent: descriptive).
    Source: Echterhoff et al. 2024, "MUSCLE: A Model Update Strategy for Compatible LLM
    Evolution" (negative flip rate); Yan et al. 2021, "Positive-Congruent Training".
    """
    right = merged[merged["correct_a"].astype(bool)]
    if right.empty:
        return None
    flips = int((~right["correct_b"].astype(bool)).sum())
    wilson = stats.wilson_interval(flips, len(right), level)
    return {"count": flips, "a_right": len(right), **_interval(wilson.estimate, wilson.lower, wilson.upper, wilson.method, level)}


def power_entry(merged: pd.DataFrame, level: float, power: float = 0.8) -> dict[str, Any]:
    """The smallest accuracy difference this many items could detect, and the items the observed one would need.

    ω² = the variance (ddof 1) of the per-item mean paired differences (the observed paired
    variance); δ_min = (z_{1−α/2} + z_power)·√(ω²/n) (:func:`forkingpaths.stats.min_detectable_effect`)
    and n = ⌈(z_{1−α/2} + z_power)²·ω²/δ²⌉ for the observed δ (:func:`forkingpaths.stats.required_items`),
    power 0.8 (a convention); both ``None`` when ω² = 0 (the models never differ on an item). Source: Miller (2024), "Adding Error Bars to Evals", arXiv:2411.00640.
    """
    per_item = (merged["correct_a"].astype(float) - merged["correct_b"].astype(float)).groupby(merged["item_id"]).mean()
    omega2 = float(per_item.var(ddof=1))
    delta = float(per_item.mean())
    alpha = 1 - level
    return {
        "n_items": len(per_item),
        "omega2": omega2,
        "power": power,
        "min_detectable": stats.min_detectable_effect(len(per_item), omega2, alpha, power) if omega2 > 0 else None,
        "items_needed": stats.required_items(delta, omega2, alpha, power) if delta != 0 and omega2 > 0 else None,
    }


def ranking_entry(distinct: pd.DataFrame, models: list[str], factors: list[str], n_resamples: int, seed: int) -> dict[str, Any] | None:
    """How the models' ranking by accuracy moves across conditions (with 2 or more models).

    Per condition each model's accuracy and rank (1 = most accurate; tied models share the better rank);
    Kendall's W of the conditions ranking the models (``stats.kendall_w``: 1 = every
    condition ranks them alike); each model's largest rank change (max − min rank) and the
    number of conditions it ranks first in; and the probability that each model ranks first
    over conditions and item resamples (``stats.rank_first_probability``, Hall & Miller 2009).
    Only conditions in which every model has scored trials are used. ``per_condition`` holds
    each condition's accuracies and ranks (the bump chart draws them).
    """
    if len(models) < 2:
        return None
    table = distinct.pivot_table(index="condition_id", columns="model", values="correct", aggfunc="mean")[models].dropna()
    if table.empty:
        return None
    ranks = table.rank(axis=1, ascending=False, method="min")
    shared = distinct[distinct["condition_id"].isin(table.index)].assign(score=lambda d: d["correct"].astype(float))
    p_first = stats.rank_first_probability(shared, "score", "model", ["condition_id"], "item_id", n_resamples, seed)
    labels = distinct.drop_duplicates("condition_id").set_index("condition_id")
    per_condition = [
        {
            "condition_id": str(condition),
            "label": _label(_levels(labels.loc[condition], factors)),
            "accuracy": {m: float(table.loc[condition, m]) for m in models},
            "rank": {m: float(ranks.loc[condition, m]) for m in models},
        }
        for condition in table.index
    ]
    return {
        "n_conditions": len(table),
        "per_condition": per_condition,
        "kendall_w": _none(stats.kendall_w(table.to_numpy())) if len(table) > 1 else None,
        "models": {
            m: {
                "p_first": float(p_first.get(m, 0.0)),
                "first_in": int((ranks[m] == 1).sum()),
                "best_rank": float(ranks[m].min()),
                "worst_rank": float(ranks[m].max()),
                "rank_change": float(ranks[m].max() - ranks[m].min()),
            }
            for m in models
        },
    }


def claim_curve(pair: dict[str, Any], alpha: float) -> dict[str, int]:
    """The claim "a is more accurate than b" across conditions: how often it holds significantly,
    is reversed significantly, or is not significant (Holm-adjusted McNemar p < alpha), a
    specification-curve summary (Simonsohn, Simmons & Nelson 2020)."""
    counts = {"holds": 0, "reversed": 0, "not_significant": 0}
    for c in pair["conditions"]:
        if c["p_holm"] < alpha and c["difference"] > 0:
            counts["holds"] += 1
        elif c["p_holm"] < alpha and c["difference"] < 0:
            counts["reversed"] += 1
        else:
            counts["not_significant"] += 1
    return counts


def _pair_verdict(entry: dict[str, Any], alpha: float) -> str:
    pooled = entry["pooled"]
    if pooled["p_holm"] < alpha and pooled["estimate"] > 0:
        return "a more accurate"
    if pooled["p_holm"] < alpha and pooled["estimate"] < 0:
        return "b more accurate"
    return "no detectable difference"


# --------------------------------------------------------------------------------- findings
_ESTIMATE_KEYS = ("estimate", "lower", "upper", "level", "method")


def _verdict(subject: str, topic: str, claim: str, good: bool, words: tuple[str, str], rule: str, interval: dict[str, Any] | None = None) -> Finding:
    """A finding whose verdict is ``words[0]`` when ``good`` (tone good), else ``words[1]`` (tone caution)."""
    estimate = Estimate(**{k: interval[k] for k in _ESTIMATE_KEYS}) if interval else None
    return Finding(subject=subject, topic=topic, claim=claim, verdict=words[0] if good else words[1], rule=rule, tone="good" if good else "caution", estimate=estimate)


def _model_findings(model: str, entry: dict[str, Any], alpha: float) -> list[Finding]:
    pooled, chance = entry["pooled"], entry["chance"]
    if pooled["estimate"] is None:
        return [Finding(subject=model, topic="accuracy", claim="no scored answers", verdict="no scored answers", rule="no trial was scored", tone="bad")]
    pooled_claim = f"accuracy {pooled['estimate']:.3f} pooled over {len(entry['conditions'])} conditions and {pooled['n_items']} items"
    if chance is None:  # imported results that do not say how many options an item had
        out = [Finding(
            subject=model, topic="accuracy", claim=f"{pooled_claim} (chance rate unknown)", verdict="measured",
            rule="no verdict against chance: the number of options per item is unknown", tone="info",
            estimate=Estimate(**{k: pooled[k] for k in _ESTIMATE_KEYS}),
        )]
    else:
        out = [_verdict(
            model, "accuracy", f"{pooled_claim} (chance {chance:.3f})",
            pooled["lower"] is not None and pooled["lower"] > chance, ("above chance", "not above chance"),
            "above chance when the lower bound of the pooled item-clustered (Korn-Graubard) interval exceeds the mean chance rate 1/K", pooled,
        )]
    if entry["unparsed"]:
        share = entry["unparsed"] / entry["n_scored"]
        out.append(_verdict(
            model, "answer format", f"{entry['unparsed']} of {entry['n_scored']} scored answers ({share:.1%}) could not be read as an option and count as wrong",
            share <= UNPARSED_THRESHOLD, ("answers readable", "format failures"),
            f"format failures when more than {UNPARSED_THRESHOLD:.0%} of scored answers are unreadable (a convention): accuracy then measures "
            "whether the model follows the answer format as much as what it knows",
        ))
    accs = [c["estimate"] for c in entry["conditions"] if c["estimate"] is not None]
    if len(accs) > 1:
        spread = max(accs) - min(accs)
        out.append(_verdict(
            model, "design spread", f"accuracy ranges over {spread:.3f} across {len(accs)} conditions",
            spread <= SPREAD_THRESHOLD, ("design-stable", "design-sensitive"),
            f"design-sensitive when max − min accuracy across conditions exceeds {SPREAD_THRESHOLD} (a convention)",
        ))
    for cat in entry["cat"][:1]:
        mca1 = cat["car"][-1]
        out.append(_verdict(
            model, "option order",
            f"a share {mca1:.3f} of the {cat['n_items']} items is right under all {len(cat['variants'])} option orders, against a mean accuracy of {cat['mean_accuracy']:.3f} (CORE {cat['core']:.3f})",
            cat["mean_accuracy"] - mca1 <= ORDER_GAP_THRESHOLD, ("order-consistent", "order-sensitive"),
            f"order-sensitive when mean accuracy minus MCA(1) exceeds {ORDER_GAP_THRESHOLD} (a convention)",
        ))
    multi = entry["multi_prompt"]
    if multi:
        out.append(_verdict(
            model, "prompt templates",
            f"MaxP {multi['maxp']['estimate']:.3f}, AvgP {multi['avgp']['estimate']:.3f}, CPS {multi['cps']['estimate']:.3f} over {len(multi['templates'])} templates",
            multi["spread"]["estimate"] <= SPREAD_THRESHOLD, ("prompt-stable", "prompt-sensitive"),
            f"prompt-sensitive when the spread (max − min template accuracy) exceeds {SPREAD_THRESHOLD} (a convention)", multi["cps"],
        ))
    if entry["choices_only"]:
        hits = [c for c in entry["choices_only"] if c["p_holm"] < alpha]
        out.append(_verdict(
            model, "choices only", f"without the question, accuracy is above chance in {len(hits)} of {len(entry['choices_only'])} conditions",
            not hits, ("not answerable without the question", "answerable without the question"),
            f"answerable without the question when an exact one-sided test against 1/K has Holm-adjusted p < {alpha:.2f} in some choices-only condition",
        ))
    bias = entry["position_bias"]
    if bias:
        row = bias["positions"][bias["max_gap_position"]]
        biased = bias["max_gap"] > POSITION_GAP_THRESHOLD and not (row["lower"] <= row["gold_share"] <= row["upper"])
        out.append(_verdict(
            model, "position bias",
            f"position {row['position'] + 1} is chosen in {row['chosen_share']:.3f} of answers and holds the gold answer in {row['gold_share']:.3f}",
            not biased, ("no marked position bias", "position bias"),
            f"position bias when the largest |chosen share − gold share| exceeds {POSITION_GAP_THRESHOLD} (a convention) and the chosen share's Wilson interval excludes the gold share",
        ))
    return out


def _findings(results: dict[str, Any], level: float) -> list[Finding]:
    alpha = 1 - level
    out = [f for model, entry in results["models"].items() for f in _model_findings(model, entry, alpha)]
    ranking = results.get("ranking")
    if ranking:
        firsts = {m: e["first_in"] for m, e in ranking["models"].items()}
        top = max(firsts, key=firsts.__getitem__)
        stable = firsts[top] == ranking["n_conditions"]
        if all(set(row["rank"].values()) == {1} for row in ranking["per_condition"]):
            out.append(Finding(
                subject=", ".join(ranking["models"]), topic="ranking",
                claim=f"every model has the same accuracy in each of the {ranking['n_conditions']} conditions",
                verdict="all tied", rule="no ranking when every model shares rank 1 in every condition", tone="info",
            ))
        else:
            out.append(_verdict(
            ", ".join(ranking["models"]), "ranking",
                f"{top} ranks first in {firsts[top]} of {ranking['n_conditions']} conditions (probability of ranking first {ranking['models'][top]['p_first']:.3f})",
                stable, ("ranking stable", "ranking depends on the design"),
                "ranking stable when the same model is (possibly tied) first in every condition",
            ))
    for pair in results["comparisons"]:
        if not pair["available"]:
            continue
        pooled, verdict = pair["pooled"], pair["verdict"]
        out.append(
            Finding(
                subject=f"{pair['a']} vs {pair['b']}",
                topic="model comparison",
                claim=f"accuracy difference {pooled['estimate']:.3f} ({pair['a']} minus {pair['b']}), Holm-adjusted p {pooled['p_holm']:.3f}",
                verdict=verdict.replace("a more", f"{pair['a']} more").replace("b more", f"{pair['b']} more"),
                rule=f"more accurate when the pooled paired difference has Holm-adjusted p < {alpha:.2f} (across pairs); otherwise no detectable difference",
                tone="good" if verdict != "no detectable difference" else "info",
                estimate=Estimate(**{k: pooled[k] for k in _ESTIMATE_KEYS}),
            )
        )
    return out


# ---------------------------------------------------------------------------------- entry
def analyse_mcq(trials: pd.DataFrame, items: list[MCQItem], spec: Spec) -> Analysis:
    """Every MCQ analysis over the trials table; see the module docstring."""
    level, n_resamples = spec.analysis.level, spec.analysis.n_resamples
    factors = [f for f in spec.factors if f in trials.columns]
    scored = trials[trials["error"].isna() & trials["correct"].notna()].copy()
    scored["correct"] = scored["correct"].astype(bool)
    pooled_trials = distinct_displays(scored, factors)
    models = list(dict.fromkeys(trials["model"]))
    results: dict[str, Any] = {
        "settings": {"level": level, "n_resamples": n_resamples, "factors": factors},
        "design": {
            "n_items": len(items),
            "n_conditions": int(trials["condition_id"].nunique()),
            "models": models,
            "subjects": sorted({i.subject for i in items if i.subject}),
            "n_options": sorted({i.n_options for i in items if i.options}),  # imported items may not list their options
        },
        "models": {},
        "comparisons": [],
    }
    for model in models:
        part = scored[scored["model"] == model]
        distinct = pooled_trials[pooled_trials["model"] == model]
        everything = trials[trials["model"] == model]
        entry: dict[str, Any] = {
            "n_trials": len(everything),
            "n_scored": len(part),
            "unparsed": int(part["parsed"].eq(False).sum()),
            "errors": int(everything["error"].notna().sum()),
            "chance": float(np.mean([1 / n for n in part["n_options"].dropna()])) if part["n_options"].notna().any() else None,
            "mean_valid_mass": _none(float(part["valid_mass"].mean())) if part["valid_mass"].notna().any() else None,
            "min_valid_mass": _none(float(part["valid_mass"].min())) if part["valid_mass"].notna().any() else None,
        }
        if part.empty:
            entry.update(pooled={"estimate": None}, conditions=[], cat=[], circular=[], multi_prompt=None, choices_only=[], position_bias=None, cloze_norm=None, calibration=None, variance=[])
            results["models"][model] = entry
            continue
        entry["pooled"] = accuracy_intervals(distinct, level)[0]
        by_condition = {c["group"]: c for c in accuracy_intervals(part, level, by="condition_id")}
        conditions = []
        for condition, rows in part.groupby("condition_id", sort=False):
            levels = _levels(rows.iloc[0], factors)
            unparsed = int(rows["parsed"].eq(False).sum())
            conditions.append({"condition_id": condition, "levels": levels, "label": _label(levels), "unparsed": unparsed, **by_condition[condition]})
        entry["conditions"] = conditions
        entry["cat"] = cat_entries(part, factors)
        entry["circular"] = circular_entries(part, factors, level)
        entry["multi_prompt"] = multi_prompt_entry(distinct, factors, level, n_resamples, spec.seed)
        entry["choices_only"] = choices_only_entries(part, factors, level)
        entry["position_bias"] = position_bias(distinct, level)
        entry["calibration"] = calibration(distinct, level, n_resamples, spec.seed)
        entry["variance"] = variance_entry(distinct, factors, level, n_resamples, spec.seed)
        normed = part[part["correct_norm"].notna()] if "correct_norm" in part else part.iloc[:0]
        entry["cloze_norm"] = (
            clustered_accuracy(normed["correct_norm"].to_numpy(dtype=float), normed["item_id"].to_numpy(), level) if len(normed) else None
        )
        results["models"][model] = entry
    slim = pooled_trials[["model", "item_id", "condition_id", "repeat", "correct", *factors]]  # compare() reads only these; fewer columns to copy per pair
    pairs = [compare(slim, a, b, factors, level) for a, b in itertools.combinations(models, 2)]
    available = [p for p in pairs if p["available"]]
    if available:
        for pair, adjusted in zip(available, stats.holm([p["pooled"]["pvalue"] for p in available])):
            pair["pooled"]["p_holm"] = float(adjusted)
        tests = [c for p in available for c in p["conditions"]]
        for test, adjusted in zip(tests, stats.holm([c["pvalue"] for c in tests])):
            test["p_holm"] = float(adjusted)
        for pair in available:
            pair["verdict"] = _pair_verdict(pair, 1 - level)
            pair["claim_curve"] = claim_curve(pair, 1 - level)
    results["comparisons"] = pairs
    results["ranking"] = ranking_entry(pooled_trials, models, factors, n_resamples, spec.seed)
    results["variance"] = variance_entry(pooled_trials, factors, level, n_resamples, spec.seed) if len(models) > 1 else []
    return Analysis(results, _findings(results, level))
