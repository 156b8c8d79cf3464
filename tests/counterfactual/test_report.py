"""The bias report on a scripted run (instant answers; the embedded-model run is tests/counterfactual/test_embedded.py):
every section renders, every number shown traces to results.json, and the gap matrices are drawn."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import parse_spec, registry
from forkingpaths.instruments.bias.presentation import WITHIN, gap_matrix
from forkingpaths.report.source import Results
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


def test_the_gap_matrices_are_drawn_in_the_ratings_and_ranking_sections(run: forkingpaths.Run) -> None:
    page = write_report(run.directory).read_text(encoding="utf-8")
    for section, label in (("bias-ratings", "score gap between groups: gap matrix"), ("bias-ranking", "selection-rate gap between groups: gap matrix")):
        body = page[page.index(f'<section id="{section}">'):]
        body = body[:body.index("</section>")]
        assert f'aria-label="{label}"' in body, section


def test_gap_matrix_cells_escape_labels_mark_the_band_and_the_verdict() -> None:
    gaps = [
        {"a": "<script>", "b": "B", "estimate": 0.30, "lower": 0.2, "upper": 0.4, "verdict": "beyond noise", "noise_bound": 0.1},
        {"a": "<script>", "b": "C", "estimate": -0.05, "lower": -0.2, "upper": 0.1, "verdict": "within noise", "noise_bound": 0.1},
        {"a": "B", "b": "C", "estimate": 0.12, "lower": -0.01, "upper": 0.25, "verdict": "within noise", "noise_bound": 0.1},
    ]
    chart = str(gap_matrix(Results({"gaps": gaps}), "test"))
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    cells = re.findall(r'<g class="mark" data-path="(/gaps/\d)">(.*?)</g>', chart, flags=re.S)
    assert len(cells) == 6  # every ordered pair of 3 groups
    by_pair = {}
    for path, body in cells:
        by_pair.setdefault(path, []).append(body)
    assert all('stroke-width="2.50"' in body for body in by_pair["/gaps/0"])  # beyond noise: outlined, both orientations
    assert all(WITHIN in body for body in by_pair["/gaps/1"])  # |−0.05| inside the band ±0.1: grey
    assert not any(WITHIN in body for body in by_pair["/gaps/2"]) and "+0.12" in "".join(by_pair["/gaps/2"]) and "-0.12" in "".join(by_pair["/gaps/2"])
    assert "C − B: -0.120 [-0.250, 0.010]" in chart  # the mirrored cell's interval is mirrored


def test_gap_matrix_leaves_a_pair_never_shown_together_empty() -> None:
    """Rankings of a subset of the groups may never show two groups together: no gap record, an empty cell."""
    gaps = [
        {"a": "A", "b": "B", "estimate": 0.30, "lower": 0.2, "upper": 0.4, "verdict": "within noise", "noise_bound": 0.5},
        {"a": "B", "b": "C", "estimate": 0.10, "lower": 0.0, "upper": 0.2, "verdict": "within noise", "noise_bound": 0.5},
    ]  # no A–C record
    chart = str(gap_matrix(Results({"gaps": gaps}), "test"))
    cells = re.findall(r'<g class="mark" data-path="(/gaps/\d)">', chart)
    assert sorted(cells) == ["/gaps/0", "/gaps/0", "/gaps/1", "/gaps/1"]  # A–C and C–A have no mark
    assert chart.count(">–</text>") == 2 and "never shown together" in chart
