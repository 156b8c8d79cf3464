"""The MCQ instrument on the embedded model: probabilities, canonical mapping, generate parsing, the report.

Kept small (3 items, 2 rotation-sharing orders, both elicitations); one run per module.
"""

from __future__ import annotations

import asyncio
import html
import math
import re
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import parse_spec
from forkingpaths.design import Condition
from forkingpaths.instruments.base import StageResult, TrialContext
from forkingpaths.instruments.mcq.instrument import MCQInstrument
from forkingpaths.instruments.mcq.loaders import load_mcq_items
from forkingpaths.models.llamacpp import LlamaCppBackend, embedded_model_path
from forkingpaths.report.html import write_report
from forkingpaths.report.source import resolve
from forkingpaths.spec import DataSpec
from tests.report.test_report_run import NUMBER, SPAN, _matches, _numbers, _section

pytestmark = pytest.mark.model

SECTIONS = ("overview", "findings", "accuracy", "consistency", "prompts", "comparisons", "answer-bias", "items", "validity")


def _spec(out: Path) -> forkingpaths.Spec:
    return parse_spec(
        {
            "name": "mcq-embedded",
            "instrument": "mcq",
            "data": {"loader": "builtin", "limit": 3},
            "models": ["llamacpp"],
            "factors": {"option_order": ["original", "circular"], "elicitation": ["letter", "generate"], "question": ["full", "choices_only"]},
            "output_dir": str(out / "runs"),
            "analysis": {"n_resamples": 100},
            "validity": {"phenomenon": "Picking true answers over misconceptions."},
        }
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    out = tmp_path_factory.mktemp("mcq")
    return forkingpaths.run(_spec(out), forkingpaths.RunOptions(cache_dir=out / "cache"))


def test_letter_probabilities_sum_to_one_over_the_options_with_the_valid_mass_kept(run: forkingpaths.Run) -> None:
    letter = run.trials[run.trials["elicitation"] == "letter"]
    assert len(letter) == 3 * 5 * 2 and letter["error"].isna().all()
    for row in letter.itertuples():
        assert math.isclose(sum(row.probs), 1.0, abs_tol=1e-6) and 0 < row.valid_mass <= 1
        assert row.chosen == max(range(4), key=lambda i: row.probs[i]) and row.correct == (row.chosen == row.gold)
        assert row.gold_prob == row.probs[row.gold] and row.permutation[row.gold_position] == row.gold


def test_every_elicitation_maps_answers_back_to_canonical_options(run: forkingpaths.Run) -> None:
    generate = run.trials[run.trials["elicitation"] == "generate"]
    assert generate["probs"].isna().all()
    parsed = generate[generate["parsed"]]
    for row in parsed.itertuples():
        assert row.permutation[row.chosen_position] == row.chosen and row.correct == (row.chosen == row.gold)
    assert run.analyses["models"]["llamacpp"]["unparsed"] == int((~generate["parsed"]).sum())
    # one letter trial by hand: the label the model put most mass on, mapped through the permutation
    item = load_mcq_items(DataSpec(loader="builtin", limit=1), Path.cwd())[0]
    trials = run.trials
    row = trials[(trials["item_id"] == item.item_id) & (trials["option_order"] == "rotate-2") & (trials["elicitation"] == "letter") & (trials["question"] == "full")].iloc[0]
    condition = Condition((("option_order", "rotate-2"), ("elicitation", "letter"), ("question", "full")))
    context = TrialContext(item, condition, 0, "llamacpp", _spec(Path("unused")), LlamaCppBackend.capabilities)
    instrument = MCQInstrument({})
    request = instrument.render(context)
    response = asyncio.run(LlamaCppBackend(embedded_model_path()).complete(request))
    top = max(response.label_probs, key=response.label_probs.get)
    view = instrument.display(item, context.levels)
    assert view.perm == [2, 3, 0, 1] and row["chosen"] == view.perm[view.labels.index(top)]
    assert instrument.parse(context, [StageResult(0, "evaluated", "llamacpp", request, response)]).probs == pytest.approx(list(row["probs"]))


def test_the_report_has_every_section_and_every_traced_number_matches_the_run(run: forkingpaths.Run) -> None:
    page = write_report(run.directory).read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    document = run.document()
    spans = SPAN.findall(page)
    assert len(spans) > 30
    for path, shown in spans:
        value = resolve(document, html.unescape(path))
        value = len(value) if isinstance(value, (list, dict)) else value
        assert shown == "n/a" if value is None else _matches(shown, [float(value)]), (path, shown, value)
    for name in SECTIONS[2:-2]:  # the instrument's own sections: no number outside a traced span in a table cell
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", _section(page, name), flags=re.S):
            bare = re.sub(r"<span class=\"num\"[^>]*>[^<]*</span>", "", cell)
            assert not re.fullmatch(r"\s*-?\d+(\.\d+)?%?\s*", re.sub(r"<[^>]+>", "", bare)), cell
    everything = _numbers(document)
    for fact in re.findall(r"<li>([^<]*)</li>", _section(page, "validity")):
        for token in NUMBER.findall(html.unescape(fact)):
            assert _matches(token, everything), (token, fact)
    findings = {f.topic for f in run.findings}
    assert {"accuracy", "option order", "choices only", "position bias"} <= findings


def test_cloze_on_the_embedded_model_scores_option_texts_and_maps_them_back(tmp_path: Path) -> None:
    spec = parse_spec(
        {
            "name": "mcq-cloze", "instrument": "mcq", "data": {"loader": "builtin", "limit": 2}, "models": ["llamacpp"],
            "factors": {"option_order": ["original", "reversed"], "elicitation": ["cloze"]},
            "output_dir": str(tmp_path / "runs"), "analysis": {"n_resamples": 50},
        }
    )
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert run.trials["error"].isna().all() and len(run.trials) == 4
    for row in run.trials.itertuples():
        assert math.isclose(sum(row.probs), 1.0, abs_tol=1e-6) and row.valid_mass > 0
        assert row.chosen == max(range(4), key=lambda i: row.probs[i]) and row.correct_norm == (row.chosen_norm == row.gold)
    # the same item in both orders: the option texts are scored in context, so the canonical distributions are close but not equal
    first = run.trials[run.trials["item_id"] == run.trials["item_id"].iloc[0]]
    assert len(first) == 2 and first["probs"].map(len).eq(4).all()
    assert run.analyses["models"]["llamacpp"]["cloze_norm"]["method"] == "korn-graubard(item)"
