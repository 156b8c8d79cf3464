"""The generated-responses mode: the evaluated model writes a response (stage 0), every judge grades it (stage 1).

``instrument.params.mode: generated``. Each item's instruction goes to the evaluated
model (``models:``); its reply becomes the canonical response **A**, and the item's own
response named by ``instrument.params.reference`` (``b`` by default, or ``a``) becomes the
reference **B** — the design of reference-based win rates such as AlpacaEval (Li et al.
2023; Dubois et al. 2024). Every model of the ``judge`` role then judges the pair under the
trial's condition (position, artifact, template, verdict format), so several judges form a
jury. The pair has no gold label (the response is new), so accuracy and agreement with
humans are not measured here; position, artifacts, length, self-consistency, jury agreement
and each judge's win rate of the evaluated model against the reference are. Artifacts are
placed by name (``<artifact>-a`` on the model's response, ``<artifact>-b`` on the reference):
without a label there is no worse or better side.

The record keeps one list entry per judge; the analyses spread them one judge per row
(:func:`~forkingpaths.instruments.judge.common.verdict_frame`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from forkingpaths.instruments.base import FollowUp, StageResult, TrialContext
from forkingpaths.instruments.judge import perturb
from forkingpaths.instruments.judge.instrument import JudgeInstrument
from forkingpaths.instruments.judge.items import PairItem
from forkingpaths.models.base import Message, Request
from forkingpaths.spec import Spec

REFERENCES = ("a", "b")


@dataclass(frozen=True)
class GeneratedRecord:
    """One generated response and every judge's verdict on it against the reference (lists: one entry per judge)."""

    response: str | None  # the evaluated model's response: canonical A
    gold: str | None  # always None: a new response has no label
    category: str | None
    shown_first: str | None
    perturbed: str | None
    perturbed_side: str | None
    length_a: int | None
    length_b: int | None
    judges: list[str]
    verdicts: list[str | None]
    shown_verdicts: list[str | None]
    parsed_list: list[bool]
    p_a_list: list[float | None]
    p_b_list: list[float | None]
    p_tie_list: list[float | None]
    valid_mass_list: list[float | None]
    chose_perturbed_list: list[bool | None]
    p_perturbed_list: list[float | None]


class GeneratedJudgeInstrument(JudgeInstrument):
    """Two stages per trial: the evaluated model answers the instruction; the ``judge`` role compares it with the reference."""

    record: ClassVar[type] = GeneratedRecord
    roles: ClassVar[tuple[str, ...]] = ("judge",)

    def _mode_problems(self, spec: Spec, items: list[PairItem]) -> list[str]:
        problems = []
        if str(self.params.get("reference", "b")) not in REFERENCES:
            problems.append(f"instrument.params.reference: expected a or b (the item's response kept as the reference), got {self.params['reference']!r}")
        for i, value in enumerate(spec.factors.get("artifact", [])):
            parsed = perturb.split_level(value) if value == perturb.NONE or value.rpartition("-")[2] in perturb.SIDES else None
            if parsed and parsed[1] in perturb.BY_GOLD:
                problems.append(f"factors.artifact[{i}]: {value!r} needs a gold label; in mode generated use {parsed[0]}-a (the model's response) or {parsed[0]}-b (the reference)")
        if self.ppi_labels is not None:
            problems.append("instrument.params.ppi_labels: needs human labels of the pairs; not available for generated responses")
        return problems

    def pair(self, trial: TrialContext, done: Sequence[StageResult]) -> PairItem:
        """The judged pair: the evaluated model's reply as A, the reference as B, no label."""
        item: PairItem = trial.item
        reference = item.response_a if str(self.params.get("reference", "b")) == "a" else item.response_b
        return dataclasses.replace(item, response_a=done[0].response.text or "", response_b=reference, label=None, human_labels=())

    def render(self, trial: TrialContext) -> Request:
        sampling = trial.spec.sampling
        seed = self.seed + trial.repeat if sampling.temperature > 0 else None
        return Request("generate", (Message("user", trial.item.instruction),), temperature=sampling.temperature,
                       max_tokens=sampling.max_tokens, seed=seed)

    def follow_up(self, trial: TrialContext, done: Sequence[StageResult]) -> FollowUp | None:
        if len(done) > 1:
            return None
        return FollowUp("judge", self.judging_request(self.pair(trial, done), trial))

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> GeneratedRecord:
        pair = self.pair(trial, done)
        graded = [(r.model, self.verdict_fields(pair, trial, r.response)) for r in done if r.stage == 1]
        lists: dict[str, Any] = {"judges": [model for model, _ in graded]}
        for field, column in (("verdict", "verdicts"), ("shown_verdict", "shown_verdicts"), ("parsed", "parsed_list"),
                              ("p_a", "p_a_list"), ("p_b", "p_b_list"), ("p_tie", "p_tie_list"), ("valid_mass", "valid_mass_list"),
                              ("chose_perturbed", "chose_perturbed_list"), ("p_perturbed", "p_perturbed_list")):
            lists[column] = [fields[field] for _, fields in graded]
        return GeneratedRecord(response=done[0].response.text, **self.pair_fields(pair, trial), **lists)
