"""Kubernetes Events: findings shown where operators look (``kubectl describe``, ``get events``).

Written on the object concerned, as core/v1 Events in the legacy form (first/last timestamp
and count, no eventTime, which the API server validates by stricter rules) with
``involvedObject`` carrying the object's uid (``kubectl describe`` matches on it):

- ``HostRejected`` (Warning) on the Ingress or VirtualServer whose host was refused (an
  invalid hostname, an invalid mergeable-ingress type), with the reason;
- ``OrphanMinion`` (Warning) on a minion Ingress whose host has no master: the KIC serves
  none of its paths, while the host itself may well be published by another Ingress;
- ``NameConflict`` (Warning) on the objects claiming a host whose ADC domain belongs to
  someone else, and on the KIC Service for SLB objects;
- ``DeletionsHeldBack`` and ``Degraded`` (Warning) on the KIC Service.

A finding is written when it appears, not every cycle (the reconciler keeps a 60 s resync
at 10,000 hosts; an Event per host per cycle would flood the API server). A finding that
comes back after it was gone is written again; the same one repeated within an hour
increments ``count`` on the existing Event, as client-go's correlator does. At most
``MAX_PER_CYCLE`` Events are written per cycle; the rest are in the log and metrics. Failing
to write an Event is logged at DEBUG and never fails a cycle.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adcbridge.errors import KubeError, excerpt
from adcbridge.k8s.api import JsonObject, KubeApi, Resource, section
from adcbridge.model import ObjectRef

log = logging.getLogger(__name__)

EVENTS = Resource("Event", "v1", "events", namespaced=True)
COMPONENT = "adcbridge"
MAX_PER_CYCLE = 50
REPEAT_WINDOW_SECONDS = 3600.0
MESSAGE_LIMIT = 1024


@dataclass(frozen=True)
class Finding:
    """Something to tell an operator about one Kubernetes object."""

    ref: ObjectRef
    reason: str  # CamelCase, e.g. HostRejected
    message: str
    type: str = "Warning"


@dataclass
class _Written:
    namespace: str
    name: str
    count: int
    last: float


class EventRecorder:
    def __init__(
        self,
        api: KubeApi,
        find: Callable[[ObjectRef], JsonObject | None],
        *,
        instance: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api = api
        self._find = find
        self._instance = instance
        self._clock = clock
        self._current: frozenset[Finding] = frozenset()
        self._written: dict[Finding, _Written] = {}
        self.written = 0  # Events created or updated (tests, logs)

    async def publish(self, findings: Iterable[Finding]) -> None:
        """Write the findings that are new since the last call."""
        latest = frozenset(findings)
        new = sorted(latest - self._current, key=lambda f: (f.ref.kind, f.ref.namespace, f.ref.name, f.reason))
        self._current = latest
        for finding in new[:MAX_PER_CYCLE]:
            await self._record(finding)
        if len(new) > MAX_PER_CYCLE:
            log.info("events: wrote %d of %d new findings; the rest are in the log", MAX_PER_CYCLE, len(new))

    async def _record(self, finding: Finding) -> None:
        involved = self._find(finding.ref)
        if involved is None:
            return  # the object is gone (or never existed, like a missing Service): nothing to attach to
        now = self._clock()
        earlier = self._written.get(finding)
        try:
            if earlier is not None and now - earlier.last < REPEAT_WINDOW_SECONDS:
                await self._repeat(earlier, now)
            else:
                self._written[finding] = await self._create(finding, involved, now)
            self.written += 1
        except KubeError as exc:
            log.debug("events: could not write %s on %s: %s", finding.reason, finding.ref, exc)

    async def _create(self, finding: Finding, involved: JsonObject, now: float) -> _Written:
        namespace = finding.ref.namespace or "default"
        name = f"{finding.ref.name}.{secrets.token_hex(8)}"
        body = event_body(finding, involved, name=name, namespace=namespace, now=now, instance=self._instance)
        await self._api.create(EVENTS.path(namespace), body)
        return _Written(namespace, name, 1, now)

    async def _repeat(self, earlier: _Written, now: float) -> None:
        earlier.count += 1
        earlier.last = now
        stamp = _seconds(now)
        patch = {"count": earlier.count, "lastTimestamp": stamp}
        await self._api.merge_patch(EVENTS.path(earlier.namespace, earlier.name), patch)


def event_body(
    finding: Finding, involved: JsonObject, *, name: str, namespace: str, now: float, instance: str
) -> JsonObject:
    metadata = section(involved, "metadata")
    reference = {
        "kind": finding.ref.kind,
        "apiVersion": involved.get("apiVersion", ""),
        "name": finding.ref.name,
        "uid": metadata.get("uid", ""),
        "resourceVersion": metadata.get("resourceVersion", ""),
    }
    if finding.ref.namespace:
        reference["namespace"] = finding.ref.namespace
    stamp = _seconds(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": reference,
        "reason": finding.reason,
        "message": excerpt(finding.message) if len(finding.message) > MESSAGE_LIMIT else finding.message,
        "type": finding.type,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def _seconds(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
