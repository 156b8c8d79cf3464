"""The backend protocol: what every way of calling a model must provide.

Backends know nothing of instruments. An instrument renders a :class:`Request`;
a backend turns it into a :class:`Response`. The request's canonical JSON (with
the backend name, the model identity and the repeat index) is the cache key, so
everything that can change a model's answer must live in the request.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

RequestMode = Literal["generate", "choice_logprobs", "embed", "loglikelihood"]

#: Rounding slack for probabilities, masses and log-probabilities (float32 logits, summed tokens).
PROBABILITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Request:
    """A concrete model call.

    ``labels`` is required for ``choice_logprobs``: the option labels whose
    probability as the model's next answer is wanted (e.g. ``("A", "B", "C")``).
    ``continuations`` is required for ``loglikelihood``: texts whose log-probability as
    the model's answer (teacher-forced, summed over their tokens) is wanted.
    ``seed`` only matters when ``temperature > 0``.
    """

    mode: RequestMode
    messages: tuple[Message, ...]
    labels: tuple[str, ...] = ()
    temperature: float = 0.0
    max_tokens: int = 16
    seed: int | None = None
    continuations: tuple[str, ...] = ()

    @property
    def stochastic(self) -> bool:
        """Whether asking again can give another answer (sampling at temperature > 0)."""
        return self.mode == "generate" and self.temperature > 0

    def canonical(self) -> dict[str, object]:
        """A JSON-ready dict with a fixed key order: the identity of this call.

        ``continuations`` appears only when given, so requests of the other modes keep the
        canonical form (and the cache keys) they had before the field existed.
        """
        canonical: dict[str, object] = {
            "mode": self.mode,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "labels": list(self.labels),
            "temperature": float(self.temperature),
            "max_tokens": int(self.max_tokens),
            "seed": self.seed,
        }
        if self.continuations:
            canonical["continuations"] = list(self.continuations)
        return canonical

    def canonical_json(self) -> str:
        return json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_key(backend: str, model_identity: str, request: Request, repeat: int) -> str:
    """SHA-256 of backend, model identity, canonical request and repeat index.

    The repeat index only separates calls that can differ: for a deterministic request
    (exact logprobs, greedy generation) every repeat is the same call, keyed as repeat 0,
    so it is made once. Never includes an API key: the identity of an HTTP model is
    endpoint + model name.
    """
    repeat = repeat if request.stochastic else 0
    payload = json.dumps(
        {
            "backend": backend,
            "model": model_identity,
            "request": request.canonical(),
            "repeat": repeat,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class Response:
    """What a backend returns for one request.

    For ``choice_logprobs``: ``label_probs`` maps each requested label to its
    probability renormalised over the labels (``None`` for a label the backend
    could not score, e.g. absent from an API's top-k), and ``valid_mass`` is the
    raw probability mass that fell on the labels before renormalising.
    For ``loglikelihood`` the same two fields hold the continuations' renormalised
    probabilities and raw mass, ``extra["label_logprobs"]`` each continuation's summed
    log-probability and ``extra["continuation_tokens"]`` its token count.
    """

    text: str | None = None
    label_probs: dict[str, float | None] | None = None
    valid_mass: float | None = None
    embedding: list[float] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "text": self.text,
                "label_probs": self.label_probs,
                "valid_mass": self.valid_mass,
                "embedding": self.embedding,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "latency_s": self.latency_s,
                "extra": self.extra,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> Response:
        data = json.loads(raw)
        return cls(**data)

    def validate(self) -> None:
        """Raise :class:`InvalidResponseError` if no model could have given this response.

        Checked before a response is cached or scored, and again when one is read back from
        the cache, because one impossible answer (a log-probability of +3, a valid mass of 40)
        would otherwise be reused by every later run and silently distort its scores.
        """
        problems = response_problems(self)
        if problems:
            raise InvalidResponseError("impossible response: " + "; ".join(problems))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count_ok(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _logprob_ok(value: object) -> bool:
    """A log-probability: at most 0 (within rounding) or -inf (probability 0)."""
    return value == -math.inf or (_number(value) and value <= PROBABILITY_TOLERANCE)  # type: ignore[operator]


def _probability_problems(label_probs: object) -> list[str]:
    if not isinstance(label_probs, dict):
        return ["label_probs is not a mapping"]
    found = [p for p in label_probs.values() if p is not None]
    outside = [p for p in found if not (_number(p) and -PROBABILITY_TOLERANCE <= p <= 1 + PROBABILITY_TOLERANCE)]
    if outside:
        return [f"label probabilities outside [0, 1]: {outside[:3]!r}"]
    if found and abs(sum(found) - 1.0) > 1e-4:
        return [f"label probabilities sum to {sum(found):.6g}, not 1"]
    return []


def _mass_ceiling(label_probs: object) -> float:
    """The largest possible valid mass: 1, or one per label when a label is a prefix of another.

    Labels are scored as exclusive answers, so "1" and "10" (the second continuing the
    first's token) count the shared start twice, as the in-process backend documents.
    """
    labels = [str(label) for label in label_probs] if isinstance(label_probs, dict) else []
    nested = any(a != b and b.startswith(a) for a in labels for b in labels)
    return float(len(labels)) if nested else 1.0


def response_problems(response: Response) -> list[str]:
    """What makes ``response`` impossible: each problem as a short phrase (empty if none)."""
    problems: list[str] = []
    if response.text is not None and not isinstance(response.text, str):
        problems.append("text is not a string")
    if response.label_probs is not None:
        problems += _probability_problems(response.label_probs)
    mass, ceiling = response.valid_mass, _mass_ceiling(response.label_probs)
    if mass is not None and not (_number(mass) and -PROBABILITY_TOLERANCE <= mass <= ceiling + PROBABILITY_TOLERANCE):
        problems.append(f"valid mass {mass!r} is not in [0, {ceiling:g}]")
    logprobs = response.extra.get("label_logprobs") if isinstance(response.extra, dict) else None
    if isinstance(logprobs, dict) and not all(_logprob_ok(v) for v in logprobs.values()):
        problems.append("a label log-probability is above 0 or not a number")
    if response.embedding is not None and not (response.embedding and all(_number(x) for x in response.embedding)):
        problems.append("the embedding is empty or holds a non-finite value")
    if not (_count_ok(response.prompt_tokens) and _count_ok(response.completion_tokens)):
        problems.append("a token count is not a non-negative integer")
    if response.latency_s is not None and not (_number(response.latency_s) and response.latency_s >= 0):
        problems.append(f"latency {response.latency_s!r} is not a non-negative number")
    return problems


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; instruments pick their elicitation mode from these."""

    generate: bool = True
    choice_logprobs: bool = False
    embed: bool = False
    exact_logprobs: bool = False  # full-vocabulary distribution rather than a top-k cut
    loglikelihood: bool = False  # scores given continuations of a prompt (``loglikelihood`` requests)


class TransientBackendError(Exception):
    """A failure worth retrying: timeout, connection error, HTTP 429 or 5xx.

    ``retry_after`` carries a server's ``Retry-After`` hint in seconds, if any; ``status``
    the HTTP status when a server answered with one (``None`` for a timeout or a broken
    connection), so a replica set can tell a sick server (5xx, no answer) from a busy one (429).
    """

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class PermanentBackendError(Exception):
    """A failure retrying will not fix (bad request, unsupported mode, auth)."""


class InvalidResponseError(PermanentBackendError):
    """A response no model could give (see :meth:`Response.validate`); never cached or scored."""


@runtime_checkable
class Backend(Protocol):
    """An async way of calling one model.

    ``name`` is the backend family (``llamacpp``, ``openai``); ``identity`` is a
    stable string that changes whenever the model's weights or endpoint change
    (a GGUF file hash, or endpoint + model name) and never contains a secret.
    ``max_concurrency`` caps in-flight requests (1 for an in-process model).
    """

    name: str
    identity: str
    capabilities: Capabilities
    max_concurrency: int

    async def complete(self, request: Request) -> Response: ...

    def versions(self) -> dict[str, str]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class BackendSettings:
    """Run settings every backend family may use when it builds a backend.

    ``api_key_env`` names the environment variable holding an API key: the key itself
    is read only when a backend is built, so a factory (which may be sent to another
    process or machine) never carries a secret.
    """

    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0
    max_concurrency: int | None = None


@dataclass(frozen=True)
class Replicas:
    """Several base URLs serving one model, and the health rule that takes one out.

    A replica with ``eject_after`` consecutive failures (no answer, or HTTP 5xx) is taken out
    for ``cooldown`` seconds, then probed again (see :mod:`forkingpaths.models.replicas`).
    Both numbers are conventions, not measurements: three failures in a row rarely happen to a
    healthy server, and half a minute is about what a restarted inference server needs.
    """

    base_urls: tuple[str, ...]
    eject_after: int = 3
    cooldown: float = 30.0

    def reference(self, model_reference: str) -> str:
        """The set's name in tables and caches: ``<reference>@<first base URL>``.

        The same text as the one-server reference to the first URL, so adding replicas to a
        model changes neither its trial ids nor its cache rows.
        """
        return f"{model_reference.strip()}@{self.base_urls[0]}"


@runtime_checkable
class BackendFactory(Protocol):
    """Everything the driver needs to know about a model without loading it, and how to build it.

    The driver renders requests and computes cache keys from ``name``, ``identity()``
    and ``capabilities``; an executor calls ``build()`` where the calls are made (this
    process, or a worker elsewhere). A factory is plain data (picklable) and holds no
    live connection and no secret.
    """

    reference: str
    name: str
    capabilities: Capabilities
    max_concurrency: int

    def identity(self) -> str: ...

    def probe(self) -> Sequence[str] | None:
        """Check cheaply that the model can work (a file header, one tiny request); raise
        :class:`PermanentBackendError` with a one-line reason if not. A model that works,
        but not in full (one of its servers down), returns one-line warnings for the
        run's console."""

    def build(self) -> Backend: ...


class BackendFamily(Protocol):
    """A registered way of calling models: owns its reference syntax and its description.

    The registry name is the reference prefix (``llamacpp`` in ``llamacpp:/m.gguf``).
    """

    syntax: tuple[str, ...]
    example: str  # a reference that parses without a network or a secret (used by the contract tests)

    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> BackendFactory:
        """The factory for ``prefix[:rest]``; raise ``ValueError`` naming the accepted syntax if malformed."""

    def describe(self, settings: BackendSettings) -> dict[str, object]:
        """What the family can do and where its models live, for ``forkingpaths models`` (loads no model)."""
