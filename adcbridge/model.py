"""The values that flow through a cycle: cluster snapshot in, ADC objects, plan out.

Everything here is a frozen dataclass with no I/O and no behaviour beyond derived
properties, so the pure core (``desired``, ``planner``) can compare, sort and hash them
freely and tests can build them by hand. The ADC objects are vendor-neutral: each dialect
(``adc/<dialect>/``) turns them into its appliance's calls and parses the appliance's answers
back into the same types, so "desired equals observed" is plain equality. No wire format
lives here.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from enum import IntEnum, StrEnum
from typing import Any, ClassVar, Literal

# ---------------------------------------------------------------------------- cluster side


@dataclass(frozen=True)
class ObjectRef:
    """The Kubernetes object a fact came from (for reports and, later, Events)."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class ServicePort:
    name: str
    protocol: str  # TCP, UDP or SCTP, as Kubernetes spells it
    port: int
    node_port: int | None


@dataclass(frozen=True)
class KicService:
    namespace: str
    name: str
    type: str
    ports: tuple[ServicePort, ...]
    external_traffic_policy: str = "Cluster"


@dataclass(frozen=True)
class ClusterNode:
    name: str
    addresses: tuple[tuple[str, str], ...]  # (type, address), in the order the Node lists them
    ready: bool
    unschedulable: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    deleting: bool = False


@dataclass(frozen=True)
class HostClaim:
    """One hostname as written in one object (not yet validated)."""

    host: str
    source: ObjectRef


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything the bridge knows about the cluster at one moment.

    ``complete`` is False unless every source listed successfully: an incomplete view may
    add and update on the ADC but never delete. ``problems`` are findings that make the view
    doubtful (an object skipped as unreadable, a watch gone stale), reported as degraded;
    ``rejections`` are readable objects whose hosts are refused for a mistake of their own
    (a minion Ingress without a master, say), reported on those objects.
    """

    service: KicService | None
    nodes: tuple[ClusterNode, ...]
    endpoint_nodes: frozenset[str]
    hosts: tuple[HostClaim, ...]
    complete: bool
    taken_at: float
    problems: tuple[str, ...] = ()
    rejections: tuple[Rejection, ...] = ()


# ---------------------------------------------------------------------------- ADC side


class Kind(IntEnum):
    """ADC object kinds, valued in dependency order: create ascending, delete descending."""

    NODE = 1
    POOL = 2
    MEMBER = 3
    VSERVER = 4
    DOMAIN = 5

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    Kind.NODE: "node",
    Kind.POOL: "pool",
    Kind.MEMBER: "member",
    Kind.VSERVER: "vserver",
    Kind.DOMAIN: "domain",
}


@dataclass(frozen=True)
class AdcNode:
    """A server address. ``shared`` is False for another owner's node that our pools may not use
    (on a BIG-IP, one in a partition that is neither ours nor ``Common``): its address is a conflict."""

    kind: ClassVar[Kind] = Kind.NODE
    name: str
    ip: str
    description: str = ""
    enable: bool = True
    shared: bool = True

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class AdcPool:
    kind: ClassVar[Kind] = Kind.POOL
    name: str
    method: str = "rr"
    healthcheck: tuple[str, ...] = ()
    description: str = ""
    enable: bool = True

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class AdcMember:
    """A pool member (the appliance's ``rserver``), keyed ``pool/node:port``."""

    kind: ClassVar[Kind] = Kind.MEMBER
    pool: str
    node: str
    port: int
    weight: int = 1
    description: str = ""
    enable: bool = True

    @property
    def key(self) -> str:
        return f"{self.pool}/{self.node}:{self.port}"


@dataclass(frozen=True)
class AdcVserver:
    kind: ClassVar[Kind] = Kind.VSERVER
    name: str
    vip: str  # "IP:PORT" or "[IPv6]:PORT"
    protocol: str  # tcp or udp
    pool: str
    description: str = ""
    enable: bool = True
    snat: str = "automap"  # source address translation: automap, none, or a SNAT pool's name

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class AdcDomain:
    kind: ClassVar[Kind] = Kind.DOMAIN
    name: str
    type: str  # A, AAAA or A+AAAA
    addresses: tuple[str, ...]  # sorted, normalised
    ttl: int = 300
    description: str = ""
    enable: bool = True

    @property
    def key(self) -> str:
        return self.name


AdcObject = AdcNode | AdcPool | AdcMember | AdcVserver | AdcDomain


def fields_of(obj: AdcObject) -> dict[str, Any]:
    """The object's fields by name, tuples as lists: how plans show it (text and JSON)."""
    values = ((item.name, getattr(obj, item.name)) for item in fields(obj))
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values}


def sorted_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Addresses normalised and in one canonical order (IPv4 first, then numerically).

    Memoised: every domain of a bridge has the same few addresses, and parsing them again for each
    of 10,000 domains (reading the ADC, checking the names) was a tenth of a change cycle."""
    return _sorted_addresses(tuple(addresses))


@functools.lru_cache(maxsize=1024)
def _sorted_addresses(addresses: tuple[str, ...]) -> tuple[str, ...]:
    parsed = sorted({ipaddress.ip_address(address) for address in addresses}, key=lambda ip: (ip.version, int(ip)))
    return tuple(str(ip) for ip in parsed)


def join_host_port(ip: str, port: int) -> str:
    """``IP:PORT``, with IPv6 bracketed, the way the appliance writes a ``vip``."""
    return f"[{ip}]:{port}" if ipaddress.ip_address(ip).version == 6 else f"{ip}:{port}"


@dataclass(frozen=True)
class AdcState:
    """A whole set of ADC objects, each kind keyed by ``key``.

    Used for both sides of a plan: what we want (all ours) and what the appliance holds
    (ours and everyone else's).
    """

    nodes: dict[str, AdcNode] = field(default_factory=dict)
    pools: dict[str, AdcPool] = field(default_factory=dict)
    members: dict[str, AdcMember] = field(default_factory=dict)
    vservers: dict[str, AdcVserver] = field(default_factory=dict)
    domains: dict[str, AdcDomain] = field(default_factory=dict)

    def of_kind(self, kind: Kind) -> dict[str, Any]:
        by_kind: dict[Kind, dict[str, Any]] = {
            Kind.NODE: self.nodes,
            Kind.POOL: self.pools,
            Kind.MEMBER: self.members,
            Kind.VSERVER: self.vservers,
            Kind.DOMAIN: self.domains,
        }
        return by_kind[kind]

    def count(self) -> int:
        return sum(len(self.of_kind(kind)) for kind in Kind)

    @staticmethod
    def of(objects: list[AdcObject] | tuple[AdcObject, ...]) -> AdcState:
        state = AdcState()
        for obj in objects:
            state.of_kind(obj.kind)[obj.key] = obj
        return state


# ---------------------------------------------------------------------------- decisions


class RejectionCause(StrEnum):
    """Why a host claim was refused: the ``reason`` label of ``adcbridge_rejected_hosts``.

    Each is a mistake in one tenant's object, reported on that object: it never degrades the
    bridge nor stops a cycle from converging (the other hosts are published as usual).
    """

    INVALID_HOST = "invalid_host"  # not a hostname the ADC's DNS can hold
    INVALID_MERGEABLE = "invalid_mergeable"  # a mergeable-ingress type the KIC rejects
    ORPHAN_MINION = "orphan_minion"  # a minion whose host has no master: the KIC serves none of its paths


@dataclass(frozen=True)
class Rejection:
    """A host claim that will not reach the ADC (or, for a minion, a host its paths will not
    join), and why. ``host`` is empty for a minion that names none."""

    host: str
    reason: str
    source: ObjectRef
    cause: RejectionCause = RejectionCause.INVALID_HOST


@dataclass(frozen=True)
class DesiredState:
    """What the ADC should hold for us, plus what the cluster view could not vouch for.

    ``slb_known`` is False when the KIC Service is missing or exposes no nodePort: the SLB
    objects (nodes, pools, members, virtual servers) are then unknown, not empty, and the
    planner leaves them as they are. ``keep_only`` lists draining members: kept (disabled)
    if they still exist, never created. ``names`` are the valid hosts as DNS domains, whatever
    the DNS targets; ``objects.domains`` holds them only when the ADC's DNS is a target
    (``adc_dns``), and without it the planner leaves the ADC's domains alone.
    """

    objects: AdcState
    slb_known: bool
    complete: bool
    rejections: tuple[Rejection, ...] = ()
    degraded: tuple[str, ...] = ()
    keep_only: frozenset[str] = frozenset()  # "kind:key" of draining objects
    unfit_since: dict[str, float] = field(default_factory=dict)  # cluster node -> when it turned unfit
    next_change_at: float | None = None  # when the next draining node's grace period ends
    names: dict[str, AdcDomain] = field(default_factory=dict)  # every valid host, for every DNS target
    adc_dns: bool = True  # the ADC's DNS service is a target: plan its domains


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Operation:
    action: Action
    obj: AdcObject  # the desired object (create, update) or the observed one (delete)
    changes: tuple[str, ...] = ()  # fields an update changes
    needs: tuple[str, ...] = ()  # "kind:key" of operations that must succeed first
    replacing: bool = False  # part of replacing a node whose address changed (deleted, then created again)

    @property
    def ref(self) -> str:
        return f"{self.obj.kind.label}:{self.obj.key}"


@dataclass(frozen=True)
class Conflict:
    kind: Kind
    key: str
    reason: str


Policy = Literal["sync", "upsert-only", "create-only"]


@dataclass(frozen=True)
class DeleteLimits:
    """The mass-deletion guard: beyond either limit a cycle's deletions are all held back."""

    max_count: int = 1000
    max_percent: float = 50.0
    percent_applies_from: int = 10  # a handful of deletions in a small setup is never "mass"


@dataclass(frozen=True)
class Plan:
    operations: tuple[Operation, ...] = ()
    held_back: tuple[Operation, ...] = ()
    hold_reason: str = ""
    conflicts: tuple[Conflict, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.operations

    @property
    def converged(self) -> bool:
        """Nothing to do, nothing held back and nothing in the way."""
        return not (self.operations or self.held_back or self.conflicts)


# ---------------------------------------------------------------------------- ownership

MARKER_TOOL = "adcbridge"
MAX_NAME = 127  # the appliance's object name limit
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Owner:
    """Who we are on a shared ADC: an owner id, written into names and descriptions.

    The description marker is the proof of ownership; the name prefix only makes our
    objects easy to spot and keeps owners from choosing the same names.
    """

    id: str
    prefix: str = "k8s-"

    @property
    def marker(self) -> str:
        return f"managed-by={MARKER_TOOL};owner={self.id}"

    def owns(self, description: str) -> bool:
        if description == self.marker:  # nearly every object of ours: no parsing (a plan asks 10,000s times)
            return True
        fields = dict(part.partition("=")[::2] for part in description.split(";"))
        return fields.get("managed-by") == MARKER_TOOL and fields.get("owner") == self.id

    def name(self, *parts: str) -> str:
        """``<prefix><owner>-<parts>``, made safe and cut to the appliance's limit with a hash."""
        text = _NAME_UNSAFE.sub("-", "-".join((self.prefix + self.id, *parts)))
        if len(text) <= MAX_NAME:
            return text
        digest = hashlib.sha256(text.encode()).hexdigest()[:10]
        return f"{text[: MAX_NAME - 11]}-{digest}"


@dataclass(frozen=True)
class LeaseRecord:
    """The leader-election Lease as ``leader.py`` reasons about it (``k8s/leases.py`` stores it)."""

    holder: str
    duration_seconds: int
    acquired_at: float  # wall-clock seconds, as written into the Lease
    renewed_at: float
    transitions: int
    resource_version: str = ""
