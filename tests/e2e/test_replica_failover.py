"""Two llama.cpp servers on loopback serve one model; one is stopped mid-run and the other takes its share."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas.testing
import pytest

import forkingpaths
from forkingpaths import RunOptions

from .conftest import cached_count, write_spec

ANSWERED = '"POST /v1/chat/completions HTTP/1.1" 200'


def _comparable(run: forkingpaths.Run):  # type: ignore[no-untyped-def]
    return run.trials.drop(columns=["latency_s", "cached"]).sort_values("trial_id").reset_index(drop=True)


def _spec(path: Path, model: object) -> Path:
    return write_spec(
        path,
        name=path.stem,
        models=[model],
        data={"loader": "builtin", "params": {"name": "values"}, "limit": 5},
        factors={"option_order": ["original", "reversed"]},
        concurrency=2,
        retries={"max_attempts": 4, "initial_delay": 0.05, "max_delay": 0.5, "timeout": 60},
    )


@pytest.mark.server
@pytest.mark.timeout(420)
def test_a_replica_stopped_mid_run_moves_its_share_and_the_trials_equal_a_one_server_run(tmp_path, start_llama_server) -> None:  # type: ignore[no-untyped-def]
    first, second = start_llama_server(n_ctx=1024), start_llama_server(n_ctx=1024)
    one_server = forkingpaths.run(_spec(tmp_path / "one.yaml", f"openai:{first.model}@{first.base_url}"), RunOptions(cache_dir=tmp_path / "c1"))
    requests = one_server.manifest.counts.requests
    assert one_server.manifest.counts.errors == 0 and requests == one_server.manifest.counts.model_calls

    replicated = _spec(
        tmp_path / "two.yaml", {"ref": f"openai:{first.model}", "base_urls": [first.base_url, second.base_url], "cooldown": 60}
    )
    cache, outcome = tmp_path / "c2", {}

    def run() -> None:
        try:
            outcome["run"] = forkingpaths.run(replicated, RunOptions(cache_dir=cache))
        except BaseException as error:  # noqa: BLE001 - surfaced below
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 240
    while cached_count(cache) < 3 and time.monotonic() < deadline and worker.is_alive():
        time.sleep(0.02)
    first.process.terminate()  # graceful: it finishes what it is answering, then refuses
    first.process.wait(30)
    stopped_after = cached_count(cache)
    answered_by_first = first.log_path.read_text(errors="replace").count(ANSWERED) - one_server.manifest.counts.model_calls
    worker.join(300)
    assert "error" not in outcome, outcome.get("error")
    two_servers = outcome["run"]
    assert 3 <= stopped_after < requests, "the server was not stopped mid-run"

    counts = two_servers.manifest.counts
    assert counts.errors == 0 and counts.requests == counts.model_calls == requests  # every request answered once
    answered_by_second = second.log_path.read_text(errors="replace").count(ANSWERED)
    assert answered_by_first + answered_by_second == requests  # and asked of exactly one server
    assert answered_by_second >= requests - stopped_after  # the stopped server's share moved
    pandas.testing.assert_frame_equal(_comparable(one_server), _comparable(two_servers))
    assert one_server.results == two_servers.results
