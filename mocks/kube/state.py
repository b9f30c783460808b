"""``KubeState``: everything one fake API server holds, shared by the handlers and the controls.

Kept apart from ``server.py`` so that ``api.py`` and ``controls.py`` can reach it without
importing the class that starts them. Knobs that tests turn at run time live here too:
the bookmark interval, a cap on watch durations, the watch queue bound, an outage, whether
requests are authorized, and the issued tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from mocks.kube.attributes import Attributes
from mocks.kube.cluster import Cluster
from mocks.kube.identities import Tokens
from mocks.kube.resources import Registry
from mocks.kube.store import Store
from mocks.kube.watching import Watchers


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    verb: str = "other"  # list, watch, get, create, update, patch, delete, deletecollection, discovery, other
    status: int | None = None  # None while a watch stream is still open
    user: str = ""  # who the token is; "" when authorization is off or the token was refused
    allowed: bool | None = None  # None: not decided (authorization off, or an outage answered first)
    reason: str = ""  # allowed: the audit reason naming binding and role; denied: roles found missing
    grant: dict[str, Any] | None = None  # allowed by RBAC: binding, role and rule index
    api_group: str = ""
    resource: str = ""  # "" for a non-resource request (discovery, /version)
    subresource: str = ""
    namespace: str = ""
    name: str = ""  # a list/watch with fieldSelector metadata.name=X has name X

    def as_dict(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True)
class Outage:
    """Which API requests an outage answers with ``status``: every one, or only those of the
    listed ``resources`` (``nodes``, ``ingresses.networking.k8s.io``: plural, then the group
    unless core) and ``verbs`` (``list``, ``watch``, ``get``, ``create``…). A scoped outage
    lets a test break what one client reads while the cluster keeps changing, as when one
    kind's lists fail (a conversion webhook down) or reads time out while writes go through."""

    status: int
    resources: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()

    def covers(self, attrs: Attributes) -> bool:
        if self.verbs and attrs.verb not in self.verbs:
            return False
        if not self.resources:
            return True
        qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
        return attrs.resource_request and qualified in self.resources

    def covers_watch(self, group: str, plural: str) -> bool:
        return self.covers(Attributes("watch", "", True, group, "", plural))

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "resources": sorted(self.resources), "verbs": sorted(self.verbs)}


@dataclass
class KubeState:
    bookmark_interval: float = 1.0
    watch_timeout_cap: float | None = None
    default_watch_timeout: float = 1800.0
    watch_queue_limit: int = 1000
    history_limit: int = 10_000
    outage: Outage | None = None
    authorize: bool = False
    tokens: Tokens = field(default_factory=Tokens)
    store: Store = field(init=False)
    registry: Registry = field(default_factory=Registry)
    cluster: Cluster = field(init=False)
    watchers: Watchers = field(default_factory=Watchers)
    requests: list[RequestRecord] = field(default_factory=list)
    server_address: str = ""

    def __post_init__(self) -> None:
        self.store = Store(history_limit=self.history_limit)
        self.store.subscribe(self.watchers.offer)
        self.cluster = Cluster(self.store, self.registry)
        self.cluster.on_kind_removed = lambda key: self.watchers.finish_all(
            "kind-removed", where=lambda watcher: watcher.resource.key == key
        )

    def compact(self, *, end_watches: bool = False) -> None:
        self.store.compact()
        if end_watches:
            self.watchers.finish_all("expire", oldest=self.store.compacted)

    def drop_watches(self) -> int:
        dropped = len(self.watchers)
        self.watchers.finish_all("drop")
        return dropped

    def set_outage(self, status: int | None, *, resources: Iterable[str] = (), verbs: Iterable[str] = ()) -> None:
        """Start an outage (open watches it covers are cut), or end it with ``None``."""
        if status is None:
            self.outage = None
            return
        outage = Outage(status, frozenset(resources), frozenset(verbs))
        self.outage = outage
        self.watchers.finish_all("drop", where=lambda w: outage.covers_watch(w.resource.group, w.resource.plural))

    def watch_timeout(self, asked: float | None) -> float:
        timeout = asked if asked is not None else self.default_watch_timeout
        return min(timeout, self.watch_timeout_cap) if self.watch_timeout_cap is not None else timeout

    def stats(self) -> dict[str, int]:
        return dict(Counter(record.verb for record in self.requests))
