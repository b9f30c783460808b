"""Discovery documents: what kubectl reads before it sends a single request about objects.

kubectl 1.32 asks ``/api`` and ``/apis`` for the aggregated discovery format
(``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``) but falls back to
the legacy documents when the answer's ``Content-Type`` is plain ``application/json`` — so
the fake serves only the legacy ones: ``APIVersions``, ``APIGroupList``, ``APIGroup`` and one
``APIResourceList`` per group version, built from the live registry (CRD groups included).

Before ``create``/``replace``/``apply`` kubectl 1.32 decides between server-side field
validation and client-side schema validation by reading OpenAPI v3: the PATCH operation of the
kind's path must list a ``fieldValidation`` query parameter. ``openapi_v3_group`` publishes
exactly that, per kind, and no schemas: kubectl then sends ``fieldValidation=Strict``, and the
fake checks the fields against the schemas of ``/openapi/v2`` (``schemas.py``), which older
kubectls (1.20) read to validate on the client (``openapi_v2.py``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from mocks.kube.resources import Registry, Resource

Obj = dict[str, Any]
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{version}", "version": version} for version in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> Obj:
    groups = [_group(name, versions) for name, versions in registry.group_versions().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, name: str) -> Obj | None:
    versions = registry.group_versions().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _entries(resource: Resource) -> list[Obj]:
    main: Obj = {
        "name": resource.plural,
        "singularName": resource.singular_name,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": VERBS,
    }
    if resource.short_names:
        main["shortNames"] = list(resource.short_names)
    if resource.categories:
        main["categories"] = list(resource.categories)
    entries = [main]
    if resource.status:
        status = {"name": f"{resource.plural}/status", "singularName": "", "namespaced": resource.namespaced}
        entries.append({**status, "kind": resource.kind, "verbs": ["get", "patch", "update"]})
    return entries


def api_resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    group_version = f"{group}/{version}" if group else version
    listed = [entry for resource in resources for entry in _entries(resource)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": listed}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_root(registry: Registry) -> Obj:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            path = _gv_path(group, version)
            digest = hashlib.sha256(repr(openapi_v3_group(registry, group, version)).encode()).hexdigest()[:16]
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest.upper()}"}
    return {"paths": paths}


def _patch_path(resource: Resource) -> tuple[str, Obj]:
    base = "/" + _gv_path(resource.group, resource.version)
    scope = "/namespaces/{namespace}" if resource.namespaced else ""
    gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
    parameters = [
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}},
    ]
    operation = {
        "operationId": f"patch{resource.kind}",
        "parameters": parameters[:1],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": gvk,
    }
    return f"{base}{scope}/{resource.plural}/{{name}}", {"patch": operation, "parameters": parameters[1:]}


def openapi_v3_group(registry: Registry, group: str, version: str) -> Obj | None:
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (fake)", "version": VERSION["gitVersion"]},
        "paths": dict(_patch_path(resource) for resource in resources),
        "components": {"schemas": {}},
    }
