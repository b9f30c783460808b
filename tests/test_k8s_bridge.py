"""The whole bridge in-process: fake API server -> watches -> reconciler -> mock ADC.

``app.Service`` runs as in production (Events on, leader election on unless a test says why
not) until the test sets its stop event; assertions are on the appliance's state and change
log and on the objects the API server holds (Leases, Events, status).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adcbridge import app
from adcbridge.config import Settings
from adcbridge.model import ClusterSnapshot
from mocks.adc import MockADC
from mocks.kube import manifests as k
from mocks.kube.server import FakeKube
from tests.builders import snapshot
from tests.conftest import PASSWORD, USERNAME, Appliance
from tests.live import live_settings, seeded_kube, until

FAST_LEASE = {"lease_duration_seconds": 3, "renew_deadline_seconds": 2, "retry_period_seconds": 1.1}


@pytest.fixture
async def kube(tmp_path: Path) -> AsyncIterator[FakeKube]:
    async with seeded_kube(tmp_path) as server:
        yield server


def bridge_config(tmp_path: Path, mock: MockADC, **overrides: Any) -> Settings:
    adc = {"url": mock.url, "username": USERNAME, "password": PASSWORD, "operation_deadline": 10.0}
    return live_settings(
        tmp_path,
        adc=adc,
        server={"listen": "127.0.0.1:0"},
        reconcile={"batch_window_seconds": 0.05, **overrides.pop("reconcile", {})},
        leader={**FAST_LEASE, **overrides.pop("leader", {})},
        **overrides,
    )


@asynccontextmanager
async def running(config: Settings) -> AsyncIterator[app.Service]:
    async with app.cluster(config) as live:
        service = app.Service(config, live.source, live)
        stop = asyncio.Event()
        task = asyncio.create_task(service.serve_until(stop), name="bridge under test")
        try:
            yield service
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 15) == 0


async def adc_names(adc: Appliance, kind: str) -> set[str]:
    state = await adc.control("GET", "state")
    return {item["name"] for item in state["objects"][kind]}


async def members(adc: Appliance) -> dict[str, bool]:
    state = await adc.control("GET", "state")
    return {f"{m['node']}:{m['port']}": m["enable"] for items in state["rservers"].values() for m in items}


async def deletes(adc: Appliance) -> list[dict[str, Any]]:
    changes = (await adc.control("GET", "changes?since=0"))["changes"]
    return [change for change in changes if change.get("method") == "DELETE"]


def has(names: set[str], *wanted: str) -> bool:
    return set(wanted) <= names


# ---------------------------------------------------------------------------- following the cluster


async def test_ingresses_and_nodes_drive_the_adc(
    tmp_path: Path, kube: FakeKube, mock_adc: MockADC, adc: Appliance
) -> None:
    kube.create(k.ingress("shop", "shop", "shop.example.com"))
    config = bridge_config(tmp_path, mock_adc, nodes={"drain_grace_seconds": 1.5})
    async with running(config):

        async def shop_published() -> bool:
            return has(await adc_names(adc, "dns/domain"), "shop.example.com")

        await until(shop_published, what="shop.example.com on the ADC")
        assert await members(adc) == {"k8s-c1-node-a:30080": True, "k8s-c1-node-b:30080": True}
        kube.create(k.ingress("api", "web", "api.example.com"))
        kube.delete(k.NETWORKING, "Ingress", "shop", namespace="shop")

        async def swapped() -> bool:
            return await adc_names(adc, "dns/domain") == {"api.example.com"}

        await until(swapped, what="api published and shop withdrawn")
        kube.replace(k.node("node-b", "10.0.0.12", ready=False), status=True)

        async def drained() -> bool:
            return await members(adc) == {"k8s-c1-node-a:30080": True, "k8s-c1-node-b:30080": False}

        await until(drained, what="node-b disabled while it drains")

        async def removed() -> bool:
            return await members(adc) == {"k8s-c1-node-a:30080": True}

        await until(removed, what="node-b removed after the grace period")


async def test_an_api_outage_at_start_deletes_nothing_on_the_adc(
    tmp_path: Path, kube: FakeKube, mock_adc: MockADC, adc: Appliance
) -> None:
    kube.create(k.ingress("shop", "shop", "shop.example.com"))
    config = bridge_config(tmp_path, mock_adc)
    async with running(config):

        async def converged() -> bool:
            return has(await adc_names(adc, "dns/domain"), "shop.example.com")

        await until(converged, what="the first bridge's sync")
    kube.outage(503)  # the API server is down while the bridge restarts
    # No leader election: its Lease lives on the API server that is down, and a bridge that never
    # leads never runs a cycle, so nothing here would depend on the incomplete-view guard.
    restarted = bridge_config(
        tmp_path, mock_adc, kube={"request_timeout": 0.5}, leader={"enabled": False}, reconcile={"resync_seconds": 0.3}
    )
    async with running(restarted) as service:

        async def planned_twice() -> bool:
            return cycles(service, "ok") >= 2  # cycles that read the ADC and planned against it

        await until(planned_twice, what="two cycles during the outage")
        assert service.readiness() == (False, "cluster view incomplete")
        assert await deletes(adc) == []
        kube.outage(None)

        async def recovered() -> bool:
            return service.readiness()[0]

        await until(recovered, seconds=15, what="ready again after the outage")
    assert await deletes(adc) == []
    assert await adc_names(adc, "dns/domain") == {"shop.example.com"}


async def test_a_rejected_host_is_an_event_on_its_ingress_and_the_rest_is_published(
    tmp_path: Path, kube: FakeKube, mock_adc: MockADC, adc: Appliance
) -> None:
    created = kube.create(k.ingress("mixed", "shop", "good.example.com", "bad_host.example.com"))
    minion = kube.create(k.ingress("minion", "team-b", "pay.example.com", mergeable="minion"))
    async with running(bridge_config(tmp_path, mock_adc)) as service:

        async def published() -> bool:
            return has(await adc_names(adc, "dns/domain"), "good.example.com")

        await until(published, what="the valid host on the ADC")

        async def evented() -> bool:
            reasons = {e["reason"] for e in kube.list_objects("v1", "Event")}
            return {"HostRejected", "OrphanMinion"} <= reasons

        await until(evented, what="a HostRejected and an OrphanMinion Event")
        sample = service.metrics.registry.get_sample_value
        assert sample("adcbridge_degraded") == 0.0  # tenants' mistakes do not degrade the bridge
        assert sample("adcbridge_rejected_hosts", {"reason": "orphan_minion"}) == 1.0
        assert sample("adcbridge_rejected_hosts", {"reason": "invalid_host"}) == 1.0
        assert service.readiness() == (True, "ready")
    (orphan,) = [e for e in kube.list_objects("v1", "Event", namespace="team-b") if e["reason"] == "OrphanMinion"]
    assert orphan["involvedObject"]["uid"] == minion["metadata"]["uid"]
    events = [e for e in kube.list_objects("v1", "Event", namespace="shop") if e["reason"] == "HostRejected"]
    assert len(events) == 1
    involved = events[0]["involvedObject"]
    assert (involved["kind"], involved["name"], involved["uid"]) == ("Ingress", "mixed", created["metadata"]["uid"])
    assert "bad_host.example.com" in events[0]["message"]
    assert await adc_names(adc, "dns/domain") == {"good.example.com"}


async def test_status_is_written_only_when_asked(tmp_path: Path, kube: FakeKube, mock_adc: MockADC) -> None:
    kube.create(k.ingress("shop", "shop", "shop.example.com"))
    kube.create(k.ingress("other", "shop", "other.example.com", class_name="nginx"))
    async with running(bridge_config(tmp_path, mock_adc, kube={"write_status": True})):

        async def written() -> bool:
            ingress = kube.get(k.NETWORKING, "Ingress", "shop", namespace="shop") or {}
            return ingress.get("status", {}).get("loadBalancer", {}).get("ingress") == [{"ip": "192.0.2.10"}]

        await until(written, what="the VIP in the Ingress status")
    other = kube.get(k.NETWORKING, "Ingress", "other", namespace="shop") or {}
    assert not other.get("status", {}).get("loadBalancer", {}).get("ingress")


# ---------------------------------------------------------------------------- leader election


async def test_two_bridges_one_writes_and_the_standby_takes_over(
    tmp_path: Path, kube: FakeKube, mock_adc: MockADC, adc: Appliance
) -> None:
    kube.create(k.ingress("shop", "shop", "shop.example.com"))
    one = await Started.of(bridge_config(tmp_path, mock_adc, leader={"identity": "bridge-1"}))
    await until(one.leads, what="bridge-1 leading")
    two = await Started.of(bridge_config(tmp_path, mock_adc, leader={"identity": "bridge-2"}))
    try:
        await asyncio.sleep(2.5)  # two lease rounds of bridge-2
        assert (await one.leads(), await two.leads()) == (True, False)
        assert two.service.readiness() == (True, "standby (leader: bridge-1)")

        async def synced() -> bool:
            return has(await adc_names(adc, "dns/domain"), "shop.example.com")

        await until(synced, what="the leader's sync")
        assert sample(two.service, "adcbridge_operations_total") == 0.0
        assert sample(one.service, "adcbridge_operations_total") > 0.0
        await one.crash()  # no release: bridge-2 must wait the lease out
        kube.create(k.ingress("api", "web", "api.example.com"))

        async def took_over() -> bool:
            return has(await adc_names(adc, "dns/domain"), "api.example.com")

        await until(took_over, seconds=8, what="the standby writing within the lease duration")
        lease = kube.get("coordination.k8s.io/v1", "Lease", "adcbridge-njet", namespace=k.KIC_NAMESPACE) or {}
        assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]) == ("bridge-2", 1)
    finally:
        await two.stop()
        await one.stop()


class Started:
    """A bridge serving in the background, stopped cleanly or "crashed" (lease not released)."""

    def __init__(
        self, service: app.Service, task: asyncio.Task[int], stop_event: asyncio.Event, exit_stack: Any
    ) -> None:
        self.service, self.task, self.stop_event, self.exit_stack = service, task, stop_event, exit_stack

    @classmethod
    async def of(cls, config: Settings) -> Started:
        exit_stack = contextlib.AsyncExitStack()
        live = await exit_stack.enter_async_context(app.cluster(config))
        service = app.Service(config, live.source, live)
        stop_event = asyncio.Event()
        return cls(service, asyncio.create_task(service.serve_until(stop_event)), stop_event, exit_stack)

    async def leads(self) -> bool:
        return self.service.elector is not None and self.service.elector.is_leader

    async def crash(self) -> None:
        assert self.service.elector is not None
        self.service.elector.release = _no_release  # type: ignore[method-assign]
        await self.stop()

    async def stop(self) -> None:
        if not self.task.done():
            self.stop_event.set()
            assert await asyncio.wait_for(self.task, 15) == 0
        await self.exit_stack.aclose()


def cycles(service: app.Service, result: str) -> float:
    """How many cycles this bridge ended with ``result`` ("converged", "ok" or "failed")."""
    count = service.metrics.registry.get_sample_value("adcbridge_reconcile_duration_seconds_count", {"result": result})
    return 0.0 if count is None else count


async def _no_release() -> None:
    return None


def sample(service: app.Service, name: str) -> float:
    registry = service.metrics.registry
    return sum(
        sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == name
    )  # fmt: skip


async def test_what_was_listed_is_set_aside_from_garbage_collection_at_the_first_complete_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not before (an incomplete view is still filling), and once."""
    frozen: list[int] = []
    monkeypatch.setattr(app.gc, "freeze", lambda: frozen.append(1))
    views = [snapshot(hosts=["a.example.com"], complete=False), snapshot(hosts=["a.example.com"])]

    class Filling:
        async def snapshot(self) -> ClusterSnapshot:
            return views.pop(0) if len(views) > 1 else views[0]

        async def wait_for_change(self) -> None:
            return None

    source = app.SettlingSource(Filling())
    assert not (await source.snapshot()).complete
    assert frozen == []
    assert (await source.snapshot()).complete
    await source.snapshot()
    assert frozen == [1]
