"""Rendering and parsing without a model: permutations, labels, nota, few-shot, the generate parse rule."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from forkingpaths import parse_spec
from forkingpaths.design import Condition
from forkingpaths.errors import SpecError
from forkingpaths.instruments.base import StageResult, TrialContext
from forkingpaths.instruments.mcq import factors as F
from forkingpaths.instruments.mcq.instrument import MCQInstrument, parse_answer
from forkingpaths.instruments.mcq.items import Example, MCQItem
from forkingpaths.models.base import Capabilities, Response
from forkingpaths.pipeline import prepare

ITEM = MCQItem("q1", "Which is the capital of France?", ("Paris", "Rome", "Oslo", "Bern"), 0, "geo", "en", dev=tuple(
    Example(f"Example {i}?", ("yes", "no"), i % 2) for i in range(6)
))
LETTERS = Capabilities(generate=True, choice_logprobs=True)
CLOZE = Capabilities(generate=True, choice_logprobs=True, loglikelihood=True)


def _context(levels: dict[str, str], spec=None, capabilities: Capabilities = LETTERS) -> TrialContext:
    spec = spec or parse_spec({"name": "t", "instrument": "mcq", "data": {"loader": "builtin"}})
    return TrialContext(ITEM, Condition(tuple(levels.items())), 0, "m", spec, capabilities)


def _answer(instrument: MCQInstrument, levels: dict[str, str], response: Response):
    context = _context(levels, capabilities=CLOZE)
    request = instrument.render(context)
    return request, instrument.parse(context, [StageResult(0, "evaluated", "m", request, response)])


@pytest.mark.parametrize("order", ["original", "reversed", "shuffle-1", "shuffle-2", "rotate-1", "rotate-3"])
@pytest.mark.parametrize("style", ["letters", "lower", "numbers"])
def test_letter_answers_map_back_to_canonical_options_under_every_order_and_label(order: str, style: str) -> None:
    instrument = MCQInstrument({}, seed=7)
    levels = {"option_order": order, "label_style": style}
    view = instrument.display(ITEM, levels)
    gold_label = view.labels[view.perm.index(0)]
    probs = {label: (0.7 if label == gold_label else 0.1) for label in view.labels}
    request, record = _answer(instrument, levels, Response(label_probs=probs, valid_mass=0.9))
    assert request.mode == "choice_logprobs" and list(request.labels) == view.labels
    assert f"{gold_label}. Paris" in request.messages[-1].content
    assert record.chosen == 0 and record.correct and record.gold_rank == 1 and record.gold_prob == pytest.approx(0.7)
    assert record.probs == pytest.approx([0.7, 0.1, 0.1, 0.1]) and record.valid_mass == 0.9
    assert record.gold_position == view.perm.index(0) == record.chosen_position


def test_generate_answers_map_back_to_canonical_options() -> None:
    instrument = MCQInstrument({"elicitation": "generate"})
    levels = {"option_order": "reversed", "label_style": "numbers"}
    request, record = _answer(instrument, levels, Response(text="4. Paris"))
    assert request.mode == "generate" and record.chosen == 0 and record.correct and record.probs is None
    _, unparsable = _answer(instrument, levels, Response(text="I am not sure."))
    assert unparsable.chosen is None and not unparsable.parsed and unparsable.correct is False


def test_circular_expands_to_k_rotations_with_the_gold_mapped() -> None:
    instrument = MCQInstrument({})
    factors = instrument.expand_factors({"option_order": ["original", "circular"]}, [ITEM])
    assert factors["option_order"] == ["original", "rotate-0", "rotate-1", "rotate-2", "rotate-3"]
    perms = [instrument.display(ITEM, {"option_order": level}).perm for level in factors["option_order"][1:]]
    assert len({tuple(p) for p in perms}) == 4
    assert [p.index(0) for p in perms] == [0, 3, 2, 1]  # the gold visits every position once
    for perm in perms:
        assert sorted(perm) == [0, 1, 2, 3]


def test_choices_only_removes_the_question_and_nota_adds_or_replaces() -> None:
    instrument = MCQInstrument({})
    full = instrument.messages(ITEM, {"question": "full"})[-1].content
    bare = instrument.messages(ITEM, {"question": "choices_only"})[-1].content
    assert ITEM.question in full and ITEM.question not in bare and "A. Paris" in bare
    added = instrument.display(ITEM, {"nota": "add"})
    assert added.options[-1] == F.NOTA_TEXT and added.gold == 0 and len(added.options) == 5
    replaced = instrument.display(ITEM, {"nota": "replace"})
    assert replaced.options[0] == F.NOTA_TEXT and replaced.gold == 0 and "Paris" not in replaced.options


def test_few_shot_draws_k_seeded_examples_answered_in_turns() -> None:
    instrument = MCQInstrument({}, seed=3)
    messages = instrument.messages(ITEM, {"few_shot": "3"})
    assert [m.role for m in messages] == ["user", "assistant"] * 3 + ["user"]
    assert all(m.content in ("A", "B") for m in messages[1:6:2])
    assert messages == instrument.messages(ITEM, {"few_shot": "3"})  # the same examples every time
    drawn = {m.content for m in messages[:6:2]}
    assert len(drawn) == 3 and drawn <= {instrument._prompt(e.question, "geo", ["A", "B"], list(e.options), {}) for e in ITEM.dev}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", 1), ("(B)", 1), ("b.", 1), ("B. Rome", 1), ("**C**", 2), ("The answer is D.", 3), ("Answer: c", 2),
        ("Rome", 1), ("I think it's Oslo, definitely.", 2), ("A chameleon is green", None), ("Paris or Rome", None), ("", None),
    ],
)
def test_the_generate_parse_rule(text: str, expected: int | None) -> None:
    assert parse_answer(text, ["A", "B", "C", "D"], ["Paris", "Rome", "Oslo", "Bern"]) == expected


def test_cloze_and_bad_levels_fail_before_any_call_with_one_line_each(tmp_path: Path) -> None:
    spec = parse_spec(
        {
            "name": "bad", "instrument": "mcq", "data": {"loader": "builtin", "limit": 2},
            "factors": {"elicitation": ["letter", "logits"], "few_shot": ["9"], "label_style": ["none"], "option_order": ["sideways"]},
            "output_dir": str(tmp_path),
        }
    )
    with pytest.raises(SpecError) as caught:
        prepare(spec, Path.cwd())
    problems = caught.value.problems
    assert "factors.elicitation[1]: unknown level 'logits'; expected one of letter, cloze, generate" in problems
    assert any(p.startswith("factors.few_shot[0]: unknown level '9'") for p in problems)
    assert any(p.startswith("factors.option_order[0]: unknown level 'sideways'") for p in problems)
    assert any(p.startswith("factors.label_style: 'none' (no labels) needs elicitation generate") for p in problems)
    assert all("\n" not in p for p in problems)


def test_letter_on_a_generate_only_backend_is_a_one_line_error() -> None:
    instrument = MCQInstrument({"elicitation": "letter"})
    with pytest.raises(SpecError, match="factors.elicitation: m cannot give label probabilities"):
        instrument.render(_context({}, capabilities=Capabilities(generate=True)))
    assert MCQInstrument({}).render(_context({}, capabilities=Capabilities(generate=True))).mode == "generate"


def test_cloze_scores_the_option_texts_and_maps_raw_and_normalised_choices_back() -> None:
    instrument = MCQInstrument({})
    levels = {"option_order": "rotate-1", "elicitation": "cloze"}
    view = instrument.display(ITEM, levels)
    assert view.shown == ["Rome", "Oslo", "Bern", "Paris"]
    logliks = {"Rome": -2.0, "Oslo": -9.0, "Bern": -9.0, "Paris": -2.4}  # raw: Rome wins; per character Paris (-0.48 > -0.5)
    total = sum(math.exp(v) for v in logliks.values())
    response = Response(label_probs={k: math.exp(v) / total for k, v in logliks.items()}, valid_mass=total, extra={"label_logprobs": logliks})
    request, record = _answer(instrument, levels, response)
    assert request.mode == "loglikelihood" and request.continuations == ("Rome", "Oslo", "Bern", "Paris")
    assert "Answer with the text of the correct option." in request.messages[-1].content
    assert record.chosen == 1 and not record.correct and record.chosen_norm == 0 and record.correct_norm
    assert record.probs[0] == pytest.approx(math.exp(-2.4) / total)
    with pytest.raises(SpecError, match="cannot score option texts"):
        instrument.render(_context(levels, capabilities=LETTERS))


@pytest.mark.parametrize("limit", [1, 3, None])
def test_the_demo_spec_prepares_at_every_limit(limit: int | None) -> None:
    from forkingpaths import registry

    spec = registry.examples.get("mcq")(limit)
    prepared = prepare(spec, Path.cwd())
    assert len(prepared.items) == (limit or 24) and len(prepared.conditions) == 20
    assert len(prepared.trials) == len(prepared.items) * 20


def test_the_drill_down_shows_the_option_as_it_was_shown() -> None:
    from forkingpaths.instruments.mcq.presentation import _option

    item = {"options": ["Paris", "Rome"], "gold": 0}
    assert _option({"chosen": 1}, item) == "Rome" and _option({"chosen": None}, item) == "(unparsable)"
    assert _option({"chosen": 2, "nota": "add"}, item) == F.NOTA_TEXT == _option({"chosen": 0, "nota": "replace"}, item)


GERMAN = {
    "de": {
        "templates": {"plain": "{question}\n\n{options}\n\n{instruction}", "exam": "Eine Frage{subject}.\n{question}\n{options}\n{instruction}"},
        "instructions": {"letters": "Antworte mit dem Buchstaben."},
        "subject": " zum Thema {subject}",
        "nota": "Keine der Antworten",
    }
}


def test_language_reads_the_translations_file_and_renders_question_options_template_in_that_language(tmp_path: Path) -> None:
    """The translations file the survey reads: one row per item × language, options in canonical order."""
    import json

    from forkingpaths.instruments.mcq.loaders import load_mcq_items
    from forkingpaths.spec import DataSpec

    (tmp_path / "q.csv").write_text('id,question,options,gold\nq1,Capital of France?,"[""Paris"", ""Rome""]",Paris\n', encoding="utf-8")
    rows = [{"item_id": "q1", "language": "de", "question": "Hauptstadt Frankreichs?", "options": ["Paris", "Rom"]}, {"item_id": "other", "language": "de", "question": "x", "options": ["a"]}]
    (tmp_path / "tr.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    data = DataSpec(loader="tidy", path="q.csv", params={"translations": "tr.jsonl"})
    [item] = load_mcq_items(data, tmp_path)
    assert item.translations == {"de": ("Hauptstadt Frankreichs?", ("Paris", "Rom"))}
    instrument = MCQInstrument({"translations": GERMAN})
    item = MCQItem("q1", "Capital of France?", ("Paris", "Rome"), 0, "Erdkunde", translations=item.translations)
    text = instrument.messages(item, {"language": "de", "template": "exam", "nota": "add"})[-1].content
    assert text == "Eine Frage zum Thema Erdkunde.\nHauptstadt Frankreichs?\nA. Paris\nB. Rom\nC. Keine der Antworten\nAntworte mit dem Buchstaben."
    assert "Capital of France?" in instrument.messages(item, {"language": "en"})[-1].content
    assert instrument.display(item, {"language": "de", "nota": "replace"}).options == ["Keine der Antworten", "Rom"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"item_id": "q1", "language": "de", "question": "?", "options": ["Paris"]}), encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.jsonl.*has 2 options but the 'de' translation lists 1"):
        load_mcq_items(DataSpec(loader="tidy", path="q.csv", params={"translations": "bad.jsonl"}), tmp_path)


def test_language_levels_without_their_texts_are_named_before_any_call() -> None:
    instrument = MCQInstrument({"translations": GERMAN})
    item = MCQItem("q1", "Q?", ("a", "b"), 0, translations={"de": ("F?", ("a", "b"))})
    spec = parse_spec({"name": "t", "instrument": "mcq", "data": {"loader": "builtin"},
                       "factors": {"language": ["en", "de", "fr"], "label_style": ["letters", "numbers"], "template": ["plain", "letter_only"], "few_shot": ["0"]}})
    problems = instrument._language_problems(spec.factors, [item])
    assert "instrument.params.translations.de.templates.letter_only: missing (needed by factors.template)" in problems
    assert "instrument.params.translations.de.instructions.numbers: missing" in problems
    assert any(p.startswith("factors.language[2]: items without a 'fr' translation") for p in problems)
    assert not any("translations.de.instructions.letters" in p or "language[0]" in p or "translations.en" in p for p in problems)
