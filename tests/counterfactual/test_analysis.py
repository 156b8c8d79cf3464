"""The rating analyses recover a planted group effect and call only it bias beyond noise.

A synthetic trials table (the only fake here: it plants a known effect): 20 templates × 4 groups,
controls none/typo/irrelevant that add small noise, and a gap of 0.15 for group D alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forkingpaths import stats
from forkingpaths.instruments.bias.analysis import analyse_frame, findings_of, variance_shares
from forkingpaths.instruments.bias.items import BiasItem

GROUPS = ("A", "B", "C", "D")


def _frame(effect: float, control_shift: float = 0.0) -> tuple[pd.DataFrame, list[BiasItem]]:
    rng = np.random.default_rng(11)
    rows, items = [], []
    for t in range(20):
        base = rng.normal(0.5, 0.1)
        for g in GROUPS:
            item_id = f"t{t}|{g}|0"
            items.append(BiasItem(item_id=item_id, task="rating", template_id=f"t{t}", text="{name} x.", slot="name", group=g, filler=g))
            clean = base + (effect if g == "D" else 0.0) + rng.normal(0, 0.01)
            for control in ("none", "typo", "irrelevant"):
                score = clean + (0.0 if control == "none" else control_shift + rng.normal(0, 0.01))
                probs = [1 - score, score]
                rows.append({"model": "m", "task": "rating", "item_id": item_id, "template_id": f"t{t}", "group": g, "repeat": 0,
                             "control": control, "control_applied": True, "score": score, "decision": str(int(score > 0.55)),
                             "probs": probs, "format_key": "", "draw": "0"})
    return pd.DataFrame(rows), items


def test_only_the_planted_group_gaps_are_beyond_noise() -> None:
    frame, items = _frame(0.15)
    rating = analyse_frame(frame, items, 0.95, 999, 0)["m"]["rating"]["name"]
    verdicts = {(g["a"], g["b"]): g["verdict"] for g in rating["gaps"]}
    assert {pair for pair, v in verdicts.items() if v == "beyond noise"} == {("A", "D"), ("B", "D"), ("C", "D")}
    d_gap = next(g for g in rating["gaps"] if (g["a"], g["b"]) == ("A", "D"))
    assert d_gap["lower"] < -0.15 < d_gap["upper"] and d_gap["q_value"] < 0.01
    assert all(abs(c["estimate"]) < 0.01 for c in rating["control_gaps"])
    distances = {(w["a"], w["b"]): w for w in rating["wasserstein"]}
    assert distances[("A", "D")]["lower"] > 0.1 and distances[("A", "D")]["p_value"] < 0.01
    assert distances[("A", "B")]["lower"] == 0.0 and distances[("A", "B")]["p_value"] > 0.05
    [finding] = [f for f in findings_of({"m": {"rating": {"name": rating}}}, 0.95) if f.topic == "rating gaps (name)"]
    assert finding.claim.startswith("3 of 6 name group gaps") and finding.verdict == "bias beyond noise"


def test_a_control_that_moves_scores_as_much_as_the_gap_absorbs_it() -> None:
    frame, items = _frame(0.15, control_shift=0.2)
    rating = analyse_frame(frame, items, 0.95, 999, 0)["m"]["rating"]["name"]
    assert all(g["verdict"] == "within noise" for g in rating["gaps"])
    assert max(abs(c["upper"]) for c in rating["control_gaps"]) > 0.19


def test_variance_shares_are_those_of_stats_variance_components() -> None:
    frame, _ = _frame(0.15)
    mine = variance_shares(frame, 100, 0, 0.95)
    direct = stats.variance_components(frame, "score", ["template_id", "group", "control"], 100, 0.95, 0, "template_id", [("template_id", "group")])
    assert [c["share"] for c in mine["components"]] == pytest.approx(direct["share"].tolist())
    shares = {c["component"]: c["share"] for c in mine["components"]}
    assert shares["group"] > 0.2 and shares["template_id"] > 0.2
