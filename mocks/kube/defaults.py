"""Fields the real API server fills in on create, so objects read back look like a cluster's.

Only what a client could notice is emulated: ``uid``, ``creationTimestamp``, ``generation``,
a Namespace's ``status.phase: Active``, a Service's ``type``, ``clusterIP``, port ``protocol``
and ``targetPort`` (and ``nodePort`` for NodePort/LoadBalancer), an EndpointSlice port's
``protocol``, a CRD's ``status`` (Established, names accepted), and the API groups of a
binding's ``roleRef`` and subjects. Addresses come from fixed ranges (ClusterIPs 10.96.0.0/16
from .10 on, nodePorts 30000-32767 in order) and are never reused, so tests stay deterministic.
"""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from mocks.kube.resources import RBAC_GROUP as RBAC
from mocks.kube.resources import Resource

Obj = dict[str, Any]
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
BINDINGS = ((RBAC, "RoleBinding"), (RBAC, "ClusterRoleBinding"))


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_name(prefix: str) -> str:
    return prefix + "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))


class Allocator:
    """ClusterIPs and nodePorts, handed out in order."""

    def __init__(self) -> None:
        self._ips = (f"10.96.{n // 256}.{n % 256}" for n in itertools.count(10))
        self._ports = iter(range(30000, 32768))

    def cluster_ip(self) -> str:
        return next(self._ips)

    def node_port(self) -> int:
        return next(self._ports)


def stamp_new(resource: Resource, obj: Obj) -> None:
    meta = obj["metadata"]
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_text()
    for server_owned in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "generation"):
        meta.pop(server_owned, None)
    if resource.generation:
        meta["generation"] = 1


def _service(obj: Obj, allocator: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        spec["clusterIP"] = allocator.cluster_ip()
    if spec.get("clusterIP") and "clusterIPs" not in spec:
        spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
            port["nodePort"] = allocator.node_port()


def _crd_status(obj: Obj) -> None:
    spec = obj["spec"]
    time = now_text()
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": time, "message": ""},
        {
            "type": "Established",
            "status": "True",
            "reason": "InitialNamesAccepted",
            "lastTransitionTime": time,
            "message": "",
        },
    ]
    stored = [v["name"] for v in spec["versions"] if v.get("storage")]
    obj["status"] = {"acceptedNames": dict(spec["names"]), "conditions": conditions, "storedVersions": stored}


def apply_defaults(resource: Resource, obj: Obj, allocator: Allocator) -> None:
    """Fill the server-side defaults of a new object (after validation)."""
    rule = (resource.group, resource.kind)
    if rule == ("", "Namespace"):
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif rule == ("", "Service"):
        _service(obj, allocator)
    elif rule == ("discovery.k8s.io", "EndpointSlice"):
        for port in obj.get("ports") or []:
            port.setdefault("protocol", "TCP")
    elif rule == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        _crd_status(obj)
    elif rule == ("", "Secret"):
        obj.setdefault("type", "Opaque")
    elif rule in BINDINGS:
        _binding(obj)


def _binding(obj: Obj) -> None:
    """roleRef and User/Group subjects default to the RBAC group, ServiceAccount subjects to core."""
    role_ref = obj.get("roleRef")
    if isinstance(role_ref, dict) and not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = RBAC
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            subject["apiGroup"] = "" if subject.get("kind") == "ServiceAccount" else RBAC


def apply_update_defaults(resource: Resource, current: Obj, new: Obj, allocator: Allocator) -> None:
    """Keep what the server allocated (a Service's clusterIP, nodePorts) when an update omits it."""
    rule = (resource.group, resource.kind)
    if rule == ("", "Service"):
        old_spec, spec = current.get("spec") or {}, new.setdefault("spec", {})
        for field in ("clusterIP", "clusterIPs"):
            if field in old_spec and not spec.get(field):
                spec[field] = old_spec[field]
        old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort") and old_ports.get(port.get("port")):
                port["nodePort"] = old_ports[port.get("port")]
    if rule == ("", "Namespace"):
        new["spec"] = new.get("spec") or current.get("spec") or {}
    if rule in (("", "Service"), ("discovery.k8s.io", "EndpointSlice"), ("", "Secret"), *BINDINGS):
        apply_defaults(resource, new, allocator)
