"""The offline cluster source: Kubernetes objects (plain dicts, or a YAML file) to a ClusterSnapshot.

Table-driven over the rules of ``adcbridge.k8s.objects`` (ingress class, hosts, mergeable
Ingresses, endpoints, nodes, the KIC Service, malformed objects), then the file shapes and
errors of ``adcbridge.k8s.snapshot_file``, the demo file, and two properties: junk never
crashes the reader and is always reported, and the order of objects does not matter.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcbridge.config import KicSettings
from adcbridge.errors import SnapshotError
from adcbridge.k8s import snapshot_file
from adcbridge.k8s.objects import endpoint_nodes, node_from, service_from, snapshot_from
from adcbridge.k8s.snapshot_file import load_objects, read_snapshot
from adcbridge.model import ClusterNode, ClusterSnapshot, KicService, ObjectRef, ServicePort
from tests import builders

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo"  # a directory: the demo cluster, also the fake API server's seed
KIC = KicSettings()  # njet-ingress/njet-ingress-controller, class njet
TAKEN_AT = 1000.0
Obj = dict[str, Any]

# ---------------------------------------------------------------------------- object builders


def ingress(
    name: str = "web",
    namespace: str = "default",
    *,
    hosts: tuple[str, ...] = ("web.example.com",),
    tls: tuple[tuple[str, ...], ...] = (),
    class_name: str | None = "njet",
    legacy: str | None = None,
    mergeable: str | None = None,
) -> Obj:
    annotations = {}
    if legacy is not None:
        annotations["kubernetes.io/ingress.class"] = legacy
    if mergeable is not None:
        annotations["njet.org.cn/mergeable-ingress-type"] = mergeable
    spec: Obj = {"rules": [{"host": host} for host in hosts], "tls": [{"hosts": list(group)} for group in tls]}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": spec,
    }


def virtual_server(host: str = "vs.example.com", *, class_name: str | None = "njet", **metadata: Any) -> Obj:
    spec: Obj = {"host": host}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {
        "apiVersion": "k8s.njet.org/v1",
        "kind": "VirtualServer",
        "metadata": {"name": "vs", "namespace": "default", **metadata},
        "spec": spec,
    }


def ingress_class(name: str = "njet", *, default: str | None = "true") -> Obj:
    annotations = {} if default is None else {"ingressclass.kubernetes.io/is-default-class": default}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"controller": "k8s.njet.org/ingress-controller"},
    }


def kic_service(*ports: Obj, name: str = "njet-ingress-controller", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "njet-ingress"},
        "spec": {"type": "NodePort", "ports": list(ports), **spec},
    }


def node(name: str = "n1", *, ready: str | None = "True", **fields: Any) -> Obj:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, **fields.pop("metadata", {})},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}], "conditions": conditions},
    }
    return {**obj, **fields}


def endpoint_slice(
    *endpoints: Obj, service: str = "njet-ingress-controller", namespace: str = "njet-ingress", name: str = "s1"
) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": namespace, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": list(endpoints),
    }


def snap(*objects: Any, kic: KicSettings = KIC, complete: bool = True) -> ClusterSnapshot:
    return snapshot_from(list(objects), kic, taken_at=TAKEN_AT, complete=complete)


def claims(snapshot: ClusterSnapshot) -> list[str]:
    return [f"{claim.host} <- {claim.source}" for claim in snapshot.hosts]


# ---------------------------------------------------------------------------- ingress class and hosts

CLASS_CASES = [
    ("ingressClassName ours", [ingress()], ["web.example.com <- Ingress default/web"]),
    ("ingressClassName other", [ingress(class_name="nginx")], []),
    ("legacy annotation ours", [ingress(class_name=None, legacy="njet")], ["web.example.com <- Ingress default/web"]),
    ("legacy annotation other", [ingress(class_name=None, legacy="nginx")], []),
    ("field wins over annotation", [ingress(legacy="nginx")], ["web.example.com <- Ingress default/web"]),
    ("field other, annotation ours", [ingress(class_name="nginx", legacy="njet")], []),
    (
        "no class, ours is default",
        [ingress_class(), ingress(class_name=None)],
        ["web.example.com <- Ingress default/web"],
    ),
    ("no class, ours not default", [ingress_class(default="false"), ingress(class_name=None)], []),
    ("no class, default-class not exactly true", [ingress_class(default="True"), ingress(class_name=None)], []),
    ("no class, no IngressClass", [ingress(class_name=None)], []),
    ("no class, another class is default", [ingress_class("nginx"), ingress(class_name=None)], []),
    (
        "empty class name counts as unset",
        [ingress_class(), ingress(class_name="")],
        ["web.example.com <- Ingress default/web"],
    ),
    ("default does not take named classes", [ingress_class(), ingress(class_name="nginx")], []),
    (
        "rules and tls hosts, once each, empty skipped",
        [ingress(hosts=("a.example.com", "", "b.example.com"), tls=(("b.example.com", "c.example.com", ""), ()))],
        [
            "a.example.com <- Ingress default/web",
            "b.example.com <- Ingress default/web",
            "c.example.com <- Ingress default/web",
        ],
    ),
    (
        "rule without host claims nothing",
        [{**ingress(), "spec": {"ingressClassName": "njet", "rules": [{"http": {}}, {"host": None}]}}],
        [],
    ),
    ("hosts are passed raw", [ingress(hosts=("Shop.Example.COM.",))], ["Shop.Example.COM. <- Ingress default/web"]),
    ("VirtualServer ours", [virtual_server()], ["vs.example.com <- VirtualServer default/vs"]),
    ("VirtualServer other class", [virtual_server(class_name="nginx")], []),
    (
        "VirtualServer no class, ours default",
        [ingress_class(), virtual_server(class_name=None)],
        ["vs.example.com <- VirtualServer default/vs"],
    ),
    ("VirtualServer no class, no default", [virtual_server(class_name=None)], []),
    (
        "VirtualServer ignores the legacy annotation",
        [virtual_server(class_name=None, annotations={"kubernetes.io/ingress.class": "njet"})],
        [],
    ),
    ("VirtualServer without host", [virtual_server(host="")], []),
    ("another group's VirtualServer", [{**virtual_server(), "apiVersion": "k8s.nginx.org/v1"}], []),
    (
        "kinds we do not read",
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": 1}}],
        [],
    ),
    (
        "sorted by host then source",
        [ingress("b", hosts=("z.example.com", "a.example.com")), ingress("a", "other", hosts=("a.example.com",))],
        [
            "a.example.com <- Ingress default/b",
            "a.example.com <- Ingress other/a",
            "z.example.com <- Ingress default/b",
        ],
    ),
]


@pytest.mark.parametrize(("objects", "expected"), [case[1:] for case in CLASS_CASES], ids=[c[0] for c in CLASS_CASES])
def test_hosts_are_claimed_by_our_class_only(objects: list[Obj], expected: list[str]) -> None:
    snapshot = snap(*objects)
    assert claims(snapshot) == expected
    assert snapshot.problems == ()
    assert snapshot.complete


def test_ingress_class_comes_from_the_settings_whole_or_kic_group() -> None:
    objects = [ingress(class_name="edge"), ingress("other", class_name="njet")]
    whole = builders.settings(kic={"ingress_class": "edge"})
    assert claims(snapshot_from(objects, whole, taken_at=TAKEN_AT)) == ["web.example.com <- Ingress default/web"]
    assert claims(snapshot_from(objects, whole.kic, taken_at=TAKEN_AT)) == ["web.example.com <- Ingress default/web"]


# ---------------------------------------------------------------------------- mergeable Ingresses

MERGEABLE_CASES = [
    (
        "master claims, minion in another namespace claims nothing",
        [
            ingress("m", "pay", hosts=("pay.example.com",), tls=(("pay.example.com",),), mergeable="master"),
            ingress("c", "checkout", hosts=("pay.example.com",), mergeable="minion"),
        ],
        ["pay.example.com <- Ingress pay/m"],
        [],
    ),
    (
        "orphan minion",
        [ingress("c", "checkout", hosts=("pay.example.com",), mergeable="minion")],
        [],
        ["orphan_minion pay.example.com <- Ingress checkout/c"],
    ),
    (
        "a master of another class is no master",
        [
            ingress("m", "pay", hosts=("pay.example.com",), class_name="nginx", mergeable="master"),
            ingress("c", "checkout", hosts=("pay.example.com",), mergeable="minion"),
        ],
        [],
        ["orphan_minion pay.example.com <- Ingress checkout/c"],
    ),
    (
        "a regular Ingress of the host is no master",
        [
            ingress("r", "pay", hosts=("pay.example.com",)),
            ingress("c", "checkout", hosts=("pay.example.com",), mergeable="minion"),
        ],
        ["pay.example.com <- Ingress pay/r"],
        ["orphan_minion pay.example.com <- Ingress checkout/c"],
    ),
    (
        "master's host differs: only the minion's other host is orphan",
        [
            ingress("m", "pay", hosts=("pay.example.com",), mergeable="master"),
            ingress("c", "checkout", hosts=("pay.example.com", "shop.example.com"), mergeable="minion"),
        ],
        ["pay.example.com <- Ingress pay/m"],
        ["orphan_minion shop.example.com <- Ingress checkout/c"],
    ),
    (
        "minion without host",
        [ingress("c", "checkout", hosts=(), mergeable="minion")],
        [],
        ["orphan_minion  <- Ingress checkout/c"],
    ),
    (
        "another class's orphan minion is not our problem",
        [ingress("c", "checkout", class_name="nginx", mergeable="minion")],
        [],
        [],
    ),
    (
        "invalid type: each host rejected (the KIC rejects the Ingress)",
        [ingress(hosts=("web.example.com",), tls=(("tls.example.com",),), mergeable="Master")],
        [],
        [
            "invalid_mergeable tls.example.com <- Ingress default/web",
            "invalid_mergeable web.example.com <- Ingress default/web",
        ],
    ),
    (
        "empty type is invalid too, with or without a host",
        [ingress(mergeable=""), ingress("bare", hosts=(), mergeable="")],
        [],
        ["invalid_mergeable  <- Ingress default/bare", "invalid_mergeable web.example.com <- Ingress default/web"],
    ),
]


def rejected(snapshot: ClusterSnapshot) -> list[str]:
    return sorted(f"{r.cause} {r.host} <- {r.source}" for r in snapshot.rejections)


@pytest.mark.parametrize(
    ("objects", "expected", "rejections"), [case[1:] for case in MERGEABLE_CASES], ids=[c[0] for c in MERGEABLE_CASES]
)
def test_mergeable_ingresses(objects: list[Obj], expected: list[str], rejections: list[str]) -> None:
    snapshot = snap(*objects)
    assert claims(snapshot) == expected
    assert rejected(snapshot) == rejections
    assert snapshot.problems == ()  # one tenant's mistake says nothing against the view
    assert snapshot.complete  # a rejected or orphan Ingress is understood, not unknown


def test_rejection_reasons_say_what_is_wrong() -> None:
    orphan, bare, invalid = snap(
        ingress("c", "checkout", hosts=("pay.example.com",), mergeable="minion"),
        ingress("d", "checkout", hosts=(), mergeable="minion"),
        ingress(mergeable="Master"),
    ).rejections
    assert orphan.reason == "minion without a master Ingress for this host; the KIC serves none of its paths"
    assert bare.reason.startswith("minion without a host")
    assert invalid.reason.startswith("njet.org.cn/mergeable-ingress-type is 'Master', not master or minion")


# ---------------------------------------------------------------------------- endpoints

ENDPOINT_CASES = [
    ("ready true", [endpoint_slice({"nodeName": "a", "conditions": {"ready": True}})], {"a"}),
    ("ready false", [endpoint_slice({"nodeName": "a", "conditions": {"ready": False}})], set()),
    ("ready absent means ready", [endpoint_slice({"nodeName": "a", "conditions": {"serving": True}})], {"a"}),
    ("ready null means ready", [endpoint_slice({"nodeName": "a", "conditions": {"ready": None}})], {"a"}),
    ("conditions absent", [endpoint_slice({"nodeName": "a"})], {"a"}),
    ("no nodeName counts for no node", [endpoint_slice({"conditions": {"ready": True}})], set()),
    ("no endpoints", [endpoint_slice()], set()),
    ("another service's slice", [endpoint_slice({"nodeName": "a"}, service="other")], set()),
    ("same name in another namespace", [endpoint_slice({"nodeName": "a"}, namespace="default")], set()),
    (
        "union over slices",
        [
            endpoint_slice({"nodeName": "a"}, {"nodeName": "b", "conditions": {"ready": False}}),
            endpoint_slice({"nodeName": "b"}, name="s2"),
        ],
        {"a", "b"},
    ),
]


@pytest.mark.parametrize(
    ("slices", "expected"), [case[1:] for case in ENDPOINT_CASES], ids=[c[0] for c in ENDPOINT_CASES]
)
def test_endpoint_nodes(slices: list[Obj], expected: set[str]) -> None:
    service = KicService("njet-ingress", "njet-ingress-controller", "NodePort", ())
    assert endpoint_nodes(slices, service) == expected
    assert endpoint_nodes(slices, ObjectRef("Service", "njet-ingress", "njet-ingress-controller")) == expected
    assert snap(*slices).endpoint_nodes == expected  # the Service itself need not be in the snapshot


# ---------------------------------------------------------------------------- nodes

NODE_CASES = [
    ("ready", node(), {"ready": True}),
    ("not ready", node(ready="False"), {"ready": False}),
    ("ready unknown", node(ready="Unknown"), {"ready": False}),
    ("no Ready condition", node(ready=None), {"ready": False}),
    (
        "Ready among other conditions",
        {
            **node(),
            "status": {"conditions": [{"type": "DiskPressure", "status": "True"}, {"type": "Ready", "status": "True"}]},
        },
        {"ready": True, "addresses": ()},
    ),
    ("no status at all", {**node(), "status": None}, {"ready": False, "addresses": ()}),
    ("cordoned", node(spec={"unschedulable": True}), {"unschedulable": True}),
    ("unschedulable false", node(spec={"unschedulable": False}), {"unschedulable": False}),
    ("deleting", node(metadata={"deletionTimestamp": "2024-05-01T10:00:00Z"}), {"deleting": True}),
    ("labels, sorted", node(metadata={"labels": {"z": "1", "a": "2"}}), {"labels": (("a", "2"), ("z", "1"))}),
    (
        "addresses in the node's order",
        {
            **node(),
            "status": {
                "addresses": [
                    {"type": "Hostname", "address": "n1"},
                    {"type": "ExternalIP", "address": "203.0.113.1"},
                    {"type": "InternalIP", "address": "10.0.0.1"},
                ],
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        },
        {"addresses": (("Hostname", "n1"), ("ExternalIP", "203.0.113.1"), ("InternalIP", "10.0.0.1"))},
    ),
]


@pytest.mark.parametrize(("obj", "fields"), [case[1:] for case in NODE_CASES], ids=[c[0] for c in NODE_CASES])
def test_node_from(obj: Obj, fields: dict[str, Any]) -> None:
    expected = {
        "name": "n1",
        "addresses": (("InternalIP", "10.0.0.1"),),
        "ready": True,
        "unschedulable": False,
        "labels": (),
        "deleting": False,
        **fields,
    }
    assert node_from(obj) == ClusterNode(**expected)
    assert snap(obj).nodes == (ClusterNode(**expected),)


def test_nodes_are_sorted_by_name() -> None:
    assert [n.name for n in snap(node("c"), node("a"), node("b")).nodes] == ["a", "b", "c"]


# ---------------------------------------------------------------------------- the KIC Service

SERVICE_CASES = [
    (
        "ports with and without nodePort",
        kic_service(
            {"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080},
            {"name": "metrics", "protocol": "TCP", "port": 9113},
            {"name": "dns", "protocol": "UDP", "port": 53, "nodePort": 0},
        ),
        KicService(
            "njet-ingress",
            "njet-ingress-controller",
            "NodePort",
            (
                ServicePort("http", "TCP", 80, 30080),
                ServicePort("metrics", "TCP", 9113, None),
                ServicePort("dns", "UDP", 53, None),
            ),
        ),
    ),
    (
        "defaults: TCP, no name, ClusterIP, Cluster",
        {**kic_service({"port": 80}), "spec": {"ports": [{"port": 80}]}},
        KicService("njet-ingress", "njet-ingress-controller", "ClusterIP", (ServicePort("", "TCP", 80, None),)),
    ),
    (
        "Local traffic policy",
        kic_service({"port": 443, "nodePort": 30443}, externalTrafficPolicy="Local"),
        KicService(
            "njet-ingress", "njet-ingress-controller", "NodePort", (ServicePort("", "TCP", 443, 30443),), "Local"
        ),
    ),
]


@pytest.mark.parametrize(("obj", "expected"), [case[1:] for case in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES])
def test_service_from(obj: Obj, expected: KicService) -> None:
    assert service_from(obj) == expected
    assert snap(obj).service == expected


def test_only_the_configured_service_is_the_kic_service() -> None:
    assert snap(kic_service({"port": 80}, name="something-else")).service is None
    assert snap().service is None
    moved = KicSettings(namespace="njet-ingress", service="something-else")
    assert snap(kic_service({"port": 80}, name="something-else"), kic=moved).service is not None


# ---------------------------------------------------------------------------- malformed objects

SERVICE_REF = "Service njet-ingress/njet-ingress-controller"
MALFORMED_CASES = [
    ("not a mapping", "just a string", "object #1 is a string, not a Kubernetes object; skipped"),
    ("no kind", {"apiVersion": "v1", "metadata": {"name": "x"}}, "object #1 has no kind; skipped"),
    ("kind not a string", {"apiVersion": "v1", "kind": ["Node"]}, "object #1 has no kind; skipped"),
    (
        "no apiVersion",
        {**node(), "apiVersion": None},
        "object #1 (Node): apiVersion is missing or not a string, not v1",
    ),
    (
        "another version of the group",
        {**ingress(), "apiVersion": "networking.k8s.io/v1beta1"},
        "object #1 (Ingress): apiVersion is networking.k8s.io/v1beta1, not networking.k8s.io/v1; skipped",
    ),
    ("no name", {**node(), "metadata": {}}, "object #1 (Node): metadata.name is missing; skipped"),
    ("metadata not a mapping", {**node(), "metadata": ["n1"]}, "object #1 (Node): metadata is a list, not a mapping"),
    ("name not a string", {**node(), "metadata": {"name": 7}}, "object #1 (Node): metadata.name is an integer"),
    (
        "name not a Kubernetes name",
        {**node(), "metadata": {"name": "N 1\n"}},
        "object #1 (Node): metadata.name is not a",
    ),
    ("name with a newline", {**node(), "metadata": {"name": "n1\n"}}, "object #1 (Node): metadata.name is not a"),
    (
        "namespace not a Kubernetes name",
        {**ingress(), "metadata": {"name": "web", "namespace": "Team_A"}},
        "object #1 (Ingress): metadata.namespace is not",
    ),
    (
        "addresses not a list",
        {**node(), "status": {"addresses": {"InternalIP": "10.0.0.1"}}},
        "Node n1: status.addresses is a mapping",
    ),
    (
        "address without type",
        {**node(), "status": {"addresses": [{"address": "10.0.0.1"}]}},
        "Node n1: status.addresses[0] needs",
    ),
    (
        "unschedulable not a boolean",
        node(spec={"unschedulable": "yes"}),
        "Node n1: spec.unschedulable is a string, not a boolean",
    ),
    (
        "label value not a string",
        node(metadata={"labels": {"a": 1}}),
        "Node n1: metadata.labels must map strings to strings",
    ),
    ("port a string", kic_service({"port": "80"}), f"{SERVICE_REF}: spec.ports[0].port is a string, not an integer"),
    ("port a boolean", kic_service({"port": True}), f"{SERVICE_REF}: spec.ports[0].port is a boolean, not an integer"),
    ("port missing", kic_service({"name": "http", "nodePort": 30080}), f"{SERVICE_REF}: spec.ports[0].port is missing"),
    (
        "nodePort out of range",
        kic_service({"port": 80, "nodePort": 70000}),
        f"{SERVICE_REF}: spec.ports[0].nodePort is 70000",
    ),
    ("ports entry a scalar", kic_service(80), f"{SERVICE_REF}: spec.ports[0] is an integer, not a mapping"),
    (
        "endpoint ready not a boolean",
        endpoint_slice({"nodeName": "a", "conditions": {"ready": "true"}}),
        "EndpointSlice njet-ingress/s1: endpoints[0].conditions.ready is a string, not a boolean",
    ),
    (
        "annotation value not a string",
        {**ingress(), "metadata": {"name": "web", "annotations": {"njet.org.cn/mergeable-ingress-type": True}}},
        "Ingress default/web: metadata.annotations must map strings to strings",
    ),
    ("host not a string", ingress(hosts=(1,)), "Ingress default/web: spec.rules[0].host is an integer"),  # type: ignore[arg-type]
    (
        "tls hosts not strings",
        {**ingress(), "spec": {"ingressClassName": "njet", "tls": [{"hosts": "a.example.com"}]}},
        "Ingress default/web: spec.tls[0].hosts is a string, not a list",
    ),
    (
        "tls hosts entry not a string",
        {**ingress(), "spec": {"ingressClassName": "njet", "tls": [{"hosts": ["a.example.com", None]}]}},
        "Ingress default/web: spec.tls[0].hosts is not a list of strings",
    ),
    (
        "spec not a mapping",
        {**virtual_server(), "spec": "vs.example.com"},
        "VirtualServer default/vs: spec is a string",
    ),
    (
        "IngressClass annotation not a string",
        {
            **ingress_class(),
            "metadata": {"name": "njet", "annotations": {"ingressclass.kubernetes.io/is-default-class": True}},
        },
        "IngressClass njet: metadata.annotations must map strings to strings",
    ),
]


@pytest.mark.parametrize(
    ("bad", "problem"), [case[1:] for case in MALFORMED_CASES], ids=[c[0] for c in MALFORMED_CASES]
)
def test_malformed_objects_are_reported_skipped_and_make_the_view_incomplete(bad: Any, problem: str) -> None:
    good = [node("good"), ingress("ok", hosts=("ok.example.com",))]
    snapshot = snap(good[0], bad, good[1])
    assert len(snapshot.problems) == 1
    assert snapshot.problems[0].replace("object #2", "object #1").startswith(problem)
    assert snapshot.problems[0].endswith("; skipped")
    assert not snapshot.complete  # a skipped object is an unknown: never delete on its account
    assert [n.name for n in snapshot.nodes] == ["good"]
    assert claims(snapshot) == ["ok.example.com <- Ingress default/ok"]


def test_a_malformed_kic_service_is_unknown_not_a_service_without_ports() -> None:
    snapshot = snap(kic_service({"port": "http"}))
    assert snapshot.service is None
    assert not snapshot.complete


def test_namespace_defaults_and_duplicates_last_one_counts() -> None:
    first = ingress(hosts=("first.example.com",))
    second = ingress(hosts=("second.example.com",))
    del first["metadata"]["namespace"]
    snapshot = snap(first, second)
    assert claims(snapshot) == ["second.example.com <- Ingress default/web"]
    assert snapshot.problems == ("Ingress default/web: appears more than once; the last one counts",)
    assert snapshot.complete


def test_incomplete_stays_incomplete() -> None:
    assert not snap(node(), complete=False).complete
    assert snap(node()).complete


def test_problem_texts_are_cut_short_and_on_one_line() -> None:
    unreadable = {**ingress(), "apiVersion": "networking.k8s.io/" + "x\n" * 500}
    mergeable = ingress(mergeable="x\n" * 500)
    snapshot = snap(unreadable, mergeable)
    (problem,) = snapshot.problems
    (rejection,) = snapshot.rejections
    for text in (problem, rejection.reason):
        assert "\n" not in text
        assert len(text) < 300


# ---------------------------------------------------------------------------- the file: shapes

OBJECTS = [kic_service({"name": "http", "port": 80, "nodePort": 30080}), node("n1"), ingress()]


def _stream(objects: list[Obj]) -> str:
    return yaml.safe_dump_all(objects)


SHAPES = [
    ("stream of documents", _stream(OBJECTS)),
    ("stream with empty documents", "---\n" + _stream(OBJECTS) + "---\n# nothing here\n"),
    ("kind: List", yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": OBJECTS})),
    ("plain list", yaml.safe_dump(OBJECTS)),
    (
        "a List inside a stream",
        _stream([OBJECTS[0], {"apiVersion": "v1", "kind": "List", "items": OBJECTS[1:]}]),
    ),
]


@pytest.mark.parametrize("text", [case[1] for case in SHAPES], ids=[case[0] for case in SHAPES])
def test_file_shapes(tmp_path: Path, text: str) -> None:
    path = tmp_path / "snapshot.yaml"
    path.write_text(text)
    snapshot = read_snapshot(path, KIC, taken_at=TAKEN_AT)
    assert snapshot == snapshot_from(OBJECTS, KIC, taken_at=TAKEN_AT)
    assert snapshot.service is not None
    assert [n.name for n in snapshot.nodes] == ["n1"]
    assert claims(snapshot) == ["web.example.com <- Ingress default/web"]
    assert snapshot.taken_at == TAKEN_AT


@pytest.mark.parametrize("text", ["[]\n", "apiVersion: v1\nkind: List\nitems: []\n", "kind: List\n"])
def test_an_explicitly_empty_file_is_an_empty_cluster(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    snapshot = read_snapshot(str(path), KIC, taken_at=TAKEN_AT)
    assert (snapshot.service, snapshot.nodes, snapshot.hosts, snapshot.problems) == (None, (), (), ())
    assert snapshot.complete


def test_a_malformed_object_in_a_file_is_a_problem_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.yaml"
    path.write_text(_stream([node("n1"), {"kind": "Node", "apiVersion": "v1", "metadata": {"name": 5}}]))
    snapshot = read_snapshot(path, KIC, taken_at=TAKEN_AT)
    assert [n.name for n in snapshot.nodes] == ["n1"]
    assert snapshot.problems == ("object #2 (Node): metadata.name is an integer, not a string; skipped",)


# ---------------------------------------------------------------------------- the file: errors

ERRORS: list[tuple[str, str | bytes | None, str]] = [
    ("missing file", None, "cannot read it"),
    ("YAML syntax error", "kind: Node\nmetadata: {name: [n1\n", "not valid YAML at line 3, column 1"),
    ("tab indentation", "kind: Node\n\tmetadata: {}\n", "not valid YAML at line 2"),
    ("empty file", "", "holds no Kubernetes objects"),
    ("only comments and separators", "# nothing\n---\n---\n", "holds no Kubernetes objects"),
    ("a scalar document", "just words\n", "document 1: a string, not a Kubernetes object"),
    ("a scalar after objects", _stream([node()]) + "---\n42\n", "document 2: an integer, not a Kubernetes object"),
    (
        "a list entry that is not an object",
        "- kind: Node\n- 7\n",
        "document 1, list entry 2: an integer, not a Kubernetes object",
    ),
    ("List items not a list", "kind: List\nitems: {a: 1}\n", "document 1: a List whose items are not a list"),
    (
        "List item not an object",
        "kind: List\nitems: [x]\n",
        "document 1, List item 1: a string, not a Kubernetes object",
    ),
    ("not UTF-8", b"kind: Node\nmetadata: {name: \xff\xfe}\n", "not UTF-8 text"),
    ("an unsafe tag", "!!python/object/apply:os.system [echo hi]\n", "not valid YAML"),
]


@pytest.mark.parametrize(("content", "message"), [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_file_errors_name_the_file(tmp_path: Path, content: str | bytes | None, message: str) -> None:
    path = tmp_path / "snapshot.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SnapshotError) as caught:
        read_snapshot(path, KIC, taken_at=TAKEN_AT)
    assert str(caught.value).startswith(f"snapshot file {path}: ")
    assert message in str(caught.value)


def test_a_directory_without_manifests_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a manifest")
    with pytest.raises(SnapshotError, match=r"holds no \.yaml, \.yml or \.json files"):
        read_snapshot(tmp_path, KIC, taken_at=TAKEN_AT)


def test_a_directory_is_read_file_by_file_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(ingress(name="web", hosts=("second.example.com",))))
    (tmp_path / "a.yml").write_text(yaml.safe_dump(ingress(name="web", hosts=("first.example.com",))))
    (tmp_path / "README.md").write_text("ignored")
    snapshot = read_snapshot(tmp_path, KIC, taken_at=TAKEN_AT)
    assert claims(snapshot) == ["second.example.com <- Ingress default/web"]  # the same object twice: the last wins
    assert snapshot.problems == ("Ingress default/web: appears more than once; the last one counts",)


# ---------------------------------------------------------------------------- the demo file


def test_demo_snapshot() -> None:
    snapshot = read_snapshot(DEMO, KIC, taken_at=TAKEN_AT)
    assert snapshot.service == KicService(
        "njet-ingress",
        "njet-ingress-controller",
        "NodePort",
        (ServicePort("http", "TCP", 80, 30080), ServicePort("https", "TCP", 443, 30443)),
        "Cluster",
    )
    assert [(n.name, n.ready, n.unschedulable, n.deleting) for n in snapshot.nodes] == [
        ("node-a", True, False, False),
        ("node-b", True, False, False),
        ("node-c", True, False, False),
    ]
    assert [dict(n.addresses)["InternalIP"] for n in snapshot.nodes] == ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
    assert dict(snapshot.nodes[1].addresses)["ExternalIP"] == "203.0.113.12"
    assert snapshot.endpoint_nodes == {"node-a", "node-b"}
    assert claims(snapshot) == [
        "api.example.com <- Ingress api/api",
        "legacy.example.com <- Ingress web/legacy",
        "old_site.example.com <- Ingress web/legacy",  # claimed as written; build_desired rejects it
        "pay.example.com <- Ingress pay/pay-master",
        "secure.example.com <- Ingress api/api",
        "shop.example.com <- Ingress shop/shop",
        "static.example.com <- Ingress web/static",
        "vs.example.com <- VirtualServer shop/vs",
    ]
    assert snapshot.problems == ()
    assert snapshot.complete


# ---------------------------------------------------------------------------- properties

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
FIELD_NAMES = st.sampled_from(
    ["name", "namespace", "labels", "annotations", "rules", "tls", "hosts", "host", "ports", "port", "nodePort",
     "addresses", "conditions", "type", "status", "ready", "nodeName", "endpoints", "ingressClassName",
     "unschedulable", "deletionTimestamp", "kubernetes.io/service-name", "njet.org.cn/mergeable-ingress-type"]
)  # fmt: skip
JUNK = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(FIELD_NAMES | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=16,
)
KNOWN = {
    "Service": "v1",
    "Node": "v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
    "IngressClass": "networking.k8s.io/v1",
    "VirtualServer": "k8s.njet.org/v1",
}
NAMES = st.sampled_from(["njet", "njet-ingress", "njet-ingress-controller", "web", "n1"])
METADATA = st.fixed_dictionaries(
    {"name": NAMES | JUNK},
    optional={"namespace": NAMES | JUNK, "labels": JUNK, "annotations": JUNK, "deletionTimestamp": JUNK},
)
OBJECT_SHAPED = st.sampled_from(sorted(KNOWN)).flatmap(
    lambda kind: st.fixed_dictionaries(
        {"kind": st.just(kind), "apiVersion": st.just(KNOWN[kind]) | JUNK},
        optional={"metadata": METADATA | JUNK, "spec": JUNK, "status": JUNK, "endpoints": JUNK},
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(OBJECT_SHAPED | JUNK, max_size=6))
def test_junk_never_crashes_and_is_reported(objects: list[Any]) -> None:
    original = copy.deepcopy(objects)
    snapshot = snapshot_from(objects, KIC, taken_at=TAKEN_AT)
    assert objects == original  # inputs are not mutated
    hash(snapshot)  # frozen all the way down: no dict or list leaked into the model
    assert all(isinstance(claim.host, str) and claim.host for claim in snapshot.hosts)
    assert all(isinstance(name, str) for name in snapshot.endpoint_nodes)
    skipped = [problem for problem in snapshot.problems if problem.endswith("; skipped")]
    assert snapshot.complete == (not skipped)
    for number, obj in enumerate(objects, 1):
        if _unidentifiable(obj):
            assert any(problem.startswith(f"object #{number} ") for problem in skipped), (number, snapshot.problems)


def _unidentifiable(obj: Any) -> bool:
    """Junk that must be reported by position: no object at all, or one of ours without a usable name."""
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str) or not obj["kind"]:
        return True
    if obj["kind"] not in KNOWN or obj.get("apiVersion") != KNOWN[obj["kind"]]:
        return False
    metadata = obj.get("metadata")
    return not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(load_objects(DEMO)))
def test_the_order_of_objects_does_not_matter(objects: list[Obj]) -> None:
    assert snapshot_from(objects, KIC, taken_at=TAKEN_AT) == read_snapshot(DEMO, KIC, taken_at=TAKEN_AT)


# ---------------------------------------------------------------------------- what the modules may import


def _imports(module: Path) -> set[str]:
    names: set[str] = set()
    for statement in ast.walk(ast.parse(module.read_text())):
        if isinstance(statement, ast.Import):
            names.update(alias.name.split(".")[0] for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            names.add(statement.module.split(".")[0])
    return names


def test_the_offline_source_does_not_need_the_kubernetes_client_and_yaml_stays_at_two_places() -> None:
    package = ROOT / "adcbridge"
    for pure in ("k8s/objects.py", "k8s/snapshot_file.py"):
        assert "kubernetes_asyncio" not in _imports(package / pure)
    yaml_users = {str(path.relative_to(package)) for path in package.rglob("*.py") if "yaml" in _imports(path)}
    assert yaml_users == {"config.py", "k8s/snapshot_file.py"}


def test_files_are_parsed_by_libyamls_c_loader_to_what_the_python_loader_reads() -> None:
    """PyYAML's wheels carry libyaml; the C loader is several times faster on a large snapshot
    and must read every file exactly as the pure-Python safe loader does."""
    assert yaml.__with_libyaml__
    assert snapshot_file.SAFE_LOADER is yaml.CSafeLoader
    for path in sorted(DEMO.iterdir()):
        text = path.read_text(encoding="utf-8")
        assert list(yaml.load_all(text, Loader=snapshot_file.SAFE_LOADER)) == list(yaml.safe_load_all(text)), path
