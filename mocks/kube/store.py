"""Objects, the global resourceVersion counter, and the watch event history.

Like etcd behind the real API server, every write anywhere bumps one global counter and the
written object carries the new value as ``metadata.resourceVersion``. Each write is also
appended to a bounded history and handed, synchronously and in order, to every subscribed
watcher — so watchers see events in resourceVersion order, and a watch started "from RV N"
replays the history after N. History older than ``compacted`` is gone (automatically past
``history_limit`` events, or on demand with ``compact()``): a resume from before it must
fail with 410 Expired, which is what makes a client's relist path testable.

The store holds no rules: existence checks, validation and defaulting live in ``cluster.py``.
It never awaits, so within one event loop every method is atomic.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mocks.kube.resources import StorageKey

Obj = dict[str, Any]
ObjectKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


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
        self._history: deque[StoredEvent] = deque()
        self._history_limit = history_limit
        self._listeners: list[Listener] = []

    # Reads: stored records are returned as deep copies, so no caller can change history.

    def get(self, key: StorageKey, namespace: str, name: str) -> Obj | None:
        found = self._objects.get(key, {}).get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def items(self, key: StorageKey, namespace: str | None = None) -> list[Obj]:
        """Objects of one kind sorted by namespace then name; ``namespace=None`` means all."""
        objects = self._objects.get(key, {})
        keys = sorted(k for k in objects if namespace is None or k[0] == namespace)
        return [copy.deepcopy(objects[k]) for k in keys]

    def view(self, key: StorageKey, namespace: str | None = None) -> list[Obj]:
        """Like ``items`` but the stored objects themselves: read them, serialise them at once,
        never keep or change them. Lists use it, so a page costs no copy of the whole kind."""
        objects = self._objects.get(key, {})
        return [objects[k] for k in sorted(k for k in objects if namespace is None or k[0] == namespace)]

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
        self._record(StoredEvent(self.rv, "MODIFIED" if old else "ADDED", key, stored, old))
        return copy.deepcopy(stored)

    def remove(self, key: StorageKey, namespace: str, name: str) -> Obj:
        old = self._objects[key].pop((namespace, name))
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
