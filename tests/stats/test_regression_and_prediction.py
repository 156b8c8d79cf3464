"""The logistic slope and prediction-powered inference against independent computations, and their coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from forkingpaths.stats import logistic_slope, ppi_mean


def _simulate_logistic(rng: np.random.Generator, clusters: int, slope: float) -> tuple[np.ndarray, ...]:
    ids = np.repeat(np.arange(clusters), 2)
    x = rng.normal(0, 1, ids.size)
    z = np.tile([0.0, 1.0], clusters)
    eta = -0.3 + slope * x + 0.5 * z
    y = (rng.random(ids.size) < 1 / (1 + np.exp(-eta))).astype(float)
    return y, x, z, ids


def test_the_slope_and_its_clustered_se_match_a_direct_fit_and_a_loop_sandwich() -> None:
    rng = np.random.default_rng(11)
    y, x, z, ids = _simulate_logistic(rng, 60, 0.8)
    design = np.column_stack([np.ones_like(x), x, z])

    def nll(beta: np.ndarray) -> float:
        eta = design @ beta
        return float(np.sum(np.logaddexp(0, eta) - y * eta))

    beta = optimize.minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    p = 1 / (1 + np.exp(-design @ beta))
    bread = np.linalg.inv(sum(p[i] * (1 - p[i]) * np.outer(design[i], design[i]) for i in range(y.size)))
    meat = np.zeros((3, 3))
    for g in np.unique(ids):
        s = sum(design[i] * (y[i] - p[i]) for i in np.flatnonzero(ids == g))
        meat += np.outer(s, s)
    g, n = len(np.unique(ids)), y.size
    se = np.sqrt((bread @ meat @ bread)[1, 1] * g / (g - 1) * (n - 1) / (n - 3))
    out = logistic_slope(y, x, z, ids, 0.95)
    assert out is not None and out.estimate == pytest.approx(beta[1], abs=1e-5)
    assert out.se == pytest.approx(se, rel=1e-4)
    assert out.upper - out.estimate == pytest.approx(stats.t.ppf(0.975, g - 1) * se, rel=1e-4)
    plain = logistic_slope(y, x, z, None, 0.95)
    assert plain is not None and plain.se == pytest.approx(np.sqrt(bread[1, 1]), rel=1e-4)


def test_the_slope_is_undefined_under_separation_or_a_constant_x() -> None:
    x = np.arange(10.0)
    assert logistic_slope((x > 4).astype(float), x) is None
    assert logistic_slope(np.tile([0.0, 1.0], 5), np.ones(10)) is None


def test_the_clustered_slope_interval_covers_at_small_n() -> None:
    rng = np.random.default_rng(2026)
    hits = total = 0
    for _ in range(300):
        y, x, z, ids = _simulate_logistic(rng, 40, 0.8)
        out = logistic_slope(y, x, z, ids)
        if out is None:
            continue
        total += 1
        hits += out.lower <= 0.8 <= out.upper
    assert total >= 290 and 0.91 <= hits / total <= 0.99


def test_ppi_matches_its_formula_computed_by_loop() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(30) < 0.6).astype(float)
    f = np.clip(y * 0.7 + rng.random(30) * 0.4, 0, 1)
    u = rng.random(200)
    out = ppi_mean(y, f, u, 0.9)
    rect = sum(f[i] - y[i] for i in range(30)) / 30
    theta = sum(u) / 200 - rect
    var_u = sum((v - sum(u) / 200) ** 2 for v in u) / 199
    var_r = sum((f[i] - y[i] - rect) ** 2 for i in range(30)) / 29
    se = np.sqrt(var_u / 200 + var_r / 30)
    assert out.estimate == pytest.approx(theta, abs=1e-12) and out.se == pytest.approx(se, abs=1e-12)
    assert out.lower == pytest.approx(theta - stats.norm.ppf(0.95) * se, abs=1e-12)
    tuned = ppi_mean(y, f, u, 0.9, tuned=True)
    allf = np.concatenate([f, u])
    lam = min(1, max(0, np.cov(y, f)[0, 1] / ((1 + 30 / 200) * np.var(allf, ddof=1))))
    assert tuned.estimate == pytest.approx(y.mean() + lam * (u.mean() - f.mean()), abs=1e-12)
    assert tuned.se == pytest.approx(np.sqrt(lam**2 * np.var(u, ddof=1) / 200 + np.var(y - lam * f, ddof=1) / 30), abs=1e-12)


def test_ppi_covers_a_biased_judge_where_the_naive_estimate_does_not() -> None:
    rng = np.random.default_rng(42)
    truth, hits, tuned_hits, naive_hits, widths = 0.55, 0, 0, 0, []
    reps = 400
    for _ in range(reps):
        y_all = (rng.random(440) < truth).astype(float)
        # a judge right 80% of the time that also says "A" on 15% of the pairs it gets wrong the other way
        f_all = np.where(rng.random(440) < 0.8, y_all, 1 - y_all)
        f_all = np.where(rng.random(440) < 0.15, 1.0, f_all)
        y, f, u = y_all[:40], f_all[:40], f_all[40:]
        out, tuned = ppi_mean(y, f, u), ppi_mean(y, f, u, tuned=True)
        hits += out.lower <= truth <= out.upper
        tuned_hits += tuned.lower <= truth <= tuned.upper
        se = u.std(ddof=1) / np.sqrt(u.size)
        naive_hits += abs(u.mean() - truth) <= 1.96 * se
        widths.append((tuned.upper - tuned.lower) / (2 * 1.96 * y.std(ddof=1) / np.sqrt(40)))
    assert 0.92 <= hits / reps <= 0.98 and 0.91 <= tuned_hits / reps <= 0.98
    assert naive_hits / reps < 0.5
    assert np.mean(widths) < 1.0  # narrower than the 40 labels alone
