"""The live cluster source through kubernetes_asyncio over HTTP against the fake API server.

Each test starts a fake API server on 127.0.0.1 port 0, seeds it, and runs a ClusterSource
(the bridge's real watchers and cache) against it; assertions are on the snapshots the
reconciler would get.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adcbridge.k8s.api import KubeApi
from adcbridge.k8s.cluster_source import ClusterSource
from adcbridge.model import ClusterSnapshot
from mocks.kube import manifests as k
from mocks.kube.server import FakeKube
from tests.live import live_settings, seeded_kube, until


@pytest.fixture
async def kube(tmp_path: Path) -> AsyncIterator[FakeKube]:
    async with seeded_kube(tmp_path) as server:
        yield server


async def eventually(
    source: ClusterSource, check: Callable[[ClusterSnapshot], bool], seconds: float = 5.0
) -> ClusterSnapshot:
    deadline = time.monotonic() + seconds
    while True:
        view = await source.snapshot()
        if check(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not reached in {seconds} s; last view: hosts={hosts(view)} complete={view.complete} "
                f"problems={view.problems}"
            )
        await asyncio.sleep(0.05)


async def _watching(kube: FakeKube, count: int) -> bool:
    return kube.open_watches == count


def hosts(view: ClusterSnapshot) -> list[str]:
    return sorted({claim.host for claim in view.hosts})


async def started(tmp_path: Path, **overrides: Any) -> AsyncIterator[ClusterSource]:
    config = live_settings(tmp_path, **overrides)
    async with await KubeApi.connect(config.kube) as api, ClusterSource(api, config) as source:
        assert await source.wait_synced(5), source.unsettled()
        yield source


@pytest.fixture
async def source(kube: FakeKube, tmp_path: Path) -> AsyncIterator[ClusterSource]:
    async for running in started(tmp_path):
        yield running


# ---------------------------------------------------------------------------- what counts


async def test_the_first_view_is_complete_and_holds_service_nodes_endpoints(source: ClusterSource) -> None:
    view = await source.snapshot()
    assert view.complete, view.problems
    assert view.service is not None
    assert [p.node_port for p in view.service.ports] == [30080]
    assert [n.name for n in view.nodes] == ["node-a", "node-b"]
    assert view.endpoint_nodes == frozenset({"node-a", "node-b"})
    assert view.hosts == ()


async def test_class_rules_name_legacy_annotation_other_class_and_default(
    kube: FakeKube, source: ClusterSource
) -> None:
    kube.create(k.ingress("by-name", "shop", "a.example.com"))
    kube.create(k.ingress("legacy", "shop", "b.example.com", class_name=None, legacy_class="njet"))
    kube.create(k.ingress("other", "shop", "c.example.com", class_name="nginx"))
    kube.create(k.ingress("unclassed", "web", "d.example.com", class_name=None))
    view = await eventually(source, lambda v: "b.example.com" in hosts(v))
    assert hosts(view) == ["a.example.com", "b.example.com"]  # no default class yet
    kube.replace({**k.ingress_class(default=True), "metadata": {**k.ingress_class(default=True)["metadata"]}})
    view = await eventually(source, lambda v: "d.example.com" in hosts(v))
    assert hosts(view) == ["a.example.com", "b.example.com", "d.example.com"]


async def test_tls_hosts_count_and_a_deleted_ingress_withdraws_its_hosts(kube: FakeKube, source: ClusterSource) -> None:
    kube.create(k.ingress("api", "shop", "api.example.com", tls_hosts=("api.example.com", "secure.example.com")))
    await eventually(source, lambda v: hosts(v) == ["api.example.com", "secure.example.com"])
    kube.delete(k.NETWORKING, "Ingress", "api", namespace="shop")
    view = await eventually(source, lambda v: hosts(v) == [])
    assert view.complete


async def test_mergeable_master_and_minions_across_namespaces(kube: FakeKube, source: ClusterSource) -> None:
    kube.create(k.ingress("minion", "team-b", "shop.example.com", mergeable="minion"))
    view = await eventually(source, lambda v: [r.cause.value for r in v.rejections] == ["orphan_minion"])
    assert hosts(view) == []  # a minion alone registers nothing, and is rejected as an orphan
    assert (view.rejections[0].source.name, view.problems, view.complete) == ("minion", (), True)
    kube.create(k.ingress("master", "team-a", "shop.example.com", mergeable="master"))
    view = await eventually(source, lambda v: hosts(v) == ["shop.example.com"])
    assert [c.source.name for c in view.hosts] == ["master"]
    assert view.rejections == ()


async def test_virtual_servers_once_their_crd_exists(kube: FakeKube, source: ClusterSource) -> None:
    view = await source.snapshot()
    assert view.complete  # no CRD: not an error, and nothing is unknown
    kube.create(k.virtual_server_crd())
    kube.create(k.virtual_server("vs", "web", "vs.example.com"))
    kube.create(k.virtual_server("other", "web", "other.example.com", class_name="nginx"))
    view = await eventually(source, lambda v: hosts(v) == ["vs.example.com"])
    assert view.complete
    assert view.hosts[0].source.kind == "VirtualServer"


async def test_a_crd_deleted_under_a_watch_makes_its_objects_absent(kube: FakeKube, tmp_path: Path) -> None:
    kube.create(k.virtual_server_crd())
    kube.create(k.virtual_server("vs", "web", "vs.example.com"))
    async for source in started(tmp_path):
        await eventually(source, lambda v: hosts(v) == ["vs.example.com"])
        kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", "virtualservers.k8s.njet.org")
        view = await eventually(source, lambda v: hosts(v) == [])
        assert view.complete


async def test_endpoint_slices_say_which_nodes_host_kic_pods(kube: FakeKube, source: ClusterSource) -> None:
    kube.replace(k.endpoint_slice("kic-1", ["node-a"], not_ready=("node-b",)))
    view = await eventually(source, lambda v: v.endpoint_nodes == frozenset({"node-a"}))
    kube.create(k.endpoint_slice("kic-2", ["node-b"]))
    view = await eventually(source, lambda v: v.endpoint_nodes == frozenset({"node-a", "node-b"}))
    assert view.complete


async def test_node_lifecycle_not_ready_then_deleted(kube: FakeKube, source: ClusterSource) -> None:
    kube.replace(k.node("node-b", "10.0.0.12", ready=False), status=True)
    view = await eventually(source, lambda v: not v.nodes[1].ready)
    assert [n.name for n in view.nodes] == ["node-a", "node-b"]
    kube.delete("v1", "Node", "node-b")
    view = await eventually(source, lambda v: [n.name for n in v.nodes] == ["node-a"])


async def test_namespaces_and_label_selector_narrow_what_counts(kube: FakeKube, tmp_path: Path) -> None:
    kube.create(k.ingress("in-scope", "shop", "a.example.com", labels={"expose": "adc"}))
    kube.create(k.ingress("unlabelled", "shop", "b.example.com"))
    kube.create(k.ingress("elsewhere", "web", "c.example.com", labels={"expose": "adc"}))
    async for source in started(tmp_path, kube={"namespaces": ["shop"], "label_selector": "expose=adc"}):
        view = await source.snapshot()
        assert hosts(view) == ["a.example.com"]


async def test_a_malformed_object_is_reported_and_the_view_stays_incomplete(
    kube: FakeKube, source: ClusterSource
) -> None:
    # Built-in kinds are validated by the API server; a custom resource whose CRD preserves
    # unknown fields is not, so a VirtualServer with a number for a host reaches the bridge.
    kube.create(k.virtual_server_crd())
    kube.create(k.virtual_server("fine", "web", "a.example.com"))
    broken = k.virtual_server("broken", "web", "b.example.com")
    broken["spec"]["host"] = 12
    kube.create(broken)
    view = await eventually(source, lambda v: "a.example.com" in hosts(v) and bool(v.problems))
    assert hosts(view) == ["a.example.com"]  # the good one counts, the broken one is skipped
    assert not view.complete  # and nothing may be deleted on its account
    assert any("VirtualServer web/broken" in problem for problem in view.problems), view.problems
    kube.delete(k.NJET, "VirtualServer", "broken", namespace="web")
    view = await eventually(source, lambda v: v.complete)
    assert hosts(view) == ["a.example.com"]


# ---------------------------------------------------------------------------- recovery


async def test_410_after_compaction_relists_and_keeps_following(kube: FakeKube, source: ClusterSource) -> None:
    await until(lambda: _watching(kube, 5), what="5 open watches")
    lists_before = sum(w.lists for w in source.watchers)
    kube.compact(end_watches=True)
    kube.create(k.ingress("after", "shop", "after.example.com"))
    view = await eventually(source, lambda v: hosts(v) == ["after.example.com"])
    assert view.complete
    assert sum(w.lists for w in source.watchers) > lists_before


async def test_a_dropped_stream_resumes_from_its_version_without_listing(kube: FakeKube, source: ClusterSource) -> None:
    await asyncio.sleep(1.1)  # a stream that has run a while: its drop is routine
    lists_before = sum(w.lists for w in source.watchers)
    assert kube.drop_watches() == 5  # every feed but the VirtualServers (no CRD)
    kube.create(k.ingress("during", "shop", "during.example.com"))
    view = await eventually(source, lambda v: hosts(v) == ["during.example.com"])
    assert view.complete
    assert sum(w.lists for w in source.watchers) == lists_before


async def test_an_api_outage_keeps_the_last_view_marked_stale(kube: FakeKube, source: ClusterSource) -> None:
    kube.create(k.ingress("kept", "shop", "kept.example.com"))
    await eventually(source, lambda v: hosts(v) == ["kept.example.com"])
    kube.outage(503)
    kube.drop_watches()
    view = await eventually(source, lambda v: not v.complete)
    assert hosts(view) == ["kept.example.com"]
    assert [n.name for n in view.nodes] == ["node-a", "node-b"]
    assert any("Kubernetes API failing" in problem for problem in view.problems)
    kube.outage(None)
    view = await eventually(source, lambda v: v.complete, seconds=10)
    assert hosts(view) == ["kept.example.com"]


async def test_the_view_is_incomplete_until_every_kind_listed(kube: FakeKube, tmp_path: Path) -> None:
    kube.outage(503)
    config = live_settings(tmp_path, kube={"request_timeout": 0.5})
    async with await KubeApi.connect(config.kube) as api, ClusterSource(api, config) as source:
        view = await source.snapshot()  # waits request_timeout, then answers what it has
        assert not view.complete
        assert view.service is None
        assert len(source.unsettled()) == len(source.watchers)
        kube.outage(None)
        assert await source.wait_synced(10)
        assert (await source.snapshot()).complete


async def test_a_change_wakes_the_waiting_reconciler(kube: FakeKube, source: ClusterSource) -> None:
    await source.snapshot()
    waiter = asyncio.create_task(source.wait_for_change())
    await asyncio.sleep(0.1)
    assert not waiter.done()
    kube.create(k.ingress("new", "shop", "new.example.com"))
    await asyncio.wait_for(waiter, 5)
