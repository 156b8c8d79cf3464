"""The bias instrument on the embedded model: one rating template (4 groups), one BBQ quadruple, one ranking of 3; 27 requests."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import parse_spec
from forkingpaths.report.html import write_report
from tests.report.test_report_run import assert_traced

pytestmark = pytest.mark.model


def _spec(out: Path) -> forkingpaths.Spec:
    return parse_spec({
        "name": "bias-embedded",
        "instrument": {"name": "bias", "params": {"elicitation": "probabilities"}},
        "data": {"loader": "builtin", "params": {"sets": ["ratings", "bbq", "bloomberg"], "fillers_per_template": 1, "candidates": 3,
                                                 "rankings_per_job": 1, "resume_lines": 3,
                                                 "groups": ["W_M", "B_W", "A_M", "H_W"]},
                 "filter": {"template_id": ["name-accountant", "bbq-Religion-1", "rank-retail-0"]}},
        "models": ["llamacpp"],
        "factors": {"control": ["none", "typo", "candidate-order"]},
        "output_dir": str(out / "runs"),
        "analysis": {"n_resamples": 200},
    }, "test")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    out = tmp_path_factory.mktemp("bias")
    return forkingpaths.run(_spec(out), forkingpaths.RunOptions(cache_dir=out / "cache"))


def test_every_task_is_read_back_in_canonical_terms(run: forkingpaths.Run) -> None:
    trials = run.trials
    assert trials["error"].isna().all() and set(trials["task"]) == {"rating", "choice", "ranking"}
    rating = trials[trials["task"] == "rating"]
    assert len(rating) == 4 * 3 and rating["group"].nunique() == 4
    for row in rating.itertuples():
        assert math.isclose(sum(row.probs), 1.0, abs_tol=1e-6)
        assert row.rating == pytest.approx(sum((k + 1) * p for k, p in enumerate(row.probs)))
        assert row.score == pytest.approx((row.rating - 1) / 4) and row.decision == str(1 + max(range(5), key=lambda k: row.probs[k]))
    # candidate-order cannot change a rating prompt: the same request as none, so no extra call
    none = rating[rating["control"] == "none"].set_index("item_id")
    same = rating[rating["control"] == "candidate-order"].set_index("item_id")
    assert (same["request_key"] == none.loc[same.index, "request_key"]).all() and not same["control_applied"].any()
    choice = trials[trials["task"] == "choice"]
    for row in choice.itertuples():
        assert row.chosen == max(range(3), key=lambda k: row.probs[k])
    reversed_ = choice[choice["control"] == "candidate-order"]
    assert reversed_["control_applied"].all() and (reversed_["control_note"] == "options reversed").all()
    ranking = trials[trials["task"] == "ranking"].set_index("control")
    assert list(ranking.loc["candidate-order", "candidate_groups"]) == list(ranking.loc["none", "candidate_groups"])[::-1]
    for control in ("none", "candidate-order"):
        row = ranking.loc[control]
        assert row["selected_group"] == row["candidate_groups"][int(row["selected_position"])]
        assert math.isclose(sum(row["probs"]), 1.0, abs_tol=1e-6) and row["probs"][int(row["chosen"])] == max(row["probs"])


def test_the_report_traces_its_numbers_and_a_rerun_makes_no_call(run: forkingpaths.Run, tmp_path: Path) -> None:
    page = write_report(run.directory).read_text(encoding="utf-8")
    for section in ("bias-ratings", "bias-flips", "bias-bbq", "bias-ranking", "bias-prompts"):
        assert f'<section id="{section}">' in page, section
    assert_traced(page, run.document(), ("bias-ratings", "bias-flips", "bias-bbq", "bias-ranking"))
    topics = {f.topic for f in run.findings}
    assert {"rating gaps (name)", "ranking selection"} <= topics
    again = forkingpaths.run(_spec(run.directory.parent.parent), forkingpaths.RunOptions(cache_dir=run.directory.parent.parent / "cache"))
    assert again.manifest.counts.model_calls == 0
