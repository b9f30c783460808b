"""The engine end to end through the real driver over HTTP, on each ADC dialect's emulated appliance.

Every test runs once per dialect (``reference``: the mock ADC; ``bigip``: the emulated BIG-IP with
BIG-IP DNS on; ``acos``: the emulated ACOS unit, which publishes no names, so that its names go
nowhere here), through ``adcbridge.adc.open_adc`` as production opens the appliance. Each asserts
on what the appliance ends up holding and on what reached it, read from its own ``/_mock/state``
and ``/_mock/changes`` by ``tests/appliances.py`` (never on what the bridge says it did). Where
the vendors differ (a standby unit, the order of a cold sync's writes, a node held in ``Common``,
names an ACOS unit does not publish), the test states each dialect's expectation; the tests of the
deletion guard count names, so they run on the dialects that publish them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adcbridge.adc import open_adc
from adcbridge.config import Settings
from adcbridge.errors import KubeUnavailable
from adcbridge.metrics import Metrics
from adcbridge.model import ClusterSnapshot, HostClaim, ObjectRef, Rejection, RejectionCause
from adcbridge.reconciler import CycleReport, Reconciler
from mocks.adc import MockADC
from tests.appliances import DIALECTS, Emulated, emulated, reference_settings
from tests.builders import VIP4, node, snapshot
from tests.conftest import Appliance
from tests.live import until

NODES = [node(f"node-{index}", f"10.0.0.{index}") for index in range(1, 4)]
HOSTS = ["shop.example.com", "api.example.com", "*.apps.example.com"]
REASONS = ("invalid_host", "invalid_mergeable", "orphan_minion", "conflict")
PORTS = {"k8s-c1-80-tcp": 30080, "k8s-c1-443-tcp": 30443}


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

    async def cycle(
        self, view: ClusterSnapshot | None = None, *, resync: bool = False, at_once: bool = False
    ) -> CycleReport:
        """One cycle; ``resync``: one that reads the whole appliance (a change cycle plans on what it kept);
        ``at_once``: one the loop starts at once for a change after a quiet period."""
        if view is not None:
            self.source.view = view
        return await self.reconciler.run_once(resync=resync, at_once=at_once)

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@asynccontextmanager
async def running_with(
    config: Settings,
    view: ClusterSnapshot,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    after_cycle: Callable[[CycleReport], Awaitable[None]] | None = None,
) -> AsyncIterator[Bridge]:
    """A reconciler over the configured dialect's real driver (``open_adc``, as production opens it)."""
    metrics = Metrics()
    source = StaticSource(view)
    async with open_adc(config, metrics) as adc:
        reconciler = Reconciler(config, source, adc, metrics, clock=clock, sleep=sleep, after_cycle=after_cycle)
        yield Bridge(reconciler, source, metrics)


def running(appliance: Emulated, view: ClusterSnapshot, **overrides: Any) -> Any:
    """A bridge to ``appliance``; ``overrides`` are settings groups."""
    return running_with(appliance.settings(**overrides), view)


# ---------------------------------------------------------------------------- for other modules: the mock ADC


bridge_settings = reference_settings


def running_bridge(
    mock: MockADC,
    view: ClusterSnapshot,
    *,
    password: str | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    after_cycle: Callable[[CycleReport], Awaitable[None]] | None = None,
    **overrides: Any,
) -> Any:
    """A bridge to the mock ADC; ``overrides`` are settings groups."""
    if password is not None:
        overrides["adc"] = {**overrides.get("adc", {}), "password": password}
    return running_with(bridge_settings(mock, **overrides), view, clock=clock, sleep=sleep, after_cycle=after_cycle)


async def changes_since(adc: Appliance, seq: int) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = (await adc.control("GET", f"changes?since={seq}"))["changes"]
    return changes


async def domains(adc: Appliance) -> set[str]:
    return {domain["name"] for domain in (await adc.control("GET", "state"))["objects"].get("dns/domain", [])}


def cluster(hosts: list[str] | None = None, nodes: list[Any] | None = None, **kwargs: Any) -> ClusterSnapshot:
    claims: list[str | HostClaim] = [*(HOSTS if hosts is None else hosts)]
    return snapshot(nodes=NODES if nodes is None else nodes, hosts=claims, **kwargs)


async def writes_nothing_more(bridge: Bridge, appliance: Emulated) -> None:
    """One more cycle converges with an empty plan and no write: the appliance holds what is wanted."""
    seq = await appliance.last_seq()
    again = await bridge.cycle()
    assert again.converged
    assert again.plan is not None
    assert again.plan.empty
    assert await appliance.changes_since(seq) == []


# ---------------------------------------------------------------------------- the appliance, per dialect


@pytest.fixture(params=DIALECTS)
def emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Emulated:
    return emulated(request.param, request, tmp_path)


@pytest.fixture
async def appliance(emulator: Emulated) -> Emulated:
    await emulator.prepare()
    return emulator


@pytest.fixture(params=[dialect for dialect in DIALECTS if dialect != "acos"])
def publishing_emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Emulated:
    return emulated(request.param, request, tmp_path)


@pytest.fixture
async def publishing(publishing_emulator: Emulated) -> Emulated:
    """An appliance that publishes names (an ACOS unit does not)."""
    await publishing_emulator.prepare()
    return publishing_emulator


def published(appliance: Emulated, hosts: list[str]) -> set[str]:
    """The names ``appliance`` shows when the bridge publishes ``hosts``."""
    return set(appliance.names(dict.fromkeys(hosts, ())))


def members(nodes: range, pool: str = "k8s-c1-80-tcp") -> dict[str, bool]:
    return {f"k8s-c1-node-{index}:{PORTS[pool]}": True for index in nodes}


def kinds_in_order(writes: list[Any]) -> list[str]:
    """The kinds of ``writes``, each run of one kind once."""
    found: list[str] = []
    for write in writes:
        if not found or found[-1] != write.kind:
            found.append(write.kind)
    return found


# The kinds of a cold sync's writes, in the order they reach the appliance. A BIG-IP publishes a
# name as a wide IP after its GTM server entry, GTM pool and pool member.
COLD_ORDER = {
    "reference": ["node", "pool", "member", "vserver", "name"],
    "bigip": ["node", "pool", "member", "vserver", "gtm-entry", "gtm-pool", "gtm-member", "name"],
    "acos": ["node", "pool", "member", "vserver"],  # servers made with their ports, a virtual-server with its first
}


# ---------------------------------------------------------------------------- tests


async def test_cold_sync_creates_everything_in_order_then_nothing(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        report = await bridge.cycle()
        assert report.converged, report
        held = await appliance.summary()
        assert held.nodes == {f"k8s-c1-node-{index}": (f"10.0.0.{index}", True) for index in range(1, 4)}
        assert held.pools == dict.fromkeys(PORTS, "rr")
        assert held.members == {pool: members(range(1, 4), pool) for pool in PORTS}
        assert held.vservers == {
            f"k8s-c1-{VIP4}-{port}-tcp": (f"{VIP4}:{port}", f"k8s-c1-{port}-tcp") for port in (80, 443)
        }
        assert held.names == appliance.names(dict.fromkeys(HOSTS, (VIP4,)))
        changes = await appliance.changes_since(0)
        assert appliance.is_save(changes[-1])  # saved once, last
        assert await appliance.saves_since(0) == 1
        assert not await appliance.unsaved()
        writes = await appliance.writes_since(0)
        assert kinds_in_order(writes) == COLD_ORDER[appliance.dialect]
        assert writes
        assert all(write.ok for write in writes)
        await writes_nothing_more(bridge, appliance)


async def test_incremental_changes_write_only_the_difference(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        seq = await appliance.last_seq()
        assert (await bridge.cycle(cluster(hosts=[*HOSTS, "new.example.com"]))).converged
        assert [(w.action, w.kind, w.name) for w in await appliance.writes_since(seq)] == (
            [("create", "name", "new.example.com")] if appliance.publishes else []
        )
        seq = await appliance.last_seq()
        report = await bridge.cycle(
            cluster(hosts=[*HOSTS, "new.example.com"], nodes=[*NODES, node("node-4", "10.0.0.4")])
        )
        assert report.converged
        assert sorted((w.action, w.kind) for w in await appliance.writes_since(seq)) == [
            ("create", "member"),
            ("create", "member"),
            ("create", "node"),
        ]
    assert (await appliance.summary()).members["k8s-c1-443-tcp"] == members(range(1, 5), "k8s-c1-443-tcp")


async def test_drift_is_repaired_on_the_next_resync(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        before = await appliance.summary()
        await appliance.drop_member("k8s-c1-80-tcp", "k8s-c1-node-2:30080")
        await appliance.disable_member("k8s-c1-443-tcp", "k8s-c1-node-1:30443")
        await appliance.repoint_vserver(f"k8s-c1-{VIP4}-80-tcp", "k8s-c1-443-tcp")
        if appliance.publishes:
            await appliance.spoil_name("shop.example.com")
        await appliance.disable_node("k8s-c1-node-3")
        await appliance.least_connections("k8s-c1-443-tcp")
        drifted = await appliance.summary()
        assert "k8s-c1-node-2:30080" not in drifted.members["k8s-c1-80-tcp"]  # the reader sees the drift
        assert drifted.members["k8s-c1-443-tcp"]["k8s-c1-node-1:30443"] is False
        assert drifted.nodes["k8s-c1-node-3"] == ("10.0.0.3", False)
        assert drifted.vservers[f"k8s-c1-{VIP4}-80-tcp"] == (f"{VIP4}:80", "k8s-c1-443-tcp")
        assert drifted.pools["k8s-c1-443-tcp"] == "lc"
        assert drifted.names.get("shop.example.com") != (VIP4,)
        report = await bridge.cycle(resync=True)
        assert report.converged
        assert await appliance.summary() == before
        assert bridge.sample("adcbridge_drift_repairs_total", kind="member") == 2
        assert bridge.sample("adcbridge_drift_repairs_total", kind="node") == 1
        assert bridge.sample("adcbridge_drift_repairs_total", kind="pool") == 1
        assert bridge.sample("adcbridge_drift_repairs_total", kind="vserver") == 1
        assert bridge.sample("adcbridge_drift_repairs_total", kind="domain") == int(appliance.publishes)
        seq = await appliance.last_seq()
        again = await bridge.cycle()
        assert again.plan is not None
        assert again.plan.empty
    assert await appliance.changes_since(seq) == []


async def test_restart_with_a_correct_adc_writes_nothing(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        assert (await bridge.cycle()).converged
    seq = await appliance.last_seq()
    async with running(appliance, cluster()) as restarted:
        report = await restarted.cycle()
    assert report.converged
    assert await appliance.changes_since(seq) == []  # not even a configuration save


async def test_expired_session_is_renewed_transparently(appliance: Emulated) -> None:
    fourth, fifth = node("node-4", "10.0.0.4"), node("node-5", "10.0.0.5")
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        await appliance.expire_sessions()
        report = await bridge.cycle(cluster(hosts=[*HOSTS, "after-expiry.example.com"], nodes=[*NODES, fourth]))
        assert report.converged
        assert "k8s-c1-node-4" in (await appliance.summary()).nodes
        assert published(appliance, ["after-expiry.example.com"]) <= set((await appliance.summary()).names)
        await appliance.advance_clock(3600)
        report = await bridge.cycle(cluster(hosts=[*HOSTS, "after-clock.example.com"], nodes=[*NODES, fifth]))
        assert report.converged
    held = await appliance.summary()
    assert set(held.names) == published(appliance, [*HOSTS, "after-clock.example.com"])
    assert set(held.nodes) == {f"k8s-c1-node-{index}" for index in (1, 2, 3, 5)}


async def test_a_wrong_password_is_tried_once_and_never_locks_the_account(appliance: Emulated) -> None:
    attempts = await appliance.login_attempts()
    async with running(appliance, cluster(), adc={"password": "wrong-password"}) as bridge:
        for _ in range(8):
            report = await bridge.cycle()
            assert not report.ok
            assert "credentials" in report.error
    assert await appliance.login_attempts() == attempts + 1  # one login attempt, then never again with it
    assert await appliance.can_log_in()  # the account is not locked
    assert await appliance.changes_since(0) == []


async def test_a_rotated_password_is_used_at_the_next_login(appliance: Emulated, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "adc-password").write_text("old-wrong-password\n")
    attempts = await appliance.login_attempts()
    async with running(appliance, cluster(), secrets_dir=str(secrets)) as bridge:
        assert "credentials" in (await bridge.cycle()).error
        assert "credentials" in (await bridge.cycle()).error
        assert await appliance.login_attempts() == attempts + 1  # not tried again with the same password
        (secrets / "adc-password").write_text(appliance.credentials().password + "\n")  # the Secret rotated
        assert (await bridge.cycle()).converged
    assert set((await appliance.summary()).names) == published(appliance, HOSTS)
    assert len((await appliance.summary()).vservers) == 2


WRITES = "the dialect's write methods"  # POST and PUT on the reference appliance; POST and PATCH on a BIG-IP
WRITE_METHODS = {"reference": ["POST", "PUT"], "bigip": ["POST", "PATCH"], "acos": ["POST"]}


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
        pytest.param([{"kind": "busy", "methods": WRITES, "rate": 0.3}], id="config-locked"),
        pytest.param([{"kind": "status", "status": 502, "rate": 0.2, "retry_after": None}], id="random-502"),
    ],
)
async def test_transient_failures_converge_in_one_cycle(appliance: Emulated, rules: list[dict[str, Any]]) -> None:
    methods = WRITE_METHODS[appliance.dialect]
    await appliance.faults([rule | {"methods": methods} if rule.get("methods") == WRITES else rule for rule in rules])
    async with running(appliance, cluster()) as bridge:
        report = await bridge.cycle()  # every request retried within its deadline, a BIG-IP's status read too
        assert report.converged, (report.error, report.applied)
        fired = await appliance.fired()
        assert len(fired) == len(rules)
        assert all(count > 0 for count in fired), fired  # the faults did happen
        await appliance.clear_faults()
        seq = await appliance.last_seq()
        again = await bridge.cycle()
    assert again.plan is not None
    assert again.plan.empty
    assert await appliance.changes_since(seq) == []
    held = await appliance.summary()
    assert set(held.names) == published(appliance, HOSTS)
    assert len(held.vservers) == 2


# What a bridge says of a pair with no active unit (the reference unit says it is standby when written to).
NO_ACTIVE = {"bigip": "no active BIG-IP unit", "acos": "no active ACOS unit"}


async def test_nothing_is_written_to_a_standby_unit_until_it_becomes_active(appliance: Emulated) -> None:
    """The reference unit refuses writes while standby (3001): the bridge tries, is refused, and waits
    within the cycle. A BIG-IP standby ACCEPTS writes (they would break config sync), and what an ACOS
    standby answers is not on record: the bridge reads the unit's role first, sends it no write at all,
    and fails the cycle until a unit is active."""
    await appliance.role("standby")
    async with running(appliance, cluster()) as bridge:
        if appliance.dialect == "reference":
            cycle = asyncio.create_task(bridge.cycle())

            async def refused() -> bool:
                return any(not write.ok for write in await appliance.writes_since(0))

            await until(refused, what="a write refused by the standby")
            assert not cycle.done()
            assert (await appliance.summary()).nodes == {}
            await appliance.role("active")
            report = await cycle
            assert {write.ok for write in await appliance.writes_since(0)} == {True, False}
        else:
            for _ in range(2):
                waiting = await bridge.cycle()
                assert not waiting.ok
                assert NO_ACTIVE[appliance.dialect] in waiting.error
            assert await appliance.changes_since(0) == []
            await appliance.role("active")
            report = await bridge.cycle()
            written = await appliance.writes_since(0)
            assert written
            assert all(write.ok for write in written)
    assert report.converged
    assert set((await appliance.summary()).names) == published(appliance, HOSTS)
    assert len((await appliance.summary()).vservers) == 2


# The name we want that the seeded objects hold: a published name, or on an ACOS unit, one of our
# nodes' (an administrator's server named k8s-c1-node-3, without our marker, in our partition).
FOREIGN_CONFLICTS = {
    "reference": [("domain", "shop.example.com")],
    "bigip": [("domain", "shop.example.com")],
    "acos": [("node", "k8s-c1-node-3")],
}


async def test_foreign_objects_are_never_touched_and_name_clashes_are_conflicts(appliance: Emulated) -> None:
    await appliance.seed_foreign()
    before = await appliance.foreign()
    async with running(appliance, cluster()) as bridge:
        report = await bridge.cycle()
        assert report.plan is not None
        assert [(c.kind.label, c.key) for c in report.plan.conflicts] == FOREIGN_CONFLICTS[appliance.dialect]
        assert not report.converged
        assert set((await appliance.summary()).names) == published(appliance, HOSTS[1:])
        await bridge.cycle(cluster(hosts=[]))  # nothing of ours left to want: still nothing foreign deleted
    assert (await appliance.summary()).names == {}
    assert await appliance.foreign() == before


async def test_rejected_hosts_are_counted_by_reason_and_neither_degrade_nor_block_convergence(
    appliance: Emulated,
) -> None:
    minion = ObjectRef("Ingress", "checkout", "checkout")
    orphan = Rejection("pay.example.com", "minion without a master", minion, RejectionCause.ORPHAN_MINION)
    mistakes = cluster(hosts=[*HOSTS, "bad_host.example.com", "other.example.com"], rejections=(orphan,))
    async with running(appliance, mistakes) as bridge:
        report = await bridge.cycle()
        assert report.converged, report  # nothing degraded, nothing pending: `run --once` says 0
        assert set((await appliance.summary()).names) == published(appliance, [*HOSTS, "other.example.com"])
        counts = {reason: bridge.sample("adcbridge_rejected_hosts", reason=reason) for reason in REASONS}
        assert counts == {"invalid_host": 1, "invalid_mergeable": 0, "orphan_minion": 1, "conflict": 0}
        assert bridge.sample("adcbridge_degraded") == 0
        if appliance.publishes:  # a name held by someone else is in the way
            await appliance.take_name("other.example.com")
            assert not (await bridge.cycle(resync=True)).converged
            assert bridge.sample("adcbridge_rejected_hosts", reason="conflict") == 1
        assert (await bridge.cycle(cluster())).converged
        assert {
            reason: bridge.sample("adcbridge_rejected_hosts", reason=reason) for reason in REASONS
        } == dict.fromkeys(REASONS, 0)  # a reason that cleared reads 0, not its last count


# A BIG-IP lets any partition use a node of Common: the member stands on it by its full path. An
# ACOS member names a port of its server, and adding one would change another's server: its address
# is a conflict instead, and nothing of ours stands on it.
REUSED = {"reference": "rack1-host1", "bigip": "/Common/rack1-host1", "acos": ""}


async def test_a_node_ip_held_by_a_foreign_node_is_reused_not_duplicated(appliance: Emulated) -> None:
    await appliance.add_foreign_node("rack1-host1", "10.0.0.1")
    async with running(appliance, cluster()) as bridge:
        report = await bridge.cycle()
    reused = REUSED[appliance.dialect]
    assert report.converged == bool(reused)
    assert report.plan is not None
    assert [(c.kind.label, c.key) for c in report.plan.conflicts] == ([] if reused else [("node", "k8s-c1-node-1")])
    held = await appliance.summary()
    for pool, port in PORTS.items():
        on_foreign = {f"{reused}:{port}": True} if reused else {}
        assert held.members[pool] == on_foreign | members(range(2, 4), pool)
    assert set(held.nodes) == {"k8s-c1-node-2", "k8s-c1-node-3"}


async def test_mass_deletion_is_held_back_and_reported(publishing: Emulated) -> None:
    hosts = [f"h{index}.example.com" for index in range(30)]
    async with running(publishing, cluster(hosts=hosts)) as bridge:
        await bridge.cycle()
        seq = await publishing.last_seq()
        report = await bridge.cycle(cluster(hosts=[]))
        assert report.plan is not None
        assert len(report.plan.held_back) == 30
        assert "held back" in report.plan.hold_reason
        assert not report.converged
        assert await publishing.changes_since(seq) == []
        assert bridge.sample("adcbridge_held_back_deletions") == 30
        partial = await bridge.cycle(cluster(hosts=hosts[:25]))
        assert partial.converged  # a few deletions are not "mass"
    assert set((await publishing.summary()).names) == set(hosts[:25])


async def test_limits_max_deletes_holds_back_a_cycle_over_it_and_lets_one_at_it_through(
    publishing: Emulated,
) -> None:
    hosts = [f"h{index}.example.com" for index in range(10)]
    async with running(publishing, cluster(hosts=hosts), limits={"max_deletes": 3}) as bridge:
        await bridge.cycle()
        seq = await publishing.last_seq()
        over = await bridge.cycle(cluster(hosts=hosts[4:]))  # 4 deletions: too few for the percentage to count
        assert over.plan is not None
        assert over.plan.hold_reason == "4 deletion(s) held back: more than the limit of 3 per cycle"
        assert await publishing.changes_since(seq) == []
        at = await bridge.cycle(cluster(hosts=hosts[3:]))
        assert at.converged
    assert set((await publishing.summary()).names) == set(hosts[3:])


async def test_limits_max_delete_percent_holds_back_a_cycle_over_it_and_lets_one_at_it_through(
    publishing: Emulated,
) -> None:
    hosts = [f"h{index}.example.com" for index in range(37)]  # with the 13 SLB objects: 50 of ours
    async with running(publishing, cluster(hosts=hosts), limits={"max_delete_percent": 20}) as bridge:
        await bridge.cycle()
        seq = await publishing.last_seq()
        over = await bridge.cycle(cluster(hosts=hosts[11:]))
        assert over.plan is not None
        assert over.plan.hold_reason == "11 deletion(s) held back: 22% of our 50 objects, over the limit of 20%"
        assert await publishing.changes_since(seq) == []
        at = await bridge.cycle(cluster(hosts=hosts[10:]))  # 10 of 50: exactly 20%
        assert at.converged
    assert set((await publishing.summary()).names) == set(hosts[10:])


async def test_an_incomplete_view_never_deletes(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        before = await appliance.summary()
        seq = await appliance.last_seq()
        report = await bridge.cycle(cluster(hosts=["shop.example.com"], nodes=NODES[:1], complete=False))
    assert report.plan is not None
    assert report.plan.held_back
    assert "incomplete" in report.plan.hold_reason
    assert await appliance.changes_since(seq) == []
    assert await appliance.summary() == before


async def test_a_missing_kic_service_keeps_the_slb_objects(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        before = await appliance.summary()
        seq = await appliance.last_seq()
        report = await bridge.cycle(cluster(service_=None))
    assert report.desired is not None
    assert any("not found" in reason for reason in report.desired.degraded)
    assert not report.converged
    assert await appliance.changes_since(seq) == []
    assert await appliance.summary() == before
    assert len(before.vservers) == 2


async def test_dry_run_writes_nothing(appliance: Emulated) -> None:
    async with running(appliance, cluster(), dry_run=True) as bridge:
        report = await bridge.cycle()
    assert report.plan is not None
    assert len(report.plan.operations) > 10
    assert report.applied is None
    assert await appliance.changes_since(0) == []


async def test_dry_run_client_refuses_writes_before_the_network(appliance: Emulated) -> None:
    """The dialect's session opened for a dry run refuses every write itself, should a plan reach it."""
    config = appliance.settings(dry_run=True)
    async with running_with(config, cluster()) as bridge:
        plan = (await bridge.cycle()).plan
    assert plan is not None
    assert len(plan.operations) > 10
    writes = await appliance.write_requests()
    async with open_adc(config, Metrics()) as adc:
        applied = await adc.apply(plan)
    assert applied.writes == 0
    assert not applied.saved
    assert {result.outcome for result in applied.results} == {"failed", "skipped"}
    assert all(r.error.startswith("dry run: refused") for r in applied.results if r.outcome == "failed")
    assert await appliance.write_requests() == writes  # refused before the network
    assert await appliance.changes_since(0) == []


async def test_draining_node_is_disabled_then_removed(appliance: Emulated) -> None:
    def view(ready: bool, at: float) -> ClusterSnapshot:
        return cluster(nodes=[NODES[0], replace(NODES[1], ready=ready), NODES[2]], taken_at=at)

    async with running(appliance, view(True, 1000.0), nodes={"drain_grace_seconds": 30}) as bridge:
        await bridge.cycle()
        await bridge.cycle(view(False, 1010.0))
        draining = await appliance.summary()
        for pool, port in PORTS.items():
            assert draining.members[pool] == members(range(1, 4), pool) | {f"k8s-c1-node-2:{port}": False}
        seq = await appliance.last_seq()
        await bridge.cycle(view(False, 1041.0))
    assert [(w.action, w.kind) for w in await appliance.writes_since(seq)] == [
        ("delete", "member"),
        ("delete", "member"),
        ("delete", "node"),
    ]
    held = await appliance.summary()
    assert held.members == {pool: members(range(1, 4, 2), pool) for pool in PORTS}
    assert set(held.nodes) == {"k8s-c1-node-1", "k8s-c1-node-3"}


async def test_a_node_whose_address_changes_is_replaced_in_one_cycle_then_nothing(appliance: Emulated) -> None:
    """A node's address cannot be changed in place on a BIG-IP or an ACOS unit: the node is deleted with its
    members and created again on its new address, in one cycle (a dry run only shows it); the other nodes are
    not touched."""
    moved = cluster(nodes=[NODES[0], node("node-2", "10.0.0.22"), NODES[2]])
    async with running(appliance, cluster()) as bridge:
        assert (await bridge.cycle()).converged
    seq = await appliance.last_seq()
    async with running(appliance, moved, dry_run=True) as bridge:
        shown = await bridge.cycle()
    assert shown.plan is not None
    assert [(op.action.value, op.ref) for op in shown.plan.operations if op.replacing] == [
        ("delete", "member:k8s-c1-443-tcp/k8s-c1-node-2:30443"),
        ("delete", "member:k8s-c1-80-tcp/k8s-c1-node-2:30080"),
        ("delete", "node:k8s-c1-node-2"),
        ("create", "node:k8s-c1-node-2"),
    ]
    assert await appliance.changes_since(seq) == []
    async with running(appliance, moved) as bridge:
        report = await bridge.cycle()
        assert report.converged, report
        writes = await appliance.writes_since(seq)
        assert [(write.action, write.kind, write.ok) for write in writes] == [
            ("delete", "member", True),
            ("delete", "member", True),
            ("delete", "node", True),
            ("create", "node", True),
            ("create", "member", True),
            ("create", "member", True),
        ]
        assert {write.name for write in writes if write.kind == "node"} == {"k8s-c1-node-2"}
        held = await appliance.summary()
        assert held.nodes == {
            "k8s-c1-node-1": ("10.0.0.1", True),
            "k8s-c1-node-2": ("10.0.0.22", True),
            "k8s-c1-node-3": ("10.0.0.3", True),
        }
        assert held.members == {pool: members(range(1, 4), pool) for pool in PORTS}
        await writes_nothing_more(bridge, appliance)
