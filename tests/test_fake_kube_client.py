"""The fake API server through kubernetes_asyncio's typed APIs: what the bridge's client will see."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from mocks.kube import FakeKube
from mocks.kube import manifests as k

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def bare_service(name: str, ns: str = "default", *, port: int = 80) -> k.Obj:
    """A NodePort Service whose port leaves protocol, targetPort and nodePort to the server's defaults."""
    return k.service(name, ns, ports=(("http", port, None),))


async def status_of(call: Any) -> tuple[int, dict[str, Any]]:
    import json

    with pytest.raises(ApiException) as caught:
        await call
    return caught.value.status, json.loads(caught.value.body or "{}")


async def test_typed_create_read_list_replace_delete(kube_api: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube_api)
    created = await net.create_namespaced_ingress("default", k.ingress("web", "default", "a.example.com"))
    assert created.metadata.uid
    assert created.metadata.generation == 1
    assert created.metadata.resource_version.isdigit()
    read = await net.read_namespaced_ingress("web", "default")
    assert read.spec.rules[0].http.paths[0].path_type == "Prefix"
    read.spec.rules[0].host = "b.example.com"
    replaced = await net.replace_namespaced_ingress("web", "default", read)
    assert int(replaced.metadata.resource_version) > int(read.metadata.resource_version)
    assert replaced.metadata.generation == 2
    listed = await net.list_ingress_for_all_namespaces()
    assert [i.metadata.name for i in listed.items] == ["web"]
    assert listed.items[0].kind == "Ingress"
    assert listed.items[0].api_version == "networking.k8s.io/v1"
    await net.delete_namespaced_ingress("web", "default")
    code, body = await status_of(net.read_namespaced_ingress("web", "default"))
    assert code == 404
    assert body["reason"] == "NotFound"
    assert body["message"] == 'ingresses.networking.k8s.io "web" not found'
    assert body["details"] == {"name": "web", "group": "networking.k8s.io", "kind": "ingresses"}


async def test_conflicts_and_existence(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    svc = await core.create_namespaced_service("default", bare_service("web"))
    code, body = await status_of(core.create_namespaced_service("default", bare_service("web")))
    assert (code, body["reason"]) == (409, "AlreadyExists")
    fresh = await core.patch_namespaced_service("web", "default", {"metadata": {"labels": {"a": "b"}}})
    svc.metadata.labels = {"stale": "yes"}
    code, body = await status_of(core.replace_namespaced_service("web", "default", svc))
    assert (code, body["reason"]) == (409, "Conflict")
    fresh.metadata.resource_version = None  # no resourceVersion: an unconditional update
    fresh.metadata.labels = {"c": "d"}
    assert (await core.replace_namespaced_service("web", "default", fresh)).metadata.labels == {"c": "d"}
    code, body = await status_of(core.create_namespaced_service("missing", bare_service("web", "missing")))
    assert (code, body["message"]) == (404, 'namespaces "missing" not found')


async def test_service_defaults_and_allocations_survive_updates(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    svc = await core.create_namespaced_service("default", bare_service("web"))
    port = svc.spec.ports[0]
    assert (port.protocol, port.target_port, svc.spec.type) == ("TCP", 80, "NodePort")
    assert 30000 <= port.node_port <= 32767
    assert svc.spec.cluster_ip.startswith("10.96.")
    body = bare_service("web")
    patched = await core.replace_namespaced_service("web", "default", body)
    assert patched.spec.ports[0].node_port == port.node_port
    assert patched.spec.cluster_ip == svc.spec.cluster_ip


async def test_three_patch_types_and_the_dict_as_json_patch_mistake(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    await core.create_node(k.node("n1", "10.0.0.1"))
    await core.patch_node("n1", {"metadata": {"labels": {"zone": "a"}}}, _content_type=MERGE)
    await core.patch_node(
        "n1", [{"op": "add", "path": "/metadata/labels/rack", "value": "r1"}], _content_type=JSON_PATCH
    )
    await core.patch_node("n1", {"metadata": {"labels": {"zone": None}}}, _content_type=STRATEGIC)
    assert (await core.read_node("n1")).metadata.labels == {"kubernetes.io/hostname": "n1", "rack": "r1"}
    code, body = await status_of(
        core.patch_node(
            "n1", [{"op": "test", "path": "/metadata/labels/rack", "value": "r2"}], _content_type=JSON_PATCH
        )
    )
    assert (code, body["reason"]) == (422, "Invalid")
    code, body = await status_of(core.patch_node("n1", {"metadata": {}}, _content_type=JSON_PATCH))
    assert (code, body["reason"]) == (400, "BadRequest")
    stale = {"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}}
    code, _ = await status_of(core.patch_node("n1", stale, _content_type=MERGE))
    assert code == 409


async def test_strategic_merge_merges_conditions_by_type(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    await core.create_node(k.node("n1", "10.0.0.1"))
    patch = {"status": {"conditions": [{"type": "DiskPressure", "status": "False"}]}}
    node = await core.patch_node_status("n1", patch, _content_type=STRATEGIC)
    assert [(c.type, c.status) for c in node.status.conditions] == [("Ready", "True"), ("DiskPressure", "False")]
    node = await core.patch_node_status("n1", patch, _content_type=MERGE)  # merge patch replaces lists
    assert [c.type for c in node.status.conditions] == ["DiskPressure"]


async def test_status_subresource_is_separate_from_the_main_resource(kube_api: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube_api)
    body = k.ingress("web", "default", "a.example.com", labels={"app": "web"})
    body["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    created = await net.create_namespaced_ingress("default", body)
    assert created.status is None or not created.status.load_balancer  # status dropped on create
    status = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}}, "metadata": {"labels": {"x": "y"}}}
    after = await net.patch_namespaced_ingress_status("web", "default", status)
    assert after.status.load_balancer.ingress[0].ip == "192.0.2.9"
    assert after.metadata.labels == {"app": "web"}
    main = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}, "metadata": {"labels": {"x": "y"}}}
    after = await net.patch_namespaced_ingress("web", "default", main)
    assert after.status.load_balancer.ingress[0].ip == "192.0.2.9"
    assert after.metadata.labels == {"app": "web", "x": "y"}
    assert after.metadata.generation == 1  # neither write changed the spec


async def test_label_and_field_selectors(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    for index, tier in enumerate(["web", "web", "db", None]):
        cm: dict[str, Any] = {"metadata": {"name": f"c{index}", "labels": {"tier": tier} if tier else {}}}
        await core.create_namespaced_config_map("default", cm)

    async def names(**selectors: str) -> list[str]:
        return [cm.metadata.name for cm in (await core.list_namespaced_config_map("default", **selectors)).items]

    assert await names(label_selector="tier=web") == ["c0", "c1"]
    assert await names(label_selector="tier!=web") == ["c2", "c3"]
    assert await names(label_selector="tier in (db, web),tier notin (web)") == ["c2"]
    assert await names(label_selector="!tier") == ["c3"]
    assert await names(label_selector="tier") == ["c0", "c1", "c2"]
    assert await names(field_selector="metadata.name=c2") == ["c2"]
    assert await names(field_selector="metadata.name!=c2,metadata.namespace=default") == ["c0", "c1", "c3"]
    code, body = await status_of(core.list_namespaced_config_map("default", field_selector="spec.nodeName=x"))
    assert (code, body["message"]) == (400, "field label not supported: spec.nodeName")


async def test_paging_with_limit_and_continue(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    core = client.CoreV1Api(kube_api)
    for index in range(5):
        await core.create_namespaced_config_map("default", {"metadata": {"name": f"c{index}"}})
    first = await core.list_namespaced_config_map("default", limit=2)
    assert [c.metadata.name for c in first.items] == ["c0", "c1"]
    assert first.metadata.remaining_item_count == 3
    second = await core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    assert [c.metadata.name for c in second.items] == ["c2", "c3"]
    assert second.metadata.resource_version == first.metadata.resource_version
    await core.create_namespaced_config_map("default", {"metadata": {"name": "c9"}})
    fake_kube.compact()
    code, body = await status_of(
        core.list_namespaced_config_map("default", limit=2, _continue=second.metadata._continue)
    )
    assert (code, body["reason"]) == (410, "Expired")


async def test_leases(kube_api: client.ApiClient) -> None:
    coordination = client.CoordinationV1Api(kube_api)
    lease = {"metadata": {"name": "adcbridge"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    created = await coordination.create_namespaced_lease("kube-system", lease)
    created.spec.holder_identity = "b"
    updated = await coordination.replace_namespaced_lease("adcbridge", "kube-system", created)
    assert updated.spec.holder_identity == "b"
    code, _ = await status_of(coordination.replace_namespaced_lease("adcbridge", "kube-system", created))
    assert code == 409  # the other candidate's stale write loses
    bad = {"metadata": {"name": "x"}, "spec": {"leaseDurationSeconds": "15"}}
    code, _ = await status_of(coordination.create_namespaced_lease("default", bad))
    assert code == 400


async def test_core_and_events_k8s_io_events(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    involved = {"kind": "Ingress", "namespace": "default", "name": "web", "apiVersion": "networking.k8s.io/v1"}
    core_event = {
        "metadata": {"generateName": "web."},
        "involvedObject": involved,
        "reason": "Synced",
        "type": "Normal",
    }
    created = await core.create_namespaced_event("default", core_event)
    assert created.metadata.name.startswith("web.")
    assert len(created.metadata.name) == 9
    found = await core.list_namespaced_event("default", field_selector="involvedObject.name=web,reason=Synced")
    assert len(found.items) == 1
    code, body = await status_of(core.create_namespaced_event("default", {"metadata": {"name": "e"}}))
    assert (code, body["details"]["causes"][0]["field"]) == (422, "involvedObject")
    events = client.EventsV1Api(kube_api)
    new_event = {
        "metadata": {"name": "e1"},
        "eventTime": "2024-01-01T00:00:00.000000Z",
        "reportingController": "adcbridge.example.org/bridge",
        "reportingInstance": "bridge-0",
        "action": "Sync",
        "reason": "Synced",
        "type": "Normal",
        "regarding": involved,
    }
    assert (await events.create_namespaced_event("default", new_event)).reason == "Synced"
    del new_event["eventTime"]
    code, body = await status_of(events.create_namespaced_event("default", {**new_event, "metadata": {"name": "e2"}}))
    assert code == 422
    assert "eventTime: Required value" in body["message"]


async def test_crd_lifecycle_custom_objects(kube_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api)
    code, body = await status_of(custom.list_namespaced_custom_object(k.VS_GROUP, "v1", "default", "virtualservers"))
    assert (code, body["reason"]) == (404, "NotFound")  # the CRD is missing
    extensions = client.ApiextensionsV1Api(kube_api)
    crd = await extensions.create_custom_resource_definition(k.virtual_server_crd())
    assert {c.type for c in crd.status.conditions} == {"Established", "NamesAccepted"}
    await custom.create_namespaced_custom_object(
        k.VS_GROUP, "v1", "default", "virtualservers", k.virtual_server("vs1", "default", "vs.example.com")
    )
    patch = {"status": {"state": "Valid"}}
    await custom.patch_namespaced_custom_object_status(
        k.VS_GROUP, "v1", "default", "virtualservers", "vs1", patch, _content_type=MERGE
    )
    code, body = await status_of(  # a dict goes out as json-patch by default: the real server refuses it
        custom.patch_namespaced_custom_object(k.VS_GROUP, "v1", "default", "virtualservers", "vs1", {"spec": {}})
    )
    assert (code, body["reason"]) == (400, "BadRequest")
    listed = await custom.list_cluster_custom_object(k.VS_GROUP, "v1", "virtualservers")
    assert listed["kind"] == "VirtualServerList"
    assert listed["items"][0]["status"] == {"state": "Valid"}
    code, _ = await status_of(
        custom.patch_namespaced_custom_object(
            k.VS_GROUP, "v1", "default", "virtualservers", "vs1", {}, _content_type=STRATEGIC
        )
    )
    assert code == 415
    await extensions.delete_custom_resource_definition(f"virtualservers.{k.VS_GROUP}")
    code, _ = await status_of(custom.list_cluster_custom_object(k.VS_GROUP, "v1", "virtualservers"))
    assert code == 404


async def test_validation_names_the_field(kube_api: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube_api)
    body = k.ingress("web", "default", "a.example.com")
    del body["spec"]["rules"][0]["http"]["paths"][0]["pathType"]
    code, status = await status_of(net.create_namespaced_ingress("default", body))
    assert code == 422
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.rules[0].http.paths[0].pathType"}
    ]
    core = client.CoreV1Api(kube_api)
    code, status = await status_of(core.create_namespaced_service("default", bare_service("Bad_Name")))
    assert code == 422
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    code, status = await status_of(core.create_namespace(k.namespace("a.b")))
    assert code == 422  # namespaces are labels, not subdomains
    bad_port = bare_service("web", port=70000)
    code, status = await status_of(core.create_namespaced_service("default", bad_port))
    assert code == 422
    assert "spec.ports[0].port" in status["message"]
    code, status = await status_of(
        core.create_node({"metadata": {"name": "n"}, "status": {"addresses": [{"type": "x"}]}})
    )
    assert code == 422
    assert status["details"]["causes"][0]["field"] == "status.addresses[0].address"


async def test_deleting_a_namespace_deletes_its_objects(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    core = client.CoreV1Api(kube_api)
    await core.create_namespace(k.namespace("team"))
    await core.create_namespaced_config_map("team", {"metadata": {"name": "c"}})
    await core.delete_namespace("team")
    assert fake_kube.get("v1", "ConfigMap", "c", namespace="team") is None
    assert [n.metadata.name for n in (await core.list_namespace()).items] == ["default", "kube-system"]


async def test_finalizers_hold_deletion_until_removed(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "c", "finalizers": ["x/y"]}})
    await core.delete_namespaced_config_map("c", "default")
    held = await core.read_namespaced_config_map("c", "default")
    assert held.metadata.deletion_timestamp is not None
    await core.patch_namespaced_config_map("c", "default", {"metadata": {"finalizers": None}})
    code, _ = await status_of(core.read_namespaced_config_map("c", "default"))
    assert code == 404
