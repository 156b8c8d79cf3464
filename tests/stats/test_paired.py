"""Tests of forkingpaths.stats.paired against scipy, statsmodels and exact enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from forkingpaths.stats.paired import (
    benjamini_hochberg,
    holm,
    mcnemar_exact,
    paired_difference,
    sign_flip_test,
    tost,
)


def test_paired_difference_matches_paired_t_statistic_and_normal_interval() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=50)
    b = a + rng.normal(0.3, 0.5, size=50)
    iv = paired_difference(a, b)
    ref = stats.ttest_rel(a, b)
    assert iv.estimate / iv.se == pytest.approx(ref.statistic)
    lo, hi = stats.norm.interval(0.95, loc=np.mean(a - b), scale=stats.sem(a - b))
    assert (iv.lower, iv.upper, iv.method) == (pytest.approx(lo), pytest.approx(hi), "clt")


def test_paired_difference_clustered_matches_statsmodels_and_ignores_repeat_matching() -> None:
    rng = np.random.default_rng(1)
    items = np.repeat(np.arange(30), 4)
    a = rng.normal(size=30)[items] + rng.normal(size=items.size)
    b = rng.normal(size=30)[items] + rng.normal(size=items.size)
    iv = paired_difference(a, b, clusters=items)
    fit = sm.OLS(a - b, np.ones((items.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": items}, use_t=True)
    assert iv.se == pytest.approx(fit.bse[0], rel=1e-10)  # CR1, statsmodels' default
    assert (iv.lower, iv.upper) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-10)  # t(G − 1)
    assert iv.method == "clustered-se(item,CR1)"
    shuffled = b.reshape(30, 4)[:, ::-1].ravel()  # re-match repeats within each item
    assert paired_difference(a, shuffled, clusters=items).se == pytest.approx(iv.se, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_mcnemar_exact_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random(60) < 0.6
    b = np.where(rng.random(60) < 0.8, a, ~a)
    ours = mcnemar_exact(a, b.astype(int))
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    ref = mcnemar(table, exact=True)
    assert ours["pvalue"] == pytest.approx(ref.pvalue)
    assert ours["statistic"] == ref.statistic
    assert (ours["b01"], ours["b10"]) == (np.sum(~a & b), np.sum(a & ~b))


def test_mcnemar_hand_worked_and_no_discordant_pairs() -> None:
    # b01 = 1, b10 = 5: p = 2·P[Bin(6, .5) ≤ 1] = 2·7/64
    a = [1, 1, 1, 1, 1, 0, 1, 0]
    b = [0, 0, 0, 0, 0, 1, 1, 0]
    assert mcnemar_exact(a, b)["pvalue"] == pytest.approx(14 / 64)
    assert mcnemar_exact([1, 0, 1], [1, 0, 1])["pvalue"] == 1.0


def _exact_sign_flip(d: np.ndarray) -> dict[str, float]:
    """All 2^n sign patterns, by an explicit loop."""
    observed = d.mean()
    flipped = np.array([np.mean(np.array(s) * d) for s in itertools.product((1, -1), repeat=d.size)])
    eps = 1e-12
    return {
        "two-sided": np.mean(np.abs(flipped) >= abs(observed) - eps),
        "greater": np.mean(flipped >= observed - eps),
        "less": np.mean(flipped <= observed + eps),
    }


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_sign_flip_agrees_with_exact_enumeration_and_scipy(alternative: str) -> None:
    d = np.array([0.9, 0.4, -0.2, 1.3, 0.7, -0.5, 0.8, 0.1, 0.6, -0.1])
    exact = _exact_sign_flip(d)[alternative]
    ours = sign_flip_test(d, n_resamples=40000, rng=2, alternative=alternative)
    assert ours["pvalue"] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 40000) + 1e-4)
    ref = stats.permutation_test(
        (d, np.zeros_like(d)),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        alternative=alternative,
        vectorized=True,
    )
    assert ref.pvalue == pytest.approx(exact)  # scipy enumerates exactly for n = 10
    assert ours["statistic"] == pytest.approx(d.mean())


def test_sign_flip_p_is_never_zero_and_seeding() -> None:
    d = np.linspace(1, 2, 40)
    assert sign_flip_test(d, n_resamples=999, rng=0)["pvalue"] == pytest.approx(1 / 1000)
    noisy = np.random.default_rng(3).normal(0.1, 1, 30)
    first = sign_flip_test(noisy, n_resamples=500, rng=4)
    assert first == sign_flip_test(noisy, n_resamples=500, rng=4)
    assert first["pvalue"] != sign_flip_test(noisy, n_resamples=500, rng=5)["pvalue"]


@pytest.mark.parametrize(("shift", "margin"), [(0.02, 0.2), (0.15, 0.2), (-0.05, 0.1)])
def test_tost_matches_statsmodels_ttost_paired(shift: float, margin: float) -> None:
    rng = np.random.default_rng(6)
    b = rng.normal(size=40)
    a = b + rng.normal(shift, 0.3, size=40)
    ours = tost(a - b, margin, level=0.95)
    p, (t1, p1, df1), (t2, p2, _) = ttost_paired(a, b, -margin, margin)
    assert ours["pvalue"] == pytest.approx(p)
    assert (ours["t_lower"], ours["p_lower"]) == (pytest.approx(t1), pytest.approx(p1))
    assert (ours["t_upper"], ours["p_upper"]) == (pytest.approx(t2), pytest.approx(p2))
    assert ours["df"] == df1
    iv = ours["interval"]
    assert iv.level == pytest.approx(0.9)
    lo, hi = stats.t.interval(0.9, df1, loc=np.mean(a - b), scale=stats.sem(a - b))
    assert (iv.lower, iv.upper) == (pytest.approx(lo), pytest.approx(hi))
    assert ours["equivalent"] == (-margin < lo and hi < margin)


def test_multiple_testing_matches_statsmodels() -> None:
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.random(15), rng.random(5) * 0.01, [0.03, 0.03, 1.0, 0.0]])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_holm_and_bh_hand_worked() -> None:
    p = [0.01, 0.04, 0.03]
    # Holm: sorted .01,.03,.04 × 3,2,1 = .03,.06,.04 → running max .03,.06,.06
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06])
    # BH: .01·3/1, .03·3/2, .04·3/3 = .03,.045,.04 → running min from the top .03,.04,.04
    np.testing.assert_allclose(benjamini_hochberg(p), [0.03, 0.04, 0.04])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: paired_difference([1.0, 2.0], [1.0]), "same length"),
        (lambda: paired_difference([1.0, 2.0], [1.0, 2.0], level=2), "level"),
        (lambda: mcnemar_exact([1, 2], [0, 1]), "0/1"),
        (lambda: mcnemar_exact([1, 0], [0]), "same length"),
        (lambda: sign_flip_test([]), "at least 1"),
        (lambda: sign_flip_test([1.0], alternative="both"), "alternative"),
        (lambda: tost([0.1, 0.2, 0.3], margin=0), "margin"),
        (lambda: tost([0.1, 0.1, 0.1], margin=0.5), "constant"),
        (lambda: tost([0.1, np.nan], margin=0.5), "NaN"),
        (lambda: holm([0.1, 1.2]), r"\[0, 1\]"),
        (lambda: benjamini_hochberg([]), "at least 1"),
    ],
)
def test_bad_input_raises_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_tost_interval_level_is_exact() -> None:
    """Issue 9, item 19: the interval reported level=0.8999999999999999."""
    from forkingpaths.stats.paired import tost

    result = tost([0.01, -0.02, 0.03, 0.0, 0.01], margin=0.1, level=0.95)
    assert result["interval"].level == 0.9
