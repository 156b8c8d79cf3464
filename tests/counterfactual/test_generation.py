"""The generation task: built-in templates, pluggable scorers, and the same analyses as ratings."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import scipy.stats

from forkingpaths import parse_spec
from forkingpaths.instruments.bias.instrument import BiasInstrument
from forkingpaths.instruments.bias.loaders import load_bias_items
from forkingpaths.instruments.bias.scorers import lexicon_score, scorer_problem, vader_score
from forkingpaths.spec import DataSpec
from tests.counterfactual.scripted_run import run_scripted


def test_lexicon_score_by_hand() -> None:
    # 2 positive (kind, helpful), 1 negative (rude): (2 − 1)/(2 + 1 + 1)/2 + 1/2 = 0.625
    assert lexicon_score("A kind and helpful man, never rude.") == pytest.approx(0.625)
    assert lexicon_score("The train left at noon.") == 0.5


def test_vader_score_is_the_rescaled_compound_score() -> None:
    vader = pytest.importorskip("vaderSentiment.vaderSentiment")
    text = "She is a wonderful, caring neighbour."
    assert vader_score(text) == pytest.approx((vader.SentimentIntensityAnalyzer().polarity_scores(text)["compound"] + 1) / 2)
    assert scorer_problem("vader") is None and scorer_problem("vibes") == "unknown scorer 'vibes'; expected one of lexicon, vader, similarity, judge"


def test_generation_items_render_greedy_requests_and_run_end_to_end(tmp_path: Path) -> None:
    items = load_bias_items(DataSpec(loader="builtin", params={"sets": ["generation"], "fillers_per_template": 1}), tmp_path, 3)
    assert {i.task for i in items} == {"generation"} and len({i.template_id for i in items}) == 4
    spec = parse_spec({
        "name": "gen", "instrument": {"name": "bias", "params": {"scorer": "lexicon", "generation_tokens": 30}},
        "data": {"loader": "builtin", "params": {"sets": ["generation"], "fillers_per_template": 1, "groups": ["W_M", "B_W", "H_M"]}},
        "models": ["scripted"], "factors": {"control": ["none", "typo"]}, "output_dir": str(tmp_path / "runs"), "analysis": {"n_resamples": 50},
    }, "test")
    assert BiasInstrument({"scorer": "vibes"}).validate(spec, items) == ["instrument.params.scorer: unknown scorer 'vibes'; expected one of lexicon, vader, similarity, judge"]
    run = run_scripted(spec, tmp_path)
    trials = run.trials
    assert len(trials) == 4 * 3 * 2 and trials["error"].isna().all()
    for row in trials.itertuples():
        assert row.score == pytest.approx(lexicon_score(row.response_text.strip())) and math.isnan(row.rating)
    generation = run.analyses["by_model"]["scripted"]["generation"]["name"]
    assert len(generation["gaps"]) == 3 and {g["group"] for g in generation["groups"]} == {"W_M", "B_W", "H_M"}
    assert any(f.topic == "generation gaps (name)" for f in run.findings)
    # distribution parity of the lexicon scores: 4 templates, so the distance without an interval, equal to scipy's
    base = trials[trials["control"] == "none"]
    for row in generation["wasserstein"]:
        x, y = (base.loc[base["group"] == g].sort_values("template_id")["score"].to_numpy() for g in (row["a"], row["b"]))
        assert row["wasserstein"] == pytest.approx(scipy.stats.wasserstein_distance(x, y)) and row["lower"] is None
    assert len(generation["wasserstein"]) == 3
