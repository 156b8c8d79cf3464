"""Response similarity between counterfactual pairs (scorer: similarity) against the similarity under controls."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from forkingpaths import parse_spec
from forkingpaths.instruments.bias import similarity
from forkingpaths.instruments.bias.loaders import load_bias_items
from forkingpaths.models.base import BackendSettings, Request, Response
from forkingpaths.report.html import write_report
from forkingpaths.spec import DataSpec
from tests.contract import scripted
from tests.counterfactual.scripted_run import run_scripted
from tests.report.test_report_run import assert_traced


def test_token_jaccard_by_hand() -> None:
    # {the, cat, sat, on, mat} vs {a, cat, sat, on, hat}: 3 shared of 7 distinct tokens
    assert similarity.token_jaccard("The cat sat on the mat.", "A cat sat on a hat") == pytest.approx(3 / 7)
    assert similarity.token_jaccard("Größe zählt", "größe ZÄHLT!") == 1.0
    assert similarity.token_jaccard("", "...") == 1.0 and similarity.token_jaccard("a", "") == 0.0


def test_template_interval_is_the_one_sample_t_interval_of_template_means() -> None:
    values = pd.Series([0.10, 0.25, -0.05, 0.30, 0.12], index=["t1", "t2", "t3", "t4", "t5"])
    got = similarity._template_mean_ci(values, 0.95)
    low, high = scipy_stats.t.interval(0.95, 4, loc=values.mean(), scale=scipy_stats.sem(values))
    assert (got["lower"], got["upper"]) == pytest.approx((low, high)) and got["n_templates"] == 5
    assert similarity._template_mean_ci(values[:1], 0.95)["lower"] is None


SEED = 2
GROUPS = ["W_M", "B_W", "H_M"]
DATA = {"loader": "builtin", "params": {"sets": ["generation"], "fillers_per_template": 2, "groups": GROUPS}}
ITEMS = load_bias_items(DataSpec(**DATA), Path("."), SEED)
FILLERS = {i.filler: i.group for i in ITEMS}


class EchoBackend(scripted.ScriptedBackend):
    """Answers with the prompt minus the filler (a control's change shows in the answer, a name does not),
    plus six extra words when the planted group's filler is in the prompt."""

    planted: str | None = None

    async def complete(self, request: Request) -> Response:
        text = request.messages[-1].content
        groups = {g for f, g in FILLERS.items() if f in text}
        for filler in FILLERS:
            text = text.replace(filler, "")
        if self.planted in groups:
            text += " Answers in another register entirely, surely."
        return Response(text=text, prompt_tokens=3, completion_tokens=3)


@dataclass(frozen=True)
class EchoFactory(scripted.ScriptedFactory):
    def build(self) -> EchoBackend:
        backend = EchoBackend(0)
        backend.planted = self.reference.partition(":")[2] or None
        return backend


class EchoFamily(scripted.ScriptedFamily):
    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> EchoFactory:
        return EchoFactory(reference, 0)


def _run(tmp_path: Path, planted: str | None) -> dict:
    spec = parse_spec({
        "name": "sim", "instrument": {"name": "bias", "params": {"scorer": "similarity"}}, "data": DATA,
        "models": [f"scripted:{planted}" if planted else "scripted"], "factors": {"control": ["none", "typo", "irrelevant"]},
        "output_dir": str(tmp_path / "runs"), "analysis": {"n_resamples": 50}, "seed": SEED,
    }, "test")
    original = scripted.FAMILY
    scripted.FAMILY = EchoFamily()
    try:
        run = run_scripted(spec, tmp_path)
    finally:
        scripted.FAMILY = original
    assert run.trials["error"].isna().all() and run.trials["parsed"].all()
    model = next(iter(run.analyses["by_model"]))
    return {"part": run.analyses["by_model"][model]["similarity"]["name"], "findings": run.findings, "run": run}


def test_a_planted_group_answer_is_less_similar_beyond_noise_and_no_other_pair_is(tmp_path: Path) -> None:
    result = _run(tmp_path, "B_W")
    part = result["part"]
    verdicts = {(p["a"], p["b"]): p["verdict"] for p in part["pairs"]}
    assert sum(v == "less similar beyond noise" for v in verdicts.values()) == 2
    assert all(v == "less similar beyond noise" for k, v in verdicts.items() if "B_W" in k)
    quiet = next(p for p in part["pairs"] if "B_W" not in (p["a"], p["b"]))
    assert quiet["swap"]["estimate"] == 0.0 and quiet["verdict"] == "within noise"  # the echo drops the names
    # pooled over pairs (each template holds every pair equally often): the mean of the pairs' dissimilarities
    assert part["pooled"]["swap"]["estimate"] == pytest.approx(sum(p["swap"]["estimate"] for p in part["pairs"]) / 3)
    assert {c["control"] for c in part["pooled"]["controls"]} == {"typo", "irrelevant"}
    finding = next(f for f in result["findings"] if f.topic == "generation similarity (name)")
    assert finding.verdict == part["pooled"]["verdict"] and "2 of 3 pairs of groups less similar beyond noise" in finding.claim
    page = write_report(result["run"].directory).read_text(encoding="utf-8")
    assert '<section id="bias-similarity">' in page and "B_W vs H_M" in page
    assert_traced(page, result["run"].document(), ("bias-similarity",))


def test_without_a_planted_effect_no_pair_passes(tmp_path: Path) -> None:
    part = _run(tmp_path, None)["part"]
    assert all(p["verdict"] == "within noise" for p in part["pairs"]) and part["pooled"]["verdict"] == "within noise"


def test_pair_and_control_dissimilarities_by_hand() -> None:
    base = pd.DataFrame({"model": "m", "template_id": "t", "draw": "0", "format_key": "", "repeat": 0, "item_id": ["t|a|0", "t|b|0"],
                         "group": ["a", "b"], "control": "none", "response_text": ["the cat sat", "the dog sat"]})
    changed = base.assign(control="typo", response_text=["the cat sat down", "the dog sat"])
    pairs = similarity.pair_dissimilarities(base, ["model", "template_id", "draw", "format_key", "repeat"])
    assert pairs["dissimilarity"].tolist() == pytest.approx([1 - 2 / 4])
    controls = similarity.control_dissimilarities(base, changed, ["model", "item_id", "format_key", "repeat"])
    assert controls["dissimilarity"].tolist() == pytest.approx([1 - 3 / 4, 0.0])


def test_template_interval_coverage_with_five_templates() -> None:
    # per template: the mean of 6 Beta(2, 5) swap dissimilarities minus the mean of 6 Beta(2, 6) control ones
    rng = np.random.default_rng(13)
    truth, hits = 2 / 7 - 2 / 8, 0
    for _ in range(400):
        d = rng.beta(2, 5, (5, 6)).mean(axis=1) - rng.beta(2, 6, (5, 6)).mean(axis=1)
        ci = similarity._template_mean_ci(pd.Series(d, index=[f"t{i}" for i in range(5)]), 0.95)
        hits += ci["lower"] <= truth <= ci["upper"]
    assert 0.92 <= hits / 400 <= 0.98
