"""Claims on requests, so that runs sharing one cache make each model call once between them.

Two processes running overlapping specs at the same time both find a request missing
from the cache when they start. Before calling a model, a process therefore claims the
request: a lease row in the cache (:meth:`ResponseCache.claim`) naming it as the owner
until an expiry time that it keeps pushing forward while it runs (the heartbeat). Another
process that finds a live lease does not call the model; it puts the request back and
asks again a little later, by which time the answer is usually in the cache. A lease whose
owner died (``kill -9``) or hung stops being renewed, expires after ``ttl`` seconds and is
taken over, so no request waits forever on a dead process.

The driver only calls :meth:`RequestClaims.try_claim_many` and :meth:`RequestClaims.heartbeat`
(its ``AnswerWriter`` frees leases in the transaction that stores the answers); everything
about leases lives here and in the store.
"""

from __future__ import annotations

import asyncio
import enum
import os
import uuid
from dataclasses import dataclass, field

from forkingpaths.models.base import Response
from forkingpaths.store import CacheError, ResponseCache

#: Seconds a lease lives without a heartbeat: how long a dead owner can delay others.
LEASE_TTL_S = 15.0
#: Seconds between two looks at a request another process holds.
POLL_S = 0.2


class Claim(enum.Enum):
    """What :meth:`RequestClaims.try_claim` found, when no answer was waiting."""

    MINE = "mine"  # this process holds the lease: call the model, then release
    BUSY = "busy"  # another live process is calling the model for it: come back later


def _owner_id() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex}"


@dataclass
class RequestClaims:
    """One process's leases in one cache.

    With ``refresh`` (``--refresh``) an answer already cached does not count: the request
    is claimed and asked again; leases still stop two processes asking at the same time.
    """

    cache: ResponseCache
    refresh: bool = False
    ttl: float = LEASE_TTL_S
    poll: float = POLL_S
    owner: str = field(default_factory=_owner_id)

    def try_claim(self, key: str) -> Response | Claim:
        """The answer if another process stored it meanwhile, else whether this process may ask."""
        answered, mine, _ = self.try_claim_many([key])
        if key in answered:
            return answered[key]
        return Claim.MINE if mine else Claim.BUSY

    def try_claim_many(self, keys: list[str]) -> tuple[dict[str, Response], list[str], list[str]]:
        """Claim ``keys`` at once: (answers another process stored meanwhile, keys this process
        may ask for, keys another live process is asking for), each key in exactly one.

        The cache is read again after a successful claim: a process stores its answer before
        (or in the same transaction as) it releases the lease, so whoever claims a released
        lease sees that answer. Costs two reads and two commits for any number of keys.
        """
        answered = self._answered(keys)
        rest = [key for key in keys if key not in answered]
        held = self.cache.claim_many(rest, self.owner, self.ttl) if rest else set()
        late = self._answered([key for key in rest if key in held])
        if late:
            self.cache.release(late, self.owner)
        answered.update(late)
        mine = [key for key in rest if key in held and key not in late]
        busy = [key for key in rest if key not in held]
        return answered, mine, busy

    def release(self, keys: list[str]) -> None:
        self.cache.release(keys, self.owner)

    async def heartbeat(self) -> None:
        """Renew this process's leases every third of ``ttl`` until cancelled."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                self.cache.renew(self.owner, self.ttl)
            except CacheError:  # locked by another process: try again at the next beat
                continue

    def _answered(self, keys: list[str]) -> dict[str, Response]:
        return {} if self.refresh or not keys else self.cache.get_many(keys)
