"""Exact wire details of the fake API server over raw HTTP: Status bodies, discovery, tables, controls."""

from __future__ import annotations

import json
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
    assert (await http.get("/openapi/v2")).status_code == 404


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
