"""``loglikelihood`` over HTTP: the boundary rule on planted replies, the reference option, and a real server.

The planted replies are the only fakes: they put a token exactly where a rule must decide
(two offset conventions, a straddling token, a model that stopped at once), which a real
server produces only by chance. Everything else runs against llama-cpp-python's server and
the in-process backend on the same GGUF.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import pytest

from forkingpaths.errors import UserError
from forkingpaths.models.base import BackendSettings, Message, PermanentBackendError, Request, request_key
from forkingpaths.models.echo_loglikelihood import score_reply
from forkingpaths.models.llamacpp import LlamaCppBackend
from forkingpaths.models.registry import backend_factory

SPECIAL = "<|im_start|>"


def planted(pieces: Sequence[tuple[str, float | None, float]], generated: int, *, count_special: bool) -> dict[str, object]:
    """A completions reply for ``pieces`` = (token text, its log-probability, the top log-probability).

    ``count_special``: offsets count the special token's characters (OpenAI, vLLM) or not
    (llama-cpp-python, whose detokenised text drops them).
    """
    offsets, position = [], 0
    for text, _, _ in pieces:
        offsets.append(position)
        position += len(text) if (count_special or text != SPECIAL) else 0
    return {
        "choices": [
            {
                "text": "".join(t for t, _, _ in pieces),
                "logprobs": {
                    "tokens": [t if (count_special or t != SPECIAL) else "" for t, _, _ in pieces],
                    "text_offset": offsets,
                    "token_logprobs": [lp for _, lp, _ in pieces],
                    "top_logprobs": [None if lp is None else {t: top} for t, lp, top in pieces],
                },
            }
        ],
        "usage": {"prompt_tokens": len(pieces) - generated, "completion_tokens": generated},
    }


CHAT = [(SPECIAL, None, 0.0), ("user", -2.0, -1.0), ("\n", -0.5, -0.5), ("Hi", -3.0, -1.0), (SPECIAL, -0.1, -0.1),
        ("assistant", -0.01, -0.01), ("\n", -0.02, -0.02)]


@pytest.mark.parametrize("count_special", [True, False], ids=["offsets-in-prompt", "offsets-without-special-tokens"])
@pytest.mark.parametrize("generated", [1, 0], ids=["one-generated-token", "stopped-at-once"])
def test_the_continuation_is_found_from_the_end_under_both_offset_conventions(count_special: bool, generated: int) -> None:
    pieces = [*CHAT, ("Mer", -1.25, -1.25), ("cury", -0.5, -0.25)] + ([("!", -4.0, -0.1)] if generated else [])
    scored = score_reply(planted(pieces, generated, count_special=count_special), "Mercury")
    assert scored.logprob == pytest.approx(-1.75) and scored.tokens == 2
    assert scored.greedy is False and scored.straddled is False  # "cury" was not the top token


def test_a_token_straddling_the_boundary_counts_with_the_continuation_and_is_flagged() -> None:
    """Context "…\\nAnswer:" + continuation " B" where the server merged ":" and " " into one token."""
    pieces = [*CHAT, ("Answer", -1.0, -1.0), (": ", -0.75, -0.75), ("B", -0.5, -0.5)]
    scored = score_reply(planted(pieces, 0, count_special=False), " B")
    assert scored.logprob == pytest.approx(-1.25) and scored.tokens == 2 and scored.straddled and scored.greedy is True


def test_log_probabilities_shifted_by_a_missing_bos_are_refused() -> None:
    """The shape llama-cpp-python 0.3.36's server returns for a prompt without BOS: one token generated
    (in the text and in usage), but the entries are the prompt's own, so the last is a prompt token."""
    pieces = [("Question", None, 0.0), (":", -3.0, -1.0), (" Mars", -6.28, -1.0)]
    reply = planted(pieces, 0, count_special=True)
    reply["choices"][0]["text"] += "\n"  # type: ignore[index]
    reply["usage"] = {"prompt_tokens": 3, "completion_tokens": 1}
    with pytest.raises(PermanentBackendError, match="do not line up .*BOS token"):
        score_reply(reply, " Mars")


def test_a_reply_without_prompt_logprobs_or_usage_is_refused() -> None:
    reply = planted([*CHAT, ("Mars", -1.0, -1.0)], 0, count_special=True)
    reply["choices"][0]["logprobs"] = None  # type: ignore[index]
    with pytest.raises(PermanentBackendError, match="no prompt log-probabilities"):
        score_reply(reply, "Mars")
    reply = planted([*CHAT, ("Mars", -1.0, -1.0)], 0, count_special=True)
    del reply["usage"]
    with pytest.raises(ValueError, match="completion_tokens"):
        score_reply(reply, "Mars")


def test_the_chat_template_option_gives_loglikelihood_and_its_own_identity() -> None:
    plain = backend_factory("openai:m@http://127.0.0.1:9/v1", BackendSettings())
    scored = backend_factory("openai:m@http://127.0.0.1:9/v1;chat_template=llamacpp", BackendSettings())
    in_process = backend_factory("llamacpp", BackendSettings())
    assert not plain.capabilities.loglikelihood and scored.capabilities.loglikelihood
    assert plain.identity() == "http://127.0.0.1:9/v1|m"  # the plain reference keeps its cache keys
    assert scored.identity() == f"http://127.0.0.1:9/v1|m|chat_template={in_process.identity()}"
    request = Request("loglikelihood", (Message("user", "Q"),), continuations=("a", "b"))
    keys = {request_key(f.name, f.identity(), request, 0) for f in (plain, scored, in_process)}
    assert len(keys) == 3  # HTTP with a template, HTTP without, in-process: never one cache entry
    copy = pickle.loads(pickle.dumps(scored))  # our own factory, sent to workers as plain data
    assert copy.identity() == scored.identity() and copy.capabilities == scored.capabilities
    with pytest.raises(UserError, match=r"models\[0\]: invalid model reference .*unknown or empty option 'template=x'"):
        backend_factory("openai:m@http://127.0.0.1:9/v1;template=x", BackendSettings(), key_path="models[0]")


# ------------------------------------------------------------------ on a real server
QUESTION = (Message("system", "Be brief."), Message("user", "Closest planet to the sun?"))
CONTINUATIONS = ("Mercury", "Venus is the closest", "Mars")
#: Both sides are llama.cpp on the same GGUF and the same tokens; the server takes its
#: log-softmax in float32 (the in-process backend in float64), which moves a token's
#: log-probability by about 1e-7 (measured: at most 2.1e-7 per continuation), and both
#: evaluate the positions that are scored in batches of two or more tokens, whose logits are
#: bit-identical however the prompt is split. 1e-4 leaves a margin for a few tokens' float32
#: rounding and is far below the 0.6 nats a one-token batch can move a logit.
TOLERANCE = 1e-4


@pytest.mark.server
@pytest.mark.model
async def test_http_log_likelihoods_equal_the_in_process_ones(llama_server, embedded_model_path: Path) -> None:  # type: ignore[no-untyped-def]
    factory = backend_factory(f"openai:{llama_server.model}@{llama_server.base_url};chat_template=llamacpp", BackendSettings())
    http = factory.build()
    request = Request("loglikelihood", QUESTION, continuations=CONTINUATIONS)
    remote = await http.complete(request)
    await http.aclose()
    local = await LlamaCppBackend(embedded_model_path).complete(request)
    remote.validate()
    for text in CONTINUATIONS:
        assert remote.extra["label_logprobs"][text] == pytest.approx(local.extra["label_logprobs"][text], abs=TOLERANCE)  # type: ignore[index]
    assert remote.extra["continuation_tokens"] == local.extra["continuation_tokens"]
    assert remote.extra["greedy"] == local.extra["greedy"] and remote.extra["boundary_straddled"] == []
    assert remote.text == local.text and remote.prompt_tokens == local.prompt_tokens
    assert remote.valid_mass == pytest.approx(local.valid_mass, rel=1e-3)
    for text in CONTINUATIONS:
        assert remote.label_probs[text] == pytest.approx(local.label_probs[text], abs=1e-4)  # type: ignore[index]


@pytest.mark.server
@pytest.mark.model
def test_a_server_without_echoed_logprobs_fails_the_probe(start_llama_server) -> None:  # type: ignore[no-untyped-def]
    server = start_llama_server(n_ctx=256, extra_args=["--logits_all", "false"])
    factory = backend_factory(f"openai:{server.model}@{server.base_url};chat_template=llamacpp", BackendSettings())
    with pytest.raises(PermanentBackendError, match=r"/completions .*scoring continuations \(loglikelihood\) needs a /completions endpoint that echoes prompt log-probabilities"):
        factory.probe()
    backend_factory(f"openai:{server.model}@{server.base_url}", BackendSettings()).probe()  # without the option: no echo asked
