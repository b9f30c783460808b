"""``/openapi/v2``: the Swagger 2.0 document, in JSON or in the protobuf kubectl asks for.

kube-apiserver serves one document for the whole API: ``definitions`` (the object schemas
kubectl validates manifests against, see ``schemas.py``) and ``paths``. It answers JSON, or
protobuf when ``Accept`` names ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
(or the newer ``…spec.v2.v1.0+protobuf``) — which is what kubectl asks for, and the only form it
decodes: it unmarshals the answer into gnostic's ``openapi.v2.Document`` message, so a JSON
answer is as useless to it as a 404 (kubectl 1.20 then refuses to create anything).

The protobuf is written here by hand, field by field, from gnostic's ``OpenAPIv2.proto``: the
wire format is simple (tag, varint length, bytes) and this document uses a small part of it.
A key the encoder does not know is an error, never silently dropped, so the two forms cannot
drift apart. Vendor extensions (``x-kubernetes-…``) travel as ``Any`` messages holding their
YAML text (JSON is YAML), as gnostic's own JSON-to-protobuf conversion does.

``paths`` holds one PATCH operation per kind, with the patch types it accepts (no strategic
merge for custom resources) and the kind — what a client decides on; no other operation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mocks.kube.discovery import VERSION
from mocks.kube.resources import Registry, Resource
from mocks.kube.schemas import GVK, definitions

Obj = dict[str, Any]
PROTOBUF_TYPES = (
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
)
# The answer's Content-Type: "@" is not valid in a media type, and Go's parser refuses it.
PROTOBUF_ANSWER = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json"]
STRATEGIC = "application/strategic-merge-patch+json"


# ---------------------------------------------------------------------------- the document


def document(registry: Registry) -> Obj:
    resources = list(_served(registry))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
        "paths": dict(sorted(_patch_path(resource) for resource in resources)),
        "definitions": definitions(resources),
    }


def _served(registry: Registry) -> Iterator[Resource]:
    for group, versions in registry.group_versions().items():
        for version in versions:
            yield from registry.in_group_version(group, version)


def _patch_path(resource: Resource) -> tuple[str, Obj]:
    base = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
    scope = "/namespaces/{namespace}" if resource.namespaced else ""
    consumes = PATCH_TYPES if resource.custom else [*PATCH_TYPES, STRATEGIC]
    operation = {
        "consumes": consumes,
        "operationId": f"patch{resource.kind}",
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": "patch",
        GVK: {"group": resource.group, "kind": resource.kind, "version": resource.version},
    }
    return f"{base}{scope}/{resource.plural}/{{name}}", {"patch": operation}


def wants_protobuf(accept: str) -> bool:
    return any(kind in accept for kind in PROTOBUF_TYPES)


# ---------------------------------------------------------------------------- protobuf (gnostic openapi.v2)


def protobuf(doc: Obj) -> bytes:
    """``doc`` as an ``openapi.v2.Document`` message."""
    return b"".join(
        [
            _string(1, doc["swagger"]),
            _message(2, _string(1, doc["info"]["title"]) + _string(2, doc["info"]["version"])),
            _message(8, b"".join(_message(2, _named(path, _path_item(item))) for path, item in doc["paths"].items())),
            _message(9, b"".join(_message(1, _named(name, _schema(s))) for name, s in doc["definitions"].items())),
        ]
    )


SCHEMA_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4}


def _schema(schema: Obj) -> bytes:
    """A ``Schema`` message: the keys ``schemas.py`` writes, and vendor extensions."""
    parts = []
    for key, value in schema.items():
        if key in SCHEMA_STRINGS:
            parts.append(_string(SCHEMA_STRINGS[key], value))
        elif key == "required":
            parts += [_string(19, name) for name in value]
        elif key == "additionalProperties":
            parts.append(_message(21, _message(1, _schema(value)) if isinstance(value, dict) else _bool(2, value)))
        elif key == "type":
            parts.append(_message(22, _string(1, value)))  # TypeItem
        elif key == "items":
            parts.append(_message(23, _message(1, _schema(value))))  # ItemsItem
        elif key == "properties":
            named = (_message(1, _named(name, _schema(sub))) for name, sub in value.items())
            parts.append(_message(25, b"".join(named)))  # Properties
        elif key.startswith("x-"):
            parts.append(_message(31, _extension(key, value)))
        else:
            raise ValueError(f"no protobuf field for the schema key {key!r}")
    return b"".join(parts)


def _path_item(item: Obj) -> bytes:
    if set(item) != {"patch"}:
        raise ValueError(f"no protobuf field for the path item keys {sorted(item)}")
    return _message(8, _operation(item["patch"]))


def _operation(operation: Obj) -> bytes:
    parts = [_string(5, operation["operationId"]), *(_string(7, kind) for kind in operation["consumes"])]
    responses = (
        _message(1, _named(code, _message(1, _string(1, response["description"]))))
        for code, response in operation["responses"].items()
    )
    parts.append(_message(9, b"".join(responses)))
    parts += [_message(13, _extension(key, value)) for key, value in operation.items() if key.startswith("x-")]
    known = {"operationId", "consumes", "responses"}
    unknown = [key for key in operation if key not in known and not key.startswith("x-")]
    if unknown:
        raise ValueError(f"no protobuf field for the operation keys {unknown}")
    return b"".join(parts)


def _extension(name: str, value: Any) -> bytes:
    """A ``NamedAny``: the extension's name and an ``Any`` carrying its value as YAML."""
    return _string(1, name) + _message(2, _string(2, json.dumps(value)))


def _named(name: str, value: bytes) -> bytes:
    """The ``Named…`` pair messages of gnostic: name = 1, value = 2."""
    return _string(1, name) + _message(2, value)


def _string(number: int, text: str) -> bytes:
    return _message(number, text.encode())


def _message(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _bool(number: int, value: bool) -> bytes:
    return _varint(number << 3) + _varint(int(value))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
