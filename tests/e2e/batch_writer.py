"""A run's driver in a process of its own, for the kill -9 test of batched cache writes.

``python batch_writer.py URL CACHE_DIR N`` sends N distinct requests to the
OpenAI-compatible server at URL through the real driver (``execute``), the real
httpx backend and the real SQLite cache in CACHE_DIR, at concurrency 8. The test
imports :func:`make_jobs` to rebuild the same requests and check what was committed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from forkingpaths.execution.executor import AsyncioExecutor, Job, RetryPolicy, execute
from forkingpaths.models.base import Message, Request, request_key
from forkingpaths.models.openai_compat import OpenAIFactory
from forkingpaths.store import ResponseCache

CONCURRENCY = 8
LABELS = ("A", "B", "C", "D")


def make_jobs(url: str, n: int) -> tuple[dict[str, OpenAIFactory], list[Job]]:
    factory = OpenAIFactory(f"openai:instant@{url}", "instant", url, "FORKINGPATHS_TEST_NO_KEY", 10.0, CONCURRENCY)
    requests = [Request("choice_logprobs", (Message("user", f"Question {i}: pick A, B, C or D."),), labels=LABELS) for i in range(n)]
    jobs = [Job(request_key(factory.name, factory.identity(), r, 0), "instant", r, 0) for r in requests]
    return {"instant": factory}, jobs


async def run(url: str, cache_dir: Path, n: int) -> None:
    factories, jobs = make_jobs(url, n)
    cache = ResponseCache(cache_dir)
    policy = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.05, timeout=10)
    await execute(jobs, factories, cache, AsyncioExecutor(CONCURRENCY, policy), handle_signals=False)
    cache.close()


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])))
