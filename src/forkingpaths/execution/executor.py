"""Executing unique requests: the :class:`Executor` protocol, the asyncio executor and the driver.

Work items are *requests*, not trials: trials whose rendered request is the
same (same backend, model identity, canonical request and repeat) share one
call, so no model call is ever made twice.

The seam: an executor receives backend *factories* (plain data: a reference and
its options), builds the backends where the calls are made, and hands every
outcome back to the driver through a callback. The driver (:func:`execute`)
alone reads and writes the cache, so nothing in an executor assumes that the
backends, or the cache, live in its process; a distributed executor implements
the same protocol.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from forkingpaths.models.base import Backend, BackendFactory, PermanentBackendError, Request, Response, TransientBackendError
from forkingpaths.execution.claims import RequestClaims
from forkingpaths.store import CacheError, ResponseCache


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015).

    Attempt *k* (0-based) waits a uniform draw from [0, min(max_delay, initial_delay·2^k)],
    or the server's ``Retry-After`` if that is longer.
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.initial_delay * (2**attempt))
        wait = rng.uniform(0.0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


@dataclass
class Job:
    """One unique request to one model, and how many trials (or stages) wait on it."""

    key: str
    model: str
    request: Request
    repeat: int
    trials: int = 1  # how many trial stages share this request


@dataclass
class Outcome:
    response: Response | None
    error: str | None
    cached: bool


@dataclass
class Counters:
    """Live counts for the progress display and the manifest; every counter counts requests.

    ``total``/``done``: distinct requests known so far / answered (from the cache or a
    model) or failed; ``total`` grows when a trial's follow-up stage is rendered.
    ``model_calls``: requests sent to a backend; ``attempts``: sends including retries.
    """

    total: int = 0
    done: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    attempts: int = 0
    errors: int = 0
    retries: int = 0
    unsaved: int = 0  # answers the cache could not take (locked by another process to the end)
    requeued: int = 0  # requests lost with a worker that died, asked again elsewhere
    started: float = field(default_factory=time.monotonic)
    #: Per model, per endpoint (a replica's base URL): running totals a backend reports
    #: through ``endpoint_counts()``, summed over every copy of it (one per Ray actor, per stage).
    endpoints: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    #: One-line warnings for the run's console (a model that works, but not in full).
    notices: list[str] = field(default_factory=list)

    def add_endpoint_counts(self, model: str, counts: Mapping[str, Mapping[str, int]]) -> None:
        for endpoint, values in counts.items():
            totals = self.endpoints.setdefault(model, {}).setdefault(endpoint, {})
            for name, value in values.items():
                totals[name] = totals.get(name, 0) + value


def endpoint_counts(backend: Backend) -> dict[str, dict[str, int]]:
    """What a backend with several endpoints reports of each (``{}`` for one with a single endpoint)."""
    report = getattr(backend, "endpoint_counts", None)
    return dict(report()) if callable(report) else {}


class FailFast(Exception):
    """Raised to stop the run at the first request that failed after its retries."""


class Interrupted(Exception):
    """The user asked to stop (Ctrl-C or SIGTERM); completed work is kept."""


ProgressHook = Callable[[Counters], None]


def _prompt_order(job: Job) -> tuple[tuple[str, str], ...]:
    return tuple((m.role, m.content) for m in job.request.messages)


async def call_with_retries(
    backend: Backend, job: Job, policy: RetryPolicy, counters: Counters, rng: random.Random, stop: asyncio.Event
) -> Outcome:
    """One request with the retry policy; every executor (local or Ray) calls backends through this."""
    last_error = ""
    counters.model_calls += 1
    for attempt in range(policy.max_attempts):
        try:
            counters.attempts += 1
            async with asyncio.timeout(policy.timeout):  # no extra task per call, unlike wait_for
                response = await backend.complete(job.request)
            response.validate()  # an impossible answer is an error row, never cached
            return Outcome(response, None, False)
        except PermanentBackendError as error:  # includes InvalidResponseError
            return Outcome(None, f"{type(error).__name__}: {error}", False)
        except (TimeoutError, TransientBackendError) as error:
            retry_after = getattr(error, "retry_after", None)
            last_error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            if attempt + 1 >= policy.max_attempts or stop.is_set():
                break
            counters.retries += 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=policy.delay(attempt, retry_after, rng))
                break  # stop was requested while waiting
            except TimeoutError:
                continue
    return Outcome(None, f"after {policy.max_attempts} attempts: {last_error}", False)


Deliver = Callable[[Job, Outcome], None]
CacheRow = tuple[str, str, str, str, int, Response]
#: While another process holds the cache's write lock: how long one write waits, and how
#: long the driver keeps answers in memory before it tries again.
WRITE_WAIT_S = 0.5
RETRY_WRITE_S = 5.0
#: A batch of answers is committed when it holds this many, or when its oldest has waited
#: this long, whichever comes first: what a ``kill -9`` can lose beyond the requests in flight.
BATCH_SIZE = 64
BATCH_WAIT_S = 0.05


class AnswerWriter:
    """The driver's writes to the cache, in batches, kept in memory while another process holds the lock.

    Answers are committed together, with the release of their claims (and of the claims of
    requests that failed), every :data:`BATCH_SIZE` answers or :data:`BATCH_WAIT_S` seconds
    after the first of a batch, whichever comes first: one commit per batch instead of three
    per request (claim, answer, release) is what lets a run keep pace with a fast server,
    and a ``kill -9`` loses at most the batch not yet committed. Another process holding
    the SQLite write lock must neither stall the run (each write waits at most
    :data:`WRITE_WAIT_S`) nor lose its answers: they are kept, written together at the next
    try (every :data:`RETRY_WRITE_S` s) and, at the end, with the cache's full lock timeout.
    Answers still unwritten then are counted in ``Counters.unsaved``; the run keeps them in
    its trials table, and a rerun asks again.
    """

    def __init__(
        self,
        cache: ResponseCache,
        counters: Counters,
        owner: str,
        *,
        stored: Callable[[list[str]], None] = lambda keys: None,
        batch_size: int = BATCH_SIZE,
        batch_wait: float = BATCH_WAIT_S,
    ) -> None:
        self.cache, self.counters, self.owner, self.stored = cache, counters, owner, stored
        self.batch_size, self.batch_wait = batch_size, batch_wait
        self.pending: list[CacheRow] = []
        self.failed: list[str] = []  # keys whose claims end with the next batch (no answer to store)
        self.next_try = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def add(self, row: CacheRow) -> None:
        self.pending.append(row)
        self._due()

    def release(self, key: str) -> None:
        """End the claim on a request that failed, with the next batch."""
        self.failed.append(key)
        self._due()

    def _due(self) -> None:
        """Commit now if the batch is full, else make sure a timer will."""
        if time.monotonic() < self.next_try:
            return
        if len(self.pending) + len(self.failed) >= self.batch_size:
            self.flush(WRITE_WAIT_S)
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.batch_wait, self._on_timer)
            except RuntimeError:  # no event loop (a synchronous caller): commit at once
                self.flush(WRITE_WAIT_S)

    def _on_timer(self) -> None:
        self._timer = None
        if not self.flush(WRITE_WAIT_S):
            self._timer = asyncio.get_running_loop().call_later(RETRY_WRITE_S, self._on_timer)

    def flush(self, wait: float | None = None) -> bool:
        """Write what is pending; ``False`` (answers kept) when the lock did not free in time."""
        if not self.pending and not self.failed:
            return True
        try:
            self.cache.put_many(self.pending, wait, owner=self.owner, release=self.failed)
        except CacheError:
            self.next_try = time.monotonic() + RETRY_WRITE_S
            return False
        self.stored([row[0] for row in self.pending] + self.failed)
        self.pending.clear()
        self.failed.clear()
        return True

    def finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.flush():
            self.counters.unsaved = len(self.pending)


class Executor(Protocol):
    """Sends jobs to the models their factories name and delivers every outcome to the driver.

    ``deliver`` is called in the driver's process once per job that ended (answered or
    failed after its retries); a job left unanswered because ``stop`` was set is not
    delivered. Implementations build backends from the factories themselves and close
    them before returning.
    """

    async def run(
        self,
        jobs: list[Job],
        factories: Mapping[str, BackendFactory],
        deliver: Deliver,
        *,
        counters: Counters,
        stop: asyncio.Event,
    ) -> None: ...


@dataclass
class AsyncioExecutor:
    """Every backend in this process; at most ``concurrency`` requests in flight per backend
    (and never more than the backend's own ``max_concurrency``)."""

    concurrency: int
    policy: RetryPolicy
    seed: int = 0

    async def run(
        self,
        jobs: list[Job],
        factories: Mapping[str, BackendFactory],
        deliver: Deliver,
        *,
        counters: Counters,
        stop: asyncio.Event,
    ) -> None:
        rng = random.Random(self.seed)
        queues: dict[str, asyncio.Queue[Job]] = {}
        for job in jobs:
            queues.setdefault(job.model, asyncio.Queue()).put_nowait(job)
        backends: dict[str, Backend] = {model: factories[model].build() for model in queues}

        async def worker(model: str) -> None:
            backend, queue = backends[model], queues[model]
            while not stop.is_set():
                try:
                    job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                outcome = await call_with_retries(backend, job, self.policy, counters, rng, stop)
                if outcome.response is None and stop.is_set():
                    return  # interrupted while retrying: leave the job for the next run
                deliver(job, outcome)

        try:
            workers = [
                asyncio.create_task(worker(model))
                for model, backend in backends.items()
                for _ in range(max(1, min(self.concurrency, backend.max_concurrency)))
            ]
            await asyncio.gather(*workers)
        finally:
            for model, backend in backends.items():
                counters.add_endpoint_counts(model, endpoint_counts(backend))
                await backend.aclose()


def _install_stop_signals(stop: asyncio.Event) -> Callable[[], None]:
    """SIGINT/SIGTERM set ``stop``; returns the function that removes the handlers."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):
            pass

    def remove() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return remove


async def execute(
    jobs: list[Job],
    factories: Mapping[str, BackendFactory],
    cache: ResponseCache,
    executor: Executor,
    *,
    counters: Counters | None = None,
    refresh: bool = False,
    fail_fast: bool = False,
    progress: ProgressHook | None = None,
    handle_signals: bool = True,
    before_send: Callable[[list[Job]], None] | None = None,
) -> tuple[dict[str, Outcome], Counters]:
    """The driver: answer every job once, from the cache where possible, and return outcomes by key.

    Cache hits never reach the executor. Before a job is sent, the driver claims it in
    the cache (:mod:`forkingpaths.execution.claims`): a job another process is asking
    the model for waits for that answer instead. The answers the executor delivers are
    committed to the cache here, in the driver, in small batches (:class:`AnswerWriter`),
    each in the transaction that releases their claims. Raises :class:`Interrupted`
    on SIGINT/SIGTERM after in-flight requests end, and :class:`FailFast` on the
    first failed job when ``fail_fast`` is set; in both cases every completed
    response is already in the cache (the last batch is committed on the way out). Pass ``counters`` to accumulate over stages, and
    ``before_send`` to check the jobs that missed the cache before anything is sent.
    """
    counters = counters or Counters()
    counters.total += len(jobs)
    outcomes: dict[str, Outcome] = {}
    if not refresh:
        hits = cache.get_many(job.key for job in jobs)
        for key, response in hits.items():
            outcomes[key] = Outcome(response, None, True)
        counters.cache_hits += len(hits)
        counters.done += len(hits)
    # Neighbouring requests that share a prompt prefix let an in-process model reuse its KV cache.
    pending = sorted((job for job in jobs if job.key not in outcomes), key=_prompt_order)
    if before_send and pending:
        before_send(pending)  # e.g. probe the models that have work to do; may raise before any call
    if progress:
        progress(counters)
    stop = asyncio.Event()
    failure: list[str] = []
    claims = RequestClaims(cache, refresh=refresh)
    held: set[str] = set()
    writer = AnswerWriter(cache, counters, claims.owner, stored=held.difference_update)

    def deliver(job: Job, outcome: Outcome) -> None:
        factory = factories[job.model]
        if outcome.response is not None:  # its claim ends when it is stored, so a waiting process finds it
            writer.add((job.key, factory.name, factory.identity(), job.request.canonical_json(), job.repeat, outcome.response))
        else:
            writer.release(job.key)
            counters.errors += 1
            if fail_fast and not failure:
                failure.append(f"request {job.key[:12]} for {job.model}: {outcome.error}")
                stop.set()
        outcomes[job.key] = outcome
        counters.done += 1
        if progress:
            progress(counters)

    def claim_some(candidates: list[Job]) -> tuple[list[Job], list[Job]]:
        """The jobs this process may send now, and those another process is answering."""
        answered, mine, _ = claims.try_claim_many([job.key for job in candidates])
        for key, found in answered.items():  # another process stored the answer meanwhile
            outcomes[key] = Outcome(found, None, True)
        counters.cache_hits += len(answered)
        counters.done += len(answered)
        held.update(mine)
        ours = set(mine)
        return [job for job in candidates if job.key in ours], [job for job in candidates if job.key not in ours and job.key not in answered]

    remove_signals: Callable[[], None] = (lambda: None)
    if handle_signals:
        remove_signals = _install_stop_signals(stop)
    heartbeat = asyncio.create_task(claims.heartbeat())
    try:
        waiting = pending
        while waiting and not stop.is_set():
            mine, waiting = claim_some(waiting)
            if mine:
                await executor.run(mine, factories, deliver, counters=counters, stop=stop)
            if waiting and not mine:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=claims.poll)
                except TimeoutError:
                    pass
            if progress:
                progress(counters)
    finally:
        heartbeat.cancel()
        writer.finish()
        if held:  # unanswered, or answered while the cache was locked: free them now
            try:
                claims.release(list(held))
            except CacheError:  # still locked: they expire after the lease time
                pass
        remove_signals()
    if failure:
        raise FailFast(failure[0])
    if stop.is_set():
        raise Interrupted(f"{counters.done} of {counters.total} distinct requests answered")
    return outcomes, counters


def retry_policy(spec: Any) -> RetryPolicy:
    """The spec's ``retries`` section as a :class:`RetryPolicy` (shared by every executor)."""
    retries = spec.retries
    return RetryPolicy(retries.max_attempts, retries.initial_delay, retries.max_delay, retries.timeout)


def local_executor(spec: Any) -> AsyncioExecutor:
    """The executor for ``executor: {name: asyncio}``, from the spec's concurrency, retries and seed."""
    return AsyncioExecutor(spec.concurrency, retry_policy(spec), spec.seed)
