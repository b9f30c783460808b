"""Complete Kubernetes objects for seeds, tests and benchmarks: one set of builders for all of them.

Each builder returns a manifest the real API server would accept as is, with every field that
kubernetes_asyncio's typed models require on read (they reject incomplete objects, and so does the
fake on write). Three copies of these once drifted apart (the live-watch tests, the fake's own
tests, the Kubernetes-side benchmark); keep one here and give it parameters instead.

The defaults describe the cluster the bridge is built for: the KIC Service
``njet-ingress/njet-ingress-controller``, IngressClass ``njet`` and the ``k8s.njet.org``
VirtualServer. Builders only build dicts: no I/O, no state, and, like the rest of ``mocks``,
nothing from ``adcbridge`` (the cluster side must not borrow the bridge's idea of a cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Obj = dict[str, Any]
ServicePort = tuple[str, int, int | None]  # name, port, nodePort (None: the API server defaults the rest)

KIC_NAMESPACE, KIC_SERVICE, CLASS = "njet-ingress", "njet-ingress-controller", "njet"
NETWORKING = "networking.k8s.io/v1"
VS_GROUP = "k8s.njet.org"
NJET = f"{VS_GROUP}/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC = f"{RBAC_GROUP}/v1"


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def service(
    name: str = KIC_SERVICE,
    ns: str = KIC_NAMESPACE,
    *,
    ports: Sequence[ServicePort] = (("http", 80, 30080),),
    local: bool = False,
) -> Obj:
    """A NodePort Service (the KIC's by default). A port without a nodePort is given as name and port
    only, so the API server fills in protocol and targetPort and allocates the nodePort."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": "NodePort",
            "externalTrafficPolicy": "Local" if local else "Cluster",
            "selector": {"app": "njet"},
            "ports": [_service_port(*port) for port in ports],
        },
    }


def _service_port(name: str, port: int, node_port: int | None) -> Obj:
    if node_port is None:
        return {"name": name, "port": port}
    return {"name": name, "protocol": "TCP", "port": port, "targetPort": port, "nodePort": node_port}


def node(name: str, ip: str, *, ready: bool = True, unschedulable: bool = False, labels: Obj | None = None) -> Obj:
    """A Node as a kubelet registers it: hostname label, InternalIP and Hostname addresses, a Ready condition."""
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
    """An EndpointSlice of the KIC Service with one pod endpoint per node."""
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
    """An Ingress with one rule per host, each sending ``/`` to Service ``web`` port 8080."""
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
    """The VirtualServer CRD (namespaced, short name ``vs``, a status subresource, any fields)."""
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"virtualservers.{VS_GROUP}"},
        "spec": {
            "group": VS_GROUP,
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


# RBAC: what a Helm chart renders for a controller's service account ---------------------------


def service_account(name: str, ns: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}


def rule(api_groups: Sequence[str], resources: Sequence[str], verbs: Sequence[str], names: Sequence[str] = ()) -> Obj:
    """A PolicyRule; ``names`` become ``resourceNames`` (only when given, as charts render them)."""
    found: Obj = {"apiGroups": list(api_groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        found["resourceNames"] = list(names)
    return found


def role(name: str, ns: str, rules: Sequence[Obj]) -> Obj:
    return {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": list(rules)}


def cluster_role(name: str, rules: Sequence[Obj]) -> Obj:
    return {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}


def account_subject(name: str, ns: str) -> Obj:
    return {"kind": "ServiceAccount", "name": name, "namespace": ns}


def group_subject(name: str) -> Obj:
    return {"apiGroup": RBAC_GROUP, "kind": "Group", "name": name}


def role_binding(name: str, ns: str, role_name: str, subjects: Sequence[Obj], *, role_kind: str = "Role") -> Obj:
    """A RoleBinding in ``ns`` of a Role of that namespace, or of a ClusterRole (``role_kind``)."""
    return {
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role_name},
        "subjects": list(subjects),
    }


def cluster_role_binding(name: str, role_name: str, subjects: Sequence[Obj]) -> Obj:
    return {
        "apiVersion": RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role_name},
        "subjects": list(subjects),
    }
