"""Survey prompts and parsing: factors change what the model sees, never the canonical answer."""

from __future__ import annotations

import hashlib
import re

import pytest

from forkingpaths.instruments.survey.data.items import SurveyItem, Translation
from forkingpaths.design import Condition, expand_conditions
from forkingpaths.instruments.survey.factors import option_labels, option_permutation
from forkingpaths.instruments.survey.instrument import SurveyInstrument
from forkingpaths.instruments.survey.parsing import parse_choice, read_choice
from forkingpaths.models.base import Capabilities, Request, Response
from forkingpaths.spec import parse_spec
from forkingpaths.instruments.base import StageResult, TrialContext

def render(instrument, item, condition, repeat, spec, capabilities):
    """The trial's first request, through the instrument protocol."""
    return instrument.render(TrialContext(item, condition, repeat, "m", spec, capabilities))


def parse(instrument, item, condition, request, response):
    """The trial's record from its one answered stage."""
    context = TrialContext(item, condition, 0, "m", None, LOGPROBS)
    return instrument.parse(context, [StageResult(0, "evaluated", "m", request, response)])


ITEM = SurveyItem(
    item_id="q1",
    question="Is it acceptable to cheat on taxes?",
    options=("Never acceptable", "Sometimes acceptable", "Always acceptable"),
    distributions={"DK": (0.8, 0.15, 0.05), "US": (0.6, 0.3, 0.1)},
    ordered=True,
    topic="morality",
    translations={"da": Translation("Er det acceptabelt at snyde i skat?", ("Aldrig", "Nogle gange", "Altid"))},
)
LOGPROBS = Capabilities(generate=True, choice_logprobs=True, exact_logprobs=True)
TEXT_ONLY = Capabilities(generate=True)


def _spec(**factors):
    return parse_spec({"name": "t", "instrument": "survey", "data": {"loader": "builtin"}, "factors": factors})


def _condition(**levels) -> Condition:
    return Condition(tuple(levels.items()))


class OrderIndifferentModel:
    """A deterministic stand-in whose preference depends only on option *text*.

    Used for one property only: with an order-indifferent model, the canonical
    distribution must not depend on option order or label style.
    """

    def answer(self, request: Request) -> Response:
        prompt = request.messages[-1].content
        weights = {}
        for label in request.labels:
            line = next(l for l in prompt.splitlines() if l.startswith(f"{label}. ") or l == f"- {label}")
            text = line.split(". ", 1)[1] if line.startswith(f"{label}. ") else label
            weights[label] = 1 + int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 97
        total = sum(weights.values())
        return Response(text=max(weights, key=weights.get), label_probs={k: v / total for k, v in weights.items()}, valid_mass=0.9)


def test_canonical_distribution_is_invariant_to_order_and_labels_for_an_indifferent_model() -> None:
    spec = _spec(option_order=["original", "reversed", "shuffle-1", "shuffle-2"], label_style=["letters", "numbers", "text"])
    instrument = SurveyInstrument({}, seed=7)
    model = OrderIndifferentModel()
    seen = []
    for condition in expand_conditions(spec.factors):
        request = render(instrument, ITEM, condition, 0, spec, LOGPROBS)
        parsed = parse(instrument, ITEM, condition, request, model.answer(request))
        seen.append(parsed.option_probs)
        assert parsed.answer == ITEM.options[max(range(3), key=lambda i: parsed.option_probs[i])]
    assert all(p == pytest.approx(seen[0], abs=1e-12) for p in seen)


def test_option_orders_are_permutations_and_shuffles_are_seeded() -> None:
    assert option_permutation("original", 4, "x", 0) == [0, 1, 2, 3]
    assert option_permutation("reversed", 4, "x", 0) == [3, 2, 1, 0]
    shuffle = option_permutation("shuffle-1", 6, "x", 0)
    assert sorted(shuffle) == list(range(6))
    assert shuffle == option_permutation("shuffle-1", 6, "x", 0)
    variants = {tuple(option_permutation(f"shuffle-{k}", 6, "x", 0)) for k in range(1, 6)}
    assert len(variants) > 1
    with pytest.raises(ValueError):
        option_permutation("sideways", 3, "x", 0)


def test_rendered_prompt_shows_reordered_labelled_options() -> None:
    spec = _spec(option_order=["reversed"], label_style=["numbers"], template=["survey"])
    request = render(SurveyInstrument({}), ITEM, _condition(option_order="reversed", label_style="numbers", template="survey"), 0, spec, LOGPROBS)
    prompt = request.messages[-1].content
    assert request.mode == "choice_logprobs" and request.labels == ("1", "2", "3")
    assert "1. Always acceptable" in prompt and "3. Never acceptable" in prompt
    assert "public opinion survey" in prompt and "number of one option" in prompt


def test_persona_is_a_system_message_with_the_group_name() -> None:
    instrument = SurveyInstrument({"group_names": {"DK": "Denmark"}})
    request = render(instrument, ITEM, _condition(persona="average@DK"), 0, _spec(persona=["average@DK"]), LOGPROBS)
    assert request.messages[0].role == "system"
    assert "an average person from Denmark" in request.messages[0].content
    assert render(instrument, ITEM, _condition(persona="none"), 0, _spec(persona=["none"]), LOGPROBS).messages[0].role == "user"


def test_persona_levels_expand_per_target_group() -> None:
    instrument = SurveyInstrument({"persona_groups": ["US"], "personas": {"citizen": "a citizen of {group}"}})
    factors = instrument.expand_factors({"persona": ["none", "average", "citizen"]}, [ITEM])
    assert factors["persona"] == ["none", "average@US", "citizen@US"]
    assert SurveyInstrument({}).expand_factors({"persona": ["average"]}, [ITEM])["persona"] == ["average@DK", "average@US"]


def test_a_persona_without_a_group_is_rejected_at_validation() -> None:
    """Issue 9, item 17: a persona with no {group} used to run, cost trials and be reported nowhere."""
    instrument = SurveyInstrument({"personas": {"expert": "an economist", "citizen": "a citizen of {group}"}})
    problems = instrument.validate(_spec(persona=["none", "expert"]), [ITEM])
    assert problems == [
        "instrument.params.personas.expert: must contain {group} (a persona is steered toward a target group; "
        "wording without one belongs in a template)"
    ]


def test_language_factor_uses_translations_and_user_templates() -> None:
    params = {"translations": {"da": {"templates": {"plain": "{question}\n{options}\n{instruction}"}, "instructions": {"letters": "Svar med et bogstav."}}}}
    instrument = SurveyInstrument(params)
    spec = _spec(language=["en", "da"])
    assert instrument.validate(spec, [ITEM]) == []
    prompt = render(instrument, ITEM, _condition(language="da"), 0, spec, LOGPROBS).messages[-1].content
    assert "snyde i skat" in prompt and "A. Aldrig" in prompt and "Svar med et bogstav." in prompt


def test_sample_mode_when_the_backend_has_no_logprobs() -> None:
    instrument = SurveyInstrument({})
    spec = _spec()
    first = render(instrument, ITEM, _condition(), 0, spec, TEXT_ONLY)
    second = render(instrument, ITEM, _condition(), 1, spec, TEXT_ONLY)
    assert first.mode == "generate" and first.temperature == 1.0 and first.seed != second.seed
    other_item = SurveyItem("q2", "Another?", ("x", "y"), {"DK": (0.5, 0.5)})
    other_condition = _condition(option_order="reversed")
    seeds = {
        render(instrument, item, condition, 0, spec, TEXT_ONLY).seed
        for item in (ITEM, other_item)
        for condition in (_condition(), other_condition)
    }
    assert len(seeds) == 4  # independent draws per item and condition, not one shared stream
    assert render(instrument, ITEM, _condition(), 0, spec, TEXT_ONLY).seed == first.seed
    condition = _condition(option_order="reversed")
    request = render(instrument, ITEM, condition, 0, _spec(option_order=["reversed"]), TEXT_ONLY)
    assert parse(instrument, ITEM, condition, request, Response(text="A. Always acceptable")).answer == "Always acceptable"
    assert parse(instrument, ITEM, condition, request, Response(text="I cannot answer that")).answer is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", 1), (" (b) ", 1), ("Answer: C.", 2), ("**A**", 0), ("A. Yes", 0), ("AB", None), ("Z", None), ("", None),
        ("My answer is B", 1), ("The answer is: B. Agree", 1), ("B)", 1), ("C:\nbecause", 2),
        ("A skilled answer would weigh both sides", None), ("A well-known fact", None),
    ],
)
def test_parse_choice_letters(text: str, expected: int | None) -> None:
    assert parse_choice(text, ["A", "B", "C"]) == expected


def test_parse_choice_falls_back_to_the_option_wording() -> None:
    options = ["Agree", "Disagree"]
    assert parse_choice("Disagree.", ["A", "B"], options) == 1
    assert parse_choice("A. Agree, mostly", ["A", "B"], options) == 0
    assert parse_choice("A. I think so", ["A", "B"], options) == 0  # an explanation is not another option
    assert parse_choice("Maybe", ["A", "B"], options) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A. Disagree", (None, "label-text conflict")),
        ("a) disagree, because", (None, "label-text conflict")),
        ("A. Agree\nB. Disagree", (None, "echoed options")),
        ("A. Agree B. Disagree", (None, "echoed options")),
        ("- Agree\n- Disagree", (None, "echoed options")),
        ("B. Disagree\nBecause it is wrong", (1, None)),
        ("Disagree.\nAgree to differ, though", (1, None)),
        ("A", (0, None)),
    ],
)
def test_conflicting_and_echoed_answers_are_not_scored_and_say_why(text: str, expected: tuple) -> None:
    """Issue 9, item 15: "A. Yes" with A = No was scored as No unflagged; an echoed list as option A."""
    assert read_choice(text, ["A", "B"], ["Agree", "Disagree"]) == expected


def test_a_conflict_under_reversed_order_is_recorded_in_the_trial() -> None:
    instrument = SurveyInstrument({})
    item = SurveyItem("q", "Is it fine?", ("Yes", "No"), {"DK": (0.5, 0.5)})
    condition = _condition(option_order="reversed")
    request = render(instrument, item, condition, 0, _spec(option_order=["reversed"]), TEXT_ONLY)
    assert "A. No" in request.messages[-1].content
    record = parse(instrument, item, condition, request, Response(text="A. Yes"))
    assert record.answer is None and record.parse_note == "label-text conflict"
    echoed = parse(instrument, item, condition, request, Response(text="A. No\nB. Yes"))
    assert echoed.answer is None and echoed.parse_note == "echoed options"
    assert parse(instrument, item, condition, request, Response(text="B. Yes")).answer == "Yes"


def test_parse_choice_text_labels_prefers_the_longest_matching_option() -> None:
    labels = ["Agree", "Agree strongly", "Disagree"]
    assert parse_choice("Agree strongly.", labels) == 1
    assert parse_choice("agree", labels) == 0
    assert parse_choice("Neither", labels) is None


def test_unknown_levels_are_reported_with_key_paths() -> None:
    spec = _spec(option_order=["original", "sideways"], label_style=["roman"], template=["haiku"], persona=["average@XX"], colour=["red"], language=["fr"])
    problems = SurveyInstrument({"elicitation": "telepathy", "bogus": 1}).validate(spec, [ITEM])
    text = "\n".join(problems)
    assert "factors.option_order[1]: unknown level 'sideways'; expected one of original, reversed" in text
    assert "factors.label_style[0]: unknown level 'roman'" in text
    assert "factors.template[0]: unknown level 'haiku'" in text
    assert "factors.persona[0]: unknown group 'XX'" in text
    assert "factors.colour: unknown factor" in text
    assert "factors.language[0]: unknown language 'fr'" in text
    assert "instrument.params.elicitation: unknown value 'telepathy'" in text
    assert "instrument.params.bogus: unknown key" in text


def test_labels() -> None:
    assert option_labels("letters", ["x", "y"]) == ["A", "B"]
    assert option_labels("numbers", ["x", "y"]) == ["1", "2"]
    assert option_labels("text", ["x", "y"]) == ["x", "y"]
    assert re.fullmatch(r"[A-Z]+", "".join(option_labels("letters", ["o"] * 26)))


def test_spec_settings_without_effect_are_validation_errors() -> None:
    """Issue 9, item 16: ``sampling: {temperature: 0.9}`` was silently ignored by the survey."""
    base = {"name": "t", "instrument": "survey", "data": {"loader": "builtin"}}
    hot = parse_spec({**base, "sampling": {"temperature": 0.9}})
    assert SurveyInstrument({}).validate(hot, [ITEM]) == [
        "sampling.temperature: has no effect on the survey instrument (logprob answers are read at temperature 0; "
        "set the temperature of sampled answers with instrument.params.sample_temperature)"
    ]
    repeated = parse_spec({**base, "repeats": 3, "sampling": {"max_tokens": 20}})
    logprobs = SurveyInstrument({"elicitation": "logprobs"}).validate(repeated, [ITEM])
    assert [p.split(":")[0] for p in logprobs] == ["sampling.max_tokens", "repeats"]
    # under auto or sample, repeats and max_tokens act on sampled answers: no problem
    assert SurveyInstrument({}).validate(repeated, [ITEM]) == []
    assert SurveyInstrument({"elicitation": "sample"}).validate(repeated, [ITEM]) == []
