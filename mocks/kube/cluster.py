"""The API server's object semantics over the store: every write path, HTTP or in-process.

``Cluster`` is where a request body becomes a stored object: kind/apiVersion and namespace
checks, ``generateName``, existence of the namespace, validation, server-side defaults,
optimistic concurrency (a stale ``metadata.resourceVersion`` is a 409), the ``/status``
split (a main-resource write keeps the stored status of kinds that have the subresource,
a status write changes nothing else), generation bumps, finalizers, and the cascades of
deleting a Namespace (its objects go) or a CRD (its kind and objects go). A binding's roleRef
is immutable, as on the real server.

HTTP handlers and the test helpers of ``server.py`` both call these methods, so an object
created from a test is indistinguishable from one a client created — same validation, same
resourceVersion, same watch event. Nothing here awaits.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from typing import Any

from mocks.kube import defaults, errors
from mocks.kube.patching import json_patch, merge_patch, strategic_merge_patch
from mocks.kube.resources import (
    CLUSTER_ROLE_BINDINGS_KEY,
    CRD_KEY,
    NAMESPACES_KEY,
    ROLE_BINDINGS_KEY,
    Registry,
    Resource,
    StorageKey,
)
from mocks.kube.store import ObjectKey, Store
from mocks.kube.validation import validate

Obj = dict[str, Any]
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE, STRATEGIC)
SERVER_OWNED = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")


def _not_found(resource: Resource, name: str) -> errors.KubeError:
    return errors.not_found(resource.qualified, resource.group, resource.plural, name)


def _conflict(resource: Resource, name: str, why: str = "") -> errors.KubeError:
    return errors.conflict(resource.qualified, resource.group, resource.plural, name, why)


def present(resource: Resource, obj: Obj) -> Obj:
    """The object as served at ``resource``'s version: apiVersion and kind first."""
    rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": resource.api_version, "kind": resource.kind, **rest}


def _without_metadata_and_status(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Cluster:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.allocator = defaults.Allocator()
        self.on_kind_removed: Callable[[StorageKey], None] | None = None
        namespaces = self.registry.find("", "v1", "namespaces")
        assert namespaces is not None
        for name in ("default", "kube-system"):
            self.create(namespaces, None, {"metadata": {"name": name}})

    # Reads -----------------------------------------------------------------------------

    def read(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        return present(resource, self._current(resource, namespace, name))

    def page(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        after: ObjectKey | None = None,
        match: Callable[[Obj], bool] | None = None,
        limit: int = 0,
    ) -> tuple[list[Obj], int]:
        """One page of a list, like ``list``: the objects after ``after`` that ``match`` (None: all),
        at most ``limit`` of them (0: no limit), and how many more match after them. Without a
        selector the rest is counted, not read, so a page costs the page; with one, the rest is
        matched (selectors read labels and fields, never the apiVersion that ``present`` sets)."""
        found = self.store.scan(resource.key, namespace, after)
        if match is not None:
            found = (obj for obj in found if match(obj))
        objects = list(itertools.islice(found, limit or None))
        if match is None:
            remaining = self.store.count(resource.key, namespace, after) - len(objects)
        else:
            remaining = sum(1 for _ in found)
        return [present(resource, obj) for obj in objects], remaining

    def list(self, resource: Resource, namespace: str | None) -> list[Obj]:
        """For answering at once (shares the stored objects' insides; ``present`` copies the top)."""
        return [present(resource, obj) for obj in self.store.scan(resource.key, namespace)]

    def _current(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        found = self.store.get(resource.key, namespace or "", name)
        if found is None:
            raise _not_found(resource, name)
        return found

    # Body checks shared by create, replace and patch -------------------------------------

    def _checked_body(self, resource: Resource, namespace: str | None, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request(
                f'{resource.kind} in version "{resource.version}" cannot be handled: not a JSON object'
            )
        body = copy.deepcopy(body)
        if body.get("apiVersion") not in (None, resource.api_version):
            raise errors.bad_request(
                f"the API version in the data ({body['apiVersion']}) does not match the expected API version "
                f"({resource.api_version})"
            )
        if body.get("kind") not in (None, resource.kind):
            raise errors.bad_request(
                f'{body["kind"]} in version "{resource.version}" cannot be handled as a {resource.kind}'
            )
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("json: cannot unmarshal metadata: not an object")
        self._place(resource, namespace, meta)
        return present(resource, body)

    @staticmethod
    def _place(resource: Resource, namespace: str | None, meta: Obj) -> None:
        if not resource.namespaced:
            meta.pop("namespace", None)
            return
        if meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace

    # Create ------------------------------------------------------------------------------

    def create(self, resource: Resource, namespace: str | None, body: Any) -> Obj:
        obj = self._checked_body(resource, namespace, body)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = defaults.generated_name(meta["generateName"])
        if resource.namespaced and self.store.get(NAMESPACES_KEY, "", namespace or "") is None:
            raise errors.not_found("namespaces", "", "namespaces", namespace or "")
        if resource.status and not resource.keep_status_on_create:
            obj.pop("status", None)
        validate(resource, obj)
        if self.store.get(resource.key, namespace or "", meta["name"]) is not None:
            raise errors.already_exists(resource.qualified, resource.group, resource.plural, meta["name"])
        defaults.stamp_new(resource, obj)
        defaults.apply_defaults(resource, obj, self.allocator)
        stored = self.store.put(resource.key, obj)
        if resource.key == CRD_KEY:
            self.registry.register_crd(stored)
        return present(resource, stored)

    # Update: replace (PUT) and patch (PATCH) share _update -----------------------------------

    def replace(self, resource: Resource, namespace: str | None, name: str, body: Any, *, status: bool = False) -> Obj:
        new = self._checked_body(resource, namespace, body)
        if new["metadata"].get("name") != name:
            raise errors.bad_request(
                f"the name of the object ({new['metadata'].get('name')}) does not match the name on the URL ({name})"
            )
        return self._update(resource, self._current(resource, namespace, name), new, status=status)

    def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        raw: bytes,
        content_type: str,
        *,
        status: bool = False,
    ) -> Obj:
        current = present(resource, self._current(resource, namespace, name))
        patched = self._patched(resource, current, raw, content_type)
        new = self._checked_body(resource, namespace, patched)
        if new["metadata"].get("name") != name:
            raise errors.bad_request(f"the name of the object ({new['metadata'].get('name')}) does not match ({name})")
        return self._update(resource, current, new, status=status)

    @staticmethod
    def _patched(resource: Resource, current: Obj, raw: bytes, content_type: str) -> Any:
        media = content_type.split(";", maxsplit=1)[0].strip().lower()
        if media not in PATCH_TYPES or (media == STRATEGIC and resource.custom):
            accepted = tuple(t for t in PATCH_TYPES if not (t == STRATEGIC and resource.custom))
            raise errors.unsupported_media_type(media, accepted)
        try:
            patch = json.loads(raw)
        except ValueError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        if media == JSON_PATCH:
            return json_patch(current, patch)
        if not isinstance(patch, dict):
            raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        return merge_patch(current, patch) if media == MERGE else strategic_merge_patch(current, patch)

    def _update(self, resource: Resource, current: Obj, new: Obj, *, status: bool) -> Obj:
        name = current["metadata"]["name"]
        wanted_rv = new["metadata"].get("resourceVersion")
        if wanted_rv not in (None, "") and wanted_rv != current["metadata"]["resourceVersion"]:
            raise _conflict(resource, name)
        if new["metadata"].get("uid") not in (None, "", current["metadata"]["uid"]):
            raise _conflict(resource, name, "Precondition failed: UID in object meta does not match the stored one")
        merged = self._merged(resource, current, new, status=status)
        validate(resource, merged)
        if resource.key == CRD_KEY:
            self._check_crd_identity(current, merged)
        if resource.key in (ROLE_BINDINGS_KEY, CLUSTER_ROLE_BINDINGS_KEY):
            self._check_role_ref(resource, current, merged)
        if present(resource, merged) == present(resource, current):
            return present(resource, current)  # a no-op write changes nothing, not even the resourceVersion
        if resource.generation and _without_metadata_and_status(merged) != _without_metadata_and_status(current):
            merged["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        if merged["metadata"].get("deletionTimestamp") and not merged["metadata"].get("finalizers"):
            return present(resource, self._remove(resource, merged))
        stored = self.store.put(resource.key, merged)
        if resource.key == CRD_KEY:
            self.registry.register_crd(stored)
        return present(resource, stored)

    def _merged(self, resource: Resource, current: Obj, new: Obj, *, status: bool) -> Obj:
        if status:
            merged = copy.deepcopy(current)
            merged.pop("status", None)
            if new.get("status") is not None:
                merged["status"] = new["status"]
            return merged
        merged = copy.deepcopy(new)
        meta, old_meta = merged["metadata"], current["metadata"]
        for field in (*SERVER_OWNED, "resourceVersion"):
            meta.pop(field, None)
            if field in old_meta:
                meta[field] = old_meta[field]
        if resource.status:
            merged.pop("status", None)
            if "status" in current:
                merged["status"] = current["status"]
        defaults.apply_update_defaults(resource, current, merged, self.allocator)
        return merged

    @staticmethod
    def _check_crd_identity(current: Obj, new: Obj) -> None:
        before = (current["spec"]["group"], current["spec"]["names"]["plural"])
        if (new["spec"]["group"], new["spec"]["names"]["plural"]) != before:
            raise errors.invalid(
                "CustomResourceDefinition.apiextensions.k8s.io",
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                current["metadata"]["name"],
                [("FieldValueInvalid", "spec.group", "Invalid value: field is immutable")],
            )

    @staticmethod
    def _check_role_ref(resource: Resource, current: Obj, new: Obj) -> None:
        """A binding's roleRef is immutable: changing whom it grants what means a new binding."""
        if new.get("roleRef") != current.get("roleRef"):
            name = current["metadata"]["name"]
            cause = ("FieldValueInvalid", "roleRef", f"Invalid value: {new.get('roleRef')}: cannot change roleRef")
            raise errors.invalid(resource.kind_qualified, resource.group, resource.kind, name, [cause])

    # Delete ------------------------------------------------------------------------------

    def delete(self, resource: Resource, namespace: str | None, name: str, options: Obj | None = None) -> Obj:
        current = self._current(resource, namespace, name)
        self._check_preconditions(resource, current, (options or {}).get("preconditions") or {})
        meta = current["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = defaults.now_text()
                meta["deletionGracePeriodSeconds"] = 0
                return present(resource, self.store.put(resource.key, current))
            return present(resource, current)
        return present(resource, self._remove(resource, current))

    @staticmethod
    def _check_preconditions(resource: Resource, current: Obj, preconditions: Obj) -> None:
        meta = current["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field)
            if wanted and wanted != meta.get(field):
                why = (
                    f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {meta.get(field)}"
                )
                raise _conflict(resource, meta["name"], why)

    def _remove(self, resource: Resource, obj: Obj) -> Obj:
        meta = obj["metadata"]
        if resource.key == NAMESPACES_KEY:
            self._empty_namespace(meta["name"])
        if resource.key == CRD_KEY:
            self._drop_kind((obj["spec"]["group"], obj["spec"]["names"]["plural"]))
        return self.store.remove(resource.key, meta.get("namespace", ""), meta["name"])

    def _empty_namespace(self, namespace: str) -> None:
        for key in self.store.kinds():
            for obj in self.store.items(key, namespace):
                self.store.remove(key, namespace, obj["metadata"]["name"])

    def _drop_kind(self, key: StorageKey) -> None:
        for obj in self.store.items(key):
            self.store.remove(key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self.registry.unregister_key(key)
        if self.on_kind_removed is not None:
            self.on_kind_removed(key)
