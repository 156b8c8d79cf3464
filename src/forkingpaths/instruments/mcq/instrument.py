"""The MCQ instrument: render multiple-choice items under design factors, read the answer back.

Every factor is undone before scoring: the displayed position a model picks is mapped
through the trial's permutation to the canonical option (the data set's own order,
after ``nota``), so ``chosen``, ``probs`` and ``gold`` mean the same thing under every
option order and label style.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from forkingpaths.errors import SpecError
from forkingpaths.instruments.base import Analysis, SingleStage, StageResult, TrialContext
from forkingpaths.instruments.mcq import factors as F
from forkingpaths.instruments.mcq.items import MCQItem
from forkingpaths.instruments.mcq.loaders import load_mcq_items
from forkingpaths.instruments.mcq.presentation import MCQPresentation
from forkingpaths.models.base import Capabilities, Message, Request, Response
from forkingpaths.spec import DataSpec, Spec


@dataclass(frozen=True)
class MCQRecord:
    """The MCQ trials-table columns (all canonical: the data set's option order after ``nota``).

    ``chosen`` is the canonical index of the answer (``None`` when a generated answer could
    not be parsed; never a default option), ``correct`` whether it is the gold one (an
    unparsable answer is not correct), ``parsed`` whether an answer was read at all.
    ``probs`` is the distribution over the canonical options renormalised over the labels
    (NaN for a label a backend could not score), ``valid_mass`` the raw mass on the labels,
    ``gold_prob`` the gold option's renormalised probability, ``gold_rank`` 1 + the number
    of options more probable than gold. ``permutation[p]`` is the canonical option shown at
    position p; ``chosen_position`` and ``gold_position`` are displayed positions (0-based).
    ``chosen_norm``/``correct_norm`` (``cloze`` only): the option with the largest
    log-likelihood per character of its text (lm-evaluation-harness ``acc_norm``).
    """

    correct: bool | None
    parsed: bool | None
    chosen: int | None
    gold: int | None
    n_options: int | None
    gold_prob: float | None
    gold_rank: int | None
    valid_mass: float | None
    probs: list[float] | None
    permutation: list[int] | None
    chosen_position: int | None
    gold_position: int | None
    chosen_norm: int | None
    correct_norm: bool | None


@dataclass(frozen=True)
class Display:
    """What one trial shows: canonical options (after nota), gold, permutation, labels, texts."""

    options: list[str]
    gold: int
    perm: list[int]
    labels: list[str]
    shown: list[str]


# ----------------------------------------------------------------------- the parse rule
_LEAD = re.compile(r"^[\s*_`\"'(\[]+")
_LABEL_END = ".):,;]*_`\"'\n"
_TRAIL_PUNCT = re.compile(r"[\s*_`\"'.!,;:)\]]+$")


def parse_answer(text: str, labels: Sequence[str], shown: Sequence[str]) -> int | None:
    """The displayed position a generated answer picks, or ``None`` (unparsable, counted as such).

    The rule, in order (labels compared without case; the first step that decides wins):

    1. the answer (after leading spaces, quotes, brackets and markdown ``*``/``_``) opens with a
       label, alone or followed by ``.``, ``)``, ``:``, ``,``, ``;``, a closing quote or markdown
       mark or a line break (``B``, ``(B)``, ``**B**``, ``B. Paris``); a label followed by a space and a word
       is not read, so the article "A" in "A chameleon …" is not option A;
    2. the first ``answer is X`` / ``answer: X`` / ``option X`` / ``choice X`` with X a label
       followed by a non-alphanumeric character or the end;
    3. the wording of exactly one displayed option occurs in the answer (if several do and
       all are contained in the longest one, the longest);
    4. otherwise unparsable: never defaulted to an option.
    """
    cleaned = _LEAD.sub("", text.strip())
    low = cleaned.lower()
    keys = [label.lower() for label in labels if label]
    if keys:
        for position, key in enumerate(label.lower() for label in labels):
            if low.startswith(key):
                rest = low[len(key) :]
                if not rest.strip() or rest[0] in _LABEL_END or (rest[0] == " " and not rest.strip()[0].isalnum()):
                    return position
        pattern = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
        found = re.search(rf"\b(?:answer\s*(?:is|:)|option|choice)\s*\(?({pattern})(?![a-z0-9])", low)
        if found:
            return keys.index(found.group(1))
    present = [p for p, option in enumerate(shown) if _TRAIL_PUNCT.sub("", option.lower()) in low]
    if len(present) == 1:
        return present[0]
    if present:
        longest = max(present, key=lambda p: len(shown[p]))
        if all(shown[p].lower() in shown[longest].lower() for p in present):
            return longest
    return None


def gold_rank_of(probs: Sequence[float], gold: int) -> int | None:
    """1 + the number of options more probable than the gold one (ties share the better rank); None when its probability is unknown.

    Public because importers fill the same record from another tool's option scores.
    """
    if math.isnan(probs[gold]):
        return None
    return 1 + sum(1 for i, p in enumerate(probs) if i != gold and not math.isnan(p) and p > probs[gold])


class MCQInstrument(SingleStage):
    """Accuracy and consistency of multiple-choice answers across design choices."""

    name: ClassVar[str] = "mcq"
    record: ClassVar[type] = MCQRecord
    presentation = MCQPresentation()

    def __init__(self, params: dict[str, Any], seed: int = 0) -> None:
        self.params, self._param_problems = F.MCQParams.from_dict(params)
        self.seed = seed

    # -- set-up -------------------------------------------------------------------------
    def load_items(self, data: DataSpec, base_dir: Path) -> list[MCQItem]:
        return load_mcq_items(data, base_dir)

    def item_record(self, item: MCQItem) -> dict[str, Any]:
        record = dataclasses.asdict(item)
        record["dev"] = len(item.dev)  # the pool's size; its texts are in the data, not the report
        return record

    def validate(self, spec: Spec, items: list[MCQItem]) -> list[str]:
        min_pool = min((len(item.dev) for item in items), default=0)
        problems = list(self._param_problems) + F.validate_levels(spec.factors, self.params, min_pool)
        if any(item.n_options > 26 for item in items) and set(spec.factors.get("label_style", ["letters"])) & {"letters", "lower"}:
            problems.append("factors.label_style: letter labels support at most 26 options; an item has more (use numbers)")
        return problems + self._language_problems(spec.factors, items)

    def _language_problems(self, factors: dict[str, list[str]], items: list[MCQItem]) -> list[str]:
        """Every translated language needs each item's translation and the texts of every level it meets."""
        problems: list[str] = []
        elicitations = set(factors.get("elicitation", [self.params.elicitation]))
        asked = set() if elicitations == {"cloze"} else set(factors.get("label_style", ["letters"]))
        if "cloze" in elicitations:
            asked.add("none")  # cloze asks for the option text
        for i, language in enumerate(factors.get("language", [])):
            if language == self.params.base_language:
                continue
            missing = [item.item_id for item in items if language not in item.translations]
            if missing:
                problems.append(f"factors.language[{i}]: items without a {language!r} translation (data.params.translations): {', '.join(missing[:5])}")
            where = f"instrument.params.translations.{language}"
            for template in factors.get("template", ["plain"]):
                if self.params.template(template, language) is None:
                    problems.append(f"{where}.templates.{template}: missing (needed by factors.template)")
            for style in sorted(asked):
                if self.params.words(language, style)[0] is None:
                    problems.append(f"{where}.instructions.{style}: missing")
            if set(factors.get("nota", ["none"])) - {"none"} and self.params.words(language, "letters")[3] is None:
                problems.append(f"{where}.nota: missing (the 'None of the above' text, needed by factors.nota)")
            if set(factors.get("few_shot", ["0"])) - {"0"}:
                problems.append(f"factors.language[{i}]: few-shot examples are not translated; use few_shot [0] with a translated language")
        return problems

    def expand_factors(self, factors: dict[str, list[str]], items: list[MCQItem]) -> dict[str, list[str]]:
        """``option_order: circular`` → one ``rotate-R`` level per rotation of the largest item."""
        if "circular" not in factors.get("option_order", []):
            return dict(factors)
        return {**factors, "option_order": F.expand_circular(factors["option_order"], max(i.n_options for i in items))}

    # -- per trial ----------------------------------------------------------------------
    def elicitation(self, levels: dict[str, str], capabilities: Capabilities) -> str:
        chosen = levels.get("elicitation", self.params.elicitation)
        if chosen == "auto":
            return "letter" if capabilities.choice_logprobs else "generate"
        return chosen

    def display(self, item: MCQItem, levels: dict[str, str]) -> Display:
        language = levels.get("language", self.params.base_language)
        translated = item.translations.get(language) if language != self.params.base_language else None
        options, gold = list(translated[1] if translated else item.options), item.gold
        nota, nota_text = levels.get("nota", "none"), self.params.words(language, "letters")[3] or F.NOTA_TEXT
        if nota == "add":
            options.append(nota_text)
        elif nota == "replace":
            options[gold] = nota_text
        perm = F.option_permutation(levels.get("option_order", "original"), len(options), item.item_id, self.seed)
        return Display(options, gold, perm, F.labels(levels.get("label_style", "letters"), len(options)), [options[i] for i in perm])

    def _prompt(self, question: str, subject: str | None, labels: list[str], shown: list[str], levels: dict[str, str]) -> str:
        style = levels.get("label_style", "letters")
        asked = "none" if levels.get("elicitation", self.params.elicitation) == "cloze" else style  # cloze scores the option text
        language = levels.get("language", self.params.base_language)
        block = "\n".join(f"- {text}" if style == "none" else f"{label}. {text}" for label, text in zip(labels, shown))
        template = self.params.template(levels.get("template", "plain"), language) or F.TEMPLATES["plain"]
        instruction, label_word, subject_phrase, _ = self.params.words(language, asked)
        body = (
            template.replace("{question}", question)
            .replace("{options}", block)
            .replace("{instruction}", instruction or "")
            .replace("{subject}", subject_phrase.replace("{subject}", subject) if subject else "")
            .replace("{label_word}", label_word)
        )
        return re.sub(r"\n{3,}", "\n\n", body).strip()

    def messages(self, item: MCQItem, levels: dict[str, str]) -> tuple[Message, ...]:
        """Few-shot turns (each example in its canonical order, answered by its label), then the item."""
        view = self.display(item, levels)
        style = levels.get("label_style", "letters")
        out: list[Message] = []
        for index in F.shots(item.item_id, len(item.dev), int(levels.get("few_shot", "0")), self.seed):
            example = item.dev[index]
            shown = list(example.options)
            ex_labels = F.labels(style, len(shown))
            out.append(Message("user", self._prompt(example.question, item.subject, ex_labels, shown, levels)))
            out.append(Message("assistant", ex_labels[example.gold] if style != "none" else shown[example.gold]))
        language = levels.get("language", self.params.base_language)
        translated = item.translations.get(language) if language != self.params.base_language else None
        question = "" if levels.get("question", "full") == "choices_only" else (translated[0] if translated else item.question)
        out.append(Message("user", self._prompt(question, item.subject, view.labels, view.shown, levels)))
        return tuple(out)

    def render(self, trial: TrialContext) -> Request:
        levels = trial.levels
        view = self.display(trial.item, levels)
        messages = self.messages(trial.item, levels)
        elicitation = self.elicitation(levels, trial.capabilities)
        if elicitation == "letter":
            if not trial.capabilities.choice_logprobs:
                raise SpecError([f"factors.elicitation: {trial.model} cannot give label probabilities (letter); use generate"])
            return Request("choice_logprobs", messages, labels=tuple(view.labels), temperature=0.0, max_tokens=1)
        if elicitation == "cloze":
            if not trial.capabilities.loglikelihood:
                raise SpecError([
                    f"factors.elicitation: {trial.model} cannot score option texts (cloze needs loglikelihood requests; over HTTP, "
                    "add ';chat_template=/path/model.gguf' for a server that echoes prompt log-probabilities); use letter or generate"
                ])
            return Request("loglikelihood", messages, temperature=0.0, max_tokens=1, continuations=tuple(view.shown))
        labels = tuple(label for label in view.labels if label)
        return Request("generate", messages, labels=labels, temperature=0.0, max_tokens=self.params.max_tokens)

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> MCQRecord:
        view = self.display(trial.item, trial.levels)
        request, response = done[0].request, done[0].response
        if request.mode == "choice_logprobs":
            return self._from_probabilities(view, response, view.labels)
        if request.mode == "loglikelihood":
            logliks: dict[str, float] = response.extra.get("label_logprobs") or {}  # type: ignore[assignment]
            per_char = {p: logliks[text] / len(text) for p, text in enumerate(view.shown) if text in logliks}
            norm = max(per_char, key=per_char.__getitem__) if per_char else None
            return self._from_probabilities(view, response, view.shown, norm)
        position = parse_answer(response.text or "", view.labels, view.shown)
        return self._record(view, position, None, None)

    def _from_probabilities(self, view: Display, response: Response, keys: list[str], norm: int | None = None) -> MCQRecord:
        """The record from probabilities keyed by what was scored at each displayed position (labels or option texts)."""
        found = response.label_probs or {}
        probs = [math.nan] * len(view.options)
        for shown_at, key in enumerate(keys):
            p = found.get(key)
            probs[view.perm[shown_at]] = math.nan if p is None else float(p)
        scored = [p for p in range(len(keys)) if not math.isnan(probs[view.perm[p]])]
        position = max(scored, key=lambda p: probs[view.perm[p]]) if scored else None
        return self._record(view, position, probs, response.valid_mass, norm)

    @staticmethod
    def _record(view: Display, position: int | None, probs: list[float] | None, mass: float | None, norm: int | None = None) -> MCQRecord:
        chosen = None if position is None else view.perm[position]
        chosen_norm = None if norm is None else view.perm[norm]
        return MCQRecord(
            correct=chosen == view.gold,
            parsed=chosen is not None,
            chosen=chosen,
            gold=view.gold,
            n_options=len(view.options),
            gold_prob=None if probs is None or math.isnan(probs[view.gold]) else probs[view.gold],
            gold_rank=None if probs is None else gold_rank_of(probs, view.gold),
            valid_mass=mass,
            probs=probs,
            permutation=list(view.perm),
            chosen_position=position,
            gold_position=view.perm.index(view.gold),
            chosen_norm=chosen_norm,
            correct_norm=None if chosen_norm is None else chosen_norm == view.gold,
        )

    # -- analyses -----------------------------------------------------------------------
    def analyse(self, trials: pd.DataFrame, items: list[MCQItem], spec: Spec) -> Analysis:
        from forkingpaths.instruments.mcq.analysis import analyse_mcq

        return analyse_mcq(trials, items, spec)
