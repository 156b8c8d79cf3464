"""Counterfactual prompts differ only in the slot; each control changes only what it says it changes."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from forkingpaths import parse_spec
from forkingpaths.design import Condition
from forkingpaths.instruments.base import TrialContext
from forkingpaths.instruments.bias import controls as C
from forkingpaths.instruments.bias.instrument import BiasInstrument
from forkingpaths.instruments.bias.loaders import load_bias_items
from forkingpaths.models.base import Capabilities
from forkingpaths.spec import DataSpec

SEED = 7
SPEC = parse_spec({"name": "t", "instrument": "bias", "data": {"loader": "builtin"}, "models": ["llamacpp"]}, "test")
CAPS = Capabilities(choice_logprobs=True)


def _items() -> list:
    data = DataSpec(loader="builtin", params={"sets": ["ratings", "bbq", "kobbq", "bloomberg"], "candidates": 4, "resume_lines": 6})
    return load_bias_items(data, Path("."), SEED)


ITEMS = _items()
INSTRUMENT = BiasInstrument({}, SEED)


def _prompt(item, **levels: str) -> str:
    trial = TrialContext(item, Condition(tuple(levels.items())), 0, "m", SPEC, CAPS)
    return "\n".join(m.content for m in INSTRUMENT.render(trial).messages)


@pytest.mark.parametrize("control", C.CONTROLS)
def test_counterfactual_prompts_differ_only_in_the_slot(control: str) -> None:
    ratings = [i for i in ITEMS if i.task == "rating"]
    for template_id in {i.template_id for i in ratings}:
        variants = [i for i in ratings if i.template_id == template_id]
        masked = {_prompt(i, control=control).replace(i.filler, "<SLOT>") for i in variants}
        assert len(masked) == 1, (template_id, control)
        assert len({_prompt(i, control=control) for i in variants}) == len(variants)


def _changed_words(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.split(), after.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            out.append((" ".join(a[i1:i2]), " ".join(b[j1:j2])))
    return out


def _texts() -> list:
    return [i for i in ITEMS if i.task in ("rating", "choice")]


def test_typo_swaps_two_adjacent_letters_of_one_unprotected_word() -> None:
    applied = 0
    for item in _texts():
        perturbed = INSTRUMENT.perturb(item, "typo")
        if not perturbed.applied:
            continue
        applied += 1
        [(old, new)] = _changed_words(item.text, perturbed.text)
        assert sorted(old) == sorted(new) and old != new and len(old) >= 5
        diffs = [k for k in range(len(old)) if old[k] != new[k]]
        assert len(diffs) == 2 and diffs[1] == diffs[0] + 1 and diffs[0] > 0
        assert old.lower().strip(".,") not in item.protected()
        assert perturbed.note == f"{re.sub(r'[^A-Za-z]', '', old)} → {re.sub(r'[^A-Za-z]', '', new)}"
    assert applied > 50


@pytest.mark.parametrize(("control", "table"), [("synonym", C.SYNONYMS), ("neutral-swap", C.NEUTRAL_SWAPS)])
def test_table_controls_replace_exactly_one_word_by_its_table_entry(control: str, table: dict[str, str]) -> None:
    applied = 0
    for item in _texts():
        perturbed = INSTRUMENT.perturb(item, control)
        if not perturbed.applied:
            assert perturbed.text == item.text
            continue
        applied += 1
        [(old, new)] = _changed_words(item.text, perturbed.text)
        word = re.sub(r"[^A-Za-z]", "", old)
        assert table[word] == re.sub(r"[^A-Za-z]", "", new)
        if control == "neutral-swap":
            assert abs(len(table[word]) - len(word)) <= 1
    assert applied >= 8


def test_irrelevant_appends_one_sentence_and_sentence_order_only_reorders() -> None:
    for item in _texts():
        extra = INSTRUMENT.perturb(item, "irrelevant")
        assert extra.applied and extra.text.startswith(item.text.rstrip()) and extra.text[len(item.text.rstrip()) + 1 :] in C.IRRELEVANT
        order = INSTRUMENT.perturb(item, "sentence-order")
        if item.task == "choice":
            assert not order.applied and order.text == item.text  # narratives keep their order
        else:
            assert order.applied and sorted(order.text.split()) == sorted(item.text.split()) and order.text != item.text


def test_candidate_order_reverses_candidates_and_options_and_nothing_else() -> None:
    ranking = next(i for i in ITEMS if i.task == "ranking")
    before, after = _prompt(ranking, control="none"), _prompt(ranking, control="candidate-order")
    blocks = lambda p: re.findall(r"Candidate [A-D]:\n(.*?)(?=\n\nCandidate|\n\nAnswer)", p, re.S)  # noqa: E731
    assert blocks(after) == blocks(before)[::-1]
    assert before.split("Candidate A:")[0] == after.split("Candidate A:")[0]
    choice = next(i for i in ITEMS if i.task == "choice")
    shown = lambda p: re.findall(r"^[A-C]\. (.*)$", p, re.M)  # noqa: E731
    assert shown(_prompt(choice, control="candidate-order")) == shown(_prompt(choice, control="none"))[::-1]
    rating = next(i for i in ITEMS if i.task == "rating")
    assert _prompt(rating, control="candidate-order") == _prompt(rating, control="none")


def test_controls_never_touch_the_slot_or_option_words() -> None:
    for item in _texts():
        for control in C.TEXT_CONTROLS:
            text = INSTRUMENT.perturb(item, control).text
            assert text.count("{" + (item.slot or "") + "}") == item.text.count("{" + (item.slot or "") + "}")
        for option in item.options:
            for word in re.findall(r"\w+", option):
                assert INSTRUMENT.perturb(item, "typo").text.count(word) >= item.text.count(word)
