"""Seeded, bounded simulations of the survey analyses' error rates and coverage.

Each function draws data with a known truth, runs the analysis as the package on the
path implements it, and returns a rate. They import the analyses lazily, so the same
function measures the current code and (with an older ``src`` first on ``PYTHONPATH``)
the code before a fix; docs/statistics.md records both figures and the command.
Monte-Carlo standard error of a rate p from R replicates: sqrt(p(1 − p)/R).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def similarity_table(
    rng: np.random.Generator,
    n_items: int,
    groups: list[str],
    conditions: list[str],
    group_means: dict[str, float] | None = None,
    item_sd: float = 0.08,
    item_group_sd: float = 0.04,
    noise_sd: float = 0.02,
) -> pd.DataFrame:
    """Alignment rows (condition, item, group, similarity) of one model.

    similarity = μ_g + a_i + b_ig + e_kig: an item effect a_i shared by all groups, an
    item × group effect b_ig shared by all conditions (so conditions share their item
    noise, as in a real run) and a small condition-level noise e.
    """
    means = group_means or {g: 0.6 for g in groups}
    a = rng.normal(0, item_sd, n_items)
    b = rng.normal(0, item_group_sd, (n_items, len(groups)))
    rows = []
    for c in conditions:
        e = rng.normal(0, noise_sd, (n_items, len(groups)))
        for i in range(n_items):
            for j, g in enumerate(groups):
                rows.append({"condition_id": c, "order": c, "item_id": f"i{i}", "group": g, "similarity": means[g] + a[i] + b[i, j] + e[i, j]})
    return pd.DataFrame(rows)


def simultaneous_coverage(n_items: int, n_reps: int, seed: int, n_groups: int = 5, n_resamples: int = 1000) -> float:
    """Share of replicates in which every group's simultaneous interval covers the true 0 difference."""
    from forkingpaths.instruments.survey.comparison import compare_models

    rng = np.random.default_rng(seed)
    groups = [f"g{k}" for k in range(n_groups)]
    hits = 0
    for _ in range(n_reps):
        shared = similarity_table(rng, n_items, groups, ["c1"])
        rows = []
        for model in ("m1", "m2"):
            part = shared.copy()
            # per-item differences are skewed (a model misses some items badly)
            part["similarity"] += rng.exponential(0.05, len(part)) * (1 if model == "m1" else 0)
            part["model"] = model
            rows.append(part)
        base = pd.concat(rows)
        base.loc[base["model"] == "m1", "similarity"] -= 0.05  # E[exponential(0.05)] = 0.05: true difference 0
        (comparison,) = compare_models(base, ["m1", "m2"], 0.95, n_resamples, rng)
        hits += all(r["lower_simultaneous"] <= 0 <= r["upper_simultaneous"] for r in comparison["by_group"])
    return hits / n_reps


def reversed_rate_under_tie(n_items: int, n_reps: int, seed: int, n_groups: int = 3) -> float:
    """Share of conditions whose margin interval lies entirely below 0 when all groups tie."""
    from forkingpaths.instruments.survey.stability import group_scores, specification_curve

    rng = np.random.default_rng(seed)
    groups = [f"g{k}" for k in range(n_groups)]
    conditions = ["c1", "c2", "c3", "c4"]
    table = pd.DataFrame({"order": conditions}, index=conditions)
    below = total = 0
    for _ in range(n_reps):
        align = similarity_table(rng, n_items, groups, conditions, noise_sd=0.03)
        scores, draws, labels = group_scores(align, 0.95, 500, rng)
        for row in specification_curve(scores, draws, labels, "g0", table, 0.95):
            below += row["margin_upper"] < 0
            total += 1
    return below / total


def stable_rate_under_null(n_reps: int, seed: int, n_items: int = 31, n_conditions: int = 8, n_resamples: int = 50) -> float:
    """P(verdict 'stable') when three groups are equally close and conditions share the items."""
    from forkingpaths.instruments.survey import stability as module

    rng = np.random.default_rng(seed)
    conditions = [f"c{k}" for k in range(n_conditions)]
    table = pd.DataFrame({"order": conditions}, index=conditions)
    original = module._variance_or_reason
    module._variance_or_reason = lambda *args: ([], "skipped in the simulation")  # not part of the verdict
    try:
        stable = 0
        for _ in range(n_reps):
            align = similarity_table(rng, n_items, ["A", "B", "C"], conditions, item_group_sd=0.04, noise_sd=0.01)
            stable += module.stability(align, ["order"], table, 0.95, n_resamples, rng)["verdict"]["word"] == "stable"
    finally:
        module._variance_or_reason = original
    return stable / n_reps


def steering_table(rng: np.random.Generator, n_items: int, targets: list[str], groups: list[str]) -> pd.DataFrame:
    """No-persona and persona rows where no persona moves any group (the null of no steering)."""
    rows = []
    base = rng.uniform(0.4, 0.7, (n_items, len(groups)))
    for persona in ["none", *[f"average@{t}" for t in targets]]:
        shift = rng.normal(0, 0.03, n_items)[:, None]  # a persona moves all groups alike, per item
        noise = rng.normal(0, 0.03, (n_items, len(groups)))
        values = base + (0 if persona == "none" else shift + noise)
        for i in range(n_items):
            for j, g in enumerate(groups):
                rows.append({"model": "m", "persona": persona, "template": "plain", "item_id": f"i{i}", "group": g, "similarity": values[i, j]})
    return pd.DataFrame(rows)


def any_specific_rate(n_reps: int, seed: int, n_items: int = 20, n_targets: int = 4, n_resamples: int = 500) -> float:
    """P(at least one of n_targets null persona targets is called 'specific')."""
    from forkingpaths.instruments.survey.steering import steerability

    rng = np.random.default_rng(seed)
    groups = ["A", "B", "C", "D", "E"]
    hits = 0
    for _ in range(n_reps):
        align = steering_table(rng, n_items, groups[:n_targets], groups)
        result = steerability(align, ["persona", "template"], 0.95, n_resamples, rng)
        hits += any(t["specific"] for t in result["targets"])
    return hits / n_reps


def extrapolation_table(rng: np.random.Generator, n_topics: int, per_topic: int, groups: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Model and uniform-reference similarities where the model has no group profile of its own.

    The uniform model's similarity carries a group profile from the human data (some
    groups answer more evenly); the model's similarity is that reference plus item noise,
    so the model extrapolates no better than the uniform model (the null).
    """
    n_items = n_topics * per_topic
    profile = np.linspace(0.6, 0.66, len(groups))
    ref = profile[None, :] + rng.normal(0, 0.06, (n_items, len(groups)))
    model = ref + rng.normal(0, 0.05, (n_items, len(groups)))
    ids = [f"i{i}" for i in range(n_items)]
    items = pd.DataFrame({"item_id": ids, "topic": [f"t{i % n_topics}" for i in range(n_items)]})

    def long(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame([{"item_id": ids[i], "group": g, "similarity": values[i, j]} for i in range(n_items) for j, g in enumerate(groups)])

    return long(model), items, long(ref)


def extrapolates_rate_under_null(n_reps: int, seed: int, n_resamples: int = 300) -> float:
    """P(verdict 'extrapolates') when the model is the uniform reference plus noise."""
    from forkingpaths.instruments.survey.extrapolation import extrapolability

    rng = np.random.default_rng(seed)
    groups = [f"g{k}" for k in range(8)]
    hits = 0
    for _ in range(n_reps):
        align, items, ref = extrapolation_table(rng, 5, 6, groups)
        hits += extrapolability(align, items, {"by": "topic"}, 0.95, n_resamples, rng, ref)["verdict"]["word"] == "extrapolates"
    return hits / n_reps


def split_seed_spread(n_seeds: int, seed: int) -> tuple[float, float, int]:
    """On one data set, r over n_seeds split seeds: (min r, max r, number of distinct verdicts)."""
    from forkingpaths.instruments.survey.extrapolation import extrapolability

    groups = [f"g{k}" for k in range(8)]
    align, items, ref = extrapolation_table(np.random.default_rng(seed), 6, 5, groups)
    rs, words = [], set()
    for s in range(n_seeds):
        out = extrapolability(align, items, {"by": "topic"}, 0.95, 200, np.random.default_rng(s), ref)
        rs.append(out["pearson_r"]["estimate"])
        words.add(out["verdict"]["word"])
    return float(min(rs)), float(max(rs)), len(words)
