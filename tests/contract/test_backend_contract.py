"""The contract every registered backend family must pass, run for each one automatically.

Offline, for every available family: its example reference parses into a factory
that is plain data (it can be pickled to another process), whose identity is stable
and holds no secret, and whose description names its capabilities. Live, for the
built-in families (the embedded model in-process, and a real llama.cpp server on
loopback): every request mode a backend says it supports gives a response that
passes validation, option probabilities sum to one, and a deterministic request
asked twice gives the same answer (so caching it is sound).
"""

from __future__ import annotations

import asyncio
import math
import pickle

import pytest

from forkingpaths import registry
from forkingpaths.models.base import BackendFactory, BackendSettings, Capabilities, Message, Request
from forkingpaths.models.registry import backend_factory, family, install_hint

SECRET = "sk-contract-SECRET-7"
FAMILIES = [name for name in registry.backends.names() if install_hint(name) is None]
PROMPT = (Message("user", "Is the sky blue on a clear day? Answer A for yes or B for no."),)


@pytest.mark.parametrize("name", FAMILIES)
def test_the_example_reference_gives_a_plain_data_factory_without_secrets(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fam = family(name)
    assert fam.syntax and fam.example.split(":")[0] == name
    factory = backend_factory(fam.example, BackendSettings())
    assert isinstance(factory, BackendFactory) and isinstance(factory.capabilities, Capabilities)
    assert factory.identity() == backend_factory(fam.example, BackendSettings()).identity()
    copy = pickle.loads(pickle.dumps(factory))  # our own object, round-tripped: never user data
    assert copy.identity() == factory.identity()
    for shown in (factory.identity(), repr(factory), pickle.dumps(factory).decode("latin-1")):
        assert SECRET not in shown
    described = fam.describe(BackendSettings())
    assert described["description"] and "capabilities" in described


def _live(factory: BackendFactory) -> None:
    backend = factory.build()

    async def exercise() -> None:
        try:
            if backend.capabilities.choice_logprobs:
                request = Request("choice_logprobs", PROMPT, labels=("A", "B"), max_tokens=1)
                first, second = await backend.complete(request), await backend.complete(request)
                first.validate()
                probs = [p for p in (first.label_probs or {}).values() if p is not None]
                assert probs and math.isclose(sum(probs), 1.0, rel_tol=1e-6)
                assert first.label_probs == second.label_probs  # deterministic: the cache may reuse it
            if backend.capabilities.generate:
                request = Request("generate", PROMPT, max_tokens=4)
                first, second = await backend.complete(request), await backend.complete(request)
                first.validate()
                assert first.text is not None and first.text == second.text
        finally:
            await backend.aclose()

    asyncio.run(exercise())


@pytest.mark.model
def test_the_embedded_model_honours_the_contract() -> None:
    _live(backend_factory("llamacpp"))


@pytest.mark.server
@pytest.mark.model
def test_an_openai_compatible_server_honours_the_contract(llama_server) -> None:  # type: ignore[no-untyped-def]
    factory = backend_factory(f"openai:{llama_server.model}@{llama_server.base_url}", BackendSettings())
    factory.probe()
    _live(factory)
