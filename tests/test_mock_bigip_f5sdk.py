"""The emulated BIG-IP driven by F5's own Python SDK (``f5-sdk`` with ``f5-icontrol-rest``),
the way it drives a real unit: every call succeeds as on a device, and every failure
raises the SDK's own error carrying the device's body.

f5-sdk is synchronous: each scenario runs in a worker thread. Its only noise is the
DeprecationWarning of distutils' LooseVersion, which it calls on every versioned lookup;
that one warning is ignored here and nowhere else. TLS is verified against the unit's own
certificate, so no "insecure request" warning is ever raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from f5.bigip import ManagementRoot
from f5.bigip.contexts import TransactionContextManager
from f5.sdk_exception import TransactionSubmitException
from icontrol.exceptions import iControlUnexpectedHTTPError

from mocks.bigip import MockBigIP
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, PARTITION, Unit, certificate_file

pytestmark = pytest.mark.filterwarnings("ignore:distutils Version classes are deprecated:DeprecationWarning")

Connect = Callable[[], Any]


@pytest.fixture
def connect(mock_bigip: MockBigIP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Connect:
    """A factory of SDK sessions to the unit (Basic auth unless ``token=True``)."""
    certificate = str(certificate_file(mock_bigip, tmp_path))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate)  # requests lets this override verify=
    host, port = mock_bigip.url.removeprefix("https://").rsplit(":", 1)

    def open_session(*, token: bool = False) -> Any:
        return ManagementRoot(host, BIGIP_USER, BIGIP_PASSWORD, port=int(port), token=token, verify=certificate)

    return open_session


@contextmanager
def session(connect: Any, *, token: bool = False) -> Iterator[Any]:
    mgmt = connect(token=token)
    try:
        yield mgmt
    finally:
        mgmt._meta_data["icr_session"].session.close()


def ltm_lifecycle(connect: Any, token: bool) -> dict[str, Any]:
    """Create, read, change and delete LTM objects with the SDK's own calls."""
    seen: dict[str, Any] = {}
    with session(connect, token=token) as mgmt:
        seen["version"] = mgmt.tmos_version
        partitions = mgmt.tm.auth.partitions
        assert not partitions.partition.exists(name=PARTITION)
        partitions.partition.create(name=PARTITION, description="bridge")
        pool = mgmt.tm.ltm.pools.pool.create(
            name="web", partition=PARTITION, monitor="/Common/http", loadBalancingMode="least-connections-member"
        )
        members = pool.members_s.members
        member = members.create(name="10.0.0.1:30080", partition=PARTITION)
        members.create(name="10.0.0.2:30080", partition=PARTITION, ratio=2)
        seen["member_exists"] = (
            members.exists(name="10.0.0.1:30080", partition=PARTITION),
            members.exists(name="10.0.0.9:30080", partition=PARTITION),
        )
        member.modify(session="user-disabled")
        seen["drained"] = member.session
        member.update(state="user-down")
        seen["forced"] = (member.session, member.state)
        loaded = mgmt.tm.ltm.pools.pool.load(name="web", partition=PARTITION)
        loaded.description = "owned by the bridge"
        loaded.update()
        loaded.refresh()
        seen["pool"] = (loaded.description, loaded.loadBalancingMode, loaded.monitor)
        virtual = mgmt.tm.ltm.virtuals.virtual.create(
            name="vs_web",
            partition=PARTITION,
            destination=f"/{PARTITION}/192.0.2.10:443",
            ipProtocol="tcp",
            pool=f"/{PARTITION}/web",
            sourceAddressTranslation={"type": "automap"},
            profiles=[{"name": "/Common/fastL4", "context": "all"}],
        )
        virtual.modify(disabled=True)
        seen["virtual"] = (virtual.destination, getattr(virtual, "disabled", None), virtual.sourceAddressTranslation)
        seen["profiles"] = [profile.fullPath for profile in virtual.profiles_s.get_collection()]
        filtered = mgmt.tm.ltm.pools.get_collection(
            requests_params={"params": f"$filter=partition+eq+{PARTITION}&expandSubcollections=true"}
        )
        seen["pools"] = [(item.fullPath, [m["name"] for m in item.membersReference["items"]]) for item in filtered]
        seen["nodes"] = sorted(node.fullPath for node in mgmt.tm.ltm.nodes.get_collection())
        seen["addresses"] = [address.fullPath for address in mgmt.tm.ltm.virtual_address_s.get_collection()]
    return seen


@pytest.mark.parametrize("token", [False, True], ids=["basic", "token"])
async def test_ltm_objects_through_the_sdk(connect: Connect, bigip: Unit, token: bool) -> None:
    seen = await asyncio.to_thread(ltm_lifecycle, connect, token)
    assert seen["version"] == "17.1.1"
    assert seen["member_exists"] == (True, False)
    assert seen["drained"] == "user-disabled"
    assert seen["forced"] == ("user-disabled", "user-down")
    assert seen["pool"] == ("owned by the bridge", "least-connections-member", "/Common/http ")
    assert seen["virtual"] == (f"/{PARTITION}/192.0.2.10:443", True, {"type": "automap"})
    assert seen["profiles"] == ["/Common/fastL4"]
    assert seen["pools"] == [(f"/{PARTITION}/web", ["10.0.0.1:30080", "10.0.0.2:30080"])]
    assert seen["nodes"] == [f"/{PARTITION}/10.0.0.1", f"/{PARTITION}/10.0.0.2"]
    assert seen["addresses"] == [f"/{PARTITION}/192.0.2.10"]
    state = await bigip.control("GET", "state")
    virtual = state["objects"]["ltm/virtual"][0]
    assert (virtual["fullPath"], virtual["pool"], virtual.get("disabled")) == (
        f"/{PARTITION}/vs_web",
        f"/{PARTITION}/web",
        True,
    )
    tokens = await bigip.control("GET", "tokens")
    assert len(tokens["users"][BIGIP_USER]) == (1 if token else 0)


def deletes(connect: Any) -> tuple[list[bool], list[str]]:
    with session(connect) as mgmt:
        ltm = mgmt.tm.ltm
        pool = ltm.pools.pool.create(name="gone", members=["10.0.0.3:80"])
        virtual = ltm.virtuals.virtual.create(name="vs_gone", destination="192.0.2.3:80", pool="/Common/gone")
        node = ltm.nodes.node.load(name="10.0.0.3", partition="Common")
        for item in (virtual, pool, node):
            item.delete()
        flags = [item.__dict__.get("deleted", False) for item in (virtual, pool, node)]
        collections = (ltm.pools, ltm.virtuals, ltm.nodes, ltm.virtual_address_s)
        return flags, [item.fullPath for collection in collections for item in collection.get_collection()]


async def test_deletes_leave_nothing_and_take_the_virtual_address_along(connect: Connect) -> None:
    flags, left = await asyncio.to_thread(deletes, connect)
    assert flags == [True, True, True]
    assert left == []


def device_errors(connect: Any) -> list[tuple[int, dict[str, Any]]]:
    """Each failure as the SDK raises it: its own exception with the device's answer attached."""
    answers = []
    with session(connect) as mgmt:
        pools = mgmt.tm.ltm.pools
        pools.pool.create(name="p1", members=["10.0.0.1:80"])
        mgmt.tm.ltm.virtuals.virtual.create(name="v1", destination="192.0.2.1:80", pool="/Common/p1")
        attempts: list[Callable[[], Any]] = [
            lambda: pools.pool.create(name="p1"),
            lambda: pools.pool.load(name="missing"),
            lambda: pools.pool.load(name="p1").delete(),
            lambda: pools.pool.create(name="1st-pool"),
            lambda: pools.pool.create(name="p2", partition="nowhere"),
        ]
        for attempt in attempts:
            try:
                attempt()
            except iControlUnexpectedHTTPError as error:
                answers.append((error.response.status_code, error.response.json()))
            else:
                answers.append((200, {}))
        assert not pools.pool.exists(name="missing")
    return answers


async def test_device_errors_reach_the_sdk_as_its_own_exception(connect: Connect) -> None:
    answers = await asyncio.to_thread(device_errors, connect)
    assert [(status, body["message"]) for status, body in answers] == [
        (409, "01020066:3: The requested Pool (/Common/p1) already exists in partition Common."),
        (404, "01020036:3: The requested Pool (/Common/missing) was not found."),
        (
            400,
            "01070265:3: The Pool (/Common/p1) cannot be deleted because it is in use by a Virtual Server "
            "(/Common/v1).",
        ),
        (400, "01070088:3: The requested object name (/Common/1st-pool) is invalid."),
        (400, "The requested folder (/nowhere) was not found."),
    ]


def transactions(connect: Any) -> tuple[list[str], str]:
    with session(connect) as mgmt:
        with TransactionContextManager(mgmt.tm.transactions.transaction) as api:
            api.tm.ltm.nodes.node.create(name="n1", partition="Common", address="10.0.0.1")
            api.tm.ltm.pools.pool.create(name="tx", partition="Common", members=[{"name": "n1:80"}])
        failure = ""
        try:
            with TransactionContextManager(mgmt.tm.transactions.transaction) as api:
                api.tm.ltm.pools.pool.create(name="half", partition="Common")
                api.tm.ltm.pools.pool.create(name="tx", partition="Common")
        except TransactionSubmitException as error:
            failure = str(error)
        pools = [pool.fullPath for pool in mgmt.tm.ltm.pools.get_collection()]
        return pools, failure


async def test_transactions_through_the_sdk_commit_all_or_nothing(connect: Connect) -> None:
    pools, failure = await asyncio.to_thread(transactions, connect)
    assert pools == ["/Common/tx"]
    assert "transaction failed:01020066:3: The requested Pool (/Common/tx) already exists" in failure


def gtm_and_system(connect: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with session(connect) as mgmt:
        gtm = mgmt.tm.gtm
        gtm.datacenters.datacenter.create(name="dc1", partition="Common")
        server = gtm.servers.server.create(
            name="bigip1", partition="Common", datacenter="/Common/dc1", addresses=[{"name": "10.1.0.1"}]
        )
        server.virtual_servers_s.virtual_server.create(name="vs_app", destination="192.0.2.10:443")
        pool = gtm.pools.a_s.a.create(name="pool_app", partition="Common", ttl=45)
        pool.members_s.member.create(name="bigip1:vs_app", partition="Common")
        gtm.wideips.a_s.a.create(
            name="app.example.com", partition="Common", pools=[{"name": "pool_app", "partition": "Common"}]
        )
        seen["wideip"] = gtm.wideips.a_s.a.load(name="app.example.com", partition="Common").pools[0]["name"]
        seen["member"] = pool.members_s.member.load(name="bigip1:vs_app", partition="Common").fullPath
        seen["entry"] = server.virtual_servers_s.virtual_server.load(name="vs_app").destination
        seen["save"] = mgmt.tm.sys.config.exec_cmd("save").command
        status = mgmt.tm.cm.sync_status.load().entries
        seen["sync"] = status["https://localhost/mgmt/tm/cm/sync-status/0"]["nestedStats"]["entries"]["status"][
            "description"
        ]
        failover = mgmt.tm.cm.failover_status.load().entries
        seen["failover"] = failover["https://localhost/mgmt/tm/cm/failover-status/0"]["nestedStats"]["entries"][
            "status"
        ]["description"]
    return seen


async def test_gtm_objects_save_and_ha_status_through_the_sdk(connect: Connect) -> None:
    seen = await asyncio.to_thread(gtm_and_system, connect)
    assert seen == {
        "wideip": "pool_app",
        "member": "/Common/bigip1:vs_app",
        "entry": "192.0.2.10:443",
        "save": "save",
        "sync": "Standalone",
        "failover": "ACTIVE",
    }
