"""The judge-audit instrument: render a pairwise judging request, map the verdict back, score it.

Design: the judge under audit is the **evaluated model** (``models:``): the items give both
responses, so a trial is one request, the judge's verdict, and the trials table has one
row per judge (a jury is several models; analyses aggregate them). No role is needed.
``params.mode: generated`` makes :class:`~.generated.GeneratedJudgeInstrument` instead: the
evaluated model writes the response, the ``judge`` role grades it (docs/judge.md); ``params.mode: single``
makes :class:`~.single.SingleJudgeInstrument`: the judge scores one response on a scale against a human score.

Factors (each optional; the default level is shown first):
``position`` original | swapped; ``artifact`` none | <artifact>-worse | <artifact>-better;
``judge_template`` verdict | rubric | a user template; ``verdict_format`` probs | generate.
Artifact levels may also name the response: ``<artifact>-a`` / ``<artifact>-b``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from forkingpaths.instruments.base import Analysis, SingleStage, StageResult, TrialContext, factor_problems
from forkingpaths.instruments.judge import perturb, prompts
from forkingpaths.instruments.judge.data import load_pair_items
from forkingpaths.instruments.judge.items import PairItem
from forkingpaths.instruments.judge.presentation import JudgePresentation
from forkingpaths.instruments.judge.winrate import MIN_LABELS
from forkingpaths.design import Condition
from forkingpaths.models.base import Capabilities, Message, Request, Response
from forkingpaths.spec import DataSpec, Spec

FACTORS: dict[str, tuple[str, ...]] = {
    "position": ("original", "swapped"),
    "artifact": (perturb.NONE,),
    "judge_template": tuple(prompts.BUILTIN_TEMPLATES),
    "verdict_format": prompts.FORMATS,
}
MODES = ("pairs", "generated", "single")
PARAMS = ("templates", "perturbations", "family", "ppi_labels", "mode", "reference")


@dataclass(frozen=True)
class JudgeRecord:
    """One verdict. Responses are named in canonical order (A, B as in the data); ``shown_*`` in display order."""

    judge: str | None
    gold: str | None
    category: str | None
    shown_first: str | None  # the canonical response shown as "Response A"
    verdict: str | None  # canonical A / B / tie; None when unparsable
    shown_verdict: str | None  # the verdict as displayed (A = the response shown first)
    parsed: bool | None
    p_a: float | None
    p_b: float | None
    p_tie: float | None
    valid_mass: float | None
    correct: bool | None  # None when unparsable or the pair has no gold label
    perturbed: str | None  # the canonical response the artifact changed
    perturbed_side: str | None  # worse / better (by the gold label)
    chose_perturbed: bool | None
    p_perturbed: float | None
    length_a: int | None  # characters, after perturbation
    length_b: int | None


def level(trial: TrialContext, factor: str) -> str:
    return trial.levels.get(factor, FACTORS[factor][0])


def swap(label: str | None) -> str | None:
    return {"A": "B", "B": "A"}.get(label, label) if label is not None else None


class JudgeInstrument(SingleStage):
    """Audits an LLM judge on labelled pairs across position, artifact, template and verdict format."""

    name: ClassVar[str] = "judge"
    record: ClassVar[type] = JudgeRecord
    roles: ClassVar[tuple[str, ...]] = ()

    def __new__(cls, params: dict[str, Any], seed: int = 0) -> JudgeInstrument:
        """``params.mode: generated`` gives the two-stage instrument (the evaluated model writes, the ``judge`` role grades); ``single`` the one-response scorer."""
        if cls is JudgeInstrument and params.get("mode") == "generated":
            from forkingpaths.instruments.judge.generated import GeneratedJudgeInstrument

            return super().__new__(GeneratedJudgeInstrument)
        if cls is JudgeInstrument and params.get("mode") == "single":
            from forkingpaths.instruments.judge.single import SingleJudgeInstrument

            return super().__new__(SingleJudgeInstrument)
        return super().__new__(cls)

    def __init__(self, params: dict[str, Any], seed: int = 0) -> None:
        self.params = dict(params)
        self.seed = seed
        self.templates = {**prompts.BUILTIN_TEMPLATES, **{str(k): str(v) for k, v in (params.get("templates") or {}).items()}}
        raw = params.get("perturbations") or {}
        self.artifacts = perturb.artifacts(raw if isinstance(raw, dict) else {})
        self.family = str(params.get("family", perturb.DEFAULT_FAMILY))
        labels = params.get("ppi_labels")
        self.ppi_labels = labels if isinstance(labels, int) and not isinstance(labels, bool) else None

    presentation = JudgePresentation()

    def load_items(self, data: DataSpec, base_dir: Path) -> list[PairItem]:
        return load_pair_items(data, base_dir)

    def validate(self, spec: Spec, items: list[PairItem]) -> list[str]:
        problems = [f"instrument.params.{k}: not a judge option; expected one of {', '.join(PARAMS)}" for k in self.params if k not in PARAMS]
        labels = self.params.get("ppi_labels")
        if labels is not None and (self.ppi_labels is None or labels < MIN_LABELS):
            problems.append(f"instrument.params.ppi_labels: expected a whole number of at least {MIN_LABELS} (labelled items kept for the prediction-powered win rate), got {labels!r}")
        for key in ("templates", "perturbations"):
            if key in self.params and not isinstance(self.params[key], dict):
                problems.append(f"instrument.params.{key}: expected a mapping of name to text")
        for name in (self.params.get("templates") or {}) if isinstance(self.params.get("templates"), dict) else {}:
            if name in prompts.BUILTIN_TEMPLATES:
                problems.append(f"instrument.params.templates.{name}: is a built-in template name; choose another")
            else:
                problems += prompts.template_problems(name, str(self.params["templates"][name]))
        for name in (self.params.get("perturbations") or {}) if isinstance(self.params.get("perturbations"), dict) else {}:
            if name in perturb.BUILTIN or "-" in name and name.rpartition("-")[2] in perturb.SIDES:
                problems.append(f"instrument.params.perturbations.{name}: reuses a built-in name or ends in -worse/-better/-a/-b")
        problems += factor_problems(spec.factors, FACTORS, "judge", self._level_problem)
        mode = self.params.get("mode", "pairs")
        if mode not in MODES:
            problems.append(f"instrument.params.mode: expected one of {', '.join(MODES)}, got {mode!r}")
        problems += self._mode_problems(spec, items)
        return problems

    def _mode_problems(self, spec: Spec, items: list[PairItem]) -> list[str]:
        problems = []
        if "reference" in self.params:
            problems.append("instrument.params.reference: only used with mode: generated")
        if not any(item.label is not None for item in items):
            problems.append("data: no pair has a gold label (or a human majority); accuracy cannot be measured")
        return problems

    def _level_problem(self, factor: str, value: str) -> str | None:
        if factor == "artifact":
            try:
                parsed = perturb.split_level(value)
            except ValueError as error:
                return str(error)
            if parsed and parsed[0] not in self.artifacts:
                return f"unknown artifact {parsed[0]!r}; expected one of {', '.join(self.artifacts)}"
            return None
        known = tuple(self.templates) if factor == "judge_template" else FACTORS[factor]
        return None if value in known else f"unknown level {value!r}; expected one of {', '.join(known)}"

    def _shown(self, item: PairItem, trial: TrialContext) -> tuple[perturb.Perturbed, bool]:
        changed = perturb.perturb(item, level(trial, "artifact"), self.artifacts, self.family)
        return changed, level(trial, "position") == "swapped"

    def prompt_for(self, item: PairItem, trial: TrialContext) -> str:
        """The judging prompt of a pair under a trial's condition (the responses perturbed, then placed in display order)."""
        changed, swapped = self._shown(item, trial)
        first, second = (changed.response_b, changed.response_a) if swapped else (changed.response_a, changed.response_b)
        return prompts.render_prompt(self.templates[level(trial, "judge_template")], item.instruction, first, second)

    def prompt(self, trial: TrialContext) -> str:
        return self.prompt_for(trial.item, trial)

    def judging_request(self, item: PairItem, trial: TrialContext) -> Request:
        messages = (Message("user", self.prompt_for(item, trial)),)
        if level(trial, "verdict_format") == "probs":
            return Request("choice_logprobs", messages, labels=prompts.VERDICT_LABELS, max_tokens=1)
        sampling = trial.spec.sampling
        seed = self.seed + trial.repeat if sampling.temperature > 0 else None
        return Request("generate", messages, temperature=sampling.temperature, max_tokens=sampling.max_tokens, seed=seed)

    def render(self, trial: TrialContext) -> Request:
        return self.judging_request(trial.item, trial)

    def pair_fields(self, item: PairItem, trial: TrialContext) -> dict[str, Any]:
        """What a trial's condition makes of the pair, whoever judges it."""
        changed, swapped = self._shown(item, trial)
        return {"gold": item.label, "category": item.category, "shown_first": "B" if swapped else "A",
                "perturbed": changed.target, "perturbed_side": changed.side if changed.target else None,
                "length_a": len(changed.response_a), "length_b": len(changed.response_b)}

    def verdict_fields(self, item: PairItem, trial: TrialContext, response: Response) -> dict[str, Any]:
        """One judge's answer mapped back to the canonical order: verdict, probabilities, whether it chose the perturbed response."""
        changed, swapped = self._shown(item, trial)
        probs: dict[str, float | None] = {}
        if response.label_probs:
            shown = response.label_probs
            probs = {"A": shown.get("B" if swapped else "A"), "B": shown.get("A" if swapped else "B"), "tie": shown.get("tie")}
            scored = {k: v for k, v in probs.items() if v is not None}
            verdict = max(scored, key=lambda k: scored[k]) if scored else None
        else:
            verdict = swap(prompts.parse_verdict(response.text)) if swapped else prompts.parse_verdict(response.text)
        target = changed.target
        return {"verdict": verdict, "shown_verdict": swap(verdict) if swapped else verdict, "parsed": verdict is not None,
                "p_a": probs.get("A"), "p_b": probs.get("B"), "p_tie": probs.get("tie"), "valid_mass": response.valid_mass,
                "chose_perturbed": None if verdict is None or target is None else verdict == target,
                "p_perturbed": probs.get(target) if target else None}

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> object:  # a JudgeRecord; the generated mode narrows it
        item: PairItem = trial.item
        fields = self.verdict_fields(item, trial, done[0].response)
        correct = None if fields["verdict"] is None or item.label is None else fields["verdict"] == item.label
        return JudgeRecord(judge=done[0].model, correct=correct, **self.pair_fields(item, trial), **fields)

    def analyse(self, trials: pd.DataFrame, items: list[PairItem], spec: Spec) -> Analysis:
        from forkingpaths.instruments.judge.analysis import analyse

        def prompt_of(item: PairItem, levels: dict[str, str]) -> str:
            return self.prompt_for(item, TrialContext(item, Condition(tuple(levels.items())), 0, "", spec, Capabilities()))

        return analyse(trials, items, spec, self.ppi_labels, prompt_of)
