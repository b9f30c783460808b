"""The watch cache: what every list+watch feed has seen, and the ClusterSnapshot it adds up to.

Watchers write here; the reconciler reads a snapshot. A change only bumps a generation and
calls ``on_change`` (which wakes the loop): nothing is decided per event, so a missed or
repeated event costs a cycle, never a wrong state (level-triggered).

Completeness is what protects the ADC. The view is complete only when every feed has
listed at least once and none is *stale*. A feed goes stale when its list or watch fails
(API outage, a dropped stream that cannot be resumed): its last objects are kept and still
count, so nothing is withdrawn from the ADC because the API server hiccupped, but the
snapshot says incomplete, which forbids deletions and makes the bridge unready until the
feed lists or watches again. A feed whose kind is not installed (a missing VirtualServer
CRD) counts as listed and empty: absence of the CRD is a fact, not an unknown.

Objects are stored trimmed of ``managedFields``, ``kubectl``'s last-applied annotation and
a Node's image list (each often larger than the rest of the object), and stamped with kind and apiVersion, which list
items do not carry.

Each object is read when its event arrives, into an ``objects.ClusterView`` (its host claims, its
node facts...), so a cycle assembles the snapshot from what each object contributes instead of
reading 10,000 Ingresses again; the assembly is skipped when nothing changed since the last one.
The view follows the same rules as ``objects.snapshot_from`` and equals it on the same objects
(tests/test_cluster_view.py). An object the view cannot take as it is (one ``snapshot_from`` would
report by its position in the list, or ignore, or find twice: never from a real API server) sends
the snapshot back to ``snapshot_from`` over every object until it is gone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from adcbridge.config import KicSettings, Settings
from adcbridge.k8s.objects import READ_ORDER, ClusterView, ref_to_read, snapshot_from
from adcbridge.model import ClusterSnapshot, ObjectRef

JsonObject = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass
class Feed:
    """The objects of one list+watch stream (one kind, in one namespace or all)."""

    name: str  # for messages: "Ingresses in all namespaces"
    kind: str
    api_version: str
    objects: dict[tuple[str, str], JsonObject] = field(default_factory=dict)
    refs: dict[tuple[str, str], ObjectRef | None] = field(default_factory=dict)  # None: not in the view
    listed: bool = False
    absent: bool = False  # the kind is not installed on the API server
    stale_since: float | None = None
    stale_reason: str = ""

    @property
    def settled(self) -> bool:
        return (self.listed or self.absent) and self.stale_since is None


class WatchCache:
    def __init__(
        self,
        on_change: Callable[[], None] = lambda: None,
        *,
        clock: Callable[[], float] = time.time,
        kic: KicSettings | None = None,
    ) -> None:
        self.feeds: list[Feed] = []
        self._on_change = on_change
        self._clock = clock
        self._generation = 0
        self._built: tuple[int, ClusterSnapshot] | None = None
        self._view = ClusterView(kic or KicSettings())
        self.full_reads = 0  # snapshots for which every object was read again, not the view's (tests)

    def add_feed(self, name: str, *, kind: str, api_version: str) -> Feed:
        feed = Feed(name, kind, api_version)
        self.feeds.append(feed)
        return feed

    # ------------------------------------------------------------------ written by watchers

    def replace(self, feed: Feed, items: Iterable[JsonObject]) -> None:
        """A fresh list: the feed holds exactly these objects now."""
        objects = {_key(item): _stored(item, feed) for item in items}
        changed = objects != feed.objects or not feed.listed or feed.absent
        for key in feed.objects.keys() - objects.keys():
            self._forget(feed, key)
        for key, obj in objects.items():
            if feed.objects.get(key) != obj or key not in feed.refs:
                self._learn(feed, key, obj)
        feed.objects, feed.listed, feed.absent = objects, True, False
        self.mark_fresh(feed, changed=changed)

    def apply(self, feed: Feed, event_type: str, obj: JsonObject) -> None:
        """One watch event (ADDED, MODIFIED or DELETED)."""
        key = _key(obj)
        if event_type == "DELETED":
            if feed.objects.pop(key, None) is None:
                return
            self._forget(feed, key)
        else:
            feed.objects[key] = _stored(obj, feed)
            self._learn(feed, key, feed.objects[key])
        self._changed()

    def mark_absent(self, feed: Feed) -> None:
        changed = not feed.absent or bool(feed.objects) or feed.stale_since is not None
        for key in list(feed.refs):
            self._forget(feed, key)
        feed.objects, feed.listed, feed.absent = {}, False, True
        feed.stale_since, feed.stale_reason = None, ""
        if changed:
            self._changed()

    def _learn(self, feed: Feed, key: tuple[str, str], obj: JsonObject) -> None:
        """Read the object into the view now, as its event arrives."""
        ref = ref_to_read(obj)
        previous = feed.refs.get(key)
        if previous is not None and previous != ref:
            self._view.remove(previous)
        feed.refs[key] = ref
        if ref is not None:
            self._view.put(ref, obj)

    def _forget(self, feed: Feed, key: tuple[str, str]) -> None:
        ref = feed.refs.pop(key, None)
        if ref is not None:
            self._view.remove(ref)

    def mark_stale(self, feed: Feed, reason: str) -> None:
        first = feed.stale_since is None
        if first:
            feed.stale_since = self._clock()
        if first or feed.stale_reason != reason:
            feed.stale_reason = reason
            self._changed()

    def mark_fresh(self, feed: Feed, *, changed: bool = False) -> None:
        if feed.stale_since is not None:
            feed.stale_since, feed.stale_reason = None, ""
            changed = True
        if changed:
            self._changed()

    def _changed(self) -> None:
        self._generation += 1
        self._on_change()

    # ------------------------------------------------------------------ read by the reconciler

    @property
    def synced(self) -> bool:
        """Every feed has listed once (or found its kind absent) and none is stale."""
        return all(feed.settled for feed in self.feeds)

    def snapshot(self, settings: Settings) -> ClusterSnapshot:
        now = self._clock()
        if self._built is None or self._built[0] != self._generation:
            self._built = (self._generation, self._build(settings, now))
        return dataclasses.replace(self._built[1], taken_at=now)

    def _build(self, settings: Settings, now: float) -> ClusterSnapshot:
        built = self._assembled(settings, now)
        stale = tuple(_stale_problem(feed) for feed in self.feeds if feed.stale_since is not None)
        unlisted = tuple(f"{feed.name}: not listed yet" for feed in self.feeds if not (feed.listed or feed.absent))
        return dataclasses.replace(built, problems=built.problems + stale + unlisted)

    def _assembled(self, settings: Settings, now: float) -> ClusterSnapshot:
        """The view's snapshot; ``snapshot_from`` over every object while the view cannot stand for it."""
        refs = [ref for feed in self.feeds for ref in feed.refs.values()]
        if self._view.kic != settings.kic or len(self._view) != len(refs) - refs.count(None):
            self.full_reads += 1
            self._view = self._rebuilt(settings.kic)  # other settings, or an object twice that is now once
        if None in refs or len(self._view) != len(refs):
            self.full_reads += 1
            return snapshot_from(self._objects(), settings, taken_at=now, complete=self.synced)
        return self._view.snapshot(taken_at=now, complete=self.synced)

    def _rebuilt(self, kic: KicSettings) -> ClusterView:
        view = ClusterView(kic)
        for kind in READ_ORDER:
            for feed in self.feeds:
                for key, ref in feed.refs.items():
                    if ref is not None and ref.kind == kind:
                        view.put(ref, feed.objects[key])
        return view

    def _objects(self) -> Iterator[JsonObject]:
        for feed in self.feeds:
            yield from feed.objects.values()

    def find(self, ref: ObjectRef) -> JsonObject | None:
        """The stored object ``ref`` names (for Events and status writes), if any feed holds it."""
        for feed in self.feeds:
            if feed.kind == ref.kind and (obj := feed.objects.get((ref.namespace, ref.name))) is not None:
                return obj
        return None


def _stale_problem(feed: Feed) -> str:
    since = time.strftime("%H:%M:%S", time.localtime(feed.stale_since or 0))
    return f"{feed.name}: Kubernetes API failing since {since} ({feed.stale_reason}); using the last view"


def _key(obj: JsonObject) -> tuple[str, str]:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    namespace, name = metadata.get("namespace"), metadata.get("name")
    return (namespace if isinstance(namespace, str) else "", name if isinstance(name, str) else "")


def _stored(obj: JsonObject, feed: Feed) -> JsonObject:
    """The object as kept: kind and apiVersion stamped, bulky bookkeeping dropped (in place: it is ours)."""
    obj.setdefault("kind", feed.kind)
    obj.setdefault("apiVersion", feed.api_version)
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
    status = obj.get("status")
    if feed.kind == "Node" and isinstance(status, dict):
        status.pop("images", None)  # every image on the node: the bulk of a Node, never read
    return obj
