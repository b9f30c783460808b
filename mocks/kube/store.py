"""Objects, the global resourceVersion counter, and the watch event history.

Like etcd behind the real API server, every write anywhere bumps one global counter and the
written object carries the new value as ``metadata.resourceVersion``. Each write is also
appended to a bounded history and handed, synchronously and in order, to every subscribed
watcher — so watchers see events in resourceVersion order, and a watch started "from RV N"
replays the history after N. History older than ``compacted`` is gone (automatically past
``history_limit`` events, or on demand with ``compact()``): a resume from before it must
fail with 410 Expired, which is what makes a client's relist path testable.

Lists read each kind in (namespace, name) order, one page at a time. So that a page costs the
page and not the kind (a 50,000-object list is 100 pages), each kind's keys are kept sorted once
they have been read in order: built at the first ordered read, then kept up to date by every
create and delete; a page or a namespace is found by bisection.

The store holds no rules: existence checks, validation and defaulting live in ``cluster.py``.
It never awaits, so within one event loop every method is atomic.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mocks.kube.resources import StorageKey

Obj = dict[str, Any]
ObjectKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


def _namespace_of(object_key: ObjectKey) -> str:
    return object_key[0]


@dataclass(frozen=True)
class StoredEvent:
    rv: int
    type: str  # ADDED, MODIFIED or DELETED
    key: StorageKey
    obj: Obj  # the object after the write (for DELETED: its final state, with the deletion's RV)
    old: Obj | None  # before the write (None for ADDED)


Listener = Callable[[StoredEvent], None]


class Store:
    def __init__(self, *, history_limit: int = 10_000, first_rv: int = 1000) -> None:
        self.rv = first_rv
        self.compacted = first_rv  # resumes from an RV below this are Expired
        self._objects: dict[StorageKey, dict[ObjectKey, Obj]] = {}
        self._order: dict[StorageKey, list[ObjectKey]] = {}  # a kind's keys, sorted, once read in order
        self._history: deque[StoredEvent] = deque()
        self._history_limit = history_limit
        self._listeners: list[Listener] = []

    # Reads: stored records are returned as deep copies, so no caller can change history.

    def get(self, key: StorageKey, namespace: str, name: str) -> Obj | None:
        found = self._objects.get(key, {}).get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def items(self, key: StorageKey, namespace: str | None = None) -> list[Obj]:
        """Objects of one kind sorted by namespace then name; ``namespace=None`` means all."""
        return [copy.deepcopy(obj) for obj in self.scan(key, namespace)]

    def view(self, key: StorageKey, namespace: str | None = None) -> list[Obj]:
        """Like ``items`` but the stored objects themselves: read them, serialise them at once,
        never keep or change them."""
        return list(self.scan(key, namespace))

    def scan(self, key: StorageKey, namespace: str | None = None, after: ObjectKey | None = None) -> Iterator[Obj]:
        """The stored objects of ``items``, lazily, only those whose key sorts after ``after``: a
        list reads one page and stops. Finish with it before writing to the store."""
        objects = self._objects.get(key, {})
        order, start, end = self._span(key, namespace, after)
        return (objects[order[index]] for index in range(start, end))

    def count(self, key: StorageKey, namespace: str | None = None, after: ObjectKey | None = None) -> int:
        """How many objects ``scan`` would give, without reading them."""
        _, start, end = self._span(key, namespace, after)
        return max(end - start, 0)

    def _span(
        self, key: StorageKey, namespace: str | None, after: ObjectKey | None
    ) -> tuple[list[ObjectKey], int, int]:
        """The kind's sorted keys and the index range of ``namespace``'s keys after ``after``."""
        order = self._order.get(key)
        if order is None:
            order = self._order[key] = sorted(self._objects.get(key, {}))
        start, end = 0, len(order)
        if namespace is not None:
            start = bisect_left(order, namespace, key=_namespace_of)
            end = bisect_right(order, namespace, key=_namespace_of)
        if after is not None:
            start = max(start, bisect_right(order, after))
        return order, start, end

    def kinds(self) -> list[StorageKey]:
        return list(self._objects)

    def history_since(self, rv: int, key: StorageKey) -> list[StoredEvent]:
        return [event for event in self._history if event.rv > rv and event.key == key]

    # Writes: each one bumps the counter, records an event and tells the listeners.

    def put(self, key: StorageKey, obj: Obj) -> Obj:
        """Create or update ``obj`` (identified by its metadata); returns the stored copy."""
        meta = obj["metadata"]
        object_key = (meta.get("namespace", ""), meta["name"])
        objects = self._objects.setdefault(key, {})
        old = objects.get(object_key)
        stored = self._stamp(copy.deepcopy(obj))
        objects[object_key] = stored
        if old is None and (order := self._order.get(key)) is not None:
            insort(order, object_key)
        self._record(StoredEvent(self.rv, "MODIFIED" if old else "ADDED", key, stored, old))
        return copy.deepcopy(stored)

    def remove(self, key: StorageKey, namespace: str, name: str) -> Obj:
        old = self._objects[key].pop((namespace, name))
        if (order := self._order.get(key)) is not None:
            del order[bisect_left(order, (namespace, name))]
        final = self._stamp(copy.deepcopy(old))
        self._record(StoredEvent(self.rv, "DELETED", key, final, old))
        return copy.deepcopy(final)

    def _stamp(self, obj: Obj) -> Obj:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        return obj

    def _record(self, event: StoredEvent) -> None:
        self._history.append(event)
        while len(self._history) > self._history_limit:
            self.compacted = self._history.popleft().rv
        for listener in list(self._listeners):
            listener(event)

    # History and subscriptions.

    def compact(self) -> None:
        """Forget every event so far: resuming from any RV below the current one is Expired."""
        self._history.clear()
        self.compacted = self.rv

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
