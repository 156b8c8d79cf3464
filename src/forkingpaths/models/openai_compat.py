"""Backend for any OpenAI-compatible HTTP API (OpenAI, vLLM, llama.cpp server, Ollama, …).

Requests go through one pooled ``aiohttp.ClientSession`` (HTTP/1.1, keep-alive, at most
``max_concurrency`` connections) with the JSON built and read here, not through the
``openai`` SDK or httpx: measured side by side on one core, the SDK's request and response
models cost several times the client CPU of the HTTP call itself, and httpx's own
connection-pool machinery about five times aiohttp's, so a harness sending thousands of
requests a second was held back by its own client (docs/performance.md,
``benchmarks/client_cpu.py``). What the SDK did that matters is kept: the same request
bodies, failures named and worded as the SDK names them (``RateLimitError: Error code: 429
- …``), the ``Retry-After`` hint, the timeout on connecting and on every read, and no
retries of its own: the executor owns retrying, and it needs to see each failure
classified as transient or permanent. The one-off synchronous probes (``GET /models``)
use httpx, which has a synchronous client.

Option probabilities come from the first generated token's ``top_logprobs`` (at most 20,
OpenAI's limit), so they are a top-k cut, not the full distribution
(``exact_logprobs=False``); a label outside the top-k is reported missing (``None``),
never as zero.

``loglikelihood`` (scoring given continuations) goes through ``/completions`` with
echoed prompt log-probabilities, only for a reference that names the model's chat
template (``;chat_template=…``); see ``echo_loglikelihood``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import ipaddress
import json
import math
import os
import re
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlparse

import aiohttp
import httpx

from . import echo_loglikelihood
from .base import (
    BackendSettings,
    PROBABILITY_TOLERANCE,
    Capabilities,
    Message,
    PermanentBackendError,
    Replicas,
    Request,
    Response,
    TransientBackendError,
)

if TYPE_CHECKING:
    from .replicas import ReplicaSetFactory

OPENAI_BASE_URL = "https://api.openai.com/v1"
MAX_TOP_LOGPROBS = 20  # OpenAI rejects more; most compatible servers accept it
_TRANSIENT_STATUS = {408, 409, 429}  # plus every 5xx
#: What reading a well-formed JSON reply of the wrong shape raises (missing key, empty
#: list, wrong type, a log-probability that is not a number); see ``complete``.
_MALFORMED = (AttributeError, IndexError, KeyError, TypeError, ValueError, OverflowError)
#: The ``openai`` SDK's exception class for each HTTP status (``openai._client._make_status_error``),
#: so that error rows read as they did when the SDK made the calls.
_STATUS_ERROR_NAMES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}


class _NotJSON(Exception):
    """A 2xx reply whose body is not JSON and does not claim to be (an HTML page from a proxy)."""


def _status_error_name(status: int) -> str:
    return _STATUS_ERROR_NAMES.get(status, "InternalServerError" if status >= 500 else "APIStatusError")


def _error_message(status: int, body: bytes) -> str:
    """The SDK's wording: ``Error code: N - <parsed JSON body>``, else the body text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text or f"Error code: {status}"
    return f"Error code: {status} - {parsed}"


def _is_json_type(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().endswith("json")


class OpenAICompatBackend:
    """One model behind an OpenAI-compatible endpoint.

    ``identity`` is ``"<base_url>|<model>"``. The API key lives only in the client's
    ``Authorization`` header (and, to scrub it from messages, in a private attribute): it is
    never in ``identity``, ``versions()``, ``repr`` or an error message (server messages are
    scrubbed of it, and aiohttp's exception, whose request information carries the key in its
    headers, is not chained), and a backend refuses to be pickled (send its factory instead).
    With ``chat_template`` (a GGUF path) it also scores ``loglikelihood`` requests and its
    identity names that file's hash (see :func:`model_identity`).
    """

    name = "openai"
    capabilities = Capabilities(generate=True, choice_logprobs=True, embed=True, exact_logprobs=False)

    def __init__(
        self,
        model: str,
        *,
        base_url: str = OPENAI_BASE_URL,
        api_key: str,
        timeout: float = 60.0,
        max_concurrency: int = 8,
        top_logprobs: int = MAX_TOP_LOGPROBS,
        chat_template: Path | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.identity = model_identity(self.base_url, model, chat_template)
        self.capabilities = _capabilities(chat_template)
        self._chat_template = chat_template
        self._prompt: echo_loglikelihood.ChatPrompt | None = None
        self._prompt_lock = asyncio.Lock()
        self.max_concurrency = max_concurrency
        self.top_logprobs = max(1, min(top_logprobs, MAX_TOP_LOGPROBS))
        self._api_key = api_key
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._proxy: str | None = None

    def __repr__(self) -> str:
        return f"OpenAICompatBackend(identity={self.identity!r})"

    def __getstate__(self) -> NoReturn:
        raise TypeError("an OpenAICompatBackend holds a live connection and an API key; pickle its factory instead")

    def versions(self) -> dict[str, str]:
        return {"aiohttp": aiohttp.__version__}

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        """The pooled session of the running event loop, made on first use.

        An aiohttp session belongs to the loop it was made in, so a backend used from a
        new loop (a second ``asyncio.run``) gets a new session; the old loop is gone and
        its connections with it. The proxy variables (``HTTPS_PROXY``, ``NO_PROXY``) are read
        once here (:func:`env_proxy`), as the SDK honoured them, not on every request as
        aiohttp's ``trust_env`` does (a thread-pool round trip per request, measured to
        double the client CPU).
        """
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json", "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=None, connect=self._timeout, sock_connect=self._timeout, sock_read=self._timeout),
                connector=aiohttp.TCPConnector(limit=max(1, self.max_concurrency)),
            )
            self._session_loop = loop
            self._proxy = env_proxy(self.base_url)
        return self._session

    async def complete(self, request: Request) -> Response:
        start = time.perf_counter()
        try:
            if request.mode == "generate":
                response = await self._generate(request)
            elif request.mode == "choice_logprobs":
                response = await self._choice_logprobs(request)
            elif request.mode == "loglikelihood":
                response = await echo_loglikelihood.loglikelihood(self._post, self.model, await self._chat_prompt(), request)
            else:
                response = await self._embed(request)
        except TimeoutError:  # aiohttp's carries the request information and its headers (the key)
            raise TransientBackendError(f"{self.identity}: APITimeoutError: Request timed out.") from None
        except aiohttp.InvalidURL:
            raise PermanentBackendError(f"{self.identity}: APIConnectionError: invalid URL.") from None
        except aiohttp.ClientError:  # refused, reset, disconnected, a body cut short
            raise TransientBackendError(f"{self.identity}: APIConnectionError: Connection error.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            # A body cut short or garbled (a proxy, a dropped connection) may come whole next time.
            raise TransientBackendError(self._scrub(f"{self.identity}: reply is not valid JSON ({exc})")) from None
        except _NotJSON as exc:
            raise PermanentBackendError(self._scrub(f"{self.identity}: malformed response ({exc})")) from None
        except _MALFORMED as exc:  # a 200 whose JSON lacks the fields or has the wrong types
            raise PermanentBackendError(self._scrub(f"{self.identity}: malformed response ({exc})")) from None
        response.latency_s = time.perf_counter() - start
        return response

    async def _chat_prompt(self) -> echo_loglikelihood.ChatPrompt:
        """The chat template, read once (off the event loop) on the first ``loglikelihood`` request."""
        if self._chat_template is None:
            raise PermanentBackendError(
                f"{self.identity}: this reference cannot score continuations (loglikelihood); name the model's chat "
                "template with ';chat_template=/path/model.gguf' on a server that echoes prompt log-probabilities"
            )
        async with self._prompt_lock:
            if self._prompt is None:
                self._prompt = await asyncio.to_thread(echo_loglikelihood.ChatPrompt, self._chat_template)
        return self._prompt

    async def _post(self, path: str, body: dict[str, object]) -> object:
        """POST ``body`` as JSON; the parsed reply, or the classified failure.

        As with the SDK: a reply that is not JSON and not labelled JSON (an HTML page
        with status 200) is malformed, one labelled JSON that does not parse is transient.
        """
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        async with self._client().post(f"{self.base_url}/{path}", data=data, proxy=self._proxy) as reply:
            status, headers, content = reply.status, reply.headers, await reply.read()
        if status >= 400:
            self._raise_status(status, headers, content)
        if _is_json_type(headers.get("content-type", "application/json")):
            return json.loads(content)
        try:
            return json.loads(content)
        except ValueError:
            raise _NotJSON(f"a {headers.get('content-type')} body, not JSON") from None

    def _raise_status(self, status: int, headers: Mapping[str, str], body: bytes) -> NoReturn:
        """Transient: 408/409/429 and 5xx (with the server's ``Retry-After``); else permanent."""
        message = self._scrub(f"{self.identity}: HTTP {status}: {_status_error_name(status)}: {_error_message(status, body)}")
        if status in _TRANSIENT_STATUS or status >= 500:
            raise TransientBackendError(message, retry_after=retry_after_seconds(headers), status=status)
        raise PermanentBackendError(message)

    async def _generate(self, request: Request) -> Response:
        """Plain temperature sampling (``top_p=1``), matching the in-process backend."""
        body: dict[str, object] = {
            "messages": _chat(request.messages),
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": 1.0,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        completion = await self._post("chat/completions", body)
        choice = completion["choices"][0]  # type: ignore[index]
        content = choice["message"].get("content")
        if content is not None and not isinstance(content, str):
            raise TypeError(f"message content is {type(content).__name__}, not text")
        prompt_tokens, completion_tokens = _usage(completion)
        return Response(
            text=content or "",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            extra={"finish_reason": _text_or_none(choice.get("finish_reason"))},
        )

    async def _choice_logprobs(self, request: Request) -> Response:
        """Label probabilities from the first generated token's top-k alternatives.

        Matching rule, per top-k token: strip surrounding whitespace (so "A", " A" and
        "A\\n" all mean "A"); if the result equals a label, its probability counts for that
        label; otherwise, if it is a non-empty prefix of exactly one label, it counts for
        that label (this is how a multi-token label such as "Agree" can be scored: by a
        first token that identifies it uniquely). Tokens matching no label, or several,
        are ignored. A label's raw probability is the sum over its matching tokens; a label
        with none is missing (``None``). ``label_probs`` is renormalised over the found
        labels and ``valid_mass`` is their raw sum (0.0 when none is found). Compare the
        in-process backend, which scores a label's exact tokenisation only, and whole
        multi-token labels by teacher forcing.
        """
        if not request.labels:
            raise PermanentBackendError("choice_logprobs needs at least one label")
        body: dict[str, object] = {
            "messages": _chat(request.messages),
            "model": self.model,
            "logprobs": True,
            "max_tokens": 1,
            "temperature": 0.0,
            "top_logprobs": self.top_logprobs,
        }
        completion = await self._post("chat/completions", body)
        choice = completion["choices"][0]  # type: ignore[index]
        logprobs = choice.get("logprobs")
        content = logprobs.get("content") if logprobs is not None else None
        if not content:
            raise PermanentBackendError(f"{self.identity} returned no logprobs; it cannot score options")
        first = content[0]
        alternatives = first["top_logprobs"]
        found: dict[str, float] = {}
        lookup = _label_lookup(request.labels)
        for alternative in alternatives:
            label = lookup.get(_text(alternative["token"], "token").strip())
            if label is not None:
                found[label] = found.get(label, 0.0) + _probability(alternative["logprob"])
        mass = sum(found.values())
        label_probs: dict[str, float | None] = {
            label: (found[label] / mass if label in found and mass > 0 else None) for label in request.labels
        }
        prompt_tokens, completion_tokens = _usage(completion)
        return Response(
            text=max(found, key=found.__getitem__) if found else None,
            label_probs=label_probs,
            valid_mass=mass,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            extra={"first_token": _text(first["token"], "token"), "top_k": len(alternatives)},
        )

    async def _embed(self, request: Request) -> Response:
        """One vector for the messages' contents joined by newlines.

        Some servers (llama-cpp-python on a generative model) answer with one vector per
        token instead of a pooled vector; that is refused rather than guessed at.
        """
        text = "\n".join(m.content for m in request.messages)
        result = await self._post("embeddings", {"input": text, "model": self.model, "encoding_format": "float"})
        data = result.get("data")  # type: ignore[attr-defined]
        vector = data[0].get("embedding") if data else None
        if not vector or not isinstance(vector, list) or not all(_is_number(x) for x in vector):
            raise PermanentBackendError(
                f"{self.identity} did not return one flat embedding vector "
                "(per-token embeddings come from a non-pooling model; use an embedding model)"
            )
        return Response(embedding=[float(x) for x in vector], prompt_tokens=_usage(result)[0])

    def _scrub(self, text: str) -> str:
        key = self._api_key
        return text.replace(key, "[redacted]") if key else text


def env_proxy(base_url: str) -> str | None:
    """The proxy the environment names for ``base_url`` (``HTTPS_PROXY``/``HTTP_PROXY``), unless ``NO_PROXY`` exempts its host."""
    parsed = urlparse(base_url)
    if urllib.request.proxy_bypass(parsed.hostname or ""):
        return None
    return urllib.request.getproxies().get(parsed.scheme)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_number(value: object) -> bool:
    """A JSON number (``bool`` is an ``int`` in Python but never a number in a reply)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is {type(value).__name__}, not text")
    return value


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _probability(logprob: object) -> float:
    """``exp(logprob)``, refusing what no distribution gives: a non-number, NaN, or above 0."""
    if not _is_number(logprob) or math.isnan(logprob) or logprob > PROBABILITY_TOLERANCE:  # type: ignore[arg-type,operator]
        raise ValueError(f"impossible log-probability {logprob!r} (must be a number <= 0)")
    return math.exp(logprob)  # type: ignore[arg-type]


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _usage(reply: object) -> tuple[int | None, int | None]:
    """Prompt and completion token counts; ``None`` for any that is absent or not a count.

    Counts are bookkeeping, not measurements, so a server that mangles them loses only them.
    """
    usage = reply.get("usage") if isinstance(reply, dict) else None
    if not isinstance(usage, dict):
        return None, None
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))


def _chat(messages: tuple[Message, ...]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _label_lookup(labels: tuple[str, ...]) -> dict[str, str]:
    """Stripped token text → the label it stands for, by the rule of ``_choice_logprobs``.

    Built once per request, so that reading 20 alternatives is 20 dictionary look-ups:
    every non-empty prefix of a stripped label maps to it when no other label has that
    prefix, and the stripped labels themselves (first label wins) override prefixes.
    """
    owners: dict[str, list[str]] = {}
    for label in labels:
        text = label.strip()
        for end in range(1, len(text) + 1):
            owners.setdefault(text[:end], []).append(label)
    lookup = {prefix: found[0] for prefix, found in owners.items() if len(found) == 1}
    for label in reversed(labels):
        if label.strip():
            lookup[label.strip()] = label
    return lookup


_REFERENCE = re.compile(r"^(?P<model>[^@\s]+)(?:@(?P<url>https?://[^@\s]+))?$")
PROBE_TIMEOUT_S = 10.0
#: ``;key=value`` options after a reference, and what each accepts.
REFERENCE_OPTIONS = {"chat_template": "a GGUF file with the served model's chat template, or 'llamacpp' (the embedded model)"}


def model_identity(base_url: str, model: str, chat_template: Path | None) -> str:
    """``<base_url>|<model>``, plus ``|chat_template=sha256:<file hash>`` when a template renders the prompts.

    The template decides the text a ``loglikelihood`` request sends, so another template
    file must never hit the same cache entry; the plain reference keeps its old identity.
    """
    identity = f"{base_url.rstrip('/')}|{model}"
    if chat_template is None:
        return identity
    from .llamacpp import file_sha256

    try:
        digest = file_sha256(chat_template)
    except OSError as error:
        raise PermanentBackendError(f"chat_template: cannot read {chat_template}: {error.strerror}") from None
    return f"{identity}|chat_template=sha256:{digest}"


def _capabilities(chat_template: Path | None) -> Capabilities:
    return dataclasses.replace(OpenAICompatBackend.capabilities, loglikelihood=chat_template is not None)


def split_options(rest: str) -> tuple[str, dict[str, str]]:
    """``model@url;key=value;…`` into ``model@url`` and the options; an unknown or empty option is a ``ValueError``."""
    head, *parts = rest.split(";")
    options: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key not in REFERENCE_OPTIONS or not sep or not value:
            accepted = "; ".join(f"'{name}=…' ({what})" for name, what in REFERENCE_OPTIONS.items())
            raise ValueError(f"unknown or empty option {part.strip()!r}; accepted: {accepted}")
        options[key] = value
    return head, options


def is_local(base_url: str) -> bool:
    """True for localhost and loopback or private IP addresses: servers that rarely need a key."""
    host = urlparse(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def _api_key(base_url: str, api_key_env: str) -> str:
    """The key from ``api_key_env``; a placeholder for local servers; an error elsewhere."""
    key = os.environ.get(api_key_env, "").strip()
    if key:
        return key
    if is_local(base_url):
        return "not-needed"
    raise PermanentBackendError(f"set the environment variable {api_key_env} to your API key")


@dataclass(frozen=True)
class OpenAIFactory:
    """A model behind an OpenAI-compatible endpoint. Holds the name of the key's variable, never the key."""

    reference: str
    model: str
    base_url: str
    api_key_env: str
    timeout: float
    max_concurrency: int
    chat_template: Path | None = None
    name: str = OpenAICompatBackend.name
    #: ``loglikelihood`` only with a chat template (whether the server echoes is checked by :meth:`probe`).
    capabilities: Capabilities = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "capabilities", _capabilities(self.chat_template))

    def identity(self) -> str:
        return model_identity(self.base_url, self.model, self.chat_template)

    def probe(self) -> None:
        """The key is set (or not needed) and ``GET /models`` answers 200; 401/403 and 404 are named.

        With a chat template, also one tiny echoed completion, so that a server that cannot
        score continuations stops the run before its first request.
        """
        key = _api_key(self.base_url, self.api_key_env)
        url = self.base_url.rstrip("/") + "/models"
        try:
            reply = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError as error:
            raise PermanentBackendError(f"cannot reach {url}: {type(error).__name__}") from None
        if reply.status_code in (401, 403):
            raise PermanentBackendError(f"{url} refused the API key from {self.api_key_env} (HTTP {reply.status_code})")
        if reply.status_code >= 400:
            raise PermanentBackendError(f"{url} answered HTTP {reply.status_code}; is this an OpenAI-compatible /v1 endpoint?")
        if self.chat_template is not None:
            context = echo_loglikelihood.ChatPrompt(self.chat_template).render([Message("user", "Name a colour.")])
            echo_loglikelihood.probe_echo(self.base_url, key, self.model, max(PROBE_TIMEOUT_S, self.timeout), context)

    def build(self) -> OpenAICompatBackend:
        return OpenAICompatBackend(
            self.model,
            base_url=self.base_url,
            api_key=_api_key(self.base_url, self.api_key_env),
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
            chat_template=self.chat_template,
        )


class OpenAIFamily:
    """References ``openai:<model>`` (OpenAI itself) and ``openai:<model>@http://host:port/v1``,
    each optionally followed by ``;chat_template=/path/model.gguf`` (continuation scoring)."""

    syntax = ("openai:<model>", "openai:<model>@http://host:port/v1", "openai:<model>@http://host:port/v1;chat_template=/path/model.gguf")
    example = "openai:contract-model@http://127.0.0.1:9/v1"  # a loopback endpoint: no key needed to parse

    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> OpenAIFactory:
        head, options = split_options((rest or "").strip())
        match = _REFERENCE.match(head.strip())
        if not match:
            raise ValueError("expected 'openai:<model>' or 'openai:<model>@http://host:port/v1'")
        template = options.get("chat_template")
        base_url = match["url"] or OPENAI_BASE_URL
        if not os.environ.get(settings.api_key_env, "").strip() and not is_local(base_url):
            raise ValueError(f"set the environment variable {settings.api_key_env} to your API key")
        return OpenAIFactory(
            reference,
            match["model"],
            base_url,
            settings.api_key_env,
            settings.timeout,
            8 if settings.max_concurrency is None else settings.max_concurrency,
            echo_loglikelihood.template_path(template) if template else None,
        )

    def replicated(self, reference: str, rest: str | None, replicas: Replicas, settings: BackendSettings) -> ReplicaSetFactory:
        """``openai:<model>`` served at each of ``replicas.base_urls`` (:mod:`.replicas`), named by the first."""
        from .replicas import ReplicaSetFactory  # it builds on this module's backend

        head, options = split_options((rest or "").strip())
        if options:
            raise ValueError(f"';{next(iter(options))}=' is not supported with base_urls (continuation scoring needs a single endpoint)")
        match = _REFERENCE.match(head.strip())
        if not match or match["url"]:
            raise ValueError("expected 'openai:<model>' (the endpoints go in base_urls, not after '@')")
        if not os.environ.get(settings.api_key_env, "").strip() and not all(is_local(url) for url in replicas.base_urls):
            raise ValueError(f"set the environment variable {settings.api_key_env} to your API key")
        return ReplicaSetFactory(
            replicas.reference(reference),
            match["model"],
            replicas,
            settings.api_key_env,
            settings.timeout,
            8 if settings.max_concurrency is None else settings.max_concurrency,
        )

    def describe(self, settings: BackendSettings) -> dict[str, object]:
        return {
            "description": "any OpenAI-compatible HTTP API; option probabilities from the top-20 logprobs; "
            "continuation scores (loglikelihood) with ';chat_template=…' from /completions echoed logprobs",
            "capabilities": dataclasses.asdict(OpenAICompatBackend.capabilities),
            "default_base_url": OPENAI_BASE_URL,
            "api_key_env": settings.api_key_env,
            "api_key_set": bool(os.environ.get(settings.api_key_env, "").strip()),
            "versions": {"aiohttp": aiohttp.__version__, "httpx": httpx.__version__},
        }


FAMILY = OpenAIFamily()
