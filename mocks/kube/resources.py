"""The resource registry: which kinds exist, where they live in URL space, and how they behave.

Built-in kinds are data (``BUILT_IN``), not code: group, version, kind, plural, scope, short
names, whether a ``/status`` subresource exists, the name rule, and the extra field-selector
labels the real server accepts for that kind. Custom resources join and leave the registry
when their CustomResourceDefinition is created or deleted, so "the CRD is missing" is a real
404 and not a special case. One storage key ``(group, plural)`` may be served at several
versions (a CRD with ``v1`` and ``v1beta1``); the fake stores one copy and only rewrites
``apiVersion`` on the way out — it performs no conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NameRule = Literal["subdomain", "label", "dns1035", "path_segment"]
StorageKey = tuple[str, str]  # (group, plural)

RBAC_GROUP = "rbac.authorization.k8s.io"
META_FIELDS = ("metadata.name", "metadata.namespace")
CORE_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    status: bool = False  # has a /status subresource; main-resource writes keep the old status
    keep_status_on_create: bool = False  # Nodes and Namespaces keep a status sent on create
    name_rule: NameRule = "subdomain"
    fields: tuple[str, ...] = META_FIELDS  # accepted field-selector labels
    custom: bool = False
    generation: bool = False  # metadata.generation counts spec changes (Ingress, EndpointSlice, CRDs, CRs)
    singular: str = ""
    categories: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> StorageKey:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """``ingresses.networking.k8s.io``, or ``services`` for the core group (error messages)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_qualified(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


BUILT_IN: tuple[Resource, ...] = (
    Resource("", "v1", "Namespace", "namespaces", False, ("ns",), True, True, "label", (*META_FIELDS, "status.phase")),
    Resource("", "v1", "Service", "services", True, ("svc",), True, name_rule="dns1035"),
    Resource("", "v1", "Node", "nodes", False, ("no",), True, True, fields=(*META_FIELDS, "spec.unschedulable")),
    Resource("", "v1", "Event", "events", True, ("ev",), fields=(*META_FIELDS, *CORE_EVENT_FIELDS)),
    Resource("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    Resource("", "v1", "Secret", "secrets", True, fields=(*META_FIELDS, "type")),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True, generation=True),
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), True, generation=True),
    Resource("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    Resource("coordination.k8s.io", "v1", "Lease", "leases", True),
    Resource("events.k8s.io", "v1", "Event", "events", True, ("ev",), fields=(*META_FIELDS, "type", "reason")),
    Resource(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        True,
        generation=True,
    ),
    # RBAC names are path segments (ClusterRoles such as ``system:discovery`` have colons).
    Resource(RBAC_GROUP, "v1", "Role", "roles", True, name_rule="path_segment"),
    Resource(RBAC_GROUP, "v1", "ClusterRole", "clusterroles", False, name_rule="path_segment"),
    Resource(RBAC_GROUP, "v1", "RoleBinding", "rolebindings", True, name_rule="path_segment"),
    Resource(RBAC_GROUP, "v1", "ClusterRoleBinding", "clusterrolebindings", False, name_rule="path_segment"),
)
CRD_KEY: StorageKey = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACES_KEY: StorageKey = ("", "namespaces")
SERVICE_ACCOUNTS_KEY: StorageKey = ("", "serviceaccounts")
ROLES_KEY: StorageKey = (RBAC_GROUP, "roles")
CLUSTER_ROLES_KEY: StorageKey = (RBAC_GROUP, "clusterroles")
ROLE_BINDINGS_KEY: StorageKey = (RBAC_GROUP, "rolebindings")
CLUSTER_ROLE_BINDINGS_KEY: StorageKey = (RBAC_GROUP, "clusterrolebindings")


def resources_of_crd(crd: dict[str, Any]) -> list[Resource]:
    """One ``Resource`` per served version of a (validated) CustomResourceDefinition."""
    spec = crd["spec"]
    names = spec["names"]
    return [
        Resource(
            group=spec["group"],
            version=version["name"],
            kind=names["kind"],
            plural=names["plural"],
            namespaced=spec["scope"] == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            status="status" in (version.get("subresources") or {}),
            custom=True,
            generation=True,
            singular=names.get("singular") or names["kind"].lower(),
            categories=tuple(names.get("categories") or ()),
        )
        for version in spec["versions"]
        if version.get("served")
    ]


class Registry:
    """Resources by URL coordinates ``(group, version, plural)``; CRD-backed ones come and go."""

    def __init__(self) -> None:
        self._by_path: dict[tuple[str, str, str], Resource] = {}
        for resource in BUILT_IN:
            self._add(resource)

    def _add(self, resource: Resource) -> None:
        self._by_path[(resource.group, resource.version, resource.plural)] = resource

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        return next((r for (g, v, _), r in self._by_path.items() if (g, v, r.kind) == (group, version, kind)), None)

    def by_key(self, key: StorageKey) -> list[Resource]:
        return [resource for resource in self._by_path.values() if resource.key == key]

    def all(self) -> list[Resource]:
        return list(self._by_path.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Every served group (``""`` is core) with its versions, in registration order."""
        found: dict[str, list[str]] = {}
        for group, version, _ in self._by_path:
            versions = found.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return found

    def in_group_version(self, group: str, version: str) -> list[Resource]:
        return [r for (g, v, _), r in self._by_path.items() if (g, v) == (group, version)]

    def register_crd(self, crd: dict[str, Any]) -> None:
        self.unregister_key((crd["spec"]["group"], crd["spec"]["names"]["plural"]))
        for resource in resources_of_crd(crd):
            self._add(resource)

    def unregister_key(self, key: StorageKey) -> None:
        for coordinates in [c for c, r in self._by_path.items() if r.key == key and r.custom]:
            del self._by_path[coordinates]
