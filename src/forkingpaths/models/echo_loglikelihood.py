"""``loglikelihood`` requests over HTTP: echoed prompt log-probabilities from ``/completions``.

A chat endpoint returns log-probabilities of what the model *generates*, never of text it
is given, so scoring given continuations over HTTP needs the legacy completions
endpoint with ``echo: true`` and ``logprobs``: the server evaluates prompt + continuation
and returns the log-probability of every prompt token. OpenAI's ``davinci-002`` and
``babbage-002``, vLLM and llama-cpp-python's server (with ``logits_all``, its default)
do; llama.cpp's own ``llama-server`` and chat-only APIs do not.

Why the client renders the chat template: ``/completions`` takes text, so the messages
must become the same text the chat endpoint (and the in-process backend) would build. The
template is read from a GGUF file named in the model reference (``;chat_template=PATH``,
or ``llamacpp`` for the embedded model) and rendered with llama-cpp-python's
``Jinja2ChatFormatter`` with the generation prompt, exactly as ``models/llamacpp.py`` does.
The context is that rendered prompt; each continuation is appended to it as text and sent
as one request (``max_tokens: 1``: llama-cpp-python reads 0 as "no limit"; ``logprobs: 1``
gives the top token for the greedy check), so K options cost K requests.

The alignment check (:func:`score_reply`): with one generated token, the echoed text must end
with the continuation followed by the last entry's token. llama-cpp-python's server (0.3.36)
indexes its log-probabilities from the first prompt token after a BOS token; when the prompt
does not start with BOS, every entry holds the probability of that token *as the next one*
(one position late) and the generated token is dropped, which this check catches (the last
entry is then a prompt token). A prompt rendered from a chat template that starts with the
BOS token (SmolLM2's ``<|im_start|>``) lines up.

The boundary rule (:func:`score_reply`): the server tokenises context + continuation
together, so the continuation's tokens are found by text offsets. ``text_offset`` is a
character offset, but servers differ in what it counts from: OpenAI and vLLM count the
prompt string, llama-cpp-python counts the detokenised prompt *without* special tokens
(``<|im_start|>`` counts 0). Both agree on lengths after the last special token, and the
continuation is plain text at the very end of the prompt, so the boundary is measured
from the end: B = E − len(continuation), where E is the offset of the first generated
token (``usage.completion_tokens`` of them end the list) or, when the model stopped at
once, the end of the last prompt token. The continuation's tokens are those starting at
or after B; a token starting before B and ending after it holds the end of the context
and the start of the continuation (it *straddles* the boundary): it is counted with the
continuation, because its prediction is the first that commits to the continuation's
text, and the continuation is listed in ``extra["boundary_straddled"]``. Such a score
is not the in-process one (which tokenises the continuation on its own, as
lm-evaluation-harness does when it sends context and continuation token ids). After a
chat template's assistant header (a newline) no straddle was met on SmolLM2's tokenizer.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from .base import PROBABILITY_TOLERANCE, Message, PermanentBackendError, Request, Response

#: What the model reference writes for the embedded model's template.
EMBEDDED_TEMPLATE = "llamacpp"

Post = Callable[[str, dict[str, object]], Awaitable[object]]


@dataclass(frozen=True)
class ScoredContinuation:
    """One continuation's summed log-probability, its token count, greedy match and boundary flag."""

    logprob: float
    tokens: int
    greedy: bool | None
    straddled: bool


def template_path(source: str) -> Path:
    """The GGUF file a ``chat_template`` option names (``llamacpp``: the embedded model)."""
    if source == EMBEDDED_TEMPLATE:
        from .llamacpp import embedded_model_path

        return embedded_model_path().resolve()
    return Path(source).expanduser().resolve()


class ChatPrompt:
    """Messages to the text the chat endpoint builds, from a GGUF's ``tokenizer.chat_template``.

    Loads the file's vocabulary only (about a second, no weights), once per backend.
    """

    def __init__(self, path: Path) -> None:
        from jinja2 import TemplateError
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if not path.is_file():
            raise PermanentBackendError(f"chat_template: file not found: {path}")
        try:
            vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise PermanentBackendError(f"chat_template: llama.cpp could not read {path}: {exc}") from None
        template = vocab.metadata.get("tokenizer.chat_template")
        if not template:
            raise PermanentBackendError(f"chat_template: {path.name} has no tokenizer.chat_template")

        def piece(token: int) -> str:
            return "" if token < 0 else vocab.detokenize([token], special=True).decode("utf-8", errors="replace")

        try:
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=piece(vocab.token_eos()),
                bos_token=piece(vocab.token_bos()),
                add_generation_prompt=True,
            )
        except TemplateError as exc:
            raise PermanentBackendError(f"chat_template: {path.name}: invalid chat template: {exc}") from None

    def render(self, messages: Sequence[Message]) -> str:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        return self._formatter(messages=chat).prompt  # type: ignore[arg-type]


def completion_body(model: str, prompt: str) -> dict[str, object]:
    """The request that echoes ``prompt`` with each token's log-probability (and the top one)."""
    return {"model": model, "prompt": prompt, "echo": True, "logprobs": 1, "max_tokens": 1, "temperature": 0.0}


def _number_or_none(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise ValueError(f"impossible log-probability {value!r}")
    return float(value)


def score_reply(reply: object, continuation: str) -> ScoredContinuation:
    """The continuation's tokens in an echoed reply (the boundary rule in the module docstring).

    Raises ``ValueError``/``KeyError``/``TypeError`` for a reply of the wrong shape (the
    backend reports those as malformed) and :class:`PermanentBackendError` when the server
    echoed no prompt log-probabilities.
    """
    choice = reply["choices"][0]  # type: ignore[index]
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict) or not logprobs.get("token_logprobs"):
        raise PermanentBackendError("the completions reply has no prompt log-probabilities (echo with logprobs)")
    offsets = [int(x) for x in logprobs["text_offset"]]
    tokens = [str(t) for t in logprobs["tokens"]]
    values = [_number_or_none(v) for v in logprobs["token_logprobs"]]
    tops = logprobs.get("top_logprobs") or [None] * len(values)
    if not len(offsets) == len(tokens) == len(values) == len(tops):
        raise ValueError("tokens, text_offset, token_logprobs and top_logprobs differ in length")
    usage = reply.get("usage") or {}  # type: ignore[attr-defined]
    generated = usage.get("completion_tokens")
    if not isinstance(generated, int) or isinstance(generated, bool) or not 0 <= generated <= 1:
        raise ValueError(f"usage.completion_tokens is {generated!r}, not 0 or 1")
    prompt_entries = len(values) - generated
    if prompt_entries < 1:
        raise ValueError("the reply echoes no prompt tokens")
    echoed = choice.get("text")
    if generated and isinstance(echoed, str) and not echoed.endswith(continuation + tokens[-1]):
        raise PermanentBackendError(
            "the echoed log-probabilities do not line up with the prompt: the last entry is not the generated token "
            "(llama-cpp-python's server shifts them by one token when the prompt does not start with the model's BOS token)"
        )
    end = offsets[prompt_entries] if generated else offsets[prompt_entries - 1] + len(tokens[prompt_entries - 1])
    boundary = end - len(continuation)
    first = next((i for i in range(prompt_entries) if offsets[i] >= boundary), prompt_entries)
    straddled = first > 0 and offsets[first - 1] < boundary and (offsets[first] if first < prompt_entries else end) > boundary
    start = first - 1 if straddled else first
    chosen = range(start, prompt_entries)
    if not chosen:
        raise ValueError(f"no echoed token belongs to the continuation {continuation!r}")
    scored = [values[i] for i in chosen]
    if any(v is None for v in scored):
        raise PermanentBackendError("the server gave no log-probability for a continuation token (empty context?)")
    greedy: bool | None = True
    for i in chosen:
        top = tops[i]
        if not isinstance(top, dict) or not top:
            greedy = None
            break
        if max(float(v) for v in top.values()) > values[i] + PROBABILITY_TOLERANCE:  # type: ignore[operator]
            greedy = False
    return ScoredContinuation(sum(scored), len(chosen), greedy, straddled)  # type: ignore[arg-type]


async def loglikelihood(post: Post, model: str, prompt: ChatPrompt, request: Request) -> Response:
    """Each continuation after the rendered messages, one echoed completion request each (sent together).

    The response has the in-process backend's shape: ``label_probs`` the softmax of the
    summed log-probabilities over the continuations, ``valid_mass`` their summed
    probability, ``extra["label_logprobs"]`` and ``extra["continuation_tokens"]``; plus
    ``extra["greedy"]`` (every continuation token is the server's top token; ``None`` if
    the server gave no top tokens) and ``extra["boundary_straddled"]``.
    """
    if not request.continuations:
        raise PermanentBackendError("loglikelihood needs at least one continuation")
    if len(set(request.continuations)) != len(request.continuations) or not all(request.continuations):
        raise PermanentBackendError("loglikelihood continuations must be distinct, non-empty texts")
    context = prompt.render(request.messages)
    replies = await asyncio.gather(*(post("completions", completion_body(model, context + text)) for text in request.continuations))
    scores = {text: score_reply(reply, text) for text, reply in zip(request.continuations, replies)}
    logprobs = {text: s.logprob for text, s in scores.items()}
    peak = max(logprobs.values())
    log_mass = peak + math.log(sum(math.exp(v - peak) for v in logprobs.values()))
    usage = replies[0].get("usage") if isinstance(replies[0], dict) else None
    sent = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    first = scores[request.continuations[0]]
    return Response(
        text=max(logprobs, key=logprobs.__getitem__),
        label_probs={text: math.exp(v - log_mass) for text, v in logprobs.items()},
        valid_mass=math.exp(log_mass),
        prompt_tokens=sent - first.tokens if isinstance(sent, int) and not isinstance(sent, bool) and sent >= first.tokens else None,
        completion_tokens=0,
        extra={
            "label_logprobs": logprobs,
            "continuation_tokens": {text: s.tokens for text, s in scores.items()},
            "greedy": {text: s.greedy for text, s in scores.items()},
            "boundary_straddled": [text for text, s in scores.items() if s.straddled],
        },
    )


def probe_echo(base_url: str, api_key: str, model: str, timeout: float, context: str = "") -> None:
    """One tiny echoed completion after ``context`` (a rendered chat prompt, as the run's requests have):
    raise :class:`PermanentBackendError` unless it returns prompt log-probabilities that line up."""
    url = base_url.rstrip("/") + "/completions"
    hint = "scoring continuations (loglikelihood) needs a /completions endpoint that echoes prompt log-probabilities (echo + logprobs)"
    try:
        reply = httpx.post(url, json=completion_body(model, context + "blue"), headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)
    except httpx.HTTPError as error:
        raise PermanentBackendError(f"cannot reach {url}: {type(error).__name__}") from None
    if reply.status_code in (404, 405):
        raise PermanentBackendError(f"{url} answered HTTP {reply.status_code} (a chat-only server?); {hint}")
    if reply.status_code >= 400:
        detail = reply.text.strip().replace("\n", " ")[:160]
        detail = detail.replace(api_key, "[redacted]") if api_key else detail
        raise PermanentBackendError(f"{url} refused an echo request with logprobs (HTTP {reply.status_code}: {detail}); {hint}")
    try:
        scored = score_reply(reply.json(), "blue")
    except PermanentBackendError as exc:
        raise PermanentBackendError(f"{url}: {exc}; {hint}") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise PermanentBackendError(f"{url} gave an echo reply of the wrong shape ({exc}); {hint}") from None
    if scored.tokens < 1:
        raise PermanentBackendError(f"{url} echoed no prompt tokens; {hint}")
