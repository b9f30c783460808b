"""The emulated A10 Thunder over the wire, driven with plain HTTP: what acos-client cannot
show (exact bodies and statuses, sessions, partitions per session, merge against replace,
references) is checked here against ``mocks/acos/README.md``."""

from __future__ import annotations

from typing import Any

import httpx

from mocks.acos import MockAcos, references
from mocks.acos import errors as codes
from tests.acos_fixtures import ACOS_PASSWORD, ACOS_USER, PARTITION, Axapi, trust

SERVERS = "/axapi/v3/slb/server"
GROUPS = "/axapi/v3/slb/service-group"
VIRTUALS = "/axapi/v3/slb/virtual-server"
MONITORS = "/axapi/v3/health/monitor"


def server(name: str = "s1", host: str = "10.0.0.1", **fields: Any) -> dict[str, Any]:
    return {"server": {"name": name, "host": host, **fields}}


async def test_login_answers_a_signature_and_logoff_ends_the_session(acos: Axapi, mock_acos: MockAcos) -> None:
    other = Axapi(acos.http)
    response = await other.login()
    assert response.status_code == 200
    auth = response.json()["authresponse"]
    assert set(auth) == {"signature", "description"}
    assert (await other.ok("GET", "/axapi/v3/system"))["system"]["hostname"] == "thunder1"
    assert (await other.logoff()).json() == {"response": {"status": "OK"}}
    again = await other.call("GET", "/axapi/v3/system", signature=auth["signature"])
    assert again.status_code == 401
    assert again.json()["authorizationschema"]["error"] == "Invalid admin session."
    assert len(mock_acos.state.sessions.open) == 1  # the fixture's own session


async def test_refused_credentials_and_invalid_sessions_answer_authorizationschema(acos: Axapi) -> None:
    refused = await Axapi(acos.http).login(ACOS_USER, "wrong")
    assert refused.status_code == 403
    assert refused.json() == {
        "authorizationschema": {
            "code": 403,
            "error": "Incorrect user name or password",
            "auth_uri": "/axapi/v3/auth",
            "logoff_uri": "/axapi/v3/logoff",
            "username": "required",
            "password": "required",
        }
    }
    for headers in ({}, {"Authorization": "A10 nosuchsession"}, {"Authorization": f"Basic {ACOS_PASSWORD}"}):
        response = await acos.http.get(SERVERS, headers=headers)
        assert response.status_code == 401
        assert response.json()["authorizationschema"]["code"] == 401
        assert "response" not in response.json()
    logoff = await acos.call("POST", "/axapi/v3/logoff", signature="bad_session_id")
    assert logoff.status_code == 401


async def test_objects_are_created_read_merged_replaced_and_deleted(acos: Axapi) -> None:
    created = await acos.ok("POST", SERVERS + "/", server(**{"conn-limit": None, "health-check": None}))
    assert created == {"response": {"status": "OK"}}
    shown = (await acos.ok("GET", f"{SERVERS}/s1"))["server"]
    assert shown["host"] == "10.0.0.1"
    assert shown["action"] == "enable"
    assert shown["conn-limit"] == 64000000  # null unsets: the default shows
    assert shown["a10-url"] == f"{SERVERS}/s1"
    assert "health-check" not in shown
    await acos.ok("POST", f"{SERVERS}/s1", {"server": {"action": "disable", "user-tag": "owned"}})
    merged = (await acos.ok("GET", f"{SERVERS}/s1/"))["server"]
    assert (merged["action"], merged["user-tag"], merged["uuid"]) == ("disable", "owned", shown["uuid"])
    await acos.ok("PUT", f"{SERVERS}/s1", server(weight=5))
    replaced = (await acos.ok("GET", f"{SERVERS}/s1"))["server"]
    assert (replaced["action"], replaced["weight"], "user-tag" in replaced) == ("enable", 5, False)
    assert (await acos.ok("GET", SERVERS))["server-list"][0]["name"] == "s1"
    assert await acos.ok("DELETE", f"{SERVERS}/s1") == {"response": {"status": "OK"}}
    err = await acos.fails("DELETE", f"{SERVERS}/s1", status=404, code=codes.NOT_FOUND)
    assert err == {"code": codes.NOT_FOUND, "from": "CM", "msg": "Object specified does not exist (object: server)"}


async def test_create_of_an_existing_object_and_merge_of_a_missing_one_fail(acos: Axapi) -> None:
    await acos.ok("POST", SERVERS, server())
    err = await acos.fails("POST", SERVERS, server(host="10.0.0.2"), status=400, code=codes.EXISTS)
    assert "already exists" in err["msg"]
    await acos.fails("POST", f"{SERVERS}/s9", server("s9"), status=404, code=codes.NOT_FOUND)
    await acos.fails("PUT", f"{SERVERS}/s9", server("s9"), status=404, code=codes.NOT_FOUND)
    await acos.fails("GET", f"{SERVERS}/s9", status=404, code=codes.NOT_FOUND)
    assert (await acos.ok("GET", f"{SERVERS}/s1"))["server"]["host"] == "10.0.0.1"


async def test_bodies_use_dashes_and_the_type_wrapper(acos: Axapi) -> None:
    await acos.fails("POST", SERVERS, server(conn_limit=5), status=400, code=codes.JSON_FORMAT)
    await acos.fails("POST", SERVERS, {"name": "s1", "host": "10.0.0.1"}, status=400, code=codes.JSON_FORMAT)
    bad = await acos.http.post(SERVERS, content=b"{not json", headers=acos.headers())
    assert bad.status_code == 400
    assert bad.json()["response"]["err"]["code"] == codes.JSON_FORMAT
    await acos.fails("POST", SERVERS, server(host="10.0.0.300"), status=400, code=codes.INVALID_PARAMETER)
    await acos.fails("POST", SERVERS, {"server": {"name": "s1"}}, status=400, code=codes.INVALID_PARAMETER)
    assert (await acos.call("GET", SERVERS)).status_code == 404  # nothing was made


async def test_lists_create_many_at_once_all_or_nothing(acos: Axapi) -> None:
    both = {"server-list": [server("a", "10.0.0.1")["server"], server("b", "10.0.0.2")["server"]]}
    await acos.ok("POST", SERVERS, both)
    assert [item["name"] for item in (await acos.ok("GET", SERVERS))["server-list"]] == ["a", "b"]
    again = {"server-list": [server("c", "10.0.0.3")["server"], server("a", "10.0.0.1")["server"]]}
    await acos.fails("POST", SERVERS, again, status=400, code=codes.EXISTS)
    await acos.fails("GET", f"{SERVERS}/c", status=404, code=codes.NOT_FOUND)


async def test_an_empty_collection_answers_not_found(acos: Axapi) -> None:
    err = await acos.fails("GET", GROUPS, status=404, code=codes.NOT_FOUND)
    assert err["msg"] == "Object specified does not exist (object: service-group)"


async def test_compound_keys_name_ports_members_and_virtual_ports(acos: Axapi) -> None:
    await acos.ok("POST", SERVERS, server(**{"port-list": [{"port-number": 80, "protocol": "tcp"}]}))
    await acos.ok("POST", f"{SERVERS}/s1/port/", {"port": {"port-number": 443, "protocol": "tcp"}})
    port = (await acos.ok("GET", f"{SERVERS}/s1/port/443+tcp/"))["port"]
    assert port["a10-url"] == f"{SERVERS}/s1/port/443+tcp"
    await acos.ok("PUT", f"{SERVERS}/s1/port/443+tcp", {"port": {"port-number": 443, "protocol": "tcp", "weight": 3}})
    assert [p["port-number"] for p in (await acos.ok("GET", f"{SERVERS}/s1"))["server"]["port-list"]] == [80, 443]
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1", "member-list": [{"name": "s1", "port": 80}]}})
    await acos.ok("POST", f"{GROUPS}/g1/member/", {"member": {"name": "s1", "port": 443, "member-state": "disable"}})
    member = (await acos.ok("GET", f"{GROUPS}/g1/member/s1+443/"))["member"]
    assert (member["member-state"], member["a10-url"]) == ("disable", f"{GROUPS}/g1/member/s1+443")
    await acos.ok("POST", f"{GROUPS}/g1/member/s1+443", {"member": {"member-state": "enable"}})
    assert (await acos.ok("GET", f"{GROUPS}/g1/member/s1+443/oper"))["member"]["oper"]["state"] == "Up"
    await acos.ok("POST", VIRTUALS, {"virtual-server": {"name": "v1", "ip-address": "10.1.0.1", "description": None}})
    vport = {"port": {"port-number": 80, "protocol": "tcp", "service-group": "g1", "auto": 1}}
    await acos.ok("POST", f"{VIRTUALS}/v1/port", vport)
    shown = (await acos.ok("GET", f"{VIRTUALS}/v1/port/80+tcp"))["port"]
    assert (shown["service-group"], shown["auto"]) == ("g1", 1)
    assert (await acos.ok("GET", f"{VIRTUALS}/v1"))["virtual-server"]["port-list"][0]["port-number"] == 80
    await acos.fails("GET", f"{VIRTUALS}/v1/port/80+udp", status=404, code=codes.NOT_FOUND)
    await acos.fails("GET", f"{VIRTUALS}/v2/port/80+tcp", status=404, code=codes.NOT_FOUND)


async def test_references_must_resolve_and_objects_in_use_stay(acos: Axapi) -> None:
    group = {"service-group": {"name": "g1", "health-check": "hm1"}}
    err = await acos.fails("POST", GROUPS, group, status=404, code=codes.NOT_FOUND)
    assert err["msg"] == "Object specified does not exist (object: health monitor hm1)"
    await acos.ok("POST", MONITORS, {"monitor": {"name": "hm1", "method": {"icmp": {"icmp": 1}}}})
    await acos.ok("POST", GROUPS, group)
    member = {"member": {"name": "s1", "port": 80}}
    await acos.fails("POST", f"{GROUPS}/g1/member", member, status=404, code=codes.NOT_FOUND)
    await acos.ok("POST", SERVERS, server())
    await acos.ok("POST", f"{GROUPS}/g1/member", member)
    await acos.ok("POST", VIRTUALS, {"virtual-server": {"name": "v1", "ip-address": "10.1.0.1"}})
    vport = {"port": {"port-number": 80, "protocol": "tcp", "service-group": "g1", "pool": "snat1"}}
    await acos.fails("POST", f"{VIRTUALS}/v1/port", vport, status=404, code=codes.NOT_FOUND)
    vport["port"].pop("pool")
    await acos.ok("POST", f"{VIRTUALS}/v1/port", vport)
    for path in (f"{MONITORS}/hm1", f"{GROUPS}/g1", f"{SERVERS}/s1"):
        err = await acos.fails("DELETE", path, status=400, code=codes.IN_USE)
    assert err["msg"] == "The server s1 is in use by service-group g1 and cannot be deleted"
    for path in (f"{VIRTUALS}/v1/port/80+tcp", f"{GROUPS}/g1", f"{SERVERS}/s1", f"{MONITORS}/hm1"):
        await acos.ok("DELETE", path)


async def test_partitions_are_per_session(acos: Axapi, mock_acos: MockAcos) -> None:
    await acos.fails("POST", f"/axapi/v3/active-partition/{PARTITION}", status=404, code=codes.NOT_FOUND)
    await acos.partition()
    assert (await acos.ok("GET", "/axapi/v3/active-partition"))["active-partition"]["partition-name"] == PARTITION
    await acos.ok("POST", SERVERS, server())
    other = Axapi(acos.http)
    await other.login()
    await other.fails("GET", f"{SERVERS}/s1", status=404, code=codes.NOT_FOUND)  # other is in shared
    await other.ok("POST", SERVERS, server(host="10.9.9.9"))
    assert (await acos.ok("GET", f"{SERVERS}/s1"))["server"]["host"] == "10.0.0.1"
    listed = (await other.ok("GET", "/axapi/v3/partition-all/oper"))["partition-all"]["oper"]["partition-list"]
    assert [(p["partition-name"], p["partition-id"]) for p in listed] == [(PARTITION, 7)]
    await other.fails(
        "POST",
        "/axapi/v3/partition",
        {"partition": {"partition-name": PARTITION, "id": 8}},
        status=400,
        code=codes.EXISTS,
    )
    state = await acos.control("GET", "state")
    assert [s["name"] for s in state["objects"][PARTITION]["slb/server"]] == ["s1"]
    assert state["objects"]["shared"]["slb/server"][0]["host"] == "10.9.9.9"
    await other.logoff()


async def test_write_memory_saves_and_the_change_log_lists_writes(acos: Axapi, mock_acos: MockAcos) -> None:
    await acos.ok("POST", SERVERS, server())
    await acos.fails("POST", SERVERS, server(), status=400, code=codes.EXISTS)
    assert (await acos.control("GET", "state"))["unsaved_partitions"] == ["shared"]
    body = {"memory": {"destination": None, "partition": "all"}}
    assert await acos.ok("POST", "/axapi/v3/write/memory/", body) == {"response": {"status": "OK"}}
    await acos.ok("POST", "/axapi/v3/write/memory")  # an empty body is accepted
    state = await acos.control("GET", "state")
    assert (state["unsaved_partitions"], state["writes_to_memory"]) == ([], 2)
    changes = (await acos.control("GET", "changes"))["changes"]
    assert [(c["method"], c["kind"], c["name"], c["status"]) for c in changes] == [
        ("POST", "slb/server", "s1", 200),
        ("POST", "slb/server", "", 400),
        ("POST", "write/memory", "", 200),
        ("POST", "write/memory", "", 200),
    ]
    assert (await acos.control("GET", "changes?since=3"))["total"] == 1


async def test_controls_answer_loopback_only_and_need_no_session(mock_acos: MockAcos) -> None:
    async with httpx.AsyncClient(base_url=mock_acos.url, verify=trust(mock_acos)) as http:
        state = (await http.get("/_mock/state")).json()
    assert state["role"] == "active"
    assert state["objects"]["shared"]["slb/server"] == []


async def test_a_server_name_may_hold_a_plus_in_member_keys(acos: Axapi) -> None:
    await acos.ok("POST", SERVERS, server("web+1"))
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1"}})
    await acos.ok("POST", f"{GROUPS}/g1/member", {"member": {"name": "web+1", "port": 8080}})
    member = (await acos.ok("GET", f"{GROUPS}/g1/member/web%2B1+8080"))["member"]
    assert (member["name"], member["port"], member["a10-url"]) == ("web+1", 8080, f"{GROUPS}/g1/member/web+1+8080")


async def test_shared_monitors_serve_every_partition_and_stay_while_named(acos: Axapi) -> None:
    await acos.ok("POST", MONITORS, {"monitor": {"name": "hm1"}})
    await acos.partition()
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1", "health-check": "hm1"}})
    await acos.ok("POST", "/axapi/v3/active-partition/shared")
    err = await acos.fails("DELETE", f"{MONITORS}/hm1", status=400, code=codes.IN_USE)
    assert err["msg"] == "The health monitor hm1 is in use by service-group g1 and cannot be deleted"
    await acos.ok("POST", f"/axapi/v3/active-partition/{PARTITION}")
    await acos.ok("POST", f"{GROUPS}/g1", {"service-group": {"health-check": None}})
    await acos.ok("POST", "/axapi/v3/active-partition/shared")
    await acos.ok("DELETE", f"{MONITORS}/hm1")


async def test_description_is_only_for_virtual_servers(acos: Axapi) -> None:
    await acos.fails("POST", SERVERS, server(description="x"), status=400, code=codes.JSON_FORMAT)
    group = {"service-group": {"name": "g1", "description": "x"}}
    await acos.fails("POST", GROUPS, group, status=400, code=codes.JSON_FORMAT)
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1", "user-tag": "owner=bridge"}})
    await acos.ok("POST", VIRTUALS, {"virtual-server": {"name": "v1", "ip-address": "10.1.0.1", "description": "x"}})
    vport = {"port": {"port-number": 80, "protocol": "tcp", "description": "x"}}
    await acos.fails("POST", f"{VIRTUALS}/v1/port", vport, status=400, code=codes.JSON_FORMAT)
    long_tag = {"service-group": {"user-tag": "x" * 128}}
    await acos.fails("POST", f"{GROUPS}/g1", long_tag, status=400, code=codes.INVALID_PARAMETER)


async def test_exclusive_fields_and_fixed_addresses(acos: Axapi) -> None:
    both = {"service-group": {"name": "g1", "lb-method": "round-robin", "lc-method": "least-connection"}}
    await acos.fails("POST", GROUPS, both, status=400, code=codes.INVALID_PARAMETER)
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1", "lb-method": "round-robin"}})
    await acos.ok("POST", f"{GROUPS}/g1", {"service-group": {"lc-method": "least-connection"}})
    shown = (await acos.ok("GET", f"{GROUPS}/g1"))["service-group"]
    assert (shown["lc-method"], "lb-method" in shown) == ("least-connection", False)
    await acos.ok("POST", SERVERS, server())
    err = await acos.fails("POST", f"{SERVERS}/s1", server(host="10.0.0.2"), status=400, code=codes.INVALID_PARAMETER)
    assert "host cannot be modified" in err["msg"]
    await acos.fails("POST", f"{SERVERS}/s1", server("s2"), status=400, code=codes.INVALID_PARAMETER)


async def test_a_merge_merges_child_lists_entry_by_entry(acos: Axapi) -> None:
    await acos.ok("POST", SERVERS, server("a"))
    await acos.ok("POST", SERVERS, server("b", "10.0.0.2"))
    members = [{"name": "a", "port": 80}, {"name": "b", "port": 80, "member-state": "disable"}]
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1", "member-list": members}})
    change = {"service-group": {"member-list": [{"name": "b", "port": 80, "member-state": "enable"}]}}
    await acos.ok("POST", f"{GROUPS}/g1", change)
    shown = (await acos.ok("GET", f"{GROUPS}/g1"))["service-group"]["member-list"]
    assert [(m["name"], m["member-state"]) for m in shown] == [("a", "enable"), ("b", "enable")]
    await acos.ok("PUT", f"{GROUPS}/g1", change)
    shown = (await acos.ok("GET", f"{GROUPS}/g1"))["service-group"]["member-list"]
    assert [m["name"] for m in shown] == ["b"]
    await acos.ok("DELETE", f"{SERVERS}/a")  # no member names it any more


async def test_unbinding_frees_an_object_once_refused_as_in_use(acos: Axapi) -> None:
    await acos.ok("POST", SERVERS, server())
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1", "member-list": [{"name": "s1", "port": 80}]}})
    await acos.ok("POST", VIRTUALS, {"virtual-server": {"name": "v1", "ip-address": "10.1.0.1"}})
    await acos.ok(
        "POST", f"{VIRTUALS}/v1/port", {"port": {"port-number": 80, "protocol": "tcp", "service-group": "g1"}}
    )
    await acos.fails("DELETE", f"{SERVERS}/s1", status=400, code=codes.IN_USE)
    await acos.fails("DELETE", f"{GROUPS}/g1", status=400, code=codes.IN_USE)
    await acos.ok("DELETE", f"{GROUPS}/g1/member/s1+80")
    await acos.ok("DELETE", f"{SERVERS}/s1")
    await acos.ok("DELETE", f"{VIRTUALS}/v1")
    await acos.ok("DELETE", f"{GROUPS}/g1")


async def test_the_count_of_names_in_use_follows_every_write(acos: Axapi, mock_acos: MockAcos) -> None:
    """The in-use index, kept up to date write by write, equals one counted afresh."""
    await acos.ok("POST", MONITORS, {"monitor": {"name": "hm1"}})
    await acos.ok("POST", SERVERS, {"server-list": [server("a")["server"], server("b", "10.0.0.2")["server"]]})
    await acos.ok("POST", GROUPS, {"service-group": {"name": "g1", "member-list": [{"name": "a", "port": 80}]}})
    await acos.fails("DELETE", f"{SERVERS}/a", status=400, code=codes.IN_USE)  # the index is built here
    await acos.ok("POST", f"{GROUPS}/g1/member", {"member": {"name": "b", "port": 80}})
    await acos.ok("POST", f"{GROUPS}/g1", {"service-group": {"health-check": "hm1"}})
    await acos.ok("DELETE", f"{GROUPS}/g1/member/a+80")
    await acos.ok("PUT", f"{GROUPS}/g1", {"service-group": {"member-list": [{"name": "a", "port": 81}]}})
    await acos.ok("POST", VIRTUALS, {"virtual-server": {"name": "v1", "ip-address": "10.1.0.1"}})
    await acos.ok(
        "POST", f"{VIRTUALS}/v1/port", {"port": {"port-number": 80, "protocol": "tcp", "service-group": "g1"}}
    )
    await acos.ok("DELETE", f"{VIRTUALS}/v1")
    partition = mock_acos.state.config.partitions["shared"]
    kept = partition.uses
    assert kept is not None
    partition.uses = None
    assert {name: count for name, count in kept.items() if count} == +references.uses(partition)


async def test_object_urls_answer_with_and_without_a_trailing_slash(acos: Axapi) -> None:
    await acos.ok("POST", f"{SERVERS}/", server())
    await acos.ok("POST", f"{SERVERS}/s1/port/", {"port": {"port-number": 80, "protocol": "tcp"}})
    for path in (f"{SERVERS}/s1", f"{SERVERS}/s1/", f"{SERVERS}/s1/port/80+tcp", f"{SERVERS}/s1/port/80+tcp/"):
        assert (await acos.ok("GET", path)) != {}
    await acos.ok("DELETE", f"{SERVERS}/s1/port/80+tcp/")
    await acos.ok("DELETE", f"{SERVERS}/s1/")
