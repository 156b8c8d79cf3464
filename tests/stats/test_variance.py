"""Variance components: EMS closed form, REML, a dense quadratic-form reference, simulation."""

import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from forkingpaths.stats.variance import variance_components

TRUTH = {"item": 1.0, "template": 0.5, "option_order": 0.25}
RESIDUAL = 1.0


def _simulate(
    rng: np.random.Generator,
    levels: dict[str, int],
    variances: dict[str, float],
    rows: pd.DataFrame,
) -> pd.DataFrame:
    """Add a score drawn from the crossed random main-effects model to a design table."""
    score = rng.normal(0.0, np.sqrt(RESIDUAL), len(rows)) + 3.0
    for factor, n_levels in levels.items():
        effects = rng.normal(0.0, np.sqrt(variances[factor]), n_levels)
        score += effects[rows[factor].to_numpy()]
    return rows.assign(score=score)


def _balanced_design(levels: dict[str, int], replicates: int = 1) -> pd.DataFrame:
    grids = np.meshgrid(
        *[np.arange(n) for n in levels.values()], np.arange(replicates), indexing="ij"
    )
    return pd.DataFrame({f: g.ravel() for f, g in zip(levels, grids[:-1], strict=True)})


def _ems_reference(df: pd.DataFrame, factors: list[str]) -> dict[str, float]:
    """Classical ANOVA for a balanced crossed main-effects design: E[MS_f] = s2_e + (N/L_f) s2_f."""
    n = len(df)
    grand = df["score"].mean()
    total_ss = ((df["score"] - grand) ** 2).sum()
    mean_squares, residual_ss, residual_df = {}, total_ss, n - 1
    for factor in factors:
        means = df.groupby(factor)["score"].mean()
        n_levels = len(means)
        ss = (n / n_levels) * ((means - grand) ** 2).sum()
        mean_squares[factor] = ss / (n_levels - 1)
        residual_ss -= ss
        residual_df -= n_levels - 1
    residual_ms = residual_ss / residual_df
    estimates = {f: (mean_squares[f] - residual_ms) * df[f].nunique() / n for f in factors}
    estimates["residual"] = residual_ms
    return estimates


def _dense_henderson_reference(df: pd.DataFrame, factors: list[str]) -> np.ndarray:
    """Method I from the general rule E[y'Qy] = mu^2 1'Q1 + sum_g s2_g tr(Z_g'QZ_g) + s2_e tr(Q).

    Uses explicit N x N projection matrices Q_f = Z_f (Z_f'Z_f)^-1 Z_f', Q_mu = J/N and Q_0 = I;
    the equations are the differences Q_f - Q_mu and Q_0 - Q_mu (mu drops out).
    """
    y = df["score"].to_numpy(dtype=float)
    n = len(y)
    designs = [pd.get_dummies(df[f]).to_numpy(dtype=float) for f in factors]
    q_mu = np.full((n, n), 1.0 / n)
    forms = [z @ np.diag(1.0 / z.sum(axis=0)) @ z.T - q_mu for z in designs]
    forms.append(np.eye(n) - q_mu)
    matrix = np.array([[np.trace(z.T @ q @ z) for z in designs] + [np.trace(q)] for q in forms])
    return np.linalg.solve(matrix, np.array([y @ q @ y for q in forms]))


def _shares(raw: np.ndarray) -> np.ndarray:
    clipped = np.clip(raw, 0.0, None)
    return clipped / clipped.sum()


def test_balanced_design_matches_ems_closed_form() -> None:
    rng = np.random.default_rng(10)
    levels = {"item": 12, "template": 6, "option_order": 4}
    df = _simulate(rng, levels, TRUTH, _balanced_design(levels, replicates=2))
    result = variance_components(df, "score", list(levels), n_resamples=0)
    expected = _ems_reference(df, list(levels))
    assert list(result["component"]) == [*levels, "residual"]
    for row in result.itertuples():
        assert row.variance == pytest.approx(max(expected[row.component], 0.0), rel=1e-9)
    assert result["share"].sum() == pytest.approx(1.0)
    assert result["lower"].isna().all() and result["method"].iloc[0] == "henderson-I; no interval"


def test_balanced_design_matches_statsmodels_reml() -> None:
    # On balanced data REML equals the ANOVA estimates when these are positive.
    rng = np.random.default_rng(3)
    levels = {"a": 15, "b": 8}
    df = _simulate(rng, levels, {"a": 1.0, "b": 0.5}, _balanced_design(levels, replicates=2))
    result = variance_components(df, "score", ["a", "b"], n_resamples=0).set_index("component")
    fit = smf.mixedlm(
        "score ~ 1",
        df.assign(one=1),
        groups="one",
        re_formula="0",
        vc_formula={"a": "0 + C(a)", "b": "0 + C(b)"},
    ).fit(reml=True, method=["lbfgs"])
    assert result.loc["a", "variance"] == pytest.approx(fit.vcomp[0], rel=1e-3)
    assert result.loc["b", "variance"] == pytest.approx(fit.vcomp[1], rel=1e-3)
    assert result.loc["residual", "variance"] == pytest.approx(fit.scale, rel=1e-3)


def test_unbalanced_design_matches_dense_quadratic_form_reference() -> None:
    rng = np.random.default_rng(11)
    levels = {"item": 15, "template": 5, "option_order": 3, "model": 2}
    variances = {**TRUTH, "model": 0.3}
    df = _simulate(rng, levels, variances, _balanced_design(levels))
    df = df.sample(frac=0.8, random_state=1)
    factors = list(levels)
    result = variance_components(df, "score", factors, n_resamples=0)
    reference = _dense_henderson_reference(df, factors)
    assert result["variance"].to_numpy() == pytest.approx(np.clip(reference, 0, None), rel=1e-8)
    assert result["truncated"].to_numpy().tolist() == (reference < 0).tolist()


@pytest.mark.parametrize("drop", [0.0, 0.2])
def test_estimator_is_unbiased_in_simulation(drop: float) -> None:
    # Mean of the estimates over 60 simulated data sets lies within 4 Monte Carlo standard
    # errors of the true components, for the balanced design and with 20% of rows dropped.
    rng = np.random.default_rng(12)
    levels = {"item": 50, "template": 20, "option_order": 10}
    design = _balanced_design(levels)
    estimates = []
    for _ in range(60):
        df = _simulate(rng, levels, TRUTH, design)
        if drop:
            df = df[rng.random(len(df)) >= drop]
        estimates.append(variance_components(df, "score", list(levels), n_resamples=0)["variance"])
    estimates_array = np.array(estimates)
    truth = np.array([*TRUTH.values(), RESIDUAL])
    standard_error = estimates_array.std(axis=0, ddof=1) / np.sqrt(len(estimates_array))
    assert np.all(np.abs(estimates_array.mean(axis=0) - truth) < 4 * standard_error)


def test_recovers_truth_on_one_large_unbalanced_data_set() -> None:
    # Random assignment of levels to rows (naturally unbalanced). The tolerance is three
    # approximate standard errors, s2_f * sqrt(2 / (L_f - 1)), plus 0.02 for the residual.
    rng = np.random.default_rng(13)
    levels = {"item": 400, "template": 40, "option_order": 40}
    rows = pd.DataFrame({f: rng.integers(0, n, 20000) for f, n in levels.items()})
    df = _simulate(rng, levels, TRUTH, rows)
    result = variance_components(df, "score", list(levels), n_resamples=0).set_index("component")
    for factor, n_levels in levels.items():
        tolerance = 3 * TRUTH[factor] * np.sqrt(2 / (n_levels - 1))
        assert result.loc[factor, "variance"] == pytest.approx(TRUTH[factor], abs=tolerance)
    assert result.loc["residual", "variance"] == pytest.approx(RESIDUAL, abs=0.03)


def _reference_bootstrap(
    df: pd.DataFrame, factors: list[str], clusters: list[str], n_resamples: int, seed: int
) -> np.ndarray:
    """Cluster bootstrap written with pandas: relabel each drawn level as a new level."""
    generator = np.random.default_rng(seed)
    replicates = []
    for _ in range(n_resamples):
        current = df
        for column in clusters:
            levels = sorted(df[column].unique())
            draws = generator.integers(0, len(levels), len(levels))
            current = pd.concat(
                [
                    current[current[column] == levels[d]].assign(**{column: f"copy{slot}"})
                    for slot, d in enumerate(draws)
                ]
            )
        try:
            replicates.append(_shares(_dense_henderson_reference(current, factors)))
        except np.linalg.LinAlgError:  # a factor left with one level: not identified
            continue
    return np.quantile(np.array(replicates), [0.05, 0.95], axis=0)


@pytest.mark.parametrize(
    ("factors", "clusters"),
    [
        (["item", "template", "option_order"], ["item"]),
        (["item", "template", "option_order"], ["item", "template"]),
        (["template", "option_order"], ["item"]),  # cluster that is not a factor
    ],
)
def test_bootstrap_interval_matches_pandas_reference(
    factors: list[str], clusters: list[str]
) -> None:
    rng = np.random.default_rng(14)
    levels = {"item": 10, "template": 4, "option_order": 3}
    df = _simulate(rng, levels, TRUTH, _balanced_design(levels)).sample(frac=0.8, random_state=2)
    result = variance_components(
        df, "score", factors, n_resamples=25, level=0.9, rng=5, cluster=clusters
    )
    lower, upper = _reference_bootstrap(df, factors, clusters, 25, seed=5)
    assert result["lower"].to_numpy() == pytest.approx(lower, abs=1e-9)
    assert result["upper"].to_numpy() == pytest.approx(upper, abs=1e-9)
    assert (
        result["method"].iloc[0]
        == f"henderson-I; cluster-bootstrap-percentile({','.join(clusters)})"
    )
    assert (result["level"] == 0.9).all()


def test_bootstrap_drops_replicates_where_a_factor_collapses_to_one_level() -> None:
    # "flag" is 1 only on item 0's rows, so resamples that miss item 0 cannot estimate it.
    rng = np.random.default_rng(19)
    levels = {"item": 10, "template": 4}
    df = _simulate(rng, levels, TRUTH, _balanced_design(levels, replicates=2))
    df = df.assign(flag=(df["item"] == 0).astype(int))
    factors = ["item", "template", "flag"]
    result = variance_components(df, "score", factors, n_resamples=30, level=0.9, rng=3)
    lower, upper = _reference_bootstrap(df, factors, ["item"], 30, seed=3)
    assert result["lower"].to_numpy() == pytest.approx(lower, abs=1e-9)
    assert result["upper"].to_numpy() == pytest.approx(upper, abs=1e-9)


def test_bootstrap_reproducible_with_seed_and_varies_across_seeds() -> None:
    rng = np.random.default_rng(15)
    levels = {"item": 30, "template": 5}
    df = _simulate(rng, levels, TRUTH, _balanced_design(levels, replicates=2))
    first = variance_components(df, "score", ["item", "template"], n_resamples=50, rng=1)
    again = variance_components(df, "score", ["item", "template"], n_resamples=50, rng=1)
    other = variance_components(df, "score", ["item", "template"], n_resamples=50, rng=2)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["lower"], other["lower"])
    assert np.all(first["lower"] <= first["upper"])
    assert first["method"].iloc[0].endswith("(item)")


def test_default_cluster_is_first_factor_without_item() -> None:
    rng = np.random.default_rng(16)
    levels = {"question": 20, "template": 4}
    df = _simulate(
        rng,
        {"question": 20, "template": 4},
        {"question": 1.0, "template": 0.5},
        _balanced_design(levels),
    )
    result = variance_components(df, "score", ["template", "question"], n_resamples=5, rng=0)
    assert result["method"].iloc[0].endswith("(template)")


def test_negative_estimate_is_truncated_to_zero() -> None:
    # option_order has no true effect; with this seed its EMS estimate is negative.
    rng = np.random.default_rng(0)
    levels = {"item": 20, "option_order": 3}
    df = _simulate(rng, levels, {"item": 1.0, "option_order": 0.0}, _balanced_design(levels))
    raw = _ems_reference(df, list(levels))
    assert raw["option_order"] < 0
    result = variance_components(df, "score", list(levels), n_resamples=0).set_index("component")
    assert result.loc["option_order", "variance"] == 0.0
    assert result.loc["option_order", "share"] == 0.0
    assert bool(result.loc["option_order", "truncated"])
    assert result.loc["item", "variance"] == pytest.approx(raw["item"], rel=1e-9)


def _small_frame() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    levels = {"item": 6, "template": 3}
    return _simulate(rng, levels, TRUTH, _balanced_design(levels))


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda d: d, {"factors": ["item", "persona"]}, "'persona' is missing"),
        (
            lambda d: d.assign(language="da"),
            {"factors": ["item", "language"]},
            "'language' has only one level",
        ),
        (lambda d: d.assign(score=d["score"].where(d.index > 0)), {}, "missing or non-finite"),
        (lambda d: d.assign(score="x"), {}, "must be numeric"),
        (lambda d: d.assign(score=1.0), {}, "constant"),
        (
            lambda d: d.assign(copy=d["item"].map(lambda i: f"i{i}")),
            {"factors": ["item", "copy"]},
            "'item' and 'copy' are confounded",
        ),
        (lambda d: d, {"cluster": "nope"}, "'nope' is missing"),
        (lambda d: d, {"level": 1.0}, "level must be in"),
        (lambda d: d, {"n_resamples": -1}, "n_resamples"),
        (lambda d: d, {"factors": []}, "at least one"),
    ],
)
def test_bad_input_raises(change, kwargs: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    arguments = {"factors": ["item", "template"], "n_resamples": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        variance_components(change(_small_frame()), "score", **arguments)


def test_fast_enough_for_fifty_thousand_rows() -> None:
    rng = np.random.default_rng(18)
    levels = {"item": 1000, "template": 10, "option_order": 6, "model": 4, "group": 5}
    rows = pd.DataFrame({f: rng.integers(0, n, 50_000) for f, n in levels.items()})
    df = _simulate(rng, levels, {f: 0.5 for f in levels}, rows)
    start = time.perf_counter()
    result = variance_components(df, "score", list(levels), n_resamples=200, rng=0)
    assert time.perf_counter() - start < 20.0
    assert result["lower"].notna().all()


def test_two_way_interaction_matches_the_balanced_anova_closed_form() -> None:
    """Balanced A × B with n replicates per cell: Method I with the A:B term equals the
    expected-mean-squares estimates of the two-way random model (Searle et al. 1992, §4.6)."""
    rng = np.random.default_rng(11)
    a_levels, b_levels, reps = 12, 4, 3
    a_eff, b_eff = rng.normal(0, 1.0, a_levels), rng.normal(0, 0.7, b_levels)
    ab_eff = rng.normal(0, 0.8, (a_levels, b_levels))
    rows = [
        {"item": i, "order": j, "y": a_eff[i] + b_eff[j] + ab_eff[i, j] + rng.normal(0, 0.5)}
        for i in range(a_levels)
        for j in range(b_levels)
        for _ in range(reps)
    ]
    df = pd.DataFrame(rows)
    out = variance_components(df, "y", ["item", "order"], n_resamples=0, interactions=[("item", "order")]).set_index("component")
    grand = df["y"].mean()
    cell = df.groupby(["item", "order"])["y"].mean()
    ms_a = b_levels * reps * ((df.groupby("item")["y"].mean() - grand) ** 2).sum() / (a_levels - 1)
    ms_b = a_levels * reps * ((df.groupby("order")["y"].mean() - grand) ** 2).sum() / (b_levels - 1)
    inter = cell - cell.groupby("item").transform("mean") - cell.groupby("order").transform("mean") + grand
    ms_ab = reps * (inter**2).sum() / ((a_levels - 1) * (b_levels - 1))
    ms_e = ((df["y"] - df.set_index(["item", "order"]).index.map(cell)) ** 2).sum() / (a_levels * b_levels * (reps - 1))
    expected = {
        "residual": ms_e,
        "item:order": (ms_ab - ms_e) / reps,
        "item": (ms_a - ms_ab) / (b_levels * reps),
        "order": (ms_b - ms_ab) / (a_levels * reps),
    }
    for component, value in expected.items():
        assert out.loc[component, "variance"] == pytest.approx(max(value, 0.0), rel=1e-9, abs=1e-12)


def test_interaction_bootstrap_relabels_duplicated_items() -> None:
    rng = np.random.default_rng(12)
    df = pd.DataFrame(
        [{"item": i, "order": j, "y": rng.normal() + (0.5 if (i + j) % 2 else 0.0)} for i in range(15) for j in range(3) for _ in range(2)]
    )
    out = variance_components(df, "y", ["item", "order"], n_resamples=60, rng=1, interactions=[("item", "order")])
    assert list(out["component"]) == ["item", "order", "item:order", "residual"]
    assert (out["lower"] <= out["share"] + 1e-12).all() and (out["share"] <= out["upper"] + 1e-12).all()
    with pytest.raises(ValueError, match="must pair two different factors"):
        variance_components(df, "y", ["item", "order"], n_resamples=0, interactions=[("item", "colour")])
