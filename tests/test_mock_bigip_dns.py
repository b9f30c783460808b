"""BIG-IP DNS on the emulated unit: GTM objects over REST, and its DNS listener answering
wide IPs with the addresses of their pools' virtual servers, over UDP and TCP."""

from __future__ import annotations

import dns.asyncquery
import dns.message
import dns.rcode

from mocks.bigip import MockBigIP
from tests.bigip_fixtures import PARTITION, Unit

GTM = "/mgmt/tm/gtm"


async def ask(mock: MockBigIP, name: str, rdtype: str = "A", *, tcp: bool = False) -> dns.message.Message:
    assert mock.dns_address is not None
    host, port = mock.dns_address
    query = dns.message.make_query(name, rdtype)
    if tcp:
        return await dns.asyncquery.tcp(query, host, port=port, timeout=3)
    return await dns.asyncquery.udp(query, host, port=port, timeout=3)


def addresses(response: dns.message.Message) -> list[str]:
    return sorted(item.to_text() for rrset in response.answer for item in rrset)


async def operator_setup(bigip: Unit) -> None:
    """What an operator makes first: datacenter and the server that stands for this unit."""
    await bigip.ok("POST", f"{GTM}/datacenter", {"name": "dc1", "partition": "Common"})
    server = {"name": "bigip1", "partition": "Common", "datacenter": "/Common/dc1", "addresses": [{"name": "10.1.0.1"}]}
    await bigip.ok("POST", f"{GTM}/server", server)
    await bigip.partition()


async def publish(bigip: Unit, host: str, vip: str, *, rtype: str = "a", ttl: int = 30) -> None:
    """One virtual server entry, one pool, one wide IP, as a client of the unit makes them."""
    separator = "." if ":" in vip else ":"
    entry = f"vs_{vip.replace(':', '_').replace('.', '_')}"
    await bigip.ok(
        "POST", f"{GTM}/server/~Common~bigip1/virtual-servers", {"name": entry, "destination": f"{vip}{separator}443"}
    )
    pool = f"pool_{rtype}_{entry}"
    await bigip.ok("POST", f"{GTM}/pool/{rtype}", {"name": pool, "partition": PARTITION, "ttl": ttl})
    await bigip.ok(
        "POST", f"{GTM}/pool/{rtype}/~{PARTITION}~{pool}/members", {"name": f"bigip1:{entry}", "partition": "Common"}
    )
    wideip = {"name": host, "partition": PARTITION, "pools": [{"name": pool, "partition": PARTITION}]}
    await bigip.ok("POST", f"{GTM}/wideip/{rtype}", wideip)


async def test_gtm_objects_carry_their_kinds_and_links(bigip: Unit) -> None:
    await operator_setup(bigip)
    await publish(bigip, "app.example.com", "192.0.2.10")
    server = await bigip.ok("GET", f"{GTM}/server/~Common~bigip1?expandSubcollections=true")
    entries = server["virtualServersReference"]["items"]
    assert [(item["name"], item["fullPath"], item["destination"]) for item in entries] == [
        ("vs_192_0_2_10", "vs_192_0_2_10", "192.0.2.10:443")
    ]
    assert entries[0]["selfLink"].startswith(
        "https://localhost/mgmt/tm/gtm/server/~Common~bigip1/virtual-servers/vs_192_0_2_10?"
    )
    member = await bigip.ok(
        "GET", f"{GTM}/pool/a/~{PARTITION}~pool_a_vs_192_0_2_10/members/~Common~bigip1:vs_192_0_2_10"
    )
    assert (member["kind"], member["fullPath"]) == (
        "tm:gtm:pool:a:members:membersstate",
        "/Common/bigip1:vs_192_0_2_10",
    )
    wideip = await bigip.ok("GET", f"{GTM}/wideip/a/~{PARTITION}~app.example.com")
    assert wideip["kind"] == "tm:gtm:wideip:a:astate"
    assert [(pool["name"], pool["partition"], pool["order"]) for pool in wideip["pools"]] == [
        ("pool_a_vs_192_0_2_10", PARTITION, 0)
    ]


async def test_gtm_rules_a_unit_enforces(bigip: Unit) -> None:
    await operator_setup(bigip)
    await publish(bigip, "app.example.com", "192.0.2.10")
    outside = await bigip.fails("POST", f"{GTM}/datacenter", {"name": "dc2", "partition": PARTITION}, status=400)
    assert "must be in partition Common" in outside["message"]
    twin = await bigip.fails("POST", f"{GTM}/wideip/a", {"name": "app.example.com", "partition": "Common"}, status=409)
    assert (
        twin["message"]
        == "01020066:3: The requested Wide IP (/Common/app.example.com A) already exists in partition k8s."
    )
    await bigip.ok("POST", f"{GTM}/pool/aaaa", {"name": "v6", "partition": PARTITION})
    mismatch = f"{GTM}/pool/aaaa/~{PARTITION}~v6/members"
    await bigip.fails("POST", mismatch, {"name": "bigip1:vs_192_0_2_10", "partition": "Common"}, status=400)
    await bigip.fails(
        "POST",
        f"{GTM}/wideip/a",
        {"name": "x.example.com", "partition": PARTITION, "pools": [{"name": "nope"}]},
        status=400,
    )
    await bigip.fails("DELETE", f"{GTM}/pool/a/~{PARTITION}~pool_a_vs_192_0_2_10", status=400)
    await bigip.fails("DELETE", f"{GTM}/server/~Common~bigip1/virtual-servers/vs_192_0_2_10", status=400)
    await bigip.fails("POST", f"{GTM}/wideip/a", {"name": "not a name", "partition": PARTITION}, status=400)


async def test_wide_ips_answer_with_their_virtual_servers_and_pool_ttl(mock_bigip: MockBigIP, bigip: Unit) -> None:
    await operator_setup(bigip)
    await publish(bigip, "app.example.com", "192.0.2.10", ttl=45)
    await publish(bigip, "app.example.com", "2001:db8::10", rtype="aaaa", ttl=60)
    answer = await ask(mock_bigip, "APP.example.com.")
    assert answer.rcode() == dns.rcode.NOERROR
    assert addresses(answer) == ["192.0.2.10"]
    assert answer.answer[0].ttl == 45
    over_tcp = await ask(mock_bigip, "app.example.com", "AAAA", tcp=True)
    assert addresses(over_tcp) == ["2001:db8::10"]
    assert over_tcp.answer[0].ttl == 60
    assert addresses(await ask(mock_bigip, "app.example.com", "ANY")) == ["192.0.2.10", "2001:db8::10"]


async def test_names_without_an_enabled_wide_ip_do_not_exist(mock_bigip: MockBigIP, bigip: Unit) -> None:
    await operator_setup(bigip)
    await publish(bigip, "app.example.com", "192.0.2.10")
    assert (await ask(mock_bigip, "other.example.com")).rcode() == dns.rcode.NXDOMAIN
    nodata = await ask(mock_bigip, "app.example.com", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR
    assert nodata.answer == []
    await bigip.ok("PATCH", f"{GTM}/wideip/a/~{PARTITION}~app.example.com", {"disabled": True})
    assert (await ask(mock_bigip, "app.example.com")).rcode() == dns.rcode.NXDOMAIN


async def test_a_disabled_member_leaves_the_name_without_addresses(mock_bigip: MockBigIP, bigip: Unit) -> None:
    await operator_setup(bigip)
    await publish(bigip, "app.example.com", "192.0.2.10")
    member = f"{GTM}/pool/a/~{PARTITION}~pool_a_vs_192_0_2_10/members/~Common~bigip1:vs_192_0_2_10"
    await bigip.ok("PATCH", member, {"disabled": True})
    empty = await ask(mock_bigip, "app.example.com")
    assert empty.rcode() == dns.rcode.NOERROR
    assert empty.answer == []
