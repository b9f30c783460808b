"""The ADC's state kept between cycles (``adc/caching.py``): what a change cycle reads, and when
the whole appliance is read again.

The rules, each tested here by what reaches the emulated appliance (its request counters and
change log), for every dialect: a change cycle reads nothing (a BIG-IP's failover status aside)
and writes only the difference; what the bridge keeps after its writes is what a fresh read gives,
so the resync after a change writes nothing; the whole appliance is read again at the resync
period, after a write not known to be done (failed, or applied with its answer lost), after a
failed cycle, after a failover and when the loop starts; in dry run nothing is kept as written.
A change cycle that updates or deletes reads those objects alone where the dialect can (the
reference dialect: a host deleted costs its GET, its DELETE and the save), decides ownership on
that read exactly as a full read would, and reads the whole appliance when its plan on them
changes anything it did not read, or the dialect reads nothing alone. The pure part (``after``,
``refreshed``, ``StateCache``) is tested by tables at the end.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adcbridge import reconciler as reconciler_module
from adcbridge.adc import Adc, AdcInfo, ApplyReport, OperationResult, open_adc
from adcbridge.adc.caching import StateCache, after, refreshed
from adcbridge.adc.reference.driver import READ_ALONE_AT_MOST
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics
from adcbridge.model import Action, AdcObject, AdcState, ClusterSnapshot, Kind, Operation, Plan
from adcbridge.reconciler import Reconciler
from mocks.adc import MockADC
from tests.appliances import DIALECTS, AcosAppliance, Emulated, ReferenceAppliance, Summary, emulated
from tests.builders import HTTP, adc_domain, adc_member, adc_node, adc_pool, node, service, settings, snapshot
from tests.conftest import Appliance
from tests.live import until
from tests.test_bridge_against_mock import HOSTS, NODES, Bridge, StaticSource, cluster, running, running_with
from tests.test_dialects import RecordingAdc

# What a change cycle reads before writing: a BIG-IP its failover status, an ACOS unit its role
# (the aVCS summary, then, aVCS being off, the VRRP-A state).
STATUS_READS = {"reference": 0, "bigip": 1, "acos": 2}
NEW = "new.example.com"
OTHER_VIP = {"addresses": ["192.0.2.20"]}
NEW_NODE = node("node-4", "10.0.0.4")
# A change that only creates: a name where names are published, else (ACOS) a node and its members;
# the POST path of what it creates first, and that object's key.
FIRST_POSTS = {
    "reference": ("/adc/v3.0/dns/domain", NEW),
    "bigip": ("/mgmt/tm/gtm/wideip/a", NEW),
    "acos": ("/axapi/v3/slb/server/", "k8s-c1-node-4"),
}


def one_more(appliance: Emulated) -> ClusterSnapshot:
    """The view with one more object to create: a name, or on ACOS (no names) a node."""
    if appliance.publishes:
        return cluster(hosts=[*HOSTS, NEW])
    return cluster(nodes=[*NODES, NEW_NODE])


def created(appliance: Emulated, summary: Summary) -> bool:
    """Whether what :func:`one_more` adds is on the appliance."""
    return NEW in summary.names if appliance.publishes else FIRST_POSTS["acos"][1] in summary.nodes


def before_the_new_node(summary: Summary) -> tuple[Any, ...]:
    """Members, nodes, pools and virtual servers but the new node's (what :func:`one_more` adds on ACOS)."""
    new = FIRST_POSTS["acos"][1]
    members = {
        pool: {m: on for m, on in ms.items() if not m.startswith(f"{new}:")} for pool, ms in summary.members.items()
    }
    nodes = {name: value for name, value in summary.nodes.items() if name != new}
    return members, nodes, summary.pools, summary.vservers


@pytest.fixture(params=DIALECTS)
def emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Emulated:
    return emulated(request.param, request, tmp_path)


@pytest.fixture
async def appliance(emulator: Emulated) -> Emulated:
    await emulator.prepare()
    return emulator


async def fresh_read(appliance: Emulated) -> AdcState:
    """What a new session reads from the appliance now."""
    async with open_adc(appliance.settings(), Metrics()) as adc:
        return await adc.observe()


async def counted(appliance: Emulated, bridge: Bridge, **kwargs: Any) -> tuple[int, int, Any]:
    """One cycle: (reads, writes that reached the appliance, its report)."""
    reads, seq = await appliance.read_requests(), await appliance.last_seq()
    report = await bridge.cycle(**kwargs)
    return await appliance.read_requests() - reads, len(await appliance.writes_since(seq)), report


# ---------------------------------------------------------------------------- change cycles


async def test_a_change_cycle_that_creates_reads_nothing_and_keeps_what_a_fresh_read_gives(
    appliance: Emulated,
) -> None:
    async with running(appliance, cluster()) as bridge:
        assert (await bridge.cycle()).converged
        added = cluster(hosts=[*HOSTS, NEW], nodes=[*NODES, node("node-4", "10.0.0.4")])
        reads, writes, report = await counted(appliance, bridge, view=added)
        assert report.converged, report.error
        assert reads == STATUS_READS[appliance.dialect]
        assert writes == (4 if appliance.publishes else 3)  # the name (if published), the node and its two members
        assert bridge.reconciler.adc_cache.state == await fresh_read(appliance)

        reads, writes, report = await counted(appliance, bridge, resync=True)
        assert reads > 0
        assert report.plan is not None
        assert report.plan.empty
        assert writes == 0


async def test_a_change_cycle_that_updates_or_deletes_reads_the_adc_first(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        fewer = cluster(hosts=HOSTS[1:], nodes=NODES[1:])
        reads, writes, report = await counted(appliance, bridge, view=fewer)
        assert report.converged, report.error
        assert reads > STATUS_READS[appliance.dialect]
        assert writes >= 2  # a name and a node with its members deleted
        assert bridge.reconciler.adc_cache.state == await fresh_read(appliance)

        # One port fewer: a pool deleted, and its members with it (no delete is sent for them).
        one_port = snapshot(service_=service(HTTP), nodes=NODES[1:], hosts=tuple(HOSTS[1:]))
        reads, writes, report = await counted(appliance, bridge, view=one_port)
        assert report.converged, report.error
        assert writes > 0
        assert bridge.reconciler.adc_cache.state == await fresh_read(appliance)


async def test_drift_between_two_change_cycles_waits_for_the_resync_and_is_not_made_worse(
    appliance: Emulated,
) -> None:
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        before = await appliance.summary()
        await appliance.drop_member("k8s-c1-80-tcp", "k8s-c1-node-2:30080")
        await appliance.disable_node("k8s-c1-node-3")
        if appliance.publishes:
            await appliance.spoil_name("shop.example.com")
        else:
            await appliance.least_connections("k8s-c1-443-tcp")
        drifted = await appliance.summary()
        seq = await appliance.last_seq()
        report = await bridge.cycle(one_more(appliance))
        assert report.converged  # by what it kept: the drift is not known until the resync reads it
        written = {(w.action, w.kind, w.name) for w in await appliance.writes_since(seq)}
        if appliance.publishes:
            assert written == {("create", "name", NEW)}
        else:
            members = {
                ("create", "member", f"k8s-c1-{p}-tcp/k8s-c1-node-4+{n}") for p, n in ((80, 30080), (443, 30443))
            }
            assert written == {("create", "node", "k8s-c1-node-4"), *members}
        now = await appliance.summary()
        assert before_the_new_node(now) == before_the_new_node(drifted)
        assert {name: now.names[name] for name in drifted.names} == drifted.names

        repaired = await bridge.cycle(resync=True)
        assert repaired.converged
        assert repaired.plan is not None
        assert len(repaired.plan.operations) == 3
        final = await appliance.summary()
        assert before_the_new_node(final) == before_the_new_node(before)
        assert final.names == ({**before.names, NEW: final.names[NEW]} if appliance.publishes else {})


async def test_an_object_taken_by_hand_between_two_change_cycles_is_never_deleted(appliance: Emulated) -> None:
    """A name (on ACOS, which publishes none, a node) deleted and made again by an administrator
    after the last read; the next change cycle would delete ours: it reads first and leaves it."""
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        if appliance.publishes:
            kind, taken, fewer = Kind.DOMAIN, HOSTS[0], cluster(hosts=HOSTS[1:])
            await appliance.take_name(taken)
        else:
            kind, taken, fewer = Kind.NODE, "k8s-c1-node-1", cluster(nodes=NODES[1:])
            assert isinstance(appliance, AcosAppliance)
            await appliance.take_node(taken)
        foreign = (await fresh_read(appliance)).of_kind(kind)[taken]
        assert not foreign.description.startswith("managed-by=adcbridge")
        reads, writes, report = await counted(appliance, bridge, view=fewer)
        assert reads > STATUS_READS[appliance.dialect]  # a delete is planned on a read of its own cycle
        assert writes == 0
        assert report.converged
        assert (await fresh_read(appliance)).of_kind(kind)[taken] == foreign


@pytest.mark.parametrize("applied", [True, False], ids=["answer-lost", "not-applied"])
async def test_a_write_not_known_to_be_done_is_read_back_by_the_next_cycle(appliance: Emulated, applied: bool) -> None:
    """A create reset by the appliance on every attempt until the operation deadline: applied with
    its answer lost, or not applied at all. The next cycle (a change cycle, no resync) reads the
    appliance: it finds the name there and writes nothing, or creates it."""
    async with running(appliance, cluster(), adc={"operation_deadline": 0.5}) as bridge:
        await bridge.cycle()
        path, key = FIRST_POSTS[appliance.dialect]
        await appliance.faults([{"kind": "reset", "path": path, "methods": ["POST"], "after_apply": applied}])
        failed = await bridge.cycle(one_more(appliance))
        assert failed.applied is not None
        assert [r.operation.obj.key for r in failed.applied.failures if r.outcome == "failed"] == [key]
        assert created(appliance, await appliance.summary()) is applied
        await appliance.clear_faults()

        reads, writes, report = await counted(appliance, bridge)
        assert report.converged, (report.error, report.applied)
        assert reads > STATUS_READS[appliance.dialect]
        skipped = len(failed.applied.failures) - 1  # on ACOS the node's members, skipped with it
        assert writes == (0 if applied else 1) + skipped
        assert created(appliance, await appliance.summary())
        _, writes, again = await counted(appliance, bridge, resync=True)
        assert again.plan is not None
        assert again.plan.empty
        assert writes == 0


# ---------------------------------------------------------------------------- when the whole ADC is read


async def test_the_whole_adc_is_read_once_the_last_read_is_a_resync_period_old(appliance: Emulated) -> None:
    clock = [0.0]
    async with running(appliance, cluster(), reconcile={"resync_seconds": 30}) as bridge:
        bridge.reconciler.adc_cache.clock = lambda: clock[0]
        await bridge.cycle()
        await appliance.disable_node("k8s-c1-node-3")
        clock[0] = 29.9
        reads, writes, _ = await counted(appliance, bridge)
        assert (reads, writes) == (0, 0)
        clock[0] = 30.0
        reads, writes, report = await counted(appliance, bridge)
        assert reads > 0
        assert writes == 1  # the drift repaired
        assert report.converged


async def test_a_change_after_a_quiet_period_goes_before_an_overdue_resync_which_follows_it(
    appliance: Emulated,
) -> None:
    """The change is not made to wait for a read of the whole appliance; the drift is repaired by
    the cycle right after it."""
    clock = [0.0]
    async with running(appliance, cluster(), reconcile={"resync_seconds": 30}) as bridge:
        cache = bridge.reconciler.adc_cache
        cache.clock = lambda: clock[0]
        await bridge.cycle()
        await appliance.disable_node("k8s-c1-node-3")
        clock[0] = 45.0  # the resync is overdue when the change comes
        reads, writes, report = await counted(appliance, bridge, view=one_more(appliance), at_once=True)
        assert report.converged, report.error
        assert reads == STATUS_READS[appliance.dialect]
        assert writes == (1 if appliance.publishes else 3)  # the change alone (a name, or a node and its members)
        assert created(appliance, await appliance.summary())
        assert cache.due_in() == 0.0  # still due: the loop reads at once after this cycle
        reads, writes, report = await counted(appliance, bridge)
        assert reads > STATUS_READS[appliance.dialect]
        assert writes == 1  # the drift repaired
        assert report.converged, report.error


async def test_a_failed_cycle_makes_the_next_one_read_the_whole_adc(appliance: Emulated) -> None:
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        await appliance.disable_node("k8s-c1-node-3")
        bridge.source.failure = "API server unreachable"
        assert not (await bridge.cycle()).ok
        bridge.source.failure = ""
        reads, writes, report = await counted(appliance, bridge)
        assert reads > 0
        assert writes == 1
        assert report.converged


class FailingOver:
    """An appliance whose active unit the test names (the reconciler only asks ``active_unit``)."""

    def __init__(self, adc: Adc) -> None:
        self.adc = adc
        self.kinds = adc.kinds
        self.unit = "unit-a"

    async def observe(self) -> AdcState:
        return await self.adc.observe()

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        return await self.adc.read_objects(keys)

    async def apply(self, plan: Plan) -> ApplyReport:
        return await self.adc.apply(plan)

    async def connect(self, *, within: float) -> None:
        await self.adc.connect(within=within)

    async def describe(self) -> AdcInfo:
        return await self.adc.describe()

    def active_unit(self) -> str:
        return self.unit


async def test_a_failover_makes_the_next_cycle_read_the_whole_adc(appliance: Emulated) -> None:
    config = appliance.settings()
    async with open_adc(config, Metrics()) as adc:
        pair, source, metrics = FailingOver(adc), StaticSource(cluster()), Metrics()
        bridge = Bridge(Reconciler(config, source, pair, metrics), source, metrics)
        await bridge.cycle()
        await appliance.disable_node("k8s-c1-node-3")
        reads, writes, _ = await counted(appliance, bridge)
        assert (reads, writes) == (0, 0)
        pair.unit = "unit-b"
        reads, writes, report = await counted(appliance, bridge)
        assert reads > 0
        assert writes == 1
        assert report.converged


async def test_the_loop_reads_the_whole_adc_when_it_starts_again(appliance: Emulated) -> None:
    """A replica elected again: another may have written while it was not leading."""
    async with running(appliance, cluster()) as bridge:
        await bridge.cycle()
        await appliance.disable_node("k8s-c1-node-3")
        reads, before = await appliance.read_requests(), bridge.reconciler.last
        loop = asyncio.create_task(bridge.reconciler.run_forever())

        async def cycled() -> bool:
            return bridge.reconciler.last is not before

        try:
            await until(cycled, what="the loop's first cycle")
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
        assert await appliance.read_requests() > reads
        assert (await appliance.summary()).nodes["k8s-c1-node-3"][1] is True


async def waited_for(bridge: Bridge, report: Any, monkeypatch: pytest.MonkeyPatch) -> float:
    """How long the loop would wait after the cycle of ``report`` for a change to come (none comes)."""
    timeouts: list[float] = []

    async def times_out(waited: Any, timeout: float) -> None:  # noqa: ASYNC109 - stands in for asyncio.wait_for
        waited.close()
        timeouts.append(timeout)
        raise TimeoutError

    monkeypatch.setattr(reconciler_module.asyncio, "wait_for", times_out)
    assert await bridge.reconciler._wait_for_reason(report) is False
    (timeout,) = timeouts
    return timeout


async def test_a_quiet_loop_wakes_for_the_resync_one_period_after_the_last_read(
    appliance: Emulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not one period after the last cycle: change cycles on the kept state must not put drift
    repair off (a read at 100, a change cycle at 120: the resync is due at 130, not at 150)."""
    now = [100.0]
    async with running(appliance, cluster(), reconcile={"resync_seconds": 30}) as bridge:
        cache = bridge.reconciler.adc_cache
        cache.clock = lambda: now[0]
        await bridge.cycle()
        now[0] = 120.0
        changed = await bridge.cycle(cluster(hosts=[*HOSTS, NEW]))
        assert await waited_for(bridge, changed, monkeypatch) == 10.0


async def test_our_share_of_what_is_read_is_worked_out_again_in_each_cycle() -> None:
    """The share is worked out once per cycle (the plan and the metrics both need it), never carried
    over to the next: an appliance may hand back the same state, changed in place."""
    config = settings()
    stale = adc_domain("www.example.com", ("192.0.2.99",), description=owner_of(config).marker)
    state = AdcState.of([stale])
    adc = RecordingAdc(state, frozenset(Kind))
    view = snapshot(nodes=[node("n1", "10.0.0.1")], hosts=["www.example.com"])
    reconciler = Reconciler(config, StaticSource(view), adc, Metrics())
    await reconciler.run_once()
    state.domains.clear()  # gone from the appliance: the next read is the same object, changed
    await reconciler.run_once(resync=True)
    first, second = (
        {(op.action, op.obj.key) for op in given.operations if op.obj.kind is Kind.DOMAIN} for given in adc.plans
    )
    assert first == {(Action.UPDATE, "www.example.com")}
    assert second == {(Action.CREATE, "www.example.com")}


async def test_deferred_deletions_wait_for_the_window_even_when_the_resync_is_due(
    reference: ReferenceAppliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle started at once on an overdue state left deletions for the next cycle: that cycle
    comes at the end of the batch window, with what followed, not at once for the resync."""
    now = [100.0]
    async with running(reference, cluster(), reconcile={"resync_seconds": 30, "batch_window_seconds": 0.2}) as bridge:
        bridge.reconciler.adc_cache.clock = lambda: now[0]
        bridge.reconciler._clock = lambda: now[0]
        await bridge.cycle()
        now[0] = 145.0  # the resync is overdue
        report = await bridge.cycle(cluster(hosts=HOSTS[1:]), at_once=True)
        assert report.deferred == 1
        assert bridge.reconciler.adc_cache.due_in() == 0.0
        assert await waited_for(bridge, report, monkeypatch) == pytest.approx(0.2)


async def test_in_dry_run_nothing_is_kept_as_written(appliance: Emulated) -> None:
    async with running_with(appliance.settings(dry_run=True), cluster()) as bridge:
        first = await bridge.cycle()
        second = await bridge.cycle()
    assert first.plan is not None
    assert second.plan is not None
    assert len(second.plan.operations) == len(first.plan.operations) > 10
    assert await appliance.changes_since(0) == []


# ---------------------------------------------------------------------------- objects read alone


@pytest.fixture
def reference(mock_adc: MockADC, adc: Appliance) -> ReferenceAppliance:
    """The reference dialect, the one that reads objects alone (``Adc.read_objects``)."""
    return ReferenceAppliance(mock_adc, adc)


async def requests(appliance: ReferenceAppliance) -> Counter[str]:
    """Every API request the appliance received so far, by method."""
    return Counter(
        {method: int(count) for method, count in (await appliance.control("GET", "stats"))["requests"].items()}
    )


async def alone(appliance: ReferenceAppliance, bridge: Bridge, view: ClusterSnapshot) -> tuple[Counter[str], Any]:
    """One change cycle to ``view``: the requests it sent by method, and its report; it must not
    have read the whole appliance."""
    cache = bridge.reconciler.adc_cache
    reads, before = cache.reads, await requests(appliance)
    report = await bridge.cycle(view)
    assert cache.reads == reads, "the whole appliance was read"
    return await requests(appliance) - before, report


def planned_on(bridge: Bridge, report: Any, state: AdcState) -> Plan:
    """The plan the cycle of ``report`` makes on ``state`` (a full read's)."""
    current, _ = bridge.reconciler._planned(report.desired, state, at_once=False)
    return current


async def test_a_host_deleted_costs_its_get_its_delete_and_the_save(reference: ReferenceAppliance) -> None:
    async with running(reference, cluster()) as bridge:
        assert (await bridge.cycle()).converged
        seq = await reference.last_seq()
        sent, report = await alone(reference, bridge, cluster(hosts=HOSTS[1:]))
        assert report.converged, report.error
        assert sent == Counter({"GET": 1, "DELETE": 1, "POST": 1})
        assert [(w.action, w.kind, w.name) for w in await reference.writes_since(seq)] == [("delete", "name", HOSTS[0])]
        assert await reference.saves_since(seq) == 1
        assert bridge.reconciler.adc_cache.state == await fresh_read(reference)


async def test_members_updated_and_a_pool_deleted_are_read_alone_the_pool_with_its_members(
    reference: ReferenceAppliance,
) -> None:
    async with running(reference, cluster()) as bridge:
        await bridge.cycle()
        draining = [*NODES[:2], node("node-3", "10.0.0.3", unschedulable=True)]
        sent, report = await alone(reference, bridge, cluster(nodes=draining))
        assert report.converged, report.error
        assert sent == Counter({"GET": 2, "PUT": 2, "POST": 1})  # its member in each pool, disabled
        assert bridge.reconciler.adc_cache.state == await fresh_read(reference)

        one_port = snapshot(service_=service(HTTP), nodes=draining, hosts=tuple(HOSTS))
        await reference.drop_member("k8s-c1-443-tcp", "k8s-c1-node-1:30443")  # gone from the pool read
        sent, report = await alone(reference, bridge, one_port)
        assert report.converged, report.error
        assert sent == Counter({"GET": 2, "DELETE": 2, "POST": 1})  # the virtual server and the pool
        kept = bridge.reconciler.adc_cache.state
        assert kept == await fresh_read(reference)
        assert kept is not None
        assert not [member for member in kept.members.values() if member.pool == "k8s-c1-443-tcp"]


async def test_a_member_is_read_with_its_pool_so_a_pool_taken_by_hand_keeps_its_members(
    reference: ReferenceAppliance,
) -> None:
    """A member is ours because its pool carries our marker: a pool an administrator took over
    between two change cycles (our marker gone) is seen by the cycle that would change a member of
    it, and that member is left alone, as a full read would have it."""
    async with running(reference, cluster()) as bridge:
        await bridge.cycle()
        await reference.adc.ok("PUT", "slb/pool/k8s-c1-443-tcp", {"description": "by hand"})
        seq, full = await reference.last_seq(), await fresh_read(reference)
        draining = [*NODES[:2], node("node-3", "10.0.0.3", unschedulable=True)]
        report = await bridge.cycle(cluster(nodes=draining))
        assert report.plan == planned_on(bridge, report, full)
        writes = await reference.writes_since(seq)
        assert ("update", "member", "k8s-c1-80-tcp/k8s-c1-node-3:30080") in [(w.action, w.kind, w.name) for w in writes]
        assert not [w for w in writes if w.kind == "member" and w.name.startswith("k8s-c1-443-tcp/")]


@asynccontextmanager
async def vip_moved(appliance: ReferenceAppliance, view: ClusterSnapshot) -> AsyncIterator[tuple[Bridge, Bridge]]:
    """Two bridges on one session to the appliance, the second with another VIP and the state the
    first keeps: a VIP is a setting, and the bridge restarts (and reads everything) for a new one,
    so this is how a change cycle comes to update what exists, a domain's addresses."""
    config = appliance.settings()
    async with open_adc(config, Metrics()) as adc:
        first, second = StaticSource(view), StaticSource(view)
        bridge = Bridge(Reconciler(config, first, adc, Metrics()), first, Metrics())
        other = appliance.settings(vip=OTHER_VIP)
        moved = Bridge(Reconciler(other, second, adc, Metrics()), second, Metrics())
        moved.reconciler.adc_cache = bridge.reconciler.adc_cache
        yield bridge, moved


async def test_a_domain_updated_costs_its_get_its_put_and_the_save(reference: ReferenceAppliance) -> None:
    """A host's addresses changed (no Service: the virtual servers are left alone)."""
    names_only = cluster(hosts=[HOSTS[0]], service_=None)
    async with vip_moved(reference, names_only) as (bridge, moved):
        assert (await bridge.cycle()).succeeded
        sent, report = await alone(reference, moved, names_only)
        assert report.succeeded, report.error
        assert report.plan is not None
        assert [(op.action, op.obj.key) for op in report.plan.operations] == [(Action.UPDATE, HOSTS[0])]
        assert sent == Counter({"GET": 1, "PUT": 1, "POST": 1})
        fresh = await fresh_read(reference)
        assert fresh.domains[HOSTS[0]].addresses == ("192.0.2.20",)
        assert moved.reconciler.adc_cache.state == fresh


@pytest.mark.parametrize("change", ["delete", "update"])
async def test_a_name_taken_by_hand_since_the_last_read_is_read_alone_and_left_as_a_full_read_would(
    reference: ReferenceAppliance, change: str
) -> None:
    """Our name deleted and made again, unmarked, by hand between two change cycles: the cycle that
    would delete it (its host gone) or update it (another VIP) reads it alone, sees it is not ours,
    and leaves it (an update becomes a conflict), planning what a full read would."""
    names_only = cluster(service_=None)
    async with vip_moved(reference, names_only) as (bridge, moved):
        await bridge.cycle()
        await reference.take_name(HOSTS[0])
        foreign = (await fresh_read(reference)).domains[HOSTS[0]]
        if change == "delete":
            view, cycling = cluster(hosts=HOSTS[1:], service_=None), bridge
        else:
            view, cycling = names_only, moved
        seq, full = await reference.last_seq(), await fresh_read(reference)
        _, report = await alone(reference, cycling, view)
        assert report.ok, report.error
        assert report.plan == planned_on(cycling, report, full)
        assert not [w for w in await reference.writes_since(seq) if w.name == HOSTS[0]]
        fresh = await fresh_read(reference)
        assert fresh.domains[HOSTS[0]] == foreign
        conflicts = [(c.kind, c.key) for c in report.plan.conflicts]
        assert conflicts == ([(Kind.DOMAIN, HOSTS[0])] if change == "update" else [])
        assert cycling.reconciler.adc_cache.state == fresh


async def test_a_name_deleted_by_hand_before_ours_costs_its_get_only(reference: ReferenceAppliance) -> None:
    async with running(reference, cluster()) as bridge:
        await bridge.cycle()
        await reference.adc.ok("DELETE", f"dns/domain/{HOSTS[0]}")
        seq = await reference.last_seq()
        sent, report = await alone(reference, bridge, cluster(hosts=HOSTS[1:]))
        assert report.converged, report.error
        assert report.plan is not None
        assert report.plan.empty
        assert sent == Counter({"GET": 1})
        assert await reference.changes_since(seq) == []
        assert bridge.reconciler.adc_cache.state == await fresh_read(reference)


# A change cycle that updates or deletes, on the reference dialect: the view it changes to, whether it
# starts at once (its deletions deferred), the settings it runs with, and the objects it reads alone.
DRAINED = [*NODES[:2], node("node-3", "10.0.0.3", ready=False)]  # node-3's members disabled
PLANNED_AS_ON_A_FULL_READ = {
    "host deleted": (cluster(hosts=HOSTS[1:]), False, {}, 1),
    "host deleted, another added": (cluster(hosts=[*HOSTS[1:], NEW]), False, {}, 1),  # what it creates is not read
    "host deleted at once, members drained": (cluster(hosts=HOSTS[1:], nodes=DRAINED), True, {}, 2),
    "hosts deleted past the guard, members drained": (
        cluster(hosts=HOSTS[2:], nodes=DRAINED),
        False,
        {"limits": {"max_deletes": 1}},
        2,
    ),
    "node replaced": (cluster(nodes=[*NODES[:2], node("node-3", "10.0.0.33")]), False, {}, 3),
    "port removed": (snapshot(service_=service(HTTP), nodes=NODES, hosts=tuple(HOSTS)), False, {}, 2),
}


@pytest.mark.parametrize("change", PLANNED_AS_ON_A_FULL_READ)
async def test_a_change_cycle_plans_on_objects_read_alone_what_it_would_on_a_full_read(
    reference: ReferenceAppliance, change: str
) -> None:
    """The mass-deletion guard, deletions deferred by a cycle started at once, a node replaced (its
    members deleted and made again), members drained, a pool deleted with its members: the plan on
    the objects read alone is the plan on a full read, and what is kept after it is what is there."""
    view, at_once, overrides, read_alone = PLANNED_AS_ON_A_FULL_READ[change]
    async with running(reference, cluster(), **overrides) as bridge:
        await bridge.cycle()
        cache = bridge.reconciler.adc_cache
        full, reads = await fresh_read(reference), cache.reads
        bridge.source.view = view
        before = await requests(reference)
        report = await bridge.reconciler.run_once(at_once=at_once)
        assert report.ok, report.error
        assert cache.reads == reads, "the whole appliance was read"
        assert (await requests(reference) - before)["GET"] == read_alone
        assert (report.plan, report.deferred) == bridge.reconciler._planned(report.desired, full, at_once=at_once)
        assert cache.state == await fresh_read(reference)


async def test_an_object_that_cannot_be_read_alone_fails_the_cycle_and_the_next_reads_the_whole_adc(
    reference: ReferenceAppliance,
) -> None:
    """An unknown is not an absence: a read alone that fails writes nothing, and drops what was kept."""
    async with running(reference, cluster(), adc={"operation_deadline": 0.5}) as bridge:
        await bridge.cycle()
        cache = bridge.reconciler.adc_cache
        await reference.faults([{"kind": "reset", "path": "/adc/v3.0/dns/domain/*", "methods": ["GET"]}])
        seq = await reference.last_seq()
        failed = await bridge.cycle(cluster(hosts=HOSTS[1:]))
        assert not failed.ok
        assert await reference.fired()
        assert await reference.changes_since(seq) == []
        assert cache.state is None
        await reference.clear_faults()
        reads = cache.reads
        report = await bridge.cycle()
        assert report.converged, report.error
        assert cache.reads == reads + 1
        assert HOSTS[0] not in (await fresh_read(reference)).domains


@pytest.mark.parametrize("deleted", [READ_ALONE_AT_MOST, READ_ALONE_AT_MOST + 1])
async def test_past_a_few_objects_the_reference_dialect_reads_the_whole_adc_instead(
    reference: ReferenceAppliance, deleted: int
) -> None:
    hosts = [f"h{index:02d}.example.com" for index in range(30)]
    async with running(reference, cluster(hosts=hosts)) as bridge:
        await bridge.cycle()
        cache = bridge.reconciler.adc_cache
        reads, before = cache.reads, await requests(reference)
        report = await bridge.cycle(cluster(hosts=hosts[deleted:]))
        assert report.converged, report.error
        gets = (await requests(reference) - before)["GET"]
        if deleted <= READ_ALONE_AT_MOST:
            assert (cache.reads, gets) == (reads, deleted)
        else:
            assert (cache.reads, gets) == (reads + 1, 4)  # a page of each kind
        assert cache.state == await fresh_read(reference)


class Declining(FailingOver):
    """An appliance that reads no object alone."""

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        return None


async def test_a_dialect_that_reads_no_object_alone_has_the_whole_adc_read(reference: ReferenceAppliance) -> None:
    config = reference.settings()
    async with open_adc(config, Metrics()) as adc:
        source, metrics = StaticSource(cluster()), Metrics()
        bridge = Bridge(Reconciler(config, source, Declining(adc), metrics), source, metrics)
        await bridge.cycle()
        before = await requests(reference)
        report = await bridge.cycle(cluster(hosts=HOSTS[1:]))
        assert report.converged, report.error
        assert bridge.reconciler.adc_cache.reads == 2
        assert (await requests(reference) - before)["GET"] >= 4  # a list of each kind


async def test_a_plan_on_objects_read_alone_that_changes_others_has_the_whole_adc_read(
    reference: ReferenceAppliance,
) -> None:
    """The kept state shows our node disabled (as if by a write of ours), so the change cycle updates
    it; read alone, it has another address (its members dropped and its address changed by hand),
    so the plan on it replaces the node: deletes its members, which were not read. That plan is not
    carried out; the one on a full read is (no member to delete: they are gone)."""
    async with running(reference, cluster()) as bridge:
        await bridge.cycle()
        cache = bridge.reconciler.adc_cache
        assert cache.state is not None
        node3 = cache.state.nodes["k8s-c1-node-3"]
        cache.state = after(cache.state, [Operation(Action.UPDATE, replace(node3, enable=False), ("enable",))])
        for pool, port in (("k8s-c1-80-tcp", 30080), ("k8s-c1-443-tcp", 30443)):
            await reference.drop_member(pool, f"k8s-c1-node-3:{port}")
        await reference.adc.ok("PUT", "slb/node/k8s-c1-node-3", {"ip": "10.0.0.99"})
        seq = await reference.last_seq()
        report = await bridge.cycle()
        assert report.converged, report.error
        assert cache.reads == 2
        written = {(w.action, w.kind, w.name) for w in await reference.writes_since(seq)}
        assert written == {
            ("delete", "node", "k8s-c1-node-3"),
            ("create", "node", "k8s-c1-node-3"),
            ("create", "member", "k8s-c1-80-tcp/k8s-c1-node-3:30080"),
            ("create", "member", "k8s-c1-443-tcp/k8s-c1-node-3:30443"),
        }
        assert cache.state == await fresh_read(reference)


# ---------------------------------------------------------------------------- the pure part


def test_after_puts_creates_and_updates_removes_deletes_and_a_pools_members_with_it() -> None:
    pool, other = adc_pool("p1"), adc_pool("p2")
    members = [adc_member("p1", "n1", 80), adc_member("p1", "n2", 80), adc_member("p2", "n1", 80)]
    objects: list[AdcObject] = [adc_node("n1", "10.0.0.1"), adc_node("n2", "10.0.0.2"), pool, other, *members]
    state, kept = AdcState.of(objects), AdcState.of(objects)
    done = [
        Operation(Action.DELETE, pool),
        Operation(Action.UPDATE, adc_node("n1", "10.0.0.1", enable=False), ("enable",)),
        Operation(Action.CREATE, adc_domain("a.example.com")),
    ]
    new = after(state, done)
    assert set(new.pools) == {"p2"}
    assert set(new.members) == {members[2].key}
    assert new.nodes["n1"].enable is False
    assert set(new.domains) == {"a.example.com"}
    assert state == kept  # the state a cycle planned on is never changed under it


def report(*outcomes: str) -> ApplyReport:
    domains = [adc_domain(f"{index}.example.com") for index in range(len(outcomes))]
    return ApplyReport(
        [OperationResult(Operation(Action.CREATE, d), o) for d, o in zip(domains, outcomes, strict=True)]
    )


@pytest.mark.parametrize(
    ("outcomes", "unit", "kept"),
    [
        (("done", "done"), "a", True),
        (("done", "failed"), "a", False),
        (("failed", "skipped"), "a", False),
        (("done",), "b", False),
    ],
)
def test_a_cycles_writes_are_kept_only_when_all_are_done_on_the_unit_read(
    outcomes: tuple[str, ...], unit: str, kept: bool
) -> None:
    cache = StateCache(60.0, clock=lambda: 0.0)
    cache.read(AdcState(), "a", at=0.0)
    cache.wrote(report(*outcomes), unit)
    assert (cache.current("a") is not None) is kept
    if kept:
        assert cache.current("a") == AdcState.of([adc_domain("0.example.com"), adc_domain("1.example.com")])


def test_the_kept_state_is_due_for_a_read_at_the_resync_period_on_another_unit_and_when_forgotten() -> None:
    now = [100.0]
    cache = StateCache(30.0, clock=lambda: now[0])
    assert cache.current("") is None  # never read
    cache.read(AdcState(), "", at=100.0)
    assert cache.current("") == AdcState()
    assert cache.current("other") is None
    now[0] = 129.9
    assert cache.current("") == AdcState()
    now[0] = 130.0
    assert cache.current("") is None
    cache.read(AdcState(), "", at=130.0)
    cache.forget()
    assert cache.current("") is None


def test_a_change_after_a_quiet_period_may_use_an_overdue_state_but_never_a_dropped_one() -> None:
    now = [100.0]
    cache = StateCache(30.0, clock=lambda: now[0])
    assert cache.current("", overdue_ok=True) is None  # never read
    cache.read(AdcState(), "a", at=100.0)
    now[0] = 200.0
    assert cache.current("a") is None
    assert cache.current("a", overdue_ok=True) == AdcState()
    assert cache.current("b", overdue_ok=True) is None  # read from another unit
    assert cache.due_in() == 0.0
    cache.forget()
    assert cache.current("a", overdue_ok=True) is None


def test_a_quiet_loop_wakes_to_read_one_resync_period_after_the_last_read() -> None:
    now = [100.0]
    cache = StateCache(30.0, clock=lambda: now[0])
    assert cache.due_in() == 30.0  # nothing kept: a whole period (the next cycle reads anyway)
    cache.read(AdcState(), "", at=100.0)
    now[0] = 120.0  # change cycles ran on the kept state since: the resync is still due at 130
    assert cache.due_in() == 10.0
    now[0] = 131.0
    assert cache.due_in() == 0.0
    cache.forget()  # after a failed write: not at once, again and again
    assert cache.due_in() == 30.0


def test_refreshed_puts_what_was_read_drops_what_was_not_found_and_takes_a_pools_members_from_the_read() -> None:
    kept_members = [adc_member("p1", "n1", 80), adc_member("p1", "n2", 80), adc_member("p2", "n1", 80)]
    objects: list[AdcObject] = [
        adc_node("n1", "10.0.0.1"),
        adc_node("n2", "10.0.0.2"),
        adc_pool("p1"),
        adc_pool("p2"),
        *kept_members,
        adc_domain("a.example.com"),
        adc_domain("b.example.com"),
    ]
    state, kept = AdcState.of(objects), AdcState.of(objects)
    read_member = adc_member("p1", "n1", 80, weight=2)
    fresh = AdcState.of(
        [
            adc_node("n1", "10.0.0.1", enable=False),
            adc_pool("p1", method="lc"),
            read_member,
            adc_member("p2", "n1", 80, weight=5),  # not asked for: left out
            adc_domain("c.example.com"),  # not asked for: left out
        ]
    )
    keys = {(Kind.NODE, "n1"), (Kind.NODE, "n9"), (Kind.POOL, "p1"), (Kind.DOMAIN, "a.example.com")}
    new = refreshed(state, fresh, keys)
    assert new.nodes == {"n1": fresh.nodes["n1"], "n2": state.nodes["n2"]}
    assert new.pools == {"p1": fresh.pools["p1"], "p2": state.pools["p2"]}
    assert new.members == {read_member.key: read_member, kept_members[2].key: kept_members[2]}
    assert set(new.domains) == {"b.example.com"}
    assert new.vservers is state.vservers  # a kind not asked for is not copied
    assert state == kept  # the state a cycle planned on is never changed under it


def test_objects_read_alone_are_kept_only_on_the_unit_read_and_make_the_state_no_younger() -> None:
    now = [100.0]
    cache = StateCache(30.0, clock=lambda: now[0])
    domain = adc_domain("a.example.com")
    assert cache.refresh(AdcState.of([domain]), {(Kind.DOMAIN, domain.key)}, "") is None  # nothing kept
    cache.read(AdcState(), "a", at=100.0)
    assert cache.refresh(AdcState.of([domain]), {(Kind.DOMAIN, domain.key)}, "b") is None
    assert cache.state == AdcState()
    now[0] = 120.0
    assert cache.refresh(AdcState.of([domain]), {(Kind.DOMAIN, domain.key)}, "a") == AdcState.of([domain])
    assert cache.current("a") == AdcState.of([domain])
    assert (cache.reads, cache.due_in()) == (1, 10.0)
