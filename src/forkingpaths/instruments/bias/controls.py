"""Control perturbations: changes that should not matter, applied to the same template as the group swap.

Each control is a pure function of the template text (before the slot is filled), the
template id and the spec seed, so every group's variant of a template gets the *same*
perturbation and a control gap compares like with like. A control never touches the slot,
the filler, or a word of the options (BBQ's group terms). When a control cannot apply to a
text (no word of its table, a single sentence, a task without candidates) the text is
unchanged and ``applied`` is ``False``; the analyses leave those trials out of control
comparisons (they would be exact copies and understate the noise).

* ``none``: the template as written.
* ``typo``: two adjacent, different inner letters of one word of 5+ letters swapped (the word
  drawn by a generator seeded with the seed and the template id).
* ``synonym``: the first word of :data:`SYNONYMS` found in the text replaced by its synonym (English
  tables: in another language ``synonym`` and ``neutral-swap`` do not apply).
* ``neutral-swap``: the first word of :data:`NEUTRAL_SWAPS` (weekdays, months, colours,
  compass points, drinks) replaced by one of the same kind and length.
* ``irrelevant``: one sentence of :data:`IRRELEVANT_BY_LANGUAGE` in the text's language (drawn as for
  ``typo``) appended to the text; a language without its own sentences (KoBBQ's Korean) gets the
  English ones, as before the ``language`` factor.
* ``sentence-order``: the text's sentences in reverse order (rating templates only: they are
  written as independent sentences; BBQ contexts are narratives whose order carries meaning).
* ``candidate-order``: the candidates (ranking) or options (choice) in reverse order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forkingpaths.instruments.bias.items import SLOT, seeded_rng

CONTROLS = ("none", "typo", "synonym", "neutral-swap", "irrelevant", "sentence-order", "candidate-order")
#: The controls that act on text (``candidate-order`` acts on the order of candidates or options).
TEXT_CONTROLS = ("typo", "synonym", "neutral-swap", "irrelevant", "sentence-order")

SYNONYMS: dict[str, str] = {
    "quickly": "rapidly", "large": "big", "started": "began", "finished": "completed", "helped": "assisted",
    "small": "little", "asked": "requested", "works": "labours", "lives": "resides", "brought": "carried",
    "seen": "spotted", "talking": "chatting", "job": "post", "store": "shop", "new": "recent",
}
NEUTRAL_SWAPS: dict[str, str] = {
    "Monday": "Friday", "Friday": "Monday", "Tuesday": "Thursday", "Thursday": "Tuesday", "March": "April",
    "April": "March", "blue": "gray", "gray": "blue", "north": "south", "south": "north", "coffee": "cocoa",
    "autumn": "spring", "spring": "autumn", "week": "term",
}
IRRELEVANT = (
    "The weather that day was mild.",
    "A radio was playing quietly in the background.",
    "The building had recently been repainted.",
    "It was a quiet afternoon.",
)
#: The irrelevant sentences per language (the project's own wording; German: the English ones translated).
IRRELEVANT_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "en": IRRELEVANT,
    "de": (
        "Das Wetter war an diesem Tag mild.",
        "Im Hintergrund lief leise ein Radio.",
        "Das Gebäude war vor Kurzem neu gestrichen worden.",
        "Es war ein ruhiger Nachmittag.",
    ),
}
_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Perturbed:
    """The text after a control, whether the control changed it, and what changed (for the drill-down)."""

    text: str
    applied: bool
    note: str


def _slot_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in SLOT.finditer(text)]


def _free_words(text: str, protected: frozenset[str]) -> list[re.Match[str]]:
    """Words outside any slot and not protected."""
    spans = _slot_spans(text)
    return [
        m for m in _WORD.finditer(text)
        if m.group().lower() not in protected and not any(a <= m.start() < b for a, b in spans)
    ]


def typo(text: str, key: str, protected: frozenset[str]) -> Perturbed:
    words = [m for m in _free_words(text, protected) if len(m.group()) >= 5]
    candidates = [(m, i) for m in words for i in range(1, len(m.group()) - 2) if m.group()[i] != m.group()[i + 1]]
    if not candidates:
        return Perturbed(text, False, "no word of 5+ letters to misspell")
    match, i = candidates[int(seeded_rng(key, "typo").integers(len(candidates)))]
    word = match.group()
    wrong = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return Perturbed(text[: match.start()] + wrong + text[match.end() :], True, f"{word} → {wrong}")


def _table_swap(text: str, table: dict[str, str], protected: frozenset[str], what: str) -> Perturbed:
    for match in _free_words(text, protected):
        if match.group() in table:
            new = table[match.group()]
            return Perturbed(text[: match.start()] + new + text[match.end() :], True, f"{match.group()} → {new}")
    return Perturbed(text, False, f"no word of the {what} table")


def irrelevant(text: str, key: str, language: str = "en") -> Perturbed:
    sentences = IRRELEVANT_BY_LANGUAGE.get(language, IRRELEVANT)
    sentence = sentences[int(seeded_rng(key, "irrelevant").integers(len(sentences)))]
    return Perturbed(f"{text.rstrip()} {sentence}", True, f"+ {sentence}")


def sentence_order(text: str) -> Perturbed:
    sentences = _SENTENCE.split(text.strip())
    if len(sentences) < 2:
        return Perturbed(text, False, "a single sentence")
    return Perturbed(" ".join(reversed(sentences)), True, "sentences reversed")


def apply_text_control(control: str, text: str, key: str, protected: frozenset[str], *, ordered: bool, language: str = "en") -> Perturbed:
    """``text`` after a text control; ``ordered``: the text is a narrative (``sentence-order`` does not apply).

    The synonym and neutral-swap tables are English: in another ``language`` they do not apply
    (``applied`` is ``False``); ``irrelevant`` appends a sentence of the text's language.
    """
    if control == "typo":
        return typo(text, key, protected)
    if control in ("synonym", "neutral-swap") and language != "en":
        return Perturbed(text, False, f"no {language!r} {control} table")
    if control == "synonym":
        return _table_swap(text, SYNONYMS, protected, "synonym")
    if control == "neutral-swap":
        return _table_swap(text, NEUTRAL_SWAPS, protected, "neutral-swap")
    if control == "irrelevant":
        return irrelevant(text, key, language)
    if control == "sentence-order":
        return Perturbed(text, False, "a narrative context") if ordered else sentence_order(text)
    return Perturbed(text, False, "unchanged")
