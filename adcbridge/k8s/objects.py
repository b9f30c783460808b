"""Kubernetes objects, as plain dicts, read into the cluster side of the model. Pure.

Why plain dicts: the offline snapshot file (YAML) and the live watch cache (JSON from the
API server) share these rules, so neither depends on typed client models. This module does
no I/O, imports neither ``kubernetes_asyncio`` nor ``yaml``, and does not validate or
normalise hostnames: hosts are passed on raw and ``adcbridge.hostnames`` judges them once.

Hostile input. A snapshot file is anyone's text, and Ingress fields are written by anyone
allowed to create an Ingress. Every field read is type-checked; an object that cannot be
read raises ``MalformedObject`` naming the field, and ``snapshot_from`` turns that into a
problem and skips the object. A skipped object is an unknown, not an absence, so a snapshot
that skipped one is *incomplete*: the bridge may then add and update on the ADC but never
delete, until the object is fixed. Objects of kinds the bridge does not read are ignored
unread, so a broken ConfigMap next to them costs nothing.

Rules, with the decisions taken where Kubernetes or the KIC leave room:

- Kinds are keyed by apiVersion and kind: ``v1`` Service and Node, ``discovery.k8s.io/v1``
  EndpointSlice, ``networking.k8s.io/v1`` Ingress and IngressClass, ``k8s.njet.org/v1``
  VirtualServer. The same kind from another API group (NGINX's ``k8s.nginx.org``
  VirtualServer, say) is someone else's and ignored; the same group in another version, or
  no apiVersion at all, is skipped as unreadable. A null field counts as absent (clients
  serialise unset fields either way). A namespaced object without a namespace is in
  ``default``, as kubectl would create it. The same object twice: the last one counts (as
  with ``kubectl apply``), reported as a problem.
- Class: an Ingress is ours when ``spec.ingressClassName`` names our class; failing that,
  when the legacy annotation ``kubernetes.io/ingress.class`` does; with neither set (an empty
  string counts as unset), when the IngressClass of our name is annotated
  ``ingressclass.kubernetes.io/is-default-class: "true"``. A VirtualServer likewise, by
  ``spec.ingressClassName`` or the default, without the legacy annotation.
- Hosts: an Ingress claims ``spec.rules[].host`` and ``spec.tls[].hosts``, a VirtualServer
  ``spec.host``; empty or absent hosts are skipped.
- Mergeable Ingresses (``njet.org.cn/mergeable-ingress-type``), across namespaces: a master
  claims its hosts like a regular Ingress; a minion claims none, and a minion of our class
  whose rule host has no master of our class is rejected as an orphan (so is a minion without
  a host). Any other value, the empty string included, is rejected and the Ingress claims
  nothing: the KIC's annotation validation rejects such an Ingress, and publishing a name the
  KIC does not serve would send clients to a 404. These are one tenant's mistakes, returned
  as ``rejections`` on the object (not ``problems``): they say nothing against the rest of
  the view.
- Endpoints: an endpoint is ready unless ``conditions.ready`` is false (absent means ready,
  per the EndpointSlice API); endpoints without ``nodeName`` count for no node. Slices are
  matched to the KIC Service by namespace and ``kubernetes.io/service-name``, whether or not
  the Service itself is in the snapshot.
- Service: a ``nodePort`` of 0 means unset (Go's ``omitempty``), like an absent one. A
  malformed KIC Service leaves ``service`` None, which makes the SLB objects unknown.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from adcbridge.config import KicSettings, Settings
from adcbridge.errors import excerpt
from adcbridge.model import (
    ClusterNode,
    ClusterSnapshot,
    HostClaim,
    KicService,
    ObjectRef,
    Rejection,
    RejectionCause,
    ServicePort,
)

Object = Mapping[str, Any]
T = TypeVar("T")

SERVICE = "Service"
NODE = "Node"
ENDPOINT_SLICE = "EndpointSlice"
INGRESS = "Ingress"
INGRESS_CLASS = "IngressClass"
VIRTUAL_SERVER = "VirtualServer"
API_VERSIONS = {
    SERVICE: "v1",
    NODE: "v1",
    ENDPOINT_SLICE: "discovery.k8s.io/v1",
    INGRESS: "networking.k8s.io/v1",
    INGRESS_CLASS: "networking.k8s.io/v1",
    VIRTUAL_SERVER: "k8s.njet.org/v1",
}
CLUSTER_SCOPED = frozenset({NODE, INGRESS_CLASS})

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
MERGEABLE_ANNOTATION = "njet.org.cn/mergeable-ingress-type"
MASTER, MINION = "master", "minion"
NOT_SERVED = "the KIC serves none of its paths"

# What the API server accepts as a namespace or an object name (a DNS-1123 subdomain).
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_ARTICLES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
}


class MalformedObject(ValueError):
    """An object that cannot be read; the message names the field and what is wrong with it."""


# ---------------------------------------------------------------------------- typed field access


def described(value: object) -> str:
    """What a value is, for messages: "a string", "an integer", "a mapping"..."""
    return _ARTICLES.get(type(value), f"a {type(value).__name__}")


def _typed(parent: Object, key: str, path: str, expected: type[T], default: T) -> T:
    """The field if it has the expected type; ``default`` if absent or null; else MalformedObject."""
    value = parent.get(key)
    if value is None:
        return default
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise MalformedObject(f"{path} is {described(value)}, not {_ARTICLES.get(expected, expected.__name__)}")
    return value


def _mapping(parent: Object, key: str, path: str) -> dict[str, Any]:
    return _typed(parent, key, path, dict, {})


def _string(parent: Object, key: str, path: str, default: str = "") -> str:
    return _typed(parent, key, path, str, default)


def _mappings(parent: Object, key: str, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The items of a list of mappings, each with its path for messages."""
    for index, item in enumerate(_typed(parent, key, path, list, [])):
        if not isinstance(item, dict):
            raise MalformedObject(f"{path}[{index}] is {described(item)}, not a mapping")
        yield f"{path}[{index}]", item


def _strings(parent: Object, key: str, path: str) -> list[str]:
    strings = _typed(parent, key, path, list, [])
    if not all(isinstance(item, str) for item in strings):
        raise MalformedObject(f"{path} is not a list of strings")
    return strings


def _string_map(parent: Object, key: str, path: str) -> dict[str, str]:
    """Labels or annotations: strings to strings, as the API server insists."""
    mapping = _mapping(parent, key, path)
    if not all(isinstance(name, str) and isinstance(value, str) for name, value in mapping.items()):
        raise MalformedObject(f"{path} must map strings to strings (quote values such as true or 1)")
    return dict(mapping)


def _labels(obj: Object) -> dict[str, str]:
    return _string_map(_mapping(obj, "metadata", "metadata"), "labels", "metadata.labels")


def _annotations(obj: Object) -> dict[str, str]:
    return _string_map(_mapping(obj, "metadata", "metadata"), "annotations", "metadata.annotations")


# ---------------------------------------------------------------------------- single objects


def ref_of(obj: Object) -> ObjectRef:
    """Kind, namespace (empty for cluster-scoped kinds) and name of an object."""
    kind = _string(obj, "kind", "kind")
    metadata = _mapping(obj, "metadata", "metadata")
    name = _string(metadata, "name", "metadata.name")
    if not name:
        raise MalformedObject("metadata.name is missing")
    if not _NAME.fullmatch(name):
        raise MalformedObject("metadata.name is not a Kubernetes object name")
    namespace = "" if kind in CLUSTER_SCOPED else _string(metadata, "namespace", "metadata.namespace") or "default"
    if namespace and not _NAME.fullmatch(namespace):
        raise MalformedObject("metadata.namespace is not a Kubernetes namespace name")
    return ObjectRef(kind, namespace, name)


def service_from(obj: Object) -> KicService:
    """A Service's type, ports and external traffic policy."""
    ref = ref_of(obj)
    spec = _mapping(obj, "spec", "spec")
    ports = tuple(_service_port(port, path) for path, port in _mappings(spec, "ports", "spec.ports"))
    return KicService(
        namespace=ref.namespace,
        name=ref.name,
        type=_string(spec, "type", "spec.type", "ClusterIP"),
        ports=ports,
        external_traffic_policy=_string(spec, "externalTrafficPolicy", "spec.externalTrafficPolicy", "Cluster"),
    )


def _service_port(port: Object, path: str) -> ServicePort:
    number = _port_number(port, "port", f"{path}.port")
    if not number:
        raise MalformedObject(f"{path}.port is missing")
    return ServicePort(
        name=_string(port, "name", f"{path}.name"),
        protocol=_string(port, "protocol", f"{path}.protocol", "TCP"),
        port=number,
        node_port=_port_number(port, "nodePort", f"{path}.nodePort") or None,
    )


def _port_number(parent: Object, key: str, path: str) -> int:
    """A port number; 0 when absent, which Kubernetes (Go's omitempty) treats the same way."""
    number = _typed(parent, key, path, int, 0)
    if not 0 <= number <= 65535:
        raise MalformedObject(f"{path} is {number}, not a port number")
    return number


def node_from(obj: Object) -> ClusterNode:
    """A Node's addresses (in the order it lists them), readiness, cordon, labels and deletion."""
    ref = ref_of(obj)
    metadata = _mapping(obj, "metadata", "metadata")
    status = _mapping(obj, "status", "status")
    addresses = tuple(_address(item, path) for path, item in _mappings(status, "addresses", "status.addresses"))
    return ClusterNode(
        name=ref.name,
        addresses=addresses,
        ready=_is_ready(status),
        unschedulable=_typed(_mapping(obj, "spec", "spec"), "unschedulable", "spec.unschedulable", bool, False),
        labels=tuple(sorted(_labels(obj).items())),
        deleting=metadata.get("deletionTimestamp") is not None,  # YAML may have parsed it into a datetime
    )


def _address(item: Object, path: str) -> tuple[str, str]:
    kind, address = _string(item, "type", f"{path}.type"), _string(item, "address", f"{path}.address")
    if not kind or not address:
        raise MalformedObject(f"{path} needs both type and address")
    return kind, address


def _is_ready(status: Object) -> bool:
    for path, condition in _mappings(status, "conditions", "status.conditions"):
        if _string(condition, "type", f"{path}.type") == "Ready":
            return _string(condition, "status", f"{path}.status") == "True"
    return False


def slice_serves(obj: Object, service: KicService | ObjectRef) -> bool:
    """Whether an EndpointSlice belongs to ``service``."""
    ref = ref_of(obj)
    return ref.namespace == service.namespace and _labels(obj).get(SERVICE_NAME_LABEL) == service.name


def ready_endpoint_nodes(obj: Object) -> frozenset[str]:
    """Nodes of the endpoints of one EndpointSlice that are not marked unready."""
    nodes: set[str] = set()
    for path, endpoint in _mappings(obj, "endpoints", "endpoints"):
        conditions = _mapping(endpoint, "conditions", f"{path}.conditions")
        ready = _typed(conditions, "ready", f"{path}.conditions.ready", bool, True)  # absent means ready
        node = _string(endpoint, "nodeName", f"{path}.nodeName")
        if ready and node:
            nodes.add(node)
    return frozenset(nodes)


def endpoint_nodes(slices: Iterable[Object], service: KicService | ObjectRef) -> frozenset[str]:
    """Nodes with a ready endpoint of ``service``; other slices are ignored, a malformed one raises."""
    nodes: set[str] = set()
    for obj in slices:
        if slice_serves(obj, service):
            nodes |= ready_endpoint_nodes(obj)
    return frozenset(nodes)


def is_default_class(obj: Object, ingress_class: str) -> bool:
    """Whether an IngressClass is ``ingress_class`` and annotated as the cluster's default."""
    return ref_of(obj).name == ingress_class and _annotations(obj).get(DEFAULT_CLASS_ANNOTATION) == "true"


def ingress_class_of(obj: Object) -> str | None:
    """The class an Ingress names: ``spec.ingressClassName``, else the legacy annotation, else None."""
    named = _string(_mapping(obj, "spec", "spec"), "ingressClassName", "spec.ingressClassName")
    return named or _annotations(obj).get(LEGACY_CLASS_ANNOTATION) or None


def virtual_server_class_of(obj: Object) -> str | None:
    """The class a VirtualServer names (``spec.ingressClassName``), or None."""
    return _string(_mapping(obj, "spec", "spec"), "ingressClassName", "spec.ingressClassName") or None


def in_class(named: str | None, *, ingress_class: str, default_class: bool) -> bool:
    """An object naming a class belongs to that class; one naming none, to the default class."""
    return named == ingress_class if named is not None else default_class


def ingress_rule_hosts(obj: Object) -> tuple[str, ...]:
    spec = _mapping(obj, "spec", "spec")
    hosts = (_string(rule, "host", f"{path}.host") for path, rule in _mappings(spec, "rules", "spec.rules"))
    return tuple(dict.fromkeys(host for host in hosts if host))


def ingress_hosts(obj: Object) -> tuple[str, ...]:
    """Hosts of ``spec.rules`` then ``spec.tls``, once each, empty ones skipped."""
    spec = _mapping(obj, "spec", "spec")
    tls_hosts = [
        host for path, tls in _mappings(spec, "tls", "spec.tls") for host in _strings(tls, "hosts", f"{path}.hosts")
    ]
    return tuple(dict.fromkeys([*ingress_rule_hosts(obj), *(host for host in tls_hosts if host)]))


def virtual_server_hosts(obj: Object) -> tuple[str, ...]:
    host = _string(_mapping(obj, "spec", "spec"), "host", "spec.host")
    return (host,) if host else ()


def mergeable_type(obj: Object) -> str | None:
    """The mergeable-ingress annotation as written (possibly invalid), or None for a regular Ingress."""
    return _annotations(obj).get(MERGEABLE_ANNOTATION)


# ---------------------------------------------------------------------------- the whole snapshot


READ_ORDER = (SERVICE, NODE, ENDPOINT_SLICE, INGRESS_CLASS, INGRESS, VIRTUAL_SERVER)


@dataclass
class _Reading:
    """Problems found while indexing a set of objects, and how many objects were skipped."""

    problems: list[str] = field(default_factory=list)
    skipped: int = 0

    def skip(self, message: str) -> None:
        self.problems.append(f"{message}; skipped")
        self.skipped += 1


@dataclass(frozen=True)
class _Ingress:
    ref: ObjectRef
    hosts: tuple[str, ...]
    rule_hosts: tuple[str, ...]
    mergeable: str | None


Index = dict[str, dict[ObjectRef, Object]]


def snapshot_from(
    objects: Iterable[object], settings: KicSettings | Settings, *, taken_at: float, complete: bool = True
) -> ClusterSnapshot:
    """The cluster as ``objects`` describe it; never raises on bad objects, reports and skips them."""
    kic = settings.kic if isinstance(settings, Settings) else settings
    reading = _Reading()
    index = _index(objects, reading)
    view = ClusterView(kic)
    for kind in READ_ORDER:  # IngressClasses before Ingresses: the default class is known when they come
        for ref, obj in index[kind].items():
            view.put(ref, obj)
    return view.snapshot(
        taken_at=taken_at, complete=complete, problems=tuple(reading.problems), skipped=reading.skipped
    )


def ref_to_read(obj: object) -> ObjectRef | None:
    """The reference of an object ``snapshot_from`` reads without a word about the object itself
    (one of our kinds, in our apiVersion, with a usable name); None for any other."""
    if not isinstance(obj, Mapping):
        return None
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in API_VERSIONS or obj.get("apiVersion") != API_VERSIONS[kind]:
        return None
    try:
        return ref_of(obj)
    except MalformedObject:
        return None


def _claim_order(claim: HostClaim) -> tuple[str, str, str, str]:
    return claim.host, claim.source.kind, claim.source.namespace, claim.source.name


def _index(objects: Iterable[object], reading: _Reading) -> Index:
    """The objects of the kinds we read, by kind and reference; everything else reported or ignored."""
    index: Index = {kind: {} for kind in API_VERSIONS}
    for number, obj in enumerate(objects, 1):
        label = f"object #{number}"
        if not isinstance(obj, Mapping):
            reading.skip(f"{label} is {described(obj)}, not a Kubernetes object")
            continue
        kind = obj.get("kind")
        if not isinstance(kind, str) or not kind:
            reading.skip(f"{label} has no kind")
        elif kind in API_VERSIONS and _ours_to_read(obj, kind, label, reading):
            _add(index[kind], obj, label, reading)
    return index


def _ours_to_read(obj: Object, kind: str, label: str, reading: _Reading) -> bool:
    """True for our apiVersion; False, silently, for another API group's kind of the same name."""
    expected = API_VERSIONS[kind]
    api_version = obj.get("apiVersion")
    if api_version == expected:
        return True
    if isinstance(api_version, str) and api_version and _group(api_version) != _group(expected):
        return False
    shown = excerpt(api_version) if isinstance(api_version, str) and api_version else "missing or not a string"
    reading.skip(f"{label} ({kind}): apiVersion is {shown}, not {expected}")
    return False


def _group(api_version: str) -> str:
    group, _, _version = api_version.rpartition("/")
    return group


def _add(by_ref: dict[ObjectRef, Object], obj: Object, label: str, reading: _Reading) -> None:
    try:
        ref = ref_of(obj)
    except MalformedObject as exc:
        reading.skip(f"{label} ({obj['kind']}): {exc}")
        return
    if ref in by_ref:
        reading.problems.append(f"{ref}: appears more than once; the last one counts")
    by_ref[ref] = obj


# ---------------------------------------------------------------------------- the view, object by object


def _attempt(reader: Callable[[Object], T], obj: Object) -> T | MalformedObject:
    """``reader(obj)``, or the MalformedObject it raised (kept to be reported if the step counts)."""
    try:
        return reader(obj)
    except MalformedObject as exc:
        return exc


@dataclass(frozen=True)
class _Facts:
    """What the snapshot needs of one object, read once when the object arrives, in two steps
    (each the value, or the MalformedObject it raised). Whether a step counts depends on the
    settings and on other objects (a malformed host of an Ingress of another class is no
    problem), so the steps are kept and judged when contributions are made:

    - Service: ``first`` its KicService;
    - Node: ``first`` its ClusterNode;
    - EndpointSlice: ``first`` its service-name label, ``second`` its ready endpoints' nodes;
    - IngressClass: ``first`` whether it is annotated as the default class;
    - Ingress: ``first`` the class it names, ``second`` its _Ingress;
    - VirtualServer: ``first`` the class it names, ``second`` its hosts.
    """

    first: object
    second: object = None


def _read(ref: ObjectRef, obj: Object) -> _Facts:
    kind = ref.kind
    if kind == SERVICE:
        return _Facts(_attempt(service_from, obj))
    if kind == NODE:
        return _Facts(_attempt(node_from, obj))
    if kind == ENDPOINT_SLICE:
        return _Facts(_attempt(lambda o: _labels(o).get(SERVICE_NAME_LABEL), obj), _attempt(ready_endpoint_nodes, obj))
    if kind == INGRESS_CLASS:
        return _Facts(_attempt(lambda o: _annotations(o).get(DEFAULT_CLASS_ANNOTATION) == "true", obj))
    if kind == INGRESS:
        details = _attempt(lambda o: _Ingress(ref, ingress_hosts(o), ingress_rule_hosts(o), mergeable_type(o)), obj)
        return _Facts(_attempt(ingress_class_of, obj), details)
    return _Facts(_attempt(virtual_server_class_of, obj), _attempt(virtual_server_hosts, obj))


class ClusterView:
    """The cluster as a set of objects that come, change and go one at a time (watch events), each
    read once when it comes; ``snapshot`` assembles the ClusterSnapshot from what each object
    contributes, without reading any object again. ``snapshot_from`` is a view filled at once, so
    the offline file and the live cache follow the same rules.

    Contributions that depend on other objects are kept up to date as those change: the cluster's
    default class (an IngressClass changing it re-judges every Ingress and VirtualServer) and the
    masters' hosts (minions are judged against them when the snapshot is assembled). Outputs are in
    a canonical order (claims by host and source, nodes by name, rejections and problems by object), so
    a view reached by any sequence of events equals one filled with the final objects.

    References are unique here: the caller resolves duplicates (``snapshot_from``: the last one counts).
    """

    def __init__(self, kic: KicSettings) -> None:
        self.kic = kic
        self._service_ref = ObjectRef(SERVICE, kic.namespace, kic.service)
        self._facts: dict[ObjectRef, _Facts] = {}
        self._problems: dict[ObjectRef, str] = {}
        self._service: KicService | None = None
        self._nodes: dict[ObjectRef, ClusterNode] = {}
        self._endpoints: dict[ObjectRef, frozenset[str]] = {}
        self._defaults: dict[ObjectRef, bool] = {}
        self._default_class = False
        self._claims_of: dict[ObjectRef, tuple[HostClaim, ...]] = {}
        self._claims: list[HostClaim] = []  # sorted by _claim_order
        self._masters: Counter[str] = Counter()  # hosts of our master Ingresses, with how many claim each
        self._master_hosts_of: dict[ObjectRef, tuple[str, ...]] = {}
        self._minions: dict[ObjectRef, _Ingress] = {}
        self._invalid: dict[ObjectRef, tuple[Rejection, ...]] = {}
        self._built: dict[str, Any] = {}  # assembled parts, until the next change to them

    def __len__(self) -> int:
        return len(self._facts)

    def put(self, ref: ObjectRef, obj: Object) -> None:
        """The object ``ref`` is now ``obj`` (added or changed)."""
        self._drop(ref)
        facts = self._facts[ref] = _read(ref, obj)
        self._contribute(ref, facts)
        if ref.kind == INGRESS_CLASS:
            self._rejudge()

    def remove(self, ref: ObjectRef) -> None:
        """The object ``ref`` is gone (nothing happens if it was not here)."""
        self._drop(ref)
        self._facts.pop(ref, None)
        if ref.kind == INGRESS_CLASS:
            self._rejudge()

    def snapshot(
        self, *, taken_at: float, complete: bool = True, problems: tuple[str, ...] = (), skipped: int = 0
    ) -> ClusterSnapshot:
        """The assembled view; ``problems`` and ``skipped`` come first from whoever fed it (indexing)."""
        read = tuple(self._problems[ref] for ref in sorted(self._problems, key=_ref_order))
        return ClusterSnapshot(
            service=self._service,
            nodes=self._part("nodes", lambda: tuple(sorted(self._nodes.values(), key=lambda node: node.name))),
            endpoint_nodes=self._part(
                "endpoints", lambda: frozenset(n for nodes in self._endpoints.values() for n in nodes)
            ),
            hosts=self._part("hosts", lambda: tuple(self._claims)),
            complete=complete and not skipped and not read,
            taken_at=taken_at,
            problems=problems + read,
            rejections=self._rejections(),
        )

    # ------------------------------------------------------------------ contributions

    def _part(self, name: str, build: Callable[[], T]) -> T:
        if name not in self._built:
            self._built[name] = build()
        built: T = self._built[name]
        return built

    def _drop(self, ref: ObjectRef) -> None:
        """Withdraw what ``ref`` contributed (its facts stay)."""
        self._problems.pop(ref, None)
        if ref == self._service_ref:
            self._service = None
        if self._nodes.pop(ref, None) is not None:
            self._built.pop("nodes", None)
        if self._endpoints.pop(ref, None) is not None:
            self._built.pop("endpoints", None)
        self._defaults.pop(ref, None)
        for claim in self._claims_of.pop(ref, ()):
            del self._claims[bisect.bisect_left(self._claims, _claim_order(claim), key=_claim_order)]
            self._built.pop("hosts", None)
        self._masters.subtract(self._master_hosts_of.pop(ref, ()))
        self._minions.pop(ref, None)
        self._invalid.pop(ref, None)

    def _contribute(self, ref: ObjectRef, facts: _Facts) -> None:
        """Add what ``ref`` contributes, judged with the settings and the current default class."""
        first, second = facts.first, facts.second
        if isinstance(first, MalformedObject):
            if ref.kind in (NODE, INGRESS, VIRTUAL_SERVER) or self._first_counts(ref):
                self._problem(ref, first)
            return
        if ref.kind == SERVICE:
            if ref == self._service_ref:
                self._service = _as(first, KicService)
        elif ref.kind == NODE:
            self._nodes[ref] = _as(first, ClusterNode)
            self._built.pop("nodes", None)
        elif ref.kind == ENDPOINT_SLICE:
            if ref.namespace == self.kic.namespace and first == self.kic.service:
                self._endpoint_step(ref, second)
        elif ref.kind == INGRESS_CLASS:
            if ref.name == self.kic.ingress_class:
                self._defaults[ref] = bool(first)
        elif in_class(_class_name(first), ingress_class=self.kic.ingress_class, default_class=self._default_class):
            self._hosts_step(ref, second)

    def _hosts_step(self, ref: ObjectRef, second: object) -> None:
        """An Ingress or VirtualServer of our class: its hosts, or the problem that hides them."""
        if isinstance(second, MalformedObject):
            self._problem(ref, second)
        elif ref.kind == INGRESS:
            self._ingress(_as(second, _Ingress))
        else:
            self._claim(ref, tuple(HostClaim(host, ref) for host in _as(second, tuple)))

    def _first_counts(self, ref: ObjectRef) -> bool:
        """Whether a malformed first step of a Service, EndpointSlice or IngressClass is a problem:
        only for the objects the settings name (the KIC Service, its namespace's slices, our class)."""
        if ref.kind == SERVICE:
            return ref == self._service_ref
        if ref.kind == ENDPOINT_SLICE:
            return ref.namespace == self.kic.namespace
        return ref.name == self.kic.ingress_class

    def _endpoint_step(self, ref: ObjectRef, nodes: object) -> None:
        if isinstance(nodes, MalformedObject):
            self._problem(ref, nodes)
            return
        self._endpoints[ref] = _as(nodes, frozenset)
        self._built.pop("endpoints", None)

    def _problem(self, ref: ObjectRef, exc: MalformedObject) -> None:
        self._problems[ref] = f"{ref}: {exc}; skipped"

    def _ingress(self, ingress: _Ingress) -> None:
        """A regular Ingress or a master claims its hosts; a minion waits to be judged against the
        masters; any other mergeable type is refused on every host."""
        ref = ingress.ref
        if ingress.mergeable in (None, MASTER):
            self._claim(ref, tuple(HostClaim(host, ref) for host in ingress.hosts))
            if ingress.mergeable == MASTER:
                self._master_hosts_of[ref] = ingress.hosts
                self._masters.update(ingress.hosts)
        elif ingress.mergeable == MINION:
            self._minions[ref] = ingress
        else:
            reason = (
                f"{MERGEABLE_ANNOTATION} is {excerpt(repr(ingress.mergeable))}, not master or minion;"
                " the KIC rejects the Ingress"
            )
            cause = RejectionCause.INVALID_MERGEABLE
            self._invalid[ref] = tuple(Rejection(host, reason, ref, cause) for host in ingress.hosts or ("",))

    def _claim(self, ref: ObjectRef, claims: tuple[HostClaim, ...]) -> None:
        self._claims_of[ref] = claims
        for claim in claims:
            if self._claims and _claim_order(claim) < _claim_order(self._claims[-1]):
                bisect.insort(self._claims, claim, key=_claim_order)
            else:  # the common case of a list in name order: no search
                self._claims.append(claim)
        if claims:
            self._built.pop("hosts", None)

    def _rejudge(self) -> None:
        """After an IngressClass changed: if the default class changed, every Ingress and
        VirtualServer is judged again (rare: a cluster's default class seldom changes)."""
        default = any(self._defaults.values())
        if default == self._default_class:
            return
        self._default_class = default
        for ref, facts in self._facts.items():
            if ref.kind in (INGRESS, VIRTUAL_SERVER):
                self._drop(ref)
                self._contribute(ref, facts)

    def _rejections(self) -> tuple[Rejection, ...]:
        """By object (namespace, name), each object's in the order of its hosts."""
        masters = {host for host, count in self._masters.items() if count > 0}
        found: list[Rejection] = []
        for ref in sorted(self._invalid.keys() | self._minions.keys(), key=_ref_order):
            found.extend(self._invalid.get(ref, ()))
            if (minion := self._minions.get(ref)) is not None:
                found.extend(_orphan_minion_rejections(minion, masters))
        return tuple(found)


def _as(value: object, expected: type[T]) -> T:
    assert isinstance(value, expected), (value, expected)
    return value


def _class_name(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _ref_order(ref: ObjectRef) -> tuple[int, str, str]:
    return READ_ORDER.index(ref.kind), ref.namespace, ref.name


def _orphan_minion_rejections(minion: _Ingress, master_hosts: set[str]) -> list[Rejection]:
    cause = RejectionCause.ORPHAN_MINION
    if not minion.rule_hosts:
        return [Rejection("", "minion without a host: it joins no master; " + NOT_SERVED, minion.ref, cause)]
    reason = "minion without a master Ingress for this host; " + NOT_SERVED
    return [Rejection(host, reason, minion.ref, cause) for host in minion.rule_hosts if host not in master_hosts]
