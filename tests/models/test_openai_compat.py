"""The OpenAI-compatible backend against a real llama-cpp-python server.

The only fake is a tiny local HTTP server for faults a real server cannot produce on
demand (429 with Retry-After, 5xx, 4xx, a hung response).
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from forkingpaths.models.base import Message, PermanentBackendError, Request, TransientBackendError
from forkingpaths.models.llamacpp import LlamaCppBackend
from forkingpaths.models.openai_compat import OpenAICompatBackend, _label_lookup
from forkingpaths.execution.executor import AsyncioExecutor, Job, RetryPolicy, execute
from forkingpaths.models.base import BackendSettings
from forkingpaths.models.registry import backend_factory
from forkingpaths.store import ResponseCache

SECRET = "sk-test-DO-NOT-LEAK-0123456789"

AGREEMENT_PROMPTS = [
    (Message("user", "Which planet is closest to the sun?\nA. Venus\nB. Mercury\nC. Mars\nAnswer with one letter."),),
    (
        Message("system", "You answer survey questions with a single letter."),
        Message("user", "How important is family in your life?\nA. Very important\nB. Rather important\nC. Not important"),
    ),
    (Message("user", "Pick one option: A, B or C."),),
]


@pytest.fixture
def http_backend(llama_server) -> Iterator[OpenAICompatBackend]:  # type: ignore[no-untyped-def]
    backend = OpenAICompatBackend(llama_server.model, base_url=llama_server.base_url, api_key="not-needed")
    yield backend


@pytest.mark.server
@pytest.mark.model
async def test_generate_records_text_and_usage(http_backend: OpenAICompatBackend) -> None:
    response = await http_backend.complete(Request("generate", AGREEMENT_PROMPTS[0], max_tokens=8))
    assert isinstance(response.text, str) and response.text.strip()
    assert response.prompt_tokens and response.prompt_tokens > 20
    assert response.completion_tokens is not None and 1 <= response.completion_tokens <= 8
    assert response.latency_s is not None and response.latency_s > 0
    await http_backend.aclose()


@pytest.mark.server
@pytest.mark.model
async def test_choice_logprobs_agree_with_the_in_process_model(
    http_backend: OpenAICompatBackend, embedded_model_path: Path
) -> None:
    local = LlamaCppBackend(embedded_model_path)
    labels = ("A", "B", "C")
    worst = 0.0
    for messages in AGREEMENT_PROMPTS:
        request = Request("choice_logprobs", messages, labels=labels)
        remote, exact = await http_backend.complete(request), await local.complete(request)
        assert remote.label_probs is not None and exact.label_probs is not None
        assert all(p is not None for p in remote.label_probs.values())
        worst = max(worst, *(abs(remote.label_probs[x] - exact.label_probs[x]) for x in labels))  # type: ignore[operator]
        assert remote.valid_mass == pytest.approx(exact.valid_mass, abs=0.02)
        assert remote.prompt_tokens == exact.prompt_tokens  # same template, same tokens, no extra BOS
        assert remote.completion_tokens == 1
    print(f"max |p_http - p_inprocess| over {len(AGREEMENT_PROMPTS)} prompts: {worst:.2e}")
    assert worst < 0.02
    await http_backend.aclose()


@pytest.mark.server
@pytest.mark.model
async def test_label_outside_the_top_k_is_missing_not_zero(
    http_backend: OpenAICompatBackend, embedded_model_path: Path
) -> None:
    request = Request("choice_logprobs", AGREEMENT_PROMPTS[0], labels=("A", "B", "Ω"))
    response = await http_backend.complete(request)
    assert response.label_probs is not None and response.label_probs["Ω"] is None
    found = {k: v for k, v in response.label_probs.items() if v is not None}
    assert set(found) == {"A", "B"}
    assert sum(found.values()) == pytest.approx(1.0)
    exact = await LlamaCppBackend(embedded_model_path).complete(Request("choice_logprobs", request.messages, labels=("A", "B")))
    assert exact.label_probs is not None and exact.valid_mass is not None
    assert found["A"] == pytest.approx(exact.label_probs["A"], abs=0.02)
    assert response.valid_mass == pytest.approx(exact.valid_mass, abs=0.02)  # mass of the found labels only
    await http_backend.aclose()


@pytest.mark.server
@pytest.mark.model
async def test_api_key_never_appears_in_identity_repr_or_versions(
    llama_server, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("FP_TEST_KEY", SECRET)
    backend = backend_factory(f"openai:{llama_server.model}@{llama_server.base_url}", BackendSettings(api_key_env="FP_TEST_KEY")).build()
    assert backend.identity == f"{llama_server.base_url}|{llama_server.model}"
    response = await backend.complete(Request("generate", AGREEMENT_PROMPTS[2], max_tokens=2))
    assert response.text is not None
    for shown in (backend.identity, repr(backend), str(backend), json.dumps(backend.versions()), response.to_json()):
        assert SECRET not in shown
    await backend.aclose()


@pytest.mark.server
@pytest.mark.model
async def test_per_token_embeddings_are_refused(start_llama_server) -> None:  # type: ignore[no-untyped-def]
    server = start_llama_server(n_ctx=512, extra_args=["--embedding", "true"])
    backend = OpenAICompatBackend(server.model, base_url=server.base_url, api_key="not-needed")
    with pytest.raises(PermanentBackendError, match="flat embedding"):
        await backend.complete(Request("embed", (Message("user", "hello"),)))
    await backend.aclose()


async def test_closed_port_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = OpenAICompatBackend("m", base_url=f"http://127.0.0.1:{port}/v1", api_key="not-needed", timeout=5)
    with pytest.raises(TransientBackendError):
        await backend.complete(Request("generate", AGREEMENT_PROMPTS[2]))
    await backend.aclose()


Reply = tuple[int, dict[str, str], "dict[str, object] | list[object] | bytes | None", float]


@dataclass
class FaultServer:
    """Answers each request with the next scripted (status, headers, body, delay_s).

    A body given as bytes is sent as it is (for replies that are not JSON). A request whose
    last message is a key of ``by_prompt`` takes its reply from that list instead, so
    concurrent requests get their own replies whatever order they arrive in.
    """

    base_url: str
    script: list[Reply] = field(default_factory=list)
    by_prompt: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[dict[str, str]] = field(default_factory=list)

    def next_reply(self, request_body: bytes) -> Reply:
        try:
            payload = json.loads(request_body)
            prompt = (payload.get("messages") or [{}])[-1].get("content") or payload.get("input")
        except ValueError:
            prompt = None
        queue = self.by_prompt.get(prompt) if isinstance(prompt, str) else None
        return (queue or self.script).pop(0)


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    state = FaultServer(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request_body = self.rfile.read(int(self.headers.get("content-length", 0)))
            state.seen.append({k.lower(): v for k, v in self.headers.items()})
            status, headers, body, delay = state.next_reply(request_body)
            time.sleep(delay)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            text = raw.replace(b"{auth}", self.headers.get("authorization", "").encode())
            self.send_response(status)
            for name, value in {"content-type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def _error(message: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "test", "code": None}}


async def test_fault_classification_and_retry_after(fault_server: FaultServer) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    fault_server.script = [
        (429, {"retry-after": "2"}, _error("slow down"), 0.0),
        (500, {}, _error("boom"), 0.0),
        (503, {"retry-after": later}, _error("overloaded"), 0.0),
        (400, {}, _error("bad request"), 0.0),
        (401, {}, _error("Incorrect API key provided: {auth}"), 0.0),
    ]
    backend = OpenAICompatBackend("m", base_url=fault_server.base_url, api_key=SECRET, timeout=5)
    request = Request("choice_logprobs", AGREEMENT_PROMPTS[2], labels=("A", "B"))

    with pytest.raises(TransientBackendError) as rate_limited:
        await backend.complete(request)
    assert rate_limited.value.retry_after == 2.0
    assert len(fault_server.seen) == 1  # the client's own retries are off

    with pytest.raises(TransientBackendError) as server_error:
        await backend.complete(request)
    assert server_error.value.retry_after is None

    with pytest.raises(TransientBackendError) as unavailable:
        await backend.complete(request)
    assert unavailable.value.retry_after is not None and 25 < unavailable.value.retry_after <= 30

    with pytest.raises(PermanentBackendError, match="HTTP 400"):
        await backend.complete(request)

    with pytest.raises(PermanentBackendError, match="HTTP 401") as unauthorised:
        await backend.complete(request)
    assert SECRET in fault_server.seen[-1]["authorization"]  # the server did see (and echo) the key
    assert SECRET not in str(unauthorised.value) and unauthorised.value.__cause__ is None
    assert len(fault_server.seen) == 5
    await backend.aclose()


async def test_malformed_success_is_permanent(fault_server: FaultServer) -> None:
    fault_server.script = [(200, {}, {"object": "chat.completion"}, 0.0)]
    backend = OpenAICompatBackend("m", base_url=fault_server.base_url, api_key="not-needed", timeout=5)
    with pytest.raises(PermanentBackendError, match="malformed"):
        await backend.complete(Request("generate", AGREEMENT_PROMPTS[2]))
    await backend.aclose()


def _logprobs_reply(top: list[dict[str, object]]) -> dict[str, object]:
    """A chat completion whose first token has the given top-k alternatives."""
    first = {"token": "A", "logprob": -0.1, "bytes": None, "top_logprobs": top}
    message = {"role": "assistant", "content": "A"}
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "length", "logprobs": {"content": [first]}}]}


MALFORMED_REPLIES: list[tuple[str, str, Reply, type[Exception]]] = [
    ("cut-short JSON", "generate", (200, {}, b'{"choices": [{"message": ', 0.0), TransientBackendError),
    ("not UTF-8", "generate", (200, {}, b"\xff\xfe\x00{", 0.0), TransientBackendError),
    ("HTML with status 200", "generate", (200, {"content-type": "text/html"}, b"<html>proxy</html>", 0.0), PermanentBackendError),
    ("no choices key", "generate", (200, {}, {"object": "chat.completion"}, 0.0), PermanentBackendError),
    ("empty choices", "generate", (200, {}, {"choices": []}, 0.0), PermanentBackendError),
    ("choices is a string", "generate", (200, {}, {"choices": "A"}, 0.0), PermanentBackendError),
    ("message is a string", "generate", (200, {}, {"choices": [{"message": "A"}]}, 0.0), PermanentBackendError),
    ("content is a number", "generate", (200, {}, {"choices": [{"message": {"content": 5}}]}, 0.0), PermanentBackendError),
    ("top-level list", "generate", (200, {}, [], 0.0), PermanentBackendError),
    ("top-level null", "generate", (200, {}, None, 0.0), PermanentBackendError),
    ("logprob is text", "choice_logprobs", (200, {}, _logprobs_reply([{"token": "A", "logprob": "x"}]), 0.0), PermanentBackendError),
    ("logprob +3", "choice_logprobs", (200, {}, _logprobs_reply([{"token": "A", "logprob": 3.0}]), 0.0), PermanentBackendError),
    ("logprob overflows exp", "choice_logprobs", (200, {}, _logprobs_reply([{"token": "A", "logprob": 1e6}]), 0.0), PermanentBackendError),
    ("logprob NaN", "choice_logprobs", (200, {}, _logprobs_reply([{"token": "A", "logprob": math.nan}]), 0.0), PermanentBackendError),
    ("token is a number", "choice_logprobs", (200, {}, _logprobs_reply([{"token": 7, "logprob": -1.0}]), 0.0), PermanentBackendError),
    ("top_logprobs null", "choice_logprobs", (200, {}, _logprobs_reply(None), 0.0), PermanentBackendError),  # type: ignore[arg-type]
    ("embedding holds text", "embed", (200, {}, {"data": [{"embedding": [0.1, "x"]}]}, 0.0), PermanentBackendError),
    ("embedding holds null", "embed", (200, {}, {"data": [{"embedding": [0.1, None]}]}, 0.0), PermanentBackendError),
    ("no embedding data", "embed", (200, {}, {"data": []}, 0.0), PermanentBackendError),
]


@pytest.mark.timeout(60)
async def test_every_malformed_200_reply_is_a_classified_backend_error(fault_server: FaultServer) -> None:
    fault_server.script = [reply for _, _, reply, _ in MALFORMED_REPLIES]
    backend = OpenAICompatBackend("m", base_url=fault_server.base_url, api_key=SECRET, timeout=5)
    for name, mode, _, expected in MALFORMED_REPLIES:
        request = Request(mode, AGREEMENT_PROMPTS[2], labels=("A", "B") if mode == "choice_logprobs" else ())  # type: ignore[arg-type]
        with pytest.raises(expected) as caught:
            await backend.complete(request)
        assert type(caught.value) is expected, name  # not a JSONDecodeError, TypeError, OverflowError…
        assert SECRET not in str(caught.value) and caught.value.__cause__ is None, name
    assert fault_server.script == []
    await backend.aclose()


@pytest.mark.timeout(60)
async def test_bad_replies_become_error_rows_and_impossible_answers_are_never_cached(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    """Through the real executor and cache: no crash, a retry for the transient fault, no cache entry."""
    good = _logprobs_reply([{"token": "A", "logprob": -0.2}, {"token": "B", "logprob": -1.9}])
    fault_server.by_prompt = {
        "cut": [(200, {}, b'{"choices": [', 0.0)] * 3,
        "plus-three": [(200, {}, _logprobs_reply([{"token": "A", "logprob": 3.0}]), 0.0)],
        "nan-vector": [(200, {}, {"data": [{"embedding": [0.5, math.nan]}]}, 0.0)],
        "good": [(200, {}, good, 0.0)],
    }
    factory = backend_factory(f"openai:m@{fault_server.base_url}", BackendSettings(timeout=5, max_concurrency=2))
    jobs = [
        Job("k-cut", "m", Request("generate", (Message("user", "cut"),)), 0),
        Job("k-plus", "m", Request("choice_logprobs", (Message("user", "plus-three"),), labels=("A", "B")), 0),
        Job("k-nan", "m", Request("embed", (Message("user", "nan-vector"),)), 0),
        Job("k-good", "m", Request("choice_logprobs", (Message("user", "good"),), labels=("A", "B")), 0),
    ]
    cache = ResponseCache(tmp_path)
    policy = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.01, timeout=5)
    outcomes, counters = await execute(jobs, {"m": factory}, cache, AsyncioExecutor(2, policy), handle_signals=False)
    assert "not valid JSON" in str(outcomes["k-cut"].error) and "after 3 attempts" in str(outcomes["k-cut"].error)
    assert "impossible log-probability 3.0" in str(outcomes["k-plus"].error)
    assert "InvalidResponseError" in str(outcomes["k-nan"].error)  # passed the backend, stopped by validate()
    assert outcomes["k-good"].response is not None and outcomes["k-good"].error is None
    assert (counters.errors, counters.retries, counters.model_calls, counters.attempts) == (3, 2, 4, 6)
    assert set(cache.get_many(job.key for job in jobs)) == {"k-good"}
    cache.close()


async def test_timeout_is_transient(fault_server: FaultServer) -> None:
    fault_server.script = [(200, {}, {}, 2.0)]
    backend = OpenAICompatBackend("m", base_url=fault_server.base_url, api_key="not-needed", timeout=0.3)
    with pytest.raises(TransientBackendError):
        await backend.complete(Request("generate", AGREEMENT_PROMPTS[2]))
    await backend.aclose()


def _match(token: str, labels: tuple[str, ...]) -> str | None:
    """The label a top-k token stands for, as ``_choice_logprobs`` reads it."""
    return _label_lookup(labels).get(token.strip())


def test_top_k_token_matching_rule() -> None:
    labels = ("A", "B", "Strongly agree", "Strongly disagree", "Neutral")
    assert _match("A", labels) == "A"
    assert _match(" B", labels) == "B"
    assert _match("A\n", labels) == "A"
    assert _match(" Neut", labels) == "Neutral"  # a prefix of exactly one label
    assert _match("Strongly", labels) is None  # a prefix of two labels: ambiguous
    assert _match("\n", labels) is None
    assert _match("C", labels) is None
