"""The SQLite response cache: WAL mode, round trips, info/clear, atomic run files."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from forkingpaths.cli import app

from forkingpaths.models.base import Message, Request, Response, request_key
from forkingpaths.store import CacheError, ResponseCache, to_jsonable, write_json


def _request(text: str = "hi") -> Request:
    return Request("choice_logprobs", (Message("user", text),), labels=("A", "B"), max_tokens=1)


def test_cache_round_trip_in_wal_mode(tmp_path) -> None:
    cache = ResponseCache(tmp_path)
    key = request_key("llamacpp", "sha256:abc", _request(), 0)
    response = Response(text="A", label_probs={"A": 0.7, "B": 0.3}, valid_mass=0.9, latency_s=0.1)
    cache.put(key, "llamacpp", "sha256:abc", _request().canonical_json(), 0, response)
    cache.close()
    reopened = ResponseCache(tmp_path)
    assert reopened.get_many([key, "missing"]) == {key: response}
    mode = sqlite3.connect(reopened.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    info = reopened.info()
    assert info.entries == 1 and info.by_model == {"llamacpp sha256:abc": 1}
    assert reopened.integrity_ok()
    assert reopened.clear() == 1 and reopened.info().entries == 0


def test_request_key_changes_with_every_component() -> None:
    base = request_key("llamacpp", "id", _request(), 0)
    assert request_key("openai", "id", _request(), 0) != base
    assert request_key("llamacpp", "id2", _request(), 0) != base
    assert request_key("llamacpp", "id", _request("other"), 0) != base
    assert request_key("llamacpp", "id", _request(), 0) == base


def test_repeat_index_separates_only_stochastic_requests() -> None:
    deterministic = _request()
    assert request_key("llamacpp", "id", deterministic, 1) == request_key("llamacpp", "id", deterministic, 0)
    sampled = Request("generate", (Message("user", "hi"),), temperature=0.7)
    assert request_key("llamacpp", "id", sampled, 1) != request_key("llamacpp", "id", sampled, 0)
    greedy = Request("generate", (Message("user", "hi"),), temperature=0.0)
    assert request_key("llamacpp", "id", greedy, 1) == request_key("llamacpp", "id", greedy, 0)


def _one_line_cache_error(action, path) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(CacheError) as caught:
        action()
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and str(path) in message and caught.value.exit_code == 2
    assert "cache clear" not in message  # clearing needs a readable cache
    return message


def test_a_file_that_is_not_a_database_is_one_line_naming_it(tmp_path) -> None:
    (tmp_path / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    message = _one_line_cache_error(lambda: ResponseCache(tmp_path), tmp_path / "cache.sqlite")
    assert "move the file aside" in message


def _filled_cache(directory: Path, entries: int = 400) -> Path:
    cache = ResponseCache(directory)
    for i in range(entries):
        cache.put(f"k{i}", "openai", "id", _request(f"q{i}").canonical_json(), 0, Response(text="A" * 200))
    cache.close()
    sqlite3.connect(directory / "cache.sqlite").execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    return directory / "cache.sqlite"


def test_corrupted_pages_are_found_when_the_cache_is_opened(tmp_path) -> None:
    path = _filled_cache(tmp_path)
    with path.open("r+b") as handle:  # overwrite pages in the middle of the file, as a bad disk would
        handle.seek(4096 * 5)
        handle.write(b"\xde\xad\xbe\xef" * 4096)
    _one_line_cache_error(lambda: ResponseCache(tmp_path), path)


def test_a_cache_folder_that_is_a_file_is_one_line(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CacheError, match=r"cache folder .*file: cannot be created .*FORKINGPATHS_CACHE_DIR"):
        ResponseCache(tmp_path / "file")


@pytest.mark.timeout(30)
def test_a_lock_held_too_long_is_one_line_and_keeps_committed_answers(tmp_path) -> None:
    cache = ResponseCache(tmp_path, lock_timeout=0.5)
    cache.put("before", "openai", "id", "{}", 0, Response(text="kept"))
    holder = sqlite3.connect(cache.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing and not letting go
    started = time.monotonic()
    message = _one_line_cache_error(lambda: cache.put("after", "openai", "id", "{}", 0, Response(text="x")), cache.path)
    assert "locked by another process for more than 0.5 s" in message
    assert time.monotonic() - started < 5
    holder.execute("ROLLBACK")
    holder.close()
    assert set(cache.get_many(["before", "after"])) == {"before"}
    cache.close()


@pytest.mark.timeout(30)
def test_a_lock_that_frees_within_the_timeout_is_waited_for(tmp_path) -> None:
    cache = ResponseCache(tmp_path, lock_timeout=10)
    holder = sqlite3.connect(cache.path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    releaser.start()
    cache.put("k", "openai", "id", "{}", 0, Response(text="A"))  # retried with backoff until the lock frees
    releaser.join()
    holder.close()
    assert set(cache.get_many(["k"])) == {"k"}
    cache.close()


def test_cache_clear_on_a_damaged_cache_does_not_suggest_cache_clear(tmp_path) -> None:
    (tmp_path / "cache.sqlite").write_bytes(b"\x00garbage" * 1000)
    result = CliRunner().invoke(app, ["cache", "clear", "--yes"], env={"FORKINGPATHS_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "error: cache " in result.output and "move the file aside" in result.output
    assert "cache clear" not in result.output and "Traceback" not in result.output


def test_json_output_has_no_nan(tmp_path) -> None:
    payload = {"a": float("nan"), "b": np.float64(1.5), "c": [np.int64(2), math.inf], "d": np.array([1.0, np.nan])}
    assert to_jsonable(payload) == {"a": None, "b": 1.5, "c": [2, None], "d": [1.0, None]}
    write_json(tmp_path / "r.json", payload)
    assert json.loads((tmp_path / "r.json").read_text())["a"] is None
    assert not list(tmp_path.glob(".*tmp*"))


def test_impossible_or_unreadable_entries_read_back_as_missing(tmp_path) -> None:
    """An entry cached before responses were validated (valid mass 40.2) is asked for again."""
    cache = ResponseCache(tmp_path)
    good = Response(text="A", label_probs={"A": 0.7, "B": 0.3}, valid_mass=0.9)
    cache.put("good", "openai", "id", _request().canonical_json(), 0, good)
    rows = [
        ("impossible", Response(text="A", label_probs={"A": 1.0, "B": 0.0}, valid_mass=40.2).to_json()),
        ("garbled", '{"text": '),
        ("foreign", '{"unknown_field": 1}'),
    ]
    with sqlite3.connect(cache.path) as other:  # as an older version or a hand edit would have written them
        other.executemany(
            "INSERT INTO responses VALUES (?, 'openai', 'id', '{}', 0, ?, 0)", rows
        )
    assert cache.get_many(["good", "impossible", "garbled", "foreign"]) == {"good": good}
    cache.close()
