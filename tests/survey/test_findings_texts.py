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
