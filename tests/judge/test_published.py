"""LLMBar's published verdicts, read as judge trials, reproduce LLMBar's own statistics.json.

The shipped subset (instruments/judge/data/llmbar_verdicts: GPT-4 and PaLM2 on Natural,
GPT-4 and LLaMA2 on Adversarial/GPTOut) covers files without unread verdicts, with unread
verdicts in both orders of a pair, and in one order only. The κ figures LLMBar computed
from miscoded verdicts are reproduced independently with statsmodels from that coding,
which shows why a correct κ differs from them. With the shared data present, every
published file is checked the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forkingpaths.errors import DataError
from forkingpaths.instruments.judge.analysis import analyse
from forkingpaths.instruments.judge.published import BUILTIN_VERDICTS, read_statistics, read_verdicts, recompute_statistics, result_files
from forkingpaths.spec import parse_spec

inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")

SHARED = Path("/work/shared/data/llmbar/Dataset")
SHIPPED = result_files()


def _winners(path: Path, order: str) -> list[str | None]:
    return [r["results"][-1][f"swap = {order}"]["winner"] for r in json.loads(path.read_text(encoding="utf-8"))]


def _llmbar_kappa(a: list[int], b: list[int]) -> float:
    """Cohen's κ of two code lists by statsmodels, over the union of their codes (sklearn's cohen_kappa_score does the same)."""
    codes = sorted(set(a) | set(b))
    table, _ = inter_rater.to_table(np.column_stack([a, b]), bins=np.array([*codes, codes[-1] + 1]) - 0.5)
    return float(inter_rater.cohens_kappa(table).kappa)


def _check(path: Path) -> None:
    published = read_statistics(path.parent / "statistics.json")
    ours = recompute_statistics(read_verdicts(path), n_resamples=50)
    for field in ("correct_False", "correct_True", "correct_both"):
        assert ours[field] == published[field], field
    assert ours["equal"]["count"] + ours["both_unparsable"] == published["equal"]["count"]
    n = ours["n"]
    assert published["correct_average"]["percent"] == pytest.approx((ours["correct_False"]["count"] + ours["correct_True"]["count"]) / 2 / n * 100)
    # LLMBar's κ coding: verdict "1" → 1, "2" and unread → 0; the label stays 1 / 2.
    coded = {o: [1 if w == "1" else 0 for w in _winners(path, o)] for o in ("False", "True")}
    labels = [r["label"] for r in json.loads(path.read_text(encoding="utf-8"))]
    for order in ("False", "True"):
        assert _llmbar_kappa(coded[order], labels) == pytest.approx(published[f"kappa_{order}"], abs=1e-12)
    assert _llmbar_kappa(coded["False"], coded["True"]) == pytest.approx(published["kappa_agreement"], abs=1e-12)
    if ours["unparsable_False"] == ours["unparsable_True"] == 0:
        assert ours["equal"] == published["equal"]
        assert ours["kappa_agreement"] == pytest.approx(published["kappa_agreement"], abs=1e-12)
    else:
        assert ours["kappa_agreement"] != pytest.approx(published["kappa_agreement"], abs=1e-6)


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.parent.relative_to(BUILTIN_VERDICTS)) for p in SHIPPED])
def test_shipped_verdicts_reproduce_the_published_statistics(path: Path) -> None:
    _check(path)


def test_the_shipped_subset_is_the_four_files_with_every_unread_case() -> None:
    assert len(SHIPPED) == 4
    unread = {str(p.parent.relative_to(BUILTIN_VERDICTS)): recompute_statistics(read_verdicts(p), n_resamples=50) for p in SHIPPED}
    palm = unread["LLMBar/Natural/evaluators/PaLM2/Vanilla"]
    assert (palm["unparsable_False"], palm["unparsable_True"], palm["both_unparsable"]) == (2, 2, 2)
    llama = unread["LLMBar/Adversarial/GPTOut/evaluators/LLaMA2/Vanilla"]
    assert (llama["unparsable_False"], llama["unparsable_True"], llama["both_unparsable"]) == (0, 1, 0)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLMBar data not present")
def test_every_published_file_reproduces_its_statistics() -> None:
    paths = result_files(SHARED)
    assert len(paths) == 34
    for path in paths:
        _check(path)


def test_the_trials_run_through_the_whole_audit() -> None:
    published = read_verdicts(BUILTIN_VERDICTS / "LLMBar/Natural/evaluators/PaLM2/Vanilla")
    trials = published.trials
    assert len(trials) == 200 and set(trials["position"]) == {"original", "swapped"}
    assert published.items[0].item_id == "natural-1" and trials["judge_template"].iloc[0] == "Vanilla"
    spec = parse_spec({"name": "p", "instrument": "judge", "data": {"loader": "builtin"}, "models": ["PaLM2"],
                       "analysis": {"n_resamples": 50}}, "test")
    result = analyse(trials, published.items, spec).analyses
    cell = next(c for c in result["accuracy"] if c["position"] == "original")
    assert cell["estimate"] == pytest.approx(78 / 98) and cell["unparsable"] == 2  # unread verdicts are left out, not wrong
    pos = result["position"][0]
    first = (trials["shown_verdict"] == "A").sum()
    assert pos["first_preference"]["estimate"] == pytest.approx(first / trials["parsed"].sum())
    assert result["parsing"]["unparsable"] == 4


def _write(tmp_path: Path, record: dict) -> Path:
    folder = tmp_path / "Natural" / "evaluators" / "J" / "Vanilla"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps([record]), encoding="utf-8")
    return folder / "result.json"


BASE = {"input": "Say hi.", "output_1": "hi", "output_2": "bye", "label": 1}


def test_malformed_verdicts_are_one_line_errors(tmp_path: Path) -> None:
    bad = _write(tmp_path, {**BASE, "results": [{"swap = False": {"winner": "3"}, "swap = True": {"winner": "1"}}]})
    with pytest.raises(DataError, match=r"result\.json item 1 'swap = False': winner '3' is not one of 1, 2, null"):
        read_verdicts(bad)
    missing = _write(tmp_path / "b", {**BASE, "results": [{"swap = False": {"winner": "1"}}]})
    with pytest.raises(DataError, match=r"item 1: results\[-1\] has no 'swap = True' object"):
        read_verdicts(missing)
    text = _write(tmp_path / "c", {**BASE, "results": "[{'swap = False': {}}]"})
    with pytest.raises(DataError, match="results is not a non-empty JSON list"):
        read_verdicts(text)
    with pytest.raises(DataError, match="file not found"):
        read_verdicts(tmp_path / "nowhere" / "result.json")


def test_category_and_judge_come_from_the_folders(tmp_path: Path) -> None:
    path = _write(tmp_path, {**BASE, "results": [{"swap = False": {"winner": "1", "completion": ["Output (a)", "stop"]},
                                                   "swap = True": {"winner": "1"}}]})
    published = read_verdicts(path.parent)
    row = published.trials.iloc[1]
    assert (published.judge, published.strategy, published.items[0].category) == ("J", "Vanilla", "natural")
    assert (row["position"], row["verdict"], row["shown_verdict"], row["correct"]) == ("swapped", "A", "B", True)
    assert published.trials.iloc[0]["response_text"] == "Output (a)"
