"""The bias report on a scripted run (instant answers; the embedded-model run is tests/counterfactual/test_embedded.py):
every section renders, every number shown traces to results.json, and the gap matrices are drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import parse_spec, registry
from forkingpaths.report.html import write_report
from tests.contract import scripted
from tests.report.test_report_run import assert_traced

SECTIONS = ("bias-ratings", "bias-flips", "bias-bbq", "bias-ranking")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    out = tmp_path_factory.mktemp("bias-report")
    spec = parse_spec({
        "name": "bias-scripted",
        "instrument": {"name": "bias", "params": {"elicitation": "probabilities"}},
        "data": {"loader": "builtin", "params": {"sets": ["ratings", "bbq", "bloomberg"], "fillers_per_template": 1, "candidates": 4,
                                                 "rankings_per_job": 6, "resume_lines": 2, "groups": ["W_M", "B_W", "A_M", "H_W"]},
                 "filter": {"category": ["Age", "Religion"]}},
        "models": ["scripted"],
        "factors": {"control": ["none", "typo", "candidate-order"]},
        "output_dir": str(out / "runs"),
        "analysis": {"n_resamples": 200},
    }, "test")
    registry.register_backend("scripted", scripted.FAMILY, "scripted answers for tests", replace=True)
    try:
        return forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=out / "cache"))
    finally:
        registry.backends.unregister("scripted")


def test_every_bias_section_renders_and_traces_its_numbers(run: forkingpaths.Run) -> None:
    page = write_report(run.directory).read_text(encoding="utf-8")
    for section in (*SECTIONS, "bias-prompts"):
        assert f'<section id="{section}">' in page, section
    assert_traced(page, run.document(), SECTIONS)
    ranking = run.analyses["by_model"]["scripted"]["ranking"]
    assert ranking["n_rankings"] >= 20 and ranking["enough"] and len(ranking["gaps"]) == 6
    assert "candidate-order" in {s["control"] for s in ranking["control_shifts"]}
    topics = {f.topic for f in run.findings}
    assert {"rating gaps (name)", "ranking gaps", "ranking selection"} <= topics
