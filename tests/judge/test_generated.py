"""The generated-responses mode end to end on scripted backends: the evaluated model writes, two judges grade.

The writer always answers ``planted.WRITTEN`` (quality 13); the references have quality
8..17. The ``planted:fair`` judge ignores position, the ``planted`` judge adds 4.5 to the
response shown first; both add 6 to a response opening with the apology. Every number the
audit reports below follows from those rules and is computed here independently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import registry
from forkingpaths.errors import SpecError
from forkingpaths.spec import parse_spec

from . import planted

N_ITEMS = 20


@pytest.fixture(autouse=True)
def planted_backend() -> Iterator[None]:
    registry.register_backend("planted", planted.FAMILY, "planted-bias judge for tests", replace=True)
    yield
    registry.backends.unregister("planted")


def _quality(i: int) -> int:
    return 8 + i % 10


def _spec(tmp: Path, **factors: list[str]) -> dict:
    with (tmp / "pairs.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(N_ITEMS):
            handle.write(json.dumps({"item_id": f"g{i}", "instruction": f"Task {i}.", "response_a": "unused",
                                     "response_b": f"An answer of quality {_quality(i)}.", "label": "A"}) + "\n")
    return {"name": "generated", "instrument": {"name": "judge", "params": {"mode": "generated"}},
            "data": {"loader": "tidy", "path": str(tmp / "pairs.jsonl")}, "models": ["planted"],
            "roles": {"judge": ["planted", "planted:fair"]}, "output_dir": str(tmp / "runs"), "seed": 5,
            "factors": {"position": ["original", "swapped"], "verdict_format": ["generate"], **factors}}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    registry.register_backend("planted", planted.FAMILY, "planted-bias judge for tests", replace=True)
    tmp = tmp_path_factory.mktemp("generated")
    spec = parse_spec(_spec(tmp, artifact=["none", "apology-a"]), "test")
    return forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp / "cache"))


def test_each_response_is_written_once_and_graded_by_every_judge(run: forkingpaths.Run) -> None:
    same = sum(_quality(i) == 13 for i in range(N_ITEMS))  # the reference equals the answer: both orders are one prompt
    assert run.manifest.counts.model_calls == N_ITEMS + (N_ITEMS * 4 - same) * 2  # one answer per item, 4 conditions x 2 judges
    assert run.trials["error"].isna().all() and (run.trials["response"] == planted.WRITTEN).all()
    assert run.trials["judges"].map(list).map(sorted).eq([["planted", "planted:fair"]] * len(run.trials)).all()
    assert run.manifest.roles == {"judge": ["planted", "planted:fair"]}


def test_win_rates_position_and_the_artifact_follow_the_planted_rules(run: forkingpaths.Run) -> None:
    wins = {row["model"]: row["naive"]["estimate"] for row in run.analyses["win_rate"]}

    def win_rate(bonus: float) -> float:  # the shown-first response wins unless the second scores strictly more
        return sum((13 + bonus > _quality(i)) + (_quality(i) + bonus <= 13) for i in range(N_ITEMS)) / (2 * N_ITEMS)

    fair, biased = win_rate(0.0), win_rate(planted.FIRST_BONUS)
    assert wins == {"planted:fair": pytest.approx(fair), "planted": pytest.approx(biased)}
    assert all(row["evaluated"] == "planted" and "ppi" in row for row in run.analyses["win_rate"])
    position = {row["model"]: row for row in run.analyses["position"]}
    # the fair judge is consistent except where the two responses score the same and the second shown wins both times
    assert position["planted:fair"]["consistency"]["estimate"] == pytest.approx(1 - sum(_quality(i) == 13 for i in range(N_ITEMS)) / N_ITEMS)
    assert position["planted"]["verdict"] == "prefers the first position"
    shifts = {(r["model"], r["position"]): r["shift"]["estimate"] for r in run.analyses["artifacts"]}
    assert shifts[("planted:fair", "original")] == pytest.approx(sum(13 <= _quality(i) < 19 for i in range(N_ITEMS)) / N_ITEMS)
    assert run.analyses["accuracy_overall"] == [] and run.analyses["jury"][0]["judges"] == ["planted", "planted:fair"]
    assert "accuracy" not in run.analyses["jury"][0]


def test_a_gold_sided_artifact_is_refused_in_generated_mode_before_any_call(tmp_path: Path) -> None:
    spec = parse_spec(_spec(tmp_path, artifact=["none", "apology-worse"]), "test")
    with pytest.raises(SpecError, match=r"factors\.artifact\[1\]: 'apology-worse' needs a gold label; in mode generated use apology-a"):
        forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert not (tmp_path / "cache" / "cache.sqlite").exists()


def test_the_report_shows_the_new_sections_with_every_number_traced(run: forkingpaths.Run) -> None:
    import re

    from forkingpaths.report.html import write_report
    from forkingpaths.report.source import resolve

    page = write_report(run.directory).read_text(encoding="utf-8")
    for anchor in ("judge-length", "judge-raters", "judge-win-rate", "judge-variance"):
        assert f'id="{anchor}"' in page
    document = run.document()
    traced = re.findall(r'<span class="num" data-path="([^"]*)" title="[^"]*">([^<]*)</span>', page)
    assert any("/win_rate/" in path for path, _ in traced)
    assert all(resolve(document, path) is not None for path, shown in traced if shown != "n/a")
