"""Paired comparison of models: is model A closer than model B to each group?

Both models answer the same items under the same conditions, so every
similarity of A has a partner of B (same condition, item and group). For each
group g and item i, d_gi is the mean over conditions of sim_A − sim_B. Per group:

- estimate: the mean of d_gi over items, with an item-clustered CR1 t interval
  (t(G − 1), G items; Cameron & Miller 2015), per group and not adjusted;
- test: a paired sign-flip permutation test on d_gi (items are the units);
- multiplicity: Holm's step-down adjustment (Holm 1979) of the p-values across every
  group of every model pair in the run (one family), and simultaneous intervals
  (``lower_simultaneous``, ``upper_simultaneous``) that cover every group's difference of
  every pair at once: a studentized max-|t| item bootstrap band (Romano & Wolf 2005;
  :func:`forkingpaths.stats.uncertainty.simultaneous_band`). The band replaces
  Bonferroni percentiles α/(2m), whose tails 1,000 replicates could not estimate
  (coverage 0.64 at 10 items in tests/survey/simulations.py).

Only the no-persona conditions are compared (the models answering as themselves), and
only on the (condition, item) cells both models scored; ``cells`` counts the shared cells
and those scored for one model only (an HTTP backend can leave a cell unscored), which
the pooled means of ``overall`` include, so those can differ even for one model file
under two references.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.stats.paired import holm, sign_flip_test
from forkingpaths.stats.uncertainty import clustered_means, simultaneous_band, t_intervals

PERMUTATIONS = 5000


def compare_models(
    base: pd.DataFrame, models: list[str], level: float, n_resamples: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """One entry per model pair (in spec order) with per-group differences, intervals and Holm p-values.

    Holm and the simultaneous band run over all (pair, group) differences of the run.
    """
    out: list[dict[str, Any]] = []
    key = ["condition_id", "item_id", "group"]
    frames = []
    scored = {
        m: set(base.loc[base["model"] == m, ["condition_id", "item_id"]].itertuples(index=False, name=None)) for m in models
    }
    for a, b in combinations(models, 2):
        cells = {"both": len(scored[a] & scored[b]), "only_a": len(scored[a] - scored[b]), "only_b": len(scored[b] - scored[a])}
        sims = {m: base[base["model"] == m].set_index(key)["similarity"] for m in (a, b)}
        diff = (sims[a] - sims[b]).dropna().rename("diff").reset_index()
        if diff["item_id"].nunique() < 2:
            out.append({"a": a, "b": b, "available": False, "cells": cells, "reason": "fewer than 2 items answered by both models"})
            continue
        per_item = diff.groupby(["group", "item_id"])["diff"].mean().reset_index()
        per_item["pair"] = len(out)
        out.append({"a": a, "b": b, "available": True, "cells": cells})
        frames.append(per_item)
    if not frames:
        return out
    every = pd.concat(frames, ignore_index=True)
    cells = pd.MultiIndex.from_frame(every[["pair", "group"]])
    means = clustered_means(every["diff"].to_numpy(), every["item_id"].to_numpy(), cells)
    se = np.sqrt(np.diag(means.cov))
    lower, upper, _ = t_intervals(means.estimates, se, means.n_clusters - 1, level)
    lower_all, upper_all, crit = simultaneous_band(means, level, n_resamples, rng)
    pvalues = np.array(
        [
            sign_flip_test(every.loc[(every["pair"] == k) & (every["group"] == g), "diff"].to_numpy(), PERMUTATIONS, rng)["pvalue"]
            for k, g in means.labels
        ]
    )
    adjusted = holm(pvalues)
    n_tests = len(pvalues)
    for index, entry in enumerate(out):
        if not entry["available"]:
            continue
        rows: list[dict[str, Any]] = [
            {
                "group": str(g),
                "estimate": float(means.estimates[j]),
                "lower": float(lower[j]),
                "upper": float(upper[j]),
                "lower_simultaneous": float(lower_all[j]),
                "upper_simultaneous": float(upper_all[j]),
                "n_items": int(means.n_clusters[j]),
                "p_value": float(pvalues[j]),
                "p_holm": float(adjusted[j]),
                "significant": bool(adjusted[j] < 1 - level),
            }
            for j, (k, g) in enumerate(means.labels)
            if k == index
        ]
        entry.update(
            {
                "contrast": f"similarity({entry['a']}) − similarity({entry['b']})",
                "by_group": rows,
                "closer_a": sum(r["significant"] and r["estimate"] > 0 for r in rows),
                "closer_b": sum(r["significant"] and r["estimate"] < 0 for r in rows),
                "n_tests": n_tests,
                "simultaneous_critical_value": crit,
                "method": (
                    "cluster-t(item) intervals per group; simultaneous band over every pair and group by a "
                    "studentized max-|t| item bootstrap; sign-flip permutation test on per-item differences; "
                    "Holm across every pair and group of the run"
                ),
            }
        )
    return out
