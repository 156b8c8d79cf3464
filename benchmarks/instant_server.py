"""An OpenAI-compatible server on 127.0.0.1 that answers at once, for measuring client cost.

It answers ``POST .../chat/completions`` with one fixed, well-formed chat completion (the
first token's 20 ``top_logprobs``, as a real server gives them for a lettered question,
and token usage, so that no client needs a tokenizer to count tokens), ``POST
.../completions`` with a fixed completion or, for ``echo: true``, the prompt echoed with
per-token log-probabilities (what lm-eval's log-likelihood requests read), and ``GET .../models`` with one model, over HTTP/1.1 keep-alive, and counts the requests
it answered (``GET /stats``). It does no work per request beyond reading it, so whatever
time a client spends is the client's own. Run it in its own process (so that its CPU
time is not counted as the client's):

    python benchmarks/instant_server.py --port 8123 [--delay-ms 0]

Standard library only (``asyncio.Protocol``), so it starts in any environment, including
the temporary virtual environments of other harnesses. It serves loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import signal
import time

MODEL = "instant"
_TOKENS = ["A", "B", "C", "D", " A", " B", " C", " D", "The", "\n", "I", "a", "1", "2", "E", "F", "Answer", ":", "-", "*"]


def chat_completion() -> bytes:
    """The one reply: label tokens first, then fillers; the i-th has probability 2^-(i+1), so they sum below 1."""
    top = [{"token": t, "logprob": -(i + 1) * math.log(2), "bytes": list(t.encode())} for i, t in enumerate(_TOKENS)]
    first = {"token": "A", "logprob": top[0]["logprob"], "bytes": [65], "top_logprobs": top}
    reply = {
        "id": "chatcmpl-instant",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "A"}, "finish_reason": "length", "logprobs": {"content": [first]}}
        ],
        "usage": {"prompt_tokens": 60, "completion_tokens": 1, "total_tokens": 61},
    }
    return json.dumps(reply).encode()


def completion() -> bytes:
    """A reply for the legacy ``/completions`` endpoint (what lm-eval's generate path uses)."""
    reply = {
        "id": "cmpl-instant",
        "object": "text_completion",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "text": "A", "finish_reason": "length", "logprobs": None}],
        "usage": {"prompt_tokens": 60, "completion_tokens": 1, "total_tokens": 61},
    }
    return json.dumps(reply).encode()


_PIECES = re.compile(r" ?[A-Za-z]+| ?[0-9]| ?[^A-Za-z0-9\s]|\s+")


def echoed_completion(body: bytes) -> bytes:
    """A ``/completions`` reply to ``echo: true``: each prompt's pieces with log-probabilities, then one token.

    The shape llama-cpp-python's server and OpenAI's legacy endpoint give (``tokens``,
    ``token_logprobs``, ``top_logprobs``, ``text_offset``; the first prompt token has no
    log-probability), one choice per prompt. The server has no tokenizer, so a "token"
    here is a word, a digit, a punctuation mark or a run of spaces (at least as many as a
    BPE tokenizer's tokens for ordinary text, which lm-eval's slicing by context length
    needs). The values are arbitrary; only the work of producing and parsing them counts.
    """
    prompts = json.loads(body).get("prompt", "")
    choices = []
    prompt_tokens = 0
    for index, prompt in enumerate(prompts if isinstance(prompts, list) else [prompts]):
        pieces = [*_PIECES.findall(str(prompt)), " A"]
        offsets = [0]
        for piece in pieces[:-1]:
            offsets.append(offsets[-1] + len(piece))
        logprobs = [None, *[-0.5] * (len(pieces) - 1)]
        top = [None, *[{piece: -0.5} for piece in pieces[1:]]]
        prompt_tokens += len(pieces) - 1
        choices.append(
            {
                "index": index,
                "text": str(prompt) + " A",
                "finish_reason": "length",
                "logprobs": {"tokens": pieces, "token_logprobs": logprobs, "top_logprobs": top, "text_offset": offsets},
            }
        )
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(choices)}
    reply = {"id": "cmpl-instant", "object": "text_completion", "created": 0, "model": MODEL, "choices": choices, "usage": {**usage, "total_tokens": sum(usage.values())}}
    return json.dumps(reply).encode()


def _response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    return head.encode() + body


class _Counter:
    requests = 0
    posts: list[float] = []  # wall-clock time (time.time()) of each POST: a harness's start-up ends at its first
    delay_s = 0.0  # --delay-ms: a server that takes its time, for tests that must catch a run mid-way


class InstantProtocol(asyncio.Protocol):
    """Parses pipelined HTTP/1.1 requests (headers, then ``content-length`` bytes) from a buffer."""

    replies = {
        b"chat/completions": _response(chat_completion()),
        b"/completions": _response(completion()),
        b"/models": _response(json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()),
    }

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, target = head.split(b" ", 2)[:2]
            reply = self._reply(method, target, body)
            if _Counter.delay_s:
                asyncio.get_running_loop().call_later(_Counter.delay_s, self.transport.write, reply)
            else:
                self.transport.write(reply)

    def _reply(self, method: bytes, target: bytes, body: bytes) -> bytes:
        if b"/stats" in target:  # /stats?since=K: also the time of the (K+1)-th POST, if it came
            since = re.search(rb"since=(\d+)", target)
            k = int(since[1]) if since else len(_Counter.posts)
            first = _Counter.posts[k] if k < len(_Counter.posts) else None
            return _response(json.dumps({"requests": _Counter.requests, "posts": len(_Counter.posts), "post_since": first}).encode())
        _Counter.requests += 1
        if method == b"POST":
            _Counter.posts.append(time.time())
        if target.rstrip(b"/").endswith(b"/completions") and b"chat/" not in target and re.search(rb'"echo"\s*:\s*true', body):
            return _response(echoed_completion(body))
        for suffix, reply in self.replies.items():
            if target.rstrip(b"/").endswith(suffix):
                return reply
        return b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(InstantProtocol, "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on http://127.0.0.1:{port}/v1", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="answer each request this much later")
    arguments = parser.parse_args()
    _Counter.delay_s = arguments.delay_ms / 1000.0
    asyncio.run(serve(arguments.port))
