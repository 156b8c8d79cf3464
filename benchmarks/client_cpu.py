"""Client CPU per request and end-to-end throughput against an instant-reply server, side by side.

An OpenAI-compatible server that answers at once (``benchmarks/instant_server.py``) runs
in its own process on 127.0.0.1, so this process's CPU time (``time.process_time``) is the
client's alone. The same N distinct ``choice_logprobs`` requests (four lettered options)
go through each path at the same concurrency, in interleaved rounds:

* ``bare aiohttp``: one ``aiohttp.ClientSession`` (the same connection limit), N workers
  pulling from a queue, each building the JSON body forkingpaths sends, posting it and
  parsing the reply with ``json.loads``: the least any Python client must do, and the
  reference of the targets;
* ``bare httpx``: the same loop on one ``httpx.AsyncClient`` (what the backend used before);
* ``bare openai SDK`` (when the ``openai`` package is installed): ``AsyncOpenAI(max_retries=0)``,
  ``chat.completions.create`` with the same body, for reference;
* ``backend``: ``OpenAICompatBackend.complete`` (aiohttp; body, POST, classification, label
  matching into a ``Response``) on the same workers;
* ``engine``: what a run does per request, end to end: ``request_key`` and a ``Job``
  each, then ``execute`` with ``AsyncioExecutor`` and a fresh SQLite ``ResponseCache``
  (cache look-up, claims, retry wrapper with its timeout, ``Response.validate``, the
  batched committed cache writes, claim releases).

Printed per path: client CPU ms per request, requests/s (wall), and the ratios of each
path's client CPU per request to the bare aiohttp loop's (median of per-round ratios).
Targets (issue 15): engine within 2x of the bare loop; >= 2,000 requests/s end to end on
2 cores. ``--profile`` runs the engine path once more under cProfile and
prints its 25 most expensive functions (cumulative and own time).

Run: python benchmarks/client_cpu.py [--n 4000] [--concurrency 8] [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib.util
import io
import json
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx

from forkingpaths.execution.executor import AsyncioExecutor, Job, RetryPolicy, execute
from forkingpaths.models.base import Message, Request, request_key
from forkingpaths.models.openai_compat import MAX_TOP_LOGPROBS, OpenAICompatBackend, OpenAIFactory
from forkingpaths.store import ResponseCache

HERE = Path(__file__).resolve().parent
LABELS = ("A", "B", "C", "D")
API_KEY_ENV = "FORKINGPATHS_BENCHMARK_NO_KEY"  # unset: a loopback server gets a placeholder key
CPU_TARGET = 2.0
THROUGHPUT_TARGET = 2000.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def instant_server() -> Iterator[str]:
    """The instant-reply server in its own process; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "instant_server.py"), "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        process.stdout.readline()  # "listening on …"
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


def make_requests(n: int, tag: str) -> list[Request]:
    """N distinct survey-style questions with four lettered options."""
    return [
        Request(
            "choice_logprobs",
            (
                Message("system", "Answer with the letter of one option."),
                Message("user", f"[{tag}] Question {i}: how important is topic {i % 97} in your life?\n"
                        "A. Very important\nB. Rather important\nC. Not very important\nD. Not at all important\nAnswer:"),
            ),
            labels=LABELS,
        )
        for i in range(n)
    ]


def body_of(request: Request, model: str) -> dict[str, object]:
    """Exactly the body ``OpenAICompatBackend`` sends for a ``choice_logprobs`` request."""
    return {
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "model": model,
        "logprobs": True,
        "max_tokens": 1,
        "temperature": 0.0,
        "top_logprobs": MAX_TOP_LOGPROBS,
    }


async def on_workers(requests: list[Request], concurrency: int, call: Callable[[Request], Awaitable[object]]) -> None:
    queue = iter(requests)

    async def worker() -> None:
        for request in queue:
            await call(request)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def bare_httpx(url: str, requests: list[Request], concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url + "/", limits=limits, timeout=60.0, headers={"Authorization": "Bearer x"}) as client:

        async def call(request: Request) -> object:
            reply = await client.post("chat/completions", content=json.dumps(body_of(request, "instant")).encode())
            reply.raise_for_status()
            return json.loads(reply.content)["choices"][0]["logprobs"]["content"][0]["top_logprobs"]

        await on_workers(requests, concurrency, call)


async def bare_aiohttp(url: str, requests: list[Request], concurrency: int) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as client:

        async def call(request: Request) -> object:
            body = json.dumps(body_of(request, "instant")).encode()
            async with client.post(url + "/chat/completions", data=body) as reply:
                reply.raise_for_status()
                return json.loads(await reply.read())["choices"][0]["logprobs"]["content"][0]["top_logprobs"]

        await on_workers(requests, concurrency, call)


async def bare_sdk(url: str, requests: list[Request], concurrency: int) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="x", base_url=url, max_retries=0, timeout=60.0)

    async def call(request: Request) -> object:
        body = body_of(request, "instant")
        completion = await client.chat.completions.create(**body)  # type: ignore[call-overload]
        return completion.choices[0].logprobs.content[0].top_logprobs

    await on_workers(requests, concurrency, call)
    await client.close()


async def backend_only(url: str, requests: list[Request], concurrency: int) -> None:
    backend = OpenAICompatBackend("instant", base_url=url, api_key="x", max_concurrency=concurrency)
    await on_workers(requests, concurrency, backend.complete)
    await backend.aclose()


async def engine(url: str, requests: list[Request], concurrency: int) -> None:
    factory = OpenAIFactory(f"openai:instant@{url}", "instant", url, API_KEY_ENV, 60.0, concurrency)
    identity = factory.identity()
    with tempfile.TemporaryDirectory() as folder:
        cache = ResponseCache(Path(folder))
        jobs = [Job(request_key(factory.name, identity, r, 0), "instant", r, 0) for r in requests]
        outcomes, counters = await execute(
            jobs, {"instant": factory}, cache, AsyncioExecutor(concurrency, RetryPolicy()), handle_signals=False
        )
        assert counters.errors == 0 and len(outcomes) == len(requests), counters
        assert cache.info().entries == len(requests)  # every answer committed
        cache.close()


REFERENCE = "bare aiohttp"
PATHS: dict[str, Callable[[str, list[Request], int], Awaitable[None]]] = {
    REFERENCE: bare_aiohttp,
    "bare httpx": bare_httpx,
    "bare openai SDK": bare_sdk,
    "backend": backend_only,
    "engine": engine,
}


def timed(path: str, url: str, requests: list[Request], concurrency: int) -> tuple[float, float]:
    """(client CPU seconds, wall seconds) for one path over ``requests``."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    asyncio.run(PATHS[path](url, requests, concurrency))
    return time.process_time() - cpu, time.perf_counter() - wall


def profile_engine(url: str, requests: list[Request], concurrency: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(engine(url, requests, concurrency))
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(25)
        print(f"--- engine profile, sorted by {order} ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    paths = [p for p in PATHS if p != "bare openai SDK" or importlib.util.find_spec("openai")]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"N={args.n} concurrency={args.concurrency} rounds={args.rounds} cpus={os.cpu_count()} load_average_at_start={load}")
    cpu: dict[str, list[float]] = {p: [] for p in paths}
    rate: dict[str, list[float]] = {p: [] for p in paths}
    with instant_server() as url:
        for path in paths:  # warm-up: imports, connection set-up, SQLite
            timed(path, url, make_requests(200, "warm"), args.concurrency)
        for round_index in range(args.rounds):
            order = paths if round_index % 2 == 0 else list(reversed(paths))
            for path in order:
                requests = make_requests(args.n, f"r{round_index}")
                seconds_cpu, seconds_wall = timed(path, url, requests, args.concurrency)
                cpu[path].append(1000 * seconds_cpu / args.n)
                rate[path].append(args.n / seconds_wall)
            print(f"round {round_index + 1}: " + ", ".join(f"{p} {cpu[p][-1]:.3f} ms ({rate[p][-1]:.0f} req/s)" for p in order))
        if args.profile:
            profile_engine(url, make_requests(args.n, "profile"), args.concurrency)
    print(f"load_average_at_end={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("client CPU per request, median over rounds (ms) and requests/s:")
    for path in paths:
        print(f"  {path:16s} {statistics.median(cpu[path]):7.3f} ms  {statistics.median(rate[path]):7.0f} req/s")
    for path in [p for p in paths if p != REFERENCE]:
        ratios = [a / b for a, b in zip(cpu[path], cpu[REFERENCE])]
        print(f"cpu_ratio {path} / {REFERENCE} = {statistics.median(ratios):.2f}  (range {min(ratios):.2f}-{max(ratios):.2f})")
    engine_ratio = statistics.median(a / b for a, b in zip(cpu["engine"], cpu[REFERENCE]))
    engine_rate = statistics.median(rate["engine"])
    print(f"target engine within {CPU_TARGET:g}x of {REFERENCE}: {'met' if engine_ratio <= CPU_TARGET else 'NOT met'}")
    print(f"end-to-end engine throughput {engine_rate:.0f} req/s; target >= {THROUGHPUT_TARGET:.0f}: "
          f"{'met' if engine_rate >= THROUGHPUT_TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
