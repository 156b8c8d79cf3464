"""paired_wasserstein: the point value against scipy, the p-value against exact enumeration, and the
interval's coverage (at a true distance of 0 and above it) by seeded, bounded simulations at few templates."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats

from forkingpaths import stats

K = 5
P_A = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
P_B = np.array([0.2, 0.25, 0.3, 0.15, 0.1])


def _pairs(rng: np.random.Generator, n_templates: int, gap: float, draws: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired distributions with a known mean CDF gap.

    Each template mixes the groups' distributions with its own random distribution U_t by a
    weight λ_t ~ U(0, 0.5) (so the gap varies by template and the template is shared by both
    groups); each pair adds its own Dirichlet(1) noise with weight 0.2 to each group. The noise
    and U_t cancel in expectation, so E[p − q] = gap · 0.75 · 0.8 · (P_A − P_B) exactly.
    """
    lam = np.repeat(rng.uniform(0, 0.5, n_templates), draws)[:, None]
    u = np.repeat(rng.dirichlet(np.ones(K), n_templates), draws, axis=0)
    target_b = P_B
    target_a = P_B + gap * (P_A - P_B)
    p = 0.8 * ((1 - lam) * target_a + lam * u) + 0.2 * rng.dirichlet(np.ones(K), lam.shape[0])
    q = 0.8 * ((1 - lam) * target_b + lam * u) + 0.2 * rng.dirichlet(np.ones(K), lam.shape[0])
    return p, q, np.repeat(np.arange(n_templates), draws)


def _true_distance(gap: float) -> float:
    return float(np.abs(np.cumsum(gap * 0.6 * (P_A - P_B))[:-1]).sum() / (K - 1))


def test_point_value_equals_scipy_wasserstein_of_the_mean_distributions() -> None:
    p, q, clusters = _pairs(np.random.default_rng(0), 6, 1.0)
    result = stats.paired_wasserstein(p, q, clusters, 0.95, 200, 0)
    expected = scipy.stats.wasserstein_distance(range(K), range(K), p.mean(axis=0), q.mean(axis=0)) / (K - 1)
    assert result["estimate"] == pytest.approx(expected)
    assert result["lower"] <= result["estimate"] <= result["upper"]
    assert result["n_clusters"] == 6 and result["n"] == 18


def test_sign_flip_p_value_agrees_with_exact_enumeration_over_templates() -> None:
    p, q, clusters = _pairs(np.random.default_rng(1), 8, 0.6)
    result = stats.paired_wasserstein(p, q, clusters, 0.95, 20000, 3)
    gaps = np.cumsum(p - q, axis=1)[:, :-1]
    sums = np.vstack([gaps[clusters == c].sum(axis=0) for c in range(8)])
    observed = np.abs(sums.sum(axis=0)).sum()
    flipped = [np.abs((np.array(s)[:, None] * sums).sum(axis=0)).sum() for s in itertools.product((1, -1), repeat=8)]
    exact = np.mean(np.array(flipped) >= observed - 1e-12)
    assert result["p_value"] == pytest.approx(exact, abs=0.01)


def test_interval_covers_at_six_templates_at_zero_and_above() -> None:
    """Seeded, bounded: 200 data sets each of 6 templates × 3 pairs. The interval is a projection and
    conservative, so the check is that it holds its level (≥ 0.93) and is not empty of meaning
    (below 1.0 at the positive distance, i.e. it does not always span everything)."""
    for gap in (0.0, 1.0):
        truth = _true_distance(gap)
        rng = np.random.default_rng(7)
        runs, hits, rejections, widths = 200, 0, 0, []
        for _ in range(runs):
            p, q, clusters = _pairs(rng, 6, gap)
            result = stats.paired_wasserstein(p, q, clusters, 0.95, 400, rng)
            hits += result["lower"] - 1e-12 <= truth <= result["upper"] + 1e-12
            rejections += result["p_value"] < 0.05
            widths.append(result["upper"] - result["lower"])
        assert hits / runs >= 0.93, (gap, hits / runs)
        if gap == 0.0:
            assert rejections / runs <= 0.08  # the sign-flip test holds its size (binomial sd at 0.05 and 200 runs: 0.015)
        else:
            assert rejections / runs > 0.5 and np.median(widths) < 4 * truth  # it has power and a usable width


def test_fewer_than_two_templates_is_refused() -> None:
    p, q, _ = _pairs(np.random.default_rng(2), 1, 1.0)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        stats.paired_wasserstein(p, q, np.zeros(len(p)), 0.95, 100, 0)


# -- generation scores on [0, 1]: paired_score_wasserstein ------------------------------------------

SPREAD = 0.7  # sd of a pair's own noise on the logit scale


def _scores(rng: np.random.Generator, n_templates: int, shift: float, draws: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired scores expit(θ_t + shift·[group a] + ε): θ_t ~ N(0, 1) shared by a template's pairs and both groups, ε ~ N(0, 0.7²)
    per score. Group a's marginal is expit(N(shift, 1.49)), group b's expit(N(0, 1.49)); shift 0 makes the labels exchangeable."""
    theta = np.repeat(rng.normal(0, 1, n_templates), draws)
    a = scipy.special.expit(theta + shift + rng.normal(0, SPREAD, len(theta)))
    b = scipy.special.expit(theta + rng.normal(0, SPREAD, len(theta)))
    return a, b, np.repeat(np.arange(n_templates), draws)


def _true_score_distance(shift: float) -> float:
    """W1 of the two marginals: one is a monotone shift of the other, so W1 = E[expit(sZ + shift) − expit(sZ)] (quadrature)."""
    s = np.sqrt(1 + SPREAD**2)
    return float(scipy.integrate.quad(lambda z: (scipy.special.expit(s * z + shift) - scipy.special.expit(s * z)) * scipy.stats.norm.pdf(z), -12, 12)[0])


def test_score_distance_equals_scipy_wasserstein_of_the_two_samples() -> None:
    a, b, clusters = _scores(np.random.default_rng(0), 6, 0.5)
    result = stats.paired_score_wasserstein(a, b, clusters, 0.95, 200, 0)
    assert result["estimate"] == pytest.approx(scipy.stats.wasserstein_distance(a, b), abs=1e-12)
    assert result["lower"] <= result["estimate"] <= result["upper"] <= 1.0
    assert result["n_clusters"] == 6 and result["n"] == 18
    # ties and the ends of [0, 1]
    x, y = np.array([0.0, 1.0, 0.5, 0.5]), np.array([1.0, 1.0, 0.25, 0.0])
    assert stats.paired_score_wasserstein(x, y, [0, 0, 1, 1], 0.95, 100, 0)["estimate"] == pytest.approx(scipy.stats.wasserstein_distance(x, y))


def test_score_sign_flip_p_is_the_exact_enumeration_at_few_templates() -> None:
    a, b, clusters = _scores(np.random.default_rng(1), 6, 0.8)
    result = stats.paired_score_wasserstein(a, b, clusters, 0.95, 100, 3)  # 2^6 = 64 ≤ 100: every sign pattern
    observed = scipy.stats.wasserstein_distance(a, b)
    flipped = []
    for signs in itertools.product((1, -1), repeat=6):
        s = np.array(signs)[clusters] > 0
        flipped.append(scipy.stats.wasserstein_distance(np.where(s, a, b), np.where(s, b, a)))
    assert result["p_value"] == pytest.approx(np.mean(np.array(flipped) >= observed - 1e-12))
    assert result["p_value"] >= 2 / 64


def test_identical_groups_give_a_zero_distance_with_zero_in_the_interval() -> None:
    a, _, clusters = _scores(np.random.default_rng(4), 8, 0.0)
    result = stats.paired_score_wasserstein(a, a, clusters, 0.95, 300, 0)
    assert result["estimate"] == 0.0 and result["lower"] == 0.0 and result["p_value"] == 1.0


def test_score_interval_covers_at_five_and_eight_templates_at_zero_and_above() -> None:
    """Seeded, bounded: 150 data sets per case, 3 pairs per template, 300 resamples. Required: coverage ≥ 0.93 at every case,
    and at the positive distance with 8 templates a usable width and power (the recorded 1,000-set figures are in docs/statistics.md)."""
    for n_templates in (5, 8):
        for shift in (0.0, 0.8):
            truth = _true_score_distance(shift)
            rng = np.random.default_rng(11)
            runs, hits, rejections, widths = 150, 0, 0, []
            for _ in range(runs):
                a, b, clusters = _scores(rng, n_templates, shift)
                result = stats.paired_score_wasserstein(a, b, clusters, 0.95, 300, rng)
                hits += result["lower"] - 1e-12 <= truth <= result["upper"] + 1e-12
                rejections += result["p_value"] < 0.05
                widths.append(result["upper"] - result["lower"])
            assert hits / runs >= 0.93, (n_templates, shift, hits / runs)
            if shift == 0.0:
                assert rejections / runs <= 0.08
            elif n_templates == 8:
                assert rejections / runs > 0.5 and np.median(widths) < 2 * truth


def test_score_distance_refuses_scores_outside_the_unit_interval_and_one_template() -> None:
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        stats.paired_score_wasserstein([0.2, 1.5], [0.1, 0.3], [0, 1], 0.95, 100, 0)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        stats.paired_score_wasserstein([0.2, 0.5], [0.1, 0.3], [0, 0], 0.95, 100, 0)
