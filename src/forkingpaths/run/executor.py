"""The async executor: bounded concurrency per backend, retries, cancellation, caching.

Work items are *requests*, not trials: trials whose rendered request is the
same (same backend, model identity, canonical request and repeat) share one
call, so no model call is ever made twice. Cached requests are answered from the
cache without touching the backend, and a request is claimed in the cache before
its call (:mod:`forkingpaths.run.claims`), so runs in other processes sharing the
cache wait for its answer instead of asking the model too.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from forkingpaths.models.base import Backend, PermanentBackendError, Request, Response, TransientBackendError
from forkingpaths.run.claims import Claim, RequestClaims
from forkingpaths.store import ResponseCache


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
    """One unique request to one backend, and the trials waiting on it."""

    key: str
    model: str
    request: Request
    repeat: int
    trials: int = 1  # how many trials share this request


@dataclass
class Outcome:
    response: Response | None
    error: str | None
    cached: bool


@dataclass
class Counters:
    """Live counts for the progress display and the manifest.

    ``total``/``done`` count trials; the other counters count requests.
    """

    total: int = 0
    done: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    errors: int = 0
    retries: int = 0
    started: float = field(default_factory=time.monotonic)


class FailFast(Exception):
    """Raised to stop the run at the first request that failed after its retries."""


class Interrupted(Exception):
    """The user asked to stop (Ctrl-C or SIGTERM); completed work is kept."""


ProgressHook = Callable[[Counters], None]


def _prompt_order(job: Job) -> tuple[tuple[str, str], ...]:
    return tuple((m.role, m.content) for m in job.request.messages)


async def _call_with_retries(
    backend: Backend, job: Job, policy: RetryPolicy, counters: Counters, rng: random.Random, stop: asyncio.Event
) -> Outcome:
    last_error = ""
    for attempt in range(policy.max_attempts):
        try:
            counters.model_calls += 1
            response = await asyncio.wait_for(backend.complete(job.request), timeout=policy.timeout)
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


async def _call_and_store(
    backend: Backend,
    job: Job,
    policy: RetryPolicy,
    counters: Counters,
    rng: random.Random,
    stop: asyncio.Event,
    cache: ResponseCache,
    claims: RequestClaims,
) -> Outcome:
    """Call the model for a claimed job, cache a good answer, then release the claim.

    The answer is stored before the claim is released, so a process waiting on the claim
    finds it in the cache instead of asking again.
    """
    try:
        outcome = await _call_with_retries(backend, job, policy, counters, rng, stop)
        if outcome.response is not None:
            cache.put(job.key, backend.name, backend.identity, job.request.canonical_json(), job.repeat, outcome.response)
    finally:
        claims.release(job.key)
    return outcome


async def execute(
    jobs: list[Job],
    backends: dict[str, Backend],
    cache: ResponseCache,
    *,
    concurrency: int,
    policy: RetryPolicy,
    refresh: bool = False,
    fail_fast: bool = False,
    progress: ProgressHook | None = None,
    seed: int = 0,
    handle_signals: bool = True,
) -> tuple[dict[str, Outcome], Counters]:
    """Run every job once (from the cache where possible) and return outcomes by request key.

    Raises :class:`Interrupted` on SIGINT/SIGTERM after in-flight requests end,
    and :class:`FailFast` on the first failed job when ``fail_fast`` is set; in
    both cases every completed response is already in the cache.
    """
    counters = Counters(total=sum(job.trials for job in jobs))
    outcomes: dict[str, Outcome] = {}
    if not refresh:
        hits = cache.get_many(job.key for job in jobs)
        for key, response in hits.items():
            outcomes[key] = Outcome(response, None, True)
        counters.cache_hits = len(hits)
        counters.done = sum(job.trials for job in jobs if job.key in hits)
    # Neighbouring requests that share a prompt prefix let an in-process model reuse its KV cache.
    pending = sorted((job for job in jobs if job.key not in outcomes), key=_prompt_order)
    if progress:
        progress(counters)

    stop = asyncio.Event()
    claims = RequestClaims(cache, refresh=refresh)
    failure: list[str] = []
    rng = random.Random(seed)
    queues: dict[str, asyncio.Queue[Job]] = {model: asyncio.Queue() for model in backends}
    for job in pending:
        queues[job.model].put_nowait(job)

    async def worker(model: str) -> None:
        backend = backends[model]
        queue = queues[model]
        while not stop.is_set():
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            claim = claims.try_claim(job.key)
            if claim is Claim.BUSY:  # another process is asking the model: come back to it
                queue.put_nowait(job)
                await asyncio.sleep(claims.poll)
                continue
            if isinstance(claim, Response):  # another process stored the answer meanwhile
                outcome = Outcome(claim, None, True)
                counters.cache_hits += 1
            else:
                outcome = await _call_and_store(backend, job, policy, counters, rng, stop, cache, claims)
            if outcome.response is None and stop.is_set() and not failure:
                return  # interrupted while retrying: leave the job for the next run
            if outcome.response is None:
                counters.errors += 1
                if fail_fast:
                    failure.append(f"request {job.key[:12]} for {model}: {outcome.error}")
                    stop.set()
            outcomes[job.key] = outcome
            counters.done += job.trials
            if progress:
                progress(counters)

    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):
                pass
    try:
        heartbeat = asyncio.create_task(claims.heartbeat())
        workers = [
            asyncio.create_task(worker(model))
            for model, backend in backends.items()
            for _ in range(max(1, min(concurrency, backend.max_concurrency)))
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            heartbeat.cancel()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    if failure:
        raise FailFast(failure[0])
    if stop.is_set():
        raise Interrupted(f"{counters.done} of {counters.total} requests completed")
    return outcomes, counters
