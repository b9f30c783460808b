"""The emulated A10 Thunder's levers over plain HTTP: the session limit and idle timeout, the
HA role and what a standby answers, the password, injected faults, seeding and reset — the
behaviour acos-client cannot show without hanging on its 300-second retries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mocks.acos import MockAcos
from mocks.acos import errors as codes
from tests.acos_fixtures import ACOS_PASSWORD, ACOS_USER, Axapi

SERVERS = "/axapi/v3/slb/server"


def server(name: str = "s1", host: str = "10.0.0.1") -> dict[str, Any]:
    return {"server": {"name": name, "host": host}}


async def logins(acos: Axapi, count: int) -> list[Axapi]:
    sessions = []
    for _ in range(count):
        session = Axapi(acos.http)
        assert (await session.login()).status_code == 200
        sessions.append(session)
    return sessions


async def test_at_most_thirty_sessions_by_default(acos: Axapi) -> None:
    sessions = await logins(acos, 29)  # the fixture holds the first
    refused = await Axapi(acos.http).login()
    assert refused.status_code == 403
    assert refused.json()["authorizationschema"]["error"] == (
        "Login failed: the number of aXAPI sessions has reached the limit (30)."
    )
    await sessions[0].logoff()
    assert (await Axapi(acos.http).login()).status_code == 200
    assert (await acos.control("GET", "sessions"))["total"] == 30


async def test_the_session_limit_is_a_lever(acos: Axapi) -> None:
    settings = await acos.control("POST", "sessions", {"limit": 2})
    assert (settings["limit"], settings["idle_minutes"], settings["total"]) == (2, 10, 1)
    await logins(acos, 1)
    assert (await Axapi(acos.http).login()).status_code == 403
    for bad in ({"limit": 0}, {"idle_minutes": -1}, {"limit": True}, {"other": 1}):
        assert (await acos.http.post("/_mock/sessions", json=bad)).status_code == 400


async def test_an_idle_session_ends_after_ten_minutes(acos: Axapi) -> None:
    await acos.control("POST", "clock", {"advance": 599})
    await acos.ok("GET", "/axapi/v3/system")  # a request keeps it alive
    await acos.control("POST", "clock", {"advance": 599})
    await acos.ok("GET", "/axapi/v3/system")
    await acos.control("POST", "clock", {"advance": 600})
    expired = await acos.call("GET", "/axapi/v3/system")
    assert expired.status_code == 401
    assert expired.json()["authorizationschema"]["error"] == "Invalid admin session."
    assert (await acos.control("GET", "sessions"))["expired"] == 1


async def test_an_idle_timeout_of_zero_never_ends_a_session(acos: Axapi) -> None:
    await acos.control("POST", "sessions", {"idle_minutes": 0})
    await acos.control("POST", "clock", {"advance": 86400})
    await acos.ok("GET", "/axapi/v3/system")


async def test_a_password_change_ends_the_users_sessions(acos: Axapi) -> None:
    changed = await acos.control("POST", "password", {"password": "n3w"})
    assert changed == {"username": ACOS_USER, "ended_sessions": 1}
    assert (await acos.call("GET", "/axapi/v3/system")).status_code == 401
    assert (await Axapi(acos.http).login(ACOS_USER, ACOS_PASSWORD)).status_code == 403
    assert (await acos.login(ACOS_USER, "n3w")).status_code == 200
    assert (await acos.control("GET", "stats"))["failed_logins"] == 1


async def test_a_standby_unit_refuses_configuration_writes(acos: Axapi) -> None:
    await acos.ok("POST", SERVERS, server())
    described = await acos.control("POST", "role", {"role": "standby", "vcs": True})
    assert (described["role"], described["vcs"]) == ("standby", True)
    err = await acos.fails("POST", SERVERS, server("s2"), status=400, code=codes.NO_WRITE_PRIVILEGE)
    assert err["msg"] == "No write privilege of this admin session."
    for method, path in (("POST", f"{SERVERS}/s1"), ("PUT", f"{SERVERS}/s1"), ("DELETE", f"{SERVERS}/s1")):
        await acos.fails(method, path, server(), status=400, code=codes.NO_WRITE_PRIVILEGE)
    partition = {"partition": {"partition-name": "p1", "id": 1}}
    await acos.fails("POST", "/axapi/v3/partition", partition, status=400, code=codes.NO_WRITE_PRIVILEGE)
    assert (await acos.ok("GET", f"{SERVERS}/s1"))["server"]["host"] == "10.0.0.1"
    await acos.ok("POST", "/axapi/v3/write/memory")
    summary = (await acos.ok("GET", "/axapi/v3/vcs/vcs-summary/oper"))["vcs-summary"]["oper"]
    assert (summary["vcs-enabled"], summary["member-list"][0]["state"]) == ("Yes", "vBlade(*)")
    vrid = (await acos.ok("GET", "/axapi/v3/vrrp-a/vrid/0/oper"))["vrid"]["oper"]
    assert vrid["state"] == "Standby"
    changes = (await acos.control("GET", "changes"))["changes"]
    assert [(c["method"], c["kind"], c["status"]) for c in changes][1:] == [
        ("POST", "slb/server", 400),
        ("POST", "slb/server", 400),
        ("PUT", "slb/server", 400),
        ("DELETE", "slb/server", 400),
        ("POST", "partition", 400),
        ("POST", "write/memory", 200),
    ]
    await acos.control("POST", "role", {"role": "active"})
    await acos.ok("POST", SERVERS, server("s2"))
    summary = (await acos.ok("GET", "/axapi/v3/vcs/vcs-summary/oper"))["vcs-summary"]["oper"]
    assert summary["member-list"][0]["state"] == "vMaster(*)"
    assert (await acos.ok("GET", "/axapi/v3/vrrp-a/vrid/oper"))["vrid-list"][0]["oper"]["state"] == "Active"


async def test_without_avcs_the_summary_says_so(acos: Axapi) -> None:
    summary = (await acos.ok("GET", "/axapi/v3/vcs/vcs-summary/oper"))["vcs-summary"]["oper"]
    assert summary == {"vcs-enabled": "No", "member-list": []}
    assert (await acos.ok("GET", "/axapi/v3/vrrp-a"))["vrrp-a"]["common"]["action"] == "enable"
    await acos.fails("GET", "/axapi/v3/vrrp-a/vrid/3/oper", status=404, code=codes.NOT_FOUND)
    bad = await acos.http.post("/_mock/role", json={"role": "primary"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (None, codes.SYSTEM_BUSY),
        ("system-not-ready", codes.SYSTEM_NOT_READY),
        ("config-manager-not-ready", codes.CONFIG_MANAGER_NOT_READY),
    ],
)
async def test_busy_faults_answer_the_chosen_transient_code(acos: Axapi, answer: str | None, code: int) -> None:
    if answer is not None:
        assert await acos.control("POST", "busy", {"answer": answer}) == {"answer": answer}
    rule = {"kind": "busy", "path": "/axapi/v3/slb/*", "methods": ["POST"], "count": 1}
    await acos.control("POST", "faults", {"rules": [rule]})
    await acos.fails("POST", SERVERS, server(), status=503, code=code)
    await acos.fails("GET", f"{SERVERS}/s1", status=404, code=codes.NOT_FOUND)  # never applied
    await acos.ok("POST", SERVERS, server())  # the rule fired once
    assert (await acos.control("GET", "faults"))["rules"][0]["fired"] == 1
    changes = (await acos.control("GET", "changes"))["changes"]
    assert [c["status"] for c in changes] == [200]


async def test_status_faults_answer_json_or_a_proxy_page(acos: Axapi) -> None:
    rules = [
        {"kind": "status", "status": 502, "path": "/axapi/v3/system", "count": 1, "body": "html"},
        {"kind": "status", "status": 503, "path": "/axapi/v3/system", "count": 1, "retry_after": 7},
    ]
    await acos.control("POST", "faults", {"rules": rules})
    page = await acos.call("GET", "/axapi/v3/system")
    assert (page.status_code, page.headers["content-type"].split(";")[0]) == (502, "text/html")
    err = await acos.fails("GET", "/axapi/v3/system", status=503, code=503)
    assert err["msg"] == "injected fault: HTTP 503"
    await acos.ok("GET", "/axapi/v3/system")
    stats = await acos.control("GET", "stats")
    assert stats["paths"]["GET /axapi/v3/system"] == 3


async def test_a_reset_after_the_write_applies_it(acos: Axapi) -> None:
    rule = {"kind": "reset", "path": "/axapi/v3/slb/server*", "methods": ["POST"], "count": 1, "after_apply": True}
    await acos.control("POST", "faults", {"rules": [rule]})
    with pytest.raises(httpx.TransportError):
        await acos.call("POST", SERVERS, server())
    assert (await acos.ok("GET", f"{SERVERS}/s1"))["server"]["name"] == "s1"
    assert (await acos.http.post("/_mock/faults", json={"rules": [{"kind": "melt"}]})).status_code == 400
    assert (await acos.http.post("/_mock/busy", json={"answer": "tired"})).status_code == 400


async def test_seed_prepares_the_unit_outside_the_change_log(acos: Axapi, mock_acos: MockAcos) -> None:
    requests = [
        {"method": "POST", "path": "/axapi/v3/partition", "body": {"partition": {"partition-name": "p1", "id": 3}}},
        {"method": "POST", "path": "/axapi/v3/health/monitor", "body": {"monitor": {"name": "hm1"}}},
        {"method": "POST", "path": "/axapi/v3/slb/server", "body": server(), "partition": "p1"},
    ]
    assert await acos.control("POST", "seed", {"requests": requests}) == {"applied": 3}
    state = await acos.control("GET", "state")
    assert [s["name"] for s in state["objects"]["p1"]["slb/server"]] == ["s1"]
    assert (state["unsaved_partitions"], (await acos.control("GET", "changes"))["total"]) == ([], 0)
    failing = [
        {"method": "POST", "path": "/axapi/v3/slb/server", "body": server("s2", "10.0.0.2")},
        {"method": "POST", "path": "/axapi/v3/slb/server", "body": server("s3", "not-an-address")},
    ]
    refused = await acos.http.post("/_mock/seed", json={"requests": failing})
    assert refused.json()["response"]["err"]["code"] == codes.INVALID_PARAMETER
    assert mock_acos.state.config.partitions["shared"].table("slb/server") == {}  # all or nothing
    wrong = await acos.http.post("/_mock/seed", json={"requests": [{"method": "GET", "path": SERVERS}]})
    assert wrong.status_code == 400


async def test_reset_gives_a_fresh_unit(acos: Axapi) -> None:
    await acos.partition("p1", 2)
    await acos.ok("POST", SERVERS, server())
    await acos.control("POST", "role", {"role": "standby"})
    await acos.control("POST", "sessions", {"limit": 5})
    assert await acos.control("POST", "reset") == {"reset": True}
    state = await acos.control("GET", "state")
    assert (state["role"], state["session_limit"], state["sessions"]) == ("active", 30, 0)
    assert [p["partition-name"] for p in state["partitions"]] == ["shared"]
    assert (await acos.control("GET", "changes"))["total"] == 0
    assert (await acos.call("GET", SERVERS)).status_code == 401  # sessions ended too
    acos.signature = None


async def test_unknown_urls_and_methods_answer_the_fail_envelope(acos: Axapi) -> None:
    err = await acos.fails("GET", "/axapi/v3/slb/nothing", status=404, code=codes.UNKNOWN_URI)
    assert err["msg"] == "URI not found: /axapi/v3/slb/nothing"
    await acos.fails("GET", f"{SERVERS}/s1/nothing/x", status=404, code=codes.UNKNOWN_URI)
    await acos.fails("PUT", SERVERS, server(), status=405, code=codes.UNKNOWN_URI)
    await acos.fails("DELETE", SERVERS, status=405, code=codes.UNKNOWN_URI)
    await acos.ok("POST", SERVERS, server())
    await acos.fails("POST", f"{SERVERS}/s1/oper", server(), status=405, code=codes.UNKNOWN_URI)
    await acos.fails("PATCH", f"{SERVERS}/s1", server(), status=405, code=codes.UNKNOWN_URI)
    await acos.fails("GET", f"{SERVERS}/s1/port/80", status=400, code=codes.INVALID_PARAMETER)
