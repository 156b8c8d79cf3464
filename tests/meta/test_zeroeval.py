"""Meta-evaluation on the bundled ZeroEval matrices, the benchmark statistics, and the CLI."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from forkingpaths.cli import app
from forkingpaths.meta.analysis import analyse_benchmarks
from forkingpaths.meta.matrices import example_matrices, read_matrix
from forkingpaths.stats.benchmark import rank_agreement, saturation, signal_noise
from forkingpaths.stats.subsets import subset_curve


@pytest.fixture(scope="module")
def zeroeval() -> dict[str, pd.DataFrame]:
    return example_matrices("zeroeval")


def test_bundled_matrices_have_their_documented_shapes_after_deduplication(zeroeval: dict[str, pd.DataFrame]) -> None:
    # 44/43/51 result files; the host copies of Llama-3.1-405B (three in each) and of 3.1-70B collapse to one row
    assert zeroeval["gsm"].shape == (42, 1319)
    assert zeroeval["math-l5"].shape == (41, 721)
    assert zeroeval["crux"].shape == (49, 800)
    assert zeroeval["gsm"].isna().sum().sum() > 0  # empty cells survive as NaN


def test_subset_error_shrinks_with_k(zeroeval: dict[str, pd.DataFrame]) -> None:
    y = zeroeval["crux"].to_numpy(dtype=float)
    curve = subset_curve(y, [10, 200], [("random", "mean"), ("stratified", "mean"), ("anchor", "mean")], rng=1)
    for _, rows in curve.groupby(["selection", "estimator"]):
        small, large = rows.sort_values("k")["mean_abs_error"].to_numpy()
        assert large < small
    assert curve[curve["k"] == 200]["kendall"].min() > 0.8


def test_agreement_uses_the_common_models(zeroeval: dict[str, pd.DataFrame]) -> None:
    results = analyse_benchmarks(zeroeval, subsets=False)
    agreement = results.analyses["agreement"]
    common = set(zeroeval["gsm"].index) & set(zeroeval["math-l5"].index) & set(zeroeval["crux"].index)
    assert set(agreement["common_models"]) == common and len(common) == 30
    gsm_crux = next(p for p in agreement["pairs"] if {p["a"], p["b"]} == {"gsm", "crux"})
    names = sorted(common)
    expected = stats.kendalltau(zeroeval["gsm"].loc[names].mean(axis=1), zeroeval["crux"].loc[names].mean(axis=1)).statistic
    assert gsm_crux["kendall"]["estimate"] == pytest.approx(expected)
    assert all(b["irt"]["converged"] for b in results.analyses["benchmarks"].values())
    assert len(agreement["bat"]) == 3


def test_noise_is_the_item_bootstrap_sd_of_each_score() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((6, 80)) < 0.6).astype(float)
    y[0, :5] = np.nan
    slow = []
    for row in y:
        kept = row[~np.isnan(row)]
        slow.append(np.std([rng.choice(kept, kept.size).mean() for _ in range(4000)]))
    result = signal_noise(y)
    assert result["noise_sd"] == pytest.approx(np.mean(slow), rel=0.05)
    scores = np.nanmean(y, axis=1)
    assert result["signal"] == pytest.approx((scores.max() - scores.min()) / scores.mean())


def test_saturation_counts_items_all_right_or_all_wrong() -> None:
    y = np.array([[1, 0, 1, np.nan], [1, 0, 0, 1.0]])
    assert saturation(y) == {"items": 4, "all_right": 0.5, "all_wrong": 0.25, "n_all_right": 2, "n_all_wrong": 1}


def test_rank_agreement_interval_holds_its_level_at_thirty_models() -> None:
    """Bounded simulation: bivariate normal scores (ρ = 0.7), 30 models, 60 replications."""
    rng = np.random.default_rng(5)
    true_tau = 2 / np.pi * np.arcsin(0.7)
    hits = 0
    for _ in range(60):
        x = rng.multivariate_normal([0, 0], [[1, 0.7], [0.7, 1]], 30)
        interval = rank_agreement(x[:, 0], x[:, 1], "kendall", n_resamples=300, rng=rng)
        hits += interval.lower <= true_tau <= interval.upper
    assert hits / 60 >= 0.85


def _write_long(path: Path) -> None:
    rng = np.random.default_rng(2)
    ability = rng.normal(0, 1, 12)
    rows = [
        {"item_id": f"q{i}", "model": f"m{j}@host" if j == 0 else f"m{j}", "score": int(rng.random() < 1 / (1 + np.exp(-(ability[j] - d))))}
        for i, d in enumerate(rng.normal(0, 1, 30))
        for j in range(12)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_cli_writes_results_and_an_escaped_report(tmp_path: Path) -> None:
    matrix = tmp_path / "bench.csv"
    _write_long(matrix)
    frame = pd.read_csv(matrix)
    frame.loc[0, "item_id"] = "<script>alert(1)</script>"
    frame.to_csv(matrix, index=False)
    assert read_matrix(matrix).index[0] == "m0"  # the @host suffix is dropped
    result = CliRunner().invoke(app, ["meta", str(matrix), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["instrument"] == "meta" and document["findings"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert(1)" not in html


def test_cli_bad_cell_is_one_line_and_exit_2(tmp_path: Path) -> None:
    matrix = tmp_path / "bad.csv"
    matrix.write_text("item_id,a,b\nq1,1,0\nq2,yes,1\n")
    result = CliRunner().invoke(app, ["meta", str(matrix), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "item 'q2', model 'a': expected 0, 1 or empty" in result.output
