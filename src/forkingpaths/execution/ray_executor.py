"""The Ray executor: the same unique requests, sent from Ray actors on one machine or many.

Each actor builds its own backends from the run's factories (an in-process llama.cpp
model per actor; HTTP clients for servers) and answers batches of requests with the
same retry policy as the local executor: a Ray call costs milliseconds, more than an
inference server takes to answer a short request, so one call carries ``concurrency``
requests. The driver keeps one queue per model, keeps at most two batches per actor and
model in flight (an actor runs at most ``concurrency`` requests of a model at once, and
never more than the backend's own limit), and hands every outcome to the driver's
``deliver``, which alone writes the cache: the actors never touch it, so they may run on
machines that cannot see it.

An actor that dies (its process killed, its node lost) takes its in-flight requests
with it; they go back to the front of the queue for the other actors, and the dead
actor is not used again. Nothing is delivered twice: a request is delivered only from
the actor that answered it. Ray is an optional extra (``pip install 'forkingpaths[ray]'``).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forkingpaths.errors import UserError
from forkingpaths.execution.executor import (
    Counters,
    Deliver,
    Job,
    Outcome,
    RetryPolicy,
    call_with_retries,
    endpoint_counts,
    retry_policy,
)
from forkingpaths.models.base import Backend, BackendFactory

#: Seconds between two looks at the in-flight requests when none has finished.
POLL_S = 0.5
#: Batches in flight per actor and model: one being answered while the next waits, so an
#: actor never idles while its results travel back.
BATCHES_IN_FLIGHT = 2


class RequestWorker:
    """One actor's backends; ``call`` answers one request (run as a Ray actor, see :func:`_actor_class`)."""

    def __init__(self, factories: Mapping[str, BackendFactory], policy: RetryPolicy, seed: int, limits: Mapping[str, int]) -> None:
        self.backends: dict[str, Backend] = {model: factory.build() for model, factory in factories.items()}
        self.limits = dict(limits)
        self.slots: dict[str, asyncio.Semaphore] = {}
        self.policy = policy
        self.rng = random.Random(seed)
        self.stop = asyncio.Event()  # an actor never stops half-way: the driver stops sending

    def pid(self) -> int:
        return os.getpid()

    async def call(self, job: Job) -> tuple[Outcome, int, int]:
        """The outcome of one request, with the attempts and retries it took."""
        slots = self.slots.setdefault(job.model, asyncio.Semaphore(self.limits[job.model]))
        async with slots:  # at most the model's limit in flight in this actor
            counters = Counters()
            outcome = await call_with_retries(self.backends[job.model], job, self.policy, counters, self.rng, self.stop)
        return outcome, counters.attempts, counters.retries

    async def call_many(self, jobs: list[Job]) -> list[tuple[Outcome, int, int]]:
        """A batch of requests answered concurrently: one Ray call carries many model calls,
        because a Ray task costs milliseconds while an inference server answers in fewer."""
        return list(await asyncio.gather(*(self.call(job) for job in jobs)))

    async def close(self) -> dict[str, dict[str, dict[str, int]]]:
        """Close the backends; returns their endpoint counts by model (see ``Counters.endpoints``)."""
        counts = {model: endpoint_counts(backend) for model, backend in self.backends.items()}
        for backend in self.backends.values():
            await backend.aclose()
        return counts


def _actor_class() -> Any:
    import ray

    return ray.remote(num_cpus=0)(RequestWorker)


def ensure_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Connect to the cluster at ``address``, or start a local one; a no-op when Ray is already up."""
    try:
        import ray
    except ImportError:
        raise UserError("the ray executor needs Ray: pip install 'forkingpaths[ray]'") from None
    if ray.is_initialized():
        return
    try:
        ray.init(
            address=address,
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            _node_ip_address=None if address else "127.0.0.1",  # a cluster started here is addressed on loopback
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UserError(f"cannot connect to the Ray cluster at {address or 'a new local cluster'}: {error}") from None


@dataclass
class RayExecutor:
    """``actors`` Ray actors, each with at most ``concurrency`` requests in flight per model."""

    actors: int
    concurrency: int
    policy: RetryPolicy
    seed: int = 0
    address: str | None = None

    async def run(
        self,
        jobs: list[Job],
        factories: Mapping[str, BackendFactory],
        deliver: Deliver,
        *,
        counters: Counters,
        stop: asyncio.Event,
    ) -> None:
        import ray
        from ray.exceptions import RayActorError

        ensure_ray(self.address)
        needed = {job.model: factories[job.model] for job in jobs}
        limit = {model: max(1, min(self.concurrency, factory.max_concurrency)) for model, factory in needed.items()}
        actor = _actor_class()
        pool = [
            actor.options(max_concurrency=BATCHES_IN_FLIGHT * len(limit) + 1).remote(needed, self.policy, self.seed + i, limit)
            for i in range(self.actors)
        ]
        alive = set(range(self.actors))
        queues: dict[str, deque[Job]] = {model: deque() for model in needed}
        for job in jobs:
            queues[job.model].append(job)
        in_flight: dict[asyncio.Future[Any], tuple[list[Job], int]] = {}
        busy: Counter[tuple[int, str]] = Counter()  # batches in flight per (actor, model)

        def submit() -> None:
            """Give every live actor batches (of its model limit) up to BATCHES_IN_FLIGHT each, in queue order."""
            for model, queue in queues.items():
                for index in sorted(alive, key=lambda i: busy[(i, model)]):
                    while queue and busy[(index, model)] < BATCHES_IN_FLIGHT:
                        batch = [queue.popleft() for _ in range(min(limit[model], len(queue)))]
                        future = asyncio.wrap_future(pool[index].call_many.remote(batch).future())
                        in_flight[future] = (batch, index)
                        busy[(index, model)] += 1

        try:
            while (any(queues.values()) and not stop.is_set()) or in_flight:
                if not stop.is_set():
                    submit()
                if not in_flight:
                    if not alive:
                        left = sum(len(q) for q in queues.values())
                        raise UserError(f"every Ray actor died; {left} requests were not answered (rerun to resume)")
                    continue
                done, _ = await asyncio.wait(in_flight, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    batch, index = in_flight.pop(future)
                    busy[(index, batch[0].model)] -= 1
                    try:
                        results = future.result()
                    except RayActorError:
                        alive.discard(index)  # its process is gone: its requests go to the others
                        queues[batch[0].model].extendleft(reversed(batch))
                        counters.requeued += len(batch)
                        continue
                    for job, (outcome, attempts, retries) in zip(batch, results):
                        counters.model_calls += 1
                        counters.attempts += attempts
                        counters.retries += retries
                        deliver(job, outcome)
        finally:
            for index in alive:
                try:
                    closed = await asyncio.wrap_future(pool[index].close.remote().future())
                except RayActorError:
                    continue  # a dead actor's endpoint counts die with it
                for model, counts in closed.items():
                    counters.add_endpoint_counts(model, counts)
            for handle in pool:
                ray.kill(handle)


def ray_executor(spec: Any) -> RayExecutor:
    """The executor for ``executor: {name: ray, address: …, actors: N}``."""
    return RayExecutor(spec.executor.actors, spec.concurrency, retry_policy(spec), spec.seed, spec.executor.address)
