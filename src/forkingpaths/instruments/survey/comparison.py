"""Paired comparison of models: is model A closer than model B to each group?

Both models answer the same items under the same conditions, so every
similarity of A has a partner of B (same condition, item and group). For each
group g and item i, d_gi is the mean over conditions of sim_A − sim_B. Per group:

- estimate: the mean of d_gi over items, with an item-clustered bootstrap
  percentile interval (items resampled jointly for all groups);
- test: a paired sign-flip permutation test on d_gi (items are the units);
- multiplicity: Holm's step-down adjustment of the p-values across the groups of one
  model pair, and Bonferroni-adjusted (simultaneous) intervals beside the per-group
  ones: percentiles α/(2m) and 1 − α/(2m) of the same replicates for m groups
  (Bonferroni's inequality; Holm 1979 for the step-down test).

Only the no-persona conditions are compared (the models answering as themselves).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.stats.paired import holm, sign_flip_test
from forkingpaths.stats.uncertainty import cluster_bootstrap_means, percentile_bounds

PERMUTATIONS = 5000


def compare_models(
    base: pd.DataFrame, models: list[str], level: float, n_resamples: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """One entry per model pair (in spec order) with per-group differences, intervals and Holm p-values."""
    out = []
    key = ["condition_id", "item_id", "group"]
    for a, b in combinations(models, 2):
        sims = {
            m: base[base["model"] == m].set_index(key)["similarity"] for m in (a, b)
        }
        diff = (sims[a] - sims[b]).dropna().rename("diff").reset_index()
        if diff["item_id"].nunique() < 2:
            out.append({"a": a, "b": b, "available": False, "reason": "fewer than 2 items answered by both models"})
            continue
        per_item = diff.groupby(["group", "item_id"])["diff"].mean().reset_index()
        labels, estimates, replicates = cluster_bootstrap_means(
            per_item["diff"].to_numpy(), per_item["item_id"].to_numpy(), per_item["group"].to_numpy(), n_resamples, rng
        )
        lower, upper = percentile_bounds(replicates, level)
        lower_all, upper_all = percentile_bounds(replicates, 1 - (1 - level) / len(labels))
        pvalues = np.array(
            [
                sign_flip_test(per_item.loc[per_item["group"] == g, "diff"].to_numpy(), PERMUTATIONS, rng)["pvalue"]
                for g in labels
            ]
        )
        adjusted = holm(pvalues)
        rows: list[dict[str, Any]] = [
            {
                "group": str(g),
                "estimate": float(e),
                "lower": float(lo),
                "upper": float(hi),
                "lower_simultaneous": float(lo_all),
                "upper_simultaneous": float(hi_all),
                "p_value": float(p),
                "p_holm": float(ph),
                "significant": bool(ph < 1 - level),
            }
            for g, e, lo, hi, lo_all, hi_all, p, ph in zip(
                labels, estimates, lower, upper, lower_all, upper_all, pvalues, adjusted
            )
        ]
        out.append(
            {
                "a": a,
                "b": b,
                "available": True,
                "contrast": f"similarity({a}) − similarity({b})",
                "by_group": rows,
                "closer_a": sum(r["significant"] and r["estimate"] > 0 for r in rows),
                "closer_b": sum(r["significant"] and r["estimate"] < 0 for r in rows),
                "method": (
                    "cluster-bootstrap(item) intervals, per group and Bonferroni-simultaneous across groups; "
                    "sign-flip permutation test on per-item differences; Holm across groups"
                ),
            }
        )
    return out
