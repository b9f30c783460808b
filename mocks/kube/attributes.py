"""Request attributes: what RBAC decides on, read from the URL alone as the real server does.

The real API server authorizes before it looks anything up (its ``RequestInfoFactory``): the verb
comes from the method (``GET`` on a collection is ``list``, or ``watch`` with ``watch=true``;
``DELETE`` on one is ``deletecollection``), the group, resource, namespace, name and subresource
from the path segments. So a request for a kind that is not installed is still ``list
virtualservers`` and can be forbidden before it would be a 404 — the fake must not consult the
registry here either. For list and watch, a ``metadata.name=X`` term in the field selector makes
the request name X, which is how a rule with ``resourceNames`` can grant a single-object watch.

Paths outside ``/api/v1/...`` and ``/apis/{group}/{version}/...`` (``/version``, ``/api``,
``/apis/{group}/{version}`` discovery, ``/openapi/...``) are non-resource requests: their verb is
the lower-case method and only the path matters. Nothing here knows users or rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mocks.kube.routing import split_group_version

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    verb: str
    path: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def combined_resource(self) -> str:
        """``ingresses/status`` for a subresource, else ``ingresses`` (what rules list)."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def is_path_segment_name(name: str) -> bool:
    """The real server's ``IsValidPathSegmentName``: no ``/`` or ``%``, not ``.`` or ``..``."""
    return bool(name) and name not in (".", "..") and "/" not in name and "%" not in name


def name_from_field_selector(selector: str | None) -> str:
    """The X of a ``metadata.name=X`` (or ``==``) term; ``""`` when the selector has none."""
    for term in (selector or "").split(","):
        key, operator, value = _split_term(term)
        if key == "metadata.name" and operator in ("=", "==") and is_path_segment_name(value):
            return value
    return ""


def _split_term(term: str) -> tuple[str, str, str]:
    for operator in ("!=", "==", "="):
        key, found, value = term.partition(operator)
        if found:
            return key.strip(), operator, value.strip()
    return term.strip(), "", ""


def _located(path: str) -> tuple[str, str, list[str]] | None:
    """``(group, version, rest)`` of a resource path, or ``None`` for a non-resource path (discovery)."""
    located = split_group_version(path)
    return located if located is not None and located[2] else None


def _scoped(rest: list[str]) -> tuple[str, list[str]]:
    """Namespace and the parts from the resource on: ``namespaces/x/ingresses/web`` → ``x``, ``[ingresses, web]``.
    ``namespaces/x`` itself (and its ``status``/``finalize``) is the Namespace x, in namespace x."""
    if rest[0] != "namespaces" or len(rest) < 2:
        return "", rest
    if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
        return rest[1], rest[2:]
    return rest[1], rest


def _collection_verb(verb: str, query: Mapping[str, str], *, watch: bool) -> tuple[str, str]:
    """A GET or DELETE without a name: (list or watch, the field-selector name) or deletecollection."""
    if verb == "get":
        return ("watch" if watch else "list"), name_from_field_selector(query.get("fieldSelector"))
    if verb == "delete":
        return "deletecollection", ""
    return verb, ""


def attributes_of(method: str, path: str, query: Mapping[str, str], *, watch: bool) -> Attributes:
    """The attributes of one request; ``watch`` is the already parsed ``watch`` query flag."""
    located = _located(path)
    if located is None:
        return Attributes(verb=method.lower(), path=path)
    group, version, rest = located
    namespace, parts = _scoped(rest)
    resource, name = parts[0], parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    verb = METHOD_VERBS.get(method, "")
    if not name:
        verb, name = _collection_verb(verb, query, watch=watch)
    return Attributes(verb, path, True, group, version, resource, subresource, namespace, name)
