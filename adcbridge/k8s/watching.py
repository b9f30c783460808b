"""One feed's list+watch loop: list, watch from the list's resourceVersion, and recover.

Recovery, one concern per branch:

- The server ends a watch (its ``timeoutSeconds``): watch again from the last
  resourceVersion seen, an event's or a bookmark's. Nothing is listed again.
- 410 Gone (the version was compacted, for a watch or a list's continue token): list again
  at once. kubernetes_asyncio does not do this for us.
- A stream that ran for a while breaks (idle connection cut, API server restart): watch
  again at once from where it was, quietly.
- A watch or list fails (or a stream breaks again at once): the feed goes stale (its objects are kept and
  still count, but the view is incomplete: no deletions, not ready), and the watcher waits
  (exponential backoff with jitter, up to ``kube.max_backoff_seconds``) and then watches
  again from where it was; a 410 then leads to a list.
- 404 on an optional kind (no VirtualServer CRD installed): the kind is absent, logged
  once, and looked for again every ``kube.crd_retry_seconds``.
- Any other refusal (403 when RBAC is missing, say) is logged as an error and retried
  with backoff, so fixing RBAC needs no restart.

A watcher never ends on its own: even a bug in handling an event is logged, marks the feed
stale and is retried, because a feed that silently stopped would freeze the view.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from adcbridge.config import KubeSettings
from adcbridge.errors import KubeError, KubeExpired, KubeNotFound, KubeRejected, KubeUnavailable
from adcbridge.k8s.api import JsonObject, KubeApi, Resource, section
from adcbridge.k8s.cache import Feed, WatchCache

log = logging.getLogger(__name__)

EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED"})
FIRST_BACKOFF_SECONDS = 0.5
ROUTINE_AFTER_SECONDS = 1.0


@dataclass(frozen=True)
class Stream:
    """What one watcher lists and watches."""

    resource: Resource
    namespace: str = ""  # empty: all namespaces (or a cluster-scoped kind)
    label_selector: str = ""
    field_selector: str = ""
    optional: bool = False  # a custom resource whose CRD may be missing

    @property
    def path(self) -> str:
        return self.resource.path(self.namespace)

    @property
    def params(self) -> dict[str, str]:
        selectors = {"labelSelector": self.label_selector, "fieldSelector": self.field_selector}
        return {key: value for key, value in selectors.items() if value}

    @property
    def description(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        if not where and self.resource.namespaced:
            where = " in all namespaces"
        chosen = ", ".join(filter(None, (self.field_selector, self.label_selector)))
        return f"{self.resource.plural}{where}" + (f" ({chosen})" if chosen else "")


class Watcher:
    def __init__(self, api: KubeApi, stream: Stream, cache: WatchCache, settings: KubeSettings) -> None:
        self._api = api
        self._stream = stream
        self._cache = cache
        self._settings = settings
        self.feed: Feed = cache.add_feed(
            stream.description, kind=stream.resource.kind, api_version=stream.resource.api_version
        )
        self.lists = 0  # how many times it listed (tests and logs)
        self._opened_at: float | None = None  # when the current watch was accepted

    async def run(self) -> None:
        version, failures = "", 0
        while True:
            try:
                if not version:
                    version = await self._list()
                version = await self._watch(version)
                failures = 0
            except KubeExpired as exc:
                log.info("%s: %s; listing again", self.feed.name, exc)
                version = ""
            except KubeNotFound as exc:
                version = ""
                if self._stream.optional:
                    await self._absent()
                    continue
                failures += 1
                await self._failed(exc, failures)
            except KubeError as exc:
                if self._routine_drop():
                    log.info("%s: %s; watching again", self.feed.name, exc)
                    continue
                failures += 1
                await self._failed(exc, failures)
            except Exception as exc:  # a bug: never let a feed stop silently
                log.exception("%s: internal error while watching", self.feed.name)
                failures += 1
                version = ""
                await self._failed(exc, failures)

    async def _list(self) -> str:
        items: list[JsonObject] = []
        version, token = "", ""
        while True:
            params = {**self._stream.params, "limit": str(self._settings.page_size)}
            if token:
                params["continue"] = token
            page = await self._api.get(self._stream.path, params)
            items.extend(_items(page, self.feed.name))
            metadata = section(page, "metadata")
            version = version or str(metadata.get("resourceVersion") or "")
            token = str(metadata.get("continue") or "")
            if not token:
                break
        if not version:
            raise KubeUnavailable(f"{self.feed.name}: a list without a resourceVersion")
        self.lists += 1
        was_stale = self.feed.stale_since is not None
        self._cache.replace(self.feed, items)
        log.log(logging.INFO if was_stale else logging.DEBUG, "%s: listed %d", self.feed.name, len(items))
        return version

    async def _watch(self, version: str) -> str:
        self._opened_at = None
        params = {**self._stream.params, "resourceVersion": version}
        events = self._api.watch(self._stream.path, params, seconds=self._settings.watch_seconds, opened=self._opened)
        async for event in events:
            obj = event["object"]
            version = _resource_version(obj) or version
            kind = event.get("type")
            if kind in EVENT_TYPES:
                self._cache.apply(self.feed, str(kind), obj)
            elif kind != "BOOKMARK":
                log.debug("%s: ignored a watch event of type %r", self.feed.name, kind)
        return version

    def _opened(self) -> None:
        self._opened_at = time.monotonic()
        if self.feed.stale_since is not None:
            log.info("%s: watching again", self.feed.name)
        self._cache.mark_fresh(self.feed)

    def _routine_drop(self) -> bool:
        """A stream that broke after running a while (idle cuts, API server restarts): resume at
        once without calling the view stale. One that breaks at once is a failure like any other."""
        opened_at, self._opened_at = self._opened_at, None
        return opened_at is not None and time.monotonic() - opened_at >= ROUTINE_AFTER_SECONDS

    async def _absent(self) -> None:
        if not self.feed.absent:
            log.warning(
                "%s: the kind is not installed (no CRD for %s); counting none, looking again every %.0f s",
                self.feed.name,
                self._stream.resource.api_version,
                self._settings.crd_retry_seconds,
            )
        self._cache.mark_absent(self.feed)
        await asyncio.sleep(self._settings.crd_retry_seconds)

    async def _failed(self, exc: BaseException, failures: int) -> None:
        reason = str(exc) or type(exc).__name__
        level = logging.ERROR if isinstance(exc, KubeRejected) or failures == 3 else logging.WARNING
        if failures in {1, 3} or isinstance(exc, KubeRejected):
            log.log(level, "%s: %s; keeping the last view, retrying", self.feed.name, reason)
        self._cache.mark_stale(self.feed, reason)
        await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._settings.max_backoff_seconds, FIRST_BACKOFF_SECONDS * 2.0 ** min(failures - 1, 16))
        return ceiling * random.uniform(0.5, 1.0)


def _items(page: JsonObject, name: str) -> list[JsonObject]:
    items: Any = page.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise KubeUnavailable(f"{name}: a list answer whose items are not a list")
    kept = [item for item in items if isinstance(item, dict)]
    if len(kept) != len(items):
        log.warning("%s: skipped %d list items that are not objects", name, len(items) - len(kept))
    return kept


def _resource_version(obj: JsonObject) -> str:
    metadata = obj.get("metadata")
    version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
    return version if isinstance(version, str) else ""
