"""The bigip dialect's writes in iControl REST transactions, against the emulated unit.

What the unit saw is read from its own records: ``/_mock/changes`` (each write with the
``transId`` of the transaction that committed it, or none for a direct write, and whether a failed
commit rolled it back) and ``/_mock/stats`` (every request it received). A cold sync costs about
one command request per object and two requests (open, commit) per batch of ``adc.batch_size``
operations, a batch never mixes dependency levels, a batch of one is a direct write, a batch the
unit refuses is retried one operation at a time so that the others land and only the bad one is
reported, a commit whose answer was lost converges without duplicates, and a unit that does not
answer fails the batch as one instead of being sent each operation alone.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adcbridge.adc import open_adc
from adcbridge.adc.applying import ApplyReport
from adcbridge.adc.bigip import BIGIP_WIRE, BigipDriver
from adcbridge.adc.bigip.batching import COORDINATION
from adcbridge.adc.bigip.units import Units
from adcbridge.adc.client import AdcClient, Credentials
from adcbridge.adc.contract import Adc, AdcInfo
from adcbridge.config import Settings
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics
from adcbridge.model import Action, AdcState, Kind, Operation, Plan
from adcbridge.reconciler import Reconciler
from mocks.bigip import MockBigIP
from tests.bigip_bridge import ADMIN_SEED, bigip_settings, members, native, running
from tests.bigip_fixtures import PARTITION, Unit
from tests.builders import adc_node, node, settings
from tests.test_bridge_against_mock import Bridge, StaticSource, cluster

TEN_NODES = [node(f"node-{index}", f"10.0.0.{index}") for index in range(1, 11)]
# The plan of a cold sync of ``cluster(nodes=TEN_NODES)``, level by level: nodes, pools, members, virtuals.
LEVELS = (10, 2, 20, 2)
TRANSACTION_URI = "/mgmt/tm/transaction"


@pytest.fixture
async def unit(bigip: Unit) -> Unit:
    """The unit with the bridge's partition, and an administrator's objects in Common."""
    await bigip.partition()
    await bigip.control("POST", "seed", {"requests": ADMIN_SEED})
    return bigip


def expected_batches(size: int) -> tuple[int, int]:
    """(transactions, direct writes) when each level is cut into batches of ``size``; a batch of one is direct."""
    transactions = direct = 0
    for count in LEVELS:
        full, rest = divmod(count, size)
        if size == 1:
            direct += count
            continue
        transactions += full + (rest > 1)
        direct += rest == 1
    return transactions, direct


async def stats(unit: Unit) -> dict[str, Any]:
    answer: dict[str, Any] = await unit.control("GET", "stats")
    return answer


def commits(paths: Counter[str]) -> int:
    return sum(count for path, count in paths.items() if path.startswith(f"PATCH {TRANSACTION_URI}/"))


def ltm_writes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [change for change in changes if change["kind"].startswith("ltm/") and not change["rolled_back"]]


@pytest.mark.parametrize("size", [1, 3, 100])
async def test_a_cold_sync_goes_in_transactions_of_batch_size_one_level_at_a_time(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path, size: int
) -> None:
    config = bigip_settings(mock_bigip, tmp_path, adc={"batch_size": size})
    before = Counter((await stats(unit))["paths"])
    async with running(config, cluster(nodes=TEN_NODES)) as bridge:
        report = await bridge.cycle()
    assert report.converged, report.error or report.applied
    transactions, direct = expected_batches(size)
    objects = sum(LEVELS)

    paths = Counter((await stats(unit))["paths"]) - before
    assert paths[f"POST {TRANSACTION_URI}"] == transactions
    assert commits(paths) == transactions
    writes = [path for path in paths.elements() if path.split()[0] != "GET" and "/mgmt/shared/" not in path]
    assert len(writes) == objects + 2 * transactions + 1  # + the save (sessions aside)
    assert paths["POST /mgmt/tm/sys/config"] == 1

    changes = ltm_writes((await unit.control("GET", "changes"))["changes"])
    assert len(changes) == objects
    assert all(change["status"] == 200 for change in changes)
    assert sum(change["transaction"] is None for change in changes) == direct
    by_transaction = Counter(change["transaction"] for change in changes if change["transaction"] is not None)
    assert len(by_transaction) == transactions
    assert all(1 < count <= size for count in by_transaction.values())
    for trans_id in by_transaction:  # a transaction never spans dependency levels
        assert len({change["kind"] for change in changes if change["transaction"] == trans_id}) == 1
    assert [change["kind"] for change in changes] == sorted(
        (change["kind"] for change in changes), key=["ltm/node", "ltm/pool", "ltm/pool/members", "ltm/virtual"].index
    )


# The failover status of an active unit, as ``GET /mgmt/tm/cm/failover-status`` answers it.
ACTIVE = {"entries": {"status": {"nestedStats": {"entries": {"status": {"description": "ACTIVE"}}}}}}


class RaceBeforeApply:
    """The bridge's ADC, with someone else's writes landing between its observation and its apply."""

    def __init__(self, adc: Adc, race: Callable[[], Awaitable[None]]) -> None:
        self.kinds = adc.kinds
        self._adc = adc
        self._race = race

    async def observe(self) -> AdcState:
        return await self._adc.observe()

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        return await self._adc.read_objects(keys)

    async def apply(self, plan: Plan) -> ApplyReport:
        await self._race()
        return await self._adc.apply(plan)

    async def connect(self, *, within: float) -> None:
        await self._adc.connect(within=within)

    async def describe(self) -> AdcInfo:
        return await self._adc.describe()

    def active_unit(self) -> str:
        return self._adc.active_unit()


@asynccontextmanager
async def racing(config: Settings, race: Callable[[], Awaitable[None]], view: Any = None) -> AsyncIterator[Bridge]:
    source = StaticSource(cluster() if view is None else view)
    metrics = Metrics()
    async with open_adc(config, metrics) as adc:
        yield Bridge(Reconciler(config, source, RaceBeforeApply(adc, race), metrics), source, metrics)


def seeding(unit: Unit, *requests: dict[str, Any]) -> Callable[[], Awaitable[None]]:
    async def seed() -> None:
        await unit.control("POST", "seed", {"requests": list(requests)})

    return seed


async def test_a_batch_with_one_bad_operation_applies_the_others_and_reports_the_bad_one(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    # After the bridge looked, another partition takes node-2's address: its create is refused.
    tenant = {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": "tenant"}}
    theirs = {"name": "theirs-2", "partition": "tenant", "address": "10.0.0.2"}
    race = seeding(unit, tenant, {"method": "POST", "path": "/mgmt/tm/ltm/node", "body": theirs})
    async with racing(bigip_settings(mock_bigip, tmp_path), race) as bridge:
        report = await bridge.cycle()
    assert report.applied is not None
    outcomes = {(result.operation.obj.kind, result.outcome) for result in report.applied.failures}
    assert outcomes == {(Kind.NODE, "failed"), (Kind.MEMBER, "skipped")}
    (failure,) = [result for result in report.applied.failures if result.outcome == "failed"]
    assert failure.operation.obj.key.endswith("node-2")
    assert "HTTP 409" in failure.error
    assert len(report.applied.failures) == 3  # the bad node and its two members, nothing else

    ours = await native(unit, PARTITION)
    assert sorted(item["address"] for item in ours["ltm/node"].values()) == ["10.0.0.1", "10.0.0.3"]
    assert sum(len(members(pool)) for pool in ours["ltm/pool"].values()) == 4
    assert len(ours["ltm/virtual"]) == 2
    nodes = [change for change in (await unit.control("GET", "changes"))["changes"] if change["kind"] == "ltm/node"]
    rolled_back = [change for change in nodes if change["rolled_back"]]
    assert rolled_back  # the refused commit
    assert all(change["transaction"] is not None for change in rolled_back)
    alone = sorted((change["status"], change["transaction"]) for change in nodes if not change["rolled_back"])
    assert alone == [(200, None), (200, None), (409, None)]  # then each alone


async def test_the_races_a_direct_write_settles_are_settled_when_a_batch_meets_them(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    three = cluster(nodes=[node(f"node-{index}", f"10.0.0.{index}") for index in (1, 2, 3)])
    async with running(bigip_settings(mock_bigip, tmp_path), three) as bridge:
        assert (await bridge.cycle()).converged
    ours = await native(unit, PARTITION)
    pool_name = sorted(ours["ltm/pool"])[0]
    gone = [path for path in members(ours["ltm/pool"][pool_name]) if "node-3" in path]
    pool_uri = f"/mgmt/tm/ltm/pool/~{PARTITION}~{pool_name}"

    async def race() -> None:  # someone deletes one of the members the plan deletes
        await unit.ok("DELETE", f"{pool_uri}/members/{gone[0].replace('/', '~')}")

    two = cluster(nodes=[node(f"node-{index}", f"10.0.0.{index}") for index in (1, 2)])
    config = bigip_settings(mock_bigip, tmp_path, nodes={"drain_grace_seconds": 0})
    async with racing(config, race, two) as bridge:
        report = await bridge.cycle()
        assert report.applied is not None
        assert report.applied.failures == []
        assert report.converged
        assert (await bridge.cycle()).plan.empty  # type: ignore[union-attr]
    after = await native(unit, PARTITION)
    assert sorted(item["address"] for item in after["ltm/node"].values()) == ["10.0.0.1", "10.0.0.2"]


async def test_a_lost_commit_answer_converges_without_duplicates(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    lost = {"kind": "reset", "path": f"{TRANSACTION_URI}/*", "methods": ["PATCH"], "after_apply": True, "count": 1}
    await unit.control("POST", "faults", {"rules": [lost]})
    async with running(bigip_settings(mock_bigip, tmp_path)) as bridge:
        first = await bridge.cycle()
        assert (await unit.control("GET", "faults"))["rules"][0]["fired"] == 1
        assert first.applied is not None
        assert first.applied.failures == []
        again = await bridge.cycle()
    assert again.plan is not None
    assert again.plan.empty
    ours = await native(unit, PARTITION)
    assert sorted(item["address"] for item in ours["ltm/node"].values()) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert len(ours["ltm/pool"]) == 2
    assert len(ours["ltm/virtual"]) == 2
    everything = (await unit.control("GET", "state"))["objects"]["ltm/node"]
    assert len([item for item in everything if item["address"].startswith("10.0.0.")]) == 3
    writes = ltm_writes((await unit.control("GET", "changes"))["changes"])
    created = [change for change in writes if change["kind"] == "ltm/node" and change["status"] == 200]
    assert len(created) == 3  # committed once; the retries found them in place


async def test_a_unit_that_does_not_answer_fails_the_batch_as_one(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    down = {"kind": "status", "status": 503, "path": f"{TRANSACTION_URI}/*", "methods": ["PATCH"]}
    await unit.control("POST", "faults", {"rules": [down]})
    config = bigip_settings(mock_bigip, tmp_path, adc={"operation_deadline": 0.3})
    async with running(config) as bridge:
        report = await bridge.cycle()
    assert report.applied is not None
    outcomes = Counter((result.operation.obj.kind, result.outcome) for result in report.applied.results)
    assert outcomes == {
        (Kind.NODE, "failed"): 3,
        (Kind.POOL, "failed"): 2,
        (Kind.MEMBER, "skipped"): 6,
        (Kind.VSERVER, "skipped"): 2,
    }
    assert all("HTTP 503" in result.error for result in report.applied.failures if result.outcome == "failed")
    paths = (await stats(unit))["paths"]
    assert paths["POST /mgmt/tm/ltm/node"] == 3  # queued once each, never sent again one by one
    assert ltm_writes((await unit.control("GET", "changes"))["changes"]) == []
    assert (await native(unit, PARTITION))["ltm/node"] == {}


@pytest.mark.parametrize(
    ("opened", "committed", "queued_writes"),
    [
        ({"transId": 7, "state": "STARTED"}, {"state": "FAILED", "failureReason": "mcpd said no"}, 2),
        ({"transId": 7, "state": "STARTED"}, {"kind": "tm:transactionstate"}, 2),  # no state at all
        ({"state": "STARTED"}, None, 0),  # no transId: nothing is queued
    ],
    ids=["commit FAILED", "commit without a state", "opened without a transId"],
)
async def test_a_transaction_that_does_not_say_completed_is_sent_again_one_operation_at_a_time(
    opened: dict[str, Any], committed: dict[str, Any] | None, queued_writes: int
) -> None:
    direct: list[str] = []
    queued: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/mgmt/shared/authn/login":
            return httpx.Response(200, json={"token": {"token": "t0k3n"}})
        if path == "/mgmt/tm/transaction":
            return httpx.Response(200, json=opened)
        if path.startswith("/mgmt/tm/transaction/"):
            return httpx.Response(200, json=committed)
        if path == "/mgmt/tm/cm/failover-status":  # read before writing
            return httpx.Response(200, json=ACTIVE)
        if request.method == "POST" and path == "/mgmt/tm/ltm/node":
            name = json.loads(request.content)["name"]
            (queued if COORDINATION in request.headers else direct).append(name)
        return httpx.Response(200, json={})

    config = settings(adc={"dialect": "bigip", "url": "https://bigip.test", "partition": PARTITION})
    client = AdcClient(
        config.adc, lambda: Credentials("u", "p"), wire=BIGIP_WIRE, transport=httpx.MockTransport(answer)
    )
    async with client:
        unit = Units({"https://bigip.test": client}, timeout=2.0)
        driver = BigipDriver(
            unit, owner_of(config), partition=PARTITION, page_size=10, concurrency=2, save_config=False, batch_size=10
        )
        nodes = [adc_node(f"k8s-c1-node-{index}", f"10.0.0.{index}") for index in (1, 2)]
        report = await driver.apply(Plan(tuple(Operation(Action.CREATE, item) for item in nodes)))
    assert [result.outcome for result in report.results] == ["done", "done"]
    assert sorted(direct) == ["k8s-c1-node-1", "k8s-c1-node-2"]
    assert len(queued) == queued_writes
