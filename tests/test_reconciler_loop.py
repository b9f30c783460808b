"""The loop itself: woken by changes, batching bursts, resyncing on its own, surviving failing cycles.

Where time matters (the batch window, backoff, readiness going stale, how often a failure is
logged) the reconciler gets a fake clock and sleep: the tests assert on the loop's timing
without waiting it out.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from adcbridge.adc import open_adc
from adcbridge.app import readiness
from adcbridge.metrics import Metrics
from adcbridge.model import Action, AdcDomain, AdcNode, ClusterSnapshot, Operation, Plan
from adcbridge.reconciler import FAILURE_SUMMARY_SECONDS, CycleReport, Reconciler, batch_delay, defer_deletions
from adcbridge.server import HealthServer
from mocks.adc import MockADC
from tests.conftest import Appliance
from tests.live import until
from tests.test_bridge_against_mock import HOSTS, Bridge, bridge_settings, cluster, domains, running_bridge

FAST = {"reconcile": {"batch_window_seconds": 0.05, "resync_seconds": 0.3, "max_backoff_seconds": 0.2}}
ADC_500 = {"rules": [{"kind": "status", "status": 500, "retry_after": None}]}


class FakeTime:
    """A wall clock that moves only when the loop sleeps or the test says so."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self.hold = False  # while set, a sleep lasts until the test sets ``wake``: the test acts meanwhile
        self.sleeping = asyncio.Event()
        self.wake = asyncio.Event()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        ends = self.now + seconds
        if self.hold:
            self.sleeping.set()
            await self.wake.wait()
            self.sleeping.clear()
            self.wake.clear()
        self.now = max(self.now, ends)
        await asyncio.sleep(0)


@asynccontextmanager
async def looping(reconciler: Reconciler) -> AsyncIterator[None]:
    task = asyncio.create_task(reconciler.run_forever())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_a_change_wakes_the_loop_and_resync_repairs_drift(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster(), **FAST) as bridge, looping(bridge.reconciler):
        await eventually(lambda: _has(adc, set(HOSTS)))
        bridge.source.view = cluster(hosts=[*HOSTS, "woken.example.com"])
        bridge.source.changed.set()
        await eventually(lambda: _has(adc, {*HOSTS, "woken.example.com"}))
        await adc.ok("DELETE", "dns/domain/shop.example.com")
        await eventually(lambda: _has(adc, {*HOSTS, "woken.example.com"}))  # nobody told it: the resync did


async def test_failing_cycles_back_off_and_the_loop_recovers(mock_adc: MockADC, adc: Appliance) -> None:
    await adc.control("POST", "faults", ADC_500)
    fake = FakeTime()
    failed_at: list[float] = []

    async def note(report: CycleReport) -> None:
        if not report.ok:
            failed_at.append(report.started_at)

    settings = {"reconcile": {**FAST["reconcile"], "max_backoff_seconds": 20.0}, "adc": {"operation_deadline": 0.2}}
    async with (
        running_bridge(mock_adc, cluster(), clock=fake.time, sleep=fake.sleep, after_cycle=note, **settings) as bridge,
        looping(bridge.reconciler),
    ):
        await eventually(lambda: _failed_cycles(bridge, 6))
        assert await domains(adc) == set()
        await adc.control("DELETE", "faults")
        await eventually(lambda: _has(adc, set(HOSTS)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(failed_at)]
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps[:4])), gaps
    assert gaps[3] >= 4 * gaps[0], gaps  # exponential, not a fixed pause
    assert max(gaps) <= 20.0, gaps  # reconcile.max_backoff_seconds caps it


async def test_readiness_follows_the_cycles(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster(), **FAST) as bridge:
        config = bridge.reconciler._settings
        assert readiness(bridge.reconciler, config) == (False, "no cycle yet")
        server = HealthServer("127.0.0.1:0", Metrics(), lambda: readiness(bridge.reconciler, config))
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                assert (await http.get("/readyz")).status_code == 503
                assert "\nadcbridge_ready 0.0\n" in (await http.get("/metrics")).text
                await bridge.cycle()
                assert (await http.get("/readyz")).text == "ready\n"
                assert "\nadcbridge_ready 1.0\n" in (await http.get("/metrics")).text
                await adc.ok(
                    "POST", "dns/domain", {"name": "taken.example.com", "type": "A", "addresses": ["203.0.113.9"]}
                )
                conflicted = await bridge.cycle(cluster(hosts=[*HOSTS, "taken.example.com"]), resync=True)
                assert conflicted.plan is not None
                assert conflicted.plan.conflicts
                assert not conflicted.converged
                assert (await http.get("/readyz")).text == "ready\n"  # a standing conflict is reported, not fatal
                await bridge.cycle(cluster(complete=False))
                answer = await http.get("/readyz")
                assert (answer.status_code, answer.text) == (503, "cluster view incomplete\n")
                assert "\nadcbridge_ready 0.0\n" in (await http.get("/metrics")).text
                assert (await http.get("/")).status_code == 404
        finally:
            await server.stop()


async def test_readiness_goes_stale_without_a_recent_successful_cycle(mock_adc: MockADC, adc: Appliance) -> None:
    fake = FakeTime()
    groups = {"reconcile": {"resync_seconds": 0.5}, "adc": {"operation_deadline": 0.2}}
    config = bridge_settings(mock_adc, **groups)  # recent: twice the resync period and 30 s, 31 s
    async with running_bridge(mock_adc, cluster(), clock=fake.time, **groups) as bridge:
        assert (await bridge.cycle()).succeeded
        fake.now += 31.0
        assert readiness(bridge.reconciler, config) == (True, "ready")
        fake.now += 0.5
        assert readiness(bridge.reconciler, config) == (False, "no successful cycle in the last 31 s: see the log")
        await adc.control("POST", "faults", ADC_500)
        failed = await bridge.cycle(resync=True)
        ready, reason = readiness(bridge.reconciler, config)
        assert (ready, reason) == (False, f"no successful cycle in the last 31 s: {failed.error}")
        assert "500" in reason
        await adc.control("DELETE", "faults")
        await bridge.cycle()
        assert readiness(bridge.reconciler, config) == (True, "ready")


async def test_a_persistent_failure_is_logged_once_then_summarised_and_its_end_once(
    mock_adc: MockADC, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeTime()
    async with running_bridge(mock_adc, cluster(), clock=fake.time) as bridge:
        caplog.set_level(logging.INFO, logger="adcbridge.reconciler")
        for attempt in range(1, 23):  # every 30 s for 10.5 minutes
            bridge.source.failure = f"API server unreachable (attempt {attempt})"
            assert not (await bridge.cycle()).ok
            fake.now += 30.0
        bridge.source.failure = ""
        assert (await bridge.cycle()).ok
        assert (await bridge.cycle()).ok
        bridge.source.failure = "API server unreachable again"
        await bridge.cycle()
    assert FAILURE_SUMMARY_SECONDS == 300.0
    assert _cycle_lines(caplog) == [
        ("ERROR", "cycle failed: API server unreachable (attempt 1)"),
        (
            "ERROR",
            "cycles still failing after 300 s: 10 more failure(s) since the last report, "
            "the latest: API server unreachable (attempt 11)",
        ),
        (
            "ERROR",
            "cycles still failing after 600 s: 10 more failure(s) since the last report, "
            "the latest: API server unreachable (attempt 21)",
        ),
        ("WARNING", "cycles run again after 22 failed cycle(s) over 660 s"),
        ("ERROR", "cycle failed: API server unreachable again"),
    ]


def _cycle_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """What the reconciler logged about cycles failing and recovering (not the plans it carried out)."""
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "adcbridge.reconciler" and record.getMessage().startswith("cycle")
    ]


async def _has(adc: Appliance, names: set[str]) -> bool:
    return await domains(adc) == names


async def _failed_cycles(bridge: Bridge, count: int) -> bool:
    return bridge.sample("adcbridge_reconcile_duration_seconds_count", result="failed") >= count


# ---------------------------------------------------------------------------- the batch window

WINDOW = 0.2
BATCHING = {"reconcile": {"batch_window_seconds": WINDOW, "resync_seconds": 3600.0}}  # no resync in the way


class WatchedSource:
    """A view changed as the cluster watches change it: a change wakes the loop, each snapshot
    clears it (what changes later wakes the next cycle). Records the fake time of every cycle's
    snapshot; ``during`` runs inside the next snapshot, as a change arriving while a cycle runs."""

    def __init__(self, fake: FakeTime, view: ClusterSnapshot) -> None:
        self.fake = fake
        self.view = view
        self.changed = asyncio.Event()
        self.idle = asyncio.Event()  # the loop waits for a change, none pending
        self.starts: list[float] = []
        self.during: Callable[[], None] | None = None

    async def snapshot(self) -> ClusterSnapshot:
        self.changed.clear()
        self.idle.clear()  # a wait that timed out (the window's end) left it set: this cycle is running
        self.starts.append(self.fake.now)
        view = self.view
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return view

    async def wait_for_change(self) -> None:
        self.idle.set()
        await self.changed.wait()
        self.idle.clear()
        self.changed.clear()

    def change(self, hosts: list[str]) -> None:
        self.view = cluster(hosts=hosts)
        self.changed.set()

    async def settled(self, cycles: int) -> None:
        """Wait until ``cycles`` cycles have run and the loop waits for a change again."""

        async def done() -> bool:
            return len(self.starts) >= cycles and self.idle.is_set()

        await until(done, what=f"{cycles} cycles, then a loop waiting for a change")
        assert len(self.starts) == cycles, self.starts


@asynccontextmanager
async def batching(mock: MockADC, fake: FakeTime, **overrides: Any) -> AsyncIterator[WatchedSource]:
    """A looping reconciler over the mock ADC, on the fake clock; yields its source after the first
    cycle. ``overrides``: more settings groups."""
    config = bridge_settings(mock, **BATCHING, **overrides)
    source = WatchedSource(fake, cluster())
    metrics = Metrics()
    async with open_adc(config, metrics) as adc:
        reconciler = Reconciler(config, source, adc, metrics, clock=fake.time, sleep=fake.sleep)
        async with looping(reconciler):
            await source.settled(1)
            yield source


def test_the_batch_delay_is_none_after_a_quiet_period_else_the_rest_of_the_window() -> None:
    assert batch_delay(now=10.0, last_start=9.0, window=0.2) == 0.0  # quiet: at once
    assert batch_delay(now=10.0, last_start=9.8, window=0.2) == 0.0  # the window just passed
    assert batch_delay(now=10.05, last_start=10.0, window=0.2) == pytest.approx(0.15)  # within it: its end
    assert batch_delay(now=10.5, last_start=10.0, window=0.2) == 0.0  # the cycle outlasted the window
    assert batch_delay(now=5.0, last_start=10.0, window=0.2) == 0.2  # a clock stepped back: one window at most
    assert batch_delay(now=10.0, last_start=10.0, window=0.0) == 0.0  # no window: every change at once


async def test_the_first_change_after_a_quiet_period_starts_a_cycle_at_once(mock_adc: MockADC, adc: Appliance) -> None:
    fake = FakeTime()
    async with batching(mock_adc, fake) as source:
        fake.now += 10.0
        changed_at = fake.now
        source.change([*HOSTS, "now.example.com"])
        await source.settled(2)
        assert source.starts[1] == changed_at
        assert fake.slept == []
        assert await _has(adc, {*HOSTS, "now.example.com"})


@pytest.mark.parametrize(("cycle_seconds", "next_start"), [(0.05, WINDOW), (0.5, 0.5)])
async def test_a_change_during_a_cycle_makes_exactly_one_more_cycle_at_the_window_or_cycle_end(
    mock_adc: MockADC, adc: Appliance, cycle_seconds: float, next_start: float
) -> None:
    fake = FakeTime()
    async with batching(mock_adc, fake) as source:
        fake.now += 10.0
        started = fake.now

        def while_the_cycle_runs() -> None:
            fake.now += cycle_seconds
            source.change([*HOSTS, "first.example.com", "during.example.com"])

        source.during = while_the_cycle_runs
        source.change([*HOSTS, "first.example.com"])
        await source.settled(3)
        assert source.starts[1] == started
        assert source.starts[2] - started == pytest.approx(next_start)
        assert await _has(adc, {*HOSTS, "first.example.com", "during.example.com"})


async def test_changes_within_the_window_share_one_cycle(mock_adc: MockADC, adc: Appliance) -> None:
    fake = FakeTime()
    async with batching(mock_adc, fake) as source:
        fake.now += 10.0
        source.change([*HOSTS, "quiet.example.com"])
        await source.settled(2)
        started = fake.now
        fake.hold = True
        burst = [f"burst-{index}.example.com" for index in range(10)]
        fake.now += 0.01
        source.change([*HOSTS, "quiet.example.com", burst[0]])

        async def waiting_or_cycling() -> bool:
            return fake.sleeping.is_set() or len(source.starts) > 2

        await until(waiting_or_cycling, what="the loop waiting for the window's end")
        assert fake.sleeping.is_set(), f"a cycle started before the window ended: {source.starts}"
        for index in range(1, len(burst)):
            fake.now += 0.01
            source.change([*HOSTS, "quiet.example.com", *burst[: index + 1]])
            await asyncio.sleep(0)
        fake.wake.set()
        await source.settled(3)
        assert source.starts[2] - started == pytest.approx(WINDOW)
        assert await _has(adc, {*HOSTS, "quiet.example.com", *burst})


def test_deferring_takes_out_the_deletions_and_keeps_the_rest_of_the_plan() -> None:
    def domain(name: str) -> Operation:
        return Operation(Action.CREATE, AdcDomain(name, "A", ("192.0.2.10",)))

    creates = (domain("a.example.com"), domain("b.example.com"))
    delete = Operation(Action.DELETE, AdcDomain("gone.example.com", "A", ("192.0.2.10",)))
    kept, deferred = defer_deletions(Plan(operations=(creates[0], delete, creates[1]), hold_reason="kept"))
    assert (kept.operations, kept.hold_reason, deferred) == (creates, "kept", 1)
    assert defer_deletions(Plan(operations=creates)) == (Plan(operations=creates), 0)


def test_a_replaced_nodes_deletions_are_not_deferred() -> None:
    """A node whose address changed is replaced in one cycle: deferring its deletions would leave
    the create of the node it replaces to fail on the old one."""
    old, new = AdcNode("node-2", "10.0.0.2"), AdcNode("node-2", "10.0.0.22")
    replace_ops = (
        Operation(Action.DELETE, old, replacing=True),
        Operation(Action.CREATE, new, needs=("node:node-2",), replacing=True),
    )
    gone = Operation(Action.DELETE, AdcNode("node-9", "10.0.0.9"))
    kept, deferred = defer_deletions(Plan(operations=(*replace_ops, gone)))
    assert (kept.operations, deferred) == (replace_ops, 1)


async def test_deletions_seen_by_a_cycle_started_at_once_wait_for_the_next_cycle(
    mock_adc: MockADC, adc: Appliance
) -> None:
    """A host removed after a quiet period: the cycle that starts at once writes nothing (its one
    operation is a deletion), and the cycle the window's end brings, with no further change, deletes it."""
    fake = FakeTime()
    async with batching(mock_adc, fake) as source:
        fake.now += 10.0
        source.change(HOSTS[1:])
        await source.settled(3)
        assert await _has(adc, set(HOSTS[1:]))


async def test_a_deletion_burst_after_a_quiet_period_is_judged_whole_by_the_guard(
    mock_adc: MockADC, adc: Appliance
) -> None:
    """The first deletion starts a cycle at once, the others arrive while it runs: none is made
    before one cycle sees them all, and four are over ``limits.max_deletes`` 3, so all are held back."""
    hosts = [f"h{index}.example.com" for index in range(6)]
    fake = FakeTime()
    async with batching(mock_adc, fake, limits={"max_deletes": 3}) as source:
        source.change(hosts)
        await source.settled(2)
        fake.now += 10.0
        source.during = lambda: source.change(hosts[4:])  # three more deletions while the first cycle runs
        source.change(hosts[1:])
        await source.settled(4)  # the one at once (its deletion deferred), then the one after the window
        assert await _has(adc, set(hosts))  # not even the first deletion was made


async def test_wait_idle_returns_only_when_no_cycle_runs(mock_adc: MockADC, adc: Appliance) -> None:
    """What runs beside the loop (the resolution check) waits here before each query."""
    async with running_bridge(mock_adc, cluster()) as bridge:
        held, entered = asyncio.Event(), asyncio.Event()
        snapshot = bridge.source.snapshot

        async def slow_snapshot() -> ClusterSnapshot:
            entered.set()
            await held.wait()
            return await snapshot()

        bridge.source.snapshot = slow_snapshot  # type: ignore[method-assign]
        await bridge.reconciler.wait_idle()  # no cycle runs: at once
        cycle = asyncio.create_task(bridge.reconciler.run_once())
        await entered.wait()
        waiter = asyncio.create_task(bridge.reconciler.wait_idle())
        await asyncio.sleep(0)
        assert not waiter.done()  # a cycle runs
        held.set()
        await cycle
        await asyncio.wait_for(waiter, 5)
