"""Throughput of the local executor against the Ray executor with 1 and 2 actors, side by side.

An instant-reply OpenAI-compatible server (uvicorn + starlette, in its own process on
127.0.0.1) answers every chat completion at once with fixed label log-probabilities, so
what is measured is the harness: request keys, cache look-ups, claims, the executor,
the HTTP client, response validation and one cache write per answer. Each path sends
the same number of distinct requests through the driver (``execute``) with a fresh
cache; rounds alternate the order of the paths and the ratio reported is the median of
the per-round ratios (these machines are noisy: absolute figures are context only).

Replicas: two more servers that answer one request at a time, each taking
``--service-ms`` (a stand-in for an inference server at its capacity), serve one model
through the local executor as one replica and as a replica set of two; the ratio of the
two rates is how much of the second server's capacity the balancing turns into throughput
(at most 2).

Ray's own servers listen on every interface, so the script re-runs itself inside a
private network namespace with only loopback (``unshare --net``) when it can.

Run: .venv/bin/python benchmarks/scale_out.py [--n 400] [--concurrency 8] [--rounds 3] [--service-ms 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from forkingpaths.execution.executor import AsyncioExecutor, Executor, Job, RetryPolicy, execute
from forkingpaths.execution.ray_executor import RayExecutor, ensure_ray
from forkingpaths.models.base import BackendSettings, Message, Replicas, Request, request_key
from forkingpaths.models.registry import backend_factory
from forkingpaths.store import ResponseCache

ISOLATED = "FORKINGPATHS_BENCHMARK_ISOLATED"
SERVER = '''
import asyncio
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

TOP = [{"token": "A", "logprob": -0.3, "bytes": None}, {"token": "B", "logprob": -1.4, "bytes": None}]
REPLY = {
    "id": "x", "object": "chat.completion", "created": 0, "model": "instant",
    "choices": [{"index": 0, "finish_reason": "length",
                 "message": {"role": "assistant", "content": "A"},
                 "logprobs": {"content": [{"token": "A", "logprob": -0.3, "bytes": None, "top_logprobs": TOP}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
}

SERVICE_S = float(os.environ.get("SERVICE_S", "0"))  # > 0: one request at a time, each this long
ONE_AT_A_TIME = asyncio.Lock()

async def chat(request):
    await request.body()
    if SERVICE_S:
        async with ONE_AT_A_TIME:
            await asyncio.sleep(SERVICE_S)
    return JSONResponse(REPLY)

async def models(request):
    return JSONResponse({"object": "list", "data": [{"id": "instant", "object": "model"}]})

app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)])
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(workdir: Path, service_s: float = 0.0) -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "instant_server.py").write_text(SERVER, encoding="utf-8")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "instant_server:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=workdir,
        env={**os.environ, "SERVICE_S": str(service_s)},
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the instant-reply server did not start")


def _jobs(factory, n: int, tag: str) -> list[Job]:  # type: ignore[no-untyped-def]
    jobs = []
    for i in range(n):
        request = Request("choice_logprobs", (Message("user", f"{tag} question {i:06d}: A or B?"),), labels=("A", "B"), max_tokens=1)
        jobs.append(Job(request_key(factory.name, factory.identity(), request, 0), factory.reference, request, 0))
    return jobs


async def _timed(executor: Executor, factory, n: int, tag: str, workdir: Path) -> float:  # type: ignore[no-untyped-def]
    cache = ResponseCache(Path(tempfile.mkdtemp(dir=workdir)))
    jobs = _jobs(factory, n, tag)
    start = time.perf_counter()
    outcomes, counters = await execute(jobs, {factory.reference: factory}, cache, executor, handle_signals=False)
    seconds = time.perf_counter() - start
    cache.close()
    failed = [o.error for o in outcomes.values() if o.response is None]
    if failed or counters.model_calls != n:
        raise RuntimeError(f"{len(failed)} failed requests; first: {failed[:1]}")
    return n / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--service-ms", type=float, default=10.0, help="per-request time of the replica benchmark's servers")
    args = parser.parse_args()
    unshare = shutil.which("unshare")
    if not os.environ.get(ISOLATED) and unshare and subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0:
        command = [unshare, "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", sys.executable, *sys.argv]
        return subprocess.run(command, env={**os.environ, ISOLATED: "1"}).returncode
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        servers = [_start_server(workdir), _start_server(workdir, args.service_ms / 1000), _start_server(workdir, args.service_ms / 1000)]
        try:
            ensure_ray(None, num_cpus=2)
            settings = BackendSettings(max_concurrency=args.concurrency)
            factory = backend_factory(f"openai:instant@{servers[0][1]}", settings)
            busy = [url for _, url in servers[1:]]
            policy = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.1, timeout=30)
            local = AsyncioExecutor(args.concurrency, policy)
            paths: dict[str, tuple[Executor, object]] = {
                "local": (local, factory),
                "ray-1": (RayExecutor(1, args.concurrency, policy), factory),
                "ray-2": (RayExecutor(2, args.concurrency, policy), factory),
                "replicas-1": (local, backend_factory(f"openai:instant@{busy[0]}", settings)),
                "replicas-2": (local, backend_factory("openai:instant", settings, replicas=Replicas(tuple(busy)))),
            }
            rates: dict[str, list[float]] = {name: [] for name in paths}
            asyncio.run(_timed(local, factory, 20, "warm-up", workdir))
            for round_index in range(args.rounds):
                order = list(paths) if round_index % 2 == 0 else list(reversed(paths))
                for name in order:
                    executor, path_factory = paths[name]
                    rate = asyncio.run(_timed(executor, path_factory, args.n, f"r{round_index}-{name}", workdir))
                    rates[name].append(rate)
                    print(f"round {round_index + 1} {name:10s}: {rate:8.1f} requests/s", flush=True)
        finally:
            for process, _ in servers:
                process.kill()
    for name, base in (("ray-1", "local"), ("ray-2", "local"), ("replicas-2", "replicas-1")):
        ratio = statistics.median(r / b for r, b in zip(rates[name], rates[base]))
        print(f"{name}_over_{base}={ratio:.2f}  (median of {args.rounds} rounds; {args.n} requests, concurrency {args.concurrency})")
    print(f"replica servers: one request at a time, {args.service_ms:g} ms each (at most {1000 / args.service_ms:.0f} requests/s per server)")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
