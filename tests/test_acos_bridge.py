"""What only an ACOS unit has, on the emulated unit (``mocks/acos``): its sessions, its partition,
one virtual-server per VIP, source NAT, monitors, write memory, and the role of each unit of a pair.

The bridge runs through ``adcbridge.adc.open_adc`` as production opens it; every assertion reads
the unit's own state (``/_mock/state``, ``/_mock/sessions``, ``/_mock/changes``), never what the
bridge says it did. The unit allows few aXAPI sessions: the bridge holds one at most, re-logs in
once when the unit forgets it, logs off when it stops (a process too, on SIGTERM), and never logs
in again with a password the unit refused.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adcbridge.adc import open_adc
from adcbridge.metrics import Metrics
from adcbridge.model import Kind
from mocks.acos import AcosConfig, MockAcos
from tests.acos_fixtures import ACOS_PASSWORD, ACOS_USER, PARTITION, PREPARED, Axapi, bridge_env, trust
from tests.appliances import AcosAppliance
from tests.builders import MARK, VIP4, node, port, service
from tests.live import until
from tests.test_bridge_against_mock import NODES, Bridge, cluster, running_with

DEMO = Path(__file__).parent.parent / "config" / "demo"
OURS = f"k8s-c1-{VIP4}"  # the bridge's virtual-server for VIP4


@pytest.fixture
async def unit(mock_acos: MockAcos, acos: Axapi) -> AcosAppliance:
    """The unit as the operator prepares it: the bridge's partition exists."""
    appliance = AcosAppliance(mock_acos, acos)
    await appliance.prepare()
    return appliance


def running(unit: AcosAppliance, **overrides: Any) -> Any:
    return running_with(unit.settings(**overrides), cluster())


async def sessions(unit: AcosAppliance) -> dict[str, Any]:
    answer: dict[str, Any] = await unit.control("GET", "sessions")
    return answer


async def bridge_sessions(unit: AcosAppliance) -> list[tuple[str, str]]:
    """(user, partition) of each open session but the test's own (which stays in ``shared``)."""
    own = unit.unit.signature
    return [
        (item["user"], item["partition"]) for item in (await sessions(unit))["sessions"] if item["signature"] != own
    ]


async def partition(unit: AcosAppliance, name: str = PARTITION) -> dict[str, list[dict[str, Any]]]:
    objects: dict[str, list[dict[str, Any]]] = (await unit.control("GET", "state"))["objects"][name]
    return objects


async def saves(unit: AcosAppliance) -> int:
    return int((await unit.control("GET", "state"))["writes_to_memory"])


def seed(path: str, wrapper: str, partition_name: str = PARTITION, **body: Any) -> dict[str, Any]:
    return {"method": "POST", "path": f"/axapi/v3/{path}", "body": {wrapper: body}, "partition": partition_name}


# ---------------------------------------------------------------------------- sessions


async def test_one_session_at_most_across_re_logins_and_restarts_each_logged_off(unit: AcosAppliance) -> None:
    before = await sessions(unit)
    for run in range(2):  # the bridge, then the bridge restarted
        async with running(unit) as bridge:
            assert (await bridge.cycle()).converged
            assert await bridge_sessions(unit) == [(ACOS_USER, PARTITION)]
            await unit.expire_sessions()  # the unit forgets every session (a reboot, an idle timeout)
            assert (await sessions(unit))["total"] == 0
            await unit.disable_node("k8s-c1-node-1")  # drift, so that the resync writes
            assert (await bridge.cycle(resync=True)).converged  # one re-login, in our partition
            assert await bridge_sessions(unit) == [(ACOS_USER, PARTITION)]
        assert await bridge_sessions(unit) == []  # logged off when the session closed
        counters = await sessions(unit)
        # each run: the bridge logs in twice and off once (the unit forgot the first session), the
        # administrator who disabled a node once each
        runs = run + 1
        assert (counters["logins"] - before["logins"], counters["logoffs"] - before["logoffs"]) == (3 * runs, 2 * runs)


async def test_a_refused_password_is_tried_once(unit: AcosAppliance) -> None:
    async with running(unit, adc={"password": "wrong-canary"}) as bridge:
        for _ in range(3):
            report = await bridge.cycle()
            assert "wrong username or password" in report.error or "refused these credentials" in report.error
            assert "wrong-canary" not in report.error
    stats = await unit.control("GET", "stats")
    assert stats["failed_logins"] == 1
    assert await unit.changes_since(0) == []


async def test_a_process_logs_off_on_sigterm(unit: AcosAppliance, mock_acos: MockAcos) -> None:
    env = bridge_env(mock_acos, ADCBRIDGE_VIP__ADDRESSES=f'["{VIP4}"]', ADCBRIDGE_SERVER__LISTEN="127.0.0.1:0")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adcbridge", "run", "--snapshot", str(DEMO),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:

        async def converged() -> bool:
            return bool(await unit.changes_since(0)) and not (await unit.control("GET", "state"))["unsaved_partitions"]

        await until(converged, what="the first cycle written and saved", seconds=60)
        assert len(await bridge_sessions(unit)) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0
    counters = await sessions(unit)
    assert (await bridge_sessions(unit), counters["logins"], counters["logoffs"]) == ([], 2, 1)  # the test's own too


async def test_check_describes_the_unit_its_version_and_role(unit: AcosAppliance) -> None:
    async with open_adc(unit.settings(), Metrics()) as adc:
        info = await adc.describe()
        assert (info.version.split(",")[0], info.role, info.unit) == ("5.2.1-p9", "active", "")
        await unit.control("POST", "role", {"role": "standby", "vcs": True})
        assert (await adc.describe()).role == "standby"


# ---------------------------------------------------------------------------- the partition


async def test_a_missing_partition_fails_naming_it_and_leaves_no_session(mock_acos: MockAcos, acos: Axapi) -> None:
    unit = AcosAppliance(mock_acos, acos)  # not prepared: no partition k8s
    async with running(unit) as bridge:
        report = await bridge.cycle()
        assert "partition 'k8s' does not exist on the ACOS unit" in report.error
        assert await bridge_sessions(unit) == []  # the session that could not activate it is logged off
    assert await unit.changes_since(0) == []


async def test_everything_is_in_our_partition_and_the_save_names_it(unit: AcosAppliance) -> None:
    async with running(unit) as bridge:
        assert (await bridge.cycle()).converged
    changes = await unit.changes_since(0)
    assert {change["partition"] for change in changes} == {PARTITION}
    assert [change["kind"] for change in changes if unit.is_save(change)] == ["write/memory"]
    assert (await partition(unit, "shared"))["slb/server"] == []


async def test_shared_when_allowed_is_activated_and_saved_like_any_partition(unit: AcosAppliance) -> None:
    allowed = {"partition": "shared", "allow_default_partition": True}
    async with running(unit, adc=allowed) as bridge:
        assert (await bridge.cycle()).converged
        assert await bridge_sessions(unit) == [(ACOS_USER, "shared")]
    assert {change["partition"] for change in await unit.changes_since(0)} == {"shared"}
    assert len((await partition(unit, "shared"))["slb/virtual-server"]) == 1
    assert (await partition(unit))["slb/server"] == []
    assert not await unit.unsaved()


# ---------------------------------------------------------------------------- write memory


async def test_write_memory_only_after_a_cycle_that_wrote(unit: AcosAppliance) -> None:
    async with running(unit, adc={"operation_deadline": 1.0}) as bridge:
        assert (await bridge.cycle()).converged
        assert await saves(unit) == 1
        assert changes_are_saved_last(await unit.changes_since(0))
        for resync in (False, True):  # a change cycle on the kept state, a resync that reads the unit
            assert (await bridge.cycle(resync=resync)).converged
        assert await saves(unit) == 1  # cycles that wrote nothing saved nothing
        await unit.disable_node("k8s-c1-node-2")
        assert (await bridge.cycle(resync=True)).converged  # drift is read at the resync
        assert await saves(unit) == 2
        assert not await unit.unsaved()
        # a cycle whose one write the unit refuses saves nothing
        await unit.disable_node("k8s-c1-node-2")
        await unit.faults([{"kind": "status", "status": 500, "body": "json", "methods": ["POST"], "retry_after": 0}])
        refused = await bridge.cycle(resync=True)  # every try refused until the operation's deadline
        await unit.clear_faults()
        assert refused.applied is not None
        assert [(result.outcome, result.operation.obj.key) for result in refused.applied.results] == [
            ("failed", "k8s-c1-node-2")
        ]
        assert await saves(unit) == 2
    async with running(unit, dry_run=True) as dry:
        await unit.disable_node("k8s-c1-node-2")
        assert (await dry.cycle()).plan is not None
    assert await saves(unit) == 2  # a dry run writes and saves nothing


def changes_are_saved_last(changes: list[dict[str, Any]]) -> bool:
    return bool(changes[-1]["kind"] == "write/memory") and [c["kind"] for c in changes].count("write/memory") == 1


# ---------------------------------------------------------------------------- one virtual-server per VIP


async def test_one_virtual_server_per_vip_holds_a_port_per_exposed_port_and_goes_with_its_last(
    unit: AcosAppliance,
) -> None:
    async with running(unit) as bridge:
        assert (await bridge.cycle()).converged
        (virtual,) = (await partition(unit))["slb/virtual-server"]
        assert (virtual["name"], virtual["ip-address"], virtual["user-tag"]) == (OURS, VIP4, MARK)
        ports = {(p["port-number"], p["protocol"], p["service-group"], p["user-tag"]) for p in virtual["port-list"]}
        assert ports == {(80, "tcp", "k8s-c1-80-tcp", MARK), (443, "tcp", "k8s-c1-443-tcp", MARK)}
        only_80 = await bridge.cycle(cluster(service_=service(port(80, 30080, name="http"))))
        assert only_80.converged
        (virtual,) = (await partition(unit))["slb/virtual-server"]
        assert [p["port-number"] for p in virtual["port-list"]] == [80]
    moved = unit.settings(vip={"addresses": ["192.0.2.20"]})
    async with running_with(moved, cluster(service_=service(port(80, 30080, name="http")))) as bridge:
        assert (await bridge.cycle()).converged
    virtuals = (await partition(unit))["slb/virtual-server"]
    assert [(v["name"], [p["port-number"] for p in v["port-list"]]) for v in virtuals] == [("k8s-c1-192.0.2.20", [80])]


async def test_a_udp_port_gets_a_udp_service_group_server_ports_and_virtual_port(unit: AcosAppliance) -> None:
    dns = cluster(service_=service(port(53, 30053, name="dns", protocol="UDP")))
    async with running_with(unit.settings(), dns) as bridge:
        assert (await bridge.cycle()).converged
    objects = await partition(unit)
    assert [(g["name"], g["protocol"]) for g in objects["slb/service-group"]] == [("k8s-c1-53-udp", "udp")]
    assert {p["protocol"] for s in objects["slb/server"] for p in s["port-list"]} == {"udp"}
    (virtual,) = objects["slb/virtual-server"]
    assert [(p["port-number"], p["protocol"]) for p in virtual["port-list"]] == [(53, "udp")]


async def test_a_new_exposed_port_adds_its_port_to_each_existing_server_before_the_members(unit: AcosAppliance) -> None:
    async with running_with(unit.settings(), cluster(service_=service(port(80, 30080, name="http")))) as bridge:
        assert (await bridge.cycle()).converged
        seq = await unit.last_seq()
        assert (await bridge.cycle(cluster())).converged  # 443 exposed too
    servers = (await partition(unit))["slb/server"]
    assert {s["name"]: sorted(p["port-number"] for p in s["port-list"]) for s in servers} == {
        f"k8s-c1-node-{index}": [30080, 30443] for index in (1, 2, 3)
    }
    written = [(w.kind, w.action, w.name) for w in await unit.writes_since(seq) if w.ok]
    ports = [("server-port", "create", f"k8s-c1-node-{index}/30443+tcp") for index in (1, 2, 3)]
    members = [("member", "create", f"k8s-c1-443-tcp/k8s-c1-node-{index}+30443") for index in (1, 2, 3)]
    assert (written[0][0], sorted(written[1:7]), written[7][0]) == ("pool", sorted(ports + members), "vserver")
    for made, member in zip(ports, members, strict=True):  # each server's port before the member standing on it
        assert written.index(made) < written.index(member)


async def test_a_members_weight_is_its_server_ports_and_drift_there_is_repaired(unit: AcosAppliance) -> None:
    async with running(unit) as bridge:
        assert (await bridge.cycle()).converged
        await unit._by_hand("POST", "slb/server/k8s-c1-node-1/port/30080+tcp", {"port": {"weight": 5}})
        repaired = await bridge.cycle(resync=True)
        assert repaired.converged
        assert repaired.plan is not None
        assert [(op.action.value, op.obj.key) for op in repaired.plan.operations] == [
            ("update", "k8s-c1-80-tcp/k8s-c1-node-1:30080")
        ]
    (server,) = [item for item in (await partition(unit))["slb/server"] if item["name"] == "k8s-c1-node-1"]
    assert {(port["port-number"], port["weight"]) for port in server["port-list"]} == {(30080, 1), (30443, 1)}


async def test_answers_lost_after_the_unit_acted_settle_as_exists_and_not_found(unit: AcosAppliance) -> None:
    """A create whose answer is lost is sent again and refused as existing: the bridge reads the object,
    finds it ours and as wanted, and is done; a delete whose answer is lost is refused as missing: done."""
    lost = {"kind": "reset", "after_apply": True, "count": 1}
    await unit.faults([lost | {"path": "/axapi/v3/slb/server/", "methods": ["POST"]}])
    async with running(unit, nodes={"drain_grace_seconds": 0}) as bridge:
        made = await bridge.cycle()
        assert made.converged, made.error
        assert await unit.fired() == [1]
        refused = [w for w in await unit.writes_since(0) if not w.ok]
        assert [(w.kind, w.action) for w in refused] == [("node", "create")]  # the second attempt: exists
        await unit.faults([lost | {"path": "/axapi/v3/slb/server/*", "methods": ["DELETE"]}])
        seq = await unit.last_seq()
        shrunk = await bridge.cycle(cluster(nodes=NODES[:2]))
        assert shrunk.converged, shrunk.error
        assert await unit.fired() == [1]
        deletes = [(w.kind, w.name, w.ok) for w in await unit.writes_since(seq) if w.action == "delete"]
        assert ("node", "k8s-c1-node-3", False) in deletes  # the second attempt: not found
    assert set((await unit.summary()).nodes) == {"k8s-c1-node-1", "k8s-c1-node-2"}


# ---------------------------------------------------------------------------- snat and monitors


@pytest.mark.parametrize(
    ("snat", "expected"), [("automap", (1, None)), ("none", (0, None)), ("natpool1", (0, "natpool1"))]
)
async def test_snat_is_the_virtual_ports_auto_or_pool_and_drift_is_repaired(
    unit: AcosAppliance, snat: str, expected: tuple[int, str | None]
) -> None:
    nat = seed(
        "ip/nat/pool/",
        "pool",
        **{"pool-name": "natpool1", "start-address": "192.0.2.200", "end-address": "192.0.2.201"},
    )
    await unit.control("POST", "seed", {"requests": [nat]})
    async with running(unit, adc={"snat": snat}) as bridge:
        assert (await bridge.cycle()).converged
        (virtual,) = (await partition(unit))["slb/virtual-server"]
        assert {(p.get("auto", 0), p.get("pool")) for p in virtual["port-list"]} == {expected}
        other = {"auto": 0, "pool": "natpool1"} if snat != "natpool1" else {"auto": 1, "pool": None}
        await unit._by_hand("POST", f"slb/virtual-server/{OURS}/port/80+tcp", {"port": other})
        repaired = await bridge.cycle(resync=True)
        assert repaired.converged
        assert repaired.plan is not None
        assert [(op.action.value, op.obj.kind) for op in repaired.plan.operations] == [("update", Kind.VSERVER)]
    (virtual,) = (await partition(unit))["slb/virtual-server"]
    assert {(p.get("auto", 0), p.get("pool")) for p in virtual["port-list"]} == {expected}


async def test_the_pools_monitor_is_the_operators_and_a_missing_one_is_reported(unit: AcosAppliance) -> None:
    async with running(unit, pool={"healthcheck": "hm-k8s"}) as bridge:
        missing = await bridge.cycle()
        assert not missing.converged
        assert missing.applied is not None
        errors = [result.error for result in missing.applied.failures if result.operation.obj.kind is Kind.POOL]
        assert len(errors) == 2
        assert all("the unit has no health monitor 'hm-k8s'" in error for error in errors)
        assert (await partition(unit))["slb/service-group"] == []
        monitor = seed("health/monitor/", "monitor", "shared", name="hm-k8s")  # the operator makes it, in shared
        await unit.control("POST", "seed", {"requests": [monitor]})
        assert (await bridge.cycle()).converged
    groups = (await partition(unit))["slb/service-group"]
    assert {group["health-check"] for group in groups} == {"hm-k8s"}
    assert (await partition(unit))["health/monitor"] == []  # the bridge made none


# ---------------------------------------------------------------------------- HA


@asynccontextmanager
async def peer() -> AsyncIterator[tuple[MockAcos, Axapi]]:
    """The other unit of a pair, prepared as the first one."""
    async with (
        MockAcos(AcosConfig(username=ACOS_USER, password=ACOS_PASSWORD)) as mock,
        httpx.AsyncClient(base_url=mock.url, verify=trust(mock), timeout=10) as http,
    ):
        other = Axapi(http)
        await other.control("POST", "seed", {"requests": PREPARED})
        yield mock, other


@asynccontextmanager
async def synced_pair(unit: AcosAppliance, vcs: bool) -> AsyncIterator[tuple[MockAcos, Axapi, Bridge]]:
    """``unit`` active and another unit standby (aVCS or VRRP-A), and a bridge given both that has
    synced the active one: (the other unit's emulator, its aXAPI, the bridge)."""
    async with peer() as (other_mock, other):
        await unit.control("POST", "role", {"role": "active", "vcs": vcs})
        await other.control("POST", "role", {"role": "standby", "vcs": vcs})
        pair = unit.settings(adc={"url": [unit.mock.url, other_mock.url]})
        async with running_with(pair, cluster()) as bridge:
            assert (await bridge.cycle()).converged
            yield other_mock, other, bridge


@pytest.mark.parametrize("vcs", [False, True], ids=["vrrp-a", "avcs"])
async def test_a_standby_unit_gets_no_write_and_a_failover_is_followed(unit: AcosAppliance, vcs: bool) -> None:
    async with synced_pair(unit, vcs) as (other_mock, other, bridge):
        assert bridge_unit(bridge) == unit.mock.url
        assert (await unit.changes_since(0)) != []
        # the failover: the first unit goes standby, the other takes over
        await unit.control("POST", "role", {"role": "standby", "vcs": vcs})
        await other.control("POST", "role", {"role": "active", "vcs": vcs})
        seq = await unit.last_seq()
        report = await bridge.cycle(resync=True)  # the role is read at each full read
        assert report.converged  # the whole configuration made on the new active unit
        assert bridge_unit(bridge) == other_mock.url
        assert await unit.changes_since(seq) == []  # the standby got no write
        assert (await partition(AcosAppliance(other_mock, other)))["slb/server"] != []
        # both standby: no write anywhere, the cycle fails saying so
        await other.control("POST", "role", {"role": "standby", "vcs": vcs})
        other_seq = (await other.control("GET", "changes?since=0"))["total"]
        waiting = await bridge.cycle(cluster(nodes=[]))
        assert "no active ACOS unit" in waiting.error
        assert (await other.control("GET", "changes?since=0"))["total"] == other_seq
        assert await unit.changes_since(seq) == []
        assert len(await bridge_sessions(unit)) + (await other.control("GET", "sessions"))["total"] == 2


@pytest.mark.parametrize("vcs", [False, True], ids=["vrrp-a", "avcs"])
async def test_a_change_cycle_reads_the_role_first_and_writes_nothing_after_a_silent_failover(
    unit: AcosAppliance, vcs: bool
) -> None:
    """A change cycle plans on the state kept since the last read (of the first unit). A failover no
    error showed: the role read before writing finds the other unit active, and the cycle writes
    nothing anywhere (the other unit was not read). The next cycle reads it whole and writes there."""
    async with synced_pair(unit, vcs) as (other_mock, other, bridge):
        await unit.control("POST", "role", {"role": "standby", "vcs": vcs})
        await other.control("POST", "role", {"role": "active", "vcs": vcs})
        seq = await unit.last_seq()
        more = cluster(nodes=[*NODES, node("node-4", "10.0.0.4")])
        refused = await bridge.cycle(more)  # only creates: planned on the kept state, no read
        assert f"the active ACOS unit is now {other_mock.url}" in refused.error
        assert await unit.changes_since(seq) == []
        assert (await other.control("GET", "changes?since=0"))["total"] == 0

        again = await bridge.cycle()
        assert again.converged, again.error
        assert bridge_unit(bridge) == other_mock.url
        assert await unit.changes_since(seq) == []
        assert len((await partition(AcosAppliance(other_mock, other)))["slb/server"]) == 4


def bridge_unit(bridge: Bridge) -> str:
    return bridge.reconciler._adc.active_unit()
