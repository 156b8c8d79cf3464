"""Model references, backend construction and the backend description (nothing is loaded)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from forkingpaths.errors import UserError
from forkingpaths.models.base import Backend
from forkingpaths.models.llamacpp import LlamaCppBackend
from forkingpaths.models.openai_compat import OPENAI_BASE_URL, OpenAICompatBackend
from forkingpaths.models.registry import ModelRef, create_backend, describe_backends, parse_model_ref

SECRET = "sk-test-registry-SECRET-42"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("llamacpp", ModelRef("llamacpp")),
        ("llamacpp:/models/m.gguf", ModelRef("llamacpp", model="/models/m.gguf")),
        ("openai:gpt-4o-mini", ModelRef("openai", model="gpt-4o-mini")),
        ("openai:smollm2@http://127.0.0.1:8080/v1", ModelRef("openai", model="smollm2", base_url="http://127.0.0.1:8080/v1")),
        ("openai:org/model:tag@https://host.example/v1", ModelRef("openai", model="org/model:tag", base_url="https://host.example/v1")),
    ],
)
def test_valid_references_parse_and_round_trip(ref: str, expected: ModelRef) -> None:
    assert parse_model_ref(ref) == expected
    assert str(parse_model_ref(ref)) == ref


@pytest.mark.parametrize(
    "ref", ["", "llama", "llamacpp:", "openai", "openai:", "openai:m@127.0.0.1:8080/v1", "openai:a b", "hf:gpt2", "openai:m@"]
)
def test_invalid_references_are_one_line_user_errors(ref: str) -> None:
    with pytest.raises(UserError) as error:
        parse_model_ref(ref)
    message = str(error.value)
    assert "\n" not in message
    assert "'llamacpp'" in message and "openai:<model>@http" in message


def test_embedded_model_backend_is_built_without_loading(embedded_model_path: Path) -> None:
    assert embedded_model_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert embedded_model_path.stat().st_size > 50_000_000
    backend = create_backend("llamacpp")
    assert isinstance(backend, LlamaCppBackend) and isinstance(backend, Backend)
    assert backend.model_path == embedded_model_path.resolve()
    assert backend.max_concurrency == 1
    assert create_backend(f"llamacpp:{embedded_model_path}").identity == backend.identity


def test_missing_gguf_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        create_backend(f"llamacpp:{tmp_path / 'nope.gguf'}")


def test_openai_needs_a_key_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY_VAR", raising=False)
    with pytest.raises(UserError, match="MY_KEY_VAR"):
        create_backend("openai:gpt-4o-mini", api_key_env="MY_KEY_VAR")
    with pytest.raises(UserError, match="MY_KEY_VAR"):
        create_backend("openai:m@https://api.example.com/v1", api_key_env="MY_KEY_VAR")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://192.168.1.5:8000/v1"])
def test_local_servers_need_no_key(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = create_backend(f"openai:m@{url}", max_concurrency=3)
    assert isinstance(backend, OpenAICompatBackend)
    assert backend.identity == f"{url}|m"
    assert backend.max_concurrency == 3


def test_key_is_used_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    backend = create_backend("openai:gpt-4o-mini")
    assert backend.identity == f"{OPENAI_BASE_URL}|gpt-4o-mini"
    for shown in (backend.identity, repr(backend), str(backend.versions())):
        assert SECRET not in shown
    with pytest.raises(UserError, match="max_concurrency"):
        create_backend("openai:gpt-4o-mini", max_concurrency=0)


def test_describe_backends(embedded_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    described = {entry["name"]: entry for entry in describe_backends()}
    assert set(described) == {"llamacpp", "openai"}
    embedded = described["llamacpp"]["embedded_model"]
    assert isinstance(embedded, dict)
    assert embedded["path"] == str(embedded_model_path)
    assert embedded["size_bytes"] == embedded_model_path.stat().st_size
    assert embedded["sha256"] == hashlib.sha256(embedded_model_path.read_bytes()).hexdigest()
    assert described["llamacpp"]["capabilities"] == {
        "generate": True, "choice_logprobs": True, "embed": False, "exact_logprobs": True,
    }
    assert described["openai"]["capabilities"]["exact_logprobs"] is False  # type: ignore[index]
    assert described["openai"]["api_key_set"] is True
    assert SECRET not in repr(described)
