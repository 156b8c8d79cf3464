"""One model served by several OpenAI-compatible servers (replicas): balancing and health.

A replica set is one backend to the rest of the harness: one name, one identity (that of
its first base URL, so its cache rows are those of the same model behind that URL alone),
one ``complete``. Inside it, :class:`ReplicaPool` decides which replica takes each request
and which are out, and :class:`ReplicatedBackend` sends the request there.

The rule (:class:`ReplicaPool`), in which the two numbers are conventions (see
:class:`~forkingpaths.models.base.Replicas`):

- **start**: every replica is probed (``GET /models``, the probe a one-server model gets);
  one that fails is out. The driver's probe stops the run only when no replica answers.
- **balancing**: a request goes to the replica *in* service with the fewest requests in
  flight; ties go round-robin, so equal servers share equally.
- **a failure** (no answer in time, a broken connection, HTTP 5xx) makes the replica
  *suspect*: it gets no new request while another is in, and it is probed at once; a
  probe it fails, or ``eject_after`` failures in a row, takes it *out* for ``cooldown``
  seconds, after which it is probed again (and back in with a clean count if it answers).
  A success clears the count. HTTP 429/408/409 and 4xx are the server answering, not
  failing: they change nothing.
- **retrying**: the failed request itself is not resent here. It fails, and the executor's
  retry policy sends it again like any transient failure (one more *attempt*, the same
  *model call*); the retry finds the replica suspect or out and goes to another. With
  every replica out, a request fails at once with the time to the next probe as its
  ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from .base import Capabilities, PermanentBackendError, Replicas, Request, Response, TransientBackendError
from .openai_compat import OpenAICompatBackend, OpenAIFactory


class Status(Enum):
    IN = "in"
    SUSPECT = "suspect"
    OUT = "out"


class Verdict(Enum):
    """How one request left a replica, as far as the replica's health goes."""

    ANSWERED = "answered"
    FAILED = "failed"  # no answer, a broken connection, or HTTP 5xx
    NEUTRAL = "neutral"  # the server answered, but no: 4xx, 429, a malformed reply


@dataclass
class ReplicaState:
    """One replica's standing; ``answered``, ``failed`` and ``ejections`` are running totals."""

    url: str
    status: Status = Status.IN
    faults: int = 0  # consecutive failures
    outstanding: int = 0
    retry_at: float = 0.0  # when an ``OUT`` replica is probed again
    probing: bool = False
    answered: int = 0
    failed: int = 0
    ejections: int = 0


class ReplicaPool:
    """The balancing and health rule of the module docstring, with no clock of its own.

    Every method that depends on time takes ``now`` (seconds on a monotonic clock), so the
    rule is tested step by step with a clock the test sets.
    """

    def __init__(self, urls: Sequence[str], eject_after: int, cooldown: float) -> None:
        if not urls:
            raise ValueError("a replica set needs at least one base URL")
        self.replicas = [ReplicaState(url) for url in urls]
        self.eject_after = eject_after
        self.cooldown = cooldown
        self._turn = 0

    def start(self, healthy: Sequence[bool], now: float) -> None:
        """Take out the replicas that failed their first probe."""
        for replica, ok in zip(self.replicas, healthy, strict=True):
            if not ok:
                self._eject(replica, now)

    def pick(self, now: float) -> int | None:
        """The replica for the next request (its in-flight count goes up), or ``None`` if all are out."""
        count = len(self.replicas)
        for wanted in (Status.IN, Status.SUSPECT):
            candidates = [i for i, r in enumerate(self.replicas) if r.status is wanted]
            if candidates:
                choice = min(candidates, key=lambda i: (self.replicas[i].outstanding, (i - self._turn) % count))
                self._turn = (choice + 1) % count
                self.replicas[choice].outstanding += 1
                return choice
        return None

    def settle(self, index: int, verdict: Verdict, now: float) -> None:
        """A request sent to replica ``index`` ended with ``verdict``."""
        replica = self.replicas[index]
        replica.outstanding -= 1
        if verdict is Verdict.ANSWERED:
            replica.answered += 1
            replica.faults = 0
            if replica.status is Status.SUSPECT:
                replica.status = Status.IN
        elif verdict is Verdict.FAILED:
            replica.failed += 1
            replica.faults += 1
            if replica.status is Status.OUT:
                return
            if replica.faults >= self.eject_after:
                self._eject(replica, now)
            else:
                replica.status = Status.SUSPECT

    def due_probes(self, now: float) -> list[int]:
        """Replicas to probe now (suspect ones, and out ones whose cool-down is over); marked as being probed."""
        due = [
            i
            for i, r in enumerate(self.replicas)
            if not r.probing and (r.status is Status.SUSPECT or (r.status is Status.OUT and r.retry_at <= now))
        ]
        for i in due:
            self.replicas[i].probing = True
        return due

    def probed(self, index: int, ok: bool, now: float) -> None:
        """The probe of replica ``index`` answered (``ok``) or not."""
        replica = self.replicas[index]
        replica.probing = False
        if not ok:
            self._eject(replica, now)
            return
        if replica.status is Status.OUT:
            replica.faults = 0  # back after its cool-down: a clean count
        replica.status = Status.IN

    def next_probe_in(self, now: float) -> float:
        """Seconds until the next out replica is due for a probe (0 if one is due or being probed)."""
        due = [r.retry_at for r in self.replicas if r.status is Status.OUT]
        return max(0.0, min(due) - now) if due else 0.0

    def _eject(self, replica: ReplicaState, now: float) -> None:
        replica.status = Status.OUT
        replica.retry_at = now + self.cooldown
        replica.ejections += 1


def verdict_of(error: BaseException) -> Verdict:
    """What a failure says about the replica's health (see the module docstring)."""
    if isinstance(error, TransientBackendError):
        return Verdict.FAILED if error.status is None or error.status >= 500 else Verdict.NEUTRAL
    if isinstance(error, PermanentBackendError):
        return Verdict.NEUTRAL
    return Verdict.FAILED  # cancelled by the caller's timeout: no answer in time


class ReplicatedBackend:
    """A model behind several OpenAI-compatible servers; one :class:`OpenAICompatBackend` per replica.

    ``identity`` is the set's (its first base URL's), never the replica's that answered.
    Probes run the members' own synchronous probe in a worker thread, so a probe cannot
    stall the requests in flight.
    """

    name = OpenAICompatBackend.name
    capabilities = OpenAICompatBackend.capabilities

    def __init__(self, identity: str, members: Sequence[OpenAIFactory], replicas: Replicas, clock: Callable[[], float] = time.monotonic) -> None:
        self.identity = identity
        self.members = list(members)
        self.backends = [member.build() for member in self.members]
        self.max_concurrency = max(backend.max_concurrency for backend in self.backends)
        self.pool = ReplicaPool([member.base_url for member in self.members], replicas.eject_after, replicas.cooldown)
        self.clock = clock
        self._ready = False
        self._start_lock = asyncio.Lock()
        self._probes: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"ReplicatedBackend(identity={self.identity!r}, replicas={len(self.members)})"

    def versions(self) -> dict[str, str]:
        return self.backends[0].versions()

    def endpoint_counts(self) -> dict[str, dict[str, int]]:
        """Per replica (by base URL): requests it answered, failures, and times it was taken out."""
        return {r.url: {"answered": r.answered, "failed": r.failed, "taken_out": r.ejections} for r in self.pool.replicas}

    async def complete(self, request: Request) -> Response:
        await self._start()
        self._launch_probes()
        index = self.pool.pick(self.clock())
        if index is None:
            wait = self.pool.next_probe_in(self.clock())
            raise TransientBackendError(
                f"{self.identity}: all {len(self.members)} replicas are out; the next is probed again in {wait:.1f} s",
                retry_after=wait,
            )
        verdict = Verdict.FAILED
        try:
            response = await self.backends[index].complete(request)
            verdict = Verdict.ANSWERED
            return response
        except BaseException as error:
            verdict = verdict_of(error)
            raise
        finally:
            self.pool.settle(index, verdict, self.clock())
            if verdict is Verdict.FAILED:
                self._launch_probes()

    async def aclose(self) -> None:
        for task in list(self._probes):
            task.cancel()
        for backend in self.backends:
            await backend.aclose()

    async def _start(self) -> None:
        """Probe every replica once, before the first request; those that fail start out."""
        if self._ready:
            return
        async with self._start_lock:
            if not self._ready:
                healthy = await asyncio.gather(*(self._answers(i) for i in range(len(self.members))))
                self.pool.start(healthy, self.clock())
                self._ready = True

    async def _answers(self, index: int) -> bool:
        try:
            await asyncio.to_thread(self.members[index].probe)
        except PermanentBackendError:
            return False
        return True

    def _launch_probes(self) -> None:
        for index in self.pool.due_probes(self.clock()):
            task = asyncio.get_running_loop().create_task(self._reprobe(index))
            self._probes.add(task)
            task.add_done_callback(self._probes.discard)

    async def _reprobe(self, index: int) -> None:
        ok = False
        try:
            ok = await self._answers(index)
        finally:
            self.pool.probed(index, ok, self.clock())


@dataclass(frozen=True)
class ReplicaSetFactory:
    """A model served at each of ``replicas.base_urls``; plain data, holds the key's variable name only.

    ``max_concurrency`` is the set's limit on requests in flight, spread over the replicas;
    each replica's connection pool can hold all of them, for when it is the only one in.
    """

    reference: str
    model: str
    replicas: Replicas
    api_key_env: str
    timeout: float
    max_concurrency: int
    name: str = OpenAICompatBackend.name
    capabilities: Capabilities = OpenAICompatBackend.capabilities

    def members(self) -> list[OpenAIFactory]:
        return [
            OpenAIFactory(self.reference, self.model, url, self.api_key_env, self.timeout, self.max_concurrency)
            for url in self.replicas.base_urls
        ]

    def identity(self) -> str:
        """The first replica's: ``<first base URL>|<model>``, whichever replica answers."""
        return self.members()[0].identity()

    def probe(self) -> list[str]:
        """At least one replica answers ``GET /models``; if none does, each one's reason is named.

        Every replica is probed: each one that does not answer while another does is a
        warning (the run goes on without it, and each copy of the set probes it again).
        """
        reasons: list[str] = []
        for member in self.members():
            try:
                member.probe()
            except PermanentBackendError as error:
                reasons.append(str(error))
        if len(reasons) == len(self.replicas.base_urls):
            raise PermanentBackendError(f"no replica answers ({'; '.join(reasons)})")
        return [f"replica down at the start, its share goes to the others: {reason}" for reason in reasons]

    def build(self) -> ReplicatedBackend:
        return ReplicatedBackend(self.identity(), self.members(), self.replicas)
