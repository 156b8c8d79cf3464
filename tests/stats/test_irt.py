"""The 2PL: planted parameters recovered within their intervals, and agreement with an independent joint ML fit."""

import numpy as np
import pytest
from scipy import optimize, special, stats

from forkingpaths.meta.matrices import example_matrices
from forkingpaths.stats.irt import eap_abilities, fit_2pl, item_table


def _simulate(rng: np.random.Generator, n: int, items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = rng.uniform(0.5, 2.0, items)
    b = rng.normal(0.0, 1.0, items)
    theta = rng.normal(0.0, 1.0, n)
    y = (rng.random((n, items)) < special.expit(a * (theta[:, None] - b))).astype(float)
    return y, a, b


def test_planted_parameters_are_recovered_within_their_intervals() -> None:
    """Coverage of the 95% slope and difficulty intervals over 8 planted matrices (50 models × 40 items)."""
    rng = np.random.default_rng(7)
    inside_a, inside_b, total = 0, 0, 0
    for _ in range(8):
        y, a, b = _simulate(rng, 50, 40)
        y[rng.random(y.shape) < 0.05] = np.nan  # missing cells
        fit = fit_2pl(y)
        assert fit.converged
        table = item_table(fit, y)
        ok = table["fitted"].to_numpy()
        inside_a += int(((table["slope_lower"] <= a) & (a <= table["slope_upper"]))[ok].sum())
        inside_b += int(((table["difficulty_lower"] <= b) & (b <= table["difficulty_upper"]))[ok].sum())
        total += int(ok.sum())
    assert 0.90 <= inside_a / total <= 0.99
    assert 0.90 <= inside_b / total <= 0.99


def test_planted_parameters_correlate_with_truth_at_many_items() -> None:
    rng = np.random.default_rng(3)
    y, a, b = _simulate(rng, 60, 300)
    fit = fit_2pl(y)
    ok = fit.fitted
    assert stats.spearmanr(fit.difficulty[ok], b[ok]).statistic > 0.9  # Pearson is dominated by the few b of near-flat items
    assert stats.pearsonr(fit.slope[ok], a[ok]).statistic > 0.6
    # the scale is the sample's: the median slope ratio is near 1, not shrunk by a prior
    assert 0.85 < np.median(fit.slope[ok] / a[ok]) < 1.15


def _joint_ml(y: np.ndarray, ridge: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """An independent fit: joint maximum likelihood of abilities and item parameters (L-BFGS),
    with a small ridge penalty so that separable items stay finite, abilities standardised after."""
    n, items = y.shape
    observed = ~np.isnan(y)
    y0 = np.nan_to_num(y)

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        theta, a, c = x[:n], x[n : n + items], x[n + items :]
        z = theta[:, None] * a[None, :] + c[None, :]
        p = special.expit(z)
        ll = np.where(observed, y0 * z - np.logaddexp(0.0, z), 0.0).sum()
        r = np.where(observed, y0 - p, 0.0)
        pen = ridge * (np.sum((a - 1.0) ** 2) + np.sum(c**2) / 16.0 + np.sum(theta**2))
        grad = np.concatenate([r @ a - 2 * ridge * theta, theta @ r - 2 * ridge * (a - 1.0), r.sum(axis=0) - ridge * c / 8.0])
        return -(ll - pen), -grad

    x0 = np.concatenate([stats.zscore(np.nanmean(y, axis=1)), np.ones(items), special.logit(np.clip(np.nanmean(y, axis=0), 0.02, 0.98))])
    result = optimize.minimize(loss, x0, jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    theta, a, c = result.x[:n], result.x[n : n + items], result.x[n + items :]
    return a, -c / a


def test_zeroeval_fit_converges_and_agrees_with_joint_ml() -> None:
    """CRUXEval-O (bundled): the MML fit converges; difficulties and slopes correlate with joint ML.

    Documented in docs/meta.md: Spearman ρ of difficulties > 0.9 and of slopes > 0.6 (joint ML is
    biased — it treats 51 abilities as known — so the slopes agree less than the difficulties).
    """
    matrix = example_matrices("zeroeval")["crux"]
    y = matrix.to_numpy(dtype=float)
    fit = fit_2pl(y)
    assert fit.converged
    ok = fit.fitted
    a, b = _joint_ml(y[:, ok])
    assert stats.spearmanr(fit.difficulty[ok], b).statistic > 0.9
    assert stats.spearmanr(fit.slope[ok], a).statistic > 0.6


def test_eap_matches_a_slow_loop_and_missing_cells_are_skipped() -> None:
    a, c = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 1.0])
    y = np.array([[1.0, np.nan, 0.0]])
    grid = np.linspace(-6, 6, 481)
    like = np.array([special.expit(a[0] * t + c[0]) * (1 - special.expit(a[2] * t + c[2])) for t in grid]) * stats.norm.pdf(grid)
    mean, sd = eap_abilities(y, a, c)
    assert mean[0] == pytest.approx(np.sum(grid * like) / like.sum())
    assert sd[0] == pytest.approx(np.sqrt(np.sum(grid**2 * like) / like.sum() - mean[0] ** 2))


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="0, 1 or NaN"):
        fit_2pl(np.array([[0.5, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="nothing to fit"):
        fit_2pl(np.ones((5, 3)))


def test_the_fitted_origin_and_unit_are_the_maximum_of_the_penalised_likelihood() -> None:
    """PX-EM and the origin-free intercept penalty: moving the ability scale's origin or unit lowers the objective,
    and the models' mean posterior ability is 0 (the stationarity condition for the origin under N(0, 1))."""
    from forkingpaths.stats import irt

    rng = np.random.default_rng(4)
    y, _, _ = _simulate(rng, 40, 100)
    fit = fit_2pl(y, tol=1e-6)
    ok = fit.fitted
    nodes, log_weights = irt._quadrature("rectangular", 121)
    em = irt._EMMap(y[:, ok], np.ones_like(y[:, ok]), nodes, log_weights, 1.5, 4.0)
    a, c = fit.slope[ok], fit.intercept[ok]
    best = em.objective(np.concatenate([a, c]))
    for shift, scale in ((0.05, 1.0), (-0.05, 1.0), (0.0, 1.05), (0.0, 0.95)):
        assert em.objective(np.concatenate([a * scale, c + a * shift])) < best
    assert abs(fit.theta.mean()) < 0.01


def test_intervals_hold_their_level_on_realistic_items() -> None:
    """Bounded parametric bootstrap from the CRUXEval-O fit (49 models, its first 200 varied items, 4 matrices);
    scripts/irt_coverage.py runs the full-size version (docs/meta.md)."""
    truth = fit_2pl(example_matrices("zeroeval")["crux"].to_numpy(dtype=float))
    a, c = truth.slope[truth.fitted][:200], truth.intercept[truth.fitted][:200]
    rng = np.random.default_rng(12)
    inside_a = inside_c = total = 0
    for _ in range(4):
        theta = rng.normal(0.0, 1.0, 49)
        y = (rng.random((49, 200)) < special.expit(np.outer(theta, a) + c)).astype(float)
        fit = fit_2pl(y)
        ok = fit.fitted
        inside_a += int((np.abs(fit.slope - a) <= 1.96 * fit.se_slope)[ok].sum())
        inside_c += int((np.abs(fit.intercept - c) <= 1.96 * fit.se_intercept)[ok].sum())
        total += int(ok.sum())
    assert 0.90 <= inside_a / total <= 0.99
    assert 0.90 <= inside_c / total <= 0.99
