"""The emulated A10 Thunder driven by A10's own Python client (``acos-client`` 2.10.0), the
way it drives a real unit: every call that works on a device works here, and every failure
raises the client's own error class, mapped from the unit's ``err.code``.

The scenarios follow A10's acceptance script (``acos_client/tests/t.py``, run by A10 against
real units): create → get → a duplicate create raises Exists → an update of a missing
object raises NotFound → a second delete is silent → get raises NotFound.

acos-client is synchronous: each scenario runs in a worker thread. It retries connection
errors and busy or not-ready answers for 300 s, so these tests never make the unit busy or
unreachable. It always sends ``verify=False`` and, unlike A10's script, does not silence
urllib3's InsecureRequestWarning: that one warning is ignored here and nowhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import acos_client
import httpx
import pytest
from acos_client import errors as acos_errors

from mocks.acos import MockAcos
from tests.acos_fixtures import ACOS_PASSWORD, ACOS_USER, Axapi, trust

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

Connect = Callable[..., Any]


@pytest.fixture
def connect(mock_acos: MockAcos) -> Connect:
    """A factory of acos-client clients to the unit (HTTPS, its self-signed certificate)."""
    host, port = mock_acos.url.removeprefix("https://").rsplit(":", 1)

    def client(password: str = ACOS_PASSWORD) -> Any:
        # The fifth positional argument is max_retries: port and protocol go by keyword.
        return acos_client.Client(host, acos_client.AXAPI_30, ACOS_USER, password, port=int(port), protocol="https")

    return client


def acceptance(c: Any) -> list[str]:
    """t.py's sequence for servers, service groups, virtual servers, virtual ports, health
    monitors and members; returns what each step saw."""
    seen: list[str] = []

    def expect(error: type[Exception], call: Callable[[], Any], what: str) -> None:
        with pytest.raises(error):
            call()
        seen.append(what)

    slb = c.slb
    slb.server.delete("foobar")  # nothing to delete: silent
    slb.server.create("foobar", "192.168.2.254")
    assert slb.server.get("foobar")["server"]["host"] == "192.168.2.254"
    expect(acos_errors.Exists, lambda: slb.server.create("foobar", "192.168.2.254"), "server exists")
    slb.server.delete("foobar")
    slb.server.delete("foobar")
    expect(acos_errors.NotFound, lambda: slb.server.get("foobar"), "server gone")
    slb.server.create("foobar", "192.168.2.254")

    group = slb.service_group
    group.create("pfoobar", group.TCP, group.ROUND_ROBIN)
    assert group.get("pfoobar")["service-group"]["lb-method"] == "round-robin"
    expect(acos_errors.Exists, lambda: group.create("pfoobar", group.TCP, group.ROUND_ROBIN), "group exists")
    group.update("pfoobar", group.TCP, group.LEAST_CONNECTION)
    shown = group.get("pfoobar")["service-group"]
    assert (shown["lc-method"], "lb-method" in shown) == ("least-connection", False)
    expect(acos_errors.NotFound, lambda: group.update("pnfoobar", group.TCP, group.LEAST_CONNECTION), "no group")
    group.delete("pfoobar")
    group.delete("pfoobar")
    expect(acos_errors.NotFound, lambda: group.get("pfoobar"), "group gone")
    group.create("pfoobar", group.TCP, group.ROUND_ROBIN)

    virtual = slb.virtual_server
    virtual.delete("vfoobar")
    virtual.create("vfoobar", "192.168.2.250")
    assert virtual.get("vfoobar")["virtual-server"]["ip-address"] == "192.168.2.250"
    assert [item["name"] for item in virtual.all()["virtual-server-list"]] == ["vfoobar"]
    expect(acos_errors.Exists, lambda: virtual.create("vfoobar", "192.168.2.250"), "virtual server exists")
    assert virtual.oper("vfoobar")["virtual-server"]["oper"]["state"] == "Up"
    virtual.delete("vfoobar")
    virtual.delete("vfoobar")
    expect(acos_errors.NotFound, lambda: virtual.get("vfoobar"), "virtual server gone")

    vport = virtual.vport
    virtual.create("vip3", "192.168.2.248")
    vport.delete("vip3", "vip3_VPORT", vport.HTTP, 80)
    vport.create("vip3", "vip3_VPORT", vport.HTTP, "80", "pfoobar")
    assert vport.get("vip3", "vip3_VPORT", vport.HTTP, 80)["port"]["service-group"] == "pfoobar"
    expect(acos_errors.Exists, lambda: vport.create("vip3", "vip3_VPORT", vport.HTTP, "80", "pfoobar"), "vport exists")
    expect(acos_errors.NotFound, lambda: vport.update("vip3", "nope", vport.HTTP, 81, "pfoobar"), "no vport")
    vport.delete("vip3", "vip3_VPORT", vport.HTTP, 80)
    vport.delete("vip3", "vip3_VPORT", vport.HTTP, 80)
    expect(acos_errors.NotFound, lambda: vport.get("vip3", "vip3_VPORT", vport.HTTP, 80), "vport gone")

    hm = slb.hm
    hm.delete("hnfoobar")
    hm.create("hfoobar", hm.HTTP, 5, 5, 5, "GET", "/", "200", 80)
    assert hm.get("hfoobar")["monitor"]["method"]["http"]["url-path"] == "/"
    expect(acos_errors.Exists, lambda: hm.create("hfoobar", hm.HTTP, 5, 5, 5, "GET", "/", "200", 80), "hm exists")
    hm.update("hfoobar", hm.HTTP, 10, 10, 10, "GET", "/", "200", 80)
    assert hm.get("hfoobar")["monitor"]["interval"] == 10
    expect(acos_errors.NotFound, lambda: hm.update("hnfoobar", hm.HTTP, 10, 10, 10, "GET", "/", "200", 80), "no hm")
    hm.delete("hfoobar")
    hm.delete("hfoobar")
    expect(acos_errors.NotFound, lambda: hm.get("hfoobar"), "hm gone")

    member = group.member
    member.delete("pfoobar", "foobar", 80)
    member.create("pfoobar", "foobar", 80)
    expect(acos_errors.Exists, lambda: member.create("pfoobar", "foobar", 80), "member exists")
    assert member.get_oper("pfoobar", "foobar", 80)["member"]["oper"]["state"] == "Up"
    member.update("pfoobar", "foobar", 80, member_state=False)
    assert member.get("pfoobar", "foobar", 80)["member"]["member-state"] == "disable"
    expect(acos_errors.NotFound, lambda: member.update("pfoobar", "nfoobar", 80), "no member")
    expect(acos_errors.NotFound, lambda: member.update("pnfoobar", "foobar", 80), "no member's group")
    member.delete("pfoobar", "foobar", 80)
    member.delete("pfoobar", "foobar", 80)
    expect(acos_errors.NotFound, lambda: member.get("pfoobar", "foobar", 80), "member gone")
    return seen


async def test_a10_acceptance_sequence(connect: Connect, mock_acos: MockAcos) -> None:
    seen = await asyncio.to_thread(lambda: acceptance(connect()))
    assert seen == [
        "server exists", "server gone", "group exists", "no group", "group gone", "virtual server exists",
        "virtual server gone", "vport exists", "no vport", "vport gone", "hm exists", "no hm", "hm gone",
        "member exists", "no member", "no member's group", "member gone",
    ]  # fmt: skip
    names = {item["name"] for item in mock_acos.state.change_list(0) if item["status"] == 200}
    assert {"foobar", "pfoobar", "pfoobar/foobar+80", "vip3/80+http", "hfoobar"} <= names


def sessions(connect: Connect) -> dict[str, Any]:
    """t.py's session steps: a refused password, a good close, closes without and with a bad id."""
    seen: dict[str, Any] = {}
    with pytest.raises(acos_errors.AuthenticationFailure):
        connect(password="badpass").system.information()
    c = connect()
    seen["information"] = c.system.information()["system"]
    c.session.close()
    seen["closed"] = c.session.session_id
    c.session.close()  # no session: nothing sent
    c.session.session_id = "bad_session_id"
    with pytest.raises(acos_errors.InvalidSessionID):
        c.session.close()
    return seen


async def test_sessions_open_and_close_as_on_a_unit(connect: Connect, mock_acos: MockAcos) -> None:
    seen = await asyncio.to_thread(sessions, connect)
    assert seen == {
        "information": {"hostname": "thunder1", "version": "5.2.1-p9", "partition-count": 0},
        "closed": None,
    }
    counters = mock_acos.state.sessions
    assert (counters.logins, counters.logoffs, counters.failed_logins, len(counters.open)) == (1, 1, 1, 0)


def partitions(c: Any) -> dict[str, Any]:
    partition = c.system.partition
    seen: dict[str, Any] = {"exists before": partition.exists("p1"), "shared exists": partition.exists("shared")}
    with pytest.raises(acos_errors.NotFound):
        partition.active("p1")
    partition.create("p1")
    with pytest.raises(acos_errors.Exists):
        partition.create("p1")
    seen["p1"] = partition.get("p1")
    partition.active("p1")
    c.slb.server.create("s1", "10.0.0.1")
    partition.active("shared")
    seen["shared servers"] = c.slb.server.exists("s1")
    partition.active("p1")
    seen["p1 servers"] = [item["name"] for item in c.slb.server.get_all()["server-list"]]
    c.system.action.write_memory()
    return seen


async def test_partitions_and_write_memory(connect: Connect, mock_acos: MockAcos) -> None:
    seen = await asyncio.to_thread(lambda: partitions(connect()))
    assert seen == {
        "exists before": False,
        "shared exists": True,
        "p1": {"partition-name": "p1", "partition-id": 1, "application-type": "adc"},
        "shared servers": False,
        "p1 servers": ["s1"],
    }
    state = mock_acos.state
    assert state.writes_to_memory == 1
    assert [record["fields"]["name"] for record in state.saved["p1"]["objects"]["slb/server"]] == ["s1"]


def servers_and_ports(c: Any) -> dict[str, Any]:
    server = c.slb.server
    seen: dict[str, Any] = {}
    server.create("web1", "10.0.0.1", port_list=[{"port-number": 80, "protocol": "tcp"}])
    server.create("web6", "2001:db8::1", status=0, conn_limit=400)
    server.port.create("web1", 443, "tcp", weight=2)
    server.port.update("web1", 443, "tcp", weight=7, action="disable")
    seen["ports"] = [(p["port-number"], p["weight"], p["action"]) for p in server.get("web1")["server"]["port-list"]]
    with pytest.raises(acos_errors.Exists):
        server.port.create("web1", 443, "tcp")
    server.port.delete("web1", 443, "tcp")
    server.port.delete("web1", 443, "tcp")
    six = server.get("web6")["server"]
    seen["web6"] = (six["server-ipv6-addr"], six["action"], six["conn-limit"])
    server.update("web6", "2001:db8::1", status=1)
    seen["enabled"] = server.get("web6")["server"]["action"]
    server.replace("web1", "10.0.0.1")
    seen["after replace"] = "port-list" in server.get("web1")["server"]
    with pytest.raises(acos_errors.NotFound):
        server.update("web9", "10.0.0.9")
    seen["all"] = sorted(item["name"] for item in server.get_all()["server-list"])
    return seen


async def test_servers_and_their_ports(connect: Connect) -> None:
    seen = await asyncio.to_thread(lambda: servers_and_ports(connect()))
    assert seen == {
        "ports": [(80, 1, "enable"), (443, 7, "disable")],
        "web6": ("2001:db8::1", "disable", 400),
        "enabled": "enable",
        "after replace": False,  # PUT replaces: the port list it did not send is gone
        "all": ["web1", "web6"],
    }


def groups_and_virtual_servers(c: Any) -> dict[str, Any]:
    slb, seen = c.slb, {}
    for index in (1, 2):
        slb.server.create(f"node{index}", f"10.0.0.{index}")
    slb.hm.create("http-check", slb.hm.HTTP, 5, 5, 3, "GET", "/healthz", "200", 80)
    group = slb.service_group
    members = [{"name": "node1", "port": 30080}]
    group.create("web-80", group.TCP, group.ROUND_ROBIN, mem_list=members, hm_name="http-check")
    group.member.create("web-80", "node2", 30080, member_state=False)
    shown = group.get("web-80")["service-group"]
    seen["members"] = [(m["name"], m["port"], m["member-state"]) for m in shown["member-list"]]
    seen["monitor"] = shown["health-check"]
    group.member.replace("web-80", "node2", 30080)
    seen["replaced member"] = group.member.get("web-80", "node2", 30080)["member"]["member-state"]
    seen["group oper"] = [m["oper"]["state"] for m in group.oper("web-80")["service-group"]["member-list"]]
    seen["all groups"] = [item["name"] for item in group.all()["service-group-list"]]
    group.update("web-80", hm_delete=True)
    seen["monitor after detach"] = "health-check" in group.get("web-80")["service-group"]
    virtual = slb.virtual_server
    virtual.create("vip-a", "192.0.2.10", description="owned")
    virtual.vport.create("vip-a", "vip-a_80", virtual.vport.TCP, 80, "web-80", autosnat=True)
    virtual.vport.create("vip-a", "vip-a_443", virtual.vport.TCP, 443, "web-80", source_nat_pool="snat-pool")
    virtual.vport.update("vip-a", "vip-a_80", virtual.vport.TCP, 80, "web-80", autosnat=False)
    ports = virtual.vport.all("vip-a")["port-list"]
    seen["vports"] = [(p["port-number"], p["service-group"], p["auto"], p.get("pool")) for p in ports]
    with pytest.raises(acos_errors.InUse):
        group.delete("web-80")
    virtual.vport.replace("vip-a", "vip-a_443", virtual.vport.TCP, 443, "web-80")
    seen["pool after replace"] = "pool" in virtual.vport.get("vip-a", "vip-a_443", virtual.vport.TCP, 443)["port"]
    seen["description"] = virtual.get("vip-a")["virtual-server"]["description"]
    virtual.delete("vip-a")
    group.delete("web-80")
    slb.server.delete("node1")
    return seen


async def test_service_groups_members_virtual_servers_and_virtual_ports(connect: Connect, acos: Axapi) -> None:
    pool = {"pool": {"pool-name": "snat-pool", "start-address": "10.9.0.1", "end-address": "10.9.0.9"}}
    await acos.control(
        "POST", "seed", {"requests": [{"method": "POST", "path": "/axapi/v3/ip/nat/pool", "body": pool}]}
    )
    seen = await asyncio.to_thread(lambda: groups_and_virtual_servers(connect()))
    assert seen == {
        "members": [("node1", 30080, "enable"), ("node2", 30080, "disable")],
        "monitor": "http-check",
        "replaced member": "enable",
        "group oper": ["Up", "Up"],
        "all groups": ["web-80"],
        "monitor after detach": False,
        "vports": [(80, "web-80", 0, None), (443, "web-80", 0, "snat-pool")],
        "pool after replace": False,
        "description": "owned",
    }


def relogin(c: Any, end_sessions: Callable[[], None]) -> list[str]:
    names = []
    c.slb.server.create("s1", "10.0.0.1")
    first = c.session.session_id
    end_sessions()  # the unit forgets the session (a reboot, an idle timeout)
    names.append(c.slb.server.get("s1")["server"]["name"])
    names.append("new session" if c.session.session_id != first else "same session")
    return names


async def test_the_client_logs_in_again_when_its_session_ends(connect: Connect, mock_acos: MockAcos) -> None:
    def end_sessions() -> None:
        response = httpx.post(f"{mock_acos.url}/_mock/sessions/end", verify=trust(mock_acos))
        assert response.json() == {"ended": 1}

    assert await asyncio.to_thread(lambda: relogin(connect(), end_sessions)) == ["s1", "new session"]
    assert len(mock_acos.state.sessions.open) == 1


def partition_lifecycle(c: Any) -> dict[str, Any]:
    partition = c.system.partition
    partition.create("p2")
    seen: dict[str, Any] = {
        "listed": [p["partition-name"] for p in partition.all()["partition-all"]["oper"]["partition-list"]]
    }
    partition.delete("p2")
    seen["after delete"] = partition.exists("p2")
    seen["next id"] = partition.available()["partition-available-id"]["oper"]["range-list"][0]["start"]
    return seen


async def test_partitions_are_deleted_the_way_acos_client_deletes_them(connect: Connect) -> None:
    seen = await asyncio.to_thread(lambda: partition_lifecycle(connect()))
    assert seen == {"listed": ["p2"], "after delete": False, "next id": 1}
