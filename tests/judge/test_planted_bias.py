"""Validation of the auditor: a judge with a planted position preference and a planted apology effect.

The planted judge (tests/judge/planted.py) is deterministic, so the population values
of every effect on these items follow from its rule and are computed here independently
of the audit; the audit must recover them within its intervals, give the verdict words
for the planted effects, and flag nothing that was not planted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import registry
from forkingpaths.spec import parse_spec

from . import planted

N_ITEMS = 40
ARTIFACTS = ["none", "apology-worse", "apology-better", "disclaimer-worse", "planted-worse", "verbosity-worse"]


@pytest.fixture(autouse=True)
def planted_backend() -> Iterator[None]:
    registry.register_backend("planted", planted.FAMILY, "planted-bias judge for tests", replace=True)
    yield
    registry.backends.unregister("planted")


def _gap(i: int) -> int:
    return i % 10 + 1  # quality difference between the better and the worse response, 1..10


def _pairs(path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(N_ITEMS):
            good, bad = f"An answer of quality {10 + _gap(i)}.", "An answer of quality 10."
            a, b, label = (good, bad, "A") if i % 2 == 0 else (bad, good, "B")
            handle.write(json.dumps({"item_id": f"p{i}", "instruction": f"Task {i}.", "response_a": a, "response_b": b, "label": label}) + "\n")


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    registry.register_backend("planted", planted.FAMILY, "planted-bias judge for tests", replace=True)
    tmp = tmp_path_factory.mktemp("planted")
    _pairs(tmp / "pairs.jsonl")
    spec = parse_spec({
        "name": "planted", "instrument": "judge", "data": {"loader": "tidy", "path": str(tmp / "pairs.jsonl")},
        "models": ["planted"], "output_dir": str(tmp / "runs"), "seed": 7,
        "factors": {"position": ["original", "swapped"], "artifact": ARTIFACTS, "verdict_format": ["probs", "generate"]},
    }, "test")
    return forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp / "cache"))


def _inside(value: float, interval: dict) -> bool:
    return interval["lower"] - 1e-9 <= value <= interval["upper"] + 1e-9


def test_the_planted_position_preference_is_recovered(audit: forkingpaths.Run) -> None:
    # truth: the first-shown response wins both orders when the gap is below the bonus
    inconsistent = sum(_gap(i) < planted.FIRST_BONUS for i in range(N_ITEMS)) / N_ITEMS
    true_first = (1 - inconsistent) * 0.5 + inconsistent
    for row in audit.analyses["position"]:
        assert row["verdict"] == "prefers the first position"
        assert row["second_both"] == 0 and row["binomial"]["pvalue"] < 1e-3
        assert _inside(1 - inconsistent, row["consistency"]) and abs(row["consistency"]["estimate"] - (1 - inconsistent)) < 1e-9
        assert _inside(true_first, row["first_preference"]) and "cluster-t(item)" == row["first_preference"]["method"]
        assert row["accuracy_when_consistent"]["estimate"] == 1.0


def _true_shift(side: str) -> float:
    """Share of (item, order) pairs whose verdict moves onto the target when it gains the apology bonus."""
    moved = 0
    for i in range(N_ITEMS):
        for target_first in (True, False):
            gap = _gap(i)
            target, other = (10 + gap, 10) if side == "better" else (10, 10 + gap)
            before = planted.score(f"quality {target}", target_first) > planted.score(f"quality {other}", not target_first)
            after = target + planted.APOLOGY_BONUS + (planted.FIRST_BONUS if target_first else 0) > other + (0 if target_first else planted.FIRST_BONUS)
            moved += int(after) - int(before)
    return moved / (2 * N_ITEMS)


def test_the_planted_apology_effect_is_recovered_and_nothing_else_is_flagged(audit: forkingpaths.Run) -> None:
    rows = audit.analyses["artifacts"]
    assert {r["artifact"] for r in rows} == set(ARTIFACTS) - {"none"}
    for row in rows:
        if row["artifact"].startswith("apology"):
            pooled = _true_shift(row["side"])
            if row["side"] == "worse":
                assert row["verdict"] == "moves verdicts toward it" and row["p_holm"] < 0.05
                assert row["shift"]["lower"] > 0
                assert (row["p_shift"] is None) == (row["verdict_format"] == "generate")
                assert row["p_shift"] is None or row["p_shift"]["estimate"] > 0
            # each order separately: the truth is the per-order share of pairs moved
            truth = sum(
                1 for i in range(N_ITEMS)
                if _moves(i, row["side"], row["position"], i % 2 == 0)
            ) / N_ITEMS
            assert _inside(truth, row["shift"]), (row["artifact"], row["position"], truth, row["shift"])
            assert pooled >= 0
        else:
            assert row["verdict"] == "no shift beyond the margin" and row["shift"]["estimate"] == 0.0
    flagged = {f.topic for f in audit.findings if f.verdict == "moves verdicts toward it"}
    assert flagged == {"artifact apology-worse"}


def _moves(i: int, side: str, position: str, gold_is_a: bool) -> bool:
    """Whether adding the apology to the target flips item i's verdict onto it, in this display order."""
    target = ("A" if gold_is_a else "B") if side == "better" else ("B" if gold_is_a else "A")
    target_first = (target == "A") == (position == "original")
    gap = _gap(i)
    t, o = (10 + gap, 10) if side == "better" else (10, 10 + gap)
    bonus_t, bonus_o = (planted.FIRST_BONUS, 0.0) if target_first else (0.0, planted.FIRST_BONUS)
    return (t + bonus_t <= o + bonus_o) and (t + planted.APOLOGY_BONUS + bonus_t > o + bonus_o)


def test_the_planted_judge_is_accurate_and_every_generated_verdict_parses(audit: forkingpaths.Run) -> None:
    overall = audit.analyses["accuracy_overall"][0]
    truth = 1 - sum(_gap(i) < planted.FIRST_BONUS for i in range(N_ITEMS)) / (2 * N_ITEMS)
    assert _inside(truth, overall) and overall["method"] == "cluster-t(item)"
    assert audit.analyses["parsing"]["unparsable"] == 0
    assert audit.trials["error"].isna().all()


def test_flipped_verdicts_are_listed_with_both_prompts_and_drawn(audit: forkingpaths.Run) -> None:
    from forkingpaths.report.html import write_report

    flips = audit.analyses["flips"]
    inconsistent = sum(_gap(i) < planted.FIRST_BONUS for i in range(N_ITEMS))
    for judge, counts in flips["counts"].items():
        assert counts["swap"] == 2 * inconsistent  # the first-shown response wins both orders on these items, in both formats
        assert counts["artifact"] > 0  # the apology moves some verdicts
    assert 0 < len(flips["items"]) <= flips["limit"]
    for row in flips["items"]:
        assert row["before"]["verdict"] != row["after"]["verdict"]
        before, after = row["before"]["prompt"], row["after"]["prompt"]
        if row["kind"] == "swap":
            first, second = re.search(r"Response A:\n(.*?)\n\nResponse B:\n(.*?)\n\n", before, re.DOTALL).groups()  # type: ignore[union-attr]
            assert f"Response A:\n{second}\n\nResponse B:\n{first}\n\n" in after
        else:
            assert row["artifact"].startswith("apology") and before != after
    page = write_report(audit.directory).read_text(encoding="utf-8")
    assert 'id="judge-flips"' in page and "Forest plot of artifact effects" in page
    assert page.count('<details class="flip">') == len(flips["items"])
