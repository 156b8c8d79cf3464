"""MCQ analyses against independent computations: coverage by simulation, CAT, McNemar, chance tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar

import forkingpaths
from forkingpaths import parse_spec, registry, stats
from forkingpaths.errors import SpecError
from forkingpaths.instruments.mcq.analysis import (
    accuracy_intervals,
    analyse_mcq,
    chance_test,
    correctness_matrix,
    poisson_binomial_sf,
)
from forkingpaths.instruments.mcq.factors import option_permutation
from forkingpaths.instruments.mcq.items import MCQItem

from tests.contract import scripted


def _simulated_coverage(n_items: int, a: float, b: float, conditions: int, sims: int, rng: np.random.Generator) -> float:
    """Share of intervals covering E[p] when item accuracies p_i ~ Beta(a, b), ``conditions`` trials per item."""
    hits = 0
    for _ in range(sims):
        p = rng.beta(a, b, n_items)
        correct = rng.random((n_items, conditions)) < p[:, None]
        frame = pd.DataFrame({"item_id": np.repeat(np.arange(n_items), conditions).astype(str), "correct": correct.ravel()})
        interval = accuracy_intervals(frame, 0.95)[0]
        hits += interval["lower"] <= a / (a + b) <= interval["upper"]
    return hits / sims


@pytest.mark.parametrize("n_items", [10, 30])
@pytest.mark.parametrize(
    ("a", "b", "conditions"),
    [(2.0, 2.0, 4), (0.95, 0.05, 16), (38.0, 2.0, 16)],
)
def test_pooled_accuracy_interval_holds_its_level_at_10_and_30_items(n_items: int, a: float, b: float, conditions: int) -> None:
    """Seeded and bounded: 500 simulated benchmarks each; the Monte Carlo SE of a 0.95 coverage is 0.010.

    Near the ceiling (mean 0.9 and 0.95; U-shaped Beta(0.95, 0.05): most items always right,
    a few always wrong) the Wilson interval on the estimated effective sample size covered
    0.86-0.89 and the cluster-t interval 0.898, which is why accuracy uses the Korn-Graubard
    interval with the minority-item rule (it is conservative at 10 items, up to 0.999).
    """
    coverage = _simulated_coverage(n_items, a, b, conditions, 500, np.random.default_rng(20261201 + n_items))
    assert coverage >= 0.93, coverage


def _trials(n_items: int = 12, models: tuple[str, ...] = ("a", "b"), seed: int = 0) -> tuple[pd.DataFrame, list[MCQItem], object]:
    """A synthetic trials table: 2 models × 4 rotations × 2 templates, correctness drawn per item."""
    rng = np.random.default_rng(seed)
    items = [MCQItem(f"q{i}", f"Q{i}?", ("w", "x", "y", "z"), 0) for i in range(n_items)]
    rows = []
    for model, item, order, template in itertools.product(models, items, [f"rotate-{r}" for r in range(4)], ["plain", "exam"]):
        perm = option_permutation(order, 4, item.item_id, 0)
        correct = bool(rng.random() < (0.7 if model == "a" else 0.4))
        position = perm.index(0) if correct else (perm.index(0) + 1) % 4
        rows.append(
            {
                "model": model, "item_id": item.item_id, "repeat": 0, "condition_id": f"{order}|{template}", "error": None,
                "option_order": order, "template": template, "correct": correct, "parsed": True, "chosen": perm[position],
                "n_options": 4, "valid_mass": 0.9, "permutation": perm, "chosen_position": position, "gold_position": perm.index(0),
            }
        )
    spec = parse_spec(
        {"name": "s", "instrument": "mcq", "data": {"loader": "builtin"}, "models": list(models),
         "factors": {"option_order": ["circular"], "template": ["plain", "exam"]}, "analysis": {"n_resamples": 200}}
    )
    return pd.DataFrame(rows), items, spec


def test_mcnemar_per_condition_matches_statsmodels_and_holm_is_applied() -> None:
    trials, items, spec = _trials()
    result = analyse_mcq(trials, items, spec).analyses
    pair = result["comparisons"][0]
    for entry in pair["conditions"]:
        rows = trials[trials["condition_id"] == entry["condition_id"]].pivot(index="item_id", columns="model", values="correct")
        table = pd.crosstab(rows["a"], rows["b"]).reindex(index=[True, False], columns=[True, False], fill_value=0).to_numpy()
        assert entry["pvalue"] == pytest.approx(mcnemar(table, exact=True).pvalue)
        assert entry["b10"] == table[0, 1] and entry["b01"] == table[1, 0]
    raw = [c["pvalue"] for c in pair["conditions"]]
    assert [c["p_holm"] for c in pair["conditions"]] == pytest.approx(list(stats.holm(raw)))


def test_pooled_paired_difference_matches_statsmodels_cluster_ols() -> None:
    import statsmodels.api as sm

    trials, items, spec = _trials()
    pooled = analyse_mcq(trials, items, spec).analyses["comparisons"][0]["pooled"]
    wide = trials.pivot_table(index=["item_id", "condition_id"], columns="model", values="correct").reset_index()
    d = (wide["a"] - wide["b"]).to_numpy(dtype=float)
    fit = sm.OLS(d, np.ones_like(d)).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(wide["item_id"])[0]}, use_t=True)
    lower, upper = fit.conf_int(0.05)[0]
    assert (pooled["estimate"], pooled["lower"], pooled["upper"]) == pytest.approx((d.mean(), lower, upper))
    assert pooled["pvalue"] == pytest.approx(fit.pvalues[0])


def test_cat_metrics_of_the_analysis_equal_cat_metrics_on_the_same_matrix() -> None:
    trials, items, spec = _trials()
    result = analyse_mcq(trials, items, spec).analyses
    for model in ("a", "b"):
        for entry in result["models"][model]["cat"]:
            part = trials[(trials["model"] == model) & (trials["template"] == entry["levels"]["template"])]
            matrix = part.pivot(index="item_id", columns="option_order", values="correct").astype(int)
            expected = stats.cat_metrics(matrix.to_numpy())
            assert entry["car"] == pytest.approx(expected["car"]) and entry["core"] == pytest.approx(expected["core"])
            assert entry["aucar"] == pytest.approx(expected["aucar"]) and entry["normdtw"] == pytest.approx(expected["normdtw"])


def test_circular_eval_counts_an_item_only_when_every_rotation_is_right() -> None:
    trials, items, spec = _trials()
    result = analyse_mcq(trials, items, spec).analyses
    for entry in result["models"]["a"]["circular"]:
        part = trials[(trials["model"] == "a") & (trials["template"] == entry["levels"]["template"])]
        expected = part.groupby("item_id")["correct"].all().mean()
        assert entry["circular"]["estimate"] == pytest.approx(expected) and entry["circular"]["method"] == "wilson"
        assert entry["plain_accuracy"] == pytest.approx(part["correct"].mean())


def test_multi_prompt_point_values_equal_the_stats_function() -> None:
    trials, items, spec = _trials()
    entry = analyse_mcq(trials, items, spec).analyses["models"]["a"]["multi_prompt"]
    part = trials[trials["model"] == "a"]
    expected = stats.multi_prompt(part.groupby("template")["correct"].mean().to_numpy())
    for key in ("maxp", "avgp", "cps", "spread"):
        assert entry[key]["estimate"] == pytest.approx(expected[key])
        assert entry[key]["lower"] <= entry[key]["estimate"] + 1e-12 and entry[key]["method"] == "cluster-bootstrap(item)"


def test_chance_test_is_scipys_exact_binomial_and_the_poisson_binomial_is_exact() -> None:
    correct = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1], dtype=float)
    entry = chance_test(correct, np.full(10, 4), 0.95)
    reference = sps.binomtest(7, 10, 0.25, alternative="greater")
    ci = sps.binomtest(7, 10).proportion_ci(0.95, method="exact")
    assert entry["pvalue"] == pytest.approx(reference.pvalue) and (entry["lower"], entry["upper"]) == pytest.approx((ci.low, ci.high))
    p = np.array([0.5, 0.25, 1 / 3, 0.2])
    brute = sum(np.prod([pi if o else 1 - pi for pi, o in zip(p, outcome)]) for outcome in itertools.product([0, 1], repeat=4) if sum(outcome) >= 2)
    assert poisson_binomial_sf(2, p) == pytest.approx(brute)
    mixed = chance_test(np.array([1.0, 1.0, 0.0, 1.0]), np.array([2, 4, 3, 5]), 0.95)
    assert mixed["pvalue"] == pytest.approx(poisson_binomial_sf(3, 1 / np.array([2, 4, 3, 5]))) and "Poisson" in mixed["test"]


def test_position_bias_is_found_when_a_model_always_picks_the_first_position() -> None:
    trials, items, spec = _trials(models=("a",))
    trials["chosen_position"] = 0
    trials["correct"] = trials["gold_position"] == 0
    findings = analyse_mcq(trials, items, spec).findings
    bias = next(f for f in findings if f.topic == "position bias")
    assert bias.verdict == "position bias" and bias.tone == "caution"
    assert bias.claim == "position 1 is chosen in 1.000 of answers and holds the gold answer in 0.250"


@pytest.fixture
def scripted_backend() -> Iterator[None]:
    registry.register_backend("scripted", scripted.FAMILY, "scripted answers for tests", replace=True)
    yield
    registry.backends.unregister("scripted")


def test_cat_from_a_real_run_equals_cat_metrics_on_its_correctness_matrix(scripted_backend: None, tmp_path: Path) -> None:
    spec = parse_spec(
        {"name": "cat", "instrument": "mcq", "data": {"loader": "builtin", "limit": 8}, "models": ["scripted"],
         "factors": {"option_order": ["original", "reversed", "circular"]}, "output_dir": str(tmp_path), "analysis": {"n_resamples": 50}}
    )
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    entry = run.analyses["models"]["scripted"]["cat"][0]
    assert entry["variants"] == ["original", "reversed", "rotate-1", "rotate-2", "rotate-3"]  # rotate-0 is the original order
    matrix = run.trials.pivot(index="item_id", columns="option_order", values="correct")[entry["variants"]].astype(int)
    assert entry["car"] == pytest.approx(stats.cat_metrics(matrix.to_numpy())["car"])
    assert correctness_matrix(run.trials).shape == (8, 5)
    pooled = run.analyses["models"]["scripted"]["pooled"]
    distinct = run.trials[run.trials["option_order"] != "rotate-0"]  # the same display as original, counted once
    assert pooled["n_trials"] == 8 * 5 and pooled["estimate"] == pytest.approx(distinct["correct"].mean())


def test_cloze_on_a_backend_without_loglikelihood_fails_before_any_call(scripted_backend: None, tmp_path: Path) -> None:
    scripted.CALLS.clear()
    spec = parse_spec(
        {"name": "cloze", "instrument": "mcq", "data": {"loader": "builtin", "limit": 2}, "models": ["scripted"],
         "factors": {"elicitation": ["cloze"]}, "output_dir": str(tmp_path)}
    )
    with pytest.raises(SpecError, match=r"^factors\.elicitation: scripted cannot score option texts \(cloze needs loglikelihood requests; ") as caught:
        forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert len(str(caught.value).splitlines()) == 1 and scripted.CALLS == []


def test_ranking_across_conditions_uses_kendall_w_and_rank_first_probability() -> None:
    trials, items, spec = _trials()
    result = analyse_mcq(trials, items, spec)
    ranking = result.analyses["ranking"]
    table = trials.pivot_table(index="condition_id", columns="model", values="correct", aggfunc="mean")[["a", "b"]]
    assert ranking["kendall_w"] == pytest.approx(stats.kendall_w(table.to_numpy()))
    assert sum(m["p_first"] for m in ranking["models"].values()) == pytest.approx(1.0)
    assert ranking["models"]["a"]["first_in"] == int((table["a"] >= table["b"]).sum())
    curve = result.analyses["comparisons"][0]["claim_curve"]
    assert sum(curve.values()) == len(result.analyses["comparisons"][0]["conditions"])
    assert any(f.topic == "ranking" for f in result.findings)


def test_a_two_model_report_traces_every_number_of_the_comparison_and_ranking(scripted_backend: None, tmp_path: Path) -> None:
    import html

    from forkingpaths.report.html import write_report
    from forkingpaths.report.source import resolve
    from tests.report.test_report_run import SPAN, _matches, _section

    spec = parse_spec(
        {"name": "two", "instrument": "mcq", "data": {"loader": "builtin", "limit": 6}, "models": ["scripted", "scripted:1000003"],
         "factors": {"option_order": ["original", "reversed"], "template": ["plain", "exam"], "question": ["full", "choices_only"]},
         "output_dir": str(tmp_path), "analysis": {"n_resamples": 50}}
    )
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    page = write_report(run.directory).read_text(encoding="utf-8")
    document = run.document()
    comparison = _section(page, "comparisons")
    assert "Ranking across conditions" in comparison and "is reversed in" in comparison
    for path, shown in SPAN.findall(page):
        value = resolve(document, html.unescape(path))
        value = len(value) if isinstance(value, (list, dict)) else value
        assert shown == "n/a" if value is None else _matches(shown, [float(value)]), (path, shown, value)
    assert {"model comparison", "ranking", "choices only", "prompt templates"} <= {f.topic for f in run.findings}
    _assert_charts_trace_their_numbers(page, document)


def _assert_charts_trace_their_numbers(page: str, document: dict) -> None:
    """Forest, CAR curves, bump chart, claim curve and variance bars are drawn, and every number a
    mark shows (tooltip and labels; lines naming factor levels aside) is in the record it points to."""
    import html
    import re

    from forkingpaths.report.source import resolve
    from tests.report.test_report_run import MARK, NUMBER, _matches, _numbers

    labels = {"Forest plot of accuracy", "Consistency-accuracy (CAR) curves", "Bump chart of model ranks", "Specification curve of the claim", "Variance shares of correctness over every model"}
    for label in labels:
        assert f'aria-label="{label}' in page, label
    marks = MARK.findall(page)
    assert len(marks) > 50
    models = sorted(document["analyses"]["design"]["models"], key=len, reverse=True)
    for path, body in marks:
        record = resolve(document, html.unescape(path))
        candidates = _numbers(record) + [float(k) for k in path.split("/")[1:] if k.isdigit()]
        lines = html.unescape(re.sub(r"<[^>]+>", "\n", body)).splitlines()
        for line in (text for text in lines if "=" not in text or "MCA(" in text):
            for model in models:  # model names may hold digits
                line = line.replace(model, "")
            for token in NUMBER.findall(line.replace("MCA(", "MCA ")):
                assert _matches(token, candidates), (path, token, line)


def test_calibration_brier_and_ece_against_direct_formulas() -> None:
    from forkingpaths.instruments.mcq.analysis import calibration

    rng = np.random.default_rng(3)
    rows = []
    for i in range(20):
        p = rng.dirichlet(np.ones(4))
        rows.append({"item_id": f"q{i}", "probs": list(p), "gold": i % 4, "correct": int(np.argmax(p)) == i % 4})
    frame = pd.DataFrame(rows)
    entry = calibration(frame, 0.95, 200, 0)
    probs = np.array(frame["probs"].tolist())
    brier = np.mean(((probs - np.eye(4)[frame["gold"]]) ** 2).sum(axis=1))
    conf, correct = probs.max(axis=1), frame["correct"].to_numpy(float)
    bins = np.minimum((conf * 10).astype(int), 9)
    ece = sum((bins == b).mean() * abs(correct[bins == b].mean() - conf[bins == b].mean()) for b in range(10) if (bins == b).any())
    assert entry["brier"]["estimate"] == pytest.approx(brier) and entry["ece"]["estimate"] == pytest.approx(ece)
    assert entry["ece"]["lower"] <= entry["ece"]["upper"] and sum(r["n"] for r in entry["reliability"]) == 20


def test_negative_flips_and_power_of_a_pair() -> None:
    trials, items, spec = _trials()
    pair = analyse_mcq(trials, items, spec).analyses["comparisons"][0]
    wide = trials.pivot_table(index=["item_id", "condition_id"], columns="model", values="correct").reset_index()
    a_right = wide[wide["a"] == 1]
    assert pair["negative_flips"]["count"] == int((a_right["b"] == 0).sum()) and pair["negative_flips"]["a_right"] == len(a_right)
    per_item = (wide["a"] - wide["b"]).groupby(wide["item_id"]).mean()
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    assert pair["power"]["min_detectable"] == pytest.approx(z * np.sqrt(per_item.var(ddof=1) / len(per_item)))


def test_variance_shares_come_from_stats_variance_components() -> None:
    trials, items, spec = _trials()
    rows = analyse_mcq(trials, items, spec).analyses["models"]["a"]["variance"]
    part = trials[trials["model"] == "a"].rename(columns={"item_id": "item"}).assign(score=lambda d: d["correct"].astype(float))
    expected = stats.variance_components(
        part, "score", ["item", "option_order", "template"], n_resamples=200, rng=0,
        interactions=[("item", "option_order"), ("item", "template")],
    )
    assert [r["component"] for r in rows] == list(expected["component"])
    assert [r["share"] for r in rows] == pytest.approx(list(expected["share"]))
