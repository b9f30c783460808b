"""Object validation: what the real server refuses, and what kubernetes_asyncio cannot read back.

kubernetes_asyncio's typed models raise on read when a required field is ``None`` (a Service
port without ``port``, an Ingress path without ``pathType``…). An object like that can never
come out of a real cluster, so the fake refuses to store it: 422 Invalid naming the field.
The rules are data — ``REQUIRED`` and ``INTEGERS`` per ``(group, kind)``, as field paths where
``[]`` walks every element of a list — plus metadata rules (names, labels) for every kind and
the cross-field rules of CRDs and RBAC objects (a resource rule names groups and resources, a
non-resource rule only URLs and only in a ClusterRole; a binding's subject groups).

A value of the wrong JSON type is a decoding error on the real server, hence 400 BadRequest,
while a well-typed value out of range is 422. Unknown fields are another matter, checked only
under ``fieldValidation=Strict`` against the published schemas (``schemas.unknown_fields``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mocks.kube.errors import bad_request, invalid
from mocks.kube.resources import RBAC_GROUP as RBAC
from mocks.kube.resources import Resource

Obj = dict[str, Any]
Cause = tuple[str, str, str]  # (reason, field, message)
BINDING_REQUIRED = ("roleRef", "roleRef.kind", "roleRef.name", "subjects[].kind", "subjects[].name")
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")
RULE_LISTS = tuple(f"rules[].{f}" for f in ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"))

REQUIRED: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Service"): ("spec.ports[].port",),
    ("", "Node"): (
        "status.addresses[].address",
        "status.addresses[].type",
        "status.conditions[].type",
        "status.conditions[].status",
    ),
    ("", "Event"): ("involvedObject",),
    ("events.k8s.io", "Event"): ("eventTime", "reportingController", "reportingInstance", "action", "reason"),
    ("discovery.k8s.io", "EndpointSlice"): ("addressType", "endpoints[].addresses"),
    ("networking.k8s.io", "Ingress"): (
        "spec.rules[].http.paths",
        "spec.rules[].http.paths[].pathType",
        "spec.rules[].http.paths[].backend",
        "spec.rules[].http.paths[].backend.service.name",
        "spec.defaultBackend.service.name",
    ),
    ("networking.k8s.io", "IngressClass"): ("spec.controller",),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (
        "spec",
        "spec.group",
        "spec.names",
        "spec.names.kind",
        "spec.names.plural",
        "spec.scope",
        "spec.versions",
        "spec.versions[].name",
        "spec.versions[].served",
        "spec.versions[].storage",
    ),
    (RBAC, "Role"): ("rules[].verbs",),
    (RBAC, "ClusterRole"): ("rules[].verbs",),
    (RBAC, "RoleBinding"): BINDING_REQUIRED,
    (RBAC, "ClusterRoleBinding"): BINDING_REQUIRED,
}
PORT = (1, 65535)
INTEGERS: dict[tuple[str, str], tuple[tuple[str, tuple[int, int] | None], ...]] = {
    ("", "Service"): (("spec.ports[].port", PORT), ("spec.ports[].nodePort", (30000, 32767))),
    ("discovery.k8s.io", "EndpointSlice"): (("ports[].port", PORT),),
    ("networking.k8s.io", "Ingress"): (
        ("spec.rules[].http.paths[].backend.service.port.number", PORT),
        ("spec.defaultBackend.service.port.number", PORT),
    ),
    ("coordination.k8s.io", "Lease"): (("spec.leaseDurationSeconds", (1, 2**31 - 1)), ("spec.leaseTransitions", None)),
    ("", "Event"): (("count", None),),
}
ENUMS: dict[tuple[str, str], tuple[tuple[str, tuple[str, ...]], ...]] = {
    ("networking.k8s.io", "Ingress"): (
        ("spec.rules[].http.paths[].pathType", ("Exact", "Prefix", "ImplementationSpecific")),
    ),
    ("discovery.k8s.io", "EndpointSlice"): (("addressType", ("IPv4", "IPv6", "FQDN")),),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (("spec.scope", ("Namespaced", "Cluster")),),
    ("", "Service"): (("spec.type", ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),),
    (RBAC, "RoleBinding"): (("roleRef.kind", ("Role", "ClusterRole")), ("subjects[].kind", SUBJECT_KINDS)),
    (RBAC, "ClusterRoleBinding"): (("roleRef.kind", ("ClusterRole",)), ("subjects[].kind", SUBJECT_KINDS)),
}

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
NAME_RULES = {
    "subdomain": (re.compile(rf"^{_LABEL}(\.{_LABEL})*$"), 253, "a lowercase RFC 1123 subdomain"),
    "label": (re.compile(rf"^{_LABEL}$"), 63, "a lowercase RFC 1123 label"),
    "dns1035": (re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"), 63, "a DNS-1035 label"),
    "path_segment": (re.compile(r"^(?!\.\.?$)[^/%]+$"), 253, "a path segment name (no '/' or '%', not '.' or '..')"),
}
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def locate(obj: Any, path: str) -> Iterator[tuple[str, Obj, str]]:
    """Every ``(field text, parent map, key)`` that ``path`` names and whose parent exists."""
    parts = path.split(".")

    def walk(node: Obj, index: int, where: str) -> Iterator[tuple[str, Obj, str]]:
        name = parts[index].removesuffix("[]")
        if index == len(parts) - 1:
            yield where + name, node, name
            return
        child = node.get(name)
        if parts[index].endswith("[]") and isinstance(child, list):
            for position, item in enumerate(child):
                if isinstance(item, dict):
                    yield from walk(item, index + 1, f"{where}{name}[{position}].")
        elif isinstance(child, dict):
            yield from walk(child, index + 1, f"{where}{name}.")

    if isinstance(obj, dict):
        yield from walk(obj, 0, "")


def _required(obj: Obj, rule: tuple[str, str]) -> list[Cause]:
    return [
        ("FieldValueRequired", where, "Required value")
        for path in REQUIRED.get(rule, ())
        for where, parent, key in locate(obj, path)
        if parent.get(key) in (None, "", [])
    ]


def _integers(resource: Resource, obj: Obj, rule: tuple[str, str]) -> list[Cause]:
    causes: list[Cause] = []
    for path, bounds in INTEGERS.get(rule, ()):
        for where, parent, key in locate(obj, path):
            value = parent.get(key)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                kind = resource.kind
                message = f'{kind} in version "{resource.version}" cannot be handled as a {kind}: '
                raise bad_request(message + f"json: cannot unmarshal {type(value).__name__} into int32 ({where})")
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                text = f"Invalid value: {value}: must be between {bounds[0]} and {bounds[1]}, inclusive"
                causes.append(("FieldValueInvalid", where, text))
    return causes


def _enums(obj: Obj, rule: tuple[str, str]) -> list[Cause]:
    return [
        ("FieldValueNotSupported", where, f'Unsupported value: "{parent[key]}": supported values: {", ".join(allowed)}')
        for path, allowed in ENUMS.get(rule, ())
        for where, parent, key in locate(obj, path)
        if parent.get(key) is not None and parent[key] not in allowed
    ]


def _name(resource: Resource, meta: Obj) -> list[Cause]:
    name = meta.get("name")
    if not name:
        return [("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")]
    pattern, limit, what = NAME_RULES[resource.name_rule]
    if not isinstance(name, str) or len(name) > limit or not pattern.match(name):
        return [("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": must be {what} (at most {limit})')]
    return []


def _label_key_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not NAME_RULES["subdomain"][0].match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def _metadata(resource: Resource, meta: Obj) -> list[Cause]:
    causes = _name(resource, meta)
    for field in ("labels", "annotations"):
        values = meta.get(field) or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise bad_request(f"json: cannot unmarshal metadata.{field}: values must be strings")
        for key, value in values.items():
            if not _label_key_ok(key):
                causes.append(("FieldValueInvalid", f"metadata.{field}", f'Invalid value: "{key}": bad key'))
            elif field == "labels" and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                causes.append(("FieldValueInvalid", "metadata.labels", f'Invalid value: "{value}": bad label value'))
    return causes


def _crd(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    expected = f"{names.get('plural')}.{spec.get('group')}"
    causes: list[Cause] = []
    if obj["metadata"].get("name") != expected:
        causes.append(
            (
                "FieldValueInvalid",
                "metadata.name",
                f'Invalid value: "{obj["metadata"].get("name")}": must be spec.names.plural+"."+spec.group',
            )
        )
    storage = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")]
    if spec.get("versions") and len(storage) != 1:
        causes.append(
            (
                "FieldValueInvalid",
                "spec.versions",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    return causes


def _string_lists(obj: Obj) -> None:
    for path in RULE_LISTS:
        for where, parent, key in locate(obj, path):
            value = parent.get(key)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise bad_request(f"json: cannot unmarshal {where} into Go value of type []string")


def _rule_causes(resource: Resource, rule: Obj, where: str) -> list[Cause]:
    urls = rule.get("nonResourceURLs")
    if not urls:
        must = "Required value: resource rules must supply at least one"
        return [
            ("FieldValueRequired", f"{where}.{field}", f"{must} {what}")
            for field, what in (("apiGroups", "api group"), ("resources", "resource"))
            if not rule.get(field)
        ]
    why = []
    if resource.namespaced:
        why.append("namespaced rules cannot apply to non-resource URLs")
    if any(rule.get(field) for field in ("apiGroups", "resources", "resourceNames")):
        why.append("rules cannot apply to both regular resources and non-resource URLs")
    return [("FieldValueInvalid", f"{where}.nonResourceURLs", f"Invalid value: {urls}: {text}") for text in why]


def _rbac_rules(resource: Resource, obj: Obj) -> list[Cause]:
    """The real server's PolicyRule checks: resource rules name groups and resources; non-resource
    rules (ClusterRoles only) name nothing else."""
    _string_lists(obj)
    causes: list[Cause] = []
    for index, rule in enumerate(obj.get("rules") or []):
        if not isinstance(rule, dict):
            raise bad_request(f"json: cannot unmarshal rules[{index}] into Go value of type v1.PolicyRule")
        causes += _rule_causes(resource, rule, f"rules[{index}]")
    return causes


def _unsupported(where: str, value: Any, allowed: str) -> Cause:
    return ("FieldValueNotSupported", where, f'Unsupported value: "{value}": supported values: "{allowed}"')


def _rbac_binding(resource: Resource, obj: Obj) -> list[Cause]:
    """roleRef and subject groups (empty ones are defaulted later, as the real server defaults
    them before it validates); a ClusterRoleBinding's ServiceAccount subjects need a namespace."""
    causes: list[Cause] = []
    group = (obj.get("roleRef") or {}).get("apiGroup")
    if group not in (None, "", RBAC):
        causes.append(_unsupported("roleRef.apiGroup", group, RBAC))
    for where, subject, _ in locate(obj, "subjects[].kind"):
        prefix = where.removesuffix("kind")
        group, account = subject.get("apiGroup"), subject.get("kind") == "ServiceAccount"
        if group not in (None, "") and group != ("" if account else RBAC):
            causes.append(_unsupported(prefix + "apiGroup", group, "" if account else RBAC))
        if account and not resource.namespaced and not subject.get("namespace"):
            causes.append(("FieldValueRequired", prefix + "namespace", "Required value"))
    return causes


def validate(resource: Resource, obj: Obj) -> None:
    """Raise 422 Invalid (or 400 for a type error) unless ``obj`` could come out of a real cluster."""
    rule = (resource.group, resource.kind)
    meta = obj.get("metadata") or {}
    causes = _metadata(resource, meta) + _required(obj, rule) + _integers(resource, obj, rule) + _enums(obj, rule)
    if rule == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        causes += _crd(obj)
    if rule in ((RBAC, "Role"), (RBAC, "ClusterRole")):
        causes += _rbac_rules(resource, obj)
    if rule in ((RBAC, "RoleBinding"), (RBAC, "ClusterRoleBinding")):
        causes += _rbac_binding(resource, obj)
    if causes:
        raise invalid(resource.kind_qualified, resource.group, resource.kind, str(meta.get("name", "")), causes)
