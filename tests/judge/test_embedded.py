"""The judge audit on the embedded model: a tiny demo run, its report sections and a rerun from the cache."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import registry
from forkingpaths.report.html import write_report
from forkingpaths.report.source import resolve
from forkingpaths.spec import parse_spec

pytestmark = pytest.mark.model


def test_the_demo_runs_on_the_embedded_model_with_traced_report_sections(tmp_path: Path) -> None:
    spec = registry.examples.get("judge")(limit=2).with_overrides(output_dir=str(tmp_path / "runs"))
    spec = spec.model_copy(update={"factors": {**spec.factors, "verdict_format": ["probs", "generate"], "artifact": ["none", "apology-worse"]}})
    options = forkingpaths.RunOptions(cache_dir=tmp_path / "cache")
    run = forkingpaths.run(spec, options)
    assert run.trials["error"].isna().all() and len(run.trials) == 2 * 2 * 2 * 2 * 2
    probs = run.trials[run.trials["verdict_format"] == "probs"]
    assert probs["p_a"].notna().all() and ((probs["p_a"] + probs["p_b"] + probs["p_tie"]) - 1).abs().max() < 1e-6
    assert probs["valid_mass"].between(0, 1).all()
    generated = run.trials[run.trials["verdict_format"] == "generate"]
    assert (generated["parsed"] == generated["verdict"].notna()).all()
    page = write_report(run.directory).read_text(encoding="utf-8")
    for anchor in ("judge-accuracy", "judge-agreement", "judge-position", "judge-artifacts"):
        assert f'id="{anchor}"' in page
    document = run.document()
    for path, shown in re.findall(r'<span class="num" data-path="([^"]*)" title="[^"]*">([^<]*)</span>', page):
        if shown != "n/a":
            assert resolve(document, path) is not None, path
    again = forkingpaths.run(spec, options)
    assert again.manifest.counts.model_calls == 0


def test_the_single_response_mode_scores_on_the_embedded_model(tmp_path: Path) -> None:
    spec = parse_spec({"name": "single", "instrument": {"name": "judge", "params": {"mode": "single"}},
                       "data": {"loader": "builtin", "limit": 4}, "models": ["llamacpp"], "output_dir": str(tmp_path / "runs"),
                       "factors": {"verdict_format": ["probs", "generate"]}, "sampling": {"max_tokens": 6},
                       "analysis": {"n_resamples": 100}}, "test")
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    trials = run.trials
    assert trials["error"].isna().all() and len(trials) == 8
    probs = trials[trials["verdict_format"] == "probs"]
    assert probs["score"].between(1, 5).all() and probs["expected_score"].between(1, 5).all()
    generated = trials[trials["verdict_format"] == "generate"]
    assert (generated["parsed"] == generated["score"].notna()).all()
    assert {row["verdict_format"] for row in run.analyses["agreement"]} <= {"probs", "generate"}
