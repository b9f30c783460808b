"""The emulated BIG-IP about itself and its harness: saving the configuration, HA status
and config-sync (a standby accepts writes), and the mock controls — faults with PATCH,
the change log, counters, seeding, reset."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from mocks.bigip import BigIPConfig, MockBigIP, controls
from mocks.bigip.errors import F5Error
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, Unit, trust

POOLS = "/mgmt/tm/ltm/pool"
FAILOVER = "https://localhost/mgmt/tm/cm/failover-status/0"
SYNC = "https://localhost/mgmt/tm/cm/sync-status/0"


async def failover_status(bigip: Unit) -> str:
    answer = await bigip.ok("GET", "/mgmt/tm/cm/failover-status")
    assert answer["kind"] == "tm:cm:failover-status:failover-statusstats"
    status: str = answer["entries"][FAILOVER]["nestedStats"]["entries"]["status"]["description"]
    return status


async def sync_status(bigip: Unit) -> str:
    answer = await bigip.ok("GET", "/mgmt/tm/cm/sync-status")
    assert answer["kind"] == "tm:cm:sync-status:sync-statusstats"
    status: str = answer["entries"][SYNC]["nestedStats"]["entries"]["status"]["description"]
    return status


async def test_a_standalone_unit_is_active_and_standalone(bigip: Unit) -> None:
    assert await failover_status(bigip) == "ACTIVE"
    assert await sync_status(bigip) == "Standalone"


async def test_a_standby_accepts_writes_and_leaves_changes_pending(bigip: Unit) -> None:
    await bigip.control("POST", "role", {"role": "standby", "device_group": "dg1"})
    assert await failover_status(bigip) == "STANDBY"
    assert await sync_status(bigip) == "In Sync"
    await bigip.ok("POST", POOLS, {"name": "written-on-standby"})
    assert await sync_status(bigip) == "Changes Pending"
    changes = (await bigip.control("GET", "changes"))["changes"]
    assert [(item["method"], item["name"], item["status"]) for item in changes] == [("POST", "written-on-standby", 200)]


async def test_a_standby_is_always_in_a_device_group(bigip: Unit) -> None:
    described = await bigip.control("POST", "role", {"role": "standby"})
    assert described["device_group"] == "failover-group"
    await bigip.ok("POST", POOLS, {"name": "p1"})
    assert await sync_status(bigip) == "Changes Pending"


async def test_config_sync_to_the_group_clears_changes_pending(bigip: Unit) -> None:
    await bigip.control("POST", "role", {"role": "active", "device_group": "dg1"})
    await bigip.ok("POST", POOLS, {"name": "p1"})
    assert await sync_status(bigip) == "Changes Pending"
    await bigip.fails(
        "POST", "/mgmt/tm/cm", {"command": "run", "utilCmdArgs": "config-sync to-group other"}, status=400
    )
    ran = await bigip.ok("POST", "/mgmt/tm/cm", {"command": "run", "utilCmdArgs": "config-sync to-group dg1"})
    assert ran["utilCmdArgs"] == "config-sync to-group dg1"
    assert await sync_status(bigip) == "In Sync"


async def test_save_answers_as_a_unit_does_and_persists_across_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "bigip.json"
    config = BigIPConfig(username=BIGIP_USER, password=BIGIP_PASSWORD, state_file=state_file)
    async with MockBigIP(config) as mock, client(mock) as http:
        bigip = Unit(http)
        await bigip.ok("POST", POOLS, {"name": "saved", "members": ["10.0.0.1:80"]})
        saved = await bigip.ok("POST", "/mgmt/tm/sys/config", {"command": "save"})
        assert saved == {"kind": "tm:sys:config:savestate", "command": "save"}
        await bigip.ok("POST", POOLS, {"name": "unsaved"})
        assert (await bigip.control("GET", "state"))["unsaved_changes"] is True
    async with MockBigIP(config) as mock, client(mock) as http:
        bigip = Unit(http)
        listed = await bigip.ok("GET", f"{POOLS}?expandSubcollections=true")
        assert [item["name"] for item in listed["items"]] == ["saved"]
        assert [item["name"] for item in listed["items"][0]["membersReference"]["items"]] == ["10.0.0.1:80"]
        await bigip.ok("POST", POOLS, {"name": "after-restart"})  # indexes came back with the objects
        await bigip.fails("DELETE", "/mgmt/tm/ltm/node/~Common~10.0.0.1", status=400)


def client(mock: MockBigIP) -> httpx.AsyncClient:
    auth = httpx.BasicAuth(BIGIP_USER, BIGIP_PASSWORD)
    return httpx.AsyncClient(base_url=mock.url, verify=trust(mock), auth=auth, timeout=10)


async def test_faults_match_patch_and_answer_in_f5_shapes(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "p1"})
    rules = [
        {"kind": "status", "status": 503, "methods": ["PATCH"], "path": "/mgmt/tm/ltm/pool/*", "count": 1},
        {"kind": "busy", "methods": ["POST"], "count": 1},
    ]
    await bigip.control("POST", "faults", {"rules": rules})
    unavailable = await bigip.fails("PATCH", f"{POOLS}/p1", {"description": "x"}, status=503)
    assert unavailable["message"] == "injected fault: HTTP 503"
    busy = await bigip.fails("POST", POOLS, {"name": "p2"}, status=500)
    assert (busy["message"], busy["apiError"]) == ("The connection to mcpd has been lost, try again.", 32768001)
    await bigip.ok("PATCH", f"{POOLS}/p1", {"description": "x"})
    fired = (await bigip.control("GET", "faults"))["rules"]
    assert [rule["fired"] for rule in fired] == [1, 1]
    assert [change["name"] for change in (await bigip.control("GET", "changes"))["changes"]] == ["p1", "p1"]


async def test_a_reset_connection_fault(bigip: Unit) -> None:
    await bigip.control("POST", "faults", {"rules": [{"kind": "reset", "methods": ["GET"], "count": 1}]})
    try:
        await bigip.call("GET", POOLS)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the connection was not reset")
    await bigip.ok("GET", POOLS)


async def test_an_invalid_fault_rule_is_refused_whole(bigip: Unit) -> None:
    response = await bigip.http.post("/_mock/faults", json={"rules": [{"kind": "status", "methods": ["TRACE"]}]})
    assert response.status_code == 400
    assert (await bigip.control("GET", "faults"))["rules"] == []


async def test_stats_count_requests_per_method_and_path(bigip: Unit) -> None:
    await bigip.ok("GET", POOLS)
    await bigip.ok("GET", POOLS + "/")
    await bigip.ok("POST", POOLS, {"name": "p1"})
    stats = await bigip.control("GET", "stats")
    assert stats["requests"] == {"GET": 2, "POST": 1}
    assert stats["paths"] == {"GET /mgmt/tm/ltm/pool": 2, "POST /mgmt/tm/ltm/pool": 1}


async def test_seed_writes_as_an_administrator_outside_the_log(bigip: Unit) -> None:
    requests = [
        {"method": "POST", "path": "/mgmt/tm/ltm/node", "body": {"name": "admin-node", "address": "10.9.0.1"}},
        {"method": "POST", "path": "/mgmt/tm/gtm/datacenter", "body": {"name": "dc1"}},
    ]
    seeded = await bigip.control("POST", "seed", {"requests": requests})
    assert seeded["applied"] == 2
    assert (await bigip.control("GET", "changes"))["changes"] == []
    assert (await bigip.control("GET", "stats"))["total"] == 0
    state = await bigip.control("GET", "state")
    assert [item["fullPath"] for item in state["objects"]["ltm/node"]] == ["/Common/admin-node"]
    assert state["sync_status"] == "Standalone"


async def test_reset_returns_to_a_freshly_set_up_unit(bigip: Unit) -> None:
    await bigip.partition()
    await bigip.ok("POST", POOLS, {"name": "p1", "partition": "k8s"})
    await bigip.control("POST", "role", {"role": "standby"})
    await bigip.control("POST", "reset")
    state = await bigip.control("GET", "state")
    assert state["role"] == "active"
    assert [item["name"] for item in state["objects"]["auth/partition"]] == ["Common"]
    assert all(items == [] for table, items in state["objects"].items() if table != "auth/partition")
    assert (await bigip.control("GET", "changes"))["changes"] == []


async def _passed(_: web.Request) -> web.StreamResponse:
    return web.Response(text="passed")


@pytest.mark.parametrize(
    ("address", "allowed"), [("127.0.0.1", True), ("::1", True), ("203.0.113.5", False), ("10.0.0.1", False)]
)
async def test_mock_controls_answer_loopback_peers_only(address: str, allowed: bool) -> None:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (address, 40000) if name == "peername" else default
    )
    request = make_mocked_request("POST", "/_mock/reset", headers={"X-Forwarded-For": "127.0.0.1"}, transport=transport)
    if allowed:
        assert isinstance(await controls.loopback_only(request, _passed), web.Response)
        return
    with pytest.raises(F5Error) as refused:
        await controls.loopback_only(request, _passed)
    assert refused.value.status == 403
    api_request = make_mocked_request("GET", "/mgmt/tm/sys", transport=transport)
    assert isinstance(await controls.loopback_only(api_request, _passed), web.Response)
