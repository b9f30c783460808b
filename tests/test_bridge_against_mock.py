"""The engine end to end through the real driver over HTTP, against the mock ADC.

Each test asserts on what the appliance ends up holding (``/_mock/state``) and on what
reached it (``/_mock/changes``), not on what the bridge says it did.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from adcbridge.adc import AdcClient, Credentials, ReadOnlyViolation
from adcbridge.adc.reference import REFERENCE_WIRE, ReferenceDriver
from adcbridge.config import Settings
from adcbridge.desired import owner_of
from adcbridge.errors import AdcAuthError, KubeUnavailable
from adcbridge.metrics import Metrics
from adcbridge.model import ClusterSnapshot, ObjectRef, Rejection, RejectionCause
from adcbridge.reconciler import CycleReport, Reconciler
from mocks.adc import MockADC
from tests.builders import VIP4, node, settings, snapshot
from tests.conftest import PASSWORD, USERNAME, Appliance

OBJECT_KINDS = {"slb/node", "slb/pool", "slb/pool/rserver", "slb/vserver", "dns/domain"}
NODES = [node(f"node-{index}", f"10.0.0.{index}") for index in range(1, 4)]
HOSTS = ["shop.example.com", "api.example.com", "*.apps.example.com"]
REASONS = ("invalid_host", "invalid_mergeable", "orphan_minion", "conflict")


class StaticSource:
    """A cluster view the test replaces at will; while ``failure`` is set, an API server that cannot be read."""

    def __init__(self, view: ClusterSnapshot) -> None:
        self.view = view
        self.changed = asyncio.Event()
        self.failure = ""

    async def snapshot(self) -> ClusterSnapshot:
        if self.failure:
            raise KubeUnavailable(self.failure)
        return self.view

    async def wait_for_change(self) -> None:
        await self.changed.wait()
        self.changed.clear()


class Bridge:
    def __init__(self, reconciler: Reconciler, source: StaticSource, metrics: Metrics) -> None:
        self.reconciler = reconciler
        self.source = source
        self.metrics = metrics

    async def cycle(self, view: ClusterSnapshot | None = None) -> CycleReport:
        if view is not None:
            self.source.view = view
        return await self.reconciler.run_once()

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def bridge_settings(mock: MockADC, **overrides: Any) -> Settings:
    adc = {"url": mock.url, "username": USERNAME, "password": PASSWORD, "operation_deadline": 20.0}
    return settings(adc={**adc, **overrides.pop("adc", {})}, **overrides)


@asynccontextmanager
async def running_bridge(
    mock: MockADC,
    view: ClusterSnapshot,
    *,
    password: str = PASSWORD,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    after_cycle: Callable[[CycleReport], Awaitable[None]] | None = None,
    **overrides: Any,
) -> AsyncIterator[Bridge]:
    """A reconciler over the real driver to ``mock``; ``overrides`` are settings groups."""
    config = bridge_settings(mock, **overrides)
    metrics = Metrics()
    source = StaticSource(view)
    client = AdcClient(
        config.adc,
        lambda: Credentials(USERNAME, password),
        wire=REFERENCE_WIRE,
        read_only=config.dry_run,
        metrics=metrics,
    )
    async with client:
        adc = config.adc
        driver = ReferenceDriver(
            client, owner_of(config), page_size=adc.page_size, concurrency=adc.concurrency, save_config=adc.save_config
        )
        reconciler = Reconciler(config, source, driver, metrics, clock=clock, sleep=sleep, after_cycle=after_cycle)
        yield Bridge(reconciler, source, metrics)


def cluster(hosts: list[str] | None = None, nodes: list[Any] | None = None, **kwargs: Any) -> ClusterSnapshot:
    return snapshot(nodes=NODES if nodes is None else nodes, hosts=HOSTS if hosts is None else hosts, **kwargs)


async def changes_since(adc: Appliance, seq: int) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = (await adc.control("GET", f"changes?since={seq}"))["changes"]
    return changes


async def writes_since(adc: Appliance, seq: int) -> list[dict[str, Any]]:
    return [change for change in await changes_since(adc, seq) if change["kind"] in OBJECT_KINDS]


async def last_seq(adc: Appliance) -> int:
    changes = await changes_since(adc, 0)
    return int(changes[-1]["seq"]) if changes else 0


async def domains(adc: Appliance) -> set[str]:
    return {domain["name"] for domain in (await objects(adc))["objects"].get("dns/domain", [])}


async def objects(adc: Appliance) -> dict[str, Any]:
    """The appliance's objects without uuids (a re-created object gets a new one)."""
    state = await adc.control("GET", "state")

    def plain(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(({k: v for k, v in item.items() if k not in ("uuid", "rservers")} for item in items), key=str)

    return {
        "objects": {kind: plain(items) for kind, items in state["objects"].items()},
        "rservers": {pool: plain(items) for pool, items in state["rservers"].items()},
    }


async def test_cold_sync_creates_everything_in_order_then_nothing(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster()) as bridge:
        report = await bridge.cycle()
        assert report.converged, report
        state = await adc.control("GET", "state")
        assert state["counts"]["slb/node"] == 3
        assert state["counts"]["slb/pool"] == 2
        assert state["counts"]["slb/vserver"] == 2
        assert sorted(domain["name"] for domain in state["objects"]["dns/domain"]) == sorted(HOSTS)
        assert {member["name"] for member in state["rservers"]["k8s-c1-80-tcp"]} == {
            f"k8s-c1-node-{index}:30080" for index in range(1, 4)
        }
        vservers = {vs["name"]: vs for vs in state["objects"]["slb/vserver"]}
        assert vservers["k8s-c1-192.0.2.10-443-tcp"]["vip"] == f"{VIP4}:443"
        last = (await changes_since(adc, 0))[-1]
        assert (last["method"], last["kind"], last["name"]) == ("POST", "system/config", "save")  # saved once, last
        kinds = [change["kind"] for change in await writes_since(adc, 0)]
        assert kinds == sorted(
            kinds, key=["slb/node", "slb/pool", "slb/pool/rserver", "slb/vserver", "dns/domain"].index
        )
        assert all(change["code"] == 0 for change in await writes_since(adc, 0))
        seq = await last_seq(adc)
        again = await bridge.cycle()
        assert again.converged
        assert again.plan is not None
        assert again.plan.empty
        assert await writes_since(adc, seq) == []


async def test_incremental_changes_write_only_the_difference(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster()) as bridge:
        await bridge.cycle()
        seq = await last_seq(adc)
        await bridge.cycle(cluster(hosts=[*HOSTS, "new.example.com"]))
        assert [(c["method"], c["kind"], c["name"]) for c in await writes_since(adc, seq)] == [
            ("POST", "dns/domain", "new.example.com")
        ]
        seq = await last_seq(adc)
        report = await bridge.cycle(
            cluster(hosts=[*HOSTS, "new.example.com"], nodes=[*NODES, node("node-4", "10.0.0.4")])
        )
        assert report.converged
        assert sorted((c["method"], c["kind"]) for c in await writes_since(adc, seq)) == [
            ("POST", "slb/node"),
            ("POST", "slb/pool/rserver"),
            ("POST", "slb/pool/rserver"),
        ]


async def test_drift_is_repaired_on_the_next_resync(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster()) as bridge:
        await bridge.cycle()
        before = await objects(adc)
        await adc.ok("DELETE", "slb/pool/k8s-c1-80-tcp/rserver/k8s-c1-node-2:30080")
        await adc.ok("PUT", "slb/vserver/k8s-c1-192.0.2.10-80-tcp", {"pool": "k8s-c1-443-tcp"})
        await adc.ok("PUT", "dns/domain/shop.example.com", {"addresses": ["198.51.100.1"], "ttl": 60})
        await adc.ok("PUT", "slb/node/k8s-c1-node-3", {"enable": False})
        report = await bridge.cycle()
        assert report.converged
        assert await objects(adc) == before
        assert bridge.sample("adcbridge_drift_repairs_total", kind="member") == 1
        assert bridge.sample("adcbridge_drift_repairs_total", kind="domain") == 1


async def test_restart_with_a_correct_adc_writes_nothing(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster()) as bridge:
        await bridge.cycle()
    seq = await last_seq(adc)
    async with running_bridge(mock_adc, cluster()) as restarted:
        report = await restarted.cycle()
    assert report.converged
    assert await writes_since(adc, seq) == []
    assert await changes_since(adc, seq) == []  # not even a configuration save


async def test_expired_session_is_renewed_transparently(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster()) as bridge:
        await bridge.cycle()
        await adc.control("POST", "sessions/expire")
        report = await bridge.cycle(cluster(hosts=[*HOSTS, "after-expiry.example.com"]))
        assert report.converged
        await adc.control("POST", "clock", {"advance": 3600})
        report = await bridge.cycle(cluster(hosts=[*HOSTS, "after-clock.example.com"]))
        assert report.converged
        assert "after-clock.example.com" in {d["name"] for d in (await objects(adc))["objects"]["dns/domain"]}


async def test_a_wrong_password_is_tried_once_and_never_locks_the_account(mock_adc: MockADC, adc: Appliance) -> None:
    posts_before = (await adc.control("GET", "stats"))["requests"].get("POST", 0)
    async with running_bridge(mock_adc, cluster(), password="wrong-password") as bridge:
        for _ in range(8):
            report = await bridge.cycle()
            assert not report.ok
            assert "credentials" in report.error
    stats = await adc.control("GET", "stats")
    assert stats["requests"]["POST"] == posts_before + 1  # one login attempt, then never again with the same password
    assert (await adc.login()).status_code == 200  # the account is not locked


async def test_a_rotated_password_is_used_at_the_next_login(mock_adc: MockADC) -> None:
    current = {"password": "old-wrong-password"}
    config = bridge_settings(mock_adc)
    async with AdcClient(config.adc, lambda: Credentials(USERNAME, current["password"]), wire=REFERENCE_WIRE) as client:
        with pytest.raises(AdcAuthError, match="wrong username or password"):
            await client.login()
        current["password"] = PASSWORD
        await client.login()
        assert (await client.get("system/info"))["ha_role"] == "active"


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param([{"kind": "status", "status": 503, "retry_after": 0, "count": 4}], id="503-burst"),
        pytest.param([{"kind": "status", "status": 429, "retry_after": 0, "count": 4}], id="429-burst"),
        pytest.param(
            [{"kind": "status", "status": 500, "body": "html", "count": 4, "retry_after": None}], id="500-html"
        ),
        pytest.param([{"kind": "reset", "methods": ["POST"], "count": 3}], id="reset-before-apply"),
        pytest.param([{"kind": "reset", "methods": ["POST"], "after_apply": True, "count": 3}], id="reset-after-apply"),
        pytest.param([{"kind": "truncate", "methods": ["GET"], "count": 2}], id="truncated-list"),
        pytest.param([{"kind": "busy", "methods": ["POST", "PUT"], "rate": 0.3}], id="config-locked"),
        pytest.param([{"kind": "status", "status": 502, "rate": 0.2, "retry_after": None}], id="random-502"),
    ],
)
async def test_transient_failures_converge_in_one_cycle(
    mock_adc: MockADC, adc: Appliance, rules: list[dict[str, Any]]
) -> None:
    await adc.control("POST", "faults", {"rules": rules, "seed": 7})
    async with running_bridge(mock_adc, cluster()) as bridge:
        report = await bridge.cycle()
        assert report.converged, report.applied
        fired = [rule["fired"] for rule in (await adc.control("GET", "faults"))["rules"]]
        assert all(count > 0 for count in fired), fired  # the faults did happen
        await adc.control("DELETE", "faults")
        seq = await last_seq(adc)
        again = await bridge.cycle()
    assert again.plan is not None
    assert again.plan.empty
    assert await writes_since(adc, seq) == []


async def test_writes_wait_for_a_standby_unit_to_become_active(mock_adc: MockADC, adc: Appliance) -> None:
    await adc.control("POST", "role", {"role": "standby"})
    async with running_bridge(mock_adc, cluster()) as bridge:
        cycle = asyncio.create_task(bridge.cycle())
        await asyncio.sleep(1.0)
        assert not cycle.done()
        assert (await adc.control("GET", "state"))["counts"].get("slb/node", 0) == 0
        await adc.control("POST", "role", {"role": "active"})
        report = await cycle
    assert report.converged
    refused = [c for c in await writes_since(adc, 0) if c["code"] == 3001]
    assert refused  # it tried, was refused, waited and retried


async def test_foreign_objects_are_never_touched_and_name_clashes_are_conflicts(
    mock_adc: MockADC, adc: Appliance
) -> None:
    await adc.ok("POST", "slb/node", {"name": "legacy-web", "ip": "10.9.9.9", "description": "hand-made"})
    await adc.ok("POST", "slb/pool", {"name": "legacy-pool"})
    await adc.ok("POST", "slb/pool/legacy-pool/rserver", {"node": "legacy-web", "port": 8080})
    await adc.ok("POST", "dns/domain", {"name": "shop.example.com", "type": "A", "addresses": ["203.0.113.5"]})
    other = "managed-by=adcbridge;owner=other-cluster"
    await adc.ok(
        "POST",
        "dns/domain",
        {"name": "other.example.com", "type": "A", "addresses": ["203.0.113.6"], "description": other},
    )
    before = await objects(adc)
    async with running_bridge(mock_adc, cluster()) as bridge:
        report = await bridge.cycle()
        await bridge.cycle(cluster(hosts=[]))  # nothing of ours left to want: still nothing foreign deleted
    after = await objects(adc)
    assert report.plan is not None
    assert [(c.kind.label, c.key) for c in report.plan.conflicts] == [("domain", "shop.example.com")]
    assert not report.converged
    for kind in ("slb/node", "slb/pool", "dns/domain"):
        foreign_before = [obj for obj in before["objects"][kind] if not obj["name"].startswith("k8s-c1-")]
        foreign_after = [obj for obj in after["objects"][kind] if not obj["name"].startswith("k8s-c1-")]
        if kind == "dns/domain":
            foreign_after = [
                obj for obj in foreign_after if obj["description"] != owner_of(bridge_settings(mock_adc)).marker
            ]
        assert foreign_after == foreign_before
    assert after["rservers"]["legacy-pool"] == before["rservers"]["legacy-pool"]


async def test_rejected_hosts_are_counted_by_reason_and_neither_degrade_nor_block_convergence(
    mock_adc: MockADC, adc: Appliance
) -> None:
    minion = ObjectRef("Ingress", "checkout", "checkout")
    orphan = Rejection("pay.example.com", "minion without a master", minion, RejectionCause.ORPHAN_MINION)
    mistakes = cluster(hosts=[*HOSTS, "bad_host.example.com", "other.example.com"], rejections=(orphan,))
    async with running_bridge(mock_adc, mistakes) as bridge:
        report = await bridge.cycle()
        assert report.converged, report  # nothing degraded, nothing pending: `run --once` says 0
        counts = {reason: bridge.sample("adcbridge_rejected_hosts", reason=reason) for reason in REASONS}
        assert counts == {"invalid_host": 1, "invalid_mergeable": 0, "orphan_minion": 1, "conflict": 0}
        assert bridge.sample("adcbridge_degraded") == 0
        foreign = {"name": "other.example.com", "type": "A", "addresses": ["203.0.113.6"], "description": "by hand"}
        await adc.ok("DELETE", "dns/domain/other.example.com")
        await adc.ok("POST", "dns/domain", foreign)
        assert not (await bridge.cycle()).converged  # a name held by someone else is in the way
        assert bridge.sample("adcbridge_rejected_hosts", reason="conflict") == 1
        assert (await bridge.cycle(cluster())).converged
        assert {
            reason: bridge.sample("adcbridge_rejected_hosts", reason=reason) for reason in REASONS
        } == dict.fromkeys(REASONS, 0)  # a reason that cleared reads 0, not its last count


async def test_a_node_ip_held_by_a_foreign_node_is_reused_not_duplicated(mock_adc: MockADC, adc: Appliance) -> None:
    await adc.ok("POST", "slb/node", {"name": "rack1-host1", "ip": "10.0.0.1", "description": "by hand"})
    async with running_bridge(mock_adc, cluster()) as bridge:
        report = await bridge.cycle()
    assert report.converged
    members = {m["name"] for m in (await objects(adc))["rservers"]["k8s-c1-80-tcp"]}
    assert members == {"rack1-host1:30080", "k8s-c1-node-2:30080", "k8s-c1-node-3:30080"}
    node_names = {n["name"] for n in (await objects(adc))["objects"]["slb/node"]}
    assert "k8s-c1-node-1" not in node_names


async def test_mass_deletion_is_held_back_and_reported(mock_adc: MockADC, adc: Appliance) -> None:
    hosts = [f"h{index}.example.com" for index in range(30)]
    async with running_bridge(mock_adc, cluster(hosts=hosts)) as bridge:
        await bridge.cycle()
        seq = await last_seq(adc)
        report = await bridge.cycle(cluster(hosts=[]))
        assert report.plan is not None
        assert len(report.plan.held_back) == 30
        assert "held back" in report.plan.hold_reason
        assert not report.converged
        assert await writes_since(adc, seq) == []
        assert bridge.sample("adcbridge_held_back_deletions") == 30
        partial = await bridge.cycle(cluster(hosts=hosts[:25]))
        assert partial.converged  # a few deletions are not "mass"
    assert len((await objects(adc))["objects"]["dns/domain"]) == 25


async def test_limits_max_deletes_holds_back_a_cycle_over_it_and_lets_one_at_it_through(
    mock_adc: MockADC, adc: Appliance
) -> None:
    hosts = [f"h{index}.example.com" for index in range(10)]
    async with running_bridge(mock_adc, cluster(hosts=hosts), limits={"max_deletes": 3}) as bridge:
        await bridge.cycle()
        seq = await last_seq(adc)
        over = await bridge.cycle(cluster(hosts=hosts[4:]))  # 4 deletions: too few for the percentage to count
        assert over.plan is not None
        assert over.plan.hold_reason == "4 deletion(s) held back: more than the limit of 3 per cycle"
        assert await writes_since(adc, seq) == []
        at = await bridge.cycle(cluster(hosts=hosts[3:]))
        assert at.converged
    assert await domains(adc) == set(hosts[3:])


async def test_limits_max_delete_percent_holds_back_a_cycle_over_it_and_lets_one_at_it_through(
    mock_adc: MockADC, adc: Appliance
) -> None:
    hosts = [f"h{index}.example.com" for index in range(37)]  # with the 13 SLB objects: 50 of ours
    async with running_bridge(mock_adc, cluster(hosts=hosts), limits={"max_delete_percent": 20}) as bridge:
        await bridge.cycle()
        seq = await last_seq(adc)
        over = await bridge.cycle(cluster(hosts=hosts[11:]))
        assert over.plan is not None
        assert over.plan.hold_reason == "11 deletion(s) held back: 22% of our 50 objects, over the limit of 20%"
        assert await writes_since(adc, seq) == []
        at = await bridge.cycle(cluster(hosts=hosts[10:]))  # 10 of 50: exactly 20%
        assert at.converged
    assert await domains(adc) == set(hosts[10:])


async def test_an_incomplete_view_never_deletes(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster()) as bridge:
        await bridge.cycle()
        seq = await last_seq(adc)
        report = await bridge.cycle(cluster(hosts=["shop.example.com"], nodes=NODES[:1], complete=False))
    assert report.plan is not None
    assert report.plan.held_back
    assert "incomplete" in report.plan.hold_reason
    assert await writes_since(adc, seq) == []


async def test_a_missing_kic_service_keeps_the_slb_objects(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster()) as bridge:
        await bridge.cycle()
        before = await objects(adc)
        report = await bridge.cycle(cluster(service_=None))
    assert report.desired is not None
    assert any("not found" in reason for reason in report.desired.degraded)
    assert not report.converged
    assert await objects(adc) == before


async def test_dry_run_writes_nothing(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster(), dry_run=True) as bridge:
        report = await bridge.cycle()
    assert report.plan is not None
    assert len(report.plan.operations) > 10
    assert report.applied is None
    assert await changes_since(adc, 0) == []


async def test_dry_run_client_refuses_writes_before_the_network(mock_adc: MockADC, adc: Appliance) -> None:
    config = bridge_settings(mock_adc, dry_run=True)
    async with AdcClient(
        config.adc, lambda: Credentials(USERNAME, PASSWORD), wire=REFERENCE_WIRE, read_only=True
    ) as client:
        with pytest.raises(ReadOnlyViolation, match="dry run"):
            await client.request("POST", "slb/node", {"name": "x", "ip": "10.1.1.1"})
    assert await changes_since(adc, 0) == []


async def test_draining_node_is_disabled_then_removed(mock_adc: MockADC, adc: Appliance) -> None:
    clock: list[float] = [1000.0]
    views: Callable[[bool, float], ClusterSnapshot] = lambda ready, at: cluster(  # noqa: E731
        nodes=[NODES[0], replace(NODES[1], ready=ready), NODES[2]], taken_at=at
    )
    async with running_bridge(mock_adc, views(True, clock[0]), nodes={"drain_grace_seconds": 30}) as bridge:
        await bridge.cycle()
        await bridge.cycle(views(False, 1010.0))
        member = await adc.ok("GET", "slb/pool/k8s-c1-80-tcp/rserver/k8s-c1-node-2:30080")
        assert member["enable"] is False
        await bridge.cycle(views(False, 1041.0))
    names = {m["name"] for m in (await objects(adc))["rservers"]["k8s-c1-80-tcp"]}
    assert names == {"k8s-c1-node-1:30080", "k8s-c1-node-3:30080"}
    assert "k8s-c1-node-2" not in {n["name"] for n in (await objects(adc))["objects"]["slb/node"]}
