"""Meta-evaluation of real run directories written by ``forkingpaths import table``, per-category and
per-condition signal and noise, and the vectorised agreement statistics against scipy."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special
from typer.testing import CliRunner

from forkingpaths.cli import app
from forkingpaths.meta.matrices import matrices_from_run, read_benchmark
from forkingpaths.stats.benchmark import _statistic, _statistics, category_signal_noise, condition_noise, rank_agreement

MODELS = [f"model-{j:02d}" for j in range(20)]
SUBJECTS = ("algebra", "geometry", "logic")


def _write_wide(path: Path, seed: int, shift: float) -> None:
    """A ZeroEval-like wide CSV (item_id, subject, one column per model) simulated from a 2PL."""
    rng = np.random.default_rng(seed)
    a, b = np.random.default_rng(0).uniform(0.6, 2.0, 60), np.random.default_rng(1).normal(0, 1, 60)
    theta = np.linspace(-1.5, 1.5, 20) + shift + rng.normal(0, 0.2, 20)
    y = (rng.random((20, 60)) < special.expit(a * (theta[:, None] - b))).astype(int)
    frame = pd.DataFrame(y.T, columns=MODELS)
    frame.insert(0, "subject", [SUBJECTS[i % 3] for i in range(60)])
    frame.insert(0, "item_id", [f"q{i}" for i in range(60)])
    frame.rename(columns={"model-00": "model-00@host-a"}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run directory: two wide files imported as two conditions (template=plain, template=cot)."""
    root = tmp_path_factory.mktemp("imported")
    _write_wide(root / "plain.csv", 4, 0.0)
    _write_wide(root / "cot.csv", 5, 0.3)
    args = ["import", "table", "--factor", "template=plain", str(root / "plain.csv"), "--factor", "template=cot", str(root / "cot.csv")]
    result = CliRunner().invoke(app, [*args, "--out", str(root / "runs"), "--name", "two"])
    assert result.exit_code == 0, result.output
    return root


def test_matrices_from_an_imported_run_are_its_conditions(imported: Path) -> None:
    found = matrices_from_run(imported / "runs" / "two")
    assert list(found) == ["two [template=cot]", "two [template=plain]"]
    assert found.designs == {"two": ["two [template=cot]", "two [template=plain]"]}
    plain = found["two [template=plain]"]
    assert plain.shape == (20, 60) and "model-00" in plain.index  # the @host suffix is dropped
    source = pd.read_csv(imported / "plain.csv").set_index("item_id").drop(columns="subject").rename(columns={"model-00@host-a": "model-00"})
    assert (plain.loc[MODELS, source.index].to_numpy() == source[MODELS].T.to_numpy()).all()  # cell for cell
    assert found.categories["two [template=plain]"]["q4"] == "geometry"


def test_meta_on_an_imported_run_end_to_end(imported: Path) -> None:
    out = imported / "meta"
    result = CliRunner().invoke(app, ["meta", str(imported / "runs" / "two"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text())
    analyses = document["analyses"]
    design = analyses["designs"]["two"]
    found = matrices_from_run(imported / "runs" / "two")
    expected = condition_noise(list(found.values()))
    assert design["noise_sd"] == pytest.approx(expected["noise_sd"]) and design["models"] == 20
    # independent: each model's score per condition from the CSVs, SD across the two conditions (ddof 1)
    scores = [pd.read_csv(imported / f).drop(columns=["item_id", "subject"]).mean() for f in ("cot.csv", "plain.csv")]
    table = pd.concat(scores, axis=1)
    assert design["noise_sd"] == pytest.approx(table.std(axis=1, ddof=1).mean())
    assert design["sd_signal"] == pytest.approx(table.mean(axis=1).std(ddof=1))
    topics = {f["topic"] for f in document["findings"]}
    assert {"noise across conditions", "signal and noise by category", "item response theory", "small subsets", "benchmark agreement"} <= topics
    html = (out / "report.html").read_text()
    assert "Noise across conditions" in html and "Signal and noise by category" in html and "geometry" in html


def test_category_signal_noise_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(3)
    matrix = pd.DataFrame((rng.random((8, 45)) < 0.6).astype(float), columns=[f"i{k}" for k in range(45)])
    matrix.iloc[0, :15] = np.nan  # model 0 answered nothing in category "a": left out there
    categories = pd.Series(["a"] * 15 + ["b"] * 20 + ["c"] * 10, index=matrix.columns)
    table = category_signal_noise(matrix, categories).set_index("category")
    for name, columns in categories.groupby(categories).groups.items():
        part = matrix[list(columns)].dropna(how="all")
        scores = part.mean(axis=1)
        noise = np.mean([row.dropna().std(ddof=0) / np.sqrt(row.notna().sum()) for _, row in part.iterrows()])
        assert table.loc[name, "models"] == len(part)
        assert table.loc[name, "noise_sd"] == pytest.approx(noise)
        assert table.loc[name, "sd_ratio"] == pytest.approx(scores.std(ddof=1) / noise)
        assert table.loc[name, "signal"] == pytest.approx((scores.max() - scores.min()) / scores.mean())
    assert list(table["sd_ratio"]) == sorted(table["sd_ratio"])  # noisiest first


def test_subjects_in_a_long_matrix_file_and_a_clash_is_an_error(tmp_path: Path) -> None:
    rows = [{"item_id": f"q{i}", "model": m, "score": (i + j) % 2, "subject": "s1" if i < 3 else "s2"} for i in range(6) for j, m in enumerate("abc")]
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    found = read_benchmark(path)
    assert found["long"].shape == (3, 6) and found.categories["long"].to_dict() == {f"q{i}": "s1" if i < 3 else "s2" for i in range(6)}
    rows[0]["subject"] = "s9"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["meta", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "item 'q0' has two values in the subject column" in result.output


@pytest.mark.parametrize("kind", ["kendall", "pearson", "spearman"])
def test_vectorised_statistics_equal_scipy_replicate_by_replicate(kind: str) -> None:
    rng = np.random.default_rng(8)
    x = np.round(rng.normal(size=15), 1)  # rounding makes ties, as bootstrap draws do
    y = np.round(x + rng.normal(size=15), 1)
    draws = rng.integers(0, 15, (300, 15))
    fast = _statistics(x[draws], y[draws], kind)
    slow = np.array([_statistic(x[d], y[d], kind) for d in draws])
    assert np.allclose(fast, slow, atol=1e-12, equal_nan=True)
    interval = rank_agreement(x, y, kind, n_resamples=300, rng=1)
    assert interval.estimate == pytest.approx(_statistic(x, y, kind))
