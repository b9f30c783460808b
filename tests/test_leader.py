"""Leader election rules, on a stateful in-memory Lease store and a hand-driven clock.

The Kubernetes round trip (the same rules over a real Lease on the fake API server, and
two bridges) is in test_k8s_leader.py; here every timing edge is exercised exactly.
"""

from __future__ import annotations

import asyncio
import dataclasses

from adcbridge.config import LeaderSettings
from adcbridge.errors import KubeConflict, KubeUnavailable
from adcbridge.leader import LeaderElector
from adcbridge.model import LeaseRecord


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MemoryLeases:
    """One Lease with resourceVersion semantics, like the API server's."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.down = False
        self.writes: list[LeaseRecord] = []

    async def read(self) -> LeaseRecord | None:
        self._check()
        record = self.record
        await asyncio.sleep(0)  # lets concurrent candidates read the same version before either writes
        return record

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        if self.record is not None:
            raise KubeConflict("exists", status=409)
        return self._store(record)

    async def replace(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        if self.record is None or record.resource_version != self.record.resource_version:
            raise KubeConflict("stale", status=409)
        return self._store(record)

    def _store(self, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        self.record = dataclasses.replace(record, resource_version=str(self.version))
        self.writes.append(self.record)
        return self.record

    def _check(self) -> None:
        if self.down:
            raise KubeUnavailable("connection refused")


SETTINGS = LeaderSettings(lease_duration_seconds=15, renew_deadline_seconds=10, retry_period_seconds=2)


def elector(store: MemoryLeases, clock: Clock, name: str) -> LeaderElector:
    return LeaderElector(store, SETTINGS, name, clock=clock, wall_clock=clock)


async def test_the_first_replica_takes_a_missing_lease_and_the_second_stays_standby() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    await a.try_once()
    await b.try_once()
    assert (a.is_leader, b.is_leader, b.holder) == (True, False, "a")
    assert store.record is not None
    assert store.record.holder == "a"
    assert store.record.duration_seconds == 15


async def test_a_renewing_leader_keeps_the_lease_however_long() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    for _ in range(30):
        await a.try_once()
        await b.try_once()
        clock.now += 2
    assert (a.is_leader, b.is_leader) == (True, False)
    assert store.record is not None
    assert store.record.transitions == 0


async def test_a_standby_takes_over_once_the_lease_expired_by_its_own_clock() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    await a.try_once()
    await b.try_once()  # b first sees a's record now
    clock.now += 14.9
    await b.try_once()
    assert not b.is_leader
    clock.now += 0.2  # 15.1 s after b saw the record last change
    await b.try_once()
    assert b.is_leader
    assert store.record is not None
    assert (store.record.holder, store.record.transitions) == ("b", 1)


async def test_timestamps_written_by_a_skewed_clock_do_not_shorten_the_wait() -> None:
    store, clock = MemoryLeases(), Clock()
    skewed = Clock()
    skewed.now = clock.now - 3600  # the leader's wall clock is an hour behind
    a = LeaderElector(store, SETTINGS, "a", clock=clock, wall_clock=skewed)
    b = elector(store, clock, "b")
    await a.try_once()
    await b.try_once()
    clock.now += 5
    await b.try_once()
    assert not b.is_leader


async def test_a_leader_that_cannot_renew_stops_before_a_standby_can_start() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    await a.try_once()
    await b.try_once()
    store.down = True  # a loses the API server; b (say, on another node) does not
    clock.now += 9.9
    assert a.is_leader
    clock.now += 0.2
    assert not a.is_leader  # no attempt needed: the deadline alone ends it
    await a.try_once()
    assert not a.is_leader
    store.down = False
    clock.now += 5  # 15.1 s after b last saw a renewal
    await b.try_once()
    assert b.is_leader


async def test_two_candidates_racing_for_an_expired_lease_make_one_leader() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b, c = elector(store, clock, "a"), elector(store, clock, "b"), elector(store, clock, "c")
    await a.try_once()
    await b.try_once()
    await c.try_once()
    clock.now += 16
    # b and c both read the expired record, then both write over the same resourceVersion.
    await asyncio.gather(b.try_once(), c.try_once())
    assert [b.is_leader, c.is_leader].count(True) == 1
    assert store.record is not None
    assert store.record.holder in ("b", "c")
    assert store.record.transitions == 1


async def test_release_hands_over_at_the_standbys_next_attempt() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    await a.try_once()
    await b.try_once()
    await a.release()
    assert not a.is_leader
    clock.now += 2
    await b.try_once()
    assert b.is_leader


async def test_a_replica_restarted_with_the_same_identity_resumes_its_lease() -> None:
    store, clock = MemoryLeases(), Clock()
    await elector(store, clock, "pod-0").try_once()
    clock.now += 3
    again = elector(store, clock, "pod-0")
    await again.try_once()
    assert again.is_leader


async def test_a_foreign_holder_seen_while_leading_ends_leadership_at_once() -> None:
    store, clock = MemoryLeases(), Clock()
    a = elector(store, clock, "a")
    await a.try_once()
    assert store.record is not None
    store.record = dataclasses.replace(store.record, holder="intruder", resource_version="99")
    await a.try_once()
    assert (a.is_leader, a.holder) == (False, "intruder")


async def test_wait_for_returns_when_the_deadline_passes_without_renewal() -> None:
    store = MemoryLeases()
    fast = LeaderSettings(lease_duration_seconds=3, renew_deadline_seconds=1.2, retry_period_seconds=1.1)
    a = LeaderElector(store, fast, "a")  # real clocks: the wait must end by the deadline alone
    await a.try_once()
    assert a.is_leader
    await a.wait_for(False)
    assert not a.is_leader
