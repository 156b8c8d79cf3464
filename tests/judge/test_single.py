"""The single-response mode: weighted κ and Spearman against independent computations, interval coverage,
the score rule, loader errors, and a planted artifact recovered through the pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

import forkingpaths
from forkingpaths import registry, stats
from forkingpaths.design import Condition
from forkingpaths.errors import DataError
from forkingpaths.instruments.base import TrialContext
from forkingpaths.instruments.judge.data.scored import load_scored_items
from forkingpaths.instruments.judge.instrument import JudgeInstrument
from forkingpaths.instruments.judge.scoring import spearman
from forkingpaths.instruments.judge.single import SingleJudgeInstrument, parse_score
from forkingpaths.models.base import Capabilities
from forkingpaths.report.html import write_report
from forkingpaths.spec import DataSpec, parse_spec

from . import planted

inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")


@pytest.mark.parametrize("weights", ["quadratic", "linear"])
def test_weighted_kappa_matches_statsmodels(weights: str) -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.integers(1, 6, 30)
        b = np.clip(a + rng.integers(-2, 3, 30), 1, 4)  # b never uses 5: the scale, not the data, sets the weights
        table = np.zeros((5, 5))
        np.add.at(table, (a - 1, b - 1), 1)
        expected = inter_rater.cohens_kappa(table, wt=weights).kappa
        assert stats.weighted_kappa(a, b, 1, 5, weights) == pytest.approx(expected, abs=1e-12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole-number scores within 1..5"):
        stats.weighted_kappa([1, 6], [1, 2], 1, 5)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks by a loop: 1 + the number below + half the other ties."""
    return np.array([1 + np.sum(x < v) + (np.sum(x == v) - 1) / 2 for v in x])


def test_spearman_is_pearson_of_average_ranks() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.integers(1, 6, 25).astype(float), rng.normal(size=25)
    rx, ry = _ranks(x), _ranks(y)
    closed = np.sum((rx - rx.mean()) * (ry - ry.mean())) / np.sqrt(np.sum((rx - rx.mean()) ** 2) * np.sum((ry - ry.mean()) ** 2))
    assert spearman(np.vstack([x, y])) == pytest.approx(closed, abs=1e-12)
    assert spearman(np.vstack([x, y])) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    with pytest.raises(ValueError, match="constant"):
        spearman(np.vstack([np.ones(5), y[:5]]))


def test_bootstrap_intervals_of_rho_and_weighted_kappa_cover_at_40_items() -> None:
    """A population of 20,000 (human, judge) score pairs from a latent correlation; 120 seeded samples of 40 items, 200 resamples each."""
    rng = np.random.default_rng(11)
    latent = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 20_000)
    cuts = np.array([-1.0, -0.3, 0.3, 1.0])
    population = np.vstack([1 + np.searchsorted(cuts, latent[:, 0]), 1 + np.searchsorted(cuts, latent[:, 1])]).astype(float)
    truths = {"rho": spearman(population), "qwk": stats.weighted_kappa(population[0], population[1], 1, 5)}
    statistics = {"rho": spearman, "qwk": lambda r: stats.weighted_kappa(r[0], r[1], 1, 5)}
    covered = {name: 0 for name in truths}
    sims = 120
    for s in range(sims):
        sample = population[:, rng.integers(0, population.shape[1], 40)]
        for name, statistic in statistics.items():
            out = stats.bootstrap_agreement_ci(sample, statistic, 200, 0.95, s)
            covered[name] += out["lower"] <= truths[name] <= out["upper"]
    for name, hits in covered.items():
        assert 0.89 <= hits / sims <= 0.99, (name, hits / sims)


def test_the_score_rule() -> None:
    assert parse_score("4", 1, 5) == 4
    assert parse_score("I would say 3 out of 5.", 1, 5) == 3
    assert parse_score("Reasoning about step 2 ... Score: 5", 1, 5) == 5
    assert parse_score("rating = 1", 1, 5) == 1
    for bad in ("", "excellent", "4.5", "Score: 7", "0", None):
        assert parse_score(bad, 1, 5) is None


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _row(i: int, **changes: object) -> dict:
    return {"item_id": f"r{i}", "instruction": "Say hi.", "response": f"An answer of quality {i % 5 + 1}.", "score": i % 5 + 1, **changes}


def test_loader_errors_name_file_and_row(tmp_path: Path) -> None:
    cases = [
        ([_row(0), _row(1, score=7)], r"scores\.jsonl line 2: score 7 is not a number from 1 to 5"),
        ([_row(0, response="")], r"scores\.jsonl line 1: response is empty"),
        ([_row(0, score="good")], r"line 1: score 'good' is not a number"),
        ([_row(0), _row(0)], r"line 2: duplicate id 'r0' \(first at scores\.jsonl line 1\)"),
    ]
    for rows, message in cases:
        _write(tmp_path / "scores.jsonl", rows)
        with pytest.raises(DataError, match=message):
            load_scored_items(DataSpec(loader="tidy", path="scores.jsonl"), tmp_path)
    with pytest.raises(DataError, match=r"data.params.scale: expected two whole numbers"):
        load_scored_items(DataSpec(loader="tidy", path="scores.jsonl", params={"scale": [5, 1]}), tmp_path)
    with pytest.raises(DataError, match="does not give single-response items"):
        load_scored_items(DataSpec(loader="llmbar", path="x"), tmp_path)
    items = load_scored_items(DataSpec(loader="builtin"), tmp_path)
    assert len(items) == 32 and {i.score for i in items} <= {1, 2, 3, 4, 5}


def _spec(tmp: Path, factors: dict, scale: list[int] | None = None) -> forkingpaths.Spec:
    params = {"scale": scale} if scale else {}
    return parse_spec({"name": "single", "instrument": {"name": "judge", "params": {"mode": "single"}},
                       "data": {"loader": "tidy", "path": str(tmp / "scores.jsonl"), "params": params},
                       "models": ["planted"], "output_dir": str(tmp / "runs"), "seed": 3, "factors": factors,
                       "analysis": {"n_resamples": 200}}, "test")


def test_validation_refuses_what_the_mode_cannot_do(tmp_path: Path) -> None:
    instrument = JudgeInstrument({"mode": "single"})
    assert isinstance(instrument, SingleJudgeInstrument)
    _write(tmp_path / "scores.jsonl", [_row(i) for i in range(4)])
    spec = _spec(tmp_path, {"position": ["original"], "artifact": ["none", "apology-worse"]}, [1, 10])
    items = instrument.load_items(spec.data, tmp_path)
    problems = instrument.validate(spec, items)
    assert any(p.startswith("factors.position: not a factor of mode single") for p in problems)
    assert any("factors.artifact[1]: unknown level 'apology-worse'" in p for p in problems)
    assert any("probs needs a scale of single digits" in p for p in problems)


def test_an_artifact_changes_only_the_response(tmp_path: Path) -> None:
    _write(tmp_path / "scores.jsonl", [_row(1)])
    instrument = JudgeInstrument({"mode": "single"})
    spec = _spec(tmp_path, {"artifact": ["none", "disclaimer"]})
    [item] = instrument.load_items(spec.data, tmp_path)
    base = instrument.prompt(TrialContext(item, Condition((("artifact", "none"),)), 0, "planted", spec, Capabilities()))
    changed = instrument.prompt(TrialContext(item, Condition((("artifact", "disclaimer"),)), 0, "planted", spec, Capabilities()))
    suffix = instrument.artifacts["disclaimer"].suffix
    cut = base.index(item.response) + len(item.response)
    assert changed == base[:cut] + suffix + base[cut:]


@pytest.fixture
def planted_backend() -> Iterator[None]:
    registry.register_backend("planted", planted.FAMILY, "planted-bias judge for tests", replace=True)
    yield
    registry.backends.unregister("planted")


def test_a_planted_apology_effect_is_recovered_through_the_pipeline(tmp_path: Path, planted_backend: None) -> None:
    rng = np.random.default_rng(4)
    rows = []
    for i in range(30):
        quality = int(rng.integers(1, 6))
        human = int(np.clip(quality + rng.choice([-1, 0, 0, 0, 1]), 1, 5))
        rows.append({"item_id": f"r{i}", "instruction": f"Task {i}.", "response": f"An answer of quality {quality}.", "score": human,
                     "category": "<b>x</b>"})
    _write(tmp_path / "scores.jsonl", rows)
    spec = _spec(tmp_path, {"artifact": ["none", "apology", "disclaimer"], "verdict_format": ["probs", "generate"]}, [1, 9])
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    trials = run.trials
    assert trials["error"].isna().all() and trials["parsed"].all()
    r = run.analyses
    for row in r["agreement"]:
        part = trials[(trials["artifact"] == "none") & (trials["verdict_format"] == row["verdict_format"])]
        value = part["expected_score"] if row["verdict_format"] == "probs" else part["score"]
        expected = spearman(np.vstack([value.to_numpy(float), part["human_score"].to_numpy(float)]))
        assert row["spearman"]["estimate"] == pytest.approx(expected)
        assert row["verdict"] == "tracks the human scores"
        assert row["qwk"]["estimate"] == pytest.approx(stats.weighted_kappa(part["score"], part["human_score"], 1, 9))
    shifts = {(a["artifact"], a["verdict_format"]): a for a in r["artifacts"]}
    bonus = planted.SINGLE_APOLOGY_BONUS
    # generated: the score moves by the bonus; probs: P = 0.7 on the point, 0.3/8 on each other one of 1..9,
    # so E = 0.7 v + 0.3/8 (45 - v) moves by (0.7 - 0.3/8) * bonus
    assert shifts[("apology", "generate")]["shift"]["estimate"] == pytest.approx(bonus)
    assert shifts[("apology", "probs")]["shift"]["estimate"] == pytest.approx((0.7 - 0.3 / 8) * bonus)
    assert {shifts[("apology", f)]["verdict"] for f in ("probs", "generate")} == {"raises the score"}
    for fmt in ("probs", "generate"):
        assert shifts[("disclaimer", fmt)]["shift"]["estimate"] == 0 and shifts[("disclaimer", fmt)]["verdict"] == "no shift beyond the margin"
    page = write_report(run.directory).read_text(encoding="utf-8")
    assert 'id="judge-scores"' in page and "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
