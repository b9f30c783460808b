"""What the ADC should hold for us, computed from one cluster snapshot. Pure.

``build_desired`` reads no clock, does no I/O and touches no metrics: the same snapshot,
settings and previous state always give the same answer, which is what makes the planner
testable by tables and properties.

Decisions made here, and why:

- A node is *fit* when it is Ready, schedulable (unless configured otherwise), not being
  deleted, matched by the label selector and, under ``externalTrafficPolicy: Local``, hosts
  a ready KIC endpoint. A node that is in the cluster but not fit is *draining*: its members
  stay, disabled, until ``drain_grace_seconds`` after it was first seen unfit, so
  connections finish instead of being cut. Draining members are kept if they exist and never
  created. The time each node turned unfit is carried from one result to the next
  (``DesiredState.unfit_since``); after a restart the grace period starts again, which errs
  on the side of keeping traffic flowing.
- Each VIP family (IPv4, IPv6) gets its own ADC nodes and pools, from node addresses of the
  same family: a member must be reachable in the VIP's family.
- A missing KIC Service, or one without nodePorts, makes the SLB objects *unknown*, not
  empty: the planner then leaves them alone, and the state is reported as degraded.
- A host claim refused for a mistake of its own object (an invalid hostname here; an orphan
  minion or a bad mergeable type, found by the source) is a *rejection*: reported on that
  object, never degrading the state, and the other hosts go on. Degraded is kept for what
  weakens the whole bridge: no usable Service, no ready node, a doubtful cluster view.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from adcbridge.config import Settings, parse_selector
from adcbridge.hostnames import InvalidHost, normalize_host
from adcbridge.model import (
    AdcDomain,
    AdcMember,
    AdcNode,
    AdcPool,
    AdcState,
    AdcVserver,
    ClusterNode,
    ClusterSnapshot,
    DesiredState,
    HostClaim,
    KicService,
    Owner,
    Rejection,
    RejectionCause,
    ServicePort,
    join_host_port,
    sorted_addresses,
)

SMALL_DIFF = 32  # claims in both parts, below which changed_claims counts them
PROTOCOLS = {"TCP": "tcp", "UDP": "udp"}
FAMILY_SUFFIX = {4: (), 6: ("v6",)}
# "_" never occurs in a Kubernetes node name, so node "x-v6" cannot take node x's IPv6 name.
NODE_FAMILY_SUFFIX = {4: "", 6: "_v6"}


def owner_of(settings: Settings) -> Owner:
    return Owner(settings.owner_id, settings.name_prefix)


def build_desired(
    snapshot: ClusterSnapshot, settings: Settings, *, unfit_since: Mapping[str, float] | None = None
) -> DesiredState:
    """The desired ADC objects for ``snapshot``; ``unfit_since`` comes from the previous result."""
    owner = owner_of(settings)
    domains, invalid = desired_domains(snapshot.hosts, settings, owner)
    slb = _desired_slb(snapshot, settings, owner, unfit_since or {})
    return _desired(snapshot, settings, domains=domains, invalid=invalid, slb=slb)


class DesiredBuilder:
    """``build_desired`` for a loop that builds again and again from a view that changes a little
    each time: the domains are built from each claim's contribution (a valid host's domain, an
    invalid one's rejection), and each build merges only the claims added or withdrawn since the
    previous snapshot (``changed_claims``); the domains of unchanged claims are reused as they were.
    The SLB objects are reused while the KIC Service, the nodes and the endpoints are the same and no
    node is unfit (with one unfit, the time decides whether it still drains).
    The result equals ``build_desired``'s for the same snapshot (tests/test_cluster_view.py).

    Claims count as a multiset (a name stays while any valid claim names it), so the result does not
    depend on the order of ``snapshot.hosts``; a view that keeps its claims sorted and its
    unchanged claims the same objects (``k8s.objects.ClusterView``) makes finding the change cheap.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._owner = owner_of(settings)
        addresses = sorted_addresses(settings.vip.addresses)
        self._record = (_record_type(addresses), addresses)
        self._claims: tuple[HostClaim, ...] = ()
        self._counts: Counter[str] = Counter()  # valid name -> how many claims name it
        self._invalid: Counter[HostClaim] = Counter()
        self._names: list[str] = []  # sorted
        self._domains: dict[str, AdcDomain] = {}  # as last handed out: never changed afterwards
        self._rejections: tuple[Rejection, ...] = ()
        self._slb: tuple[object, _Slb] | None = None  # (what it was built from, the SLB objects)

    def build(self, snapshot: ClusterSnapshot, *, unfit_since: Mapping[str, float] | None = None) -> DesiredState:
        removed, added = changed_claims(self._claims, snapshot.hosts)
        if removed or added:
            self._merge(removed, added)
        self._claims = snapshot.hosts
        slb = self._slb_for(snapshot, unfit_since or {})
        return _desired(snapshot, self._settings, domains=self._domains, invalid=self._rejections, slb=slb)

    def _slb_for(self, snapshot: ClusterSnapshot, unfit_since: Mapping[str, float]) -> _Slb:
        inputs = (snapshot.service, snapshot.nodes, snapshot.endpoint_nodes)
        if self._slb is not None and not unfit_since and not self._slb[1].unfit_since and self._slb[0] == inputs:
            return self._slb[1]
        slb = _desired_slb(snapshot, self._settings, self._owner, unfit_since)
        self._slb = (inputs, slb)
        return slb

    def _merge(self, removed: list[HostClaim], added: list[HostClaim]) -> None:
        domains = dict(self._domains)
        gone, new = set(), []
        for claim in removed:
            name = _valid_name(claim.host)
            if name is None:
                self._invalid[claim] -= 1
                continue
            self._counts[name] -= 1
            if not self._counts[name]:
                del self._counts[name]
                gone.add(name)
        for claim in added:
            name = _valid_name(claim.host)
            if name is None:
                self._invalid[claim] += 1
                continue
            self._counts[name] += 1
            if self._counts[name] == 1:
                gone.discard(name)
                new.append(name)
        for name in gone:
            del domains[name]
        record_type, addresses = self._record
        marker, ttl = self._owner.marker, self._settings.dns.ttl
        for name in new:
            if name not in domains:
                domains[name] = AdcDomain(name, record_type, addresses, ttl, marker)
                bisect.insort(self._names, name)
        if gone:
            self._names = [name for name in self._names if name not in gone]
        self._domains = {name: domains[name] for name in self._names} if new else domains
        self._invalid = +self._invalid
        self._rejections = _invalid_hosts(claim for claim in self._invalid)


def _valid_name(host: str) -> str | None:
    try:
        return normalize_host(host)
    except InvalidHost:
        return None


def _invalid_hosts(claims: Iterable[HostClaim]) -> tuple[Rejection, ...]:
    rejections = set()
    for claim in claims:
        try:
            normalize_host(claim.host)
        except InvalidHost as exc:
            rejections.add(Rejection(claim.host, str(exc), claim.source, RejectionCause.INVALID_HOST))
    return tuple(sorted(rejections, key=_rejection_order))


def changed_claims(old: tuple[HostClaim, ...], new: tuple[HostClaim, ...]) -> tuple[list[HostClaim], list[HostClaim]]:
    """The claims withdrawn and added from ``old`` to ``new``, as multisets.

    Both are cut at the same claim again and again, and only the parts that differ are looked
    into: parts that hold the same objects compare in C, so a few changes among 10,000 sorted
    claims cost a few dozen comparisons of slices. Any order gives the right answer (what moved
    from one part to another is withdrawn there and added here); sorted claims make it fast.
    """
    removed: list[HostClaim] = []
    added: list[HostClaim] = []
    _diff(old, new, removed, added)
    return removed, added


def _diff(
    old: tuple[HostClaim, ...], new: tuple[HostClaim, ...], removed: list[HostClaim], added: list[HostClaim]
) -> None:
    if old == new:
        return
    if len(old) + len(new) <= SMALL_DIFF:
        before, after = Counter(old), Counter(new)
        removed.extend((before - after).elements())
        added.extend((after - before).elements())
        return
    if len(new) >= len(old):
        j = len(new) // 2
        i = bisect.bisect_left(old, _claim_order(new[j]), key=_claim_order)
    else:
        i = len(old) // 2
        j = bisect.bisect_left(new, _claim_order(old[i]), key=_claim_order)
    _diff(old[:i], new[:j], removed, added)
    _diff(old[i:], new[j:], removed, added)


def _claim_order(claim: HostClaim) -> tuple[str, str, str, str]:
    return claim.host, claim.source.kind, claim.source.namespace, claim.source.name


def _desired(
    snapshot: ClusterSnapshot,
    settings: Settings,
    *,
    domains: dict[str, AdcDomain],
    invalid: tuple[Rejection, ...],
    slb: _Slb,
) -> DesiredState:
    adc_dns = "adc" in settings.dns.targets
    on_adc = domains if adc_dns else {}
    objects = AdcState(domains=on_adc)
    if slb.known:
        objects = AdcState(nodes=slb.nodes, pools=slb.pools, members=slb.members, vservers=slb.vservers, domains=on_adc)
    return DesiredState(
        objects=objects,
        slb_known=slb.known,
        complete=snapshot.complete,
        rejections=tuple(sorted(set(invalid + snapshot.rejections), key=_rejection_order)),
        degraded=slb.degraded + snapshot.problems,
        keep_only=slb.keep_only,
        unfit_since=slb.unfit_since,
        next_change_at=slb.next_change_at,
        names=domains,
        adc_dns=adc_dns,
    )


# ---------------------------------------------------------------------------- DNS


def desired_domains(
    claims: tuple[HostClaim, ...], settings: Settings, owner: Owner
) -> tuple[dict[str, AdcDomain], tuple[Rejection, ...]]:
    """One domain per valid host (however many objects claim it), and a rejection per bad claim."""
    addresses = sorted_addresses(settings.vip.addresses)
    record_type = _record_type(addresses)
    domains: dict[str, AdcDomain] = {}
    rejections = []
    for claim in claims:
        try:
            name = normalize_host(claim.host)
        except InvalidHost as exc:
            rejections.append(Rejection(claim.host, str(exc), claim.source, RejectionCause.INVALID_HOST))
            continue
        domains[name] = AdcDomain(name, record_type, addresses, settings.dns.ttl, owner.marker)
    return dict(sorted(domains.items())), tuple(sorted(set(rejections), key=_rejection_order))


def _record_type(addresses: tuple[str, ...]) -> str:
    families = {ipaddress.ip_address(address).version for address in addresses}
    return "A+AAAA" if families == {4, 6} else ("AAAA" if families == {6} else "A")


def _rejection_order(rejection: Rejection) -> tuple[str, str, str, str, str]:
    source = rejection.source
    return rejection.host, source.kind, source.namespace, source.name, rejection.cause


# ---------------------------------------------------------------------------- SLB


@dataclass(frozen=True)
class _Slb:
    known: bool
    nodes: dict[str, AdcNode]
    pools: dict[str, AdcPool]
    members: dict[str, AdcMember]
    vservers: dict[str, AdcVserver]
    degraded: tuple[str, ...]
    keep_only: frozenset[str]
    unfit_since: dict[str, float]
    next_change_at: float | None


def _desired_slb(snapshot: ClusterSnapshot, settings: Settings, owner: Owner, unfit_since: Mapping[str, float]) -> _Slb:
    ports, degraded = exposed_ports(snapshot.service, settings)
    fit, draining, since = _classify_nodes(snapshot, settings, unfit_since)
    grace = settings.nodes.drain_grace_seconds
    endings = [started + grace for started in since.values() if started + grace > snapshot.taken_at]
    if not ports:
        return _Slb(False, {}, {}, {}, {}, degraded, frozenset(), since, min(endings, default=None))
    nodes: dict[str, AdcNode] = {}
    pools: dict[str, AdcPool] = {}
    members: dict[str, AdcMember] = {}
    vservers: dict[str, AdcVserver] = {}
    keep_only: set[str] = set()
    families = sorted({ipaddress.ip_address(vip).version for vip in settings.vip.addresses})
    for family in families:
        family_nodes = {}
        for cluster_node, enabled in [(node, True) for node in fit] + [(node, False) for node in draining]:
            ip = node_address(cluster_node, settings.nodes.address_type, family)
            if ip is None:
                continue
            adc_node = AdcNode(owner.name(cluster_node.name + NODE_FAMILY_SUFFIX[family]), ip, owner.marker)
            nodes[adc_node.key] = adc_node
            family_nodes[adc_node.name] = enabled
            if not enabled:
                keep_only.add(f"node:{adc_node.key}")
        if not any(family_nodes.values()):
            degraded += (f"no ready node has an IPv{family} {settings.nodes.address_type}",)
        for port in ports:
            pool = _pool(port, family, settings, owner)
            pools[pool.key] = pool
            for node_name, enabled in sorted(family_nodes.items()):
                assert port.node_port is not None
                member = AdcMember(pool.name, node_name, port.node_port, 1, owner.marker, enabled)
                members[member.key] = member
                if not enabled:
                    keep_only.add(f"member:{member.key}")
            for vip in settings.vip.addresses:
                if ipaddress.ip_address(vip).version == family:
                    vserver = _vserver(port, vip, pool, owner, snat=settings.adc.snat)
                    vservers[vserver.key] = vserver
    return _Slb(
        True,
        dict(sorted(nodes.items())),
        dict(sorted(pools.items())),
        dict(sorted(members.items())),
        dict(sorted(vservers.items())),
        degraded,
        frozenset(keep_only),
        since,
        min(endings, default=None),
    )


def exposed_ports(service: KicService | None, settings: Settings) -> tuple[tuple[ServicePort, ...], tuple[str, ...]]:
    """The Service ports to expose on the ADC, and why some or all cannot be."""
    kic = settings.kic
    where = f"KIC Service {kic.namespace}/{kic.service}"
    if service is None:
        return (), (f"{where} not found: SLB objects left as they are",)
    candidates = [port for port in service.ports if port.protocol in PROTOCOLS]
    problems: list[str] = []
    if kic.ports:
        wanted = {str(item) for item in kic.ports}
        candidates = [port for port in candidates if port.name in wanted or str(port.port) in wanted]
        found = {port.name for port in candidates} | {str(port.port) for port in candidates}
        problems += [f"{where} has no TCP/UDP port {item}" for item in sorted(wanted - found)]
    chosen = tuple(port for port in candidates if port.node_port)
    problems += [
        f"{where} port {port.port}/{port.protocol} has no nodePort" for port in candidates if not port.node_port
    ]
    if not chosen:
        problems.append(f"{where} exposes no nodePort: SLB objects left as they are")
    return chosen, tuple(problems)


def _classify_nodes(
    snapshot: ClusterSnapshot, settings: Settings, unfit_since: Mapping[str, float]
) -> tuple[list[ClusterNode], list[ClusterNode], dict[str, float]]:
    """Fit nodes, draining nodes (still within their grace period), and when each unfit node turned so."""
    local = snapshot.service is not None and snapshot.service.external_traffic_policy == "Local"
    selector = parse_selector(settings.nodes.label_selector)
    fit, draining, since = [], [], {}
    for node in sorted(snapshot.nodes, key=lambda node: node.name):
        if is_fit(node, settings, selector=selector, local=local, endpoint_nodes=snapshot.endpoint_nodes):
            fit.append(node)
            continue
        since[node.name] = unfit_since.get(node.name, snapshot.taken_at)
        if snapshot.taken_at - since[node.name] < settings.nodes.drain_grace_seconds:
            draining.append(node)
    return fit, draining, since


def is_fit(
    node: ClusterNode,
    settings: Settings,
    *,
    selector: tuple[tuple[str, str, str], ...],
    local: bool,
    endpoint_nodes: frozenset[str],
) -> bool:
    return (
        node.ready
        and not node.deleting
        and (settings.nodes.include_unschedulable or not node.unschedulable)
        and matches(dict(node.labels), selector)
        and (not local or node.name in endpoint_nodes)
    )


def matches(labels: Mapping[str, str], selector: tuple[tuple[str, str, str], ...]) -> bool:
    return all(_satisfies(labels, key, operator, value) for key, operator, value in selector)


def _satisfies(labels: Mapping[str, str], key: str, operator: str, value: str) -> bool:
    if operator == "exists":
        return key in labels
    if operator == "!exists":
        return key not in labels
    return (labels.get(key) == value) == (operator == "=")


def node_address(node: ClusterNode, address_type: str, family: int) -> str | None:
    """The node's first address of the wanted type and family, normalised."""
    for kind, address in node.addresses:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            continue
        if kind == address_type and parsed.version == family and usable_unicast(parsed):
            return str(parsed)
    return None


def usable_unicast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a pool member may have this address. Node addresses are written by the kubelet or
    anyone who may patch a Node status; a multicast, broadcast, link-local or scoped one would be
    refused by the ADC every cycle (tests/test_hostile_objects.py)."""
    scoped = isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None
    broadcast = address == ipaddress.IPv4Address("255.255.255.255")
    return not (address.is_unspecified or address.is_multicast or address.is_link_local or scoped or broadcast)


def _pool(port: ServicePort, family: int, settings: Settings, owner: Owner) -> AdcPool:
    protocol = PROTOCOLS[port.protocol]
    healthcheck = (settings.pool.healthcheck,) if settings.pool.healthcheck else ()
    name = owner.name(str(port.port), protocol, *FAMILY_SUFFIX[family])
    return AdcPool(name, settings.pool.method, healthcheck, owner.marker)


def _vserver(port: ServicePort, vip: str, pool: AdcPool, owner: Owner, *, snat: str) -> AdcVserver:
    protocol = PROTOCOLS[port.protocol]
    name = owner.name(vip.replace(":", "-"), str(port.port), protocol)
    return AdcVserver(name, join_host_port(vip, port.port), protocol, pool.name, owner.marker, snat=snat)
