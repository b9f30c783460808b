"""Malformed BIG-IP answers to the bigip driver: observing keeps exactly the good items, a list that
cannot be read fails the observation with one of our errors, and the loop runs on.

The HTTP level (malformed, huge and generated answers, login refusals) is shared with the
reference dialect and tested for both wires in ``tests/test_hostile_adc.py``. Here, what differs:
the LTM lists. Hypothesis draws lists mixing good and garbage items written as a unit writes them
(``tests/bigip_items.py``, expectations built there, not by the parser); the lists are served page
by page, ``$top``/``$skip``, with faults a unit or a proxy in front of it may add (``items`` that is
no list, an answer that is no collection, paging parameters ignored). The loop runs the real
driver and reconciler against the BIG-IP emulator with faults (truncated answers, HTML 502 pages,
connection resets, a PATCH reset after it applied) and against a transport answering garbage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adcbridge.adc.bigip import BIGIP_WIRE, BigipDriver
from adcbridge.adc.bigip.units import Units
from adcbridge.errors import AdcBridgeError, AdcProtocolError
from adcbridge.metrics import Metrics
from adcbridge.model import AdcState
from adcbridge.reconciler import Reconciler
from mocks.bigip import MockBigIP
from tests.adc_items import Item
from tests.bigip_bridge import bigip_settings, native, running
from tests.bigip_fixtures import PARTITION, Unit
from tests.bigip_items import COLLECTIONS, UNIT_LISTS
from tests.builders import OWNER, node
from tests.builders import settings as make_settings
from tests.test_bridge_against_mock import StaticSource, cluster
from tests.test_hostile_adc import BIGIP, HYPOTHESIS, URL, assert_ours, client_for, no_backoff

PAGE = 3
ENOUGH = 100  # pages of one list: far more than any drawn list needs
PAGE_FAULTS = st.sampled_from(
    [
        {"items": "many"},  # ``items`` that is no list
        {"items": {"item-0": {}}},
        {"items": None},
        {"answer": ["not", "a", "collection"]},
        {"ignore_skip": True},  # the first page again and again: never an end
    ]
)


def unit_lists(lists: dict[str, list[Any]], fault: tuple[str, dict[str, Any]] | None) -> httpx.MockTransport:
    """Our partition and each LTM collection, served page by page as a unit does, ``fault`` spoiling one."""

    asked: dict[str, int] = {}

    def collection(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        asked[name] = asked.get(name, 0) + 1
        if asked[name] > ENOUGH:  # a client that never stops paging: ends the test, as a refusal
            return httpx.Response(418, json={"code": 418, "message": f"{ENOUGH} pages of {name}"})
        items, spoil = lists[name], (fault[1] if fault is not None and fault[0] == name else {})
        top, skip = int(request.url.params["$top"]), int(request.url.params["$skip"])
        if spoil.get("ignore_skip"):
            skip = 0
        answer: Any = {"kind": f"tm:ltm:{name}:{name}collectionstate", "selfLink": f"https://localhost/{name}"}
        page = items[skip : skip + top]
        if page:  # a unit leaves ``items`` out of an empty collection
            answer["items"] = page
        if "items" in spoil:
            answer["items"] = spoil["items"]
        return httpx.Response(200, json=spoil.get("answer", answer))

    def answer(request: httpx.Request) -> httpx.Response:
        if BIGIP.session_call(request):
            return httpx.Response(200, json=BIGIP.ok_login)
        if (status := active(request)) is not None:
            return status
        if request.url.path == f"/mgmt/tm/auth/partition/{PARTITION}":
            return httpx.Response(200, json={"kind": "tm:auth:partition:partitionstate", "name": PARTITION})
        return collection(request)

    return httpx.MockTransport(answer)


ACTIVE = {
    "entries": {
        "https://localhost/mgmt/tm/cm/failover-status/0": {
            "nestedStats": {"entries": {"status": {"description": "ACTIVE"}}}
        }
    }
}


def active(request: httpx.Request) -> httpx.Response | None:
    """The failover status the dialect reads before its calls: this unit is the active one."""
    return httpx.Response(200, json=ACTIVE) if request.url.path == "/mgmt/tm/cm/failover-status" else None


def driver_for(client: Any) -> BigipDriver:
    units = Units({URL: client}, timeout=1.0)
    return BigipDriver(
        units, OWNER, partition=PARTITION, page_size=PAGE, concurrency=2, save_config=False, batch_size=100
    )


def lists_of(node: Any = None, pool: Any = None, virtual: Any = None) -> dict[str, list[Item]]:
    """One garbage item in each collection named."""
    wires = dict(zip(COLLECTIONS, (node, pool, virtual), strict=True))
    return {name: [] if wire is None else [Item(wire, ())] for name, wire in wires.items()}


UNREADABLE_MEMBERS = {  # a pool whose member list is garbage, and a good pool beside it
    "node": [],
    "pool": [
        Item({"fullPath": "/k8s/bad", "membersReference": {"items": "garbage"}}, ()),
        Item({"fullPath": "/k8s/ok", "membersReference": {"items": [{"fullPath": "/k8s/n0:80", "ratio": True}]}}, ()),
    ],
    "virtual": [],
}


@HYPOTHESIS
@given(lists=UNIT_LISTS, fault=st.none() | st.tuples(st.sampled_from(COLLECTIONS), PAGE_FAULTS))
@example(lists=UNREADABLE_MEMBERS, fault=None)
@example(lists=lists_of(node={"fullPath": "/k8s/n", "address": "2001:db8::1%2"}), fault=None)  # route domain 2
@example(
    lists=lists_of(pool={"fullPath": "/k8s/p", "membersReference": {"items": [{"fullPath": "/k8s/n:65536"}]}}),
    fault=None,
)
@example(lists=lists_of(pool={"fullPath": "/k8s/p", "membersReference": []}), fault=None)
@example(lists=lists_of(virtual={"fullPath": "/k8s/v", "destination": "/k8s/192.0.2.1:65536"}), fault=None)
async def test_observing_garbage_lists_keeps_the_good_items_and_only_them(
    lists: dict[str, list[Item]], fault: tuple[str, dict[str, Any]] | None
) -> None:
    wires = {collection: [item.wire for item in items] for collection, items in lists.items()}
    expected = AdcState.of([obj for items in lists.values() for item in items for obj in item.objects])
    spoiled = fault is not None and (not fault[1].get("ignore_skip") or len(wires[fault[0]]) >= PAGE)
    with no_backoff():
        async with client_for(unit_lists(wires, fault), deadline=0.02, wire=BIGIP_WIRE) as client:
            if spoiled:  # a list that cannot be read fails the whole observation
                with pytest.raises(AdcProtocolError) as caught:
                    await driver_for(client).observe()
                assert_ours(caught.value)
                return
            state = await driver_for(client).observe()
    assert state == expected


async def test_a_unit_that_ignores_top_still_gives_every_item_once() -> None:
    """A page longer than ``$top`` is the rest of the collection, whether ``$skip`` was honoured or not."""
    nodes = [{"fullPath": f"/k8s/n{index}", "address": f"10.0.0.{index}"} for index in range(PAGE * 3)]

    def answer(request: httpx.Request) -> httpx.Response:
        if BIGIP.session_call(request):
            return httpx.Response(200, json=BIGIP.ok_login)
        if (status := active(request)) is not None:
            return status
        name = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"items": nodes} if name == "node" else {"name": PARTITION})

    async with client_for(httpx.MockTransport(answer), wire=BIGIP_WIRE) as client:
        state = await driver_for(client).observe()
    assert sorted(state.nodes) == sorted(f"n{index}" for index in range(PAGE * 3))


# ---------------------------------------------------------------------------- the loop survives

FAULTS: list[dict[str, Any]] = [
    {"kind": "truncate", "path": "/mgmt/tm/ltm/*", "methods": ["GET"]},
    {"kind": "status", "status": 502, "body": "html", "retry_after": None},
    {"kind": "reset", "methods": ["GET"]},
    {"kind": "reset", "methods": ["POST"], "path": "/mgmt/tm/ltm/virtual", "after_apply": True},
]


@pytest.fixture
async def unit(bigip: Unit) -> Unit:
    await bigip.partition()
    return bigip


@pytest.mark.parametrize("rule", FAULTS, ids=lambda rule: f"{rule['kind']}-{rule.get('status', '')}")
async def test_a_failing_unit_fails_the_cycle_and_the_next_one_converges(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path, rule: dict[str, Any]
) -> None:
    await unit.control("POST", "faults", {"rules": [rule]})
    config = bigip_settings(mock_bigip, tmp_path, adc={"operation_deadline": 0.3})
    async with running(config) as bridge:
        failed = await bridge.cycle()
        assert not failed.converged
        assert failed.error or (failed.applied is not None and failed.applied.failures)
        assert "internal error" not in failed.error
        assert_ours(AdcBridgeError(failed.error))
        await unit.control("DELETE", "faults")
        assert (await bridge.cycle()).converged
    virtuals = list((await native(unit, PARTITION))["ltm/virtual"].values())
    assert len(virtuals) == len({(vs["destination"], vs["ipProtocol"]) for vs in virtuals}) > 0


async def test_a_patch_reset_after_it_applied_is_repaired_by_the_next_cycle(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    nodes = [node("node-1", "10.0.0.1"), node("node-2", "10.0.0.2")]
    config = bigip_settings(mock_bigip, tmp_path, adc={"operation_deadline": 0.3})
    async with running(config, cluster(nodes=nodes)) as bridge:
        assert (await bridge.cycle()).converged
        rule = {"kind": "reset", "methods": ["PATCH"], "path": "/mgmt/tm/ltm/*", "after_apply": True}
        await unit.control("POST", "faults", {"rules": [rule]})
        nodes[1] = node("node-2", "10.0.0.2", ready=False)  # its members are drained: PATCHes
        failed = await bridge.cycle(cluster(nodes=nodes))
        assert not failed.converged
        assert failed.applied is not None
        assert failed.applied.failures
        for failure in failed.applied.failures:
            assert_ours(AdcBridgeError(str(failure)))
        assert (await unit.control("GET", "faults"))["rules"][0]["fired"] > 0
        await unit.control("DELETE", "faults")
        assert (await bridge.cycle()).converged
        again = await bridge.cycle()
    assert again.converged
    assert again.plan is not None
    assert again.plan.empty  # nothing left to write


async def test_the_loop_keeps_running_while_the_unit_answers_garbage() -> None:
    answers: list[Callable[[httpx.Request], httpx.Response]] = [
        lambda _: httpx.Response(200, content=b"<html>Configuration Utility restarting...</html>"),
        lambda _: httpx.Response(200, json={"kind": "tm:ltm:node:nodecollectionstate", "items": "many"}),
        lambda _: httpx.Response(200, json=None),
        lambda _: httpx.Response(
            404, json={"code": 404, "message": "01020036:3: The requested partition was not found"}
        ),
    ]
    current = [0]
    config = make_settings(
        adc={"dialect": "bigip", "url": URL, "partition": PARTITION, "operation_deadline": 0.05},
        dns={"targets": [], "verify": False},
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return active(request) or answers[current[0]](request)

    async with client_for(BIGIP.answering(answer), wire=BIGIP_WIRE) as client:
        metrics = Metrics()
        reconciler = Reconciler(config, StaticSource(cluster()), driver_for(client), metrics)
        for index in range(len(answers)):
            current[0] = index
            report = await reconciler.run_once()
            assert report.error
            assert "internal error" not in report.error, report.error
            assert_ours(AdcBridgeError(report.error))
    assert metrics.registry.get_sample_value("adcbridge_reconcile_duration_seconds_count", {"result": "failed"}) == 4
