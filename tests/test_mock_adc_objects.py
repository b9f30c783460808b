"""The mock ADC's object API over real HTTP: every route, field rule and failure code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Appliance, make_pool

ALREADY_EXISTS, NOT_FOUND, IN_USE, DUPLICATE, REFERENCE = 2001, 2002, 2003, 2004, 2005
INVALID, MISSING, UNKNOWN, READ_ONLY = 1002, 1003, 1004, 1005


async def test_node_lifecycle(adc: Appliance) -> None:
    created = await adc.ok("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1", "description": "d"})
    assert created["name"] == "n1"
    assert created["ip"] == "10.0.0.1"
    assert created["enable"] is True
    assert len(created["uuid"]) == 36
    assert await adc.ok("GET", "slb/node/n1") == created
    updated = await adc.ok("PUT", "slb/node/n1", {"enable": False, "ip": "10.0.0.9"})
    assert updated == {**created, "enable": False, "ip": "10.0.0.9"}
    assert await adc.ok("DELETE", "slb/node/n1") == {}
    await adc.fails("GET", "slb/node/n1", code=NOT_FOUND)


async def test_business_failures_answer_http_200(adc: Appliance) -> None:
    await adc.ok("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})
    failure = await adc.fails("POST", "slb/node", {"name": "n1", "ip": "10.0.0.2"}, code=ALREADY_EXISTS, http=200)
    assert "already exists" in failure["msg"]


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("slb/node", {"name": "n1"}, MISSING, "ip"),
        ("slb/node", {"ip": "10.0.0.1"}, MISSING, "name"),
        ("slb/node", {"name": "n1", "ip": "10.0.0.256"}, INVALID, "ip"),
        ("slb/node", {"name": "n1", "ip": "0.0.0.0"}, INVALID, "ip"),
        ("slb/node", {"name": "n1", "ip": "::"}, INVALID, "ip"),
        ("slb/node", {"name": "n1", "ip": "224.0.0.1"}, INVALID, "ip"),
        ("slb/node", {"name": "n1", "ip": "255.255.255.255"}, INVALID, "ip"),
        ("slb/node", {"name": "n1", "ip": "fe80::1%eth0"}, INVALID, "ip"),
        ("slb/node", {"name": "n1\n", "ip": "10.0.0.1"}, INVALID, "name"),
        ("slb/node", {"name": "-bad", "ip": "10.0.0.1"}, INVALID, "name"),
        ("slb/node", {"name": "n" * 128, "ip": "10.0.0.1"}, INVALID, "name"),
        ("slb/node", {"name": "n1", "ip": "10.0.0.1", "enable": "true"}, INVALID, "enable"),
        ("slb/node", {"name": "n1", "ip": "10.0.0.1", "description": "x" * 256}, INVALID, "description"),
        ("slb/node", {"name": "n1", "ip": "10.0.0.1", "colour": "red"}, UNKNOWN, "colour"),
        ("slb/node", {"name": "n1", "ip": "10.0.0.1", "uuid": "x"}, READ_ONLY, "uuid"),
        ("slb/pool", {"name": "p1", "method": "random"}, INVALID, "method"),
        ("slb/pool", {"name": "p1", "healthcheck": "tcp"}, INVALID, "healthcheck"),
        ("slb/pool", {"name": "p1", "healthcheck": ["tcp", "tcp"]}, INVALID, "healthcheck"),
        ("slb/pool", {"name": "p1", "healthcheck": ["ping"]}, REFERENCE, "healthcheck"),
        ("slb/pool", {"name": "p1", "rservers": []}, READ_ONLY, "rservers"),
        ("slb/vserver", {"name": "v", "vip": "192.0.2.1", "protocol": "tcp", "pool": "p"}, INVALID, "vip"),
        ("slb/vserver", {"name": "v", "vip": "192.0.2.1:0", "protocol": "tcp", "pool": "p"}, INVALID, "vip"),
        ("slb/vserver", {"name": "v", "vip": "192.0.2.1:65536", "protocol": "tcp", "pool": "p"}, INVALID, "vip"),
        ("slb/vserver", {"name": "v", "vip": "2001:db8::1:80", "protocol": "tcp", "pool": "p"}, INVALID, "vip"),
        ("slb/vserver", {"name": "v", "vip": "192.0.2.1:\u0668\u0660", "protocol": "tcp", "pool": "p"}, INVALID, "vip"),
        ("slb/vserver", {"name": "v", "vip": "192.0.2.1:\u00b2", "protocol": "tcp", "pool": "p"}, INVALID, "vip"),
        ("slb/vserver", {"name": "v", "vip": "192.0.2.1:80", "protocol": "sctp", "pool": "p"}, INVALID, "protocol"),
        ("slb/vserver", {"name": "v", "vip": "192.0.2.1:80", "protocol": "tcp", "pool": "nope"}, REFERENCE, "pool"),
        ("dns/domain", {"name": "bad_host.example.com", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "localhost", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "a.*.example.com", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "-a.example.com", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "bücher.example", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "\u212a.example.com", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "www.example.com\n", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "s.example.com", "type": "AAAA", "addresses": ["fe80::1%eth0"]}, INVALID, "addresses"),
        ("dns/domain", {"name": f"{'a' * 64}.example.com", "type": "A", "addresses": ["192.0.2.1"]}, INVALID, "name"),
        ("dns/domain", {"name": "a.example.com", "type": "MX", "addresses": ["192.0.2.1"]}, INVALID, "type"),
        ("dns/domain", {"name": "a.example.com", "type": "A", "addresses": []}, INVALID, "addresses"),
        ("dns/domain", {"name": "a.example.com", "type": "A", "addresses": ["2001:db8::1"]}, INVALID, "addresses"),
        ("dns/domain", {"name": "a.example.com", "type": "AAAA", "addresses": ["192.0.2.1"]}, INVALID, "addresses"),
        ("dns/domain", {"name": "a.example.com", "type": "A", "addresses": ["192.0.2.1"] * 2}, INVALID, "addresses"),
        ("dns/domain", {"name": "a.example.com", "type": "A", "ttl": 0, "addresses": ["192.0.2.1"]}, INVALID, "ttl"),
    ],
)
async def test_validation_names_the_field(
    adc: Appliance, path: str, body: dict[str, Any], code: int, field: str
) -> None:
    failure = await adc.fails("POST", path, body, code=code)
    assert failure["data"] == {"field": field}
    assert field in failure["msg"]
    assert (await adc.ok("GET", path))["total"] == 0


async def test_normalisation_of_addresses_and_domain_names(adc: Appliance) -> None:
    node = await adc.ok("POST", "slb/node", {"name": "n6", "ip": "2001:DB8:0::1"})
    assert node["ip"] == "2001:db8::1"
    domain = await adc.ok("POST", "dns/domain", {"name": "WWW.Example.COM.", "type": "A", "addresses": ["192.0.2.1"]})
    assert domain["name"] == "www.example.com"
    assert domain["ttl"] == 300
    assert (await adc.ok("GET", "dns/domain/Www.Example.com."))["uuid"] == domain["uuid"]
    await adc.fails(
        "POST", "dns/domain", {"name": "www.example.com", "type": "A", "addresses": ["192.0.2.2"]}, code=ALREADY_EXISTS
    )
    wildcard = {"name": "*.apps.example.com", "type": "A+AAAA", "addresses": ["192.0.2.1", "2001:db8::10"]}
    assert (await adc.ok("POST", "dns/domain", wildcard))["type"] == "A+AAAA"


async def test_ipv6_vip_is_bracketed_and_normalised(adc: Appliance) -> None:
    await make_pool(adc)
    body = {"name": "v6", "vip": "[2001:DB8::0:1]:443", "protocol": "https", "pool": "p1"}
    assert (await adc.ok("POST", "slb/vserver", body))["vip"] == "[2001:db8::1]:443"


async def test_unique_values_are_enforced(adc: Appliance) -> None:
    await adc.ok("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})
    failure = await adc.fails("POST", "slb/node", {"name": "n2", "ip": "10.0.0.1"}, code=DUPLICATE)
    assert failure["data"] == {"field": "ip"}
    await make_pool(adc, "p1", nodes=0)
    vserver = {"name": "v1", "vip": "192.0.2.1:80", "protocol": "tcp", "pool": "p1"}
    await adc.ok("POST", "slb/vserver", vserver)
    await adc.fails("POST", "slb/vserver", {**vserver, "name": "v2"}, code=DUPLICATE)
    await adc.ok("POST", "slb/vserver", {**vserver, "name": "v3", "protocol": "udp"})
    await adc.fails("PUT", "slb/vserver/v3", {"protocol": "tcp"}, code=DUPLICATE)
    # Changing a value frees the old one for others.
    await adc.ok("PUT", "slb/node/n1", {"ip": "10.0.0.2"})
    await adc.ok("POST", "slb/node", {"name": "n2", "ip": "10.0.0.1"})


async def test_referential_integrity(adc: Appliance) -> None:
    await make_pool(adc, "p1", nodes=2)
    await adc.ok("POST", "slb/vserver", {"name": "v1", "vip": "192.0.2.1:80", "protocol": "tcp", "pool": "p1"})
    in_use = await adc.fails("DELETE", "slb/node/n0", code=IN_USE)
    assert "p1/n0:30080" in in_use["msg"]
    await adc.fails("DELETE", "slb/pool/p1", code=IN_USE)
    await adc.fails("POST", "slb/pool/p1/rserver", {"node": "ghost", "port": 80}, code=REFERENCE)
    await adc.fails("POST", "slb/pool/nope/rserver", {"node": "n0", "port": 80}, code=NOT_FOUND)
    await adc.fails("PUT", "slb/vserver/v1", {"pool": "nope"}, code=REFERENCE)
    await adc.ok("DELETE", "slb/vserver/v1")
    # Deleting a pool takes its members with it and frees their nodes.
    await adc.ok("DELETE", "slb/pool/p1")
    await adc.ok("DELETE", "slb/node/n0")
    await adc.ok("DELETE", "slb/node/n1")


async def test_pool_members(adc: Appliance) -> None:
    await make_pool(adc, "p1", nodes=2)
    members = await adc.ok("GET", "slb/pool/p1/rserver")
    assert [member["name"] for member in members["rserver"]] == ["n0:30080", "n1:30080"]
    pool = await adc.ok("GET", "slb/pool/p1")
    assert pool["rservers"] == members["rserver"]
    await adc.fails("POST", "slb/pool/p1/rserver", {"node": "n0", "port": 30080}, code=ALREADY_EXISTS)
    await adc.ok("POST", "slb/pool/p1/rserver", {"node": "n0", "port": 30443, "weight": 5})
    member = await adc.ok("PUT", "slb/pool/p1/rserver/n0:30443", {"enable": False, "weight": 7})
    assert (member["enable"], member["weight"]) == (False, 7)
    await adc.fails("PUT", "slb/pool/p1/rserver/n0:30443", {"port": 1}, code=READ_ONLY)
    await adc.fails("PUT", "slb/pool/p1/rserver/n0:30443", {"weight": 0}, code=INVALID)
    await adc.ok("DELETE", "slb/pool/p1/rserver/n0:30443")
    await adc.fails("GET", "slb/pool/p1/rserver/n0:30443", code=NOT_FOUND)


async def test_get_modify_put_round_trip(adc: Appliance) -> None:
    """A client may send back what it read: read-only fields are accepted when unchanged."""
    await make_pool(adc, "p1", nodes=1)
    pool = await adc.ok("GET", "slb/pool/p1")
    assert (await adc.ok("PUT", "slb/pool/p1", {**pool, "method": "lc"}))["method"] == "lc"
    await adc.fails("PUT", "slb/pool/p1", {**pool, "uuid": "other"}, code=READ_ONLY)
    await adc.fails("PUT", "slb/pool/p1", {"name": "renamed"}, code=READ_ONLY)
    member = await adc.ok("GET", "slb/pool/p1/rserver/n0:30080")
    await adc.ok("PUT", "slb/pool/p1/rserver/n0:30080", member)


async def test_failed_write_changes_nothing(adc: Appliance) -> None:
    await adc.ok("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})
    before = await adc.control("GET", "state")
    await adc.fails("PUT", "slb/node/n1", {"description": "new", "ip": "bogus"}, code=INVALID)
    assert await adc.control("GET", "state") == before


async def test_healthchecks_are_built_in_and_read_only(adc: Appliance) -> None:
    checks = await adc.ok("GET", "slb/healthcheck")
    assert [check["name"] for check in checks["healthcheck"]] == ["tcp", "http", "icmp"]
    assert (await adc.ok("GET", "slb/healthcheck/http"))["type"] == "http"
    response = await adc.call("DELETE", "slb/healthcheck/tcp")
    assert response.status_code == 405
    assert response.json()["res"]["code"] == 4050


async def test_paging_and_name_filter(adc: Appliance) -> None:
    for index in range(120):
        await adc.ok("POST", "slb/node", {"name": f"n{index:03}", "ip": f"10.0.{index // 250}.{index % 250 + 1}"})
    first = await adc.ok("GET", "slb/node")
    assert (first["total"], first["page"], first["page_size"], len(first["node"])) == (120, 1, 50, 50)
    third = await adc.ok("GET", "slb/node", page=3, page_size=50)
    assert [node["name"] for node in third["node"]] == [f"n{index:03}" for index in range(100, 120)]
    beyond = await adc.ok("GET", "slb/node", page=9, page_size=50)
    assert (beyond["node"], beyond["total"]) == ([], 120)
    clamped = await adc.ok("GET", "slb/node", page_size=10_000)
    assert clamped["page_size"] == 500
    only = await adc.ok("GET", "slb/node", name="n007")
    assert [node["name"] for node in only["node"]] == ["n007"]
    assert only["total"] == 1
    for bad in ("0", "x", "\u00b2", "-1"):
        response = await adc.call("GET", "slb/node", page=bad)
        assert response.json()["res"]["code"] == INVALID
        assert response.json()["data"] == {"field": "page"}


async def test_malformed_bodies_and_unknown_routes(adc: Appliance) -> None:
    response = await adc.http.post("/adc/v3.0/slb/node", content=b"{not json", headers=adc.headers())
    assert (response.status_code, response.json()["res"]["code"]) == (400, 1001)
    response = await adc.http.post("/adc/v3.0/slb/node", json=[1, 2], headers=adc.headers())
    assert (response.status_code, response.json()["res"]["code"]) == (400, 1001)
    response = await adc.http.get("/adc/v3.0/slb/teapot", headers=adc.headers())
    assert (response.status_code, response.json()["res"]["code"]) == (404, 4040)
    response = await adc.http.patch("/adc/v3.0/slb/node/n1", json={}, headers=adc.headers())
    assert (response.status_code, response.json()["res"]["code"]) == (405, 4050)
    for hostile in (b"[" * 200_000, b'{"name": 1' + b"0" * 5000 + b"}", b"\xff\xfe", b'{"name": NaN}'):
        response = await adc.http.post("/adc/v3.0/slb/node", content=hostile, headers=adc.headers())
        assert (response.status_code, response.json()["res"]["code"]) == (400, 1001)
    too_large = {"name": "n1", "ip": "10.0.0.1", "description": "x" * (2 * 1024 * 1024)}
    response = await adc.http.post("/adc/v3.0/slb/node", json=too_large, headers=adc.headers())
    assert (response.status_code, response.json()["res"]["code"]) == (413, 1001)
    assert (await adc.ok("GET", "slb/node"))["total"] == 0


async def test_standby_refuses_writes_but_serves_reads(adc: Appliance) -> None:
    await adc.ok("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})
    await adc.control("POST", "role", {"role": "standby"})
    assert (await adc.ok("GET", "system/info"))["ha_role"] == "standby"
    failure = await adc.fails("POST", "slb/node", {"name": "n2", "ip": "10.0.0.2"}, code=3001, http=200)
    assert "standby" in failure["msg"]
    await adc.fails("PUT", "slb/node/n1", {"enable": False}, code=3001)
    await adc.fails("DELETE", "slb/node/n1", code=3001)
    assert (await adc.ok("GET", "slb/node"))["node"][0]["enable"] is True
    # Sessions keep working on a standby unit; refused writes are in the change log.
    await adc.ok("POST", "logout")
    await adc.login()
    changes = (await adc.control("GET", "changes"))["changes"]
    assert [(c["method"], c["name"], c["code"]) for c in changes[1:]] == [
        ("POST", "n2", 3001),
        ("PUT", "n1", 3001),
        ("DELETE", "n1", 3001),
    ]
    await adc.control("POST", "role", {"role": "active"})
    await adc.ok("POST", "slb/node", {"name": "n2", "ip": "10.0.0.2"})


async def test_failover_may_drop_every_session(adc: Appliance) -> None:
    assert (await adc.control("POST", "role", {"role": "standby", "drop_sessions": True}))["dropped_sessions"] == 1
    assert (await adc.call("GET", "slb/node")).status_code == 401


async def test_change_log_records_every_mutating_request(adc: Appliance) -> None:
    await make_pool(adc, "p1", nodes=1)
    await adc.ok("GET", "slb/pool")
    await adc.fails("DELETE", "slb/node/n0", code=IN_USE)
    await adc.ok("DELETE", "slb/pool/p1/rserver/n0:30080")
    response = await adc.http.post("/adc/v3.0/slb/node", content=b"{", headers=adc.headers())
    assert response.status_code == 400
    changes = (await adc.control("GET", "changes"))["changes"]
    assert [(c["seq"], c["method"], c["kind"], c["name"], c["code"]) for c in changes] == [
        (1, "POST", "slb/pool", "p1", 0),
        (2, "POST", "slb/node", "n0", 0),
        (3, "POST", "slb/pool/rserver", "p1/n0:30080", 0),
        (4, "DELETE", "slb/node", "n0", IN_USE),
        (5, "DELETE", "slb/pool/rserver", "p1/n0:30080", 0),
        (6, "POST", "slb/node", "?", 1001),
    ]
    later = await adc.control("GET", "changes?since=3")
    assert [change["seq"] for change in later["changes"]] == [4, 5, 6]


async def test_state_stats_and_reset_controls(adc: Appliance) -> None:
    await make_pool(adc, "p1", nodes=2)
    state = await adc.control("GET", "state")
    assert state["counts"] == {
        "slb/healthcheck": 3,
        "slb/node": 2,
        "slb/pool": 1,
        "slb/vserver": 0,
        "dns/domain": 0,
        "slb/pool/rserver": 2,
    }
    assert [member["name"] for member in state["rservers"]["p1"]] == ["n0:30080", "n1:30080"]
    assert [check["name"] for check in state["objects"]["slb/healthcheck"]] == ["tcp", "http", "icmp"]
    assert (state["role"], state["sessions"]) == ("active", 1)
    stats = await adc.control("GET", "stats")
    assert stats["requests"]["POST"] == 6  # login, pool, 2 nodes, 2 members
    await adc.control("POST", "reset")
    state = await adc.control("GET", "state")
    assert state["objects"]["slb/node"] == []
    assert state["sessions"] == 0
    assert (await adc.control("GET", "changes"))["total"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "changes?since=x", None, "since"),
        ("POST", "role", {"role": "primary"}, "role"),
        ("POST", "clock", {"advance": -5}, "advance"),
        ("POST", "role", {"role": "standby", "drop_sessions": "yes"}, "drop_sessions"),
        ("POST", "faults", {"rules": [], "seed": "x"}, "seed"),
    ],
)
async def test_mock_controls_reject_bad_input(adc: Appliance, method: str, path: str, body: Any, field: str) -> None:
    response = await adc.http.request(method, f"/_mock/{path}", json=body)
    assert response.json()["res"]["code"] == INVALID
    assert response.json()["data"] == {"field": field}
