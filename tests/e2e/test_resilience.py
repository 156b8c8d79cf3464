"""Interruptions and failures: kill -9, SIGTERM, a server dying mid-run; no secret on disk."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import RunOptions
from forkingpaths.store import ResponseCache

from .conftest import CLI, cached_count, cli_env, write_spec

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
