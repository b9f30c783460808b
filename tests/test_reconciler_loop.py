"""The loop itself: woken by changes, resyncing on its own, surviving failing cycles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

from adcbridge.app import readiness
from adcbridge.metrics import Metrics
from adcbridge.server import HealthServer
from mocks.adc import MockADC
from tests.conftest import Appliance
from tests.test_bridge_against_mock import HOSTS, Bridge, cluster, objects, running_bridge

FAST = {"reconcile": {"debounce_seconds": 0.05, "resync_seconds": 0.3, "max_backoff_seconds": 0.2}}


@asynccontextmanager
async def looping(bridge: Bridge) -> AsyncIterator[None]:
    task = asyncio.create_task(bridge.reconciler.run_forever())
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


async def domains(adc: Appliance) -> set[str]:
    return {domain["name"] for domain in (await objects(adc))["objects"].get("dns/domain", [])}


async def test_a_change_wakes_the_loop_and_resync_repairs_drift(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster(), **FAST) as bridge, looping(bridge):
        await eventually(lambda: _has(adc, set(HOSTS)))
        bridge.source.view = cluster(hosts=[*HOSTS, "woken.example.com"])
        bridge.source.changed.set()
        await eventually(lambda: _has(adc, {*HOSTS, "woken.example.com"}))
        await adc.ok("DELETE", "dns/domain/shop.example.com")
        await eventually(lambda: _has(adc, {*HOSTS, "woken.example.com"}))  # nobody told it: the resync did


async def test_failing_cycles_back_off_and_the_loop_recovers(mock_adc: MockADC, adc: Appliance) -> None:
    await adc.control("POST", "faults", {"rules": [{"kind": "status", "status": 500, "retry_after": None}]})
    settings = {**FAST, "adc": {"operation_deadline": 0.2}}
    async with running_bridge(mock_adc, cluster(), **settings) as bridge, looping(bridge):
        await eventually(lambda: _failed_cycles(bridge, 3))
        assert await domains(adc) == set()
        await adc.control("DELETE", "faults")
        await eventually(lambda: _has(adc, set(HOSTS)))


async def test_readiness_follows_the_cycles(mock_adc: MockADC, adc: Appliance) -> None:
    async with running_bridge(mock_adc, cluster(), **FAST) as bridge:
        config = bridge.reconciler._settings
        assert readiness(bridge.reconciler, config) == (False, "no cycle yet")
        server = HealthServer("127.0.0.1:0", Metrics(), lambda: readiness(bridge.reconciler, config))
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                assert (await http.get("/readyz")).status_code == 503
                await bridge.cycle()
                assert (await http.get("/readyz")).text == "ready\n"
                await adc.ok(
                    "POST", "dns/domain", {"name": "taken.example.com", "type": "A", "addresses": ["203.0.113.9"]}
                )
                conflicted = await bridge.cycle(cluster(hosts=[*HOSTS, "taken.example.com"]))
                assert conflicted.plan is not None
                assert conflicted.plan.conflicts
                assert not conflicted.converged
                assert (await http.get("/readyz")).text == "ready\n"  # a standing conflict is reported, not fatal
                await bridge.cycle(cluster(complete=False))
                answer = await http.get("/readyz")
                assert (answer.status_code, answer.text) == (503, "cluster view incomplete\n")
                assert (await http.get("/metrics")).status_code == 200
                assert (await http.get("/")).status_code == 404
        finally:
            await server.stop()


async def _has(adc: Appliance, names: set[str]) -> bool:
    return await domains(adc) == names


async def _failed_cycles(bridge: Bridge, count: int) -> bool:
    return bridge.sample("adcbridge_reconcile_duration_seconds_count", result="failed") >= count
