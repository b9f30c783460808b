"""The emulated BIG-IP's configuration objects over its REST API: system URIs, partitions,
LTM nodes, pools, members and virtual servers, what the unit creates on the side, and the
error answers (status, mcpd code, wording) a real unit sends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bigip_fixtures import PARTITION, Unit

POOLS = "/mgmt/tm/ltm/pool"
NODES = "/mgmt/tm/ltm/node"
VIRTUALS = "/mgmt/tm/ltm/virtual"
ADDRESSES = "/mgmt/tm/ltm/virtual-address"


async def names(bigip: Unit, path: str) -> list[str]:
    return [item["fullPath"] for item in (await bigip.ok("GET", path)).get("items", [])]


async def test_sys_tells_the_version_in_its_self_link_with_or_without_slash(bigip: Unit) -> None:
    for path in ("/mgmt/tm/sys/", "/mgmt/tm/sys"):
        answer = await bigip.ok("GET", path)
        assert answer["kind"] == "tm:sys:syscollectionstate"
        assert answer["selfLink"] == "https://localhost/mgmt/tm/sys?ver=17.1.1"
    assert (await bigip.call("GET", "/mgmt/shared/echo-query")).status_code == 200
    info = await bigip.ok("GET", "/mgmt/shared/identified-devices/config/device-info")
    assert (info["product"], info["version"]) == ("BIG-IP", "17.1.1")


async def test_a_fresh_unit_has_partition_common_and_no_configuration(bigip: Unit) -> None:
    partitions = await bigip.ok("GET", "/mgmt/tm/auth/partition")
    assert [item["fullPath"] for item in partitions["items"]] == ["Common"]
    for path in (NODES, POOLS, VIRTUALS, ADDRESSES, "/mgmt/tm/gtm/datacenter", "/mgmt/tm/gtm/wideip/a"):
        answer = await bigip.ok("GET", path)
        assert "items" not in answer, path
        assert answer["selfLink"].endswith("?ver=17.1.1")


async def test_partitions_and_folders_are_two_views_of_one_thing(bigip: Unit) -> None:
    created = await bigip.ok("POST", "/mgmt/tm/sys/folder", {"name": "bigrest", "partition": "/"})
    assert (created["fullPath"], created["subPath"]) == ("/bigrest", "/")
    partition = await bigip.ok("GET", "/mgmt/tm/auth/partition/bigrest")
    assert (partition["kind"], partition["fullPath"]) == ("tm:auth:partition:partitionstate", "bigrest")
    assert partition["selfLink"] == "https://localhost/mgmt/tm/auth/partition/bigrest?ver=17.1.1"
    folders = await bigip.ok("GET", "/mgmt/tm/sys/folder/")
    assert [item["fullPath"] for item in folders["items"]] == ["/", "/Common", "/bigrest"]
    await bigip.ok("DELETE", "/mgmt/tm/sys/folder/~bigrest")
    assert (await bigip.call("GET", "/mgmt/tm/auth/partition/bigrest")).status_code == 404


async def test_objects_in_a_missing_partition_are_refused(bigip: Unit) -> None:
    answer = await bigip.fails("POST", POOLS, {"name": "p1", "partition": "nope"}, status=400)
    assert answer == {
        "code": 400,
        "message": "The requested folder (/nope) was not found.",
        "errorStack": [],
        "apiError": 26214401,
    }


async def test_a_partition_that_holds_objects_and_common_cannot_be_deleted(bigip: Unit) -> None:
    await bigip.partition()
    await bigip.ok("POST", POOLS, {"name": "p1", "partition": PARTITION})
    await bigip.fails("DELETE", f"/mgmt/tm/auth/partition/{PARTITION}", status=400)
    await bigip.fails("DELETE", "/mgmt/tm/auth/partition/Common", status=400)


async def test_a_pool_carries_identity_links_and_a_generation_that_rises(bigip: Unit) -> None:
    await bigip.partition()
    pool = await bigip.ok("POST", POOLS, {"name": "p1", "partition": PARTITION, "monitor": "/Common/http"})
    assert pool["kind"] == "tm:ltm:pool:poolstate"
    assert (pool["name"], pool["partition"], pool["fullPath"]) == ("p1", PARTITION, f"/{PARTITION}/p1")
    assert pool["selfLink"] == f"https://localhost/mgmt/tm/ltm/pool/~{PARTITION}~p1?ver=17.1.1"
    assert pool["membersReference"] == {
        "link": f"https://localhost/mgmt/tm/ltm/pool/~{PARTITION}~p1/members?ver=17.1.1",
        "isSubcollection": True,
    }
    assert pool["monitor"] == "/Common/http "  # as a unit prints it, trailing space included
    changed = await bigip.ok("PATCH", f"{POOLS}/~{PARTITION}~p1/", {"description": "owned"})
    assert changed["generation"] > pool["generation"]
    assert changed["description"] == "owned"
    other = await bigip.ok("POST", POOLS, {"name": "/k8s/p2"})
    assert other["generation"] > changed["generation"]
    assert other["fullPath"] == "/k8s/p2"


async def test_bare_names_mean_common_and_trailing_slashes_are_accepted(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS + "/", {"name": "plain"})
    for path in (f"{POOLS}/plain", f"{POOLS}/~Common~plain", f"{POOLS}/~Common~plain/"):
        assert (await bigip.ok("GET", path))["fullPath"] == "/Common/plain"


async def test_members_create_their_node_named_by_address_in_their_partition(bigip: Unit) -> None:
    await bigip.partition()
    pool = f"{POOLS}/~{PARTITION}~p1"
    await bigip.ok("POST", POOLS, {"name": "p1", "partition": PARTITION, "members": ["10.0.0.1:30080"]})
    member = await bigip.ok("POST", f"{pool}/members", {"name": "10.0.0.2:30080", "partition": PARTITION})
    assert member["kind"] == "tm:ltm:pool:members:membersstate"
    assert (
        member["selfLink"]
        == f"https://localhost/mgmt/tm/ltm/pool/~{PARTITION}~p1/members/~{PARTITION}~10.0.0.2:30080?ver=17.1.1"
    )
    assert (member["address"], member["session"], member["state"]) == ("10.0.0.2", "user-enabled", "unchecked")
    nodes = (await bigip.ok("GET", NODES))["items"]
    assert [(node["fullPath"], node["address"]) for node in nodes] == [
        ("/k8s/10.0.0.1", "10.0.0.1"),
        ("/k8s/10.0.0.2", "10.0.0.2"),
    ]
    assert all("description" not in node for node in nodes)
    await bigip.ok("DELETE", f"{pool}/members/~{PARTITION}~10.0.0.2:30080")
    assert "/k8s/10.0.0.2" in await names(bigip, NODES)  # implicit nodes stay after their member


async def test_ipv6_members_use_a_dot_before_the_port(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "v6"})
    member = await bigip.ok("POST", f"{POOLS}/~Common~v6/members", {"name": "2001:DB8::1.80", "partition": "Common"})
    assert (member["name"], member["address"]) == ("2001:db8::1.80", "2001:db8::1")
    assert (await bigip.ok("GET", f"{POOLS}/~Common~v6/members/~Common~2001:db8::1.80"))["name"] == "2001:db8::1.80"
    await bigip.fails("POST", f"{POOLS}/~Common~v6/members", {"name": "2001:db8::2:80"}, status=400)


async def test_route_domain_zero_is_accepted_and_percent_25_decoded(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "rd"})
    member = await bigip.ok("POST", f"{POOLS}/~Common~rd/members", {"name": "10.1.1.1%0:80"})
    assert member["name"] == "10.1.1.1:80"
    assert (await bigip.ok("GET", f"{NODES}/~Common~10.1.1.1%250"))["fullPath"] == "/Common/10.1.1.1"
    assert (await bigip.ok("GET", f"{POOLS}/~Common~rd/members/~Common~10.1.1.1%250:80"))["address"] == "10.1.1.1"
    await bigip.fails("POST", f"{POOLS}/~Common~rd/members", {"name": "10.1.1.2%7:80"}, status=400)


async def test_member_session_and_state_as_a_unit_shows_them(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "watched", "monitor": "tcp", "members": ["10.0.0.5:80"]})
    link = f"{POOLS}/~Common~watched/members/~Common~10.0.0.5:80"
    shown = await bigip.ok("GET", link)
    assert (shown["session"], shown["state"]) == ("monitor-enabled", "up")
    drained = await bigip.ok("PATCH", link, {"session": "user-disabled"})
    assert (drained["session"], drained["state"]) == ("user-disabled", "up")
    forced = await bigip.ok("PATCH", link, {"state": "user-down"})
    assert (forced["session"], forced["state"]) == ("user-disabled", "user-down")
    await bigip.fails("PATCH", link, {"session": "monitor-enabled"}, status=400)


async def test_a_virtual_server_brings_its_virtual_address_and_takes_it_away(bigip: Unit) -> None:
    await bigip.partition()
    await bigip.ok("POST", POOLS, {"name": "p1", "partition": PARTITION})
    body = {"name": "vs1", "partition": PARTITION, "destination": "192.0.2.10:443", "pool": "p1", "ipProtocol": "tcp"}
    virtual = await bigip.ok("POST", VIRTUALS, body | {"sourceAddressTranslation": {"type": "automap"}})
    assert virtual["destination"] == "/k8s/192.0.2.10:443"
    assert (virtual["pool"], virtual["enabled"], virtual["mask"]) == ("/k8s/p1", True, "255.255.255.255")
    assert virtual["sourceAddressTranslation"] == {"type": "automap"}
    address = await bigip.ok("GET", f"{ADDRESSES}/~{PARTITION}~192.0.2.10")
    assert (address["kind"], address["autoDelete"]) == ("tm:ltm:virtual-address:virtual-addressstate", "true")
    profiles = await bigip.ok("GET", f"{VIRTUALS}/~{PARTITION}~vs1/profiles")
    assert [(item["fullPath"], item["context"]) for item in profiles["items"]] == [("/Common/fastL4", "all")]
    second = await bigip.ok(
        "POST", VIRTUALS, {"name": "vs2", "partition": PARTITION, "destination": "/k8s/192.0.2.10:80"}
    )
    await bigip.ok("DELETE", f"{VIRTUALS}/~{PARTITION}~vs1")
    assert await names(bigip, ADDRESSES) == ["/k8s/192.0.2.10"]
    await bigip.ok("DELETE", second["selfLink"].removeprefix("https://localhost").split("?")[0])
    assert await names(bigip, ADDRESSES) == []


async def test_ipv6_virtual_destination_and_disable_pair(bigip: Unit) -> None:
    virtual = await bigip.ok("POST", VIRTUALS, {"name": "v6", "destination": "2001:db8::10.443"})
    assert (virtual["destination"], virtual["mask"]) == (
        "/Common/2001:db8::10.443",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    )
    disabled = await bigip.ok("PATCH", f"{VIRTUALS}/v6", {"disabled": True})
    assert disabled.get("disabled") is True
    assert "enabled" not in disabled
    enabled = await bigip.ok("PATCH", f"{VIRTUALS}/v6", {"enabled": True})
    assert enabled.get("enabled") is True
    assert "disabled" not in enabled


async def test_put_takes_back_what_get_answered_except_monitor_states(bigip: Unit) -> None:
    """As f5-sdk's update() does: read-only keys repeated; a member's session/state only as user-*
    values, a node's state also as ``unchecked``."""
    await bigip.ok("POST", NODES, {"name": "web1", "address": "10.0.0.9", "description": "a"})
    node = await bigip.ok("GET", f"{NODES}/web1")
    assert (node["session"], node["state"]) == ("user-enabled", "unchecked")
    changed = await bigip.ok("PUT", f"{NODES}/web1", node | {"description": "b"})
    assert changed["description"] == "b"
    await bigip.fails("PUT", f"{NODES}/web1", node | {"address": "10.0.0.10"}, status=400)
    await bigip.ok("POST", POOLS, {"name": "p1", "monitor": "/Common/tcp", "members": ["web1:80"]})
    member = await bigip.ok("GET", f"{POOLS}/p1/members/~Common~web1:80")
    assert (member["session"], member["state"]) == ("monitor-enabled", "up")
    await bigip.fails("PUT", f"{POOLS}/p1/members/~Common~web1:80", member, status=400)
    writable = {key: value for key, value in member.items() if key not in ("session", "state")}
    assert (await bigip.ok("PUT", f"{POOLS}/p1/members/~Common~web1:80", writable | {"ratio": 3}))["ratio"] == 3


ErrorCase = tuple[str, str, Any, int, str]


async def test_already_exists_is_409_with_the_mcpd_message(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "p1"})
    answer = await bigip.fails("POST", POOLS, {"name": "p1", "partition": "Common"}, status=409)
    assert answer == {
        "code": 409,
        "message": "01020066:3: The requested Pool (/Common/p1) already exists in partition Common.",
        "errorStack": [],
        "apiError": 3,
    }


async def test_not_found_is_404_with_the_mcpd_message_and_member_wording(bigip: Unit) -> None:
    pool = await bigip.fails("GET", f"{POOLS}/~Common~wrong", status=404)
    assert pool["message"] == "01020036:3: The requested Pool (/Common/wrong) was not found."
    assert pool["apiError"] == 3
    await bigip.ok("POST", POOLS, {"name": "p1"})
    member = await bigip.fails("GET", f"{POOLS}/~Common~p1/members/~Common~wrong:80", status=404)
    assert (member["message"], member["apiError"]) == ("Object not found - /Common/wrong:80", 1)
    patched = await bigip.fails("PATCH", f"{POOLS}/~Common~p1/members/~Common~wrong:80", {"ratio": 2}, status=404)
    assert patched["message"] == "01020036:3: The requested Pool Member (/Common/p1 /Common/wrong 80) was not found."
    orphan = await bigip.fails("POST", f"{POOLS}/~Common~nopool/members", {"name": "10.0.0.1:80"}, status=404)
    assert orphan["message"] == "01020036:3: The requested pool (/Common/nopool) was not found."


async def test_in_use_pools_and_nodes_cannot_be_deleted(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "p1", "members": ["10.0.0.1:80"]})
    await bigip.ok("POST", VIRTUALS, {"name": "vs1", "destination": "192.0.2.1:80", "pool": "p1"})
    pool = await bigip.fails("DELETE", f"{POOLS}/p1", status=400)
    assert pool["message"] == (
        "01070265:3: The Pool (/Common/p1) cannot be deleted because it is in use by a Virtual Server (/Common/vs1)."
    )
    node = await bigip.fails("DELETE", f"{NODES}/~Common~10.0.0.1", status=400)
    assert (
        node["message"] == "01070110:3: Node address '/Common/10.0.0.1' is referenced by a member of pool '/Common/p1'."
    )


@pytest.mark.parametrize("name", ["1abc", "has space", "tab\there", "", "x" * 191])
async def test_invalid_names_are_01070088(bigip: Unit, name: str) -> None:
    answer = await bigip.fails("POST", POOLS, {"name": name}, status=400)
    assert answer["message"] == f"01070088:3: The requested object name (/Common/{name}) is invalid."


async def test_address_names_may_start_with_a_digit(bigip: Unit) -> None:
    await bigip.ok("POST", NODES, {"name": "10.9.9.9", "address": "10.9.9.9"})
    await bigip.ok("POST", POOLS, {"name": "p1", "members": ["10.9.9.9:80"]})


async def test_malformed_requests(bigip: Unit) -> None:
    broken = await bigip.http.post(POOLS, content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json() == {
        "code": 400,
        "message": "Found invalid JSON body in the request.",
        "errorStack": [],
        "apiError": 1,
    }
    await bigip.ok("POST", POOLS, {"name": "p1"})
    empty = await bigip.fails("PUT", f"{POOLS}/p1", {}, status=400)
    assert (empty["message"], empty["apiError"]) == ("one or more properties must be specified", 26214401)
    html = await bigip.fails("PATCH", f"{POOLS}/p1", {"description": "<script>x</script>"}, status=400)
    assert html["message"] == "HTML Tag-like Content in the Request URL/Body"
    unknown = await bigip.fails("PATCH", f"{POOLS}/p1", {"colour": "blue"}, status=400)
    assert unknown["message"].startswith("Found unexpected json pair at configuration item /ltm/pool.")


async def test_references_to_missing_objects_are_refused(bigip: Unit) -> None:
    cases = [
        (VIRTUALS, {"name": "v1", "destination": "192.0.2.1:80", "pool": "nopool"}, "pool_FK"),
        (VIRTUALS, {"name": "v2", "destination": "192.0.2.2:80", "profiles": ["/Common/nosuch"]}, "profile_FK"),
        (POOLS, {"name": "p1", "monitor": "/Common/nosuch"}, "monitor_FK"),
        (
            VIRTUALS,
            {"name": "v3", "destination": "192.0.2.3:80", "sourceAddressTranslation": {"type": "snat", "pool": "x"}},
            "snatpool_FK",
        ),
    ]
    for path, body, index in cases:
        answer = await bigip.fails("POST", path, body, status=400)
        assert answer["message"].startswith("01070712:3: Values ("), answer
        assert f"foreign key index ({index})" in answer["message"], answer
    assert await names(bigip, VIRTUALS) == []
    assert await names(bigip, ADDRESSES) == []


async def test_a_second_virtual_on_the_same_destination_is_refused(bigip: Unit) -> None:
    await bigip.ok("POST", VIRTUALS, {"name": "v1", "destination": "192.0.2.1:80"})
    answer = await bigip.fails("POST", VIRTUALS, {"name": "v2", "destination": "/Common/192.0.2.1:80"}, status=400)
    assert answer["message"].startswith("01070333:3: Virtual Server /Common/v2 illegally shares destination address")
    await bigip.ok("POST", VIRTUALS, {"name": "v3", "destination": "192.0.2.1:80", "ipProtocol": "udp"})


async def test_common_objects_may_be_used_from_any_partition_others_not(bigip: Unit) -> None:
    await bigip.partition()
    await bigip.partition("other")
    await bigip.ok("POST", POOLS, {"name": "shared"})
    await bigip.ok("POST", POOLS, {"name": "theirs", "partition": "other"})
    await bigip.ok(
        "POST",
        VIRTUALS,
        {"name": "v1", "partition": PARTITION, "destination": "192.0.2.1:80", "pool": "/Common/shared"},
    )
    answer = await bigip.fails(
        "POST",
        VIRTUALS,
        {"name": "v2", "partition": PARTITION, "destination": "192.0.2.2:80", "pool": "/other/theirs"},
        status=400,
    )
    assert (
        answer["message"]
        == "01070726:3: Virtual Server /k8s/v2 in partition k8s cannot reference pool /other/theirs in partition other"
    )
    await bigip.ok("POST", NODES, {"name": "n1", "address": "10.0.0.1"})
    await bigip.ok("POST", POOLS, {"name": "p1", "partition": PARTITION, "members": [{"name": "/Common/n1:80"}]})
    common = await bigip.fails("POST", POOLS, {"name": "p2", "members": [{"name": "/k8s/10.0.0.7:80"}]}, status=400)
    assert common["message"].startswith(
        "01070726:3: Pool /Common/p2 in partition Common cannot reference node /k8s/10.0.0.7"
    )


async def test_a_member_on_an_address_that_another_node_holds_is_refused(bigip: Unit) -> None:
    await bigip.partition()
    await bigip.ok("POST", NODES, {"name": "web1", "partition": PARTITION, "address": "10.0.0.9"})
    await bigip.ok("POST", POOLS, {"name": "p1", "partition": PARTITION})
    link = f"{POOLS}/~{PARTITION}~p1/members"
    answer = await bigip.fails("POST", link, {"name": "10.0.0.9:80", "partition": PARTITION}, status=409)
    assert (
        answer["message"] == "01020066:3: The requested Node (/k8s/10.0.0.9 10.0.0.9) already exists in partition k8s."
    )
    await bigip.ok("POST", link, {"name": "web1:80", "partition": PARTITION})
    clash = await bigip.fails("POST", NODES, {"name": "web2", "address": "10.0.0.9"}, status=409)
    assert clash["message"] == "01020066:3: The requested Node (/Common/web2 10.0.0.9) already exists in partition k8s."


async def test_a_failed_request_leaves_nothing_behind(bigip: Unit) -> None:
    """A pool whose second inline member fails creates neither the pool nor the first member's node."""
    before = await bigip.control("GET", "state")
    await bigip.fails("POST", POOLS, {"name": "p1", "members": ["10.0.0.1:80", "bad name:80"]}, status=400)
    after = await bigip.control("GET", "state")
    assert after["objects"] == before["objects"]
    assert after["generation"] == before["generation"]


async def test_unknown_uris_and_methods(bigip: Unit) -> None:
    unknown = await bigip.fails("GET", "/mgmt/tm/ltm/nosuch", status=404)
    assert (unknown["message"], unknown["kind"]) == (
        "Public URI path not registered: /tm/ltm/nosuch",
        ":resterrorresponse",
    )
    await bigip.fails("DELETE", POOLS, status=405)
    await bigip.fails("POST", "/mgmt/tm/ltm/monitor/http", {"name": "mine"}, status=400)
    builtin = await bigip.ok("GET", "/mgmt/tm/ltm/monitor/http/~Common~http")
    assert builtin["kind"] == "tm:ltm:monitor:http:httpstate"


async def test_list_items_must_be_names_or_objects_with_a_name(bigip: Unit) -> None:
    members = await bigip.fails("POST", POOLS, {"name": "p1", "members": ["10.0.0.1:80", 7]}, status=400)
    assert members["message"] == 'invalid property value "members":7'
    not_a_list = await bigip.fails("POST", POOLS, {"name": "p1", "members": "10.0.0.1:80"}, status=400)
    assert not_a_list["message"] == 'invalid property value "members":"10.0.0.1:80"'
    virtual = {"name": "vs1", "destination": "192.0.2.10:443"}
    nameless = await bigip.fails("POST", VIRTUALS, virtual | {"profiles": [{"context": "all"}]}, status=400)
    assert nameless["message"] == 'invalid property value "profiles":{"context": "all"}'
    # Items are checked in order: a missing profile before a malformed one is what is reported.
    first = await bigip.fails("POST", VIRTUALS, virtual | {"profiles": ["nosuch", 7]}, status=400)
    assert "nosuch" in first["message"], first
    assert "profile_FK" in first["message"], first
    assert await names(bigip, POOLS) == []
    assert await names(bigip, VIRTUALS) == []
