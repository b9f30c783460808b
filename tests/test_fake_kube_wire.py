"""Exact wire details of the fake API server over raw HTTP: Status bodies, discovery, tables, controls."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mocks.kube import FakeKube
from mocks.kube import manifests as k

CM_PATH = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def http(fake_kube: FakeKube) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake_kube.url, timeout=5) as session:
        yield session


def configmap(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **extra}, "data": {"k": "v"}}


async def test_errors_are_status_objects(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{CM_PATH}/nope", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "configmaps"},
        "code": 404,
    }
    unknown = await http.get("/apis/k8s.njet.org/v1/virtualservers")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "the server could not find the requested resource"
    assert (await http.post(f"{CM_PATH}/x", json=configmap("x"))).json()["reason"] == "MethodNotAllowed"
    assert (await http.get("/api/v1/namespaces/default/configmaps/x/scale")).status_code == 404


async def test_create_rules(http: httpx.AsyncClient) -> None:
    mismatch = await http.post(CM_PATH, json=configmap("a", namespace="other"))
    assert (mismatch.status_code, mismatch.json()["reason"]) == (400, "BadRequest")
    wrong_kind = await http.post(CM_PATH, json={**configmap("a"), "kind": "Secret"})
    assert wrong_kind.status_code == 400
    with_rv = await http.post(CM_PATH, json=configmap("a", resourceVersion="5"))
    assert with_rv.status_code == 400
    generated = await http.post(CM_PATH, json={"metadata": {"generateName": "cm-"}})
    assert generated.status_code == 201
    assert generated.json()["metadata"]["name"].startswith("cm-")
    assert generated.json()["apiVersion"] == "v1"
    assert generated.json()["metadata"]["namespace"] == "default"
    nameless = await http.post(CM_PATH, json={"metadata": {}})
    assert nameless.status_code == 422
    assert nameless.json()["details"]["causes"][0]["field"] == "metadata.name"
    bad_label = await http.post(CM_PATH, json=configmap("b", labels={"a": "not ok!"}))
    assert bad_label.status_code == 422
    not_json = await http.post(CM_PATH, content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400


async def test_patch_content_types(http: httpx.AsyncClient) -> None:
    await http.post(CM_PATH, json=configmap("a"))

    async def patch(body: Any, content_type: str) -> httpx.Response:
        return await http.patch(f"{CM_PATH}/a", content=json.dumps(body), headers={"Content-Type": content_type})

    assert (await patch({"data": {"x": "1"}}, "application/merge-patch+json")).json()["data"] == {"k": "v", "x": "1"}
    moved = await patch([{"op": "move", "from": "/data/x", "path": "/data/y"}], "application/json-patch+json")
    assert moved.json()["data"] == {"k": "v", "y": "1"}
    copied = await patch([{"op": "copy", "from": "/data/y", "path": "/data/z"}], "application/json-patch+json")
    assert copied.json()["data"] == {"k": "v", "y": "1", "z": "1"}
    assert (await patch({"data": {}}, "application/json-patch+json")).status_code == 400
    assert (await patch([{"op": "remove", "path": "/data/nope"}], "application/json-patch+json")).status_code == 422
    assert (await patch({}, "application/apply-patch+yaml")).status_code == 415
    assert (await patch({}, "text/plain")).json()["reason"] == "UnsupportedMediaType"
    unchanged = await patch({"data": {"k": "v"}}, "application/merge-patch+json")
    assert unchanged.json()["metadata"]["resourceVersion"] == copied.json()["metadata"]["resourceVersion"]


async def test_delete_preconditions_and_status(http: httpx.AsyncClient) -> None:
    created = (await http.post(CM_PATH, json=configmap("a"))).json()
    refused = await http.request("DELETE", f"{CM_PATH}/a", json={"preconditions": {"uid": "other"}})
    assert (refused.status_code, refused.json()["reason"]) == (409, "Conflict")
    done = await http.request("DELETE", f"{CM_PATH}/a", json={"preconditions": {"uid": created["metadata"]["uid"]}})
    assert done.json()["status"] == "Success"
    assert done.json()["details"]["uid"] == created["metadata"]["uid"]
    assert (await http.delete(f"{CM_PATH}/a")).status_code == 404


async def test_capitalised_booleans_and_watch_lines(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    fake_kube.create(configmap("a") | {"metadata": {"name": "a", "namespace": "default"}})
    params = {"watch": "True", "timeoutSeconds": "1", "allowWatchBookmarks": "True"}
    async with http.stream("GET", CM_PATH, params=params) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        lines = [json.loads(line) async for line in response.aiter_lines() if line]
    assert lines[0]["type"] == "ADDED"
    assert lines[0]["object"]["kind"] == "ConfigMap"
    assert {line["type"] for line in lines[1:]} == {"BOOKMARK"}
    assert lines[-1]["object"] == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": str(fake_kube.resource_version)},
    }


async def test_expired_watch_is_an_error_event(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    fake_kube.compact()
    response = await http.get(CM_PATH, params={"watch": "true", "resourceVersion": "1"})
    assert response.status_code == 200
    event = json.loads(response.text)
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith("too old resource version: 1 (")


async def test_strict_field_validation_refuses_unknown_fields(http: httpx.AsyncClient) -> None:
    strict = {"fieldValidation": "Strict"}
    misspelled = {**configmap("cm"), "dta": {"k": "v"}}
    refused = await http.post(CM_PATH, params=strict, json=misspelled)
    assert (refused.status_code, refused.json()["reason"]) == (400, "BadRequest")
    assert refused.json()["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"'
    )
    assert (await http.post(CM_PATH, params=strict, json=configmap("cm"))).status_code == 201
    merge = {"Content-Type": "application/merge-patch+json"}
    patch = json.dumps({"metadata": {"labelz": {"a": "b"}, "labels": {"a": "b"}}})
    refused = await http.patch(f"{CM_PATH}/cm", params=strict, content=patch, headers=merge)
    assert refused.json()["message"] == 'strict decoding error: unknown field "metadata.labelz"'
    directive = json.dumps({"metadata": {"$setElementOrder/finalizers": [], "labels": {"a": "b"}}})
    smp = {"Content-Type": "application/strategic-merge-patch+json"}
    assert (await http.patch(f"{CM_PATH}/cm", params=strict, content=directive, headers=smp)).status_code == 200
    # Without Strict the server accepts (and, unlike a real one, keeps) what it does not know.
    assert (await http.post(CM_PATH, json={**misspelled, "metadata": {"name": "lax"}})).status_code == 201


async def test_discovery_documents(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    assert (await http.get("/version")).json()["major"] == "1"
    assert (await http.get("/api")).json()["versions"] == ["v1"]
    groups = {g["name"] for g in (await http.get("/apis")).json()["groups"]}
    assert {"networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io", "events.k8s.io"} <= groups
    assert "k8s.njet.org" not in groups
    fake_kube.create(k.virtual_server_crd())
    assert "k8s.njet.org" in {g["name"] for g in (await http.get("/apis")).json()["groups"]}
    resources = (await http.get("/apis/k8s.njet.org/v1")).json()["resources"]
    assert resources[0]["shortNames"] == ["vs"]
    assert resources[1]["name"] == "virtualservers/status"
    core = {r["name"]: r for r in (await http.get("/api/v1")).json()["resources"]}
    assert core["services"]["shortNames"] == ["svc"]
    assert core["nodes"]["namespaced"] is False
    ingresses = (await http.get("/apis/networking.k8s.io/v1")).json()["resources"][0]
    assert ingresses["shortNames"] == ["ing"]
    assert "watch" in ingresses["verbs"]
    root = (await http.get("/openapi/v3")).json()["paths"]
    assert "apis/k8s.njet.org/v1" in root


PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
GVK = "x-kubernetes-group-version-kind"


async def served_kinds(http: httpx.AsyncClient) -> set[tuple[str, str, str]]:
    """(group, version, kind) of every resource discovery lists."""
    lists = [(await http.get("/api/v1")).json()]
    for group in (await http.get("/apis")).json()["groups"]:
        for version in group["versions"]:
            lists.append((await http.get(f"/apis/{version['groupVersion']}")).json())
    kinds = set()
    for listed in lists:
        group, _, version = listed["groupVersion"].rpartition("/")
        kinds |= {(group, version, r["kind"]) for r in listed["resources"] if "/" not in r["name"]}
    return kinds


async def test_openapi_v2_has_a_schema_for_every_served_kind(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    fake_kube.create(k.virtual_server_crd())
    document = (await http.get("/openapi/v2")).json()
    assert (document["swagger"], document["info"]["title"]) == ("2.0", "Kubernetes")
    definitions = document["definitions"]
    published = {(g["group"], g["version"], g["kind"]) for d in definitions.values() for g in d.get(GVK, [])}
    assert published == await served_kinds(http)
    ingress = definitions["io.k8s.api.networking.v1.Ingress"]
    assert sorted(ingress["properties"]) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert ingress[GVK] == [{"group": "networking.k8s.io", "kind": "Ingress", "version": "v1"}]
    assert definitions["org.njet.k8s.v1.VirtualServer"] == {
        "type": "object",
        GVK: [{"group": "k8s.njet.org", "kind": "VirtualServer", "version": "v1"}],
    }
    refs = set(re.findall(r'"\$ref": "#/definitions/([^"]+)"', json.dumps(definitions)))
    assert refs <= set(definitions), "a $ref to no definition"
    patch = document["paths"]["/apis/k8s.njet.org/v1/namespaces/{namespace}/virtualservers/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in patch["consumes"]


def wire_fields(data: bytes) -> list[tuple[int, Any]]:
    """A protobuf message as (field number, value): bytes for length-delimited fields, int for varints."""
    fields, at = [], 0

    def varint() -> int:
        nonlocal at
        value, shift = 0, 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while at < len(data):
        key = varint()
        if key & 7 == 0:
            fields.append((key >> 3, varint()))
        else:
            assert key & 7 == 2, f"wire type {key & 7}"
            length = varint()
            fields.append((key >> 3, data[at : at + length]))
            at += length
    return fields


def decoded_schema(data: bytes) -> dict[str, Any]:
    """gnostic's openapi.v2.Schema message back into JSON, from the field numbers of OpenAPIv2.proto."""
    schema: dict[str, Any] = {}
    names = {1: "$ref", 2: "format", 3: "title", 4: "description"}
    for number, value in wire_fields(data):
        if number in names:
            schema[names[number]] = value.decode()
        elif number == 19:
            schema.setdefault("required", []).append(value.decode())
        elif number == 21:
            schema["additionalProperties"] = decoded_schema(dict(wire_fields(value))[1])
        elif number == 22:
            (schema["type"],) = [item.decode() for _, item in wire_fields(value)]
        elif number == 23:
            schema["items"] = decoded_schema(dict(wire_fields(value))[1])
        elif number == 25:
            schema["properties"] = dict(decoded_named(item) for _, item in wire_fields(value))
        elif number == 31:
            pair = dict(wire_fields(value))
            schema[pair[1].decode()] = json.loads(dict(wire_fields(pair[2]))[2])  # Any.yaml
        else:
            raise AssertionError(f"unexpected Schema field {number}")
    return schema


def decoded_named(data: bytes) -> tuple[str, dict[str, Any]]:
    pair = dict(wire_fields(data))
    return pair[1].decode(), decoded_schema(pair[2])


async def test_openapi_v2_as_protobuf_is_the_same_document(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi/v2")).json()
    response = await http.get("/openapi/v2", headers={"Accept": PROTOBUF})
    assert response.headers["content-type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    top = wire_fields(response.content)
    assert [number for number, _ in top] == [1, 2, 8, 9]  # swagger, info, paths, definitions
    assert top[0][1] == b"2.0"
    definitions = [decoded_named(item) for _, item in wire_fields(top[3][1])]
    assert dict(definitions) == document["definitions"]
    paths = [dict(wire_fields(item))[1].decode() for _, item in wire_fields(top[2][1])]
    assert paths == list(document["paths"])


async def test_tables_for_kubectl(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    fake_kube.create(k.ingress("web", "default", "a.example.com"))
    accept = ",".join(
        [
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
            "application/json",
        ]
    )
    body = (await http.get("/apis/networking.k8s.io/v1/ingresses", headers={"Accept": accept})).json()
    assert body["kind"] == "Table"
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Age"]
    assert body["rows"][0]["cells"][0] == "web"
    assert body["rows"][0]["object"]["metadata"]["namespace"] == "default"
    plain = (await http.get("/apis/networking.k8s.io/v1/ingresses")).json()
    assert plain["kind"] == "IngressList"
    assert plain["items"][0]["kind"] == "Ingress"


async def test_http_controls(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    fake_kube.create(k.virtual_server_crd())
    fake_kube.create(k.virtual_server("vs1", "default", "vs.example.com"))
    state = (await http.get("/_fake/state")).json()
    assert state["objects"]["k8s.njet.org/virtualservers"] == 1
    assert state["outage"] is None
    assert (await http.put("/_fake/outage", json={"status": 503})).json() == {
        "outage": 503,
        "resources": [],
        "verbs": [],
    }
    failed = await http.get(CM_PATH)
    assert (failed.status_code, failed.json()["reason"]) == (503, "ServiceUnavailable")
    await http.delete("/_fake/outage")
    assert (await http.get(CM_PATH)).status_code == 200
    compacted = (await http.post("/_fake/compact", json={})).json()["compacted"]
    assert compacted == fake_kube.resource_version
    assert (await http.post("/_fake/drop-watches")).json() == {"dropped": 0}
    settings = (await http.put("/_fake/settings", json={"bookmark_interval": 0.5, "watch_timeout_cap": 2})).json()
    assert settings["bookmark_interval"] == 0.5
    assert fake_kube.watch_timeout_cap == 2
    log = (await http.get("/_fake/requests")).json()
    assert [(r["verb"], r["status"]) for r in log["requests"]] == [("other", 503), ("list", 200)]
    assert log["stats"] == {"other": 1, "list": 1}
    assert (await http.delete("/_fake/requests")).json()["requests"] == []

    # A scoped outage: only lists of VirtualServers fail; reading one by name still works.
    scope = {"status": 503, "resources": ["virtualservers.k8s.njet.org"], "verbs": ["list"]}
    answer = (await http.put("/_fake/outage", json=scope)).json()
    assert answer == {"outage": 503, "resources": ["virtualservers.k8s.njet.org"], "verbs": ["list"]}
    assert (await http.get("/_fake/state")).json()["outage"] == scope
    assert (await http.get("/apis/k8s.njet.org/v1/virtualservers")).status_code == 503
    assert (await http.get("/apis/k8s.njet.org/v1/namespaces/default/virtualservers/vs1")).status_code == 200
    assert (await http.get(CM_PATH)).status_code == 200
    for wrong in ({"status": 503, "verbs": ["read"]}, {"status": 503, "resources": "nodes"}):
        assert (await http.put("/_fake/outage", json=wrong)).status_code == 400
    assert (await http.delete("/_fake/outage")).json() == {"outage": None, "resources": [], "verbs": []}
    assert (await http.get("/apis/k8s.njet.org/v1/virtualservers")).status_code == 200
