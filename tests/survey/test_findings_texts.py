"""What the survey's findings tell a user: counts that add up, no hidden parse decisions,
low valid-label mass in the headline, models compared on the cells both have (issue 9, items 12–15)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forkingpaths.instruments.survey.analysis import analyse_survey
from forkingpaths.spec import parse_spec
from tests.survey.test_analysis import _items, _trials

SPEC = parse_spec({"name": "x", "instrument": "survey", "data": {"loader": "builtin"}})


def _findings(trials, items) -> dict[str, dict]:
    results, _ = analyse_survey(trials, items, SPEC)
    return results, {f["topic"]: f for f in results["findings"]}


def test_conflicting_and_echoed_samples_are_counted_in_a_finding() -> None:
    """Item 15: an answer not scored for a parse reason is reported, not silently dropped."""
    items = _items(3)
    rows = [(c, "none", k, None, "x", None) for c in ("c1", "c2") for k in range(3) for _ in range(3)]
    trials = _trials(items, rows)
    trials["parse_note"] = None
    trials.loc[[0, 1], ["answer", "parse_note"]] = [None, "label-text conflict"]
    trials.loc[2, ["answer", "parse_note"]] = [None, "echoed options"]
    results, topics = _findings(trials, items)
    assert results["models"]["m"]["elicitation"]["parse_notes"] == {"echoed options": 1, "label-text conflict": 2}
    finding = topics["answer parsing"]
    assert finding["verdict"] == "answers not scored"
    assert finding["text"].startswith("3 sampled answers named an option but were not scored: 2 gave one option's label")
    assert "1 repeated the option list" in finding["text"]


def test_low_valid_label_mass_is_a_headline_finding() -> None:
    """Item 13: a 23% valid-label mass used to be only in the validity card."""
    items = _items(3)
    rows = [(c, "none", k, [0.2, 0.3, 0.5], "x", None) for c in ("c1", "c2") for k in range(3)]
    trials = _trials(items, rows)
    trials["valid_mass"] = [0.23, 0.3, 0.2, 0.25, 0.15, 0.25]
    _, topics = _findings(trials, items)
    finding = topics["valid-label mass"]
    assert finding["verdict"] == "low valid-label mass"
    assert finding["text"].startswith("On average 23% of the next-token probability fell on the valid answer labels (lowest 15%)")
    assert "below 50% (a convention)" in finding["rule"]
    trials["valid_mass"] = 0.5
    assert "valid-label mass" not in _findings(trials, items)[1]


def test_comparison_text_names_each_models_groups_without_zero_counts() -> None:
    """Item 14: "closer than … to 0 of 3 groups and further from 0"."""
    from forkingpaths.instruments.survey.analysis import _comparison_text

    rows = [
        {"group": "DK", "estimate": -0.1, "significant": True},
        {"group": "US", "estimate": -0.2, "significant": True},
        {"group": "BR", "estimate": 0.05, "significant": False},
    ]
    text = _comparison_text({"a": "m1", "b": "m2", "by_group": rows, "closer_a": 0, "closer_b": 2}, {"DK": "Denmark"})
    assert text == "m2 is closer than m1 to 2 of 3 groups (Denmark, US); no reliable difference for the other 1"
    assert "0 of" not in text


def test_a_one_condition_specification_curve_is_not_assessed() -> None:
    """Item 14: it said "not robust" beside a "not assessed" stability verdict."""
    items = _items(6)
    rng = np.random.default_rng(3)
    rows = [("c1", "none", k, list(rng.dirichlet(np.ones(3))), "x", None) for k in range(6)]
    _, topics = _findings(_trials(items, rows), items)
    assert topics["closest group"]["verdict"] == "not assessed"
    assert topics["specification curve"]["verdict"] == "not assessed"


def test_unscored_causes_add_up_to_the_unscored_total() -> None:
    """Item 14: "3 of 6 distributions could not be scored: 1 missing …, 4 trials with errors, …" mixed units."""
    items = _items(3)
    rows = [("c1", "none", 0, [0.5, np.nan, 0.5], None, None)]  # incomplete
    rows += [("c1", "none", 1, None, None, "boom"), ("c1", "none", 1, None, None, "boom")]  # every trial failed
    rows += [("c1", "none", 2, None, None, None), ("c1", "none", 2, None, None, "boom")]  # unreadable sample + 1 failure
    rows += [("c2", "none", k, [0.2, 0.3, 0.5], "x", None) for k in range(3)]
    results, topics = _findings(_trials(items, rows), items)
    elicitation = results["models"]["m"]["elicitation"]
    assert elicitation["unscored_by_cause"] == {"incomplete": 1, "failed": 1, "unreadable": 1}
    assert sum(elicitation["unscored_by_cause"].values()) == elicitation["unscored"] == 3
    assert topics["readable answers"]["text"] == (
        "3 of 6 (condition, item) answer distributions could not be scored: 1 had an option missing from the "
        "backend's top-k, 1 had every trial fail and 1 had no readable sampled answer (over all distributions: "
        "failed trials 3, unreadable sampled answers 1)"
    )


def test_models_are_compared_on_shared_cells_and_the_difference_is_shown() -> None:
    """Item 12: one model under two references showed different pooled means because one HTTP
    cell went unscored, and nothing said so."""
    items = _items(6)
    rng = np.random.default_rng(4)
    rows = [(c, "none", k, list(rng.dirichlet(np.ones(3))), "x", None) for c in ("c1", "c2") for k in range(6)]
    one = _trials(items, rows)
    other = one.copy()
    other.at[0, "option_probs"] = [0.5, np.nan, 0.5]  # an option outside the top-k: unscored
    trials = pd.concat([one.assign(model="local"), other.assign(model="http")], ignore_index=True)
    results, topics = _findings(trials, items)
    (comparison,) = results["comparisons"]
    assert comparison["cells"] == {"both": 11, "only_a": 1, "only_b": 0}
    assert all(row["estimate"] == 0 for row in comparison["by_group"])  # same answers on the shared cells
    text = topics["model comparison"]["text"]
    assert "over the 11 (condition, item) cells both models scored; 1 scored for local only and 0 for http only" in text
