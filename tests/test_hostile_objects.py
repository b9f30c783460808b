"""Hostile Kubernetes objects through the real path: JSON dicts -> snapshot -> desired -> plan.

Anyone allowed to create an Ingress or a VirtualServer writes hosts the bridge publishes, and a
VirtualServer is not even schema-checked by the API server. These properties feed the pure
core objects shaped like the API server's JSON with invalid, huge, unicode, duplicate and
conflicting values, wrong JSON types and missing metadata, and check what may reach the ADC:

- nothing raises, whatever the objects;
- every name and address in the desired state and in the planned operations is valid by a
  validator written here, independently of ``adcbridge.hostnames`` (RFC 1123 labels after
  IDNA, addresses that parse and are usable unicast, ADC object names);
- each rejected host is reported once per object (no duplicate rejection, no duplicate
  HostRejected Event), and every host the test knows to be invalid is rejected;
- every valid host of a valid object of our class is still desired, whatever sits beside it.

One end-to-end test sends garbage VirtualServers through the fake API server and the real
watchers into the mock ADC, whose validation would refuse an invalid name (code 1002).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcbridge.adc import open_adc
from adcbridge.config import Settings
from adcbridge.desired import build_desired
from adcbridge.k8s import objects
from adcbridge.k8s.api import KubeApi
from adcbridge.k8s.cluster_source import ClusterSource
from adcbridge.metrics import Metrics
from adcbridge.model import (
    AdcDomain,
    AdcMember,
    AdcNode,
    AdcObject,
    AdcPool,
    AdcState,
    AdcVserver,
    ClusterSnapshot,
    DesiredState,
    Plan,
)
from adcbridge.planner import plan
from adcbridge.presenting import findings
from adcbridge.reconciler import CycleReport, Reconciler
from mocks.adc import MockADC
from mocks.kube import manifests as k
from tests.builders import OTHER_MARK, OWNER, VIP4, VIP6, adc_domain, adc_member, adc_node, adc_pool, adc_vserver
from tests.builders import settings as make_settings
from tests.conftest import PASSWORD, USERNAME, Appliance
from tests.live import live_settings, seeded_kube
from tests.test_bridge_against_mock import changes_since
from tests.test_reconciler_loop import domains

HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
CONFIGS = [
    make_settings(),
    make_settings(vip={"addresses": [VIP4, VIP6]}, nodes={"address_type": "ExternalIP"}),
    make_settings(vip={"addresses": [VIP6]}, kic={"ports": ["http", 443, "nope"]}, nodes={"drain_grace_seconds": 0}),
]

# ---------------------------------------------------------------------------- an independent judge

_LDH = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_ADC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,126}")


def valid_dns_name(name: str) -> bool:
    """RFC 1123 after IDNA: ASCII, lower case, LDH labels of 1-63, at most 253, two labels or more,
    ``*`` only as the whole first label, ``xn--`` labels that decode, and not an IP address."""
    if not name.isascii() or name != name.lower() or len(name) > 253:
        return False
    labels = name.split(".")
    body = labels[1:] if labels[0] == "*" else labels
    if len(labels) < 2 or not body or not all(_LDH.fullmatch(label) for label in body):
        return False
    for label in body:
        if label.startswith("xn--"):
            try:
                label[4:].encode("ascii").decode("punycode")
            except UnicodeError:
                return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False


def usable_address(text: str) -> bool:
    """Parses, is written normalised, and is a unicast address a pool member or VIP can have."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    scoped = isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None
    return (
        str(address) == text
        and not (address.is_multicast or address.is_unspecified or address.is_link_local or scoped)
        and address != ipaddress.IPv4Address("255.255.255.255")
    )


def valid_vip(text: str) -> bool:
    host, _, port = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    return port.isdigit() and 1 <= int(port) <= 65535 and usable_address(host[1:-1] if bracketed else host)


def invalid_parts(obj: AdcObject) -> list[str]:
    """What is wrong with one ADC object we would send (empty when nothing)."""
    wrong: list[str] = []
    if isinstance(obj, AdcDomain):
        wrong += [] if valid_dns_name(obj.name) else [f"domain name {obj.name!r}"]
        wrong += [f"domain address {a!r}" for a in obj.addresses if not usable_address(a)]
        wrong += [] if obj.addresses and 1 <= obj.ttl <= 604800 else [f"domain {obj.name}: addresses/ttl"]
        return wrong
    names = [obj.pool, obj.node] if isinstance(obj, AdcMember) else [obj.name]
    names += [obj.pool] if isinstance(obj, AdcVserver) else []
    wrong += [f"object name {name!r}" for name in names if not _ADC_NAME.fullmatch(name)]
    if isinstance(obj, AdcNode) and not usable_address(obj.ip):
        wrong.append(f"node {obj.name} ip {obj.ip!r}")
    if isinstance(obj, AdcMember) and not 1 <= obj.port <= 65535:
        wrong.append(f"member port {obj.port}")
    if isinstance(obj, AdcVserver) and (not valid_vip(obj.vip) or obj.protocol not in ("tcp", "udp")):
        wrong.append(f"vserver {obj.name} vip {obj.vip!r}/{obj.protocol}")
    if isinstance(obj, AdcPool) and obj.method not in ("rr", "wrr", "lc", "ip-hash"):
        wrong.append(f"pool method {obj.method!r}")
    return wrong


def test_the_judge_itself() -> None:
    assert valid_dns_name("www.example.com")
    assert valid_dns_name("*.apps.example.com")
    assert valid_dns_name("xn--bcher-kva.example")
    for bad in [
        "WWW.example.com",
        "x",
        "a..b",
        "-a.com",
        "a_b.com",
        "*.*.com",
        "a.*.com",
        "10.0.0.1",
        "b\u00fccher.de",
    ]:
        assert not valid_dns_name(bad), bad
    assert not valid_dns_name("a" * 64 + ".com")
    assert not valid_dns_name(".".join(["a" * 63] * 4))
    assert usable_address("10.0.0.1")
    assert usable_address("2001:db8::1")
    for bad in ["0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "fe80::1", "fe80::1%eth0", "2001:DB8::1", "x"]:
        assert not usable_address(bad), bad


# ---------------------------------------------------------------------------- hostile values

# (raw host, what it must become): a name it must be published as, or None: it must be rejected.
VALID_HOSTS = {
    "www.example.com": "www.example.com",
    "WWW.Example.COM.": "www.example.com",
    "*.apps.example.com": "*.apps.example.com",
    "a-b.c-d.example.org": "a-b.c-d.example.org",
    "xn--bcher-kva.example": "xn--bcher-kva.example",
    ("l" * 63) + ".example.com": ("l" * 63) + ".example.com",
}
INVALID_HOSTS = [
    " ",
    "x",
    "localhost.",
    "10.0.0.1",
    "::1",
    "[::1]",
    "2001:db8::1",
    "a..example.com",
    ".example.com",
    "-a.example.com",
    "a-.example.com",
    "a_b.example.com",
    "*.*.example.com",
    "a.*.example.com",
    "*",
    "*.",
    ".",
    "..",
    "ex ample.com",
    "exa\x00mple.com",
    "example.com/path",
    "user@example.com",
    "example.com:443",
    ("a" * 64) + ".com",
    ".".join(["a" * 63] * 4),
    "xn--.example",
    "xn--zz-.example",
    "\u200b.example.com",
    "\U0001f4a9\u200d.example",
]
# Unicode and IDN: the product may publish them (as valid punycode) or reject them; either way
# nothing invalid may come out.
UNICODE_HOSTS = ["bücher.example", "☃.net", "ÄÖÜ.example", "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "ß.de"]
UNICODE_HOSTS += ["مثال.إختبار", "例え.テスト"]
GARBAGE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
HOSTILE_HOSTS = st.one_of(
    st.sampled_from(INVALID_HOSTS),
    st.sampled_from(UNICODE_HOSTS),
    st.sampled_from(sorted(VALID_HOSTS)),
    st.text(max_size=70),
    st.text(alphabet="abcXYZ09-_.*\u00fc ", max_size=300),
    GARBAGE,  # a number, a list, null where a string is
)
NAMESPACES = ["default", "shop", "web", "team-a"]
CLASSES = ["njet", "njet", "nginx", None, "", 5, ["njet"]]
ADDRESSES = [
    "10.0.0.1",
    "10.0.0.1",  # duplicate across nodes
    "10.0.0.2",
    "2001:db8::5",
    "2001:DB8:0::6",
    "::ffff:10.0.0.9",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "ff02::1",
    "255.255.255.255",
    "fe80::1",
    "fe80::1%eth0",
    "169.254.0.1",
    "127.0.0.1",
    "999.1.1.1",
    "10.0.0.1 ",
    "",
    "node-a.example",
]
PORT_NUMBERS = st.one_of(
    st.sampled_from([80, 443, 30080, 30443, 0, -1, 65535, 65536, 2**40, "80", None, 1.5, True]), GARBAGE
)


def metadata(name: Any, namespace: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "uid": "u", "resourceVersion": "1", **extra}


@st.composite
def hostile_names(draw: st.DrawFn) -> Any:
    return draw(
        st.one_of(st.sampled_from(["bad-a", "bad-b", "bad-c"]), st.sampled_from(["", "Bad_Name", "é"]), GARBAGE)
    )


@st.composite
def hostile_ingresses(draw: st.DrawFn) -> dict[str, Any]:
    hosts = draw(st.lists(HOSTILE_HOSTS, max_size=4))
    annotations: dict[str, Any] = {}
    if draw(st.booleans()):
        annotations[objects.MERGEABLE_ANNOTATION] = draw(st.sampled_from(["master", "minion", "", "Master", 1]))
    if draw(st.booleans()):
        annotations[objects.LEGACY_CLASS_ANNOTATION] = draw(st.sampled_from(["njet", "nginx", 7]))
    huge = draw(st.sampled_from([0, 0, 0, 3000]))  # a huge list of rules
    rules: list[Any] = [{"host": host, "http": {"paths": []}} for host in hosts] + [
        {"host": f"h{index}.huge.example"} for index in range(huge)
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(draw(hostile_names()), draw(st.sampled_from(NAMESPACES)), annotations=annotations),
        "spec": {
            "ingressClassName": draw(st.sampled_from(CLASSES)),
            "rules": draw(st.sampled_from([rules, rules, rules, None, "rules", [None, 5]])),
            "tls": [{"hosts": draw(st.lists(HOSTILE_HOSTS, max_size=3))}],
        },
    }


@st.composite
def hostile_virtual_servers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "apiVersion": draw(st.sampled_from(["k8s.njet.org/v1", "k8s.njet.org/v1", "k8s.nginx.org/v1", "v2", None])),
        "kind": "VirtualServer",
        "metadata": metadata(draw(hostile_names()), draw(st.sampled_from([*NAMESPACES, None, 3]))),
        "spec": draw(st.one_of(st.just(None), GARBAGE, st.fixed_dictionaries({
            "host": HOSTILE_HOSTS, "ingressClassName": st.sampled_from(CLASSES)
        }))),
    }  # fmt: skip


@st.composite
def hostile_nodes(draw: st.DrawFn, min_addresses: int = 0) -> dict[str, Any]:
    """Mostly well-formed Nodes whose addresses are hostile; one in eight is broken in its shape
    (an empty address, a bad name, a string for a list), which makes the whole Node unreadable."""
    kinds = st.sampled_from(["InternalIP", "InternalIP", "InternalIP", "ExternalIP", "Hostname"])
    address = st.fixed_dictionaries({"type": kinds, "address": st.sampled_from([text for text in ADDRESSES if text])})
    addresses: Any = draw(st.lists(address, min_size=min_addresses, max_size=4))
    name: Any = draw(st.sampled_from(["node-a", "node-b", "node-c", "node-d", "node-e", "node-f"]))
    unschedulable: Any = draw(st.sampled_from([False, False, False, True, None]))
    if draw(st.integers(0, 7)) == 0:
        broken = draw(st.sampled_from(["name", "address", "addresses", "unschedulable"]))
        name = draw(st.sampled_from(["", "Node_X", None, 5])) if broken == "name" else name
        addresses = [*addresses, {"type": "InternalIP", "address": ""}] if broken == "address" else addresses
        addresses = draw(st.sampled_from([None, "10.0.0.1", [5]])) if broken == "addresses" else addresses
        unschedulable = "yes" if broken == "unschedulable" else unschedulable
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata(name, None),
        "spec": {"unschedulable": unschedulable},
        "status": {
            "addresses": addresses,
            "conditions": [{"type": "Ready", "status": draw(st.sampled_from(["True", "True", "True", "False", 1]))}],
        },
    }


@st.composite
def hostile_services(draw: st.DrawFn) -> dict[str, Any]:
    port = st.fixed_dictionaries(
        {
            "name": st.sampled_from(["http", "https", "", None, 5]),
            "protocol": st.sampled_from(["TCP", "UDP", "SCTP", "tcp", None, 6]),
            "port": PORT_NUMBERS,
            "nodePort": PORT_NUMBERS,
        }
    )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata("njet-ingress-controller", "njet-ingress"),
        "spec": {
            "type": draw(st.sampled_from(["NodePort", "LoadBalancer", None, 1])),
            "ports": draw(st.one_of(st.lists(port, max_size=5), GARBAGE)),
            "externalTrafficPolicy": draw(st.sampled_from(["Cluster", "Local", None, []])),
        },
    }


def corrupted(obj: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """``obj`` with one field replaced by ``value`` (or removed when value is ``...``)."""
    if not path:
        return obj
    copy = dict(obj)
    if len(path) == 1:
        if value is ...:
            copy.pop(path[0], None)
        else:
            copy[path[0]] = value
        return copy
    inner = copy.get(path[0])
    copy[path[0]] = corrupted(inner, path[1:], value) if isinstance(inner, dict) else inner
    return copy


FIELD_PATHS = [["metadata"], ["metadata", "name"], ["metadata", "namespace"], ["kind"], ["apiVersion"], ["spec"]]


@st.composite
def garbage_objects(draw: st.DrawFn) -> Any:
    """A hostile object with one more field broken or missing, or no object at all."""
    base = draw(st.one_of(hostile_ingresses(), hostile_virtual_servers(), hostile_nodes(), hostile_services()))
    if draw(st.integers(0, 3)) == 0:
        base = corrupted(base, draw(st.sampled_from(FIELD_PATHS)), draw(st.just(...) | GARBAGE))
    return base if draw(st.integers(0, 7)) else draw(GARBAGE)


@st.composite
def valid_objects(draw: st.DrawFn) -> tuple[list[dict[str, Any]], set[str]]:
    """Well-formed Ingresses and VirtualServers of our class with valid hosts, and the names they
    must be published as. Their names (``ok-N``) are never used by the hostile objects."""
    made: list[dict[str, Any]] = []
    expected: set[str] = set()
    for index in range(draw(st.integers(0, 4))):
        namespace = draw(st.sampled_from(NAMESPACES))
        hosts = draw(
            st.lists(st.sampled_from(sorted(VALID_HOSTS)), min_size=1, max_size=3)
        )  # shared across objects too
        if draw(st.booleans()):
            obj = k.ingress(f"ok-{index}", namespace, hosts[0], tls_hosts=tuple(hosts[1:]))
        else:
            obj = k.virtual_server(f"ok-{index}", namespace, hosts[0])
            hosts = hosts[:1]
        made.append(obj)
        expected |= {VALID_HOSTS[host] for host in hosts}
    return made, expected


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[Any], set[str]]:
    """The basic cluster (a good Service and nodes, unless a hostile one replaces them), the valid
    objects and the hostile ones, shuffled; and the names that must be published."""
    valid, expected = draw(valid_objects())
    hostile = draw(st.lists(garbage_objects(), max_size=8)) + draw(st.lists(hostile_nodes(), max_size=4))
    base = [k.service(), k.node("node-a", "10.0.0.11"), k.node("node-b", "10.0.0.12"), k.ingress_class()]
    # the same object twice (with a conflicting class): the last one counts, reported
    twins = [k.ingress("bad-twin", "shop", "twin.example.com", class_name=cls) for cls in ("nginx", "njet")]
    mixed = draw(st.permutations([*valid, *hostile, *draw(st.sampled_from([[], twins]))]))
    # a good KIC Service last, half the time, overrides the hostile ones (the last one counts),
    # so that the SLB side is often known and hostile nodes become members
    return [*base, *mixed, *draw(st.sampled_from([[], [k.service()]]))], expected


POPULATED = AdcState.of(
    [
        adc_node("k8s-c1-node-a", "10.0.0.11"),
        adc_node("k8s-c1-stale", "10.0.0.99"),
        adc_node("foreign-node", "10.0.0.12", description=OTHER_MARK),
        adc_pool("k8s-c1-80-tcp"),
        adc_member("k8s-c1-80-tcp", "k8s-c1-node-a", 30080),
        adc_vserver("k8s-c1-192.0.2.10-80-tcp", "192.0.2.10:80", "k8s-c1-80-tcp"),
        adc_domain("www.example.com"),
        adc_domain("gone.example.com"),
        adc_domain("xn--bcher-kva.example", description=OTHER_MARK),
    ]
)


def run_core(items: list[Any], config_index: int) -> tuple[ClusterSnapshot, DesiredState, list[Plan]]:
    config = CONFIGS[config_index]
    snapshot = objects.snapshot_from(items, config, taken_at=1000.0)
    desired = build_desired(snapshot, config)
    plans = [plan(desired, observed, OWNER, config.policy) for observed in (AdcState(), POPULATED)]
    return snapshot, desired, plans


def assert_nothing_invalid(desired: DesiredState, plans: list[Plan]) -> None:
    objects_sent: list[AdcObject] = [obj for kind in range(1, 6) for obj in desired.objects.of_kind(kind).values()]  # type: ignore[arg-type]
    objects_sent += [op.obj for current in plans for op in (*current.operations, *current.held_back)]
    problems = [problem for obj in objects_sent for problem in invalid_parts(obj)]
    assert problems == []


# ---------------------------------------------------------------------------- properties


@HYPOTHESIS
@given(cluster=clusters(), config_index=st.integers(0, len(CONFIGS) - 1))
def test_hostile_objects_never_crash_nor_reach_the_adc_invalid(
    cluster: tuple[list[Any], set[str]], config_index: int
) -> None:
    items, expected = cluster
    snapshot, desired, plans = run_core(items, config_index)
    assert_nothing_invalid(desired, plans)

    # each rejected host is reported once per object, and is a host that object claimed
    rejected = Counter((r.host, r.source) for r in desired.rejections)
    assert [pair for pair, count in rejected.items() if count > 1] == []
    claims = {(claim.host, claim.source) for claim in snapshot.hosts}
    assert set(rejected) <= claims
    events = Counter((f.ref, f.message) for f in findings(report_of(snapshot, desired, plans[0]), CONFIGS[0].kic))
    assert [event for event, count in events.items() if count > 1] == []

    # what the test knows to be invalid is rejected; what it knows to be valid is published
    for host, source in claims:
        if host in INVALID_HOSTS:
            assert (host, source) in rejected, host
    published = set(desired.names)
    assert expected <= published, expected - published
    assert all(valid_dns_name(name) for name in published)
    if "twin.example.com" in {host for host, _ in claims}:
        assert any("appears more than once" in problem for problem in snapshot.problems)


@HYPOTHESIS
@given(
    nodes=st.lists(hostile_nodes(min_addresses=1), min_size=1, max_size=6),
    service=st.one_of(hostile_services(), st.builds(k.service)),
    config_index=st.integers(0, len(CONFIGS) - 1),
)
def test_hostile_nodes_and_services_give_only_valid_slb_objects(
    nodes: list[dict[str, Any]], service: dict[str, Any], config_index: int
) -> None:
    _snapshot, desired, plans = run_core([service, *nodes], config_index)
    assert_nothing_invalid(desired, plans)
    # and they reference each other: the ADC refuses a member of a missing node or pool (2005)
    wanted = desired.objects
    node_names = {node.name for node in wanted.nodes.values()}
    assert all(m.node in node_names and m.pool in wanted.pools for m in wanted.members.values())
    assert all(vserver.pool in wanted.pools for vserver in wanted.vservers.values())
    assert desired.slb_known or not wanted.pools


@HYPOTHESIS
@given(hosts=st.lists(HOSTILE_HOSTS, max_size=6), namespaces=st.lists(st.sampled_from(NAMESPACES), min_size=1))
def test_the_same_hosts_in_many_objects_and_namespaces_give_one_domain_and_one_rejection_each(
    hosts: list[Any], namespaces: list[str]
) -> None:
    texts = [host for host in hosts if isinstance(host, str) and host]
    items: list[Any] = [k.service(), k.node("node-a", "10.0.0.11")]
    for index, namespace in enumerate(namespaces):
        items += [k.virtual_server(f"vs-{index}", namespace, host) for host in texts[:1]]
        rule = k.ingress(f"in-{index}", namespace, texts[0] if texts else "fixed.example.com")
        rule["spec"]["tls"] = [{"hosts": texts}]
        items += [rule, rule]  # the very same object twice as well
    snapshot, desired, plans = run_core(items, 0)
    assert_nothing_invalid(desired, plans)
    rejections = Counter((r.host, r.source) for r in desired.rejections)
    assert all(count == 1 for count in rejections.values())
    rejected_hosts = {host for host, _ in rejections}
    for host in rejected_hosts:  # every object that claims a rejected host has its own rejection
        assert {src for h, src in rejections if h == host} == {c.source for c in snapshot.hosts if c.host == host}
    assert len(desired.objects.domains) == len(set(desired.names)) <= len(set(texts) - rejected_hosts) + 1


def report_of(snapshot: ClusterSnapshot, desired: DesiredState, current: Plan) -> CycleReport:
    return CycleReport(started_at=0.0, snapshot=snapshot, desired=desired, plan=current)


def test_huge_values_are_rejected_quickly_and_the_rest_served() -> None:
    long_label = "a" * 100_000 + ".example.com"
    many_labels = ".".join(["a"] * 50_000) + ".com"
    items: list[Any] = [k.service(), k.node("node-a", "10.0.0.11")]
    items.append(k.ingress("huge", "shop", long_label, tls_hosts=(many_labels, "kept.example.com")))
    wide = k.ingress("wide", "shop", "wide.example.com")
    wide["spec"]["rules"] += [{"host": f"h{i}.wide.example.com"} for i in range(5000)]
    items.append(wide)
    nodes = k.node("node-b", "10.0.0.12")
    nodes["status"]["addresses"] = [{"type": "InternalIP", "address": "224.0.0.1"}] * 10_000
    items.append(nodes)
    _snapshot, desired, plans = run_core(items, 0)
    assert_nothing_invalid(desired, plans)
    assert {"kept.example.com", "wide.example.com", "h4999.wide.example.com"} <= set(desired.names)
    assert {r.host for r in desired.rejections} == {long_label, many_labels}
    assert [n.name for n in desired.objects.nodes.values()] == ["k8s-c1-node-a"]  # node-b has no usable address


@pytest.mark.parametrize(
    "address", ["224.0.0.1", "255.255.255.255", "ff02::1", "fe80::1", "fe80::1%eth0", "169.254.1.1", "0.0.0.0", "::"]
)
def test_a_node_whose_address_is_not_usable_unicast_is_no_member(address: str) -> None:
    node = k.node("node-a", "10.0.0.11")
    node["status"]["addresses"] = [{"type": "InternalIP", "address": address}]
    config = make_settings(vip={"addresses": [VIP4, VIP6]})
    desired = build_desired(objects.snapshot_from([k.service(), node], config, taken_at=1.0), config)
    assert desired.objects.nodes == {}
    assert any("no ready node has an IPv4 InternalIP" in reason for reason in desired.degraded)


# ---------------------------------------------------------------------------- through the wire


@asynccontextmanager
async def running_live_bridge(config: Settings) -> AsyncIterator[Callable[[], Awaitable[CycleReport]]]:
    """The real watchers on the fake API server, the real driver on the mock ADC: ``await cycle()``."""
    async with await KubeApi.connect(config.kube) as api, ClusterSource(api, config) as source:
        assert await source.wait_synced(5), source.unsettled()
        async with open_adc(config) as adc:
            yield Reconciler(config, source, adc, Metrics()).run_once


async def test_garbage_virtual_servers_through_the_api_server_reach_the_adc_only_valid(
    tmp_path: Path, mock_adc: MockADC, adc: Appliance, caplog: pytest.LogCaptureFixture
) -> None:
    """Custom resources are not schema-checked, so garbage goes through HTTP, the real watchers
    and the real driver; the mock ADC refuses any invalid name with 1002 and records it."""
    async with seeded_kube(tmp_path) as kube:
        kube.create(k.virtual_server_crd())
        garbage: list[Any] = [12, None, ["a.example.com"], {"x": 1}, "", "Bad_Host.example.com", "x", "::1"]
        garbage += ["*.*.example.com", "bücher.example", ("a" * 64) + ".example.com", "a..b.example.com"]
        for index, host in enumerate(garbage):
            obj = k.virtual_server(f"bad-{index}", "web", "placeholder.example.com")
            obj["spec"]["host"] = host
            kube.create(obj)
        kube.create(k.virtual_server("good", "web", "good.example.com"))
        kube.create(k.ingress("twin", "shop", "good.example.com"))  # the same host from another namespace
        config = live_settings(tmp_path, adc={"url": mock_adc.url, "username": USERNAME, "password": PASSWORD})
        with caplog.at_level(logging.WARNING, logger="adcbridge"):
            async with running_live_bridge(config) as cycle:
                first = await cycle()
                second = await cycle()
    assert first.desired is not None
    assert second.ok
    assert await domains(adc) == {"good.example.com", "xn--bcher-kva.example"}
    codes = {change["code"] for change in await changes_since(adc, 0)}
    assert codes == {0}, codes  # nothing the appliance refused was ever sent
    rejected = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected host")]
    assert len(rejected) == len(set(rejected)) == len(first.desired.rejections) == 6  # logged once, not per cycle
    assert not first.desired.complete  # the VirtualServers with non-string hosts were skipped: no deletes
