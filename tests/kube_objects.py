"""Complete Kubernetes objects (as the API server would accept them) for the live-watch tests."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

KIC_NAMESPACE, KIC_SERVICE, CLASS = "njet-ingress", "njet-ingress-controller", "njet"
NETWORKING = "networking.k8s.io/v1"
NJET = "k8s.njet.org/v1"


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def service(*, ports: tuple[tuple[str, int, int], ...] = (("http", 80, 30080),), local: bool = False) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": KIC_SERVICE, "namespace": KIC_NAMESPACE},
        "spec": {
            "type": "NodePort",
            "externalTrafficPolicy": "Local" if local else "Cluster",
            "selector": {"app": "njet"},
            "ports": [
                {"name": name, "protocol": "TCP", "port": port, "targetPort": port, "nodePort": node_port}
                for name, port, node_port in ports
            ],
        },
    }


def node(name: str, ip: str, *, ready: bool = True, unschedulable: bool = False, labels: Obj | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def endpoint_slice(name: str, ready_nodes: list[str], *, not_ready: tuple[str, ...] = ()) -> Obj:
    endpoints = [
        {"addresses": [f"10.244.{i}.10"], "conditions": {"ready": node_name not in not_ready}, "nodeName": node_name}
        for i, node_name in enumerate([*ready_nodes, *not_ready])
    ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": KIC_NAMESPACE,
            "labels": {"kubernetes.io/service-name": KIC_SERVICE},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
        "endpoints": endpoints,
    }


def ingress_class(name: str = CLASS, *, default: bool = False) -> Obj:
    annotations = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {
        "apiVersion": NETWORKING,
        "kind": "IngressClass",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"controller": "k8s.njet.org/ingress-controller"},
    }


def ingress(
    name: str,
    ns: str,
    *hosts: str,
    class_name: str | None = CLASS,
    legacy_class: str | None = None,
    mergeable: str | None = None,
    tls_hosts: tuple[str, ...] = (),
    labels: Obj | None = None,
) -> Obj:
    annotations: Obj = {}
    if legacy_class is not None:
        annotations["kubernetes.io/ingress.class"] = legacy_class
    if mergeable is not None:
        annotations["njet.org.cn/mergeable-ingress-type"] = mergeable
    spec: Obj = {"rules": [_rule(host) for host in hosts]}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    if tls_hosts:
        spec["tls"] = [{"hosts": list(tls_hosts), "secretName": f"{name}-tls"}]
    return {
        "apiVersion": NETWORKING,
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}, "annotations": annotations},
        "spec": spec,
    }


def _rule(host: str) -> Obj:
    backend = {"service": {"name": "web", "port": {"number": 8080}}}
    return {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}


def virtual_server_crd() -> Obj:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "virtualservers.k8s.njet.org"},
        "spec": {
            "group": "k8s.njet.org",
            "scope": "Namespaced",
            "names": {"plural": "virtualservers", "singular": "virtualserver", "kind": "VirtualServer",
                      "shortNames": ["vs"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }  # fmt: skip


def virtual_server(name: str, ns: str, host: str, *, class_name: str | None = CLASS) -> Obj:
    spec: Obj = {"host": host, "upstreams": [{"name": "web", "service": "web", "port": 8080}]}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {"apiVersion": NJET, "kind": "VirtualServer", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def basic_cluster() -> list[Obj]:
    """The KIC Service, two Ready nodes, our IngressClass and the namespaces the tests use."""
    return [
        *(namespace(name) for name in (KIC_NAMESPACE, "shop", "web", "team-a", "team-b")),
        service(),
        node("node-a", "10.0.0.11"),
        node("node-b", "10.0.0.12"),
        endpoint_slice("kic-1", ["node-a", "node-b"]),
        ingress_class(),
    ]
