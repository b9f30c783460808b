"""Optional (``kube.write_status``): the VIPs in ``status.loadBalancer.ingress`` of our objects.

An alternative to the KIC's own status reporting, for clusters where the KIC does not
report (or reports its node addresses, which clients outside cannot use). Only objects of
our class with at least one host that was published get the VIPs; an object is patched
only when its status differs, through the ``/status`` subresource with a merge patch.

Written after a cycle that ran, by the leader only. At most ``MAX_PER_CYCLE`` objects per
cycle, so a first cycle over 10,000 Ingresses does not hold up the loop; the rest follow in
later cycles (each patch comes back as a watch event and wakes the loop anyway). A failed
patch is logged and retried next cycle; it never fails a cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from adcbridge.errors import KubeError
from adcbridge.k8s.api import JsonObject, KubeApi
from adcbridge.k8s.cluster_source import RESOURCES
from adcbridge.model import ClusterSnapshot, DesiredState, ObjectRef

log = logging.getLogger(__name__)

MAX_PER_CYCLE = 200


class StatusWriter:
    def __init__(self, api: KubeApi, find: Callable[[ObjectRef], JsonObject | None], vips: list[str]) -> None:
        self._api = api
        self._find = find
        self._wanted = [{"ip": vip} for vip in vips]
        self._failing: set[ObjectRef] = set()

    async def update(self, desired: DesiredState | None, snapshot: ClusterSnapshot | None) -> None:
        if desired is None or snapshot is None:
            return
        written = 0
        for ref in published_sources(desired, snapshot):
            obj = self._find(ref)
            if obj is None or _ingress_status(obj) == self._wanted:
                continue
            if written == MAX_PER_CYCLE:
                log.info("status: %d objects written this cycle; the rest follow next cycle", written)
                return
            written += await self._patch(ref)

    async def _patch(self, ref: ObjectRef) -> int:
        path = RESOURCES[ref.kind].path(ref.namespace, ref.name, "status")
        try:
            await self._api.merge_patch(path, {"status": {"loadBalancer": {"ingress": self._wanted}}})
        except KubeError as exc:
            if ref not in self._failing:
                log.warning("status: cannot write the VIPs into %s: %s", ref, exc)
            self._failing.add(ref)
            return 0
        self._failing.discard(ref)
        return 1


def published_sources(desired: DesiredState, snapshot: ClusterSnapshot) -> list[ObjectRef]:
    """Objects with at least one host that was not rejected, in a stable order."""
    rejected = {(rejection.source, rejection.host) for rejection in desired.rejections}
    refs = {claim.source for claim in snapshot.hosts if (claim.source, claim.host) not in rejected}
    return sorted(refs, key=lambda ref: (ref.kind, ref.namespace, ref.name))


def _ingress_status(obj: JsonObject) -> Any:
    status = obj.get("status")
    balancer = status.get("loadBalancer") if isinstance(status, dict) else None
    return balancer.get("ingress") if isinstance(balancer, dict) else None
