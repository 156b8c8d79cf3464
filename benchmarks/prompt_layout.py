"""Fixed parts first: prompt tokens a real llama.cpp server evaluates, and its wall time, per template layout.

An inference server keeps the KV cache of the prompt it evaluated last (llama.cpp) or of
many (vLLM's prefix cache) and evaluates only the tokens after the prefix a new prompt
shares with it. The executor already sends requests sorted by prompt, so neighbours
share as long a prefix as the templates allow; what a template puts *before* the
question decides how long that is. This script renders the same demo requests (the
built-in World Values Survey items × the demo's option orders, label styles, templates
and personas) in two layouts and sends them, through forkingpaths' own executor and
OpenAI-compatible backend, to one ``python -m llama_cpp.server`` on 127.0.0.1 serving
the bundled SmolLM2-135M GGUF, alternating which layout goes first in each round:

- ``question-first``: the survey templates as they were before issue 15 (question and
  options, then the fixed instruction);
- ``fixed-first``: the current built-in templates (``instruments/survey/factors.py``:
  the fixed framing and instruction, then the question and options).

Prompt tokens *evaluated* are read at the server: llama-cpp-python logs
``Llama.generate: N prefix-match hit, remaining M prompt tokens to eval`` whenever it
reuses its KV cache, so evaluated = Σ prompt tokens (the replies' ``usage``) − Σ N over
the pass's log lines (a request without such a line was evaluated whole). Each pass uses
a fresh response cache, so every request reaches the server. Printed per pass: wall
seconds, prompt tokens, reused and evaluated tokens; then the medians and the ratios
``evaluated_ratio`` and ``wall_ratio`` (fixed-first / question-first, median of
per-round ratios).

Run: ``python benchmarks/prompt_layout.py [--items 4] [--rounds 3] [--concurrency 4]``
(needs llama-cpp-python's ``server`` extra, part of the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from forkingpaths.execution.executor import AsyncioExecutor, Job, RetryPolicy, execute
from forkingpaths.instruments.survey.factors import BUILTIN_TEMPLATES
from forkingpaths.models.base import Request, request_key
from forkingpaths.models.llamacpp import embedded_model_path
from forkingpaths.models.openai_compat import OpenAIFactory
from forkingpaths.store import ResponseCache
from prefix_reuse import demo_requests  # the sibling script in benchmarks/

#: The survey's built-in templates before issue 15 moved the fixed parts first.
QUESTION_FIRST: dict[str, str] = {
    "plain": "{question}\n\n{options}\n\n{instruction}",
    "survey": (
        "Here is a question from a public opinion survey.\n\n"
        "Question: {question}\n\nAnswer options:\n{options}\n\n{instruction}"
    ),
    "opinion": "We would like to know your view.\n{question}\n\nChoose one of:\n{options}\n\n{instruction}",
}
LAYOUTS = {"question-first": QUESTION_FIRST, "fixed-first": dict(BUILTIN_TEMPLATES)}
HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens to eval")
ALIAS = "smollm2"
API_KEY_ENV = "FORKINGPATHS_BENCHMARK_NO_KEY"  # unset: a loopback server needs no key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(log_path: Path) -> Iterator[str]:
    """A real llama-cpp-python server on the bundled model, logging to ``log_path``; yields its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_model_path()), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "True",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"the llama.cpp server exited with {process.returncode}; see {log_path}")
                try:
                    if httpx.get(f"{url}/models", timeout=1.0, trust_env=False).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            else:
                raise RuntimeError(f"the llama.cpp server did not answer within 120 s; see {log_path}")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def reused_tokens(log_path: Path, offset: int) -> tuple[int, int]:
    """(Σ reused, new offset) over the server log lines written since ``offset``."""
    with log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", errors="replace")
        end = log.tell()
    return sum(int(match[1]) for match in HIT.finditer(text)), end


async def one_pass(url: str, requests: list[Request], concurrency: int) -> tuple[float, int]:
    """Seconds and Σ prompt tokens for one pass through the executor with a fresh response cache."""
    factory = OpenAIFactory(f"openai:{ALIAS}@{url}", ALIAS, url, API_KEY_ENV, 300.0, concurrency)
    identity = factory.identity()
    with tempfile.TemporaryDirectory() as folder:
        cache = ResponseCache(Path(folder))
        jobs = [Job(request_key(factory.name, identity, r, 0), "bench", r, 0) for r in requests]
        start = time.perf_counter()
        outcomes, counters = await execute(
            jobs, {"bench": factory}, cache, AsyncioExecutor(concurrency, RetryPolicy()), handle_signals=False
        )
        seconds = time.perf_counter() - start
        cache.close()
    if counters.errors:
        raise RuntimeError(f"{counters.errors} requests failed")
    return seconds, sum(outcome.response.prompt_tokens or 0 for outcome in outcomes.values() if outcome.response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4, help="built-in items (40 requests each)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; each runs both layouts")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    requests = {name: demo_requests(args.items, templates) for name, templates in LAYOUTS.items()}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"items={args.items} requests_per_pass={len(requests['fixed-first'])} rounds={args.rounds} "
          f"concurrency={args.concurrency} cpus={os.cpu_count()} load_average_at_start={load}")
    results: dict[str, list[tuple[float, int, int]]] = {name: [] for name in LAYOUTS}
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        with llama_server(log_path) as url:
            asyncio.run(one_pass(url, requests["fixed-first"][:8], args.concurrency))  # warm-up
            _, offset = reused_tokens(log_path, 0)
            for round_index in range(args.rounds):
                order = list(LAYOUTS) if round_index % 2 == 0 else list(reversed(LAYOUTS))
                for name in order:
                    seconds, prompt_tokens = asyncio.run(one_pass(url, requests[name], args.concurrency))
                    reused, offset = reused_tokens(log_path, offset)
                    results[name].append((seconds, prompt_tokens, prompt_tokens - reused))
                    print(f"round {round_index + 1} {name:14s}: {seconds:6.2f} s, prompt tokens {prompt_tokens}, "
                          f"reused {reused} ({reused / prompt_tokens:.0%}), evaluated {prompt_tokens - reused}")
    for name, rows in results.items():
        print(f"{name:14s} median: {statistics.median(r[0] for r in rows):.2f} s, "
              f"evaluated {statistics.median(r[2] for r in rows):.0f} of {rows[0][1]} prompt tokens")
    before, after = results["question-first"], results["fixed-first"]
    evaluated = [a[2] / b[2] for a, b in zip(after, before)]
    wall = [a[0] / b[0] for a, b in zip(after, before)]
    print(f"load_average_at_end={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"evaluated_ratio fixed-first/question-first = {statistics.median(evaluated):.2f} "
          f"(range {min(evaluated):.2f}-{max(evaluated):.2f})")
    print(f"wall_ratio fixed-first/question-first = {statistics.median(wall):.2f} (range {min(wall):.2f}-{max(wall):.2f})")


if __name__ == "__main__":
    main()
