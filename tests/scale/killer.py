"""A backend family whose process kills itself once, mid-run: a Ray actor dying on demand.

The first backend (in any process) to reach its ``kill_at``-th request takes a marker
file (``O_CREAT | O_EXCL``, so exactly one process ever does) and sends itself SIGKILL,
as an operator or the kernel's OOM killer would. Every other request gets an instant
deterministic answer. Importable by Ray workers (the tests put tests/ on their path).
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

from forkingpaths.models.base import BackendSettings, Capabilities, Request, Response


class SuicidalBackend:
    name = "killer"
    capabilities = Capabilities(generate=True, choice_logprobs=True, exact_logprobs=True)
    max_concurrency = 2

    def __init__(self, marker: str, kill_at: int) -> None:
        self.identity = "killer|1"
        self.marker, self.kill_at, self.calls = marker, kill_at, 0

    async def complete(self, request: Request) -> Response:
        self.calls += 1
        number = self.calls  # concurrent calls: read before yielding
        await asyncio.sleep(0.05)
        if number == self.kill_at:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                os.kill(os.getpid(), signal.SIGKILL)
            except FileExistsError:
                pass
        if request.mode == "choice_logprobs":
            n = len(request.labels)
            return Response(label_probs={label: 1.0 / n for label in request.labels}, valid_mass=0.5)
        return Response(text=f"{request.labels[0] if request.labels else 'ok'}.")

    def versions(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class KillerFactory:
    reference: str
    marker: str
    kill_at: int
    name: str = SuicidalBackend.name
    capabilities: Capabilities = SuicidalBackend.capabilities
    max_concurrency: int = SuicidalBackend.max_concurrency

    def identity(self) -> str:
        return "killer|1"

    def probe(self) -> None:
        return None

    def build(self) -> SuicidalBackend:
        return SuicidalBackend(self.marker, self.kill_at)


class KillerFamily:
    """``killer:/path/to/marker`` (the marker file decides which single process dies)."""

    syntax = ("killer:/path/to/marker",)
    example = "killer:/nonexistent/marker"

    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> KillerFactory:
        if not rest:
            raise ValueError("expected 'killer:/path/to/marker'")
        return KillerFactory(reference, rest, kill_at=3)

    def describe(self, settings: BackendSettings) -> dict[str, object]:
        return {"description": "dies once, for tests", "capabilities": {}}


FAMILY = KillerFamily()
