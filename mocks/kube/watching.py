"""Watch streams: one ``Watcher`` per open ``?watch=true`` request, fed synchronously by the store.

Design: the store calls ``Watcher.offer`` inside every write, so a watcher's queue holds
events in resourceVersion order and no write ever waits for a reader. The queue is bounded
(``limit``): a watcher that falls that far behind is closed, as the real server's cacher
closes unresponsive watchers — the client must re-watch from its last RV. Selectors are
applied per event the way the cacher filters: an object that starts matching arrives as
ADDED, one that stops matching as DELETED (carrying the new, non-matching object).

``stream`` writes one JSON object per line on a chunked response. It ends the stream
cleanly on ``timeoutSeconds`` (or the server's cap) and on shutdown; ``drop``, an outage and
queue overflow cut the connection instead, the way a network failure or a killed apiserver
would; ``expire`` sends the 410 ERROR event a compaction produces and then ends cleanly.
BOOKMARK events are sent only when the queue is empty, so their RV never runs ahead of an
event the watcher has not received yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web

from mocks.kube.resources import Resource
from mocks.kube.store import StoredEvent

Obj = dict[str, Any]
Ending = Literal["timeout", "shutdown", "drop", "overflow", "expire", "kind-removed"]
CLEAN_ENDINGS = frozenset({"timeout", "shutdown", "kind-removed"})


def expired_status(wanted: int | str, oldest: int) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: {wanted} ({oldest})",
        "reason": "Expired",
        "code": 410,
    }


class Watcher:
    def __init__(self, resource: Resource, namespace: str | None, match: Callable[[Obj], bool], *, limit: int) -> None:
        self.resource = resource
        self.namespace = namespace
        self.match = match
        self.limit = limit
        self.ending: Ending | None = None
        self.expired: tuple[int | str, int] = (0, 0)  # (wanted RV, oldest kept RV) for the 410 event
        self._items: deque[tuple[str, Obj]] = deque()
        self._wake = asyncio.Event()

    def preload(self, items: list[tuple[str, Obj]]) -> None:
        """Initial ADDED events or replayed history: not counted against ``limit``."""
        self._items.extend(items)
        self._wake.set()

    def translate(self, event: StoredEvent) -> tuple[str, Obj] | None:
        """The event as this watcher sees it, after the namespace and selector filters."""
        if event.key != self.resource.key:
            return None
        if self.namespace is not None and event.obj["metadata"].get("namespace") != self.namespace:
            return None
        now = self.match(event.obj)
        was = event.old is not None and event.type == "MODIFIED" and self.match(event.old)
        if event.type == "MODIFIED" and now != was:
            return ("ADDED" if now else "DELETED", event.obj)
        return (event.type, event.obj) if now else None

    def offer(self, event: StoredEvent) -> None:
        if self.ending is not None:
            return
        item = self.translate(event)
        if item is None:
            return
        if len(self._items) >= self.limit:
            self.finish("overflow")
            return
        self._items.append(item)
        self._wake.set()

    def finish(self, ending: Ending, *, expired: tuple[int | str, int] = (0, 0)) -> None:
        if self.ending is None:
            self.ending = ending
            self.expired = expired
            self._wake.set()

    def pending(self) -> bool:
        return bool(self._items)

    async def next(self, wait: float) -> tuple[str, Obj] | None:
        """The next event; ``None`` on timeout or when the watch is ending."""
        while not self._items and self.ending is None:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(wait, 0))
            except TimeoutError:
                return None
        if self.ending is not None and self.ending not in CLEAN_ENDINGS | {"expire"}:
            return None
        return self._items.popleft() if self._items else None


def _line(event_type: str, obj: Obj) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def bookmark(resource: Resource, rv: int) -> bytes:
    obj = {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": {"resourceVersion": str(rv)}}
    return _line("BOOKMARK", obj)


async def stream(
    request: web.Request,
    watcher: Watcher,
    *,
    present: Callable[[Obj], Obj],
    current_rv: Callable[[], int],
    lifetime: float,
    bookmark_interval: float | None,
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    loop_time = time.monotonic
    deadline = loop_time() + lifetime
    next_bookmark = loop_time() + bookmark_interval if bookmark_interval else float("inf")
    while watcher.ending is None or (watcher.ending == "expire" and watcher.pending()):
        item = await watcher.next(min(deadline, next_bookmark) - loop_time())
        if item is not None:
            await response.write(_line(item[0], present(item[1])))
        elif watcher.ending is None and loop_time() >= deadline:
            watcher.finish("timeout")
        elif watcher.ending is None and loop_time() >= next_bookmark and not watcher.pending():
            await response.write(bookmark(watcher.resource, current_rv()))
            next_bookmark = loop_time() + (bookmark_interval or 0)
    return await _end(request, response, watcher)


async def _end(request: web.Request, response: web.StreamResponse, watcher: Watcher) -> web.StreamResponse:
    if watcher.ending == "expire":
        await response.write(_line("ERROR", expired_status(*watcher.expired)))
    if watcher.ending not in CLEAN_ENDINGS | {"expire"} and request.transport is not None:
        request.transport.close()  # no terminating chunk: the client sees a broken stream
    return response


class Watchers:
    """The open watches of one server, for fan-out from the store and for the test controls."""

    def __init__(self) -> None:
        self._open: dict[Watcher, web.Request] = {}
        self._none_open = asyncio.Event()
        self._none_open.set()

    def add(self, watcher: Watcher, request: web.Request) -> None:
        self._open[watcher] = request
        self._none_open.clear()

    def discard(self, watcher: Watcher) -> None:
        self._open.pop(watcher, None)
        if not self._open:
            self._none_open.set()

    def __len__(self) -> int:
        return len(self._open)

    def offer(self, event: StoredEvent) -> None:
        for watcher in list(self._open):
            watcher.offer(event)

    def finish_all(self, ending: Ending, *, where: Callable[[Watcher], bool] = lambda _: True, oldest: int = 0) -> None:
        for watcher in list(self._open):
            if where(watcher):
                watcher.finish(ending, expired=(oldest, oldest))

    async def settle(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for finished streams to end, then cut the stragglers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_open.wait(), grace)
        for request in list(self._open.values()):
            if request.transport is not None:
                request.transport.close()
