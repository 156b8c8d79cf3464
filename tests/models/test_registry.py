"""Model references → backend factories through the backend registry; availability; nothing is loaded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from forkingpaths import registry
from forkingpaths.errors import UserError
from forkingpaths.models.base import Backend, BackendFactory, BackendSettings
from forkingpaths.models.llamacpp import LlamaCppBackend, LlamaCppFactory
from forkingpaths.models.openai_compat import OPENAI_BASE_URL, OpenAICompatBackend, OpenAIFactory
from forkingpaths.models.registry import backend_factory, describe_backends

SECRET = "sk-test-registry-SECRET-42"
LOCAL = BackendSettings(api_key_env="FP_NO_SUCH_KEY_VAR")


@pytest.mark.parametrize(
    ("ref", "model", "url"),
    [
        ("openai:smollm2@http://127.0.0.1:8080/v1", "smollm2", "http://127.0.0.1:8080/v1"),
        ("openai:org/model:tag@http://localhost:9/v1", "org/model:tag", "http://localhost:9/v1"),
    ],
)
def test_openai_references_parse(ref: str, model: str, url: str) -> None:
    factory = backend_factory(ref, LOCAL)
    assert isinstance(factory, OpenAIFactory) and isinstance(factory, BackendFactory)
    assert (factory.model, factory.base_url, factory.reference) == (model, url, ref)
    assert factory.identity() == f"{url}|{model}"


@pytest.mark.parametrize(
    "ref", ["", "llama", "llamacpp:", "openai", "openai:", "openai:m@127.0.0.1:8080/v1", "openai:a b", "hf:gpt2", "openai:m@"]
)
def test_invalid_references_are_one_line_user_errors_with_the_key_path(ref: str) -> None:
    with pytest.raises(UserError) as error:
        backend_factory(ref, LOCAL, key_path="models[2]")
    message = str(error.value)
    assert "\n" not in message and message.startswith("models[2]: ")
    assert "llamacpp" in message or "openai" in message


def test_embedded_model_factory_builds_without_loading(embedded_model_path: Path) -> None:
    factory = backend_factory("llamacpp")
    assert isinstance(factory, LlamaCppFactory)
    assert factory.model_path == embedded_model_path.resolve()
    factory.probe()  # reads the GGUF magic only
    backend = factory.build()
    assert isinstance(backend, LlamaCppBackend) and isinstance(backend, Backend)
    assert backend.max_concurrency == 1 and backend.identity == factory.identity()
    assert backend_factory(f"llamacpp:{embedded_model_path}").identity() == factory.identity()


def test_a_file_that_is_not_gguf_fails_its_probe(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(Exception, match="not a GGUF file"):
        backend_factory(f"llamacpp:{fake}").probe()
    with pytest.raises(Exception, match="cannot read model file"):
        backend_factory(f"llamacpp:{tmp_path / 'nope.gguf'}").probe()


def test_openai_needs_a_key_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY_VAR", raising=False)
    settings = BackendSettings(api_key_env="MY_KEY_VAR")
    with pytest.raises(UserError, match="MY_KEY_VAR"):
        backend_factory("openai:gpt-4o-mini", settings)
    with pytest.raises(UserError, match="MY_KEY_VAR"):
        backend_factory("openai:m@https://api.example.com/v1", settings)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://192.168.1.5:8000/v1"])
def test_local_servers_need_no_key(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = backend_factory(f"openai:m@{url}", BackendSettings(max_concurrency=3)).build()
    assert isinstance(backend, OpenAICompatBackend)
    assert backend.identity == f"{url}|m" and backend.max_concurrency == 3


def test_key_is_used_but_never_shown_nor_held_by_the_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    factory = backend_factory("openai:gpt-4o-mini")
    assert factory.identity() == f"{OPENAI_BASE_URL}|gpt-4o-mini"
    assert SECRET not in repr(factory)  # a factory may travel to another process: no secret in it
    backend = factory.build()
    for shown in (backend.identity, repr(backend), str(backend.versions())):
        assert SECRET not in shown


def test_describe_backends(embedded_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    described = {entry["name"]: entry for entry in describe_backends()}
    assert {"llamacpp", "openai"} <= set(described)
    assert all(described[n]["available"] for n in ("llamacpp", "openai"))
    embedded = described["llamacpp"]["embedded_model"]
    assert isinstance(embedded, dict)
    assert embedded["path"] == str(embedded_model_path)
    assert embedded["sha256"] == hashlib.sha256(embedded_model_path.read_bytes()).hexdigest()
    assert described["llamacpp"]["capabilities"] == {
        "generate": True, "choice_logprobs": True, "embed": False, "exact_logprobs": True, "loglikelihood": True,
    }
    assert described["openai"]["capabilities"]["exact_logprobs"] is False  # type: ignore[index]
    assert described["openai"]["api_key_set"] is True
    assert SECRET not in repr(described)


def test_an_unavailable_backend_says_which_extra_to_install() -> None:
    registry.register_backend(
        "nosuch", "forkingpaths_nosuch_backend:FAMILY", "a backend whose module is absent",
        requires=("forkingpaths_nosuch_backend",), extra="nosuch",
    )
    try:
        described = {entry["name"]: entry for entry in describe_backends()}
        assert described["nosuch"]["available"] is False
        assert described["nosuch"]["install"] == "needs forkingpaths_nosuch_backend: pip install 'forkingpaths[nosuch]'"
        with pytest.raises(UserError, match=r"models\[0\]: the nosuch backend is not installed .*forkingpaths\[nosuch\]"):
            backend_factory("nosuch:model", key_path="models[0]")
    finally:
        registry.backends.unregister("nosuch")
