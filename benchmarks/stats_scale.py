"""Scale benchmark for forkingpaths.stats: the item-clustered bootstrap and the multiverse summary.

Synthetic trials table: 1,000 items × 50 conditions × 20 models = 1,000,000 rows (seeded),
binary scores from a logistic model with item, model, condition and model×condition effects.

(a) item-clustered bootstrap (1,000 replicates) of every (model, condition) mean:
    cluster_bootstrap_means versus a straightforward loop that rebuilds each resampled
    table (rows of the drawn items) and runs a pandas groupby-mean.
(b) multiverse summary (specification curve per model + rank-first probabilities):
    specification_curve + rank_first_probability versus one groupby loop that serves both.

The loops are timed on the first LOOP_RESAMPLES replicates and extrapolated linearly to
N_RESAMPLES. Both sides use the same resamples (cluster_resample_counts with the same
seed), so their numbers are compared exactly.

Run: PYTHONPATH=src python benchmarks/stats_scale.py
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd

from forkingpaths.stats.multiverse import rank_first_probability, specification_curve
from forkingpaths.stats.uncertainty import cluster_bootstrap_means, cluster_resample_counts

N_ITEMS, N_CONDITIONS, N_MODELS = 1000, 50, 20
N_RESAMPLES, LOOP_RESAMPLES = 1000, 20
SEED = 20241101
KEYS = ["model", "condition"]


def make_trials(seed: int) -> pd.DataFrame:
    """One trial per (model, condition, item); P(correct) = logistic(sum of the four effects)."""
    rng = np.random.default_rng(seed)
    grid = np.meshgrid(np.arange(N_MODELS), np.arange(N_CONDITIONS), np.arange(N_ITEMS), indexing="ij")
    model, condition, item = (axis.ravel() for axis in grid)
    logit = (
        rng.normal(0, 1.5, N_ITEMS)[item]
        + rng.normal(0, 0.3, N_MODELS)[model]
        + rng.normal(0, 0.2, N_CONDITIONS)[condition]
        + rng.normal(0, 0.1, (N_MODELS, N_CONDITIONS))[model, condition]
    )
    return pd.DataFrame(
        {
            "model": pd.Categorical.from_codes(model, [f"m{i:02d}" for i in range(N_MODELS)]),
            "condition": pd.Categorical.from_codes(condition, [f"c{i:02d}" for i in range(N_CONDITIONS)]),
            "item": item,
            "score": (rng.random(item.size) < 1 / (1 + np.exp(-logit))).astype(float),
        }
    )


def loop_replicate_means(df: pd.DataFrame, counts: np.ndarray) -> list[pd.Series]:
    """Straightforward reference: per replicate, gather the drawn items' rows and groupby-mean."""
    rows_of_item = df.groupby("item").indices
    items = np.sort(df["item"].unique())
    out = []
    for row in counts:
        rows = np.concatenate([rows_of_item[i] for i in np.repeat(items, row)])
        out.append(df.iloc[rows].groupby(KEYS, observed=True)["score"].mean())
    return out


def loop_multiverse(df: pd.DataFrame, counts: np.ndarray) -> tuple[pd.DataFrame, pd.Series]:
    """Groupby-loop specification curve (percentile bounds per model × condition) and rank-first shares."""
    replicates = loop_replicate_means(df, counts)
    credit = pd.Series(0.0, index=df["model"].cat.categories)
    for means in replicates:
        table = means.unstack("model")
        best = table.eq(table.max(axis=1), axis=0)
        credit += best.div(best.sum(axis=1), axis=0).sum(axis=0)
    reps = pd.concat(replicates, axis=1)
    curve = pd.DataFrame(
        {
            "estimate": df.groupby(KEYS, observed=True)["score"].mean(),
            "lower": reps.quantile(0.025, axis=1),
            "upper": reps.quantile(0.975, axis=1),
        }
    )
    curve["rank"] = curve.groupby("model", observed=True)["estimate"].rank(method="first").astype(int)
    return curve, credit / (len(replicates) * N_CONDITIONS)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def fast_bootstrap(df: pd.DataFrame, n_resamples: int):
    groups = df.groupby(KEYS, observed=True).ngroup().to_numpy()
    return cluster_bootstrap_means(df["score"].to_numpy(), df["item"].to_numpy(), groups, n_resamples, SEED)


def fast_multiverse(df: pd.DataFrame, n_resamples: int) -> tuple[pd.DataFrame, pd.Series]:
    curve = specification_curve(
        df, "score", "condition", "item", by="model", n_resamples=n_resamples, rng=SEED
    )
    first = rank_first_probability(df, "score", "model", "condition", "item", n_resamples, SEED)
    return curve, first


def main() -> None:
    t_make, df = timed(make_trials, SEED)
    print(
        f"trials: {len(df):,} rows ({N_ITEMS} items x {N_CONDITIONS} conditions x {N_MODELS} models),"
        f" built in {t_make:.1f} s"
    )
    counts = cluster_resample_counts(N_ITEMS, N_RESAMPLES, SEED)[:LOOP_RESAMPLES]
    scale = N_RESAMPLES / LOOP_RESAMPLES

    # (a) item-clustered bootstrap of every (model, condition) mean
    t_fast, (_, _, reps) = timed(fast_bootstrap, df, N_RESAMPLES)
    t_loop, loop_reps = timed(loop_replicate_means, df, counts)
    diff_a = max(float(np.max(np.abs(reps[b] - s.to_numpy()))) for b, s in enumerate(loop_reps))
    print("\n(a) item-clustered bootstrap, 1,000 replicates of 1,000 (model, condition) means")
    print(f"    vectorised cluster_bootstrap_means: {t_fast:.2f} s")
    print(
        f"    pandas groupby loop: {t_loop:.2f} s for {LOOP_RESAMPLES} replicates "
        f"-> {t_loop * scale:.1f} s extrapolated linearly to {N_RESAMPLES}"
    )
    print(f"    same resamples, max |fast - loop| over {LOOP_RESAMPLES} replicates = {diff_a:.2e}")
    print(f"    speedup_ratio={t_loop * scale / t_fast:.1f}")

    # (b) multiverse summary: specification curve per model + rank-first probabilities
    t_fast_b, _ = timed(fast_multiverse, df, N_RESAMPLES)
    t_loop_b, (loop_curve, loop_first) = timed(loop_multiverse, df, counts)
    curve, first = fast_multiverse(df, LOOP_RESAMPLES)  # same seed and replicate count as the loop
    merged = curve.merge(loop_curve.reset_index(), on=KEYS, suffixes=("", "_loop"), validate="one_to_one")
    diff_b = max(
        float(np.max(np.abs(merged[c] - merged[f"{c}_loop"]))) for c in ("estimate", "lower", "upper", "rank")
    )
    diff_first = float(np.max(np.abs(first - loop_first.loc[first.index])))
    print(
        "\n(b) multiverse summary (specification curve by model + rank-first probability), 1,000 replicates"
    )
    print(f"    vectorised specification_curve + rank_first_probability: {t_fast_b:.2f} s (two bootstraps)")
    print(
        f"    pandas groupby loop (one shared bootstrap): {t_loop_b:.2f} s for {LOOP_RESAMPLES} replicates "
        f"-> {t_loop_b * scale:.1f} s extrapolated linearly to {N_RESAMPLES}"
    )
    print(
        f"    same resamples ({LOOP_RESAMPLES}): max |diff| curve = {diff_b:.2e},"
        f" rank-first = {diff_first:.2e}"
    )
    print(f"    speedup_ratio={t_loop_b * scale / t_fast_b:.1f}")

    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"\npeak resident memory: {peak_gb:.2f} GB")
    ok = diff_a < 1e-9 and diff_b < 1e-9 and diff_first < 1e-9
    print("agreement:", "OK" if ok else "MISMATCH")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
