"""Agreement coefficients against statsmodels, the krippendorff package and published examples."""

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from forkingpaths.stats.agreement import (
    bootstrap_agreement_ci,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)

NAN = np.nan
# Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability": 4 observers x 12 units.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)
# Fleiss' kappa example (14 raters, 10 subjects, 5 categories) with published kappa 0.210.
FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_percent_agreement_hand_example_with_string_labels() -> None:
    assert percent_agreement(["x", "y", "y", "z"], ["x", "y", "z", "z"]) == pytest.approx(0.75)


def test_cohen_kappa_hand_example() -> None:
    # 50 units: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert percent_agreement(a, b) == pytest.approx(0.7)
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_matches_statsmodels() -> None:
    rng = np.random.default_rng(0)
    for _ in range(10):
        a = rng.integers(0, 4, 80)
        b = np.where(rng.random(80) < 0.6, a, rng.integers(0, 4, 80))
        table = pd.crosstab(a, b).reindex(index=range(4), columns=range(4), fill_value=0)
        expected = cohens_kappa(table.to_numpy()).kappa
        assert cohen_kappa(a, b) == pytest.approx(expected, abs=1e-12)


def test_cohen_kappa_bad_input() -> None:
    with pytest.raises(ValueError, match="undefined"):
        cohen_kappa([1, 1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="missing"):
        cohen_kappa([1.0, NAN], [1.0, 2.0])


def test_fleiss_kappa_published_example_and_statsmodels() -> None:
    assert fleiss_kappa(table=FLEISS_TABLE) == pytest.approx(0.210, abs=5e-4)
    assert fleiss_kappa(table=FLEISS_TABLE) == pytest.approx(
        sm_fleiss_kappa(FLEISS_TABLE), abs=1e-12
    )


def test_fleiss_kappa_from_ratings_matches_statsmodels() -> None:
    rng = np.random.default_rng(1)
    for _ in range(10):
        truth = rng.integers(0, 3, 40)
        ratings = np.where(rng.random((5, 40)) < 0.5, truth, rng.integers(0, 3, (5, 40)))
        table, _ = aggregate_raters(ratings.T)
        assert fleiss_kappa(ratings.astype(float)) == pytest.approx(
            sm_fleiss_kappa(table), abs=1e-12
        )


def test_fleiss_kappa_bad_input() -> None:
    ragged = np.array([[1, 2, 1], [1, NAN, 2], [2, 2, 1]])
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa(ragged)
    with pytest.raises(ValueError, match="exactly one"):
        fleiss_kappa(np.ones((2, 2)), table=np.ones((2, 2)))
    with pytest.raises(ValueError, match="undefined"):
        fleiss_kappa(np.ones((3, 4)))


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_published_example(level: str, published: float) -> None:
    got = krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert got == pytest.approx(published, abs=5e-4)
    expected = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement=level)
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_krippendorff_matches_package_on_random_data_with_missing(level: str) -> None:
    rng = np.random.default_rng(2)
    for raters, units, values in [(3, 30, 4), (5, 60, 7), (2, 15, 3), (6, 25, 10)]:
        truth = rng.integers(1, values + 1, units)
        noise = rng.integers(1, values + 1, (raters, units))
        ratings = np.where(rng.random((raters, units)) < 0.6, truth, noise).astype(float)
        ratings[rng.random((raters, units)) < 0.25] = NAN
        ratings[:, 0] = NAN  # a unit nobody rated
        ratings[1:, 1] = NAN  # a unit rated once (not pairable)
        expected = krippendorff.alpha(reliability_data=ratings, level_of_measurement=level)
        assert krippendorff_alpha(ratings, level) == pytest.approx(expected, abs=1e-9)


def test_krippendorff_nominal_hand_worked() -> None:
    # Units (0,0), (0,1), (1,1), (1,1): coincidences o_00 = 2, o_01 = o_10 = 1, o_11 = 4,
    # so n_0 = 3, n_1 = 5, n = 8 and alpha = 1 - (n - 1) * (o_01 + o_10) / (2 * n_0 * n_1).
    ratings = np.array([[0, 0, 1, 1], [0, 1, 1, 1]], dtype=float)
    assert krippendorff_alpha(ratings) == pytest.approx(1 - 14 / 30)


def test_krippendorff_bad_input() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        krippendorff_alpha(KRIPPENDORFF_2011, "cardinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="undefined"):
        krippendorff_alpha(np.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="two or more ratings"):
        krippendorff_alpha(np.array([[1.0, NAN], [NAN, 2.0]]))
    with pytest.raises(ValueError, match="non-negative"):
        krippendorff_alpha(np.array([[1.0, -2.0], [1.0, 2.0]]), "ratio")
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha(np.array([1.0, 2.0]))


def _alpha_nominal(ratings: np.ndarray) -> float:
    return krippendorff_alpha(ratings, "nominal")


def test_bootstrap_is_reproducible_and_seed_dependent() -> None:
    first = bootstrap_agreement_ci(KRIPPENDORFF_2011, _alpha_nominal, 300, rng=7)
    again = bootstrap_agreement_ci(KRIPPENDORFF_2011, _alpha_nominal, 300, rng=7)
    other = bootstrap_agreement_ci(KRIPPENDORFF_2011, _alpha_nominal, 300, rng=8)
    assert first == again
    assert (first["lower"], first["upper"]) != (other["lower"], other["upper"])
    assert first["method"] == "bootstrap-percentile(unit)" and first["level"] == 0.95
    assert first["estimate"] == pytest.approx(0.743, abs=5e-4)


def test_bootstrap_matches_binomial_standard_error_for_percent_agreement() -> None:
    # For percent agreement the unit bootstrap distribution is ~ Binomial(n, p) / n, so the
    # 95% interval should be close to p +- 1.96 * sqrt(p (1 - p) / n).
    rng = np.random.default_rng(3)
    n = 2000
    a = rng.integers(0, 3, n)
    b = np.where(rng.random(n) < 0.7, a, rng.integers(0, 3, n))
    result = bootstrap_agreement_ci(
        np.vstack([a, b]).astype(float), lambda r: percent_agreement(r[0], r[1]), 2000, rng=4
    )
    p = float(np.mean(a == b))
    half_width = 1.959964 * np.sqrt(p * (1 - p) / n)
    assert result["estimate"] == pytest.approx(p)
    assert result["lower"] == pytest.approx(p - half_width, abs=0.15 * half_width)
    assert result["upper"] == pytest.approx(p + half_width, abs=0.15 * half_width)


def test_bootstrap_skips_undefined_replicates_and_fails_when_all_are() -> None:
    # Only unit 0 has two distinct values: resamples that miss it make alpha undefined.
    ratings = np.array([[1.0, 2.0, 2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]])
    result = bootstrap_agreement_ci(ratings, _alpha_nominal, 200, rng=0)
    generator = np.random.default_rng(0)
    defined = []
    for _ in range(200):
        columns = generator.integers(0, 6, 6)
        if 0 in columns:  # the krippendorff package raises otherwise
            resampled = ratings[:, columns]
            defined.append(
                krippendorff.alpha(reliability_data=resampled, level_of_measurement="nominal")
            )
    assert 0 < len(defined) < 200
    assert [result["lower"], result["upper"]] == pytest.approx(
        np.quantile(defined, [0.025, 0.975]).tolist(), abs=1e-9
    )
    with pytest.raises(ValueError, match="undefined on every"):
        bootstrap_agreement_ci(np.arange(20.0).reshape(2, 10), _needs_distinct_units, 20, rng=0)


def _needs_distinct_units(ratings: np.ndarray) -> float:
    """Defined only when no unit repeats, which almost no resample of 10 units achieves."""
    if len({tuple(column) for column in ratings.T}) < ratings.shape[1]:
        raise ValueError("a unit repeats")
    return 0.0


def test_bootstrap_bad_input() -> None:
    with pytest.raises(ValueError, match="level"):
        bootstrap_agreement_ci(KRIPPENDORFF_2011, _alpha_nominal, 10, level=1.5)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_agreement_ci(KRIPPENDORFF_2011, _alpha_nominal, 0)


@pytest.mark.parametrize("n_items", [30, 60])
def test_the_bootstrap_interval_of_cohens_kappa_covers_at_small_item_counts(n_items: int) -> None:
    """The judge's κ against gold and between the two orders (``kappa_gold``, ``kappa_orders``) is this
    interval. Two raters with labels A/B/tie drawn from a fixed joint distribution, whose population
    κ = (p_o − p_e)/(1 − p_e) is computed in closed form; 200 seeded data sets, 300 resamples each."""
    joint = np.array([[0.34, 0.06, 0.03], [0.05, 0.33, 0.04], [0.03, 0.04, 0.08]])
    p_o = float(np.trace(joint))
    p_e = float(joint.sum(axis=1) @ joint.sum(axis=0))
    truth = (p_o - p_e) / (1 - p_e)
    rng = np.random.default_rng(20261202 + n_items)
    covered = 0
    for _ in range(200):
        cells = rng.choice(9, size=n_items, p=joint.ravel())
        ratings = np.vstack([cells // 3, cells % 3]).astype(float)
        result = bootstrap_agreement_ci(ratings, lambda r: cohen_kappa(r[0], r[1]), 300, 0.95, rng)
        covered += result["lower"] <= truth <= result["upper"]  # type: ignore[operator]
    assert 0.90 <= covered / 200 <= 0.99, covered / 200
