"""Claims on requests, so that runs sharing one cache make each model call once between them.

Two processes running overlapping specs at the same time both find a request missing
from the cache when they start. Before calling a model, a process therefore claims the
request: a lease row in the cache (:meth:`ResponseCache.claim`) naming it as the owner
until an expiry time that it keeps pushing forward while it runs (the heartbeat). Another
process that finds a live lease does not call the model; it puts the request back and
asks again a little later, by which time the answer is usually in the cache. A lease whose
owner died (``kill -9``) or hung stops being renewed, expires after ``ttl`` seconds and is
taken over, so no request waits forever on a dead process.

The executor only calls :meth:`RequestClaims.try_claim`, :meth:`RequestClaims.release`
and :meth:`RequestClaims.heartbeat`; everything about leases lives here and in the store.
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
        """The answer if another process stored it meanwhile, else whether this process may ask.

        The cache is read again after a successful claim: a process stores its answer before
        it releases the lease, so whoever claims a released lease sees that answer.
        """
        answered = self._answered(key)
        if answered is not None:
            return answered
        if not self.cache.claim(key, self.owner, self.ttl):
            return Claim.BUSY
        answered = self._answered(key)
        if answered is not None:
            self.cache.release(key, self.owner)
            return answered
        return Claim.MINE

    def release(self, key: str) -> None:
        self.cache.release(key, self.owner)

    async def heartbeat(self) -> None:
        """Renew this process's leases every third of ``ttl`` until cancelled."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                self.cache.renew(self.owner, self.ttl)
            except CacheError:  # locked by another process: try again at the next beat
                continue

    def _answered(self, key: str) -> Response | None:
        return None if self.refresh else self.cache.get_many([key]).get(key)
