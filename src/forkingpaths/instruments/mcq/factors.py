"""The MCQ instrument's factors: what each level does to the prompt, and which levels are valid.

* ``option_order``: ``original`` (the data set's order), ``reversed``, ``shuffle-N`` (a
  permutation drawn per item from the spec seed, the item id and N), ``rotate-R`` (the
  options shifted cyclically by R: displayed position p shows canonical option
  (p + R) mod K) and ``circular``, which the instrument expands into ``rotate-0`` …
  ``rotate-(K-1)`` for the largest K among the items (an item with fewer options repeats
  its own rotations; the analyses count each distinct order once).
* ``label_style``: ``letters`` (A, B, …), ``lower`` (a, b, …), ``numbers`` (1, 2, …),
  ``none`` (options as a bulleted list; only with ``elicitation: generate``, answers read by
  option text).
* ``template``: built-ins :data:`TEMPLATES` or ``instrument.params.templates`` (texts with
  ``{question}``, ``{options}``, optional ``{instruction}`` and ``{subject}``).
* ``few_shot``: ``0`` … ``5`` worked examples drawn without replacement from the item's dev
  pool, seeded by the spec seed and the item id (the same examples for every other level).
* ``question``: ``full`` or ``choices_only`` (the question text is removed; the template's
  question slot is left empty).
* ``nota``: ``none``, ``add`` ("None of the above" appended as an extra option, the gold
  unchanged) or ``replace`` (the gold option's text replaced by "None of the above", which
  is then the correct answer).
* ``elicitation``: ``letter`` (next-token probabilities of the option labels), ``cloze``
  (the log-likelihood of each option's text as the answer, one ``loglikelihood`` request:
  raw and length-normalised), ``generate`` (greedy text parsed by ``instrument.parse_answer``).
* ``language``: ``instrument.params.base_language`` (default ``en``, the items' own wording)
  or a language the items are translated into (``data.params.translations``): the question,
  the options and "None of the above", the template, the instruction and the subject phrase
  in that language, from ``instrument.params.translations.<language>``.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forkingpaths.instruments.base import factor_problems

KNOWN_FACTORS = ("option_order", "label_style", "template", "few_shot", "question", "nota", "elicitation", "language")
LABEL_STYLES = ("letters", "lower", "numbers", "none")
QUESTION_LEVELS = ("full", "choices_only")
NOTA_LEVELS = ("none", "add", "replace")
ELICITATIONS = ("letter", "cloze", "generate")
NOTA_TEXT = "None of the above"
MAX_SHOTS = 5
#: Fixed parts first, so that prompts sorted for sending share everything up to the question
#: and an inference server's prefix cache skips it (docs/performance.md); ``completion``
#: keeps its "Answer:" cue last because the answer continues it.
TEMPLATES: dict[str, str] = {
    "plain": "{instruction}\n\n{question}\n\n{options}",
    "exam": (
        "The following is a multiple-choice question{subject}. Choose the single best answer. {instruction}\n\n"
        "Question: {question}\n\n{options}"
    ),
    "letter_only": "Respond with only the {label_word} of the correct answer.\n{question}\n{options}",
    "completion": "Question: {question}\n{options}\nAnswer:",
}
INSTRUCTIONS: dict[str, str] = {
    "letters": "Answer with the letter of the correct option.",
    "lower": "Answer with the letter of the correct option.",
    "numbers": "Answer with the number of the correct option.",
    "none": "Answer with the text of the correct option.",
}
LABEL_WORDS = {"letters": "letter", "lower": "letter", "numbers": "number", "none": "text"}
_SHUFFLE = re.compile(r"^shuffle-([1-9][0-9]*)$")
_ROTATE = re.compile(r"^rotate-(0|[1-9][0-9]*)$")


@dataclass(frozen=True)
class MCQParams:
    """``instrument.params``: ``templates`` (user templates by name) and ``elicitation``, the
    default when the design has no ``elicitation`` factor (``auto``: ``letter`` when the backend
    gives label probabilities, else ``generate``)."""

    templates: dict[str, str] = field(default_factory=dict)
    elicitation: str = "auto"
    max_tokens: int = 24
    base_language: str = "en"
    #: language → {templates: {name: text}, instructions: {letters|lower|numbers|none: text},
    #: subject: " … {subject}" (optional), nota: "None of the above" (needed with nota), label_words: {...}}
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> tuple[MCQParams, list[str]]:
        problems: list[str] = []
        allowed = set(cls.__dataclass_fields__)
        problems += [f"instrument.params.{k}: unknown key; expected one of {', '.join(sorted(allowed))}" for k in params if k not in allowed]
        kwargs = {k: v for k, v in params.items() if k in allowed}
        if not isinstance(kwargs.get("translations", {}), dict) or not all(isinstance(v, dict) for v in kwargs.get("translations", {}).values()):
            problems.append("instrument.params.translations: expected a mapping of language to {templates, instructions, subject, nota, label_words}")
            kwargs.pop("translations")
        if not isinstance(kwargs.get("base_language", "en"), str):
            problems.append("instrument.params.base_language: expected a language code")
            kwargs.pop("base_language")
        if not isinstance(kwargs.get("templates", {}), dict):
            problems.append("instrument.params.templates: expected a mapping of name to template text")
            kwargs.pop("templates")
        for name, text in kwargs.get("templates", {}).items():
            if not isinstance(text, str) or "{options}" not in text or "{question}" not in text:
                problems.append(f"instrument.params.templates.{name}: must be text containing {{question}} and {{options}}")
        if kwargs.get("elicitation", "auto") not in ("auto", *ELICITATIONS):
            problems.append(f"instrument.params.elicitation: {_elicitation_problem(kwargs['elicitation'])}")
        if not isinstance(kwargs.get("max_tokens", 24), int) or not 1 <= kwargs.get("max_tokens", 24) <= 512:
            problems.append("instrument.params.max_tokens: expected an integer from 1 to 512")
            kwargs.pop("max_tokens")
        return cls(**kwargs), problems

    def template(self, name: str, language: str | None = None) -> str | None:
        if language not in (None, self.base_language):
            found = self.localised(language, "templates").get(name)
            return found if isinstance(found, str) else None
        return self.templates.get(name) or TEMPLATES.get(name)

    def localised(self, language: str, key: str) -> dict[str, Any]:
        value = self.translations.get(language, {}).get(key, {})
        return value if isinstance(value, dict) else {}

    def words(self, language: str, asked: str) -> tuple[str | None, str, str, str | None]:
        """(instruction, label word, subject phrase with ``{subject}``, None-of-the-above text) in ``language``;
        the instruction or nota text is ``None`` where a translation does not give it."""
        if language == self.base_language:
            return INSTRUCTIONS[asked], LABEL_WORDS[asked], " about {subject}", NOTA_TEXT
        given = self.translations.get(language, {})
        instruction = self.localised(language, "instructions").get(asked)
        word = self.localised(language, "label_words").get(asked, "")
        nota = given.get("nota")
        return (
            instruction if isinstance(instruction, str) else None,
            str(word),
            str(given.get("subject", "")),
            nota if isinstance(nota, str) else None,
        )


def _elicitation_problem(level: str) -> str:
    return f"unknown level {level!r}; expected one of {', '.join(ELICITATIONS)}"


def _seeded_rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def option_permutation(level: str, n_options: int, item_id: str, seed: int) -> list[int]:
    """Displayed position → canonical option index for an ``option_order`` level."""
    if level == "original":
        return list(range(n_options))
    if level == "reversed":
        return list(range(n_options))[::-1]
    rotate = _ROTATE.match(level)
    if rotate:
        shift = int(rotate.group(1)) % n_options
        return [(p + shift) % n_options for p in range(n_options)]
    shuffle = _SHUFFLE.match(level)
    if not shuffle:
        raise ValueError(f"unknown option_order level {level!r}")
    return [int(i) for i in _seeded_rng(seed, item_id, "shuffle", shuffle.group(1)).permutation(n_options)]


def labels(style: str, n: int) -> list[str]:
    """The label shown before each displayed option (empty strings for ``none``)."""
    if n > 26 and style in ("letters", "lower"):
        raise ValueError("letter labels support at most 26 options")
    return {
        "letters": list(string.ascii_uppercase[:n]),
        "lower": list(string.ascii_lowercase[:n]),
        "numbers": [str(i + 1) for i in range(n)],
        "none": [""] * n,
    }[style]


def shots(item_id: str, pool_size: int, k: int, seed: int) -> list[int]:
    """Which dev examples (indices into the item's pool) a ``few_shot: k`` prompt shows, in order."""
    if k == 0:
        return []
    return [int(i) for i in _seeded_rng(seed, item_id, "few_shot").permutation(pool_size)[:k]]


def is_rotation(level: str) -> bool:
    return bool(_ROTATE.match(level))


def expand_circular(levels: list[str], max_options: int) -> list[str]:
    """``circular`` → ``rotate-0`` … ``rotate-(K-1)``, keeping the other levels and their order."""
    out: list[str] = []
    for level in levels:
        out += [f"rotate-{r}" for r in range(max_options)] if level == "circular" else [level]
    return list(dict.fromkeys(out))


def level_problem(factor: str, level: str, params: MCQParams, min_pool: int) -> str | None:
    """Why ``level`` is not a valid level of ``factor``, or ``None``."""
    if factor == "option_order":
        ok = level in ("original", "reversed", "circular") or _SHUFFLE.match(level) or _ROTATE.match(level)
        return None if ok else f"unknown level {level!r}; expected original, reversed, shuffle-N, rotate-N or circular"
    if factor == "label_style":
        return None if level in LABEL_STYLES else f"unknown level {level!r}; expected one of {', '.join(LABEL_STYLES)}"
    if factor == "template":
        known = sorted({*TEMPLATES, *params.templates})
        return None if params.template(level) else f"unknown level {level!r}; expected one of {', '.join(known)} (or add it under instrument.params.templates)"
    if factor == "few_shot":
        if not level.isdigit() or int(level) > MAX_SHOTS:
            return f"unknown level {level!r}; expected a number of examples from 0 to {MAX_SHOTS}"
        if int(level) > min_pool:
            return f"{level} examples need a dev pool of at least {level} per item; the smallest pool has {min_pool} (rows with split 'dev', or data.params.dev_path)"
        return None
    if factor == "question":
        return None if level in QUESTION_LEVELS else f"unknown level {level!r}; expected one of {', '.join(QUESTION_LEVELS)}"
    if factor == "nota":
        return None if level in NOTA_LEVELS else f"unknown level {level!r}; expected one of {', '.join(NOTA_LEVELS)}"
    if factor == "elicitation":
        return None if level in ELICITATIONS else _elicitation_problem(level)
    return None


def validate_levels(factors: dict[str, list[str]], params: MCQParams, min_pool: int) -> list[str]:
    problems = factor_problems(factors, KNOWN_FACTORS, "mcq", lambda factor, level: level_problem(factor, level, params, min_pool))
    if "none" in factors.get("label_style", []):
        elicitations = factors.get("elicitation", [params.elicitation])
        if any(e not in ("generate", "cloze") for e in elicitations):
            problems.append("factors.label_style: 'none' (no labels) needs elicitation generate or cloze; letter probabilities need labels")
    return problems
