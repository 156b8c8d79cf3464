"""The Ray executor: the same unique requests, sent from Ray actors on one machine or many.

Each actor builds its own backends from the run's factories (an in-process llama.cpp
model per actor; HTTP clients for servers) and answers one request per call with the
same retry policy as the local executor. The driver keeps the queue, keeps at most
``concurrency`` requests in flight per actor and model (never more than the backend's
own limit), and hands every outcome to the driver's ``deliver``, which alone writes the
cache: the actors never touch it, so they may run on machines that cannot see it.

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
from forkingpaths.execution.executor import Counters, Deliver, Job, Outcome, RetryPolicy, call_with_retries, retry_policy
from forkingpaths.models.base import Backend, BackendFactory

#: Seconds between two looks at the in-flight requests when none has finished.
POLL_S = 0.5


class RequestWorker:
    """One actor's backends; ``call`` answers one request (run as a Ray actor, see :func:`_actor_class`)."""

    def __init__(self, factories: Mapping[str, BackendFactory], policy: RetryPolicy, seed: int) -> None:
        self.backends: dict[str, Backend] = {model: factory.build() for model, factory in factories.items()}
        self.policy = policy
        self.rng = random.Random(seed)
        self.stop = asyncio.Event()  # an actor never stops half-way: the driver stops sending

    def pid(self) -> int:
        return os.getpid()

    async def call(self, job: Job) -> tuple[Outcome, int, int]:
        """The outcome of one request, with the attempts and retries it took."""
        counters = Counters()
        outcome = await call_with_retries(self.backends[job.model], job, self.policy, counters, self.rng, self.stop)
        return outcome, counters.attempts, counters.retries

    async def close(self) -> None:
        for backend in self.backends.values():
            await backend.aclose()


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
            actor.options(max_concurrency=max(limit.values()) * len(limit)).remote(needed, self.policy, self.seed + i)
            for i in range(self.actors)
        ]
        alive = set(range(self.actors))
        queue: deque[Job] = deque(jobs)
        in_flight: dict[asyncio.Future[Any], tuple[Job, int]] = {}
        busy: Counter[tuple[int, str]] = Counter()

        def submit() -> None:
            """Give every live actor work up to its limit per model, in queue order."""
            waiting: deque[Job] = deque()
            while queue:
                job = queue.popleft()
                free = [i for i in sorted(alive) if busy[(i, job.model)] < limit[job.model]]
                if not free:
                    waiting.append(job)
                    continue
                index = min(free, key=lambda i: busy[(i, job.model)])
                future = asyncio.wrap_future(pool[index].call.remote(job).future())
                in_flight[future] = (job, index)
                busy[(index, job.model)] += 1
            queue.extend(waiting)

        try:
            while (queue and not stop.is_set()) or in_flight:
                if not stop.is_set():
                    submit()
                if not in_flight:
                    if not alive:
                        raise UserError(f"every Ray actor died; {len(queue)} requests were not answered (rerun to resume)")
                    continue
                done, _ = await asyncio.wait(in_flight, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    job, index = in_flight.pop(future)
                    busy[(index, job.model)] -= 1
                    try:
                        outcome, attempts, retries = future.result()
                    except RayActorError:
                        alive.discard(index)  # its process is gone: its requests go to the others
                        queue.appendleft(job)
                        counters.requeued += 1
                        continue
                    counters.model_calls += 1
                    counters.attempts += attempts
                    counters.retries += retries
                    deliver(job, outcome)
        finally:
            for index in alive:
                try:
                    await asyncio.wrap_future(pool[index].close.remote().future())
                except RayActorError:
                    pass
            for handle in pool:
                ray.kill(handle)


def ray_executor(spec: Any) -> RayExecutor:
    """The executor for ``executor: {name: ray, address: …, actors: N}``."""
    return RayExecutor(spec.executor.actors, spec.concurrency, retry_policy(spec), spec.seed, spec.executor.address)
