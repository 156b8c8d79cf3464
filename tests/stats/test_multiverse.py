"""Tests of forkingpaths.stats.multiverse against slow reference loops, scipy and hand examples."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forkingpaths.stats.multiverse import (
    claim_shares,
    kendall_w,
    paired_claim_curve,
    pairwise_kendall_tau,
    rank_first_probability,
    specification_curve,
)
from forkingpaths.stats.uncertainty import cluster_resample_counts

N_ITEMS = 30


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    """3 models × 2 wordings × 2 orders × 30 items × 2 repeats, with item and model effects."""
    rng = np.random.default_rng(0)
    rows = list(
        itertools.product(["A", "B", "C"], ["plain", "formal"], ["orig", "rev"], range(N_ITEMS), range(2))
    )
    df = pd.DataFrame(rows, columns=["model", "wording", "order", "item", "repeat"])
    item_effect = rng.normal(size=N_ITEMS)[df["item"]]
    model_effect = df["model"].map({"A": 0.3, "B": 0.2, "C": 0.0}).to_numpy()
    df["score"] = item_effect + model_effect + rng.normal(scale=0.7, size=len(df))
    return df


def _weighted_replicates(df: pd.DataFrame, keys: list[str], counts: np.ndarray) -> pd.DataFrame:
    """Slow reference: one weighted groupby per replicate (weight = times the item was drawn)."""
    items = np.sort(df["item"].unique())
    out = []
    for row in counts:
        weight = df["item"].map(dict(zip(items, row, strict=True)))
        sums = (df["score"] * weight).groupby([df[k] for k in keys]).sum()
        out.append(sums / weight.groupby([df[k] for k in keys]).sum())
    return pd.concat(out, axis=1)  # groups × replicates


def test_specification_curve_matches_reference_loop(trials: pd.DataFrame) -> None:
    curve = specification_curve(
        trials, "score", ["wording", "order"], "item", by="model", level=0.9, n_resamples=60, rng=1
    )
    reps = _weighted_replicates(
        trials, ["model", "wording", "order"], cluster_resample_counts(N_ITEMS, 60, rng=1)
    )
    means = trials.groupby(["model", "wording", "order"])["score"].mean()
    got = curve.set_index(["model", "wording", "order"]).loc[means.index]
    np.testing.assert_allclose(got["estimate"], means, rtol=1e-12)
    np.testing.assert_allclose(got["lower"], np.quantile(reps, 0.05, axis=1), rtol=1e-10)
    np.testing.assert_allclose(got["upper"], np.quantile(reps, 0.95, axis=1), rtol=1e-10)
    np.testing.assert_allclose(got["se"], reps.std(axis=1, ddof=1), rtol=1e-10)
    assert (got["n_trials"] == 2 * N_ITEMS).all() and set(got["method"]) == {"cluster-bootstrap(item)"}
    for model, part in curve.groupby("model"):
        assert list(part["rank"]) == [1, 2, 3, 4]
        np.testing.assert_allclose(part["estimate"], np.sort(means.loc[model]), rtol=1e-12)


def test_specification_curve_seeding(trials: pd.DataFrame) -> None:
    run = lambda seed: specification_curve(trials, "score", "wording", "item", n_resamples=50, rng=seed)  # noqa: E731
    pd.testing.assert_frame_equal(run(3), run(3))
    assert not np.allclose(run(3)["lower"], run(4)["lower"])


def test_paired_claim_curve_matches_reference_loop(trials: pd.DataFrame) -> None:
    curve = paired_claim_curve(
        trials, "score", "model", "A", "C", ["wording", "order"], "item", n_resamples=60, rng=2
    )
    reps = _weighted_replicates(
        trials, ["wording", "order", "model"], cluster_resample_counts(N_ITEMS, 60, rng=2)
    )
    diff = reps.xs("A", level="model") - reps.xs("C", level="model")
    means = trials.groupby(["wording", "order", "model"])["score"].mean()
    expected = means.xs("A", level="model") - means.xs("C", level="model")
    got = curve.set_index(["wording", "order"]).loc[expected.index]
    np.testing.assert_allclose(got["estimate"], expected, rtol=1e-12)
    np.testing.assert_allclose(got["estimate_a"] - got["estimate_b"], expected, rtol=1e-12)
    np.testing.assert_allclose(got["lower"], np.quantile(diff, 0.025, axis=1), rtol=1e-10)
    np.testing.assert_allclose(got["upper"], np.quantile(diff, 0.975, axis=1), rtol=1e-10)
    assert set(got["contrast"]) == {"A - C"}


def test_paired_claim_curve_interval_reflects_pairing(trials: pd.DataFrame) -> None:
    # The shared item effect (SD 1) cancels in A − C; two separate intervals would not.
    curve = paired_claim_curve(trials, "score", "model", "A", "C", "wording", "item", n_resamples=300, rng=3)
    spec = specification_curve(trials, "score", "wording", "item", by="model", n_resamples=300, rng=3)
    separate_se = np.hypot(*(spec[spec["model"] == m].sort_values("wording")["se"].to_numpy() for m in "AC"))
    assert (curve.sort_values("wording")["se"].to_numpy() < 0.5 * separate_se).all()


def test_paired_claim_curve_and_rank_first_seeding(trials: pd.DataFrame) -> None:
    def curve(seed: int) -> pd.DataFrame:
        return paired_claim_curve(
            trials, "score", "model", "A", "B", "wording", "item", n_resamples=30, rng=seed
        )

    def first(seed: int) -> pd.Series:
        return rank_first_probability(trials, "score", "model", ["wording", "order"], "item", 30, rng=seed)

    pd.testing.assert_frame_equal(curve(7), curve(7))
    assert not np.allclose(curve(7)["lower"], curve(8)["lower"])
    pd.testing.assert_series_equal(first(7), first(7))
    assert not np.allclose(first(7), first(8))


def test_paired_claim_curve_needs_both_entities(trials: pd.DataFrame) -> None:
    partial = trials[~((trials["model"] == "C") & (trials["wording"] == "formal"))]
    with pytest.raises(ValueError, match="lack trials"):
        paired_claim_curve(partial, "score", "model", "A", "C", "wording", "item", n_resamples=10, rng=0)


def test_claim_shares_hand_worked() -> None:
    lower = [0.1, -0.2, -0.1, -0.3, -0.5, -0.1]
    estimate = [0.2, 0.1, 0.0, -0.1, -0.3, 0.05]
    upper = [0.3, 0.4, 0.1, 0.2, -0.1, 0.2]
    out = claim_shares(lower, estimate, upper)
    assert out["n"] == 6
    assert out["counts"] == {
        "holds_significant": 1,
        "holds_not_significant": 2,
        "zero": 1,
        "reversed_not_significant": 1,
        "reversed_significant": 1,
        "reversed": 2,
    }
    assert out["shares"]["holds_not_significant"] == pytest.approx(2 / 6)
    negative = claim_shares(lower, estimate, upper, direction="negative")["counts"]
    assert (negative["holds_significant"], negative["reversed_significant"], negative["reversed"]) == (
        1,
        1,
        3,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0.0], [0.1, 0.2], [0.3]), "same length"),
        (([0.2], [0.1], [0.0]), "lower must not exceed upper"),
        (([], [], []), "at least 1"),
        (([np.nan], [0.1], [0.3]), "NaN"),
    ],
)
def test_claim_shares_bad_input(args, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        claim_shares(*args)


def _reference_rank_first(df: pd.DataFrame, counts: np.ndarray, conditions: list[str]) -> pd.Series:
    """Loop over replicates and conditions; weighted means per model; ties split the credit."""
    items = np.sort(df["item"].unique())
    credit = dict.fromkeys(sorted(df["model"].unique()), 0.0)
    cells = 0
    for row in counts:
        weight = df["item"].map(dict(zip(items, row, strict=True)))
        for _, part in df.assign(w=weight, ws=weight * df["score"]).groupby(conditions):
            means = part.groupby("model")["ws"].sum() / part.groupby("model")["w"].sum()
            best = [m for m, v in means.items() if v == means.max()]
            for m in best:
                credit[m] += 1 / len(best)
            cells += 1
    return pd.Series(credit) / cells


def test_rank_first_probability_matches_reference_loop_with_ties(trials: pd.DataFrame) -> None:
    tie = trials[trials["model"] == "A"].assign(model="A2")  # an exact copy of A ties with it
    df = pd.concat([trials, tie], ignore_index=True)
    conditions = ["wording", "order"]
    ours = rank_first_probability(df, "score", "model", conditions, "item", n_resamples=40, rng=5)
    ref = _reference_rank_first(df, cluster_resample_counts(N_ITEMS, 40, rng=5), conditions)
    np.testing.assert_allclose(ours.to_numpy(), ref.loc[ours.index].to_numpy(), rtol=1e-12)
    assert ours.sum() == pytest.approx(1.0) and ours["A"] == ours["A2"] and ours["A"] > 0.2
    lower_better = rank_first_probability(
        trials, "score", "model", conditions, "item", 40, rng=5, higher_is_better=False
    )
    assert lower_better.idxmax() == "C"


def test_rank_first_probability_needs_complete_grid(trials: pd.DataFrame) -> None:
    partial = trials[~((trials["model"] == "B") & (trials["order"] == "rev"))]
    with pytest.raises(ValueError, match="cells have no trials"):
        rank_first_probability(partial, "score", "model", ["wording", "order"], "item", 10, rng=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score": "missing"}, "not in the table"),
        ({"condition_cols": []}, "at least one condition"),
        ({"level": 1.0}, "level"),
        ({"n_resamples": 0}, "n_resamples"),
    ],
)
def test_specification_curve_bad_input(trials: pd.DataFrame, kwargs: dict, message: str) -> None:
    args = {
        "score": "score",
        "condition_cols": ["wording"],
        "cluster_col": "item",
        "n_resamples": 10,
        "rng": 0,
    }
    with pytest.raises(ValueError, match=message):
        specification_curve(trials, **(args | kwargs))


def test_specification_curve_rejects_nan_scores_and_labels(trials: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="NaN"):
        specification_curve(trials.assign(score=np.nan), "score", "wording", "item", n_resamples=5)
    with pytest.raises(ValueError, match="missing values"):
        specification_curve(trials.assign(item=None), "score", "wording", "item", n_resamples=5)


# ------------------------------------------------------------------------- concordance


def test_kendall_w_hand_worked_examples() -> None:
    # Rank sums (6, 7, 8, 9): S = 5, W = 12·5 / (3²·(4³ − 4)) = 1/9
    assert kendall_w([[1, 2, 3, 4], [1, 2, 3, 4], [4, 3, 2, 1]]) == pytest.approx(1 / 9)
    # Ties: ranks (1.5, 1.5, 3) and (1, 2, 3): R = (2.5, 3.5, 6), S = 6.5, T = (2³ − 2) = 6,
    # W = 12·6.5 / (2²·24 − 2·6) = 78/84
    assert kendall_w([[10, 10, 20], [0.1, 0.2, 0.3]]) == pytest.approx(78 / 84)
    assert kendall_w([[3, 1, 2], [30, 10, 20], [0.3, 0.1, 0.2]]) == pytest.approx(1.0)
    assert np.isnan(kendall_w([[1, 1, 1], [2, 2, 2]]))


def test_kendall_w_relation_with_mean_spearman_without_ties() -> None:
    x = np.random.default_rng(6).normal(size=(6, 8)) + np.arange(8)  # some agreement
    m = x.shape[0]
    rho = stats.spearmanr(x.T).statistic  # rows as variables
    mean_rho = rho[np.triu_indices(m, 1)].mean()
    assert mean_rho == pytest.approx((m * kendall_w(x) - 1) / (m - 1))


def test_kendall_w_with_ties_equals_friedman_over_m_n_minus_1() -> None:
    x = np.random.default_rng(7).integers(0, 4, size=(9, 5)).astype(float)  # many ties
    m, n = x.shape
    chi2 = stats.friedmanchisquare(*x.T).statistic  # scipy applies the tie correction
    assert kendall_w(pd.DataFrame(x)) == pytest.approx(chi2 / (m * (n - 1)))


def test_pairwise_kendall_tau_matches_scipy_tau_b() -> None:
    x = np.random.default_rng(8).integers(0, 5, size=(5, 9)).astype(float)
    x[4] = 1.0  # a row that ties every entity: τ undefined
    frame = pd.DataFrame(x, index=[f"cond{i}" for i in range(5)])
    tau = pairwise_kendall_tau(frame)
    assert list(tau.index) == list(tau.columns) == list(frame.index)
    for i, j in itertools.product(range(4), range(4)):
        assert tau.iloc[i, j] == pytest.approx(stats.kendalltau(x[i], x[j], variant="b").statistic)
    assert tau.iloc[4].isna().all()


@pytest.mark.parametrize("matrix", [[[1, 2, 3]], [[1], [2]], [[1, np.nan], [2, 3]], [1, 2, 3]])
def test_concordance_bad_input(matrix) -> None:
    with pytest.raises(ValueError):
        kendall_w(matrix)
    with pytest.raises(ValueError):
        pairwise_kendall_tau(matrix)
