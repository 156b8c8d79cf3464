"""Tests of forkingpaths.stats.uncertainty against independent computations."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from forkingpaths.stats.uncertainty import (
    Interval,
    bootstrap_ci,
    bootstrap_replicates,
    clt_se,
    cluster_bootstrap_ci,
    cluster_bootstrap_means,
    cluster_resample_counts,
    clustered_se,
    mean_ci,
    two_way_clustered_se,
    wilson_interval,
)


def _clustered_data(seed: int, n_items: int = 40, per_item: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Scores with a strong item effect, so clustering matters."""
    rng = np.random.default_rng(seed)
    items = np.repeat(np.arange(n_items), per_item)
    scores = rng.normal(size=n_items)[items] + rng.normal(scale=0.5, size=items.size)
    return scores, items


def _statsmodels_cluster_se(y: np.ndarray, groups: np.ndarray, use_correction: bool) -> float:
    fit = sm.OLS(y, np.ones((y.size, 1))).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": use_correction}
    )
    return float(fit.bse[0])


# ------------------------------------------------------------------------------ Interval


def test_interval_is_frozen_and_serialises() -> None:
    iv = Interval(0.5, 0.4, 0.6, "clt", se=0.05)
    assert iv.to_dict() == {
        "estimate": 0.5,
        "lower": 0.4,
        "upper": 0.6,
        "method": "clt",
        "level": 0.95,
        "se": 0.05,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        iv.estimate = 1.0  # type: ignore[misc]


# ----------------------------------------------------------------------- analytic errors


def test_clt_se_matches_scipy_sem() -> None:
    x = np.random.default_rng(0).normal(size=57)
    assert clt_se(x) == pytest.approx(stats.sem(x))


def test_clustered_se_hand_worked_example() -> None:
    # mean 0.75; residuals (.25, -.75 | .25, .25); cluster sums -0.5, 0.5; CR0 sqrt(0.5) / 4
    assert clustered_se([1, 0, 1, 1], ["a", "a", "b", "b"], kind="CR0") == pytest.approx(np.sqrt(0.5) / 4)
    # CR1 multiplies the variance by G/(G − 1) = 2
    assert clustered_se([1, 0, 1, 1], ["a", "a", "b", "b"]) == pytest.approx(np.sqrt(2 * 0.5) / 4)


def test_clustered_se_cr0_matches_statsmodels_without_correction() -> None:
    y, items = _clustered_data(1)
    assert clustered_se(y, items, kind="CR0") == pytest.approx(_statsmodels_cluster_se(y, items, False), rel=1e-10)


def test_clustered_se_default_is_cr1_and_matches_statsmodels_default() -> None:
    y, items = _clustered_data(2)
    g, n = len(np.unique(items)), y.size
    factor = np.sqrt(g / (g - 1) * (n - 1) / (n - 1))  # G/(G-1) · (N-1)/(N-K), K = 1
    assert clustered_se(y, items) == pytest.approx(_statsmodels_cluster_se(y, items, True), rel=1e-10)
    assert clustered_se(y, items) == pytest.approx(clustered_se(y, items, kind="CR0") * factor, rel=1e-12)
    with pytest.raises(ValueError, match="CR1"):
        clustered_se(y, items, kind="CR2")  # type: ignore[arg-type]


def test_clustered_se_exceeds_naive_se_with_item_effects() -> None:
    y, items = _clustered_data(3)
    assert clustered_se(y, items) > 1.5 * clt_se(y)


def test_two_way_clustered_se_matches_statsmodels() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 25, 400), rng.integers(0, 8, 400)
    y = rng.normal(size=25)[a] + rng.normal(size=8)[b] + rng.normal(size=400)
    expected = _statsmodels_cluster_se(y, np.column_stack([a, b]), False)
    assert two_way_clustered_se(y, a, b) == pytest.approx(expected, rel=1e-10)


def test_two_way_clustered_se_negative_variance_falls_back_to_larger_one_way() -> None:
    # residuals (3,-1,-2,0): V_A = (2²+2²)/16 = .5, V_B = (1²+1²)/16 = .125, V_AB = 14/16
    # V_A + V_B - V_AB < 0, so the larger one-way SE sqrt(.5) is returned.
    assert two_way_clustered_se([3, -1, -2, 0], [0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(np.sqrt(0.5))


def test_mean_ci_normal_interval_and_method_names() -> None:
    y, items = _clustered_data(5)
    iv = mean_ci(y, level=0.9)
    lo, hi = stats.norm.interval(0.9, loc=y.mean(), scale=stats.sem(y))
    assert (iv.lower, iv.upper, iv.method, iv.level) == (pytest.approx(lo), pytest.approx(hi), "clt", 0.9)
    clustered = mean_ci(y, items)
    assert clustered.method == "clustered-se(item,CR1)"
    g = len(np.unique(items))
    assert clustered.upper - clustered.estimate == pytest.approx(stats.t.ppf(0.975, g - 1) * clustered_se(y, items))
    fit = sm.OLS(y, np.ones((y.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": items}, use_t=True)
    assert (clustered.lower, clustered.upper) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-10)
    assert mean_ci(y, items, kind="CR0").method == "clustered-se(item,CR0)"
    templates = np.arange(y.size) % 4
    two_way = mean_ci(y, items, second_clusters=templates, cluster_name="question")
    assert two_way.method == "two-way-clustered-se(question,template)"
    assert two_way.se == pytest.approx(two_way_clustered_se(y, items, templates))


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (10, 10), (3, 10), (1, 1), (47, 200), (0, 1000)])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(successes: int, n: int, level: float) -> None:
    iv = wilson_interval(successes, n, level)
    lo, hi = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    assert (iv.lower, iv.upper) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert iv.upper - iv.lower > 0
    assert iv.estimate == successes / n and iv.method == "wilson"


# ------------------------------------------------------------------------ plain bootstrap


def test_bootstrap_replicates_of_mean_have_the_closed_form_moments() -> None:
    x = np.random.default_rng(6).exponential(size=30)
    boot = bootstrap_replicates(x, np.mean, 20000, rng=7)
    # E*[mean*] = mean, Var*[mean*] = s²_(ddof=0) / n (Efron & Tibshirani 1993, §6.2)
    sd = np.sqrt(x.var() / x.size)
    assert abs(boot.mean() - x.mean()) < 4 * sd / np.sqrt(boot.size)
    assert boot.std() == pytest.approx(sd, rel=0.03)


@pytest.mark.parametrize(("method", "scipy_method"), [("percentile", "percentile"), ("bca", "BCa")])
@pytest.mark.parametrize("statistic", [np.mean, np.median])
def test_bootstrap_ci_agrees_with_scipy(method: str, scipy_method: str, statistic) -> None:
    x = np.random.default_rng(8).exponential(size=40)
    ours = bootstrap_ci(x, statistic, n_resamples=20000, method=method, rng=9)
    ref = stats.bootstrap((x,), statistic, method=scipy_method, n_resamples=20000, rng=10)
    tol = 0.1 * ref.standard_error
    assert ours.lower == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.upper == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.se == pytest.approx(ref.standard_error, rel=0.05)
    assert ours.method == f"bootstrap-{method}" and ours.estimate == pytest.approx(statistic(x))


def test_bca_matches_hand_formula_on_the_same_replicates() -> None:
    x = np.random.default_rng(11).lognormal(size=25)
    boot = bootstrap_replicates(x, np.mean, 4000, rng=12)
    theta = x.mean()
    z0 = stats.norm.ppf((np.sum(boot < theta) + np.sum(boot <= theta)) / (2 * boot.size))
    jack = np.array([np.delete(x, i).mean() for i in range(x.size)])
    dev = jack.mean() - jack
    accel = np.sum(dev**3) / (6 * np.sum(dev**2) ** 1.5)
    probs = [stats.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z))) for z in stats.norm.ppf([0.05, 0.95])]
    ours = bootstrap_ci(x, np.mean, 4000, level=0.9, method="bca", rng=12)
    assert (ours.lower, ours.upper) == tuple(pytest.approx(q, rel=1e-12) for q in np.quantile(boot, probs))


def test_bca_undefined_raises() -> None:
    # Number of distinct values: every resample of 50 distinct values (short of a
    # permutation, probability 50!/50^50) has fewer, so all replicates lie below θ̂.
    def n_distinct(v, axis):
        return (np.diff(np.sort(v, axis=axis), axis=axis) != 0).sum(axis=axis) + 1.0

    with pytest.raises(ValueError, match="BCa is undefined"):
        bootstrap_ci(np.arange(50.0), n_distinct, n_resamples=200, method="bca", rng=0)


def test_bootstrap_ci_seeding() -> None:
    x = np.random.default_rng(13).normal(size=30)
    assert bootstrap_ci(x, rng=1) == bootstrap_ci(x, rng=1)
    assert bootstrap_ci(x, rng=np.random.default_rng(1)) == bootstrap_ci(x, rng=1)
    assert bootstrap_ci(x, rng=1).lower != bootstrap_ci(x, rng=2).lower


# ---------------------------------------------------------------------- cluster bootstrap


def _reference_cluster_bootstrap(scores, clusters, groups, counts):
    """Slow loop: literally rebuild each resampled data set and average per group."""
    cluster_ids = sorted(set(clusters))
    group_ids = sorted(set(groups))
    rows_of = {c: [i for i, ci in enumerate(clusters) if ci == c] for c in cluster_ids}
    out = np.full((counts.shape[0], len(group_ids)), np.nan)
    for b, row in enumerate(counts):
        drawn = [c for c, times in zip(cluster_ids, row, strict=True) for _ in range(times)]
        rows = list(itertools.chain.from_iterable(rows_of[c] for c in drawn))
        for j, g in enumerate(group_ids):
            vals = [scores[i] for i in rows if groups[i] == g]
            if vals:
                out[b, j] = sum(vals) / len(vals)
    return group_ids, out


def test_cluster_bootstrap_means_matches_slow_loop_with_same_resamples() -> None:
    rng = np.random.default_rng(14)
    n = 300
    clusters = [f"item{i}" for i in rng.integers(0, 25, n)]
    groups = [("m1", "m2", "m3")[i] for i in rng.integers(0, 3, n)]
    scores = rng.normal(size=n)
    labels, estimates, reps = cluster_bootstrap_means(scores, clusters, groups, n_resamples=50, rng=15)
    counts = cluster_resample_counts(25, 50, rng=15)
    ref_labels, ref = _reference_cluster_bootstrap(list(scores), clusters, groups, counts)
    assert list(labels) == ref_labels
    np.testing.assert_allclose(reps, ref, rtol=1e-12)
    expected = pd.Series(scores).groupby(groups).mean().to_numpy()
    np.testing.assert_allclose(estimates, expected, rtol=1e-12)


def test_cluster_bootstrap_gives_nan_when_a_group_is_not_drawn() -> None:
    scores = np.arange(6.0)
    clusters = np.array([0, 0, 1, 1, 2, 2])
    groups = np.array(["x", "y", "x", "x", "x", "x"])  # group y lives only in cluster 0
    _, _, reps = cluster_bootstrap_means(scores, clusters, groups, n_resamples=200, rng=16)
    counts = cluster_resample_counts(3, 200, rng=16)
    np.testing.assert_array_equal(np.isnan(reps[:, 1]), counts[:, 0] == 0)
    assert np.isnan(reps[:, 1]).any() and not np.isnan(reps[:, 0]).any()


def test_cluster_bootstrap_se_approaches_clustered_se() -> None:
    # Equal cluster sizes: the bootstrap variance of the mean is exactly Σ_c (Σ resid)² / n².
    y, items = _clustered_data(17, n_items=60, per_item=4)
    _, _, reps = cluster_bootstrap_means(y, items, n_resamples=6000, rng=18)
    assert reps[:, 0].std() == pytest.approx(clustered_se(y, items), rel=0.05)


def test_cluster_bootstrap_keeps_pairs_across_groups() -> None:
    # Two models on the same items with a huge shared item effect: the SE of their
    # difference must match the clustered SE of the paired differences, not the
    # much larger SE of two independent means.
    rng = np.random.default_rng(19)
    items = np.repeat(np.arange(80), 3)
    effect = 5 * rng.normal(size=80)[items]
    a, b = effect + rng.normal(size=items.size), effect + 0.2 + rng.normal(size=items.size)
    scores = np.concatenate([a, b])
    _, _, reps = cluster_bootstrap_means(
        scores, np.tile(items, 2), np.repeat(["a", "b"], items.size), 6000, rng=20
    )
    diff_sd = (reps[:, 0] - reps[:, 1]).std()
    assert diff_sd == pytest.approx(clustered_se(a - b, items), rel=0.06)
    assert diff_sd < 0.2 * np.hypot(reps[:, 0].std(), reps[:, 1].std())


def test_cluster_bootstrap_ci_frame() -> None:
    y, items = _clustered_data(21, n_items=80, per_item=3)
    groups = np.where(np.arange(y.size) % 2 == 0, "even", "odd")
    out = cluster_bootstrap_ci(y, items, groups, n_resamples=4000, level=0.9, rng=22, cluster_name="question")
    assert list(out.columns) == ["group", "estimate", "lower", "upper", "se", "level", "method"]
    assert list(out["group"]) == ["even", "odd"] and set(out["method"]) == {"cluster-bootstrap(question)"}
    for _, row in out.iterrows():
        mask = groups == row["group"]
        se = clustered_se(y[mask], items[mask])
        assert row["estimate"] == pytest.approx(y[mask].mean())
        assert row["se"] == pytest.approx(se, rel=0.07)
        # Close to symmetric data: percentile bounds near the normal ones (within 0.15 SE).
        assert row["lower"] == pytest.approx(row["estimate"] - stats.norm.ppf(0.95) * se, abs=0.15 * se)
        assert row["upper"] == pytest.approx(row["estimate"] + stats.norm.ppf(0.95) * se, abs=0.15 * se)


def test_cluster_bootstrap_seeding_and_counts() -> None:
    y, items = _clustered_data(23)
    first = cluster_bootstrap_means(y, items, n_resamples=100, rng=5)[2]
    np.testing.assert_array_equal(first, cluster_bootstrap_means(y, items, n_resamples=100, rng=5)[2])
    assert not np.array_equal(first, cluster_bootstrap_means(y, items, n_resamples=100, rng=6)[2])
    counts = cluster_resample_counts(40, 100, rng=5)
    assert counts.shape == (100, 40) and (counts.sum(axis=1) == 40).all()


def test_multiindex_groups_give_tuple_labels() -> None:
    y, items = _clustered_data(24, n_items=10, per_item=4)
    groups = pd.MultiIndex.from_arrays([np.arange(y.size) % 2, np.arange(y.size) % 3 == 0])
    labels, estimates, reps = cluster_bootstrap_means(y, items, groups, n_resamples=10, rng=0)
    assert list(labels) == [(0, False), (0, True), (1, False), (1, True)]
    assert reps.shape == (10, 4) and estimates.shape == (4,)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: clt_se([]), "at least 2"),
        (lambda: clt_se([1.0, np.nan]), "NaN"),
        (lambda: clustered_se([1.0, 2.0], [0]), "length"),
        (lambda: clustered_se([1.0, 2.0], [0, 0]), "at least 2 clusters"),
        (lambda: clustered_se([1.0, 2.0], [0, None]), "missing labels"),
        (lambda: mean_ci([1.0, 2.0], level=1.0), "level"),
        (lambda: mean_ci([1.0, 2.0], level=0.0), "level"),
        (lambda: mean_ci([1.0, 2.0, 3.0], second_clusters=[0, 1, 1]), "needs clusters"),
        (lambda: wilson_interval(11, 10), "successes"),
        (lambda: wilson_interval(1, 0), "n must"),
        (lambda: bootstrap_ci([1.0, 2.0, 3.0], method="basic"), "method"),
        (lambda: bootstrap_ci([1.0, 2.0, 3.0], n_resamples=0), "n_resamples"),
        (lambda: bootstrap_ci([1.0, 2.0, 3.0], statistic=lambda v, axis: v), "statistic"),
        (lambda: cluster_bootstrap_means([1.0, 2.0], [0, 1], [0]), "groups has length"),
        (lambda: cluster_bootstrap_means([], []), "at least 1"),
        (lambda: cluster_bootstrap_ci([1.0, 2.0], [0, 1], level=1.5), "level"),
        (lambda: two_way_clustered_se([1.0, 2.0, 3.0], [0, 1, 1], [0, 0]), "clusters_b"),
    ],
)
def test_bad_input_raises_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
