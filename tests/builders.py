"""Small builders for the pure core's inputs: settings, cluster facts and ADC objects.

Settings are built from keyword arguments only: ``Settings`` is a pydantic BaseSettings and
would otherwise read ``ADCBRIDGE_*`` variables (even through ``model_validate``), so a
developer's shell could change what a test computes. ``settings()`` goes through
``settings_from_values``, whose only source is its arguments.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from adcbridge.config import Settings, settings_from_values
from adcbridge.model import (
    AdcDomain,
    AdcMember,
    AdcNode,
    AdcPool,
    AdcVserver,
    ClusterNode,
    ClusterSnapshot,
    HostClaim,
    KicService,
    ObjectRef,
    Owner,
    Rejection,
    ServicePort,
)

OWNER_ID = "c1"
OWNER = Owner(OWNER_ID)
MARK = OWNER.marker  # "managed-by=adcbridge;owner=c1"
OTHER_MARK = "managed-by=adcbridge;owner=other"
VIP4 = "192.0.2.10"
VIP6 = "2001:db8::10"
TAKEN_AT = 1000.0


def settings(**overrides: Any) -> Settings:
    """Valid settings for owner ``c1`` and VIP ``192.0.2.10``; groups given as dicts merge into the defaults.

    ``settings(nodes={"drain_grace_seconds": 0}, vip={"addresses": [VIP4, VIP6]})``
    """
    data: dict[str, Any] = {
        "owner_id": OWNER_ID,
        "adc": {"url": "https://adc.example.net"},
        "vip": {"addresses": [VIP4]},
    }
    for key, value in overrides.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return settings_from_values(**data)


# ---------------------------------------------------------------------------- cluster side


def node(
    name: str,
    ip: str | None = "10.0.0.1",
    *,
    ipv6: str | None = None,
    external: str | None = None,
    ready: bool = True,
    unschedulable: bool = False,
    deleting: bool = False,
    labels: dict[str, str] | None = None,
) -> ClusterNode:
    """A cluster node whose addresses list a Hostname first, as real nodes often do."""
    addresses: list[tuple[str, str]] = [("Hostname", name)]
    addresses += [("InternalIP", ip)] if ip else []
    addresses += [("InternalIP", ipv6)] if ipv6 else []
    addresses += [("ExternalIP", external)] if external else []
    return ClusterNode(
        name,
        tuple(addresses),
        ready,
        unschedulable=unschedulable,
        labels=tuple(sorted((labels or {}).items())),
        deleting=deleting,
    )


def port(number: int, node_port: int | None, *, name: str = "", protocol: str = "TCP") -> ServicePort:
    return ServicePort(name or f"p{number}", protocol, number, node_port)


HTTP = port(80, 30080, name="http")
HTTPS = port(443, 30443, name="https")


def service(
    *ports: ServicePort, type_: str = "NodePort", traffic_policy: str = "Cluster", name: str = "njet-ingress-controller"
) -> KicService:
    return KicService("njet-ingress", name, type_, tuple(ports), traffic_policy)


def claim(host: str, name: str = "web", *, namespace: str = "default", kind: str = "Ingress") -> HostClaim:
    return HostClaim(host, ObjectRef(kind, namespace, name))


_DEFAULT: Any = object()


def snapshot(
    *,
    service_: KicService | None = _DEFAULT,
    nodes: tuple[ClusterNode, ...] | list[ClusterNode] = (),
    hosts: tuple[str | HostClaim, ...] | list[str | HostClaim] = (),
    endpoint_nodes: tuple[str, ...] | frozenset[str] = (),
    complete: bool = True,
    taken_at: float = TAKEN_AT,
    problems: tuple[str, ...] = (),
    rejections: tuple[Rejection, ...] = (),
) -> ClusterSnapshot:
    """A snapshot; the Service defaults to one exposing http (30080) and https (30443)."""
    return ClusterSnapshot(
        service=service(HTTP, HTTPS) if service_ is _DEFAULT else service_,
        nodes=tuple(nodes),
        endpoint_nodes=frozenset(endpoint_nodes),
        hosts=tuple(item if isinstance(item, HostClaim) else claim(item) for item in hosts),
        complete=complete,
        taken_at=taken_at,
        problems=problems,
        rejections=rejections,
    )


# ---------------------------------------------------------------------------- ADC side (ours unless told)


def adc_node(name: str, ip: str, *, description: str = MARK, enable: bool = True) -> AdcNode:
    return AdcNode(name, ip, description, enable)


def adc_pool(
    name: str, *, method: str = "rr", healthcheck: tuple[str, ...] = (), description: str = MARK, enable: bool = True
) -> AdcPool:
    return AdcPool(name, method, healthcheck, description, enable)


def adc_member(
    pool: str, node_: str, port_: int, *, weight: int = 1, description: str = MARK, enable: bool = True
) -> AdcMember:
    return AdcMember(pool, node_, port_, weight, description, enable)


def adc_vserver(
    name: str, vip: str, pool: str, *, protocol: str = "tcp", description: str = MARK, enable: bool = True
) -> AdcVserver:
    return AdcVserver(name, vip, protocol, pool, description, enable)


def adc_domain(
    name: str,
    addresses: tuple[str, ...] = (VIP4,),
    *,
    type_: str = "A",
    ttl: int = 300,
    description: str = MARK,
    enable: bool = True,
) -> AdcDomain:
    return AdcDomain(name, type_, addresses, ttl, description, enable)


# ---------------------------------------------------------------------------- random builders (hypothesis)

NODE_NAMES = ["n0", "n1", "n2", "n0-v6", "edge-a", "edge-b"]  # n0-v6: not to be confused with n0's IPv6 node
DNS_UDP = port(53, 30053, name="dns", protocol="UDP")
SCTP = port(9, 30009, name="sctp", protocol="SCTP")
SERVICE_PORTS = [HTTP, HTTPS, DNS_UDP, SCTP, port(8443, None, name="alt"), port(53, 30054, name="dns-tcp")]
HOST_CHOICES = [
    "www.example.com",
    "WWW.example.com.",
    "*.example.com",
    "bücher.example",
    "api.example.org",
    "bad_.example",
    "x",
    "::1",
    "*.*.example",
]


def _mostly(draw: st.DrawFn, value: bool) -> bool:
    """``value`` three times in four: most nodes are healthy, most Services exist."""
    return draw(st.sampled_from([value, value, value, not value]))


@st.composite
def cluster_nodes(draw: st.DrawFn, min_size: int = 0) -> tuple[ClusterNode, ...]:
    """Up to five nodes, mostly healthy; node i has some of 10.0.0.i, fd00::i (InternalIP) and 203.0.113.i."""
    names = draw(st.lists(st.sampled_from(NODE_NAMES), unique=True, min_size=min_size, max_size=5))
    result = []
    for index, name in enumerate(names, start=1):
        addresses = [("Hostname", name)]
        addresses += [("InternalIP", f"10.0.0.{index}")] if _mostly(draw, True) else []
        addresses += [("InternalIP", f"fd00::{index}")] if draw(st.booleans()) else []
        addresses += [("ExternalIP", f"203.0.113.{index}")] if draw(st.booleans()) else []
        result.append(
            ClusterNode(
                name,
                tuple(draw(st.permutations(addresses))),
                _mostly(draw, True),
                unschedulable=_mostly(draw, False),
                labels=draw(st.sampled_from([(), (("spot", "1"),), (("role", "edge"),)])),
                deleting=_mostly(draw, False),
            )
        )
    return tuple(result)


@st.composite
def snapshots(
    draw: st.DrawFn,
    complete: st.SearchStrategy[bool] = st.booleans(),  # noqa: B008
    *,
    rich: bool = False,
) -> ClusterSnapshot:
    """A snapshot with random nodes, Service ports (or no Service) and hosts, valid and not.

    ``rich`` asks for at least two nodes and one Service port, so SLB objects are usually known.
    """
    kic = None
    if _mostly(draw, True):
        ports = draw(st.lists(st.sampled_from(SERVICE_PORTS), unique=True, min_size=int(rich), max_size=4))
        kic = service(*ports, traffic_policy="Cluster" if _mostly(draw, True) else "Local")
    hosts = draw(st.lists(st.sampled_from(HOST_CHOICES), max_size=5))
    return ClusterSnapshot(
        service=kic,
        nodes=draw(cluster_nodes(min_size=2 if rich else 0)),
        endpoint_nodes=frozenset(draw(st.lists(st.sampled_from(NODE_NAMES), max_size=4))),
        hosts=tuple(claim(host, f"i{index}", namespace="ns") for index, host in enumerate(hosts)),
        complete=draw(complete),
        taken_at=TAKEN_AT,
    )


CONFIGS = st.builds(
    lambda vips, address_type, selector, grace: settings(
        vip={"addresses": vips},
        nodes={"address_type": address_type, "label_selector": selector, "drain_grace_seconds": grace},
    ),
    st.sampled_from([[VIP4], [VIP6], [VIP4, VIP6], [VIP4, "198.51.100.7"]]),
    st.sampled_from(["InternalIP", "InternalIP", "InternalIP", "ExternalIP"]),
    st.sampled_from(["", "", "", "!spot", "role=edge"]),
    st.sampled_from([0.0, 300.0]),
)
CARRIED = st.dictionaries(st.sampled_from(NODE_NAMES), st.sampled_from([0.0, 800.0, 1000.0]), max_size=3)
