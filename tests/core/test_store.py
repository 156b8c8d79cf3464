"""The SQLite response cache: WAL mode, round trips, info/clear, atomic run files."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np

from forkingpaths.models.base import Message, Request, Response, request_key
from forkingpaths.store import ResponseCache, to_jsonable, write_json


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


def test_corrupt_cache_file_gives_a_clear_error(tmp_path) -> None:
    (tmp_path / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    try:
        ResponseCache(tmp_path)
    except Exception as error:  # noqa: BLE001 - asserting on the message
        assert "cache.sqlite" in str(error) and "cache clear" in str(error)
    else:
        raise AssertionError("a corrupt cache must not open silently")


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
