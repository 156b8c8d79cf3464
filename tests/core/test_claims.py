"""Request claims across cache connections: one owner at a time, expired leases taken over."""

from __future__ import annotations

import time

from forkingpaths.models.base import Response
from forkingpaths.execution.claims import Claim, RequestClaims
from forkingpaths.store import ResponseCache


def test_a_live_claim_makes_others_wait_and_its_answer_is_shared(tmp_path) -> None:
    first, second = ResponseCache(tmp_path), ResponseCache(tmp_path)  # two connections, as two processes
    mine, theirs = RequestClaims(first), RequestClaims(second)
    assert mine.try_claim("k") is Claim.MINE
    assert mine.try_claim("k") is Claim.MINE  # renewing one's own claim
    assert theirs.try_claim("k") is Claim.BUSY
    first.put("k", "openai", "id", "{}", 0, Response(text="A"))
    mine.release(["k"])
    assert theirs.try_claim("k") == Response(text="A")  # answered elsewhere: no call
    assert RequestClaims(second, refresh=True).try_claim("k") is Claim.MINE  # --refresh asks again
    first.close()
    second.close()


def test_an_expired_claim_of_a_dead_owner_is_taken_over(tmp_path) -> None:
    first, second = ResponseCache(tmp_path), ResponseCache(tmp_path)
    dead = RequestClaims(first, ttl=0.2)
    assert dead.try_claim("k") is Claim.MINE
    first.close()  # the owner is gone without releasing (kill -9)
    alive = RequestClaims(second, ttl=0.2)
    assert alive.try_claim("k") is Claim.BUSY
    time.sleep(0.3)
    assert alive.try_claim("k") is Claim.MINE
    second.close()


def test_renewal_keeps_a_long_call_claimed(tmp_path) -> None:
    first, second = ResponseCache(tmp_path), ResponseCache(tmp_path)
    owner = RequestClaims(first, ttl=0.3)
    assert owner.try_claim("k") is Claim.MINE
    time.sleep(0.2)
    first.renew(owner.owner, owner.ttl)
    time.sleep(0.2)  # past the first expiry, inside the renewed one
    assert RequestClaims(second).try_claim("k") is Claim.BUSY
    first.close()
    second.close()
