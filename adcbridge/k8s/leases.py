"""The Lease of leader election, stored as a coordination.k8s.io/v1 Lease.

Translates between ``leader.LeaseRecord`` and the Lease's JSON: MicroTime timestamps
(``2026-11-23T10:00:00.000000Z``), whole-second durations, and the resourceVersion that
makes every write conditional (a replace over a stale version is a 409, ``KubeConflict``).
A Lease whose spec cannot be read is treated as held by nobody with an expired term, so a
corrupted Lease cannot block election forever; its resourceVersion still guards the write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adcbridge.errors import KubeNotFound
from adcbridge.k8s.api import JsonObject, KubeApi, Resource, section
from adcbridge.model import LeaseRecord

LEASES = Resource("Lease", "coordination.k8s.io/v1", "leases", namespaced=True)


class KubeLeaseStore:
    def __init__(self, api: KubeApi, *, namespace: str, name: str) -> None:
        self._api = api
        self.namespace = namespace
        self.name = name

    async def read(self) -> LeaseRecord | None:
        try:
            return record_of(await self._api.get(LEASES.path(self.namespace, self.name)))
        except KubeNotFound:
            return None

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        return record_of(await self._api.create(LEASES.path(self.namespace), self._lease(record)))

    async def replace(self, record: LeaseRecord) -> LeaseRecord:
        return record_of(await self._api.replace(LEASES.path(self.namespace, self.name), self._lease(record)))

    def _lease(self, record: LeaseRecord) -> JsonObject:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if record.resource_version:
            metadata["resourceVersion"] = record.resource_version
        return {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": metadata,
            "spec": {
                "holderIdentity": record.holder,
                "leaseDurationSeconds": record.duration_seconds,
                "acquireTime": micro_time(record.acquired_at),
                "renewTime": micro_time(record.renewed_at),
                "leaseTransitions": record.transitions,
            },
        }


def record_of(lease: JsonObject) -> LeaseRecord:
    metadata, spec = section(lease, "metadata"), section(lease, "spec")
    holder, duration = spec.get("holderIdentity"), spec.get("leaseDurationSeconds")
    transitions = spec.get("leaseTransitions")
    return LeaseRecord(
        holder=holder if isinstance(holder, str) else "",
        duration_seconds=duration if isinstance(duration, int) and duration > 0 else 1,
        acquired_at=parse_micro_time(spec.get("acquireTime")),
        renewed_at=parse_micro_time(spec.get("renewTime")),
        transitions=transitions if isinstance(transitions, int) else 0,
        resource_version=str(metadata.get("resourceVersion") or ""),
    )


def micro_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(value: object) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0
