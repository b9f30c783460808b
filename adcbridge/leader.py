"""Leader election over a Lease: every replica watches the cluster, only the leader writes.

The rules follow client-go's leaderelection, whose failure modes are well understood:

- A replica takes the Lease when nobody holds it, when it already holds it, or when the
  holder has not renewed for ``lease_duration_seconds`` *as this replica observed it*: the
  time is measured on our own monotonic clock from the moment we first saw the current
  record, never by comparing the record's timestamps with our wall clock, so clock skew
  between nodes cannot make two leaders.
- Writes go through the Lease's resourceVersion: of two replicas racing, the API server
  lets exactly one win (409 for the other).
- A leader renews every ``retry_period_seconds``. ``is_leader`` turns False by itself once
  ``renew_deadline_seconds`` pass without a successful renewal, even between two attempts
  and even in the middle of an ADC request: the ADC client asks it before every write, so a
  leader cut off from the API server stops writing before a standby can take over
  (``renew_deadline`` < ``lease_duration``).
- On shutdown the leader releases the Lease (empty holder), so a standby takes over at its
  next attempt instead of waiting out the lease.

``LeaseStore`` is the seam to the API server (``k8s/leases.py``); tests use it with a fake
clock. This module decides; it does not know how Leases are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from adcbridge.config import LeaderSettings
from adcbridge.errors import KubeConflict, KubeError
from adcbridge.model import LeaseRecord

log = logging.getLogger(__name__)


class LeaseStore(Protocol):
    async def read(self) -> LeaseRecord | None:
        """The Lease, or None when it does not exist."""

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        """Create it; KubeConflict if someone else just did."""

    async def replace(self, record: LeaseRecord) -> LeaseRecord:
        """Write it over ``record.resource_version``; KubeConflict if it changed meanwhile."""


class LeaderElector:
    def __init__(
        self,
        store: LeaseStore,
        settings: LeaderSettings,
        identity: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.identity = identity
        self._store = store
        self._settings = settings
        self._clock = clock
        self._wall = wall_clock
        self._leading = False
        self._renewed_at = -math.inf  # our clock, last successful renewal
        self._observed: LeaseRecord | None = None
        self._observed_at = -math.inf  # our clock, when the observed record last changed
        self.holder = ""  # who holds the Lease, as last seen
        self._changed = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leading and self._clock() - self._renewed_at < self._settings.renew_deadline_seconds

    async def run(self) -> None:
        """Try to acquire or renew every retry period, forever."""
        while True:
            await self.try_once()
            await asyncio.sleep(self._settings.retry_period_seconds)

    async def wait_for(self, leading: bool) -> None:
        """Return once ``is_leader`` equals ``leading``."""
        while self.is_leader != leading:
            self._changed.clear()
            timeout = self._until_deadline() if self.is_leader else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)

    async def try_once(self) -> None:
        """One attempt to acquire or renew the Lease."""
        try:
            record = await self._attempt()
        except KubeConflict:
            log.debug("lease: lost a race for the Lease; trying again later")
            record = None
        except KubeError as exc:
            log.warning("lease: %s", exc)
            record = None
        self._settle(record)

    async def release(self) -> None:
        """Give the Lease up (on shutdown) so a standby need not wait for it to expire."""
        if not self.is_leader or self._observed is None:
            return
        now = self._wall()
        released = replace(self._observed, holder="", duration_seconds=1, acquired_at=now, renewed_at=now)
        try:
            await self._store.replace(released)
            log.info("lease: released")
        except KubeError as exc:
            log.warning("lease: could not release it (a standby takes over when it expires): %s", exc)
        self._set_leading(False)

    # ------------------------------------------------------------------ decisions

    async def _attempt(self) -> LeaseRecord | None:
        """The record we wrote as holder, or None when someone else validly holds the Lease."""
        current = await self._store.read()
        if current is None:
            return await self._store.create(self._fresh(transitions=0))
        self._observe(current)
        if current.holder and current.holder != self.identity and not self._expired(current):
            return None
        return await self._store.replace(self._renewal_of(current))

    def _observe(self, current: LeaseRecord) -> None:
        if self._observed is None or current.resource_version != self._observed.resource_version:
            self._observed, self._observed_at = current, self._clock()
        self.holder = current.holder

    def _expired(self, current: LeaseRecord) -> bool:
        return self._clock() - self._observed_at >= current.duration_seconds

    def _renewal_of(self, current: LeaseRecord) -> LeaseRecord:
        if current.holder == self.identity:
            return replace(current, duration_seconds=self._duration(), renewed_at=self._wall())
        return replace(self._fresh(transitions=current.transitions + 1), resource_version=current.resource_version)

    def _fresh(self, *, transitions: int) -> LeaseRecord:
        now = self._wall()
        return LeaseRecord(self.identity, self._duration(), now, now, transitions)

    def _duration(self) -> int:
        return math.ceil(self._settings.lease_duration_seconds)

    def _settle(self, written: LeaseRecord | None) -> None:
        if written is not None:
            self._observed, self._observed_at = written, self._clock()
            self._renewed_at = self._clock()
            self.holder = self.identity
            self._set_leading(True)
        elif self._leading and not self.is_leader:
            self._set_leading(False)  # renewals failed for longer than the deadline
        elif self._leading and self.holder != self.identity:
            self._set_leading(False)  # someone else holds it now

    def _set_leading(self, leading: bool) -> None:
        if leading != self._leading:
            log.info("lease: %s", "became the leader" if leading else "no longer the leader; writes stop")
        self._leading = leading
        self._changed.set()

    def _until_deadline(self) -> float:
        return max(0.0, self._settings.renew_deadline_seconds - (self._clock() - self._renewed_at)) + 0.001
