"""Replica sets: the balancing and health rule step by step, and failover against real servers.

The rule (:class:`ReplicaPool`) is driven with a clock the test sets, so every transition is
checked at a known time. The failover tests use real servers on loopback (the benchmarks'
instant-reply server, in its own process) that are stopped for real.
"""

from __future__ import annotations

import asyncio
import io
import pickle
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

import forkingpaths

from forkingpaths.errors import UserError
from forkingpaths.execution.executor import AsyncioExecutor, Counters, Job, RetryPolicy, execute
from forkingpaths.execution.progress import RunProgress
from forkingpaths.models.base import BackendSettings, Message, PermanentBackendError, Replicas, Request, TransientBackendError, request_key
from forkingpaths.models.registry import backend_factory
from forkingpaths.models.replicas import ReplicaPool, ReplicaSetFactory, Status, Verdict, verdict_of
from forkingpaths.results import ReplicaCounts, load_run
from forkingpaths.spec import parse_spec
from forkingpaths.store import ResponseCache

INSTANT_SERVER = Path(__file__).resolve().parents[2] / "benchmarks" / "instant_server.py"
A, B, C = "http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1", "http://127.0.0.1:3/v1"


def _pool(count: int = 2, eject_after: int = 3, cooldown: float = 10.0) -> ReplicaPool:
    return ReplicaPool([A, B, C][:count], eject_after, cooldown)


# --- the rule, with a set clock ---------------------------------------------------------


def test_equal_replicas_take_turns_and_the_least_busy_gets_the_next_request() -> None:
    pool = _pool(3)
    order = []
    for _ in range(6):  # each request ends before the next: round-robin
        index = pool.pick(0.0)
        assert index is not None
        order.append(index)
        pool.settle(index, Verdict.ANSWERED, 0.0)
    assert order == [0, 1, 2, 0, 1, 2]
    held = [pool.pick(0.0), pool.pick(0.0)]  # two in flight, on 0 and 1
    assert held == [0, 1] and pool.pick(0.0) == 2
    pool.settle(1, Verdict.ANSWERED, 0.0)
    assert pool.pick(0.0) == 1  # now the only one with nothing in flight
    assert [r.outstanding for r in pool.replicas] == [1, 1, 1]


def test_a_failure_makes_a_replica_suspect_and_the_next_requests_go_elsewhere() -> None:
    pool = _pool(2)
    assert pool.pick(0.0) == 0
    pool.settle(0, Verdict.FAILED, 0.0)
    assert pool.replicas[0].status is Status.SUSPECT
    assert [pool.pick(0.0) for _ in range(3)] == [1, 1, 1]
    assert pool.due_probes(0.0) == [0] and pool.due_probes(0.0) == []  # probed at once, and only once
    pool.probed(0, True, 0.1)
    assert pool.replicas[0].status is Status.IN and pool.replicas[0].faults == 1  # the count stays until a success
    assert pool.pick(0.1) == 0


def test_a_suspect_replica_is_used_when_no_other_is_in() -> None:
    pool = _pool(2)
    for index in (0, 1):
        assert pool.pick(0.0) == index
        pool.settle(index, Verdict.FAILED, 0.0)
    assert pool.pick(0.0) is not None
    pool.settle(0, Verdict.ANSWERED, 0.0)
    assert pool.replicas[0].status is Status.IN and pool.replicas[0].faults == 0


def test_consecutive_failures_take_a_replica_out_until_its_cooldown_ends_and_a_probe_answers() -> None:
    pool = _pool(2, eject_after=3, cooldown=10.0)
    replica = pool.replicas[0]
    for step in range(3):
        pool.replicas[0].outstanding += 1  # a request sent to it (as pick would)
        pool.settle(0, Verdict.FAILED, float(step))
        if step < 2:
            assert replica.status is Status.SUSPECT
            pool.due_probes(float(step))
            pool.probed(0, True, float(step))  # /models answers, but the requests keep failing
    assert replica.status is Status.OUT and replica.retry_at == 12.0 and replica.ejections == 1
    assert [pool.pick(5.0) for _ in range(2)] == [1, 1]
    assert pool.next_probe_in(5.0) == pytest.approx(7.0)
    assert pool.due_probes(11.9) == []
    assert pool.due_probes(12.0) == [0]
    pool.probed(0, False, 12.5)  # still down: out for another cool-down
    assert replica.status is Status.OUT and replica.retry_at == 22.5 and replica.ejections == 2
    assert pool.due_probes(22.5) == [0]
    pool.probed(0, True, 22.6)
    assert replica.status is Status.IN and replica.faults == 0  # back, with a clean count


def test_a_success_between_failures_clears_the_count() -> None:
    pool = _pool(1, eject_after=2)
    for verdict in [Verdict.FAILED, Verdict.ANSWERED] * 5:
        assert pool.pick(0.0) == 0
        pool.settle(0, verdict, 0.0)
    assert pool.replicas[0].status is Status.IN and pool.replicas[0].ejections == 0


def test_an_answer_that_is_a_refusal_changes_nothing() -> None:
    pool = _pool(1, eject_after=1)
    for _ in range(5):
        assert pool.pick(0.0) == 0
        pool.settle(0, Verdict.NEUTRAL, 0.0)
    assert pool.replicas[0].status is Status.IN and pool.replicas[0].faults == 0


def test_replicas_that_fail_the_first_probe_start_out_and_with_all_out_nothing_is_picked() -> None:
    pool = _pool(3, cooldown=30.0)
    pool.start([False, True, False], now=100.0)
    assert [r.status for r in pool.replicas] == [Status.OUT, Status.IN, Status.OUT]
    assert {pool.pick(100.0) for _ in range(4)} == {1}
    for _ in range(4):
        pool.settle(1, Verdict.ANSWERED, 100.0)
    pool.start([True, False, True], now=101.0)  # replica 1 too
    assert pool.pick(101.0) is None
    assert pool.next_probe_in(101.0) == pytest.approx(29.0)


def test_failures_are_classified_by_what_they_say_about_the_server() -> None:
    assert verdict_of(TransientBackendError("timed out")) is Verdict.FAILED
    assert verdict_of(TransientBackendError("HTTP 503", status=503)) is Verdict.FAILED
    assert verdict_of(TransientBackendError("HTTP 429", retry_after=1.0, status=429)) is Verdict.NEUTRAL
    assert verdict_of(PermanentBackendError("HTTP 400")) is Verdict.NEUTRAL
    assert verdict_of(asyncio.CancelledError()) is Verdict.FAILED  # the caller's timeout ran out


# --- references and cache identity ------------------------------------------------------


def _set(model: str = "m", urls: tuple[str, ...] = (A, B)) -> ReplicaSetFactory:
    factory = backend_factory(f"openai:{model}", BackendSettings(), "models[0]", Replicas(urls))
    assert isinstance(factory, ReplicaSetFactory)
    return factory


def test_the_cache_identity_is_the_models_not_the_replicas() -> None:
    request = Request("generate", (Message("user", "hi"),))
    single = backend_factory(f"openai:m@{A}", BackendSettings())
    replicated = _set()
    assert replicated.reference == single.reference == f"openai:m@{A}"
    assert replicated.identity() == single.identity()
    key = request_key(replicated.name, replicated.identity(), request, 0)
    assert key == request_key(single.name, single.identity(), request, 0)
    assert replicated.build().identity == replicated.identity()  # whichever replica answers
    other = _set("other-model")
    assert request_key(other.name, other.identity(), request, 0) != key


def test_a_replica_set_is_plain_data_that_travels_to_a_worker() -> None:
    factory = _set(urls=(A, B, C))
    assert pickle.loads(pickle.dumps(factory)) == factory  # what a Ray actor receives
    assert [m.base_url for m in factory.members()] == [A, B, C]


def test_base_urls_need_a_family_that_serves_them() -> None:
    with pytest.raises(UserError, match=r"models\[0\]: the llamacpp backend serves no base URLs"):
        backend_factory("llamacpp", BackendSettings(), "models[0]", Replicas((A,)))
    with pytest.raises(UserError, match=r"models\[0\]: invalid model reference .*endpoints go in base_urls"):
        backend_factory(f"openai:m@{A}", BackendSettings(), "models[0]", Replicas((B,)))
    with pytest.raises(UserError, match=r"models\[0\]: .*';chat_template=' is not supported with base_urls"):
        backend_factory("openai:m;chat_template=llamacpp", BackendSettings(), "models[0]", Replicas((A, B)))


def test_a_remote_replica_needs_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FP_REPLICA_KEY", raising=False)
    with pytest.raises(UserError, match="set the environment variable FP_REPLICA_KEY"):
        backend_factory("openai:m", BackendSettings(api_key_env="FP_REPLICA_KEY"), "models[0]", Replicas((A, "https://api.example.com/v1")))


# --- real servers on loopback -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def instant_servers() -> Iterator[Callable[[], tuple[str, subprocess.Popen[str]]]]:
    """Start instant-reply servers (each answers 5 ms late), all stopped at teardown."""
    started: list[subprocess.Popen[str]] = []

    def start() -> tuple[str, subprocess.Popen[str]]:
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, str(INSTANT_SERVER), "--port", str(port), "--delay-ms", "5"], stdout=subprocess.PIPE, text=True
        )
        started.append(process)
        assert process.stdout is not None and "listening" in process.stdout.readline()
        return f"http://127.0.0.1:{port}/v1", process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def _served(url: str) -> int:
    return int(httpx.get(url + "/stats", timeout=5).json()["requests"])


def _jobs(factory: ReplicaSetFactory, n: int) -> list[Job]:
    requests = [Request("choice_logprobs", (Message("user", f"question {i}"),), labels=("A", "B")) for i in range(n)]
    return [Job(request_key(factory.name, factory.identity(), r, 0), factory.reference, r, 0) for r in requests]


def _execute(factory: ReplicaSetFactory, jobs: list[Job], cache_dir: Path, progress: Callable[[Counters], None] | None = None) -> Counters:
    cache = ResponseCache(cache_dir)
    policy = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05, timeout=10)
    try:
        outcomes, counters = asyncio.run(
            execute(jobs, {factory.reference: factory}, cache, AsyncioExecutor(8, policy), progress=progress, handle_signals=False)
        )
    finally:
        cache.close()
    assert len(outcomes) == len(jobs)
    assert all(o.response is not None and o.response.text == "A" for o in outcomes.values())
    return counters


@pytest.mark.timeout(120)
def test_a_replica_stopped_mid_run_hands_its_share_to_the_other(tmp_path: Path, instant_servers) -> None:  # type: ignore[no-untyped-def]
    (url_a, server_a), (url_b, _) = instant_servers(), instant_servers()
    factory = _set("instant", (url_a, url_b))
    n = 400
    jobs = _jobs(factory, n)
    at_stop: list[int] = []

    def stop_a_at_100(counters: Counters) -> None:
        if counters.done >= 100 and not at_stop:
            at_stop.append(_served(url_a))
            server_a.send_signal(signal.SIGKILL)  # its connections break, in-flight requests with them
            server_a.wait(10)

    counters = _execute(factory, jobs, tmp_path / "cache", stop_a_at_100)
    assert counters.retries >= 1  # the requests in flight on A broke with it and were sent again, to B
    assert at_stop, "the run ended before the replica was stopped"
    assert counters.errors == 0 and counters.done == n
    assert counters.model_calls == n  # each request one model call; failovers are retries of it
    assert counters.attempts == n + counters.retries
    answered_by_b = _served(url_b) - 1  # less its start probe (later probes go to the dead one)
    assert answered_by_b >= n - at_stop[0]  # everything A had not answered when it stopped moved to B
    counts = counters.endpoints[factory.reference]
    assert list(counts) == [url_a, url_b] and counts[url_b] == {"answered": answered_by_b, "failed": 0, "taken_out": 0}
    assert counts[url_a]["answered"] + answered_by_b == n  # each answer counted at the replica that gave it
    assert counts[url_a]["failed"] == counters.retries  # every failure was A's, and each was retried
    assert counts[url_a]["taken_out"] >= 1
    cache = ResponseCache(tmp_path / "cache")
    assert len(cache.get_many(job.key for job in jobs)) == n
    cache.close()


@pytest.mark.timeout(60)
def test_a_replica_down_at_start_is_out_before_the_first_request(tmp_path: Path, instant_servers) -> None:  # type: ignore[no-untyped-def]
    url, _ = instant_servers()
    down = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    factory = _set("instant", (down, url))
    warnings = factory.probe()  # one replica answers: the run may start, with a warning naming the other
    assert len(warnings) == 1 and f"cannot reach {down}/models" in warnings[0]
    counters = _execute(factory, _jobs(factory, 50), tmp_path / "cache")
    assert counters.retries == 0 and counters.attempts == 50  # no request was sent to the dead replica
    assert _served(url) == 50 + 2  # all of them, the driver's probe and the backend's start probe
    assert counters.endpoints == {
        factory.reference: {down: {"answered": 0, "failed": 0, "taken_out": 1}, url: {"answered": 50, "failed": 0, "taken_out": 0}}
    }


@pytest.mark.timeout(120)
def test_a_run_records_each_replicas_counts_and_warns_of_one_down_at_the_start(tmp_path: Path, instant_servers) -> None:  # type: ignore[no-untyped-def]
    url, _ = instant_servers()
    down = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    spec = parse_spec(
        {
            "name": "replicas",
            "instrument": "survey",
            "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 3},
            "models": [{"ref": "openai:instant", "base_urls": [down, url]}],
            "factors": {"option_order": ["original", "reversed"]},
            "output_dir": str(tmp_path / "runs"),
            "analysis": {"n_resamples": 100},
        }
    )
    terminal = io.StringIO()
    with RunProgress(console=Console(file=terminal, width=200)) as progress:
        run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"), progress=progress)
    lines = [line for line in terminal.getvalue().splitlines() if line.startswith("warning:")]
    reference = f"openai:instant@{down}"  # a replica set is named by its first base URL
    assert lines == [f"warning: {reference}: replica down at the start, its share goes to the others: cannot reach {down}/models: ConnectError"]
    calls = run.manifest.counts.model_calls
    assert calls == 6 and run.manifest.replicas == {
        reference: [ReplicaCounts(url=down, answered=0, failed=0, taken_out=1), ReplicaCounts(url=url, answered=calls, failed=0, taken_out=0)]
    }
    assert load_run(run.directory).manifest.replicas == run.manifest.replicas  # written to manifest.json and read back


def test_no_replica_answering_stops_the_run_naming_each(tmp_path: Path) -> None:
    down = [f"http://127.0.0.1:{_free_port()}/v1" for _ in range(2)]
    factory = _set("instant", tuple(down))
    with pytest.raises(PermanentBackendError, match=rf"no replica answers \(cannot reach {down[0]}/models.*; cannot reach {down[1]}/models"):
        factory.probe()
