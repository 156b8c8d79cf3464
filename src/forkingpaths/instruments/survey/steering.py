"""Steerability: does asking the model to answer as a member of group G move it toward G?

For persona level ``p@G`` each trial is matched with the no-persona trial that
shares every other factor level and the item. Per item i (averaging over the
matched conditions):

    Δ_target,i = sim(p@G, G) − sim(none, G)
    Δ_others,i = mean_{h ≠ G} [sim(p@G, h) − sim(none, h)]
    specificity_i = Δ_target,i − Δ_others,i

Steering is *specific* only when the target gains more than the other groups
do (a persona that makes answers more typical of every group is not steering
toward G). Means over items get t(n − 1) intervals and two-sided t-test p-values
(one value per item, so the item-clustered CR1 standard error is the ordinary one).

Multiplicity: the persona targets of one model form a family. Holm's step-down
adjustment (Holm 1979, Scandinavian Journal of Statistics 6(2)) is applied across
targets, separately to the p-values of Δ_target (steers / backfires) and of the
specificity (specific); a verdict counts only when its Holm-adjusted p-value is below
α = 1 − level, which controls the family-wise error rate of each family at α. The
reported intervals are per target (not adjusted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.instruments.survey.factors import split_persona
from forkingpaths.stats.paired import holm
from forkingpaths.stats.uncertainty import cluster_t_ci

METRICS = ("delta_target", "delta_others", "specificity")


def steerability(
    align: pd.DataFrame, design_factors: list[str], level: float, n_resamples: int, rng: np.random.Generator
) -> dict[str, Any]:
    """Per persona target: Δ_target, Δ_others and specificity with CIs, and a verdict each."""
    if "persona" not in align.columns or "none" not in set(align["persona"]):
        return {"available": False, "reason": "needs a persona factor with the level 'none' and at least one '<persona>@<group>' level"}
    match_on = [f for f in design_factors if f != "persona"] + ["item_id", "group"]
    baseline = align[align["persona"] == "none"].set_index(match_on)["similarity"]
    targets = []
    for level_name in sorted(set(align["persona"]) - {"none"}):
        persona, group = split_persona(level_name)
        if group is None:
            continue
        steered = align[align["persona"] == level_name].set_index(match_on)["similarity"]
        diff = (steered - baseline.reindex(steered.index)).dropna().rename("diff").reset_index()
        if diff.empty:
            continue
        diff["is_target"] = diff["group"] == group
        per_item = diff.groupby(["item_id", "is_target"])["diff"].mean().unstack()
        if True not in per_item or False not in per_item:
            continue
        per_item = per_item.dropna()
        if len(per_item) < 2:
            continue
        values = pd.DataFrame(
            {
                "delta_target": per_item[True],
                "delta_others": per_item[False],
                "specificity": per_item[True] - per_item[False],
            }
        )
        targets.append({"persona": persona, "level": level_name, "target": group, **_intervals(values, level, n_resamples, rng)})
    _holm_verdicts(targets, level)
    out: dict[str, Any] = {}
    if not targets:
        out["reason"] = (
            "no '<persona>@<group>' trial has a no-persona trial with the same other factor levels and item "
            "(a max_conditions subset may have dropped them), or too few items"
        )
    return {
        **out,
        "available": bool(targets),
        "targets": targets,
        "rule": (
            f"steers toward the target when Δ_target > 0 with a Holm-adjusted p-value below {1 - level:.2f} "
            "(t test over items, Holm across the persona targets); backfires when Δ_target < 0 by the same rule; "
            "specific when the specificity (Δ_target − Δ_others) > 0 by the same rule"
        ),
    }


def _intervals(values: pd.DataFrame, level: float, n_resamples: int, rng: np.random.Generator) -> dict[str, Any]:
    """Per metric: mean over items with a CR1 t interval and p-value (``n_resamples``, ``rng`` unused)."""
    long = values.reset_index().melt(id_vars="item_id", value_vars=list(METRICS), var_name="metric")
    table = cluster_t_ci(long["value"].to_numpy(), long["item_id"].to_numpy(), long["metric"].to_numpy(), level)
    out: dict[str, Any] = {"n_items": int(len(values)), "method": str(table["method"].iloc[0])}
    for row in table.itertuples(index=False):
        out[row.group] = {"estimate": float(row.estimate), "lower": float(row.lower), "upper": float(row.upper), "p_value": float(row.p_value)}
    return out


def _holm_verdicts(targets: list[dict[str, Any]], level: float) -> None:
    """Holm-adjust Δ_target and specificity p-values across targets and set each target's verdict."""
    alpha = 1 - level
    for metric in ("delta_target", "specificity"):
        adjusted: list[float] = list(holm([t[metric]["p_value"] for t in targets])) if targets else []
        for target, p in zip(targets, adjusted):
            target[metric]["p_holm"] = float(p)
    for t in targets:
        significant = t["delta_target"]["p_holm"] < alpha
        t["steers"] = bool(significant and t["delta_target"]["estimate"] > 0)
        t["backfires"] = bool(significant and t["delta_target"]["estimate"] < 0)
        t["specific"] = bool(t["specificity"]["p_holm"] < alpha and t["specificity"]["estimate"] > 0)
        if t["backfires"]:
            t["verdict"] = "backfires"
        elif t["specific"]:
            t["verdict"] = "specific steering"
        else:
            t["verdict"] = "steers, not specific" if t["steers"] else "no reliable steering"
