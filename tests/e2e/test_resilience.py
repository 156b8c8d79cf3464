"""Interruptions and failures: kill -9, SIGTERM, a server dying mid-run; no secret on disk."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import forkingpaths
from forkingpaths import RunOptions
from forkingpaths.execution.executor import BATCH_SIZE, AsyncioExecutor, RetryPolicy, execute
from forkingpaths.models.base import Response
from forkingpaths.store import ResponseCache

from .batch_writer import CONCURRENCY, make_jobs
from .conftest import CLI, cached_count, cli_env, write_spec

INSTANT_SERVER = Path(__file__).resolve().parents[2] / "benchmarks" / "instant_server.py"

TOTAL = 8 * 8  # items × conditions


def _start_cli(spec: Path, cache: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([CLI, "run", str(spec)], env=cli_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_cached(cache: Path, at_least: int, process: subprocess.Popen[str], timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = cached_count(cache)
        if count >= at_least:
            return count
        if process.poll() is not None:
            raise AssertionError(f"run ended before it was interrupted: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("run made no progress")


@pytest.mark.model
def test_kill_9_mid_run_then_rerun_gives_every_trial_exactly_once(tmp_path) -> None:
    spec, cache = write_spec(tmp_path / "spec.yaml"), tmp_path / "cache"
    process = _start_cli(spec, cache)
    _wait_for_cached(cache, 10, process)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    survived = cached_count(cache)
    assert 10 <= survived < TOTAL
    checker = ResponseCache(cache)
    assert checker.integrity_ok()
    checker.close()
    result = forkingpaths.run(spec, RunOptions(cache_dir=cache))
    counts = result.manifest.counts.model_dump()
    assert counts["trials"] == TOTAL and counts["errors"] == 0
    assert counts["cache_hits"] == survived and counts["model_calls"] == TOTAL - survived
    assert result.trials["trial_id"].is_unique and len(result.trials) == TOTAL
    assert cached_count(cache) == TOTAL


@pytest.mark.model
def test_sigterm_stops_cleanly_with_a_resume_hint(tmp_path) -> None:
    spec, cache = write_spec(tmp_path / "spec.yaml"), tmp_path / "cache"
    process = _start_cli(spec, cache)
    _wait_for_cached(cache, 5, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted" in stderr and f"forkingpaths run {spec}" in stderr and "resume" in stderr
    assert "Traceback" not in stderr
    done = cached_count(cache)
    assert 5 <= done < TOTAL
    finish = subprocess.run([CLI, "run", str(spec)], env=cli_env(cache), capture_output=True, text=True, timeout=400)
    assert finish.returncode == 0, finish.stderr[-2000:]
    assert f"{TOTAL} trials (0 with an error) · {TOTAL} distinct requests: {done} from the cache, {TOTAL - done} sent to a model" in finish.stdout


SECRET = "sk-forkingpaths-test-SECRET-9c1f0e"


@pytest.mark.server
def test_server_killed_mid_run_gives_error_rows_then_rerun_completes(tmp_path, start_llama_server, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server = start_llama_server()
    port = server.base_url.split(":")[2].split("/")[0]
    model = f"openai:{server.model}@{server.base_url}"
    spec = write_spec(
        tmp_path / "spec.yaml",
        models=[model],
        concurrency=2,
        retries={"max_attempts": 2, "initial_delay": 0.05, "max_delay": 0.2, "timeout": 20},
    )
    cache = tmp_path / "cache"
    outcome: dict[str, object] = {}

    def run_in_background() -> None:
        try:
            outcome["run"] = forkingpaths.run(spec, RunOptions(cache_dir=cache))
        except BaseException as error:  # noqa: BLE001 - surfaced by the assertion below
            outcome["error"] = error

    worker = threading.Thread(target=run_in_background)
    worker.start()
    deadline = time.monotonic() + 240
    while cached_count(cache) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    worker.join(300)
    assert "error" not in outcome, outcome.get("error")
    first = outcome["run"]
    errors = first.trials[first.trials["error"].notna()]
    assert len(errors) > 0 and len(errors) < TOTAL
    assert errors["error"].str.contains("after 2 attempts").all()
    assert first.manifest.counts.failed_trials == len(errors)

    start_llama_server(port=int(port))
    second = forkingpaths.run(spec, RunOptions(cache_dir=cache))
    counts = second.manifest.counts.model_dump()
    assert counts["errors"] == 0 and counts["model_calls"] == len(errors)
    assert second.trials["trial_id"].is_unique and len(second.trials) == TOTAL

    for folder in (second.directory, cache):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), f"API key written to {path}"


@pytest.fixture
def slow_instant_server() -> Iterator[str]:
    """The benchmarks' instant-reply OpenAI-compatible server, answering each request 5 ms late."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(INSTANT_SERVER), "--port", str(port), "--delay-ms", "5"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and "listening" in process.stdout.readline()
    yield f"http://127.0.0.1:{port}/v1"
    process.terminate()
    process.wait(10)


def _served(url: str) -> int:
    return int(httpx.get(url + "/stats", timeout=5).json()["requests"])


@pytest.mark.timeout(300)
def test_kill_9_during_batched_writes_loses_at_most_the_open_batch(tmp_path: Path, slow_instant_server: str) -> None:
    """A real driver process writing batches through the real cache is SIGKILLed mid-run.

    Every committed answer must be whole and belong to its request; what the server
    answered but the cache lacks (the open batch and the requests in flight) is bounded
    by one batch plus the concurrency; a rerun asks for exactly the missing requests.
    """
    n, cache_dir, url = 2000, tmp_path / "cache", slow_instant_server
    writer = subprocess.Popen([sys.executable, str(Path(__file__).with_name("batch_writer.py")), url, str(cache_dir), str(n)])
    deadline = time.monotonic() + 120  # generous: start-up alone takes seconds on a loaded machine
    while cached_count(cache_dir) < 200:
        assert writer.poll() is None, "the writer ended before it was killed"
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.01)
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    survived, served = cached_count(cache_dir), _served(url)
    assert 200 <= survived < n

    factories, jobs = make_jobs(url, n)
    by_key = {job.key: job for job in jobs}
    with sqlite3.connect(cache_dir / "cache.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT key, request_json, response_json FROM responses").fetchall()
    assert len(rows) == survived and len({key for key, _, _ in rows}) == survived
    for key, request_json, response_json in rows:
        assert request_json == by_key[key].request.canonical_json()  # the row is its own request's
        response = Response.from_json(response_json)
        response.validate()
        assert response.text == "A" and response.label_probs is not None and response.label_probs["A"] > 0.5
    lost = served - survived
    assert 0 <= lost <= BATCH_SIZE + CONCURRENCY, (served, survived)

    cache = ResponseCache(cache_dir)
    policy = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.05, timeout=10)
    outcomes, counters = asyncio.run(execute(jobs, factories, cache, AsyncioExecutor(CONCURRENCY, policy), handle_signals=False))
    cache.close()
    assert counters.errors == 0 and len(outcomes) == n
    assert counters.cache_hits == survived and counters.model_calls == n - survived
    assert _served(url) - served == n - survived  # nothing committed was asked again
    assert cached_count(cache_dir) == n
