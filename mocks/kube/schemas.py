"""The object schemas the fake publishes in ``/openapi/v2``: kube-apiserver's, cut to a useful size.

kubectl up to 1.24 validates a manifest on the client before ``create``/``apply``/``replace``:
it reads ``/openapi/v2``, finds the definition whose ``x-kubernetes-group-version-kind`` names
the object's kind and walks the object through it (an unknown field, a missing required one or
a list where an object belongs is refused: ``error validating data: ValidationError(...)``).
A definition it cannot find means no validation at all, so every served kind has one.

Written from the real definitions, under the real names (``io.k8s.api.networking.v1.Ingress``):

- every kind's top level is exact (a misspelled ``spce`` is refused), and so is ``ObjectMeta``;
- the Ingress (the kind this project is about), IngressClass, Lease, RBAC rules, role
  references and subjects are spelled out to their leaves, with their required fields;
- the rest — Service and Node specs, statuses, Event sources, EndpointSlice endpoints, CRD
  specs — is ``{"type": "object"}``: any fields. kubectl then checks nothing below, as with a
  real field whose schema preserves unknown fields. Never stricter than the real server.

Custom resources are published as kube-apiserver publishes a CRD whose schema keeps unknown
fields at the root (the fake does not read CRD schemas): ``{"type": "object"}`` with the kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mocks.kube.resources import RBAC_GROUP, Resource

Obj = dict[str, Any]
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
GVK = "x-kubernetes-group-version-kind"
# API groups as kube-apiserver names their packages in definition names.
PACKAGES = {
    "": "io.k8s.api.core",
    "discovery.k8s.io": "io.k8s.api.discovery",
    "networking.k8s.io": "io.k8s.api.networking",
    "coordination.k8s.io": "io.k8s.api.coordination",
    "events.k8s.io": "io.k8s.api.events",
    RBAC_GROUP: "io.k8s.api.rbac",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
}

STRING: Obj = {"type": "string"}
INT32: Obj = {"type": "integer", "format": "int32"}
INT64: Obj = {"type": "integer", "format": "int64"}
BOOLEAN: Obj = {"type": "boolean"}
BYTES: Obj = {"type": "string", "format": "byte"}
ANY_OBJECT: Obj = {"type": "object"}


def ref(name: str) -> Obj:
    return {"$ref": f"#/definitions/{name}"}


def array(items: Obj) -> Obj:
    return {"type": "array", "items": items}


def map_of(values: Obj) -> Obj:
    return {"type": "object", "additionalProperties": values}


def kind(properties: Obj, *required: str) -> Obj:
    """An object with exactly these fields (kubectl refuses others)."""
    schema: Obj = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


STRINGS = array(STRING)
TIME = ref(f"{META}.Time")
MICRO_TIME = ref(f"{META}.MicroTime")
ANY_OBJECTS = array(ANY_OBJECT)

COMMON: dict[str, Obj] = {
    f"{META}.Time": {"type": "string", "format": "date-time"},
    f"{META}.MicroTime": {"type": "string", "format": "date-time"},
    f"{META}.ObjectMeta": kind(
        {
            "annotations": map_of(STRING),
            "creationTimestamp": TIME,
            "deletionGracePeriodSeconds": INT64,
            "deletionTimestamp": TIME,
            "finalizers": STRINGS,
            "generateName": STRING,
            "generation": INT64,
            "labels": map_of(STRING),
            "managedFields": array(ref(f"{META}.ManagedFieldsEntry")),
            "name": STRING,
            "namespace": STRING,
            "ownerReferences": array(ref(f"{META}.OwnerReference")),
            "resourceVersion": STRING,
            "selfLink": STRING,
            "uid": STRING,
        }
    ),
    f"{META}.OwnerReference": kind(
        {
            "apiVersion": STRING,
            "blockOwnerDeletion": BOOLEAN,
            "controller": BOOLEAN,
            "kind": STRING,
            "name": STRING,
            "uid": STRING,
        },
        "apiVersion",
        "kind",
        "name",
        "uid",
    ),
    f"{META}.ManagedFieldsEntry": kind(
        {
            "apiVersion": STRING,
            "fieldsType": STRING,
            "fieldsV1": ANY_OBJECT,
            "manager": STRING,
            "operation": STRING,
            "subresource": STRING,
            "time": TIME,
        }
    ),
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
}

CORE = "io.k8s.api.core.v1"
NET = "io.k8s.api.networking.v1"
RBAC = "io.k8s.api.rbac.v1"
PARTS: dict[str, Obj] = {
    f"{NET}.IngressSpec": kind(
        {
            "defaultBackend": ref(f"{NET}.IngressBackend"),
            "ingressClassName": STRING,
            "rules": array(ref(f"{NET}.IngressRule")),
            "tls": array(ref(f"{NET}.IngressTLS")),
        }
    ),
    f"{NET}.IngressRule": kind({"host": STRING, "http": ref(f"{NET}.HTTPIngressRuleValue")}),
    f"{NET}.HTTPIngressRuleValue": kind({"paths": array(ref(f"{NET}.HTTPIngressPath"))}, "paths"),
    f"{NET}.HTTPIngressPath": kind(
        {"backend": ref(f"{NET}.IngressBackend"), "path": STRING, "pathType": STRING}, "pathType", "backend"
    ),
    f"{NET}.IngressBackend": kind(
        {
            "resource": ref("io.k8s.api.core.v1.TypedLocalObjectReference"),
            "service": ref(f"{NET}.IngressServiceBackend"),
        }
    ),
    f"{NET}.IngressServiceBackend": kind({"name": STRING, "port": ref(f"{NET}.ServiceBackendPort")}, "name"),
    f"{NET}.ServiceBackendPort": kind({"name": STRING, "number": INT32}),
    f"{NET}.IngressTLS": kind({"hosts": STRINGS, "secretName": STRING}),
    f"{NET}.IngressClassSpec": kind({"controller": STRING, "parameters": ANY_OBJECT}),
    f"{CORE}.TypedLocalObjectReference": kind({"apiGroup": STRING, "kind": STRING, "name": STRING}, "kind", "name"),
    "io.k8s.api.coordination.v1.LeaseSpec": kind(
        {
            "acquireTime": MICRO_TIME,
            "holderIdentity": STRING,
            "leaseDurationSeconds": INT32,
            "leaseTransitions": INT32,
            "preferredHolder": STRING,
            "renewTime": MICRO_TIME,
            "strategy": STRING,
        }
    ),
    f"{RBAC}.PolicyRule": kind(
        {
            "apiGroups": STRINGS,
            "nonResourceURLs": STRINGS,
            "resourceNames": STRINGS,
            "resources": STRINGS,
            "verbs": STRINGS,
        },
        "verbs",
    ),
    f"{RBAC}.RoleRef": kind({"apiGroup": STRING, "kind": STRING, "name": STRING}, "apiGroup", "kind", "name"),
    f"{RBAC}.Subject": kind({"apiGroup": STRING, "kind": STRING, "name": STRING, "namespace": STRING}, "kind", "name"),
}

CORE_EVENT: Obj = {
    "action": STRING,
    "count": INT32,
    "eventTime": MICRO_TIME,
    "firstTimestamp": TIME,
    "involvedObject": ANY_OBJECT,
    "lastTimestamp": TIME,
    "message": STRING,
    "reason": STRING,
    "related": ANY_OBJECT,
    "reportingComponent": STRING,
    "reportingInstance": STRING,
    "series": ANY_OBJECT,
    "source": ANY_OBJECT,
    "type": STRING,
}
EVENT: Obj = {
    "action": STRING,
    "deprecatedCount": INT32,
    "deprecatedFirstTimestamp": TIME,
    "deprecatedLastTimestamp": TIME,
    "deprecatedSource": ANY_OBJECT,
    "eventTime": MICRO_TIME,
    "note": STRING,
    "reason": STRING,
    "regarding": ANY_OBJECT,
    "related": ANY_OBJECT,
    "reportingController": STRING,
    "reportingInstance": STRING,
    "series": ANY_OBJECT,
    "type": STRING,
}
SPEC_AND_STATUS: Obj = {"spec": ANY_OBJECT, "status": ANY_OBJECT}
RULES: Obj = {"rules": array(ref(f"{RBAC}.PolicyRule"))}
BINDING: Obj = {"roleRef": ref(f"{RBAC}.RoleRef"), "subjects": array(ref(f"{RBAC}.Subject"))}

# Per (group, kind): the fields besides apiVersion, kind and metadata, and the required ones.
KINDS: dict[tuple[str, str], tuple[Obj, tuple[str, ...]]] = {
    ("", "Namespace"): ({"spec": kind({"finalizers": STRINGS}), "status": ANY_OBJECT}, ()),
    ("", "Service"): (SPEC_AND_STATUS, ()),
    ("", "Node"): (SPEC_AND_STATUS, ()),
    ("", "Event"): (CORE_EVENT, ("metadata", "involvedObject")),
    ("", "ConfigMap"): ({"binaryData": map_of(BYTES), "data": map_of(STRING), "immutable": BOOLEAN}, ()),
    ("", "Secret"): (
        {"data": map_of(BYTES), "immutable": BOOLEAN, "stringData": map_of(STRING), "type": STRING},
        (),
    ),
    ("", "ServiceAccount"): (
        {"automountServiceAccountToken": BOOLEAN, "imagePullSecrets": ANY_OBJECTS, "secrets": ANY_OBJECTS},
        (),
    ),
    ("discovery.k8s.io", "EndpointSlice"): (
        {"addressType": STRING, "endpoints": ANY_OBJECTS, "ports": ANY_OBJECTS},
        ("addressType", "endpoints"),
    ),
    ("networking.k8s.io", "Ingress"): ({"spec": ref(f"{NET}.IngressSpec"), "status": ANY_OBJECT}, ()),
    ("networking.k8s.io", "IngressClass"): ({"spec": ref(f"{NET}.IngressClassSpec")}, ()),
    ("coordination.k8s.io", "Lease"): ({"spec": ref("io.k8s.api.coordination.v1.LeaseSpec")}, ()),
    ("events.k8s.io", "Event"): (EVENT, ("eventTime",)),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (SPEC_AND_STATUS, ("spec",)),
    (RBAC_GROUP, "Role"): (RULES, ()),
    (RBAC_GROUP, "ClusterRole"): ({**RULES, "aggregationRule": ANY_OBJECT}, ()),
    (RBAC_GROUP, "RoleBinding"): (BINDING, ("roleRef",)),
    (RBAC_GROUP, "ClusterRoleBinding"): (BINDING, ("roleRef",)),
}


def definition_name(resource: Resource) -> str:
    """``io.k8s.api.networking.v1.Ingress``; a custom resource's group reversed: ``org.njet.k8s.v1.VirtualServer``."""
    package = PACKAGES.get(resource.group) if not resource.custom else None
    if package is None:
        package = ".".join(reversed(resource.group.split(".")))
    return f"{package}.{resource.version}.{resource.kind}"


def definition(resource: Resource) -> Obj:
    gvk = [{"group": resource.group, "kind": resource.kind, "version": resource.version}]
    known = KINDS.get((resource.group, resource.kind)) if not resource.custom else None
    if known is None:
        return {"type": "object", GVK: gvk}
    fields, required = known
    top = {"apiVersion": STRING, "kind": STRING, "metadata": ref(f"{META}.ObjectMeta"), **fields}
    return {**kind(dict(sorted(top.items())), *required), GVK: gvk}


def definitions(resources: list[Resource]) -> dict[str, Obj]:
    """Every definition ``resources`` need, by name, sorted as kube-apiserver sorts them."""
    found = {**COMMON, **PARTS, **{definition_name(resource): definition(resource) for resource in resources}}
    return dict(sorted(found.items()))


def unknown_fields(resource: Resource, obj: Any) -> list[str]:
    """The fields of ``obj`` its kind's schema does not know, as the real server's strict decoding
    names them (``spec.rules[0].htpp``). Keys starting with ``$`` (strategic-merge directives)
    are not fields. Below a free-form part (``{"type": "object"}``) anything goes."""
    known = definitions([resource])
    return list(_unknown(obj, known[definition_name(resource)], known, ""))


def _unknown(value: Any, schema: Obj, known: dict[str, Obj], path: str) -> Iterator[str]:
    while "$ref" in schema:
        schema = known[schema["$ref"].removeprefix("#/definitions/")]
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _unknown(item, schema["items"], known, f"{path}[{index}]")
    if not isinstance(value, dict):
        return
    prefix = f"{path}." if path else ""
    properties, extra = schema.get("properties"), schema.get("additionalProperties")
    for key, item in value.items():
        if key.startswith("$"):
            continue
        if properties is not None and key not in properties:
            yield f"{prefix}{key}"
        elif properties is not None:
            yield from _unknown(item, properties[key], known, f"{prefix}{key}")
        elif isinstance(extra, dict):
            yield from _unknown(item, extra, known, f"{prefix}{key}")
