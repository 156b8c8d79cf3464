"""Engine overhead: forkingpaths' execution engine versus a bare async OpenAI client, same server, same requests.

One process starts a real llama-cpp-python OpenAI-compatible server on 127.0.0.1 (a free
port) serving the embedded SmolLM2 GGUF, then sends N requests at the same concurrency
through two paths, in several interleaved rounds:

* bare: ``openai.AsyncOpenAI(max_retries=0)`` and an ``asyncio.Semaphore(concurrency)``,
  one ``chat.completions.create`` per request with exactly the body
  ``OpenAICompatBackend`` sends for that request;
* forkingpaths: the execution engine a run uses — ``request_key`` for every request, a
  ``Job`` each, then ``forkingpaths.execution.executor.execute`` with the real
  ``OpenAICompatBackend`` and a fresh ``ResponseCache`` in a temporary directory (cache
  lookup, retry wrapper with its timeout, label matching into a ``Response``, one
  committed SQLite insert per response).

What is timed, on both paths: from a list of ``Request`` objects to every response in
hand. Building the client/backend and opening the cache happen before the clock starts;
closing them after it stops. The full ``forkingpaths.run()`` pipeline is deliberately not
timed: loading data, expanding the design, parsing and analysis are work a bare client
does not do, so including them would not measure the engine's overhead per request.

Fairness. llama.cpp reuses the KV cache for the prompt prefix shared with the previous
request, so the order and wording of prompts change the server's work. Every path in
every round gets its own prompts, identical except for a fixed-width tag (same token
count, checked by printing the server's token counts), and both paths send them in the order the
executor dispatches them (sorted by prompt, which here is the order they are built in).
A warm-up round of both paths runs first; the timed rounds alternate which path goes
first, and the reported ratio is the median of the per-round ratios, so slow drift on a
shared machine cancels. The client's CPU time per request is printed beside the wall
times: it isolates the engine's own cost from the server's.

Defaults: N=16 at concurrency 4, 12 rounds. The server answers one request at a time, so
throughput does not depend on N once N exceeds the concurrency; on a shared 2-core
machine, where other jobs change the server's speed from one minute to the next, many
short interleaved rounds pair the two paths closer in time than a few long ones.

Needs the server extra of llama-cpp-python (in the ``dev`` extra; ``make benchmarks`` runs it).
Run: .venv/bin/python benchmarks/throughput.py [--n 16] [--concurrency 4] [--rounds 12]
     [--mode choice_logprobs|generate] [--max-tokens 8] [--time-limit 170]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import openai
from openai import AsyncOpenAI

from forkingpaths.models.base import Message, Request, request_key
from forkingpaths.models.openai_compat import MAX_TOP_LOGPROBS, OpenAIFactory
from forkingpaths.models.llamacpp import embedded_model_path
from forkingpaths.execution.executor import AsyncioExecutor, Job, RetryPolicy, execute
from forkingpaths.store import ResponseCache

TARGET_RATIO = 0.95
MODEL_ALIAS = "smollm2"
SERVER_START_TIMEOUT_S = 60.0
API_KEY = "not-needed"  # a loopback llama.cpp server checks no key
API_KEY_ENV = "FORKINGPATHS_BENCHMARK_NO_KEY"  # unset: a loopback server gets a placeholder key
LABELS = ("A", "B", "C", "D")
TOPICS = (
    "family", "friends", "leisure time", "politics", "work", "religion", "science", "tradition",
    "the environment", "economic growth", "free speech", "public order", "equality", "privacy",
    "national pride", "technology",
)
PHRASINGS = (
    "How important is {topic} in your life?",
    "How much do you trust people who work in {topic}?",
    "How often do you talk with others about {topic}?",
    "How worried are you about the future of {topic}?",
)
OPTIONS = ("Very much", "Somewhat", "Not very much", "Not at all")


@contextmanager
def llama_server(model_path: Path, n_ctx: int) -> Iterator[str]:
    """Run ``llama_cpp.server`` on a free loopback port; yield its base URL; always stop it.

    Self-contained on purpose: benchmarks must not depend on the test suite's fixtures.
    The server's output goes to a temporary log whose tail is shown if it fails to start.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.NamedTemporaryFile(prefix="llama_server_", suffix=".log") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(model_path),
                "--model_alias", MODEL_ALIAS,
                "--host", "127.0.0.1",
                "--port", str(port),
                "--n_ctx", str(n_ctx),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(process, base_url, Path(log.name))
            yield base_url
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10.0)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    """Poll ``/v1/models`` until it answers 200; fail with the log's tail if the server dies or stalls."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"llama server exited with {process.returncode}:\n{_tail(log_path)}")
            try:
                if client.get(f"{base_url}/models").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"llama server did not answer within {SERVER_START_TIMEOUT_S:.0f} s:\n{_tail(log_path)}")


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-2000:]


def make_requests(n: int, mode: str, max_tokens: int, tag: str) -> list[Request]:
    """N distinct survey-style requests whose user message starts with ``Survey <tag>-<index>``.

    The tag is fixed-width digits, so two tags give prompts of the same token count; it
    comes first so that consecutive prompts share only the chat template and the tag with
    their neighbour, on both paths alike. Zero-padded indices make the built order equal
    the executor's dispatch order (sorted by prompt).
    """
    requests = []
    for index in range(n):
        question = PHRASINGS[(index // len(TOPICS)) % len(PHRASINGS)].format(topic=TOPICS[index % len(TOPICS)])
        options = "\n".join(f"{label}. {text}" for label, text in zip(LABELS, OPTIONS))
        body = f"Survey {tag}-{index:04d}. {question}\n\n{options}\n\nAnswer with the letter of one option only."
        messages = (Message("user", body),)
        if mode == "choice_logprobs":
            requests.append(Request("choice_logprobs", messages, labels=LABELS, temperature=0.0, max_tokens=1))
        else:
            requests.append(Request("generate", messages, labels=LABELS, temperature=0.0, max_tokens=max_tokens))
    return requests


def bare_body(request: Request) -> dict[str, Any]:
    """The ``chat.completions.create`` arguments ``OpenAICompatBackend`` (default ``top_logprobs``) sends."""
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.mode == "choice_logprobs":
        return {
            "model": MODEL_ALIAS, "messages": messages, "temperature": 0.0, "max_tokens": 1,
            "logprobs": True, "top_logprobs": MAX_TOP_LOGPROBS,
        }
    return {
        "model": MODEL_ALIAS, "messages": messages, "temperature": request.temperature, "top_p": 1.0,
        "max_tokens": request.max_tokens, "seed": openai.omit if request.seed is None else request.seed,
    }


@dataclass(frozen=True)
class PathResult:
    """One path's timing for one round, and the server's token counts as a check of equal work.

    ``cpu_seconds`` is this process's CPU time over the same span: the client-side cost
    alone (the server is another process), which shared-machine noise disturbs far less
    than wall time.
    """

    seconds: float
    cpu_seconds: float
    prompt_tokens: int
    completion_tokens: int


async def run_bare(base_url: str, requests: list[Request], concurrency: int) -> PathResult:
    """Send every request with a plain ``AsyncOpenAI`` client, at most ``concurrency`` in flight."""
    client = AsyncOpenAI(api_key=API_KEY, base_url=base_url, timeout=60.0, max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)
    gc.collect()  # garbage left by the other path is not collected on this path's clock

    async def send(body: dict[str, Any]) -> Any:
        async with semaphore:
            return await client.chat.completions.create(**body)

    try:
        start, cpu = time.perf_counter(), time.process_time()
        completions = await asyncio.gather(*(send(bare_body(r)) for r in requests))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        await client.close()
    return PathResult(
        seconds,
        cpu,
        sum(c.usage.prompt_tokens for c in completions if c.usage),
        sum(c.usage.completion_tokens for c in completions if c.usage),
    )


async def run_engine(base_url: str, requests: list[Request], concurrency: int, cache_dir: Path) -> PathResult:
    """Send every request through the executor with the real backend and a fresh cache.

    Signal handling is left to this script (``handle_signals=False``) so that Ctrl-C
    always reaches the ``finally`` that stops the server.
    """
    factory = OpenAIFactory(f"openai:{MODEL_ALIAS}@{base_url}", MODEL_ALIAS, base_url, API_KEY_ENV, 120.0, concurrency)
    cache = ResponseCache(cache_dir)
    gc.collect()  # garbage left by the other path is not collected on this path's clock
    try:
        start, cpu = time.perf_counter(), time.process_time()
        jobs = [Job(request_key(factory.name, factory.identity(), r, 0), MODEL_ALIAS, r, 0) for r in requests]
        outcomes, counters = await execute(
            jobs, {MODEL_ALIAS: factory}, cache, AsyncioExecutor(concurrency, RetryPolicy()), handle_signals=False
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        cache.close()
    failed = [o.error for o in outcomes.values() if o.response is None]
    if failed or counters.retries or len(outcomes) != len(requests):
        raise RuntimeError(f"engine path: {len(failed)} failed, {counters.retries} retries; first error: {failed[:1]}")
    responses = [o.response for o in outcomes.values() if o.response is not None]
    return PathResult(
        seconds,
        cpu,
        sum(r.prompt_tokens or 0 for r in responses),
        sum(r.completion_tokens or 0 for r in responses),
    )


@dataclass(frozen=True)
class Round:
    """Both paths once, on equivalent prompts, in the order given by ``bare_first``."""

    n: int
    bare_first: bool
    bare: PathResult
    engine: PathResult

    def ratio(self) -> float:
        """Engine throughput over bare throughput for the same N: the bare time over the engine time."""
        return self.bare.seconds / self.engine.seconds

    def describe(self) -> str:
        bare, engine = self.bare, self.engine
        return (
            f"{'bare' if self.bare_first else 'forkingpaths'} first: "
            f"bare {bare.seconds:.2f} s ({self.n / bare.seconds:.2f} req/s, client CPU "
            f"{1000 * bare.cpu_seconds / self.n:.1f} ms/req), "
            f"forkingpaths {engine.seconds:.2f} s ({self.n / engine.seconds:.2f} trials/s, client CPU "
            f"{1000 * engine.cpu_seconds / self.n:.1f} ms/trial), ratio {self.ratio():.3f}; "
            f"prompt/completion tokens bare {bare.prompt_tokens}/{bare.completion_tokens}, "
            f"forkingpaths {engine.prompt_tokens}/{engine.completion_tokens}"
        )


async def run_round(base_url: str, args: argparse.Namespace, index: int, n: int, workdir: Path) -> Round:
    """Both paths once, each on its own tagged prompts; odd rounds run the engine first."""
    bare_first = index % 2 == 0
    bare_requests = make_requests(n, args.mode, args.max_tokens, f"{index:02d}1")
    engine_requests = make_requests(n, args.mode, args.max_tokens, f"{index:02d}2")
    cache_dir = workdir / f"cache-{index}"
    if bare_first:
        bare = await run_bare(base_url, bare_requests, args.concurrency)
        engine = await run_engine(base_url, engine_requests, args.concurrency, cache_dir)
    else:
        engine = await run_engine(base_url, engine_requests, args.concurrency, cache_dir)
        bare = await run_bare(base_url, bare_requests, args.concurrency)
    return Round(n, bare_first, bare, engine)


async def benchmark(base_url: str, args: argparse.Namespace, workdir: Path) -> list[Round]:
    """A short warm-up round (not reported), then up to ``args.rounds`` timed rounds.

    No round starts unless the slowest round so far would still finish within
    ``args.time_limit``; the limit is also a hard cap on the whole.
    """
    async with asyncio.timeout(args.time_limit):
        began = time.monotonic()
        warm = await run_round(base_url, args, 0, min(args.n, 2 * args.concurrency), workdir)
        print(f"warm-up ({warm.n} requests per path): {warm.describe()}", flush=True)
        rounds: list[Round] = []
        for index in range(1, args.rounds + 1):
            slowest = max((r.bare.seconds + r.engine.seconds for r in rounds), default=0.0)
            if rounds and time.monotonic() - began + slowest > args.time_limit:
                print(f"time limit {args.time_limit:.0f} s: stopping after {len(rounds)} rounds", flush=True)
                break
            rounds.append(await run_round(base_url, args, index, args.n, workdir))
            print(f"round {index}: {rounds[-1].describe()}", flush=True)
        return rounds


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM behaves like Ctrl-C, so the server is stopped on either."""
    raise KeyboardInterrupt


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=16, help="requests per path per round (default 16)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight on each path (default 4)")
    parser.add_argument("--rounds", type=int, default=12, help="timed rounds after a short warm-up round (default 12)")
    parser.add_argument("--mode", choices=("choice_logprobs", "generate"), default="choice_logprobs")
    parser.add_argument("--max-tokens", type=int, default=8, help="max_tokens in generate mode (default 8)")
    parser.add_argument("--time-limit", type=float, default=170.0, help="seconds for warm-up and rounds (default 170)")
    args = parser.parse_args()
    if args.n < 1 or args.concurrency < 1 or args.rounds < 1 or args.max_tokens < 1:
        parser.error("--n, --concurrency, --rounds and --max-tokens must be at least 1")
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"N={args.n} concurrency={args.concurrency} mode={args.mode} rounds={args.rounds} "
          f"cpus={os.cpu_count()} load_average_at_start={load}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fp_throughput_") as workdir, llama_server(embedded_model_path(), 2048) as url:
        print(f"server: llama_cpp.server at {url} (model {MODEL_ALIAS}, embedded GGUF)", flush=True)
        try:
            rounds = asyncio.run(benchmark(url, args, Path(workdir)))
        except TimeoutError:
            print(f"time limit {args.time_limit:.0f} s reached inside a round; no result", file=sys.stderr)
            return 1
    bare_rate = statistics.median(args.n / r.bare.seconds for r in rounds)
    engine_rate = statistics.median(args.n / r.engine.seconds for r in rounds)
    ratio = statistics.median(r.ratio() for r in rounds)
    bare_cpu = statistics.median(1000 * r.bare.cpu_seconds / args.n for r in rounds)
    engine_cpu = statistics.median(1000 * r.engine.cpu_seconds / args.n for r in rounds)
    print(f"bare_requests_per_s={bare_rate:.3f}")
    print(f"forkingpaths_trials_per_s={engine_rate:.3f}")
    print(f"client_cpu_ms_per_request bare={bare_cpu:.2f} forkingpaths={engine_cpu:.2f}")
    print(f"if all {engine_cpu - bare_cpu:.2f} ms of extra client CPU per trial were taken from the server, "
          f"throughput would fall by {100 * (engine_cpu - bare_cpu) * bare_rate / 1000:.2f}%")
    print(f"engine_overhead_ratio={ratio:.3f}  (median of per-round ratios; "
          f"range {min(r.ratio() for r in rounds):.3f}-{max(r.ratio() for r in rounds):.3f})")
    print(f"target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    print(f"load_average_at_end={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the server was stopped", file=sys.stderr)
        sys.exit(130)
