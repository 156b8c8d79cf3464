"""The survey instrument: render survey items as prompts and read back a distribution.

Every design factor is undone before scoring: displayed labels are mapped back
to canonical option indices, so ``option_probs`` is always in the data set's own
option order whatever order or labels the model saw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from forkingpaths.design import Condition
from forkingpaths.instruments.base import Analysis, FollowUp, StageResult, TrialContext
from forkingpaths.instruments.survey import factors as F
from forkingpaths.instruments.survey.data import load_survey_items
from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.instruments.survey.parsing import read_choice
from forkingpaths.instruments.survey.presentation import SurveyPresentation
from forkingpaths.models.base import Capabilities, Message, Request, Response
from forkingpaths.results import Estimate, Finding, Tone
from forkingpaths.spec import DataSpec, Spec

def sample_seed(seed: int, item_id: str, condition_id: str, repeat: int) -> int:
    """A sampling seed of its own for every (item, condition, repeat), derived from the spec seed.

    Sharing one seed across items would correlate their sampling errors (every item's
    repeat r would draw the same random numbers), which makes item-resampling intervals
    too narrow; hashing keeps draws independent and still reproducible.
    """
    digest = hashlib.sha256(f"{seed}|{item_id}|{condition_id}|{repeat}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class SurveyRecord:
    """The survey's trials-table columns.

    ``answer`` is the canonical option the model chose (``None`` when the text could
    not be parsed, never a default option); ``option_probs`` is the distribution over
    the canonical options (NaN for options a backend could not score); ``valid_mass``
    the raw probability mass on valid labels; ``parse_note`` why a sampled answer that
    names an option was not scored (``label-text conflict``, ``echoed options``), else ``None``.
    """

    answer: str | None
    option_probs: list[float] | None
    valid_mass: float | None
    parse_note: str | None = None


#: Verdict words that mean the claim holds (shown in the "good" tone); see docs/survey.md.
GOOD_VERDICTS = frozenset(
    {"stable", "robust", "specific", "extrapolates", "design noise below group differences", "sampling bias small"}
)
BAD_VERDICTS = frozenset({"no scored answers"})


def _tone(verdict: str) -> Tone:
    if verdict in GOOD_VERDICTS:
        return "good"
    return "bad" if verdict in BAD_VERDICTS else "caution"


def _finite_estimate(record: dict[str, Any] | None) -> Estimate | None:
    """The finding's number as an :class:`Estimate`, NaN bounds (too few items) as missing."""
    if record is None:
        return None
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
    return Estimate.model_validate(clean)


class SurveyInstrument:
    """Distributional alignment of a model's answers to human groups' answers."""

    name: ClassVar[str] = "survey"
    record: ClassVar[type] = SurveyRecord
    roles: ClassVar[tuple[str, ...]] = ()
    presentation = SurveyPresentation()

    def __init__(self, params: dict[str, Any], seed: int = 0) -> None:
        self.params, self._param_problems = F.SurveyParams.from_dict(params)
        self.seed = seed

    # -- set-up -----------------------------------------------------------------
    def load_items(self, data: DataSpec, base_dir: Path) -> list[SurveyItem]:
        return load_survey_items(data, base_dir)

    def item_record(self, item: SurveyItem) -> dict[str, Any]:
        return dataclasses.asdict(item)

    def validate(self, spec: Spec, items: list[SurveyItem]) -> list[str]:
        groups = {g for item in items for g in item.groups}
        languages = {lang for item in items for lang in item.translations}
        problems = list(self._param_problems)
        problems += F.validate_levels(spec.factors, self.params, groups, languages)
        problems += self._settings_without_effect(spec)
        for group in self.params.persona_groups:
            if group not in groups:
                problems.append(f"instrument.params.persona_groups: unknown group {group!r}; expected one of {', '.join(sorted(groups))}")
        for i, language in enumerate(spec.factors.get("language", [])):
            if language == self.params.base_language:
                continue
            missing = [item.item_id for item in items if language not in item.translations]
            if missing:
                problems.append(f"factors.language[{i}]: items without a {language!r} translation: {', '.join(missing[:5])}")
            for j, template in enumerate(spec.factors.get("template", ["plain"])):
                if self.params.template_text(template, language) is None:
                    problems.append(
                        f"instrument.params.translations.{language}.templates.{template}: missing (needed by factors.template[{j}])"
                    )
            for style in spec.factors.get("label_style", ["letters"]):
                if self.params.instruction(style, language) is None:
                    problems.append(f"instrument.params.translations.{language}.instructions.{style}: missing")
        return problems

    def _settings_without_effect(self, spec: Spec) -> list[str]:
        """Spec settings the user gave that could not change any request: an error, not a warning
        (a warning scrolls past, and the run's answers would not be what the spec says)."""
        problems = []
        if "temperature" in spec.sampling.model_fields_set:
            problems.append(
                "sampling.temperature: has no effect on the survey instrument (logprob answers are read at temperature 0; "
                "set the temperature of sampled answers with instrument.params.sample_temperature)"
            )
        if self.params.elicitation == "logprobs":
            if "max_tokens" in spec.sampling.model_fields_set:
                problems.append("sampling.max_tokens: has no effect with instrument.params.elicitation logprobs (one token is read)")
            if spec.repeats > 1:
                problems.append(
                    "repeats: has no effect with instrument.params.elicitation logprobs (every repeat reads the same "
                    "probabilities); use 1, or elicitation sample"
                )
        return problems

    def expand_factors(self, factors: dict[str, list[str]], items: list[SurveyItem]) -> dict[str, list[str]]:
        """Expand each persona into one level per target group (validation requires ``{group}`` in its text)."""
        if "persona" not in factors:
            return dict(factors)
        groups = list(self.params.persona_groups) or sorted({g for item in items for g in item.groups})
        expanded: list[str] = []
        for level in factors["persona"]:
            name, group = F.split_persona(level)
            text = self.params.persona_text(name)
            if name == "none" or group is not None or text is None or "{group}" not in text:
                expanded.append(level)
            else:
                expanded.extend(f"{name}{F.PERSONA_SEPARATOR}{g}" for g in groups)
        return {**factors, "persona": list(dict.fromkeys(expanded))}

    # -- per trial ------------------------------------------------------------------
    def elicitation(self, capabilities: Capabilities) -> str:
        if self.params.elicitation == "auto":
            return "logprobs" if capabilities.choice_logprobs else "sample"
        return self.params.elicitation

    def _display(self, item: SurveyItem, condition: Condition) -> tuple[list[int], list[str], str, list[str]]:
        """Permutation, labels, question text and displayed option texts for one condition."""
        levels = condition.as_dict()
        language = levels.get("language", self.params.base_language)
        if language != self.params.base_language:
            question, options = item.translations[language].question, list(item.translations[language].options)
        else:
            question, options = item.question, list(item.options)
        perm = F.option_permutation(levels.get("option_order", "original"), len(options), item.item_id, self.seed)
        shown = [options[i] for i in perm]
        labels = F.option_labels(levels.get("label_style", "letters"), shown)
        return perm, labels, question, shown

    def render(self, trial: TrialContext) -> Request:
        item, condition, repeat, spec = trial.item, trial.condition, trial.repeat, trial.spec
        levels = condition.as_dict()
        language = levels.get("language", self.params.base_language)
        style = levels.get("label_style", "letters")
        _, labels, question, shown = self._display(item, condition)
        if style == "text":
            option_block = "\n".join(f"- {text}" for text in shown)
        else:
            option_block = "\n".join(f"{label}. {text}" for label, text in zip(labels, shown))
        persona_name, group = F.split_persona(levels.get("persona", "none"))
        group_name = self.params.group_names.get(group, group) if group else ""
        template = self.params.template_text(levels.get("template", "plain"), language) or ""
        instruction = self.params.instruction(style, language) or ""
        body = template.replace("{question}", question).replace("{options}", option_block).replace("{group}", group_name)
        body = body.replace("{instruction}", instruction) if "{instruction}" in template else f"{body}\n\n{instruction}"
        messages: list[Message] = []
        if persona_name != "none":
            persona = (self.params.persona_text(persona_name) or "").replace("{group}", group_name)
            messages.append(Message("system", F.PERSONA_SYSTEM.replace("{persona}", persona)))
        messages.append(Message("user", body.strip()))
        if self.elicitation(trial.capabilities) == "logprobs":
            return Request("choice_logprobs", tuple(messages), labels=tuple(labels), temperature=0.0, max_tokens=1)
        max_tokens = max(spec.sampling.max_tokens, max(len(t) for t in labels) // 2 + 8)
        return Request(
            "generate",
            tuple(messages),
            labels=tuple(labels),
            temperature=self.params.sample_temperature,
            max_tokens=max_tokens,
            seed=sample_seed(self.seed, item.item_id, condition.id, repeat),
        )

    def follow_up(self, trial: TrialContext, done: Sequence[StageResult]) -> FollowUp | None:
        """A survey answer is one request."""
        return None

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> SurveyRecord:
        """Canonical answer and distribution from either elicitation mode."""
        item, condition = trial.item, trial.condition
        request, response = done[0].request, done[0].response
        labels = list(request.labels)
        perm, _, _, shown = self._display(item, condition)
        if request.mode == "choice_logprobs":
            return self._parse_probabilities(item, labels, perm, response)
        chosen, note = read_choice(response.text or "", labels, shown)
        answer = None if chosen is None else item.options[perm[chosen]]
        return SurveyRecord(answer=answer, option_probs=None, valid_mass=None, parse_note=note)

    @staticmethod
    def _parse_probabilities(item: SurveyItem, labels: list[str], perm: list[int], response: Response) -> SurveyRecord:
        probs = response.label_probs or {}
        canonical: list[float | None] = [None] * len(labels)
        for position, label in enumerate(labels):
            canonical[perm[position]] = probs.get(label)
        scored = [(p, i) for i, p in enumerate(canonical) if p is not None]
        answer = item.options[max(scored)[1]] if scored else None
        return SurveyRecord(
            answer=answer,
            option_probs=[math.nan if p is None else float(p) for p in canonical],
            valid_mass=response.valid_mass,
        )

    # -- analyses ----------------------------------------------------------------------
    def analyse(self, trials: pd.DataFrame, items: list[SurveyItem], spec: Spec) -> Analysis:
        from forkingpaths.instruments.survey.analysis import analyse_survey

        results, alignment = analyse_survey(trials, items, spec)
        results.pop("instrument", None)
        findings = [
            Finding(
                subject=f["model"],
                topic=f["topic"],
                claim=f["text"],
                verdict=f["verdict"],
                rule=f["rule"],
                tone=_tone(f["verdict"]),
                estimate=_finite_estimate(f.get("estimate")),
            )
            for f in results.pop("findings")
        ]
        return Analysis(results, findings, {"alignment": alignment})
