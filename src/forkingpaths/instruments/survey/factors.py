"""The survey instrument's factors: option order, label style, template, persona, language.

Each factor level is a label in the spec; this module says what each label
means and checks that the spec only uses labels it can render.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forkingpaths.instruments.base import factor_problems

KNOWN_FACTORS = ("option_order", "label_style", "template", "persona", "language")
LABEL_STYLES = ("letters", "numbers", "text")
#: Fixed parts first (framing and instruction, then question and options): requests sorted
#: by prompt then share everything up to the question, so an inference server's prefix
#: cache skips it (docs/performance.md, ``benchmarks/prompt_layout.py``).
BUILTIN_TEMPLATES: dict[str, str] = {
    "plain": "{instruction}\n\n{question}\n\n{options}",
    "survey": (
        "Here is a question from a public opinion survey. {instruction}\n\n"
        "Question: {question}\n\nAnswer options:\n{options}"
    ),
    "opinion": "We would like to know your view. {instruction}\n\n{question}\n\nChoose one of:\n{options}",
}
BUILTIN_PERSONAS: dict[str, str] = {"average": "an average person from {group}"}
INSTRUCTIONS: dict[str, str] = {
    "letters": "Reply with the letter of one option and nothing else.",
    "numbers": "Reply with the number of one option and nothing else.",
    "text": "Reply with the exact wording of one option and nothing else.",
}
PERSONA_SYSTEM = "Answer the question the way {persona} would answer it."
_SHUFFLE = re.compile(r"^shuffle-([1-9][0-9]*)$")
PERSONA_SEPARATOR = "@"


@dataclass(frozen=True)
class SurveyParams:
    """The survey instrument's ``instrument.params``.

    ``elicitation``: ``auto`` (exact logprobs when the backend has them, else
    sampling), ``logprobs`` or ``sample``. ``templates``/``personas`` add user
    definitions by name. ``persona_groups`` limits which groups a persona is
    expanded to (default: every group in the data). ``translations`` gives, per
    language code, the template texts and instructions in that language.
    """

    elicitation: str = "auto"
    sample_temperature: float = 1.0
    templates: dict[str, str] = field(default_factory=dict)
    personas: dict[str, str] = field(default_factory=dict)
    persona_groups: tuple[str, ...] = ()
    group_names: dict[str, str] = field(default_factory=dict)
    base_language: str = "en"
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)
    holdout: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> tuple[SurveyParams, list[str]]:
        """Parse params, returning the problems found (``instrument.params.<key>: …``)."""
        problems: list[str] = []
        allowed = set(cls.__dataclass_fields__)
        for key in params:
            if key not in allowed:
                problems.append(f"instrument.params.{key}: unknown key; expected one of {', '.join(sorted(allowed))}")
        kwargs = {k: v for k, v in params.items() if k in allowed}
        if kwargs.get("elicitation", "auto") not in ("auto", "logprobs", "sample"):
            problems.append(
                f"instrument.params.elicitation: unknown value {kwargs['elicitation']!r}; expected auto, logprobs or sample"
            )
        for key in ("templates", "personas", "group_names", "translations", "holdout"):
            if key in kwargs and not isinstance(kwargs[key], dict):
                problems.append(f"instrument.params.{key}: expected a mapping")
                kwargs.pop(key)
        if "persona_groups" in kwargs:
            kwargs["persona_groups"] = tuple(str(g) for g in kwargs["persona_groups"] or ())
        for name, text in {**kwargs.get("templates", {}), **kwargs.get("personas", {})}.items():
            if not isinstance(text, str):
                problems.append(f"instrument.params: {name!r} must be a text with {{placeholders}}")
        for name, text in kwargs.get("personas", {}).items():
            if isinstance(text, str) and "{group}" not in text:
                problems.append(
                    f"instrument.params.personas.{name}: must contain {{group}} (a persona is steered toward a target "
                    "group; wording without one belongs in a template)"
                )
        for name, text in kwargs.get("templates", {}).items():
            if isinstance(text, str) and ("{question}" not in text or "{options}" not in text):
                problems.append(f"instrument.params.templates.{name}: must contain {{question}} and {{options}}")
        return cls(**kwargs), problems

    def template_text(self, name: str, language: str) -> str | None:
        if language != self.base_language:
            localised = self.translations.get(language, {}).get("templates", {})
            return localised.get(name)
        return self.templates.get(name) or BUILTIN_TEMPLATES.get(name)

    def instruction(self, label_style: str, language: str) -> str | None:
        if language != self.base_language:
            return self.translations.get(language, {}).get("instructions", {}).get(label_style)
        return INSTRUCTIONS[label_style]

    def persona_text(self, name: str) -> str | None:
        return self.personas.get(name) or BUILTIN_PERSONAS.get(name)


def split_persona(level: str) -> tuple[str, str | None]:
    """``average@DK`` → (``average``, ``DK``); ``none`` → (``none``, None)."""
    name, _, group = level.partition(PERSONA_SEPARATOR)
    return name, (group or None)


def option_permutation(level: str, n_options: int, item_id: str, seed: int) -> list[int]:
    """Displayed position → canonical option index for an ``option_order`` level.

    ``shuffle-k`` draws a permutation from ``numpy.random.default_rng`` seeded by
    the spec seed, the item id and k, so each item gets its own stable shuffle.
    """
    if level == "original":
        return list(range(n_options))
    if level == "reversed":
        return list(range(n_options))[::-1]
    match = _SHUFFLE.match(level)
    if not match:
        raise ValueError(f"unknown option_order level {level!r}")
    digest = hashlib.sha256(f"{seed}|{item_id}|{match.group(1)}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return [int(i) for i in rng.permutation(n_options)]


def option_labels(style: str, options: list[str]) -> list[str]:
    """The label shown before each displayed option (the option text itself for ``text``)."""
    if style == "letters":
        if len(options) > 26:
            raise ValueError("letters label style supports at most 26 options")
        return list(string.ascii_uppercase[: len(options)])
    if style == "numbers":
        return [str(i + 1) for i in range(len(options))]
    if style == "text":
        return list(options)
    raise ValueError(f"unknown label_style {style!r}")


def validate_levels(
    factors: dict[str, list[str]], params: SurveyParams, groups: set[str], languages: set[str]
) -> list[str]:
    """One problem line per unknown factor or level."""
    return factor_problems(factors, KNOWN_FACTORS, "survey", lambda factor, level: _level_problem(factor, level, params, groups, languages))


def _level_problem(factor: str, level: str, params: SurveyParams, groups: set[str], languages: set[str]) -> str | None:
    if factor == "option_order":
        if level in ("original", "reversed") or _SHUFFLE.match(level):
            return None
        return f"unknown level {level!r}; expected one of original, reversed, shuffle-1, shuffle-2, …"
    if factor == "label_style":
        return None if level in LABEL_STYLES else f"unknown level {level!r}; expected one of {', '.join(LABEL_STYLES)}"
    if factor == "template":
        known = sorted({*BUILTIN_TEMPLATES, *params.templates})
        return None if level in known else f"unknown level {level!r}; expected one of {', '.join(known)} (or add it under instrument.params.templates)"
    if factor == "persona":
        name, group = split_persona(level)
        known = sorted({"none", *BUILTIN_PERSONAS, *params.personas})
        if name not in known:
            return f"unknown level {level!r}; expected one of {', '.join(known)} (or add it under instrument.params.personas)"
        if group is not None and group not in groups:
            return f"unknown group {group!r}; expected one of {', '.join(sorted(groups))}"
        return None
    if factor == "language":
        if level == params.base_language or level in languages:
            return None
        return f"unknown language {level!r}; expected {params.base_language} or a language the items are translated into ({', '.join(sorted(languages)) or 'none'})"
    return None
