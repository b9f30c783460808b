"""The rules of ``desired.py`` and ``hostnames.py``, one table per rule, plus properties.

Everything is built by hand (``tests/builders.py``) and asserted on the resulting
``DesiredState``: which ADC objects, with which fields, and what is reported.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings

from adcbridge.desired import build_desired, node_address
from adcbridge.hostnames import InvalidHost, normalize_host
from adcbridge.k8s.objects import snapshot_from
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
    KicService,
    ObjectRef,
    Owner,
    Rejection,
    RejectionCause,
)
from mocks.kube import manifests as k
from tests.builders import (
    CARRIED,
    CONFIGS,
    DNS_UDP,
    HTTP,
    HTTPS,
    MARK,
    SCTP,
    VIP4,
    VIP6,
    claim,
    node,
    port,
    service,
    settings,
    snapshot,
    snapshots,
)
from tests.fake_adc import FakeAdc

WHERE = "KIC Service njet-ingress/njet-ingress-controller"


def build(snap: ClusterSnapshot, *, unfit_since: dict[str, float] | None = None, **overrides: Any) -> DesiredState:
    return build_desired(snap, settings(**overrides), unfit_since=unfit_since)


def enabled_members(desired: DesiredState) -> dict[str, bool]:
    return {key: member.enable for key, member in desired.objects.members.items()}


# ---------------------------------------------------------------------------- a whole example


def test_single_stack_example_exactly() -> None:
    desired = build(snapshot(nodes=[node("n2", "10.0.0.2"), node("n1", "10.0.0.1")], hosts=["www.example.com"]))

    p80, p443 = "k8s-c1-80-tcp", "k8s-c1-443-tcp"
    assert desired.objects == AdcState(
        nodes={
            "k8s-c1-n1": AdcNode("k8s-c1-n1", "10.0.0.1", MARK),
            "k8s-c1-n2": AdcNode("k8s-c1-n2", "10.0.0.2", MARK),
        },
        pools={p443: AdcPool(p443, "rr", (), MARK), p80: AdcPool(p80, "rr", (), MARK)},
        members={
            f"{p443}/k8s-c1-n1:30443": AdcMember(p443, "k8s-c1-n1", 30443, 1, MARK),
            f"{p443}/k8s-c1-n2:30443": AdcMember(p443, "k8s-c1-n2", 30443, 1, MARK),
            f"{p80}/k8s-c1-n1:30080": AdcMember(p80, "k8s-c1-n1", 30080, 1, MARK),
            f"{p80}/k8s-c1-n2:30080": AdcMember(p80, "k8s-c1-n2", 30080, 1, MARK),
        },
        vservers={
            "k8s-c1-192.0.2.10-443-tcp": AdcVserver("k8s-c1-192.0.2.10-443-tcp", "192.0.2.10:443", "tcp", p443, MARK),
            "k8s-c1-192.0.2.10-80-tcp": AdcVserver("k8s-c1-192.0.2.10-80-tcp", "192.0.2.10:80", "tcp", p80, MARK),
        },
        domains={"www.example.com": AdcDomain("www.example.com", "A", (VIP4,), 300, MARK)},
    )
    assert (desired.slb_known, desired.complete) == (True, True)
    assert (desired.rejections, desired.degraded, desired.keep_only) == ((), (), frozenset())
    assert (desired.unfit_since, desired.next_change_at) == ({}, None)
    for kind in ("nodes", "pools", "members", "vservers", "domains"):
        keys = list(getattr(desired.objects, kind))
        assert keys == sorted(keys), kind


def test_dual_stack_has_a_node_and_pool_set_per_family() -> None:
    desired = build(
        snapshot(nodes=[node("n1", "10.0.0.1", ipv6="fd00::1")], service_=service(HTTP), hosts=["www.example.com"]),
        vip={"addresses": [VIP6, VIP4]},
    )

    v4, v6 = "k8s-c1-80-tcp", "k8s-c1-80-tcp-v6"
    assert desired.objects == AdcState(
        nodes={
            "k8s-c1-n1": AdcNode("k8s-c1-n1", "10.0.0.1", MARK),
            "k8s-c1-n1_v6": AdcNode("k8s-c1-n1_v6", "fd00::1", MARK),
        },
        pools={v4: AdcPool(v4, "rr", (), MARK), v6: AdcPool(v6, "rr", (), MARK)},
        members={
            f"{v4}/k8s-c1-n1:30080": AdcMember(v4, "k8s-c1-n1", 30080, 1, MARK),
            f"{v6}/k8s-c1-n1_v6:30080": AdcMember(v6, "k8s-c1-n1_v6", 30080, 1, MARK),
        },
        vservers={
            "k8s-c1-192.0.2.10-80-tcp": AdcVserver("k8s-c1-192.0.2.10-80-tcp", "192.0.2.10:80", "tcp", v4, MARK),
            "k8s-c1-2001-db8--10-80-tcp": AdcVserver(
                "k8s-c1-2001-db8--10-80-tcp", "[2001:db8::10]:80", "tcp", v6, MARK
            ),
        },
        domains={"www.example.com": AdcDomain("www.example.com", "A+AAAA", (VIP4, VIP6), 300, MARK)},
    )
    assert desired.degraded == ()


def test_a_node_named_like_another_nodes_ipv6_name_keeps_its_own() -> None:
    nodes = [node("a-v6", "10.0.0.1"), node("a", None, ipv6="fd00::1")]

    desired = build(snapshot(nodes=nodes, service_=service(HTTP)), vip={"addresses": [VIP4, VIP6]})

    assert {name: adc_node.ip for name, adc_node in desired.objects.nodes.items()} == {
        "k8s-c1-a-v6": "10.0.0.1",
        "k8s-c1-a_v6": "fd00::1",
    }
    assert sorted(desired.objects.members) == [
        "k8s-c1-80-tcp-v6/k8s-c1-a_v6:30080",
        "k8s-c1-80-tcp/k8s-c1-a-v6:30080",
    ]


def test_members_are_every_node_times_every_node_port() -> None:
    ports = (HTTP, port(53, 30053, name="dns", protocol="UDP"), port(53, 30054, name="dns-tcp"))
    nodes = [node(f"n{index}", f"10.0.0.{index}") for index in (3, 1, 2)]

    desired = build(snapshot(nodes=nodes, service_=service(*ports)))

    expected = sorted(
        f"k8s-c1-{pool}/k8s-c1-n{index}:{node_port}"
        for pool, node_port in (("80-tcp", 30080), ("53-udp", 30053), ("53-tcp", 30054))
        for index in (1, 2, 3)
    )
    assert list(desired.objects.members) == expected
    assert all(member.enable and member.weight == 1 for member in desired.objects.members.values())
    assert sorted((vs.vip, vs.protocol, vs.pool) for vs in desired.objects.vservers.values()) == [
        ("192.0.2.10:53", "tcp", "k8s-c1-53-tcp"),
        ("192.0.2.10:53", "udp", "k8s-c1-53-udp"),
        ("192.0.2.10:80", "tcp", "k8s-c1-80-tcp"),
    ]


@pytest.mark.parametrize(
    ("vips", "expected"),
    [
        pytest.param([VIP4], {"k8s-c1-192.0.2.10-80-tcp": "192.0.2.10:80"}, id="one-ipv4"),
        pytest.param(
            [VIP4, "198.51.100.7"],
            {"k8s-c1-192.0.2.10-80-tcp": "192.0.2.10:80", "k8s-c1-198.51.100.7-80-tcp": "198.51.100.7:80"},
            id="two-ipv4-share-the-pool",
        ),
        pytest.param([VIP6], {"k8s-c1-2001-db8--10-80-tcp": "[2001:db8::10]:80"}, id="ipv6-bracketed"),
        pytest.param(["2001:DB8::0:10"], {"k8s-c1-2001-db8--10-80-tcp": "[2001:db8::10]:80"}, id="ipv6-normalised"),
    ],
)
def test_vservers_per_port_per_vip(vips: list[str], expected: dict[str, str]) -> None:
    desired = build(
        snapshot(nodes=[node("n1", "10.0.0.1", ipv6="fd00::1")], service_=service(HTTP)), vip={"addresses": vips}
    )

    assert {name: vs.vip for name, vs in desired.objects.vservers.items()} == expected
    for vserver in desired.objects.vservers.values():
        assert vserver.pool in desired.objects.pools
        family = ipaddress.ip_address(vserver.vip.rpartition(":")[0].strip("[]")).version
        assert vserver.pool.endswith("-v6") == (family == 6)


# ---------------------------------------------------------------------------- which nodes


@pytest.mark.parametrize(
    ("cluster_node", "nodes", "traffic_policy", "endpoint_nodes", "fit"),
    [
        pytest.param(node("n1"), {}, "Cluster", (), True, id="ready"),
        pytest.param(node("n1", ready=False), {}, "Cluster", (), False, id="not-ready"),
        pytest.param(node("n1", unschedulable=True), {}, "Cluster", (), False, id="cordoned"),
        pytest.param(
            node("n1", unschedulable=True), {"include_unschedulable": True}, "Cluster", (), True, id="cordoned-included"
        ),
        pytest.param(
            node("n1", ready=False, unschedulable=True),
            {"include_unschedulable": True},
            "Cluster",
            (),
            False,
            id="cordoned-included-not-ready",
        ),
        pytest.param(node("n1", deleting=True), {}, "Cluster", (), False, id="deleting"),
        pytest.param(
            node("n1", labels={"role": "edge"}), {"label_selector": "role=edge"}, "Cluster", (), True, id="label-equal"
        ),
        pytest.param(
            node("n1", labels={"role": "edge"}), {"label_selector": "role==edge"}, "Cluster", (), True, id="label-eqeq"
        ),
        pytest.param(
            node("n1", labels={"role": "db"}), {"label_selector": "role=edge"}, "Cluster", (), False, id="label-other"
        ),
        pytest.param(node("n1"), {"label_selector": "role=edge"}, "Cluster", (), False, id="label-missing"),
        pytest.param(node("n1", labels={"spot": ""}), {"label_selector": "!spot"}, "Cluster", (), False, id="not-key"),
        pytest.param(node("n1"), {"label_selector": "!spot"}, "Cluster", (), True, id="not-key-absent"),
        pytest.param(
            node("n1", labels={"spot": "true"}), {"label_selector": "spot!=true"}, "Cluster", (), False, id="neq-equal"
        ),
        pytest.param(
            node("n1", labels={"spot": "false"}), {"label_selector": "spot!=true"}, "Cluster", (), True, id="neq-other"
        ),
        pytest.param(node("n1"), {"label_selector": "spot!=true"}, "Cluster", (), True, id="neq-absent"),
        pytest.param(node("n1", labels={"edge": "x"}), {"label_selector": "edge"}, "Cluster", (), True, id="exists"),
        pytest.param(
            node("n1", labels={"role": "edge", "spot": "1"}),
            {"label_selector": "role=edge, !spot"},
            "Cluster",
            (),
            False,
            id="all-requirements",
        ),
        pytest.param(node("n1"), {}, "Local", ("n1",), True, id="local-with-endpoint"),
        pytest.param(node("n1"), {}, "Local", ("n2",), False, id="local-without-endpoint"),
        pytest.param(node("n1"), {}, "Cluster", ("n2",), True, id="cluster-ignores-endpoints"),
    ],
)
def test_node_fitness(
    cluster_node: ClusterNode,
    nodes: dict[str, Any],
    traffic_policy: str,
    endpoint_nodes: tuple[str, ...],
    fit: bool,
) -> None:
    snap = snapshot(
        nodes=[cluster_node],
        service_=service(HTTP, traffic_policy=traffic_policy),
        endpoint_nodes=endpoint_nodes,
    )

    desired = build(snap, nodes={**nodes, "drain_grace_seconds": 0})

    if fit:
        assert desired.objects.nodes == {"k8s-c1-n1": AdcNode("k8s-c1-n1", "10.0.0.1", MARK)}
        assert enabled_members(desired) == {"k8s-c1-80-tcp/k8s-c1-n1:30080": True}
        assert desired.unfit_since == {}
        assert desired.degraded == ()
    else:
        assert desired.objects.nodes == {}
        assert desired.objects.members == {}
        assert desired.objects.pools.keys() == {"k8s-c1-80-tcp"}  # the pool stays, empty
        assert desired.unfit_since == {"n1": 1000.0}
        assert desired.degraded == ("no ready node has an IPv4 InternalIP",)
    assert desired.keep_only == frozenset()


@pytest.mark.parametrize(
    ("cluster_node", "address_type", "vips", "expected", "degraded"),
    [
        pytest.param(
            node("n1", "10.0.0.1", external="203.0.113.1"),
            "InternalIP",
            [VIP4],
            {"k8s-c1-n1": "10.0.0.1"},
            (),
            id="internal",
        ),
        pytest.param(
            node("n1", "10.0.0.1", external="203.0.113.1"),
            "ExternalIP",
            [VIP4],
            {"k8s-c1-n1": "203.0.113.1"},
            (),
            id="external",
        ),
        pytest.param(
            node("n1", "10.0.0.1"),
            "ExternalIP",
            [VIP4],
            {},
            ("no ready node has an IPv4 ExternalIP",),
            id="external-missing",
        ),
        pytest.param(
            node("n1", "10.0.0.1"),
            "InternalIP",
            [VIP6],
            {},
            ("no ready node has an IPv6 InternalIP",),
            id="v4-node-v6-vip",
        ),
        pytest.param(
            node("n1", None, ipv6="FD00::0:1"),
            "InternalIP",
            [VIP6],
            {"k8s-c1-n1_v6": "fd00::1"},
            (),
            id="v6-normalised",
        ),
        pytest.param(
            node("n1", None, ipv6="fd00::1"),
            "InternalIP",
            [VIP4],
            {},
            ("no ready node has an IPv4 InternalIP",),
            id="v6-node-v4-vip",
        ),
        pytest.param(
            node("n1", "10.0.0.1", ipv6="fd00::1"),
            "InternalIP",
            [VIP4, VIP6],
            {"k8s-c1-n1": "10.0.0.1", "k8s-c1-n1_v6": "fd00::1"},
            (),
            id="dual-stack",
        ),
        pytest.param(
            ClusterNode("n1", (("InternalIP", "10.0.0.1"), ("InternalIP", "10.0.0.2")), True),
            "InternalIP",
            [VIP4],
            {"k8s-c1-n1": "10.0.0.1"},
            (),
            id="first-of-type",
        ),
        pytest.param(
            ClusterNode("n1", (("InternalIP", "bogus"), ("InternalIP", "0.0.0.0"), ("InternalIP", "10.0.0.3")), True),
            "InternalIP",
            [VIP4],
            {"k8s-c1-n1": "10.0.0.3"},
            (),
            id="skips-unparsable-and-unspecified",
        ),
        pytest.param(
            ClusterNode("n1", (("Hostname", "10.0.0.9"), ("ExternalIP", "10.0.0.8")), True),
            "InternalIP",
            [VIP4],
            {},
            ("no ready node has an IPv4 InternalIP",),
            id="other-types-ignored",
        ),
    ],
)
def test_node_addresses(
    cluster_node: ClusterNode, address_type: str, vips: list[str], expected: dict[str, str], degraded: tuple[str, ...]
) -> None:
    desired = build(
        snapshot(nodes=[cluster_node], service_=service(HTTP)),
        nodes={"address_type": address_type},
        vip={"addresses": vips},
    )

    assert {name: adc_node.ip for name, adc_node in desired.objects.nodes.items()} == expected
    assert {member.node for member in desired.objects.members.values()} == set(expected)
    assert desired.degraded == degraded


def test_node_address_helper_by_family() -> None:
    cluster_node = node("n1", "10.0.0.1", ipv6="fd00::1", external="203.0.113.1")

    assert node_address(cluster_node, "InternalIP", 4) == "10.0.0.1"
    assert node_address(cluster_node, "InternalIP", 6) == "fd00::1"
    assert node_address(cluster_node, "ExternalIP", 4) == "203.0.113.1"
    assert node_address(cluster_node, "ExternalIP", 6) is None


# ---------------------------------------------------------------------------- draining


@pytest.mark.parametrize(
    ("carried", "grace", "draining", "since", "next_change_at"),
    [
        pytest.param({}, 300.0, True, {"n1": 1000.0}, 1300.0, id="first-seen-unfit"),
        pytest.param({"n1": 800.0}, 300.0, True, {"n1": 800.0}, 1100.0, id="carried-within-grace"),
        pytest.param({"n1": 700.0}, 300.0, False, {"n1": 700.0}, None, id="grace-ends-exactly-now"),
        pytest.param({"n1": 100.0}, 300.0, False, {"n1": 100.0}, None, id="grace-over"),
        pytest.param({}, 0.0, False, {"n1": 1000.0}, None, id="no-grace"),
        pytest.param({"n2": 500.0, "gone": 500.0}, 300.0, True, {"n1": 1000.0}, 1300.0, id="stale-entries-dropped"),
    ],
)
def test_draining(
    carried: dict[str, float], grace: float, draining: bool, since: dict[str, float], next_change_at: float | None
) -> None:
    snap = snapshot(nodes=[node("n1", "10.0.0.1", ready=False), node("n2", "10.0.0.2")], service_=service(HTTP))

    desired = build(snap, unfit_since=carried, nodes={"drain_grace_seconds": grace})

    fit_member = "k8s-c1-80-tcp/k8s-c1-n2:30080"
    draining_member = "k8s-c1-80-tcp/k8s-c1-n1:30080"
    if draining:
        assert enabled_members(desired) == {draining_member: False, fit_member: True}
        assert desired.objects.nodes["k8s-c1-n1"] == AdcNode("k8s-c1-n1", "10.0.0.1", MARK)
        assert desired.keep_only == {"node:k8s-c1-n1", f"member:{draining_member}"}
    else:
        assert enabled_members(desired) == {fit_member: True}
        assert set(desired.objects.nodes) == {"k8s-c1-n2"}
        assert desired.keep_only == frozenset()
    assert desired.unfit_since == since
    assert desired.next_change_at == next_change_at
    assert desired.degraded == ()


def test_next_change_is_the_earliest_grace_end_and_known_without_a_service() -> None:
    nodes = [node("a", "10.0.0.1", ready=False), node("b", "10.0.0.2", deleting=True), node("c", "10.0.0.3")]
    carried = {"a": 900.0, "b": 950.0}

    with_service = build(snapshot(nodes=nodes, service_=service(HTTP)), unfit_since=carried)
    without = build(snapshot(nodes=nodes, service_=None), unfit_since=carried)

    assert with_service.next_change_at == without.next_change_at == 1200.0
    assert with_service.unfit_since == without.unfit_since == {"a": 900.0, "b": 950.0}
    assert enabled_members(with_service) == {
        "k8s-c1-80-tcp/k8s-c1-a:30080": False,
        "k8s-c1-80-tcp/k8s-c1-b:30080": False,
        "k8s-c1-80-tcp/k8s-c1-c:30080": True,
    }
    assert without.keep_only == frozenset()


def test_only_draining_nodes_is_degraded_but_keeps_them() -> None:
    desired = build(snapshot(nodes=[node("n1", ready=False)], service_=service(HTTP)))

    assert enabled_members(desired) == {"k8s-c1-80-tcp/k8s-c1-n1:30080": False}
    assert desired.degraded == ("no ready node has an IPv4 InternalIP",)


def test_draining_in_dual_stack_marks_both_families() -> None:
    snap = snapshot(nodes=[node("n1", "10.0.0.1", ipv6="fd00::1", ready=False)], service_=service(HTTP))

    desired = build(snap, vip={"addresses": [VIP4, VIP6]})

    assert desired.keep_only == {
        "node:k8s-c1-n1",
        "node:k8s-c1-n1_v6",
        "member:k8s-c1-80-tcp/k8s-c1-n1:30080",
        "member:k8s-c1-80-tcp-v6/k8s-c1-n1_v6:30080",
    }
    assert not any(member.enable for member in desired.objects.members.values())


# ---------------------------------------------------------------------------- ports and the Service


@pytest.mark.parametrize(
    ("ports", "kic_ports", "pools", "degraded"),
    [
        pytest.param(
            (HTTP, HTTPS, DNS_UDP, SCTP),
            [],
            ["k8s-c1-443-tcp", "k8s-c1-53-udp", "k8s-c1-80-tcp"],
            (),
            id="every-tcp-udp-port-sctp-skipped",
        ),
        pytest.param((HTTP, HTTPS), ["https"], ["k8s-c1-443-tcp"], (), id="by-name"),
        pytest.param((HTTP, HTTPS), [80], ["k8s-c1-80-tcp"], (), id="by-number"),
        pytest.param((HTTP, HTTPS), ["80"], ["k8s-c1-80-tcp"], (), id="by-number-as-text"),
        pytest.param(
            (HTTP, HTTPS),
            ["https", "nope", 8443],
            ["k8s-c1-443-tcp"],
            (f"{WHERE} has no TCP/UDP port 8443", f"{WHERE} has no TCP/UDP port nope"),
            id="configured-port-missing",
        ),
        pytest.param(
            (HTTP, SCTP),
            ["http", "sctp"],
            ["k8s-c1-80-tcp"],
            (f"{WHERE} has no TCP/UDP port sctp",),
            id="configured-sctp",
        ),
        pytest.param(
            (HTTP, port(8443, None, name="alt")),
            [],
            ["k8s-c1-80-tcp"],
            (f"{WHERE} port 8443/TCP has no nodePort",),
            id="port-without-node-port",
        ),
        pytest.param(
            (port(53, 30053, name="dns-tcp"), DNS_UDP),
            [53],
            ["k8s-c1-53-tcp", "k8s-c1-53-udp"],
            (),
            id="same-number-both-protocols",
        ),
    ],
)
def test_one_pool_per_exposed_port(
    ports: tuple[Any, ...], kic_ports: list[int | str], pools: list[str], degraded: tuple[str, ...]
) -> None:
    desired = build(snapshot(nodes=[node("n1")], service_=service(*ports)), kic={"ports": kic_ports})

    assert desired.slb_known
    assert list(desired.objects.pools) == pools
    by_port = {p.port: p for p in ports}
    for member in desired.objects.members.values():
        number, protocol = member.pool.removeprefix("k8s-c1-").split("-")
        assert member.port == next(
            p.node_port for p in ports if str(p.port) == number and p.protocol.lower() == protocol
        )
    assert len(desired.objects.vservers) == len(pools)
    assert all(int(vs.vip.rpartition(":")[2]) in by_port for vs in desired.objects.vservers.values())
    assert desired.degraded == degraded


@pytest.mark.parametrize(
    ("kic_service", "kic_ports", "degraded"),
    [
        pytest.param(None, [], (f"{WHERE} not found: SLB objects left as they are",), id="missing"),
        pytest.param(
            service(port(80, None, name="http"), type_="ClusterIP"),
            [],
            (f"{WHERE} port 80/TCP has no nodePort", f"{WHERE} exposes no nodePort: SLB objects left as they are"),
            id="cluster-ip-only",
        ),
        pytest.param(service(), [], (f"{WHERE} exposes no nodePort: SLB objects left as they are",), id="no-ports"),
        pytest.param(
            service(SCTP), [], (f"{WHERE} exposes no nodePort: SLB objects left as they are",), id="only-sctp"
        ),
        pytest.param(
            service(HTTP),
            ["nope"],
            (f"{WHERE} has no TCP/UDP port nope", f"{WHERE} exposes no nodePort: SLB objects left as they are"),
            id="configured-ports-all-missing",
        ),
    ],
)
def test_slb_unknown_without_node_ports(
    kic_service: KicService | None, kic_ports: list[int | str], degraded: tuple[str, ...]
) -> None:
    snap = snapshot(nodes=[node("n1")], service_=kic_service, hosts=["www.example.com"], problems=("feed x",))

    desired = build(snap, kic={"ports": kic_ports})

    assert desired.slb_known is False
    assert desired.objects == AdcState(
        domains={"www.example.com": AdcDomain("www.example.com", "A", (VIP4,), 300, MARK)}
    )
    assert desired.degraded == (*degraded, "feed x")
    assert desired.keep_only == frozenset()


@pytest.mark.parametrize("complete", [True, False])
def test_completeness_and_problems_are_carried(complete: bool) -> None:
    desired = build(snapshot(nodes=[node("n1")], complete=complete, problems=("a", "b")))

    assert desired.complete is complete
    assert desired.degraded == ("a", "b")
    assert len(desired.objects.members) == 2  # incompleteness does not empty the desired state


# ---------------------------------------------------------------------------- settings that shape objects


@pytest.mark.parametrize(
    ("overrides", "method", "healthcheck", "ttl"),
    [
        pytest.param({}, "rr", (), 300, id="defaults"),
        pytest.param({"pool": {"method": "lc", "healthcheck": "tcp"}}, "lc", ("tcp",), 300, id="pool"),
        pytest.param(
            {"pool": {"method": "ip-hash", "healthcheck": "my-check"}}, "ip-hash", ("my-check",), 300, id="named-check"
        ),
        pytest.param({"dns": {"ttl": 30}}, "rr", (), 30, id="ttl"),
    ],
)
def test_pool_and_domain_settings(
    overrides: dict[str, Any], method: str, healthcheck: tuple[str, ...], ttl: int
) -> None:
    desired = build(snapshot(nodes=[node("n1")], hosts=["a.example.com"]), **overrides)

    assert {(pool.method, pool.healthcheck) for pool in desired.objects.pools.values()} == {(method, healthcheck)}
    assert desired.objects.domains["a.example.com"].ttl == ttl


@pytest.mark.parametrize(
    ("vips", "record_type", "addresses"),
    [
        pytest.param([VIP4], "A", (VIP4,), id="ipv4"),
        pytest.param([VIP6], "AAAA", (VIP6,), id="ipv6"),
        pytest.param([VIP6, VIP4], "A+AAAA", (VIP4, VIP6), id="dual-stack-v4-first"),
        pytest.param(["192.0.2.20", "192.0.2.3"], "A", ("192.0.2.3", "192.0.2.20"), id="numeric-order"),
    ],
)
def test_domain_record_type(vips: list[str], record_type: str, addresses: tuple[str, ...]) -> None:
    desired = build(snapshot(service_=None, hosts=["a.example.com"]), vip={"addresses": vips})

    assert desired.objects.domains == {"a.example.com": AdcDomain("a.example.com", record_type, addresses, 300, MARK)}


# ---------------------------------------------------------------------------- hostnames


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("www.example.com", "www.example.com", id="plain"),
        pytest.param("WWW.Example.COM", "www.example.com", id="lower-case"),
        pytest.param("www.example.com.", "www.example.com", id="trailing-dot"),
        pytest.param(" www.example.com ", "www.example.com", id="whitespace"),
        pytest.param("bücher.example", "xn--bcher-kva.example", id="idn"),
        pytest.param("BÜCHER.example", "xn--bcher-kva.example", id="idn-upper"),
        pytest.param("\uff41\uff42\uff43.example", "abc.example", id="uts46-fullwidth"),
        pytest.param("xn--bcher-kva.example", "xn--bcher-kva.example", id="punycode"),
        pytest.param("*.example.com", "*.example.com", id="wildcard"),
        pytest.param("*.Bücher.Example.", "*.xn--bcher-kva.example", id="wildcard-idn"),
        pytest.param("*.com", "*.com", id="wildcard-two-labels"),
        pytest.param("a-b.c0.example", "a-b.c0.example", id="inner-hyphen-digits"),
        pytest.param("a" * 63 + ".example", "a" * 63 + ".example", id="label-63"),
        pytest.param(".".join(["a" * 63] * 3 + ["b" * 61]), ".".join(["a" * 63] * 3 + ["b" * 61]), id="name-253"),
    ],
)
def test_valid_hosts(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("", "empty hostname", id="empty"),
        pytest.param(".", "empty hostname", id="only-dot"),
        pytest.param("a..example", "empty label", id="empty-label"),
        pytest.param(".example.com", "empty label", id="leading-dot"),
        pytest.param("*", "'*' is allowed only as the whole first label", id="bare-star"),
        pytest.param("*.*.example.com", "'*' is allowed only as the whole first label", id="two-stars"),
        pytest.param("www.*.example.com", "'*' is allowed only as the whole first label", id="inner-star"),
        pytest.param("*www.example.com", "'*' is allowed only as the whole first label", id="partial-star"),
        pytest.param("-a.example", "label '-a' is not letters, digits and inner hyphens (RFC 1123)", id="lead-hyphen"),
        pytest.param("a-.example", "label 'a-' is not letters, digits and inner hyphens (RFC 1123)", id="trail-hyphen"),
        pytest.param("a_b.example", "label 'a_b' is not letters, digits and inner hyphens (RFC 1123)", id="underscore"),
        pytest.param("a" * 64 + ".example", "label longer than 63 characters", id="label-64"),
        pytest.param(".".join(["a" * 63] * 4), "longer than 253 characters", id="name-255"),
        pytest.param("192.0.2.1", "an IP address is not a hostname", id="ipv4"),
        pytest.param("2001:db8::1", "an IP address is not a hostname", id="ipv6"),
        pytest.param("[2001:db8::1]", "an IP address is not a hostname", id="ipv6-bracketed"),
        pytest.param("localhost", "needs at least two labels (the ADC has no single-label names)", id="single-label"),
        pytest.param("localhost.", "needs at least two labels (the ADC has no single-label names)", id="single-dot"),
        pytest.param("xn--zz.example", "label 'xn--zz' is not valid punycode", id="bad-punycode"),
        pytest.param("☃.example", "label '☃' is not a valid internationalised name", id="bad-idn"),
        pytest.param("a\u200db.example", "is not a valid internationalised name", id="joiner"),
    ],
)
def test_invalid_hosts(raw: str, reason: str) -> None:
    with pytest.raises(InvalidHost) as caught:
        normalize_host(raw)

    assert reason in str(caught.value)


def test_invalid_hosts_are_rejected_with_reason_and_source_and_the_rest_stay() -> None:
    hosts = [
        claim("www.example.com", "a"),
        claim("bad_host.example.com", "b", namespace="team"),
        claim("WWW.example.com.", "c"),
        claim("192.0.2.1", "d"),
        claim("bad_host.example.com", "b", namespace="team"),  # the same claim twice: one rejection
        claim("bad_host.example.com", "a", kind="HTTPRoute"),
        claim("*.apps.example.com", "e"),
    ]

    desired = build(snapshot(nodes=[node("n1")], hosts=hosts))

    assert list(desired.objects.domains) == ["*.apps.example.com", "www.example.com"]
    assert desired.rejections == (
        Rejection("192.0.2.1", "an IP address is not a hostname", ObjectRef("Ingress", "default", "d")),
        Rejection(
            "bad_host.example.com",
            "label 'bad_host' is not letters, digits and inner hyphens (RFC 1123)",
            ObjectRef("HTTPRoute", "default", "a"),
        ),
        Rejection(
            "bad_host.example.com",
            "label 'bad_host' is not letters, digits and inner hyphens (RFC 1123)",
            ObjectRef("Ingress", "team", "b"),
        ),
    )
    assert len(desired.objects.members) == 2  # hostnames never touch the SLB side


SHOP = k.ingress("shop", "shop", "shop.example.com")
PAY_MASTER = k.ingress("pay", "pay", "pay.example.com", mergeable="master")
PAY_MINION = k.ingress("checkout", "checkout", "pay.example.com", mergeable="minion")
ORPHAN = ("orphan_minion", "pay.example.com", "checkout/checkout")
NO_SERVICE = f"{WHERE} not found: SLB objects left as they are"
NODE = k.node("n1", "10.0.0.1")
BASE = [k.service(), NODE, SHOP]
TENANT_MISTAKES = [
    pytest.param([*BASE, PAY_MASTER, PAY_MINION], [], (), id="a minion with its master"),
    pytest.param([*BASE, PAY_MINION], [ORPHAN], (), id="an orphan minion"),
    pytest.param(
        [*BASE, k.ingress("m", "checkout", mergeable="minion")],
        [("orphan_minion", "", "checkout/m")],
        (),
        id="a minion without a host",
    ),
    pytest.param(
        [*BASE, k.ingress("m", "checkout", "pay.example.com", mergeable="Master")],
        [("invalid_mergeable", "pay.example.com", "checkout/m")],
        (),
        id="an invalid mergeable type",
    ),
    pytest.param(
        [*BASE, k.ingress("bad", "shop", "bad_host.example.com")],
        [("invalid_host", "bad_host.example.com", "shop/bad")],
        (),
        id="an invalid host",
    ),
    pytest.param(
        [*BASE, PAY_MINION, k.ingress("bad", "shop", "bad_host.example.com", mergeable="minion")],
        [("orphan_minion", "bad_host.example.com", "shop/bad"), ORPHAN],
        (),
        id="two orphans, in host order",
    ),
    pytest.param([NODE, SHOP, PAY_MINION], [ORPHAN], (NO_SERVICE,), id="degraded by the Service, not the minion"),
]


@pytest.mark.parametrize(("objects", "rejections", "degraded"), TENANT_MISTAKES)
def test_a_tenants_mistake_is_a_rejection_on_its_object_and_degrades_nothing(
    objects: list[dict[str, Any]], rejections: list[tuple[str, str, str]], degraded: tuple[str, ...]
) -> None:
    snap = snapshot_from(objects, settings(), taken_at=0.0)

    desired = build_desired(snap, settings())

    assert [(r.cause.value, r.host, f"{r.source.namespace}/{r.source.name}") for r in desired.rejections] == rejections
    assert desired.degraded == degraded
    assert desired.complete
    assert "shop.example.com" in desired.objects.domains  # the other hosts go on
    assert desired.slb_known is not bool(degraded)


def test_rejections_of_the_source_and_of_hostnames_are_merged_once_in_order() -> None:
    source = ObjectRef("Ingress", "checkout", "c")
    orphan = Rejection("a.example.com", "minion without a master", source, RejectionCause.ORPHAN_MINION)
    hosts = [claim("bad_host.example.com", "b"), claim("www.example.com", "w")]

    desired = build(snapshot(nodes=[node("n1")], hosts=hosts, rejections=(orphan, orphan)))

    assert [(r.host, r.cause) for r in desired.rejections] == [
        ("a.example.com", RejectionCause.ORPHAN_MINION),
        ("bad_host.example.com", RejectionCause.INVALID_HOST),
    ]
    assert desired.degraded == ()


def test_a_host_claimed_twice_is_one_domain() -> None:
    hosts = [claim("shop.example.com", "a"), claim("Shop.Example.com.", "b", namespace="other")]

    desired = build(snapshot(service_=None, hosts=hosts))

    assert desired.objects.domains == {"shop.example.com": AdcDomain("shop.example.com", "A", (VIP4,), 300, MARK)}
    assert desired.rejections == ()


# ---------------------------------------------------------------------------- names


def test_names_are_cut_to_the_appliance_limit_with_a_hash() -> None:
    owner = Owner("c1")
    long_a, long_b = "n" * 200 + "a", "n" * 200 + "b"

    cut_a, cut_b = owner.name(long_a), owner.name(long_b)

    assert len(cut_a) == len(cut_b) == 127
    assert cut_a != cut_b
    assert cut_a.startswith("k8s-c1-" + "n" * 109 + "-")
    assert all(char in "0123456789abcdef" for char in cut_a[-10:])
    assert owner.name("x" * 120) == "k8s-c1-" + "x" * 120  # exactly 127: kept whole
    assert len(owner.name("x" * 121)) == 127
    assert owner.name("x" * 121) != "k8s-c1-" + "x" * 120


def test_names_are_made_safe() -> None:
    assert Owner("c1").name("a b/c", "d:e") == "k8s-c1-a-b-c-d-e"
    assert Owner("c1", "edge_").name("n1.zone") == "edge_c1-n1.zone"


def test_long_node_names_make_valid_distinct_adc_names() -> None:
    names = ["node-" + "x" * 240 + suffix for suffix in ("a", "b")]
    desired = build(snapshot(nodes=[node(names[0], "10.0.0.1"), node(names[1], "10.0.0.2")], service_=service(HTTP)))

    assert len(desired.objects.nodes) == 2
    assert all(len(name) == 127 for name in desired.objects.nodes)
    fake = FakeAdc()
    for kind in ("nodes", "pools", "members", "vservers", "domains"):
        for obj in getattr(desired.objects, kind).values():
            fake.create(obj)  # names within the appliance's rules
    assert fake.state == desired.objects


def test_owner_marker_and_ownership() -> None:
    owner = Owner("c1")

    assert owner.marker == "managed-by=adcbridge;owner=c1"
    assert owner.owns("managed-by=adcbridge;owner=c1")
    assert owner.owns("note=x;owner=c1;managed-by=adcbridge")
    assert not owner.owns("")
    assert not owner.owns("managed-by=adcbridge;owner=other")
    assert not owner.owns("managed-by=other;owner=c1")
    assert not owner.owns("managed-by=adcbridge;owner=c10")


# ---------------------------------------------------------------------------- purity

NODES = [
    node("n2", "10.0.0.2", ipv6="fd00::2"),
    node("n1", "10.0.0.1", ipv6="fd00::1", ready=False),
    node("n3", "10.0.0.3", labels={"spot": "1"}),
]
HOSTS = [claim("b.example.com"), claim("bad_.example.com", "x"), claim("a.example.com", "y"), claim("localhost")]


def test_build_desired_is_deterministic_and_order_blind() -> None:
    config = settings(vip={"addresses": [VIP4, VIP6]}, nodes={"label_selector": "!spot"})
    snap = snapshot(nodes=NODES, hosts=HOSTS)
    shuffled = snapshot(nodes=list(reversed(NODES)), hosts=list(reversed(HOSTS)))

    first = build_desired(snap, config, unfit_since={"n1": 900.0})

    assert build_desired(snap, config, unfit_since={"n1": 900.0}) == first
    again = build_desired(shuffled, config, unfit_since={"n1": 900.0})
    assert again == first
    assert again.rejections == first.rejections  # order included
    for kind in ("nodes", "pools", "members", "vservers", "domains"):
        assert list(getattr(again.objects, kind)) == list(getattr(first.objects, kind))


def test_build_desired_does_not_mutate_its_inputs() -> None:
    config = settings(vip={"addresses": [VIP4, VIP6]})
    snap = snapshot(nodes=NODES, hosts=HOSTS)
    carried = {"n1": 900.0, "gone": 1.0}
    before = (copy.deepcopy(snap), config.model_dump(), dict(carried))

    desired = build_desired(snap, config, unfit_since=carried)

    assert (snap, config.model_dump(), carried) == before
    assert desired.unfit_since is not carried
    desired.unfit_since.clear()
    assert carried == {"n1": 900.0, "gone": 1.0}


# ---------------------------------------------------------------------------- properties


@hypothesis_settings(max_examples=150, deadline=None)
@given(snap=snapshots(), config=CONFIGS, carried=CARRIED)
def test_desired_state_is_one_the_appliance_accepts(
    snap: ClusterSnapshot, config: Any, carried: dict[str, float]
) -> None:
    desired = build_desired(snap, config, unfit_since=carried)

    fake = FakeAdc()
    for kind in ("nodes", "pools", "members", "vservers", "domains"):
        for obj in getattr(desired.objects, kind).values():
            fake.create(obj)  # names, addresses, references and unique values all valid
    assert fake.state == desired.objects
    assert all(obj.description == MARK for obj in _objects(desired.objects))
    assert desired.complete is snap.complete
    assert set(desired.unfit_since) <= {cluster_node.name for cluster_node in snap.nodes}
    if not desired.slb_known:
        assert _objects(desired.objects) == list(desired.objects.domains.values())
        assert desired.keep_only == frozenset()
        return
    # Exactly one ADC node per (cluster node still kept, VIP family it has an address in), named for both.
    grace, owner = config.nodes.drain_grace_seconds, Owner("c1")
    kept = [cn for cn in snap.nodes if desired.unfit_since.get(cn.name, 1e9) + grace > snap.taken_at]
    expected = {  # ADC node name -> (cluster node, family, address)
        owner.name(cn.name + ("_v6" if family == 6 else "")): (cn.name, family, address)
        for cn in kept
        for family in {ipaddress.ip_address(vip).version for vip in config.vip.addresses}
        if (address := node_address(cn, config.nodes.address_type, family)) is not None
    }
    assert {name: adc_node.ip for name, adc_node in desired.objects.nodes.items()} == {
        name: address for name, (_, _, address) in expected.items()
    }
    # Every pool has a member per node of its family, disabled exactly when the node is draining.
    for pool in desired.objects.pools.values():
        members = [member for member in desired.objects.members.values() if member.pool == pool.name]
        family = 6 if pool.name.endswith("-v6") else 4
        assert {member.node for member in members} == {name for name, fact in expected.items() if fact[1] == family}
        for member in members:
            draining = expected[member.node][0] in desired.unfit_since
            assert member.enable is not draining
            assert (f"member:{member.key}" in desired.keep_only) is draining


def _objects(state: AdcState) -> list[Any]:
    return [
        obj for kind in ("nodes", "pools", "members", "vservers", "domains") for obj in getattr(state, kind).values()
    ]
