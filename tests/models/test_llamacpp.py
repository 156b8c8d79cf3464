"""The in-process llama.cpp backend, checked against independent computations on the real model."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import numpy as np
import pytest
from llama_cpp import Llama

from forkingpaths.models.base import Message, PermanentBackendError, Request
from forkingpaths.models.llamacpp import LlamaCppBackend

pytestmark = pytest.mark.model

# SmolLM2's GGUF template, written out by hand: the default system prompt is inserted when
# the conversation has none, there is no BOS, and the generation prompt ends the text.
SMOL_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
QUESTION = "Which planet is closest to the sun?\nA. Venus\nB. Mercury\nC. Mars\nAnswer with one letter."
SHARED_SYSTEM = (
    "You are taking a survey. Read the question and the options carefully, then answer with "
    "the letter of the option that best matches your view. Do not explain your answer."
)


def smol_prompt(user: str, system: str = SMOL_DEFAULT_SYSTEM) -> str:
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def reference_logprobs(llama: Llama, prompt: str, continuation: list[int]) -> tuple[np.ndarray, list[float]]:
    """Evaluate prompt + continuation in one batch from an empty context; return the
    float64 log-softmax after the prompt and the teacher-forced continuation logprobs."""
    tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
    llama.reset()
    llama.eval(tokens + continuation)
    scores = llama.scores[: len(tokens) + len(continuation)].astype(np.float64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    logsoftmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    first = logsoftmax[len(tokens) - 1]
    steps = [float(logsoftmax[len(tokens) - 1 + i][tok]) for i, tok in enumerate(continuation)]
    return first, steps


@pytest.fixture(scope="module")
def backend(embedded_model_path: Path) -> LlamaCppBackend:
    return LlamaCppBackend(embedded_model_path)


@pytest.fixture(scope="module")
def reference(embedded_model_path: Path) -> Llama:
    """A second, independent instance keeping the logits of every position."""
    return Llama(model_path=str(embedded_model_path), n_ctx=512, logits_all=True, verbose=False)


def test_identity_is_the_file_sha256_and_stable(embedded_model_path: Path, backend: LlamaCppBackend) -> None:
    expected = "sha256:" + hashlib.sha256(embedded_model_path.read_bytes()).hexdigest()
    assert backend.identity == expected
    assert LlamaCppBackend(embedded_model_path).identity == expected
    assert backend.versions()["llama_cpp_python"]


async def test_generate_returns_text_and_usage(backend: LlamaCppBackend) -> None:
    request = Request("generate", (Message("user", QUESTION),), max_tokens=8)
    first = await backend.complete(request)
    assert isinstance(first.text, str) and first.text.strip()
    assert first.prompt_tokens and first.prompt_tokens > 20
    assert first.completion_tokens is not None and 1 <= first.completion_tokens <= 8
    assert first.latency_s is not None and first.latency_s > 0
    again = await backend.complete(request)
    assert again.text == first.text  # greedy at temperature 0


async def test_sampling_is_reproducible_per_seed(backend: LlamaCppBackend) -> None:
    def sample(seed: int) -> Request:
        return Request("generate", (Message("user", "Write a word."),), temperature=1.0, max_tokens=8, seed=seed)

    first = await backend.complete(sample(1))
    await backend.complete(sample(2))
    assert (await backend.complete(sample(1))).text == first.text


async def test_choice_logprobs_equal_full_vocabulary_softmax(backend: LlamaCppBackend, reference: Llama) -> None:
    labels = ("A", "B", "C")
    response = await backend.complete(Request("choice_logprobs", (Message("user", QUESTION),), labels=labels))
    assert response.label_probs is not None and response.valid_mass is not None
    assert sum(response.label_probs.values()) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < response.valid_mass <= 1.0

    first, _ = reference_logprobs(reference, smol_prompt(QUESTION), [])
    label_ids = [reference.tokenize(label.encode(), add_bos=False, special=False) for label in labels]
    assert all(len(ids) == 1 for ids in label_ids)
    raw = np.exp([first[ids[0]] for ids in label_ids])
    for label, expected in zip(labels, raw / raw.sum()):
        assert response.label_probs[label] == pytest.approx(expected, abs=1e-9)
    assert response.valid_mass == pytest.approx(raw.sum(), abs=1e-9)
    assert response.text == labels[int(np.argmax(raw))]
    assert response.prompt_tokens == len(reference.tokenize(smol_prompt(QUESTION).encode(), add_bos=False, special=True))


async def test_multi_token_label_is_the_sum_of_teacher_forced_logprobs(
    backend: LlamaCppBackend, reference: Llama
) -> None:
    labels = ("Yes", "No", "Strongly agree")
    user = "Do you agree that honesty matters? Answer Yes, No or Strongly agree."
    response = await backend.complete(Request("choice_logprobs", (Message("user", user),), labels=labels))
    label_logprobs = response.extra["label_logprobs"]
    assert isinstance(label_logprobs, dict)
    for label in labels:
        ids = reference.tokenize(label.encode(), add_bos=False, special=False)
        _, steps = reference_logprobs(reference, smol_prompt(user), ids)
        assert label_logprobs[label] == pytest.approx(sum(steps), abs=1e-9)
    assert len(reference.tokenize(b"Strongly agree", add_bos=False, special=False)) > 1
    assert response.label_probs is not None
    assert sum(response.label_probs.values()) == pytest.approx(1.0, abs=1e-12)


async def test_shared_prefix_is_reused_with_identical_results(backend: LlamaCppBackend, reference: Llama) -> None:
    labels = ("A", "B", "C")

    def request(question: str) -> Request:
        return Request("choice_logprobs", (Message("system", SHARED_SYSTEM), Message("user", question)), labels=labels)

    first_q = "Is family important? A. Very B. Somewhat C. Not at all"
    second_q = "Is work important? A. Very B. Somewhat C. Not at all"
    await backend.complete(request(first_q))
    reused = await backend.complete(request(second_q))
    first_ids, second_ids = (
        reference.tokenize(smol_prompt(q, SHARED_SYSTEM).encode(), add_bos=False, special=True)
        for q in (first_q, second_q)
    )
    shared = next(i for i, (a, b) in enumerate(zip(first_ids, second_ids)) if a != b)
    assert shared > 40
    assert reused.extra["prompt_tokens_reused"] == shared  # only the differing tail was evaluated

    first, _ = reference_logprobs(reference, smol_prompt(second_q, SHARED_SYSTEM), [])
    raw = np.exp([first[reference.tokenize(label.encode(), add_bos=False)[0]] for label in labels])
    assert reused.label_probs is not None
    for label, expected in zip(labels, raw / raw.sum()):
        assert reused.label_probs[label] == pytest.approx(expected, abs=1e-9)

    repeat = await backend.complete(request(second_q))
    assert repeat.extra["prompt_tokens_reused"] == repeat.prompt_tokens - 2  # type: ignore[operator]
    assert repeat.label_probs == reused.label_probs  # bit-identical, whatever the cache held


async def test_generate_after_scoring_sees_a_consistent_context(backend: LlamaCppBackend) -> None:
    generate = Request("generate", (Message("user", "Name a colour."),), max_tokens=6)
    before = await backend.complete(generate)
    for labels in (("A", "B"), ("Red", "Dark blue")):  # single- and multi-token labels
        await backend.complete(Request("choice_logprobs", generate.messages, labels=labels))
        after = await backend.complete(generate)
        assert after.text == before.text
    await backend.complete(generate)
    after = await backend.complete(generate)
    assert after.text == before.text


async def test_calls_are_serialised_and_the_loop_stays_responsive(backend: LlamaCppBackend) -> None:
    requests = [
        Request("choice_logprobs", (Message("user", f"Question {i}: pick A or B."),), labels=("A", "B")) for i in range(3)
    ]
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    tick_task = asyncio.create_task(ticker())
    concurrent = await asyncio.gather(*(backend.complete(r) for r in requests))
    done.set()
    await tick_task
    assert ticks > 3
    sequential = [await backend.complete(r) for r in requests]
    for a, b in zip(concurrent, sequential):
        assert a.label_probs == b.label_probs


async def test_unsupported_or_invalid_requests_are_permanent_errors(backend: LlamaCppBackend) -> None:
    with pytest.raises(PermanentBackendError, match="cannot embed"):
        await backend.complete(Request("embed", (Message("user", "hello"),)))
    with pytest.raises(PermanentBackendError, match="context window"):
        await backend.complete(Request("choice_logprobs", (Message("user", "word " * 2100),), labels=("A",)))
    with pytest.raises(PermanentBackendError, match="at least one label"):
        await backend.complete(Request("choice_logprobs", (Message("user", "hi"),)))


def test_missing_file_is_a_permanent_error(tmp_path: Path) -> None:
    with pytest.raises(PermanentBackendError, match="not found"):
        LlamaCppBackend(tmp_path / "absent.gguf")


async def test_loglikelihood_equals_an_independent_full_batch_evaluation(backend: LlamaCppBackend, reference: Llama) -> None:
    """Each continuation's summed log-probability, the prompt evaluated once, against one batch per continuation."""
    continuations = ("Mercury", "Venus is the closest", "Mars")
    request = Request("loglikelihood", (Message("user", QUESTION),), continuations=continuations)
    response = await backend.complete(request)
    raw = {}
    for text in continuations:
        tokens = reference.tokenize(text.encode(), add_bos=False, special=False)
        _, steps = reference_logprobs(reference, smol_prompt(QUESTION), tokens)
        raw[text] = sum(steps)
        assert response.extra["label_logprobs"][text] == pytest.approx(raw[text], abs=1e-4)  # type: ignore[index]
        assert response.extra["continuation_tokens"][text] == len(tokens)  # type: ignore[index]
    mass = sum(np.exp(v) for v in raw.values())
    assert response.valid_mass == pytest.approx(mass, rel=1e-3)
    assert sum(response.label_probs.values()) == pytest.approx(1.0)  # type: ignore[union-attr]
    assert request.canonical()["continuations"] == list(continuations)
    assert "continuations" not in Request("choice_logprobs", request.messages, labels=("A",)).canonical()  # old keys unchanged
