"""The three patch formats of the API server, as pure functions over JSON values.

* JSON merge patch (RFC 7386): objects merge recursively, ``null`` deletes, anything else
  (lists included) replaces.
* Strategic merge patch — an approximation. The real server reads merge keys from the Go
  struct tags of each built-in type; this fake keys them by field name alone
  (``MERGE_KEYS``: ``conditions`` and ``addresses`` by ``type``, ``ports`` by ``port``, …),
  whatever the path. Other lists replace. ``$patch: delete`` in a list element removes the
  element with that key, ``$patch: replace`` in a map replaces it, ``$patch: delete`` in a
  map deletes it; ``$setElementOrder/…`` and ``$retainKeys`` are accepted and ignored.
* JSON patch (RFC 6902): add, remove, replace, move, copy, test on JSON pointers.

Errors raise ``KubeError`` with the status the real server uses: a body that does not decode
as the format is a 400, a JSON patch that does not apply is a 422.
"""

from __future__ import annotations

import copy
from typing import Any

from mocks.kube.errors import bad_request, unprocessable

MERGE_KEYS = {
    "conditions": "type",
    "addresses": "type",
    "ports": "port",
    "ownerReferences": "uid",
    "containers": "name",
    "env": "name",
    "volumes": "name",
    "tolerations": "key",
}
SET_LISTS = frozenset({"finalizers"})  # lists of scalars merged as sets


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith(("$setElementOrder/", "$retainKeys", "$patch", "$deleteFromPrimitiveList/")):
            continue
        if value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, MERGE_KEYS[key])
        elif isinstance(value, list) and key in SET_LISTS and isinstance(result.get(key), list):
            result[key] = result[key] + [item for item in value if item not in result[key]]
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _merge_list(current: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    result = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            return copy.deepcopy(patch)  # not a keyed list after all: replace, as for atomic lists
        index = next(
            (i for i, old in enumerate(result) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


# JSON patch (RFC 6902) -------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise unprocessable(f"invalid JSON pointer: {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _parent(doc: Any, parts: list[str], op: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        node = _child(node, part, op)
    return node, parts[-1]


def _child(node: Any, part: str, op: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise unprocessable(f"{op} operation does not apply: doc is missing path: {part}")


def _get(doc: Any, path: Any, op: str) -> Any:
    node = doc
    for part in _pointer(path):
        node = _child(node, part, op)
    return node


def _add(doc: Any, path: Any, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent, last = _parent(doc, parts, "add")
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list) and (last == "-" or (last.isdigit() and int(last) <= len(parent))):
        parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(value))
    else:
        raise unprocessable(f"add operation does not apply: doc is missing path: {path}")
    return doc


def _remove(doc: Any, path: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        raise unprocessable("remove operation does not apply: cannot remove the whole document")
    parent, last = _parent(doc, parts, "remove")
    _child(parent, last, "remove")
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[int(last)]
    return doc


def _operation(doc: Any, operation: Any) -> Any:
    if not isinstance(operation, dict) or "op" not in operation:
        raise bad_request('json: cannot unmarshal operation: missing "op"')
    op, path = operation["op"], operation.get("path")
    if op == "add":
        return _add(doc, path, operation.get("value"))
    if op == "remove":
        return _remove(doc, path)
    if op == "replace":
        _get(doc, path, "replace")
        return _add(_remove(doc, path), path, operation.get("value"))
    if op in ("move", "copy"):
        value = copy.deepcopy(_get(doc, operation.get("from"), op))
        doc = _remove(doc, operation.get("from")) if op == "move" else doc
        return _add(doc, path, value)
    if op == "test":
        if _get(doc, path, "test") != operation.get("value"):
            raise unprocessable(f"testing value {path} failed: test failed")
        return doc
    raise bad_request(f"Unexpected kind: {op}")


def json_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, list):
        kind = "object" if isinstance(patch, dict) else type(patch).__name__
        raise bad_request(f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for operation in patch:
        doc = _operation(doc, operation)
    return doc
