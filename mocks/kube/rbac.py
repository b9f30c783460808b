"""RBAC decisions over the stored Roles, ClusterRoles, RoleBindings and ClusterRoleBindings.

The real authorizer's walk, kept in its order so that the grant it reports is the one the real
server would name in its audit log (``RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y"
to ServiceAccount "sa/ns"``): ClusterRoleBindings first (their ClusterRole's rules apply in every
namespace and at cluster scope), then the RoleBindings of the request's namespace (their Role in
that namespace, or a ClusterRole, applies there only). A binding applies when one subject is the
user (User), one of its groups (Group) or its service account (ServiceAccount; an empty namespace
in a RoleBinding's subject means the binding's own namespace). The first rule that matches
allows; nothing ever denies. A binding to a missing role grants nothing, and the denial then
says so (``RBAC: role.rbac.authorization.k8s.io "x" not found``), as the real one does.

Objects are read from the store on every decision, so an RBAC change takes effect at once.
``system:masters`` may do anything (the real server's privileged group, decided before RBAC).
The bootstrap roles every cluster has for discovery (``system:discovery``,
``system:public-info-viewer``, bound to ``system:authenticated``) are built in here, not stored:
they do not show up in lists, and a stored ClusterRole of the same name replaces the built-in one.
Not emulated: aggregated ClusterRoles (``aggregationRule`` is kept but never fills ``rules``),
impersonation, and the escalation checks on writes of RBAC objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mocks.kube.attributes import Attributes
from mocks.kube.identities import AUTHENTICATED, MASTERS, SA_PREFIX, User
from mocks.kube.resources import CLUSTER_ROLE_BINDINGS_KEY, CLUSTER_ROLES_KEY, RBAC_GROUP, ROLE_BINDINGS_KEY, ROLES_KEY
from mocks.kube.store import Store

Obj = dict[str, Any]
ALL = "*"

_INFO_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", *_INFO_URLS]
BOOTSTRAP_CLUSTER_ROLES: dict[str, Obj] = {
    "system:discovery": {"rules": [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}]},
    "system:public-info-viewer": {"rules": [{"nonResourceURLs": _INFO_URLS, "verbs": ["get"]}]},
}
BOOTSTRAP_CLUSTER_ROLE_BINDINGS: tuple[Obj, ...] = tuple(
    {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": AUTHENTICATED}],
    }
    for name in BOOTSTRAP_CLUSTER_ROLES
)


@dataclass(frozen=True)
class Grant:
    """Which binding, role and rule (index into ``rules``) allowed a request."""

    binding_kind: str
    binding_namespace: str
    binding: str
    role_kind: str
    role: str
    rule: int
    subject: str  # as the real audit reason describes it: ServiceAccount "sa/ns", Group "g"

    def reason(self) -> str:
        where = f"{self.binding}/{self.binding_namespace}" if self.binding_namespace else self.binding
        return f'RBAC: allowed by {self.binding_kind} "{where}" of {self.role_kind} "{self.role}" to {self.subject}'

    def as_dict(self) -> Obj:
        return {
            "binding_kind": self.binding_kind,
            "binding_namespace": self.binding_namespace,
            "binding": self.binding,
            "role_kind": self.role_kind,
            "role": self.role,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # the audit reason when allowed by RBAC; for a denial, missing roles (or "")
    grant: Grant | None = None


def _listed(values: Any) -> list[Any]:
    return values if isinstance(values, list) else []


def _has(values: Any, wanted: str) -> bool:
    listed = _listed(values)
    return ALL in listed or wanted in listed


def _resource_matches(resources: Any, attrs: Attributes) -> bool:
    combined, subresource = attrs.combined_resource, attrs.subresource
    return any(
        item in (ALL, combined) or (bool(subresource) and item == f"*/{subresource}") for item in _listed(resources)
    )


def _url_matches(pattern: Any, path: str) -> bool:
    if not isinstance(pattern, str):
        return False
    return pattern in (ALL, path) or (pattern.endswith("*") and path.startswith(pattern.rstrip("*")))


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    """One PolicyRule against one request, as the real ``RuleAllows``."""
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        return any(_url_matches(pattern, attrs.path) for pattern in _listed(rule.get("nonResourceURLs")))
    names = _listed(rule.get("resourceNames"))
    return (
        _has(rule.get("apiGroups"), attrs.api_group)
        and _resource_matches(rule.get("resources"), attrs)
        and (not names or attrs.name in names)
    )


def _describe_subject(subject: Obj, binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("name")}/{subject.get("namespace") or binding_namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def _applies(subject: Obj, user: User, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"{SA_PREFIX}{namespace}:{name}"
    return False


def _subject_for(binding: Obj, user: User) -> str | None:
    """The description of the first subject of ``binding`` that is ``user``, or ``None``."""
    namespace = (binding.get("metadata") or {}).get("namespace", "")
    for subject in _listed(binding.get("subjects")):
        if isinstance(subject, dict) and _applies(subject, user, namespace):
            return _describe_subject(subject, namespace)
    return None


def _role(store: Store, binding: Obj) -> tuple[Obj | None, str]:
    """The role a binding refers to, or ``None`` and the real server's not-found text."""
    ref, namespace = binding.get("roleRef") or {}, (binding.get("metadata") or {}).get("namespace", "")
    kind, name = ref.get("kind"), str(ref.get("name", ""))
    if kind == "ClusterRole":
        found = store.get(CLUSTER_ROLES_KEY, "", name) or BOOTSTRAP_CLUSTER_ROLES.get(name)
        return found, f'clusterrole.{RBAC_GROUP} "{name}" not found'
    found = store.get(ROLES_KEY, namespace, name) if kind == "Role" and namespace else None
    return found, f'role.{RBAC_GROUP} "{name}" not found'


def _bindings(store: Store, namespace: str) -> Iterator[tuple[str, Obj]]:
    for binding in (*BOOTSTRAP_CLUSTER_ROLE_BINDINGS, *store.view(CLUSTER_ROLE_BINDINGS_KEY)):
        yield "ClusterRoleBinding", binding
    if namespace:
        for binding in store.view(ROLE_BINDINGS_KEY, namespace):
            yield "RoleBinding", binding


def _grant(kind: str, binding: Obj, subject: str, index: int) -> Grant:
    meta, ref = binding.get("metadata") or {}, binding.get("roleRef") or {}
    namespace = meta.get("namespace", "")
    return Grant(kind, namespace, meta.get("name", ""), ref.get("kind", ""), ref.get("name", ""), index, subject)


def decide(store: Store, user: User, attrs: Attributes) -> Decision:
    """Allow when ``user`` is a superuser or a rule of a role bound to it matches ``attrs``."""
    if MASTERS in user.groups:
        return Decision(True)
    missing: list[str] = []
    for kind, binding in _bindings(store, attrs.namespace):
        subject = _subject_for(binding, user)
        if subject is None:
            continue
        role, not_found = _role(store, binding)
        if role is None:
            missing.append(not_found)
            continue
        for index, rule in enumerate(_listed(role.get("rules"))):
            if isinstance(rule, dict) and rule_allows(rule, attrs):
                grant = _grant(kind, binding, subject, index)
                return Decision(True, grant.reason(), grant)
    reason = "" if not missing else "RBAC: " + (missing[0] if len(missing) == 1 else f"[{', '.join(missing)}]")
    return Decision(False, reason)
