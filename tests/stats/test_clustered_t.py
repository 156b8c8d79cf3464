"""Clustered (CR1) t intervals, contrasts and the studentized max-|t| band, against
statsmodels and by seeded simulation of their coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from forkingpaths.stats.uncertainty import (
    cluster_bootstrap_ci,
    cluster_bootstrap_means,
    cluster_t_ci,
    clustered_means,
    clustered_se,
    contrasts,
    percentile_bounds,
    simultaneous_band,
)


def _grouped(seed: int, n_items: int = 12, groups: int = 3, per_cell: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        effect = rng.normal()
        for g in range(groups):
            for _ in range(per_cell + (i + g) % 2):  # unequal cell sizes
                rows.append({"item": i, "group": f"g{g}", "y": g * 0.3 + effect + rng.normal(0, 0.5)})
    return pd.DataFrame(rows)


def _dummy_fit(df: pd.DataFrame, use_correction: bool):
    dummies = pd.get_dummies(df["group"]).astype(float)
    return sm.OLS(df["y"].to_numpy(), dummies.to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": df["item"].to_numpy(), "use_correction": use_correction}, use_t=True
    )


def test_clustered_means_covariance_matches_statsmodels_group_dummies() -> None:
    df = _grouped(0)
    fit = _dummy_fit(df, use_correction=False)
    cr0 = clustered_means(df["y"], df["item"], df["group"], kind="CR0")
    assert cr0.estimates == pytest.approx(fit.params, rel=1e-12)
    assert cr0.cov == pytest.approx(fit.cov_params(), rel=1e-10)
    g = df["item"].nunique()  # every group is in every item: CR1 = CR0 · G/(G − 1)
    assert clustered_means(df["y"], df["item"], df["group"]).cov == pytest.approx(cr0.cov * g / (g - 1), rel=1e-12)


def test_cluster_t_ci_of_one_mean_matches_statsmodels_default_and_clustered_se() -> None:
    df = _grouped(1, groups=1)
    (row,) = cluster_t_ci(df["y"], df["item"]).to_dict(orient="records")
    fit = sm.OLS(df["y"].to_numpy(), np.ones((len(df), 1))).fit(cov_type="cluster", cov_kwds={"groups": df["item"].to_numpy()}, use_t=True)
    assert row["se"] == pytest.approx(fit.bse[0], rel=1e-10) == pytest.approx(clustered_se(df["y"], df["item"]))
    assert (row["lower"], row["upper"]) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-10)
    assert row["p_value"] == pytest.approx(fit.pvalues[0], rel=1e-8)
    assert row["method"] == "cluster-t(item)" and row["df"] == df["item"].nunique() - 1


def test_contrasts_match_statsmodels_t_test() -> None:
    df = _grouped(2)
    fit = _dummy_fit(df, use_correction=False)
    means = clustered_means(df["y"], df["item"], df["group"], kind="CR0")
    weights = np.array([[1.0, -1.0, 0.0], [1.0, 0.0, -1.0]])
    table = contrasts(means, weights)
    for k, lam in enumerate(weights):
        ref = fit.t_test(lam)
        assert table.loc[k, "estimate"] == pytest.approx(float(ref.effect[0]), rel=1e-10)
        assert table.loc[k, "se"] == pytest.approx(float(ref.sd[0, 0]), rel=1e-10)
        assert table.loc[k, "p_value"] == pytest.approx(float(ref.pvalue), rel=1e-8)


def test_simultaneous_band_lies_between_pointwise_and_bonferroni() -> None:
    df = _grouped(3, n_items=40, groups=5)
    means = clustered_means(df["y"], df["item"], df["group"])
    lower, upper, crit = simultaneous_band(means, 0.95, 2000, np.random.default_rng(0))
    g = df["item"].nunique()
    assert stats.t.ppf(0.975, g - 1) < crit < stats.t.ppf(1 - 0.025 / 5, g - 1) * 1.1
    se = np.sqrt(np.diag(means.cov))
    assert upper - means.estimates == pytest.approx(crit * se)
    again = simultaneous_band(means, 0.95, 2000, np.random.default_rng(0))
    assert again[2] == crit  # seeded


def _skewed_items(rng: np.random.Generator, n_items: int, n_groups: int, skewed: bool = True) -> pd.DataFrame:
    """Per-item scores with true mean 0 in every group: a shared (skewed) item effect plus noise."""
    item = rng.exponential(0.1, n_items) - 0.1 if skewed else rng.normal(0, 0.1, n_items)
    values = item[:, None] + rng.normal(0, 0.05, (n_items, n_groups))
    return pd.DataFrame(
        {"item": np.repeat(np.arange(n_items), n_groups), "group": np.tile(np.arange(n_groups), n_items), "y": values.ravel()}
    )


def _coverage(n_items: int, n_reps: int, seed: int, method: str, skewed: bool = False) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_reps):
        df = _skewed_items(rng, n_items, 1, skewed)
        if method == "bootstrap":
            row = cluster_bootstrap_ci(df["y"], df["item"], n_resamples=1000, rng=rng).iloc[0]
        else:
            row = cluster_t_ci(df["y"], df["item"]).iloc[0]
        hits += row["lower"] <= 0 <= row["upper"]
    return hits / n_reps


def test_cr1_t_interval_holds_its_level_at_small_item_counts_where_the_percentile_bootstrap_does_not() -> None:
    """Item 4 of issue 9. 600 replicates: Monte-Carlo SE ≈ 0.009 at 0.95, 0.012 at 0.90.

    Normal item effects, 10 items: percentile bootstrap 0.902, CR1 with t(9) 0.960
    (20 items: 0.915 and 0.950). With a skewed item effect both fall short (0.907 and
    0.933 at 10 items), which is why findings flag fewer than FEW_CLUSTERS items.
    """
    boot = _coverage(10, 600, 4, "bootstrap")
    cr1 = _coverage(10, 600, 4, "t")
    assert boot < 0.93  # the defect: well below 0.95
    assert cr1 > 0.935


def _band_coverage(n_items: int, n_reps: int, seed: int, method: str, n_groups: int = 5) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_reps):
        df = _skewed_items(rng, n_items, n_groups)
        if method == "bonferroni":
            _, _, reps = cluster_bootstrap_means(df["y"], df["item"], df["group"], 1000, rng)
            lower, upper = percentile_bounds(reps, 1 - 0.05 / n_groups)
        else:
            lower, upper, _ = simultaneous_band(clustered_means(df["y"], df["item"], df["group"]), 0.95, 1000, rng)
        hits += bool(np.all((lower <= 0) & (0 <= upper)))
    return hits / n_reps


def test_studentized_band_covers_all_groups_where_bonferroni_percentiles_do_not() -> None:
    """Item 3 of issue 9, engine level: 300 replicates, Monte-Carlo SE ≈ 0.013 at 0.95."""
    bonferroni = _band_coverage(10, 300, 5, "bonferroni")
    band = _band_coverage(10, 300, 5, "band")
    assert bonferroni < 0.90
    assert band > 0.92
