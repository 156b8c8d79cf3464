"""A scripted backend family for the contract tests: instant, deterministic answers, and failures on demand.

Used only where a real model cannot produce the fault on demand (a chosen share
of requests failing permanently) and where every registered instrument must be
exercised quickly; the real backends have their own tests in tests/models.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from forkingpaths.models.base import BackendSettings, Capabilities, PermanentBackendError, Request, Response

CALLS: list[str] = []


def _digest(request: Request) -> int:
    return int(hashlib.sha256(request.canonical_json().encode()).hexdigest()[:8], 16)


class ScriptedBackend:
    name = "scripted"
    capabilities = Capabilities(generate=True, choice_logprobs=True, embed=False, exact_logprobs=True)
    max_concurrency = 4

    def __init__(self, fail_every: int) -> None:
        self.identity = f"scripted|fail-every-{fail_every}"
        self.fail_every = fail_every

    async def complete(self, request: Request) -> Response:
        CALLS.append(request.canonical_json())
        digest = _digest(request)
        if self.fail_every and digest % self.fail_every == 0:
            raise PermanentBackendError("scripted failure")
        if request.mode == "choice_logprobs":
            weights = [(digest >> i) % 7 + 1 for i in range(len(request.labels))]
            total = sum(weights)
            return Response(label_probs={lab: w / total for lab, w in zip(request.labels, weights)}, valid_mass=0.5)
        label = request.labels[digest % len(request.labels)] if request.labels else "yes"
        return Response(text=f"{label}.", prompt_tokens=3, completion_tokens=1)

    def versions(self) -> dict[str, str]:
        return {"scripted": "1"}

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class ScriptedFactory:
    reference: str
    fail_every: int
    name: str = ScriptedBackend.name
    capabilities: Capabilities = ScriptedBackend.capabilities
    max_concurrency: int = ScriptedBackend.max_concurrency

    def identity(self) -> str:
        return f"scripted|fail-every-{self.fail_every}"

    def probe(self) -> None:
        return None

    def build(self) -> ScriptedBackend:
        return ScriptedBackend(self.fail_every)


class ScriptedFamily:
    """``scripted`` never fails; ``scripted:N`` fails every request whose hash is divisible by N."""

    syntax = ("scripted", "scripted:N")
    example = "scripted"

    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> ScriptedFactory:
        if rest is not None and not rest.isdigit():
            raise ValueError("expected 'scripted' or 'scripted:N'")
        return ScriptedFactory(reference, int(rest or 0))

    def describe(self, settings: BackendSettings) -> dict[str, object]:
        return {"description": "scripted answers for tests", "capabilities": {}}


FAMILY = ScriptedFamily()
