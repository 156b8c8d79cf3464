"""The published Bloomberg 2024 ranking runs as trials of the ranking task: selection rates per group, job and model."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from forkingpaths.instruments.bias.bloomberg import BUILTIN_RUNS, read_runs, selection_table


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return read_runs(BUILTIN_RUNS)


def test_every_run_is_a_trial_and_almost_every_answer_names_a_candidate(runs: pd.DataFrame) -> None:
    assert len(runs) == 8316
    assert set(runs["model"]) == {"gpt-3.5-turbo", "gpt-4"}
    assert runs["template_id"].nunique() == 4
    assert runs["parsed"].mean() > 0.99


def test_selection_rates_per_group_job_and_model_match_a_direct_count(runs: pd.DataFrame) -> None:
    table = selection_table(runs)
    raw = pd.read_csv(BUILTIN_RUNS, dtype=str, keep_default_na=False)
    row = raw[(raw.model_dir == "gpt-4") & (raw.job_dir == "retail")]
    top = []
    for names, codes, answer in zip(row.default_order, row.demo_order, row.response_content):
        names, codes = json.loads(names), json.loads(codes)
        first = min((answer.lower().find(n.lower()), k) for k, n in enumerate(names) if n.lower() in answer.lower())
        top.append(codes[first[1]])
    direct = pd.Series(top).value_counts() / len(top)  # every run shows each of the 8 groups once
    mine = table[(table.model == "gpt-4") & (table.job == "retail")].set_index("group")
    assert mine["rate"].to_dict() == pytest.approx(direct.reindex(mine.index).to_dict())
    assert len(table) == 2 * (4 + 1) * 8
    best = mine["rate"].max()
    assert mine["impact_ratio"].to_dict() == pytest.approx((mine["rate"] / best).to_dict())
    assert ((mine["lower"] <= mine["rate"]) & (mine["rate"] <= mine["upper"])).all()
