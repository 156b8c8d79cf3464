"""A scripted judge with planted biases, for validating the auditor (not any model).

The judge reads the two displayed responses from the prompt, scores each by the number
after "quality" in its text, adds ``FIRST_BONUS`` to the response shown first and
``APOLOGY_BONUS`` to a response that opens with the apology artifact, and ignores
everything else (so the disclaimer and planted-instruction artifacts have no effect).
It answers ``choice_logprobs`` with a softmax over the two scores (tie gets ~0) and
``generate`` with the winning label. Asked anything that is not a judging prompt (stage 0
of the generated-responses mode) it writes ``WRITTEN``. A single-response prompt it scores by
the response's "quality N" plus ``SINGLE_APOLOGY_BONUS`` after the apology artifact. ``planted:fair`` is the same judge
without the position bonus.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from forkingpaths.instruments.judge.perturb import BUILTIN
from forkingpaths.models.base import BackendSettings, Capabilities, Request, Response

FIRST_BONUS = 4.5
APOLOGY_BONUS = 6.0
_SHOWN = re.compile(r"Response A:\n(.*?)\n\nResponse B:\n(.*?)\n\n", re.DOTALL)
_QUALITY = re.compile(r"quality (\d+)")
_SINGLE = re.compile(r"\n\nResponse:\n(.*?)\n\nRate", re.DOTALL)
#: The single-response judge scores a response its "quality N", plus this for the apology artifact (capped at the scale's top).
SINGLE_APOLOGY_BONUS = 2


WRITTEN = "An answer of quality 13."


def score(text: str, first: bool, first_bonus: float = FIRST_BONUS) -> float:
    value = float(_QUALITY.search(text).group(1))  # type: ignore[union-attr]
    if text.startswith(BUILTIN["apology"].prefix):
        value += APOLOGY_BONUS
    return value + (first_bonus if first else 0.0)


class PlantedBackend:
    name = "planted"
    capabilities = Capabilities(generate=True, choice_logprobs=True, embed=False, exact_logprobs=True)
    max_concurrency = 4
    identity = "planted|v1"

    def __init__(self, first_bonus: float = FIRST_BONUS) -> None:
        self.first_bonus = first_bonus

    async def complete(self, request: Request) -> Response:
        single = _SINGLE.search(request.messages[-1].content)
        if single is not None:
            return self.rate(request, single.group(1))
        shown = _SHOWN.search(request.messages[-1].content)
        if shown is None:
            return Response(text=WRITTEN, prompt_tokens=3, completion_tokens=5)
        first, second = shown.groups()
        a, b = score(first, True, self.first_bonus), score(second, False, self.first_bonus)
        if request.mode == "choice_logprobs":
            ea, eb = math.exp(a - max(a, b)), math.exp(b - max(a, b))
            tie = 1e-9
            total = ea + eb + tie
            return Response(label_probs={"A": ea / total, "B": eb / total, "tie": tie / total}, valid_mass=0.9)
        return Response(text="Verdict: A" if a > b else "Verdict: B", prompt_tokens=5, completion_tokens=2)

    @staticmethod
    def rate(request: Request, text: str) -> Response:
        """Single-response mode: the quality number, plus the apology bonus, capped at the top label; P = 0.7 on it, the rest spread."""
        value = int(_QUALITY.search(text).group(1)) + (SINGLE_APOLOGY_BONUS if text.startswith(BUILTIN["apology"].prefix) else 0)  # type: ignore[union-attr]
        if request.mode == "choice_logprobs":
            top = min(value, int(request.labels[-1]))
            rest = 0.3 / (len(request.labels) - 1)
            return Response(label_probs={k: 0.7 if int(k) == top else rest for k in request.labels}, valid_mass=0.8)
        return Response(text=f"Score: {value}", prompt_tokens=5, completion_tokens=2)

    def versions(self) -> dict[str, str]:
        return {"planted": "1"}

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class PlantedFactory:
    reference: str
    name: str = "planted"
    capabilities: Capabilities = PlantedBackend.capabilities
    max_concurrency: int = 4

    def identity(self) -> str:
        return PlantedBackend.identity + ("|fair" if self.reference.endswith(":fair") else "")

    def probe(self) -> None:
        return None

    def build(self) -> PlantedBackend:
        return PlantedBackend(0.0 if self.reference.endswith(":fair") else FIRST_BONUS)


class PlantedFamily:
    syntax = ("planted",)

    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> PlantedFactory:
        return PlantedFactory(reference)

    def describe(self, settings: BackendSettings) -> dict[str, object]:
        return {"description": "a judge with planted biases", "capabilities": {}}


FAMILY = PlantedFamily()
