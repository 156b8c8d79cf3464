"""Self-consistency, juries, the length slope and the corrected win rate on synthetic verdict frames.

Each analysis is checked against an independent computation (statsmodels' Fleiss κ, the
krippendorff package, a loop for the majority vote, a direct stats.ppi_mean call) or
against an effect planted in the synthetic verdicts, which no real model produces on demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forkingpaths.instruments.judge import raters
from forkingpaths.instruments.judge.length import length_preference
from forkingpaths.instruments.judge.winrate import win_rates
from forkingpaths.spec import parse_spec
from forkingpaths.stats import ppi_mean

krippendorff = pytest.importorskip("krippendorff")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")

SPEC = parse_spec({"name": "t", "instrument": "judge", "data": {"loader": "builtin"}, "analysis": {"n_resamples": 200}, "seed": 3}, "t")
LABELS = np.array(["A", "B", "tie"])
CODES = {"A": 0, "B": 1, "tie": 2}


def _frame(rows: list[dict]) -> pd.DataFrame:
    base = {"artifact": "none", "judge_template": "verdict", "verdict_format": "generate", "position": "original",
            "parsed": True, "p_a": np.nan, "p_b": np.nan, "p_tie": np.nan, "error": None, "shown_first": "A"}
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["parsed"] = frame["verdict"].notna()
    return frame


def test_self_consistency_matches_statsmodels_fleiss_kappa_and_counts_unanimous_items() -> None:
    rng = np.random.default_rng(8)
    gold = rng.choice(["A", "B"], 40)
    rows = [{"model": "j", "item_id": f"i{i}", "repeat": r, "gold": gold[i],
             "verdict": gold[i] if rng.random() < 0.75 else str(rng.choice(LABELS))} for i in range(40) for r in range(4)]
    rows[5]["verdict"] = None  # item i1 loses a repeat: left out of the complete items
    (row,) = raters.self_consistency(_frame(rows), SPEC)
    wide = pd.DataFrame(rows).pivot(index="item_id", columns="repeat", values="verdict").dropna()
    table, _ = inter_rater.aggregate_raters(wide.apply(lambda c: c.map(CODES)).to_numpy())
    assert row["n_complete"] == 39 and row["repeats"] == 4
    assert row["fleiss_kappa"]["estimate"] == pytest.approx(inter_rater.fleiss_kappa(table, method="fleiss"), abs=1e-12)
    assert row["fleiss_kappa"]["lower"] <= row["fleiss_kappa"]["estimate"] <= row["fleiss_kappa"]["upper"]
    assert row["unanimous"]["estimate"] == pytest.approx((wide.nunique(axis=1) == 1).mean())
    assert row["unanimous"]["method"] == "wilson" and row["verdict"] == "verdicts vary across repeats"


def test_a_jury_majority_and_agreement_match_a_loop_and_the_krippendorff_package() -> None:
    rng = np.random.default_rng(4)
    gold = rng.choice(["A", "B"], 60)
    skill = {"j1": 0.8, "j2": 0.7, "j3": 0.65}
    rows = [{"model": j, "item_id": f"i{i}", "repeat": 0, "gold": gold[i],
             "verdict": gold[i] if rng.random() < p else {"A": "B", "B": "A"}[gold[i]]} for i in range(60) for j, p in skill.items()]
    rows[0]["verdict"] = None  # one juror unparsable on i0
    (row,) = raters.jury(_frame(rows), SPEC)
    table = pd.DataFrame(rows).pivot(index="item_id", columns="model", values="verdict")
    majority = []
    for _, votes in table.iterrows():
        cast = [v for v in votes if v is not None]
        top = max(set(cast), key=cast.count)
        majority.append(top if cast.count(top) * 2 > len(cast) else None)
    majority = pd.Series(majority, index=table.index)
    g = pd.DataFrame(rows).groupby("item_id")["gold"].first()
    decided = majority.notna()
    assert row["no_majority"] == int((~decided).sum())
    assert row["accuracy"]["majority"]["estimate"] == pytest.approx((majority[decided] == g[decided]).mean())
    codes = table.apply(lambda c: c.map(CODES)).to_numpy(dtype=float).T
    assert row["krippendorff_alpha"]["estimate"] == pytest.approx(
        krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal"), abs=1e-10)
    complete, _ = inter_rater.aggregate_raters(codes[:, ~np.isnan(codes).any(axis=0)].T)
    assert row["fleiss_kappa"]["estimate"] == pytest.approx(inter_rater.fleiss_kappa(complete, method="fleiss"), abs=1e-12)
    versus = row["versus"]["majority"]["j3"]
    both = decided & table["j3"].notna()
    assert versus["n"] == int(both.sum())
    assert versus["difference"]["estimate"] == pytest.approx(
        (majority[both] == g[both]).mean() - (table["j3"][both] == g[both]).mean())
    assert row["verdict"] in {"the majority beats every juror", "the majority is not shown better than its best juror"}


def _length_frame(rng: np.random.Generator, slope: float, items: int = 80) -> pd.DataFrame:
    rows = []
    for i in range(items):
        gold = "A" if i % 2 == 0 else "B"
        la, lb = rng.integers(50, 600, 2)
        for position in ("original", "swapped"):
            eta = 1.5 * (gold == "A") - 1.5 * (gold == "B") + slope * (la - lb) / 100 + 0.4 * (position == "original")
            verdict = "A" if rng.random() < 1 / (1 + np.exp(-eta)) else "B"
            rows.append({"model": "j", "item_id": f"i{i}", "repeat": 0, "gold": gold, "position": position, "verdict": verdict,
                         "length_a": int(la), "length_b": int(lb), "shown_first": "A" if position == "original" else "B"})
    return _frame(rows)


def test_a_planted_length_preference_is_recovered_and_none_is_flagged_when_absent() -> None:
    rng = np.random.default_rng(12)
    (planted,) = length_preference(_length_frame(rng, 0.6), 0.95)
    assert planted["verdict"] == "prefers the longer response"
    assert planted["slope"]["lower"] <= 0.6 <= planted["slope"]["upper"]
    assert planted["covariates"] == ["A shown first", "gold A"] and "clustered-se(item,CR1)" in planted["slope"]["method"]
    flagged = sum(length_preference(_length_frame(rng, 0.0), 0.95)[0]["verdict"] != "no detected length preference" for _ in range(40))
    assert flagged <= 5  # about 5% of 40 by chance


def test_the_win_rate_is_the_prediction_powered_estimate_of_the_item_scores() -> None:
    rng = np.random.default_rng(1)
    gold = rng.choice(["A", "B", "tie"], 120, p=[0.5, 0.4, 0.1])
    rows = []
    for i in range(120):
        for position in ("original", "swapped"):
            verdict = gold[i] if rng.random() < 0.7 else "A"  # a judge that leans to A
            rows.append({"model": "j", "item_id": f"i{i:03d}", "repeat": 0, "gold": gold[i] if i < 30 else None,
                         "position": position, "verdict": verdict})
    frame = _frame(rows)
    (row,) = win_rates(frame, SPEC, None)
    score = {"A": 1.0, "tie": 0.5, "B": 0.0}
    f = frame.assign(s=frame["verdict"].map(score)).groupby("item_id")["s"].mean()
    y = pd.Series(gold[:30]).map(score).to_numpy()
    expected = ppi_mean(y, f.iloc[:30].to_numpy(), f.iloc[30:].to_numpy(), 0.95, tuned=True)
    assert row["n_labelled"] == 30 and row["n_unlabelled"] == 90
    assert row["ppi_tuned"]["estimate"] == pytest.approx(expected.estimate) and row["ppi_tuned"]["upper"] == pytest.approx(expected.upper)
    assert row["naive"]["estimate"] == pytest.approx(f.mean())
    budget = win_rates(frame.assign(gold=np.repeat(gold, 2)), SPEC, 20)[0]
    assert budget["n_labelled"] == 20 and budget["all_labels"]["estimate"] == pytest.approx(pd.Series(gold).map(score).mean())
