"""URL space of the API server: from a request path to a resource, namespace, name, subresource.

``/api/v1/...`` is the core group, ``/apis/{group}/{version}/...`` every other. Below the
group version:

* ``{plural}`` — a cluster-scoped collection, or a namespaced kind across all namespaces
* ``{plural}/{name}[/{subresource}]`` — a cluster-scoped object
* ``namespaces/{ns}/{plural}[/{name}[/{subresource}]]`` — a namespaced collection or object

A path that names no served resource is ``None`` (404 "the server could not find the
requested resource"), which is how a client learns that a CRD is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mocks.kube.resources import Registry, Resource


@dataclass(frozen=True)
class Target:
    resource: Resource
    namespace: str | None  # None: cluster-scoped, or all namespaces for a namespaced kind
    name: str | None
    subresource: str | None

    @property
    def is_collection(self) -> bool:
        return self.name is None


def split_group_version(path: str) -> tuple[str, str, list[str]] | None:
    """``/apis/g/v/rest`` → ``("g", "v", [rest...])``; ``/api/v1/rest`` → ``("", "v1", [...])``."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def resolve(registry: Registry, group: str, version: str, rest: list[str]) -> Target | None:
    if len(rest) >= 3 and rest[0] == "namespaces":
        resource = registry.find(group, version, rest[2])
        if resource is not None and resource.namespaced and len(rest) <= 5:
            name = rest[3] if len(rest) > 3 else None
            return Target(resource, rest[1], name, rest[4] if len(rest) > 4 else None)
    if not 1 <= len(rest) <= 3:
        return None
    resource = registry.find(group, version, rest[0])
    if resource is None or (resource.namespaced and len(rest) > 1):
        return None
    return Target(resource, None, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)
