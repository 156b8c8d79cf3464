"""Executor behaviour: cache use in the driver, retries with backoff and Retry-After, fail-fast, stop.

These tests inject faults a real model cannot produce on demand (a scripted
backend that raises transient errors); the real backends are exercised in
tests/models and the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from forkingpaths.models.base import Capabilities, Message, PermanentBackendError, Request, Response, TransientBackendError
from forkingpaths.execution.executor import AsyncioExecutor, FailFast, Interrupted, Job, RetryPolicy, execute
from forkingpaths.store import ResponseCache


class ScriptedBackend:
    """Answers after failing a scripted number of times per request."""

    name = "scripted"
    identity = "scripted-1"
    capabilities = Capabilities()

    def __init__(self, failures: dict[str, list[BaseException]] | None = None, max_concurrency: int = 4, delay: float = 0.0):
        self.failures = failures or {}
        self.max_concurrency = max_concurrency
        self.delay = delay
        self.calls: list[str] = []
        self.in_flight = 0
        self.peak = 0

    async def complete(self, request: Request) -> Response:
        text = request.messages[0].content
        self.calls.append(text)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            pending = self.failures.get(text, [])
            if pending:
                raise pending.pop(0)
            return Response(text=f"answer to {text}")
        finally:
            self.in_flight -= 1

    def versions(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        return None


class ReadyFactory:
    """A factory that hands out one prepared backend: the seam's contract with a test double."""

    reference = "m"

    def __init__(self, backend: ScriptedBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.capabilities = backend.capabilities
        self.max_concurrency = backend.max_concurrency
        self.builds = 0

    def identity(self) -> str:
        return self.backend.identity

    def probe(self) -> None:
        return None

    def build(self) -> ScriptedBackend:
        self.builds += 1
        return self.backend


def _jobs(n: int, model: str = "m") -> list[Job]:
    return [Job(f"key{i}", model, Request("generate", (Message("user", f"q{i}"),)), 0) for i in range(n)]


FAST = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.01, timeout=5)


def _run(jobs, backend, cache, **kwargs):
    executor = AsyncioExecutor(kwargs.pop("concurrency", 3), kwargs.pop("policy", FAST))
    return asyncio.run(execute(jobs, {"m": ReadyFactory(backend)}, cache, executor, handle_signals=False, **kwargs))


def test_second_run_is_served_from_the_cache(tmp_path) -> None:
    cache = ResponseCache(tmp_path)
    backend = ScriptedBackend()
    outcomes, counters = _run(_jobs(10), backend, cache)
    assert counters.model_calls == 10 and counters.cache_hits == 0
    assert all(o.response is not None and not o.cached for o in outcomes.values())
    backend2 = ScriptedBackend()
    factory = ReadyFactory(backend2)
    outcomes2, counters2 = asyncio.run(execute(_jobs(10), {"m": factory}, cache, AsyncioExecutor(3, FAST), handle_signals=False))
    assert backend2.calls == [] and counters2.model_calls == 0 and counters2.cache_hits == 10
    assert factory.builds == 0  # a fully cached run never builds (or loads) a backend
    assert all(o.cached for o in outcomes2.values())
    _, counters3 = _run(_jobs(10), ScriptedBackend(), cache, refresh=True)
    assert counters3.model_calls == 10


def test_concurrency_is_bounded_by_spec_and_backend(tmp_path) -> None:
    backend = ScriptedBackend(max_concurrency=2, delay=0.01)
    _run(_jobs(12), backend, ResponseCache(tmp_path), concurrency=8)
    assert backend.peak == 2
    backend = ScriptedBackend(max_concurrency=8, delay=0.01)
    _run(_jobs(12), backend, ResponseCache(tmp_path / "b"), concurrency=3)
    assert backend.peak == 3


def test_transient_errors_are_retried_then_succeed(tmp_path) -> None:
    backend = ScriptedBackend({"q0": [TransientBackendError("429"), asyncio.TimeoutError()]})
    outcomes, counters = _run(_jobs(2), backend, ResponseCache(tmp_path))
    assert outcomes["key0"].response is not None and counters.retries == 2 and counters.errors == 0
    assert backend.calls.count("q0") == 3


def test_exhausted_retries_store_the_error_and_the_run_continues(tmp_path) -> None:
    cache = ResponseCache(tmp_path)
    backend = ScriptedBackend({"q1": [TransientBackendError("503 busy")] * 3})
    outcomes, counters = _run(_jobs(3), backend, cache)
    assert outcomes["key1"].response is None and "503 busy" in outcomes["key1"].error
    assert "after 3 attempts" in outcomes["key1"].error
    assert counters.errors == 1 and outcomes["key0"].response and outcomes["key2"].response
    assert "key1" not in cache.get_many(["key1"])  # errors are not cached: a rerun retries them
    outcomes2, counters2 = _run(_jobs(3), ScriptedBackend(), cache)
    assert counters2.model_calls == 1 and outcomes2["key1"].response is not None


def test_permanent_errors_are_not_retried(tmp_path) -> None:
    backend = ScriptedBackend({"q0": [PermanentBackendError("bad request")]})
    outcomes, counters = _run(_jobs(1), backend, ResponseCache(tmp_path))
    assert backend.calls == ["q0"] and "bad request" in outcomes["key0"].error and counters.retries == 0


def test_fail_fast_stops_at_the_first_failure_and_keeps_completed_answers(tmp_path) -> None:
    cache = ResponseCache(tmp_path)
    backend = ScriptedBackend({"q0": [PermanentBackendError("nope")]}, max_concurrency=1)
    with pytest.raises(FailFast, match="nope"):
        _run(_jobs(5), backend, cache, fail_fast=True, concurrency=1)
    assert len(backend.calls) == 1


def test_retry_after_is_honoured_and_backoff_grows() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay=1.0, max_delay=30.0)
    rng = random.Random(0)
    assert policy.delay(0, retry_after=7.0, rng=rng) >= 7.0
    assert policy.delay(0, retry_after=100.0, rng=rng) <= 30.0
    draws = [[policy.delay(k, None, random.Random(s)) for s in range(200)] for k in range(4)]
    assert all(0 <= d <= min(30, 2**k) for k, row in enumerate(draws) for d in row)
    means = [sum(row) / len(row) for row in draws]
    assert means == sorted(means)


def test_stop_event_interrupts_and_keeps_completed(tmp_path) -> None:
    cache = ResponseCache(tmp_path)
    backend = ScriptedBackend(max_concurrency=1, delay=0.02)

    async def main() -> None:
        task = asyncio.create_task(
            execute(_jobs(50), {"m": ReadyFactory(backend)}, cache, AsyncioExecutor(1, FAST), handle_signals=True)
        )
        await asyncio.sleep(0.15)
        import os
        import signal

        os.kill(os.getpid(), signal.SIGINT)
        await task

    with pytest.raises(Interrupted):
        asyncio.run(main())
    done = len(cache.get_many(f"key{i}" for i in range(50)))
    assert 0 < done < 50 and done == len(backend.calls)


def test_attempts_count_retries_and_model_calls_count_requests(tmp_path) -> None:
    backend = ScriptedBackend({"q0": [TransientBackendError("429")] * 2})
    _, counters = _run(_jobs(3), backend, ResponseCache(tmp_path))
    assert counters.model_calls == 3 and counters.attempts == 5 and counters.retries == 2


def test_outcomes_reach_the_driver_which_alone_writes_the_cache(tmp_path) -> None:
    """An executor that runs nothing itself but delivers answers: the driver caches every one."""

    class Delivering:
        async def run(self, jobs, factories, deliver, *, counters, stop):
            from forkingpaths.execution.executor import Outcome
            from forkingpaths.models.base import Response

            for job in jobs:
                deliver(job, Outcome(Response(text=f"remote {job.key}"), None, False))

    cache = ResponseCache(tmp_path)
    outcomes, counters = asyncio.run(execute(_jobs(4), {"m": ReadyFactory(ScriptedBackend())}, cache, Delivering(), handle_signals=False))
    assert counters.done == 4 and set(cache.get_many(f"key{i}" for i in range(4))) == {f"key{i}" for i in range(4)}
    assert outcomes["key2"].response.text == "remote key2"


class LockingBackend(ScriptedBackend):
    """At its first request, another connection takes the cache's write lock for ``hold`` seconds,
    as a second process with a long transaction would; the answers then arrive while it is held."""

    def __init__(self, path, hold: float) -> None:
        super().__init__()
        self.path, self.hold, self.holder = path, hold, None

    def _hold(self, ready) -> None:
        import sqlite3
        import time

        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(self.hold)
        conn.execute("COMMIT")
        conn.close()

    async def complete(self, request: Request) -> Response:
        if self.holder is None:
            import threading

            ready = threading.Event()
            self.holder = threading.Thread(target=self._hold, args=(ready,))
            self.holder.start()
            ready.wait(5)
        return await super().complete(request)


def _run_under_lock(tmp_path, hold: float, lock_timeout: float):
    cache = ResponseCache(tmp_path, lock_timeout=lock_timeout)
    backend = LockingBackend(cache.path, hold)
    try:
        outcomes, counters = asyncio.run(
            execute(_jobs(6), {"m": ReadyFactory(backend)}, cache, AsyncioExecutor(1, FAST), handle_signals=False)
        )
    finally:
        backend.holder.join()
    return cache, outcomes, counters


def test_answers_made_while_another_process_holds_the_lock_are_written_when_it_frees(tmp_path) -> None:
    cache, outcomes, counters = _run_under_lock(tmp_path, hold=1.5, lock_timeout=6.0)
    assert all(o.response is not None for o in outcomes.values()) and counters.unsaved == 0
    assert len(cache.get_many(f"key{i}" for i in range(6))) == 6


def test_a_lock_held_past_the_end_loses_no_answer_of_the_run(tmp_path) -> None:
    cache, outcomes, counters = _run_under_lock(tmp_path, hold=2.5, lock_timeout=0.3)
    assert all(o.response is not None for o in outcomes.values())  # the run still has every answer
    assert counters.unsaved == 6 and counters.errors == 0
    assert cache.get_many(f"key{i}" for i in range(6)) == {}  # a rerun asks for them again
