"""The live cluster source: one watcher per feed, one cache, snapshots for the reconciler.

What is watched, and how narrowly (each list and watch asks the API server for no more
than the bridge reads):

- the KIC Service, by name in its namespace, and its EndpointSlices by the
  ``kubernetes.io/service-name`` label (for ``externalTrafficPolicy: Local``);
- every Node (the member selector is applied later, so a node that loses its label drains
  like any other leaving node instead of vanishing);
- our IngressClass, by name (is it the cluster default?);
- Ingresses and VirtualServers in ``kube.namespaces`` (all when empty) carrying
  ``kube.label_selector``. VirtualServers are optional: without their CRD there are none.

``snapshot()`` waits (up to ``kube.request_timeout``) for every feed to list once, so the
first cycle does not see a half-listed cluster; after that it never waits. It implements
the reconciler's ``SnapshotSource``. Use it as an async context manager: the watchers run
between enter and exit and are cancelled on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adcbridge.config import Settings
from adcbridge.k8s.api import JsonObject, KubeApi, Resource
from adcbridge.k8s.cache import WatchCache
from adcbridge.k8s.objects import SERVICE_NAME_LABEL
from adcbridge.k8s.watching import Stream, Watcher
from adcbridge.model import ClusterSnapshot, ObjectRef

log = logging.getLogger(__name__)

SERVICES = Resource("Service", "v1", "services", namespaced=True)
NODES = Resource("Node", "v1", "nodes", namespaced=False)
ENDPOINT_SLICES = Resource("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", namespaced=True)
INGRESSES = Resource("Ingress", "networking.k8s.io/v1", "ingresses", namespaced=True)
INGRESS_CLASSES = Resource("IngressClass", "networking.k8s.io/v1", "ingressclasses", namespaced=False)
VIRTUAL_SERVERS = Resource("VirtualServer", "k8s.njet.org/v1", "virtualservers", namespaced=True)
RESOURCES = {r.kind: r for r in (SERVICES, NODES, ENDPOINT_SLICES, INGRESSES, INGRESS_CLASSES, VIRTUAL_SERVERS)}


def streams(settings: Settings) -> list[Stream]:
    """Every list+watch the bridge needs, from its settings."""
    kic, kube = settings.kic, settings.kube
    fixed = [
        Stream(SERVICES, kic.namespace, field_selector=f"metadata.name={kic.service}"),
        Stream(ENDPOINT_SLICES, kic.namespace, label_selector=f"{SERVICE_NAME_LABEL}={kic.service}"),
        Stream(NODES),
        Stream(INGRESS_CLASSES, field_selector=f"metadata.name={kic.ingress_class}"),
    ]
    namespaces = kube.namespaces or [""]
    ingresses = [Stream(INGRESSES, namespace, label_selector=kube.label_selector) for namespace in namespaces]
    virtual_servers = [
        Stream(VIRTUAL_SERVERS, namespace, label_selector=kube.label_selector, optional=True)
        for namespace in namespaces
    ]
    return fixed + ingresses + virtual_servers


class ClusterSource:
    def __init__(self, api: KubeApi, settings: Settings) -> None:
        self._settings = settings
        self._changed = asyncio.Event()
        self._synced = asyncio.Event()
        self.cache = WatchCache(self._on_change, kic=settings.kic)
        self.watchers = [Watcher(api, stream, self.cache, settings.kube) for stream in streams(settings)]
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> ClusterSource:
        self._tasks = [
            asyncio.create_task(watcher.run(), name=f"watch {watcher.feed.name}") for watcher in self.watchers
        ]
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _on_change(self) -> None:
        self._changed.set()
        if self.cache.synced:
            self._synced.set()

    async def wait_synced(self, seconds: float) -> bool:
        """True once every feed has listed; False if that took longer than ``seconds``."""
        try:
            await asyncio.wait_for(self._synced.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def snapshot(self) -> ClusterSnapshot:
        if not self._synced.is_set() and not await self.wait_synced(self._settings.kube.request_timeout):
            log.warning("the cluster view is not complete yet: %s", ", ".join(self.unsettled()))
        self._changed.clear()  # what changes from now on wakes the next cycle
        return self.cache.snapshot(self._settings)

    async def wait_for_change(self) -> None:
        await self._changed.wait()
        self._changed.clear()

    def unsettled(self) -> list[str]:
        return [feed.name for feed in self.cache.feeds if not feed.settled]

    def find(self, ref: ObjectRef) -> JsonObject | None:
        return self.cache.find(ref)
