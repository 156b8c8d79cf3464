"""Bias estimators against independent computations: BBQ scores by hand, clustered gaps by statsmodels,
sign-flip by exact enumeration, selection rates by a loop, Wasserstein by scipy, and interval coverage."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.api as sm

from forkingpaths.instruments.bias import scores


def _bbq_frame() -> pd.DataFrame:
    # 2 templates; chosen answers coded as (correct, biased, unknown)
    rows = [
        # template t1: 4 answers: biased, biased, unknown (correct), counter-biased
        ("t1", True, False, True), ("t1", False, True, False), ("t1", False, True, False), ("t1", False, False, False),
        # template t2: 2 answers: unknown (correct), biased
        ("t2", True, False, True), ("t2", False, True, False),
    ]
    return pd.DataFrame(rows, columns=["template_id", "correct", "biased_answer", "unknown_answer"]).assign(chosen=0)


def test_bbq_bias_scores_equal_a_hand_computed_example() -> None:
    # 6 answers, 2 correct → accuracy 1/3; non-unknown 4, of which biased 3 → s_DIS = 2·3/4 − 1 = 0.5;
    # s_AMB = (1 − 1/3) · 0.5 = 1/3 (Parrish et al. 2022, §4)
    point = scores.bbq_bias_scores(scores.bbq_counts(_bbq_frame()))
    assert point["accuracy"] == pytest.approx(1 / 3)
    assert point["s_dis"] == pytest.approx(0.5)
    assert point["s_amb"] == pytest.approx(1 / 3)
    result = scores.bbq_intervals(scores.bbq_counts(_bbq_frame()), 0.95)
    assert result["n_templates"] == 2 and result["s_dis"]["lower"] <= 0.5 <= result["s_dis"]["upper"]
    # linearised SE of s_DIS by hand: r = 3/4, U = 4; z_t = 2(b_t − r·u_t)/U: t1 (b 2, u 3) → −0.125, t2 (b 1, u 1) → 0.125
    se = np.sqrt(2 / 1 * (0.125**2 + 0.125**2))
    assert result["s_dis"]["se"] == pytest.approx(se)
    assert result["s_dis"]["upper"] == pytest.approx(0.5 + scipy.stats.t.ppf(0.975, 1) * se)


def test_bbq_intervals_cover_at_six_templates() -> None:
    """Seeded, bounded simulation: 300 data sets of 6 templates × 8 answers; true s_DIS 0.3, accuracy 0.3."""
    rng = np.random.default_rng(13)
    hits = {"s_dis": 0, "accuracy": 0, "s_amb": 0}
    truth = {"s_dis": 0.3, "accuracy": 0.3, "s_amb": 0.7 * 0.3}
    runs = 300
    for _ in range(runs):
        u = rng.binomial(8, 0.7, 6)
        counts = pd.DataFrame({"n": 8, "correct": rng.binomial(8, 0.3, 6), "biased": rng.binomial(u, np.clip(rng.normal(0.65, 0.1, 6), 0, 1)), "non_unknown": u}).astype(float)
        result = scores.bbq_intervals(counts, 0.95)
        for key in hits:
            hits[key] += result[key]["lower"] <= truth[key] <= result[key]["upper"]
    for key, count in hits.items():
        assert 0.91 <= count / runs <= 0.98, (key, count / runs)  # binomial sd at 0.95 and 300 runs is 0.013


def _gap_data(rng: np.random.Generator, n_templates: int, effect: float, draws: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Scores of groups A and B on the same variants: a template effect shared by both, a gap that
    varies by template (so the clustered interval has work to do), and variant noise."""
    template_effect = np.repeat(rng.normal(0, 1, n_templates), draws)
    template_gap = np.repeat(effect + rng.normal(0, 0.3, n_templates), draws)
    base = template_effect + rng.normal(0, 0.3, n_templates * draws)
    wide = pd.DataFrame({"A": base + template_gap + rng.normal(0, 0.5, base.size), "B": base + rng.normal(0, 0.5, base.size)})
    return wide, np.repeat([f"t{t}" for t in range(n_templates)], draws)


def test_clustered_gap_interval_matches_statsmodels_cluster_robust_ols() -> None:
    wide, templates = _gap_data(np.random.default_rng(3), 12, 0.3)
    [gap] = scores.paired_gaps(wide, templates, 0.95, 2000, 0)
    d = (wide["A"] - wide["B"]).to_numpy()
    codes = pd.factorize(templates)[0]
    fit = sm.OLS(d, np.ones((d.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    low, high = fit.conf_int(0.05)[0]
    assert gap["estimate"] == pytest.approx(fit.params[0])
    assert (gap["lower"], gap["upper"]) == pytest.approx((low, high))
    assert gap["n_templates"] == 12


def test_sign_flip_p_value_agrees_with_exact_enumeration_over_templates() -> None:
    wide, templates = _gap_data(np.random.default_rng(5), 10, 0.25)
    [gap] = scores.paired_gaps(wide, templates, 0.95, 20000, 1)
    per_template = pd.Series((wide["A"] - wide["B"]).to_numpy()).groupby(templates).mean().to_numpy()
    observed = abs(per_template.mean())
    flips = [abs((np.array(signs) * per_template).mean()) for signs in itertools.product((1, -1), repeat=per_template.size)]
    exact = np.mean(np.array(flips) >= observed - 1e-12)
    assert gap["p_value"] == pytest.approx(exact, abs=0.01)


def test_bh_q_values_over_group_pairs() -> None:
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(30, 4)), columns=list("ABCD"))
    templates = np.repeat(np.arange(10), 3)
    gaps = scores.paired_gaps(wide, templates, 0.95, 999, 0)
    assert len(gaps) == 6
    p = np.array([g["p_value"] for g in gaps])
    m = len(p)
    order = np.argsort(p)
    expected = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    assert np.allclose(np.array([g["q_value"] for g in gaps])[order], np.minimum(expected, 1))


def test_gap_interval_covers_at_small_template_counts() -> None:
    """Seeded, bounded simulation: 400 data sets of 8 templates with a known gap; 95% intervals."""
    rng = np.random.default_rng(2026)
    hits = 0
    runs = 400
    for _ in range(runs):  # the template-level gap has mean 0.3
        wide, templates = _gap_data(rng, 8, 0.3)
        [gap] = scores.paired_gaps(wide, templates, 0.95, 1, 0)
        hits += gap["lower"] <= 0.3 <= gap["upper"]
    assert 0.92 <= hits / runs <= 0.98  # binomial sd at 0.95 and 400 runs is 0.011


def test_beyond_noise_rule() -> None:
    controls = [{"lower": -0.05, "upper": 0.08}, {"lower": -0.02, "upper": 0.03}]
    assert scores.beyond_noise({"lower": 0.1, "upper": 0.3}, controls) == {"verdict": "beyond noise", "noise_bound": 0.08}
    assert scores.beyond_noise({"lower": 0.06, "upper": 0.3}, controls)["verdict"] == "within noise"
    assert scores.beyond_noise({"lower": -0.4, "upper": -0.09}, controls)["verdict"] == "beyond noise"
    assert scores.beyond_noise({"lower": -0.1, "upper": 0.3}, controls)["verdict"] == "within noise"
    assert scores.beyond_noise({"lower": 0.1, "upper": 0.3}, [])["verdict"] == "no controls"


def test_selection_rates_and_impact_ratios_match_a_loop() -> None:
    rng = np.random.default_rng(1)
    groups = ["A", "B", "C", "D"]
    frame = pd.DataFrame([
        {"model": "m", "template_id": f"r{i}", "candidate_groups": list(rng.permutation(groups)), "selected_position": int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))}
        for i in range(200)
    ])
    candidates = scores.candidate_rows(frame)
    rates = {r["group"]: r for r in scores.selection_rates(candidates, 0.95)}
    shown = {g: 0 for g in groups}
    picked = {g: 0 for g in groups}
    for row in frame.itertuples():
        for position, g in enumerate(row.candidate_groups):
            shown[g] += 1
            picked[g] += position == row.selected_position
    best = max(picked[g] / shown[g] for g in groups)
    for g in groups:
        assert rates[g]["rate"] == pytest.approx(picked[g] / shown[g])
        assert rates[g]["impact_ratio"] == pytest.approx(picked[g] / shown[g] / best)
        assert rates[g]["four_fifths"] == (picked[g] / shown[g] / best < 0.8)
        assert rates[g]["ratio_lower"] <= rates[g]["impact_ratio"] <= rates[g]["ratio_upper"] + 1e-12
    positions = scores.position_rates(candidates, 0.95)
    assert [p["rate"] for p in positions] == pytest.approx(list((frame["selected_position"].value_counts().sort_index() / 200).to_numpy()))


def _rating_sets(n_templates: int) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame([{"template_id": f"t{t}", "draw": d, "group": g, "probs": list(rng.dirichlet(np.ones(5)))}
                         for t in range(n_templates) for d in range(2) for g in ("A", "B")])


def test_rating_distances_equal_scipy_wasserstein_with_an_interval_from_five_templates() -> None:
    frame = _rating_sets(6)
    [result] = scores.rating_distances(frame, ["template_id", "draw"], 0.95, 500, 0)
    p = np.mean(np.vstack(frame[frame.group == "A"].probs.to_list()), axis=0)
    q = np.mean(np.vstack(frame[frame.group == "B"].probs.to_list()), axis=0)
    expected = scipy.stats.wasserstein_distance(range(5), range(5), p, q) / 4
    assert result["wasserstein"] == pytest.approx(expected)
    assert result["lower"] <= expected <= result["upper"] and 0 < result["p_value"] <= 1
    [few] = scores.rating_distances(_rating_sets(4), ["template_id", "draw"], 0.95, 500, 0)
    assert few["lower"] is None and few["p_value"] is None and few["n_templates"] == 4


def test_bbq_shift_of_accuracy_equals_the_clustered_interval_of_paired_differences() -> None:
    """On paired trials the accuracy shift is a mean of per-pair differences, so its linearised interval must equal
    statsmodels' cluster-robust OLS interval of those differences (the s_DIS shift has no such closed form)."""
    rng = np.random.default_rng(8)
    templates = np.repeat([f"t{t}" for t in range(7)], 6)
    base = pd.DataFrame({"template_id": templates, "correct": rng.random(42) < 0.6, "chosen": 0})
    control = base.assign(correct=np.where(rng.random(42) < 0.2, ~base["correct"], base["correct"]))
    for frame in (base, control):
        frame["biased_answer"], frame["unknown_answer"] = rng.random(42) < 0.5, rng.random(42) < 0.3
    shift = scores.bbq_shift(control, base, 0.95)
    d = control["correct"].astype(float).to_numpy() - base["correct"].astype(float).to_numpy()
    fit = sm.OLS(d, np.ones((42, 1))).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(templates)[0]}, use_t=True)
    assert shift["accuracy"]["estimate"] == pytest.approx(fit.params[0])
    assert (shift["accuracy"]["lower"], shift["accuracy"]["upper"]) == pytest.approx(tuple(fit.conf_int(0.05)[0]))
    s_dis = scores.bbq_bias_scores(scores.bbq_counts(control))["s_dis"] - scores.bbq_bias_scores(scores.bbq_counts(base))["s_dis"]
    assert shift["s_dis"]["estimate"] == pytest.approx(s_dis) and shift["n_templates"] == 7


def _near_tied_rankings(rng: np.random.Generator, n: int, probs: np.ndarray) -> pd.DataFrame:
    groups = [f"g{i}" for i in range(len(probs))]
    rows = []
    for r in range(n):
        order, chosen = rng.permutation(len(probs)), rng.choice(len(probs), p=probs)
        rows.append({"model": "m", "template_id": f"r{r}", "candidate_groups": [groups[i] for i in order], "selected_position": int(np.flatnonzero(order == chosen)[0])})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_rankings", [20, 60])
def test_selection_rate_and_impact_ratio_intervals_cover_with_near_tied_top_groups(n_rankings: int) -> None:
    """Seeded, bounded: 100 data sets of n rankings of 8 groups shown once each, chosen with known probabilities
    whose top two are close (impact ratios 1.0, 0.91, 0.91, 0.82, …, 0.64). Every group's 95% rate and impact-ratio
    intervals must cover ≥ 0.92 (binomial sd at 0.95 and 100 data sets is 0.022); the ratio interval is
    conservative (a projection), so its coverage is near 1. The percentile bootstrap it replaced covered 0.72-0.83."""
    weights = np.array([1.0, 1.0, 0.9, 0.9, 0.8, 0.8, 0.7, 1.1])
    probs = weights / weights.sum()
    truth = probs / probs.max()
    rng = np.random.default_rng(n_rankings)
    runs = 100
    rate_hits, ratio_hits = np.zeros(8), np.zeros(8)
    for _ in range(runs):
        for row in scores.selection_rates(scores.candidate_rows(_near_tied_rankings(rng, n_rankings, probs)), 0.95):
            g = int(row["group"][1:])
            rate_hits[g] += row["lower"] <= probs[g] <= row["upper"]
            ratio_hits[g] += row["ratio_lower"] - 1e-12 <= truth[g] <= row["ratio_upper"] + 1e-12
    assert (rate_hits / runs >= 0.92).all(), rate_hits / runs
    assert (ratio_hits / runs >= 0.92).all(), ratio_hits / runs


def test_impact_ratio_bounds_by_hand() -> None:
    # rates within [0.1, 0.2], [0.15, 0.3], [0.05, 0.1]: group 0 ≥ 0.1/0.3, ≤ min(1, 0.2/0.15); group 2 ≤ 0.1/0.15
    low, high = scores.impact_ratio_bounds(np.array([0.1, 0.15, 0.05]), np.array([0.2, 0.3, 0.1]))
    assert low == pytest.approx([0.1 / 0.3, 0.5, 0.05 / 0.3]) and high == pytest.approx([1.0, 1.0, 0.1 / 0.15])
