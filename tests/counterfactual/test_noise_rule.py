"""The bias-beyond-noise rule for ranking selection gaps and BBQ bias scores recovers a planted effect and
flags nothing when none is planted.

Synthetic trials tables (the only fake here: they plant a known effect the analysis must recover):
rankings whose top candidate is drawn from known group weights and a position effect, shown under
control ``none`` and ``candidate-order``; BBQ answers drawn from known answer probabilities per
category, under ``none`` and ``typo``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forkingpaths.instruments.bias.analysis import analyse_frame, findings_of
from forkingpaths.instruments.bias.items import BiasItem

GROUPS = ("A", "B", "C", "D")


def _rankings(weight_d: float, n: int = 60) -> tuple[pd.DataFrame, list[BiasItem]]:
    """n rankings of the 4 groups in a seeded order; P(candidate chosen) ∝ group weight × position weight."""
    rng = np.random.default_rng(21)
    position_weight = np.array([1.6, 1.0, 1.0, 0.8])
    rows, items = [], []
    for r in range(n):
        order = list(rng.permutation(GROUPS))
        item_id = f"rank-{r}"
        items.append(BiasItem(item_id=item_id, task="ranking", template_id=item_id, text="job", candidate_groups=tuple(GROUPS)))
        for control, shown in (("none", order), ("candidate-order", order[::-1])):
            weights = np.array([weight_d if g == "D" else 1.0 for g in shown]) * position_weight
            position = int(rng.choice(4, p=weights / weights.sum()))
            rows.append({"model": "m", "task": "ranking", "item_id": item_id, "template_id": item_id, "repeat": 0, "format_key": "",
                         "control": control, "control_applied": control != "none", "candidate_groups": shown,
                         "selected_position": position, "chosen": GROUPS.index(shown[position]), "draw": "0"})
    return pd.DataFrame(rows), items


def test_a_planted_selection_effect_is_beyond_the_candidate_order_noise() -> None:
    frame, items = _rankings(weight_d=8.0)
    ranking = analyse_frame(frame, items, 0.95, 999, 0)["m"]["ranking"]
    verdicts = {(g["a"], g["b"]): g["verdict"] for g in ranking["gaps"]}
    assert {pair for pair, v in verdicts.items() if v == "beyond noise"} == {("A", "D"), ("B", "D"), ("C", "D")}
    assert len(ranking["control_shifts"]) == 4 and {s["control"] for s in ranking["control_shifts"]} == {"candidate-order"}
    rates = {r["group"]: r["rate"] for r in ranking["selection"]}
    a_d = next(g for g in ranking["gaps"] if (g["a"], g["b"]) == ("A", "D"))
    assert a_d["estimate"] == pytest.approx(rates["A"] - rates["D"])  # every ranking shows every group
    [finding] = [f for f in findings_of({"m": {"ranking": ranking}}, 0.95) if f.topic == "ranking gaps"]
    assert finding.verdict == "bias beyond noise" and finding.claim.startswith("3 of 6 selection-rate gaps")


def test_no_planted_selection_effect_gives_no_gap_beyond_noise() -> None:
    frame, items = _rankings(weight_d=1.0)
    ranking = analyse_frame(frame, items, 0.95, 999, 0)["m"]["ranking"]
    assert all(g["verdict"] == "within noise" for g in ranking["gaps"])
    [finding] = [f for f in findings_of({"m": {"ranking": ranking}}, 0.95) if f.topic == "ranking gaps"]
    assert finding.verdict == "within noise"


def test_few_rankings_give_no_verdict_and_no_controls_say_so() -> None:
    frame, items = _rankings(weight_d=8.0, n=10)
    ranking = analyse_frame(frame, items, 0.95, 199, 0)["m"]["ranking"]
    assert {g["verdict"] for g in ranking["gaps"]} == {"too few rankings"} and all(g["lower"] is None for g in ranking["gaps"])
    frame, items = _rankings(weight_d=8.0)
    alone = analyse_frame(frame[frame["control"] == "none"], items, 0.95, 199, 0)["m"]["ranking"]
    assert {g["verdict"] for g in alone["gaps"]} == {"no controls"}


#: (biased, counter-biased, unknown) answer probabilities in ambiguous contexts; disambiguated: mostly correct.
PLANTED = {"Age": (0.6, 0.1, 0.3), "Religion": (0.35, 0.35, 0.3)}


def _bbq(planted: dict[str, tuple[float, float, float]], templates: int = 8, repeats: int = 10) -> tuple[pd.DataFrame, list[BiasItem]]:
    """Per category ``templates`` templates × {ambig, disambig} × {neg, nonneg}; options (biased 0, other 1, unknown 2)."""
    rng = np.random.default_rng(5)
    rows, items = [], []
    for category, (p_biased, p_other, p_unknown) in planted.items():
        for t in range(templates):
            for context in ("ambig", "disambig"):
                for polarity in ("neg", "nonneg"):
                    gold = 2 if context == "ambig" else int(polarity == "nonneg")
                    item_id = f"bbq-{category}-{t}-{context}-{polarity}"
                    items.append(BiasItem(item_id=item_id, task="choice", template_id=f"bbq-{category}-{t}", text="c", options=("x", "y", "unknown"),
                                          gold=gold, unknown=2, biased=0, context_condition=context, polarity=polarity, category=category))
                    probs = (p_biased, p_other, p_unknown) if context == "ambig" else tuple(0.8 if k == gold else 0.1 for k in range(3))
                    for control in ("none", "typo"):
                        for repeat in range(repeats):
                            chosen = int(rng.choice(3, p=probs))
                            rows.append({"model": "m", "task": "choice", "item_id": item_id, "template_id": f"bbq-{category}-{t}", "repeat": repeat,
                                         "format_key": "", "control": control, "control_applied": control == "typo", "chosen": chosen,
                                         "correct": chosen == gold, "biased_answer": chosen == 0, "unknown_answer": chosen == 2, "draw": "0"})
    return pd.DataFrame(rows), items


def test_a_planted_bbq_bias_is_beyond_noise_and_an_unplanted_category_is_not() -> None:
    frame, items = _bbq(PLANTED)
    choice = analyse_frame(frame, items, 0.95, 199, 0)["m"]["choice"]["en"]
    rows = {(r["category"], r["context"]): r for r in choice["bbq"]}
    assert rows[("Age", "ambig")]["s_amb"]["lower"] > 0.2 and rows[("Age", "ambig")]["noise"]["verdict"] == "beyond noise"
    assert rows[("Religion", "ambig")]["noise"]["verdict"] == "within noise"
    [shift] = choice["control_shifts"]["ambig"]
    assert shift["control"] == "typo" and shift["lower"] < 0 < shift["upper"] and shift["n_templates"] == 16
    verdicts = {f.topic: f.verdict for f in findings_of({"m": {"choice": {"en": choice}}}, 0.95)}
    assert verdicts == {"BBQ Age (en)": "biased beyond noise", "BBQ Religion (en)": "within noise"}


def test_bbq_without_controls_keeps_the_sign_verdict() -> None:
    frame, items = _bbq(PLANTED)
    choice = analyse_frame(frame[frame["control"] == "none"], items, 0.95, 199, 0)["m"]["choice"]["en"]
    verdicts = {f.topic: f.verdict for f in findings_of({"m": {"choice": {"en": choice}}}, 0.95)}
    assert verdicts == {"BBQ Age (en)": "biased", "BBQ Religion (en)": "not distinguishable from 0"}


def test_run_wide_q_is_benjamini_hochberg_over_every_gap_of_every_task() -> None:
    from tests.counterfactual.test_analysis import _frame

    ratings, rating_items = _frame(0.15)
    rankings, ranking_items = _rankings(weight_d=8.0)
    results = analyse_frame(pd.concat([ratings, rankings], ignore_index=True), rating_items + ranking_items, 0.95, 499, 0)["m"]
    gaps = [*results["rating"]["name"]["gaps"], *results["ranking"]["gaps"]]
    p = np.array([g["p_value"] for g in gaps])
    order = np.argsort(p)
    by_hand = np.empty_like(p)
    by_hand[order] = np.minimum(1, np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1])
    assert [g["q_run"] for g in gaps] == pytest.approx(list(by_hand)) and len(gaps) == 12
