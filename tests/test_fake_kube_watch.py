"""Watches on the fake API server through kubernetes_asyncio's ``Watch``: resume, bookmarks, 410, drops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from mocks.kube import FakeKube
from mocks.kube import manifests as k
from tests.kube_fixtures import api_client


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the fake has no event to wait on; poll its counter
            await asyncio.sleep(0.01)


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
    }


async def collect(stream: Any, count: int, *, within: float = 5) -> list[tuple[str, str]]:
    """The first ``count`` non-bookmark events as ``(type, name)``."""
    seen: list[tuple[str, str]] = []

    async def run() -> None:
        async for event in stream:
            if event["type"] != "BOOKMARK":
                seen.append((event["type"], event["raw_object"]["metadata"]["name"]))
            if len(seen) == count:
                return

    await asyncio.wait_for(run(), within)
    return seen


async def test_initial_state_then_changes_in_order(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    fake_kube.create(configmap("a"))
    core = client.CoreV1Api(kube_api)
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=10)
        assert await collect(stream, 1) == [("ADDED", "a")]
        fake_kube.create(configmap("b"))
        fake_kube.patch("v1", "ConfigMap", "a", {"data": {"k": "v"}})
        fake_kube.delete("v1", "ConfigMap", "b")
        assert await collect(stream, 3) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


async def test_resume_from_a_resource_version_replays_history(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    core = client.CoreV1Api(kube_api)
    fake_kube.create(configmap("a"))
    listed = await core.list_namespaced_config_map("default")
    fake_kube.create(configmap("b"))
    deleted = fake_kube.delete("v1", "ConfigMap", "a")
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=5,
        )
        events = []
        async for event in stream:
            events.append((event["type"], event["object"].metadata.name, event["object"].metadata.resource_version))
            if len(events) == 2:
                break
    assert events[0][:2] == ("ADDED", "b")
    assert events[1][:2] == ("DELETED", "a")
    assert int(events[1][2]) > int(events[0][2])  # DELETED carries the deletion's own resourceVersion
    assert deleted["metadata"]["resourceVersion"] == events[1][2]


async def test_bookmarks_carry_the_current_resource_version(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    core = client.CoreV1Api(kube_api)
    fake_kube.create(configmap("a"))
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", allow_watch_bookmarks=True, timeout_seconds=5)
        async for event in stream:
            if event["type"] == "BOOKMARK":
                assert event["raw_object"]["metadata"] == {"resourceVersion": str(fake_kube.resource_version)}
                assert w.resource_version == str(fake_kube.resource_version)
                break
    assert fake_kube.requests[-1].query["allowWatchBookmarks"] == "True"  # kubernetes_asyncio capitalises


async def test_timeout_seconds_ends_the_stream_cleanly(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    started = time.monotonic()
    async with watch.Watch() as w:
        events = [event async for event in w.stream(core.list_namespaced_config_map, "default", timeout_seconds=1)]
    assert events == []
    assert 0.9 < time.monotonic() - started < 3


async def test_resume_after_compaction_is_410(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    core = client.CoreV1Api(kube_api)
    old = (await core.list_namespaced_config_map("default")).metadata.resource_version
    fake_kube.create(configmap("a"))
    fake_kube.compact()
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=5)
        with pytest.raises(ApiException) as caught:
            await anext(stream)
    assert caught.value.status == 410
    assert f"too old resource version: {old}" in str(caught.value.reason)


async def test_compaction_can_expire_open_watches(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    core = client.CoreV1Api(kube_api)
    fake_kube.create(configmap("a"))
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=5)
        assert (await anext(stream))["type"] == "ADDED"
        fake_kube.compact(end_watches=True)
        with pytest.raises(ApiException) as caught:
            await anext(stream)
    assert caught.value.status == 410


async def test_selectors_turn_modifications_into_added_and_deleted(
    kube_api: client.ApiClient, fake_kube: FakeKube
) -> None:
    core = client.CoreV1Api(kube_api)
    fake_kube.create(configmap("a", tier="web"))
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", label_selector="tier=web", timeout_seconds=5)
        assert await collect(stream, 1) == [("ADDED", "a")]
        fake_kube.create(configmap("b", tier="db"))
        fake_kube.patch("v1", "ConfigMap", "a", {"metadata": {"labels": {"tier": "db"}}})
        fake_kube.patch("v1", "ConfigMap", "b", {"metadata": {"labels": {"tier": "web"}}})
        assert await collect(stream, 2) == [("DELETED", "a"), ("ADDED", "b")]


async def raw_watch(fake: FakeKube, query: str) -> tuple[aiohttp.ClientSession, aiohttp.ClientResponse]:
    session = aiohttp.ClientSession()
    response = await session.get(f"{fake.url}/api/v1/namespaces/default/configmaps?watch=1&{query}")
    return session, response


async def test_drop_watches_cuts_the_connection(fake_kube: FakeKube) -> None:
    session, response = await raw_watch(fake_kube, "")
    async with session, response:
        await asyncio.sleep(0.05)
        assert fake_kube.open_watches == 1
        assert fake_kube.drop_watches() == 1
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(response.content.read(), 3)


async def test_outage_answers_status_and_drops_watches(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    session, response = await raw_watch(fake_kube, "")
    async with session, response:
        await asyncio.sleep(0.05)
        fake_kube.outage(503)
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(response.content.read(), 3)
    core = client.CoreV1Api(kube_api)
    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default")
    assert caught.value.status == 503
    fake_kube.outage(None)
    assert (await core.list_namespaced_config_map("default")).items == []


async def test_a_scoped_outage_fails_only_what_it_names(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    core, net = client.CoreV1Api(kube_api), client.NetworkingV1Api(kube_api)
    fake_kube.create(k.ingress("web", "default", "a.example.com"))
    async with watch.Watch() as w:
        ingresses = w.stream(net.list_namespaced_ingress, "default", timeout_seconds=10)
        assert await collect(ingresses, 1) == [("ADDED", "web")]
        session, response = await raw_watch(fake_kube, "")
        async with session, response:
            await wait_until(lambda: fake_kube.open_watches == 2)
            fake_kube.outage(503, resources=["configmaps"], verbs=["list", "watch"])
            with pytest.raises(aiohttp.ClientPayloadError):  # the ConfigMap watch is cut
                await asyncio.wait_for(response.content.read(), 3)
        assert fake_kube.open_watches == 1  # the Ingress watch is not
        with pytest.raises(ApiException) as caught:
            await core.list_namespaced_config_map("default")
        assert caught.value.status == 503
        await core.create_namespaced_config_map("default", configmap("written"))  # writes go through
        assert (await core.read_namespaced_config_map("written", "default")).metadata.name == "written"
        assert (await net.list_namespaced_ingress("default")).items[0].metadata.name == "web"
        fake_kube.delete("networking.k8s.io/v1", "Ingress", "web")
        assert await collect(ingresses, 1) == [("DELETED", "web")]
    fake_kube.outage(None)
    assert [item.metadata.name for item in (await core.list_namespaced_config_map("default")).items] == ["written"]


async def test_a_watcher_that_falls_behind_is_closed(fake_kube: FakeKube) -> None:
    fake_kube.state.watch_queue_limit = 5
    session, response = await raw_watch(fake_kube, "")
    async with session, response:
        await asyncio.sleep(0.05)
        for index in range(10):  # written before the watch loop can send any of them
            fake_kube.create(configmap(f"c{index}"))
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(response.content.read(), 3)
    assert fake_kube.open_watches == 0


async def test_watch_timeout_cap_and_request_log(kube_api: client.ApiClient, fake_kube: FakeKube) -> None:
    fake_kube.watch_timeout_cap = 0.3
    core = client.CoreV1Api(kube_api)
    async with watch.Watch() as w:
        assert [e async for e in w.stream(core.list_namespaced_config_map, "default", timeout_seconds=60)] == []
    assert fake_kube.request_count("watch") == 1
    assert [(r.method, r.verb, r.status) for r in fake_kube.requests] == [("GET", "watch", 200)]


async def test_stop_returns_promptly_with_watches_open(tmp_path: Any) -> None:
    fake = FakeKube()
    await fake.start()
    async with api_client(fake, tmp_path / "kubeconfig") as api:
        net = client.NetworkingV1Api(api)
        fake.create(k.ingress("web", "default", "a.example.com"))

        async def watch_forever() -> list[str]:
            seen = []
            async with watch.Watch() as w:
                async for event in w.stream(net.list_ingress_for_all_namespaces, timeout_seconds=60):
                    seen.append(event["type"])
            return seen

        watchers = [asyncio.create_task(watch_forever()) for _ in range(3)]
        await wait_until(lambda: fake.open_watches == 3)
        started = time.monotonic()
        await fake.stop()
        assert time.monotonic() - started < 1.0
        assert await asyncio.gather(*watchers) == [["ADDED"]] * 3  # each stream ended cleanly
