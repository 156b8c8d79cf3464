"""Steerability: does asking the model to answer as a member of group G move it toward G?

For persona level ``p@G`` each trial is matched with the no-persona trial that
shares every other factor level and the item. Per item i (averaging over the
matched conditions):

    Δ_target,i = sim(p@G, G) − sim(none, G)
    Δ_others,i = mean_{h ≠ G} [sim(p@G, h) − sim(none, h)]
    specificity_i = Δ_target,i − Δ_others,i

Steering is *specific* only when the target gains more than the other groups
do (a persona that makes answers more typical of every group is not steering
toward G). Means over items get item-bootstrap percentile intervals, all three
from the same draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.instruments.survey.factors import split_persona
from forkingpaths.stats.uncertainty import cluster_bootstrap_means, percentile_bounds

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
            "steers toward the target when the interval of Δ_target lies above 0; "
            "specific when the interval of the specificity (Δ_target − Δ_others) lies above 0"
        ),
    }


def _intervals(values: pd.DataFrame, level: float, n_resamples: int, rng: np.random.Generator) -> dict[str, Any]:
    long = values.reset_index().melt(id_vars="item_id", value_vars=list(METRICS), var_name="metric")
    labels, estimates, replicates = cluster_bootstrap_means(
        long["value"].to_numpy(), long["item_id"].to_numpy(), long["metric"].to_numpy(), n_resamples, rng
    )
    lower, upper = percentile_bounds(replicates, level)
    out: dict[str, Any] = {"n_items": int(len(values)), "method": "cluster-bootstrap(item)"}
    for label, est, lo, hi in zip(labels, estimates, lower, upper):
        out[label] = {"estimate": float(est), "lower": float(lo), "upper": float(hi)}
    out["steers"] = out["delta_target"]["lower"] > 0
    out["specific"] = out["specificity"]["lower"] > 0
    out["verdict"] = "specific steering" if out["specific"] else ("steers, not specific" if out["steers"] else "no reliable steering")
    return out
