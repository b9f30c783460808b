"""The mock ADC's DNS service, queried over real UDP and TCP with dnspython."""

from __future__ import annotations

import asyncio
import socket

import dns.asyncquery
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from mocks.adc import MockADC
from tests.conftest import Appliance


async def ask(mock: MockADC, name: str, rdtype: str = "A", *, tcp: bool = False) -> dns.message.Message:
    assert mock.dns_address is not None
    host, port = mock.dns_address
    query = dns.message.make_query(name, rdtype)
    if tcp:
        return await dns.asyncquery.tcp(query, host, port=port, timeout=3)
    return await dns.asyncquery.udp(query, host, port=port, timeout=3)


async def udp_exchange(address: tuple[str, int], packet: bytes) -> bytes | None:
    """Send raw bytes over UDP; the reply, or None after half a second of silence."""

    def exchange() -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.5)
            udp.sendto(packet, address)
            try:
                return udp.recvfrom(512)[0]
            except TimeoutError:
                return None

    return await asyncio.to_thread(exchange)


def addresses(response: dns.message.Message) -> list[str]:
    return sorted(item.to_text() for rrset in response.answer for item in rrset)


async def add_domain(adc: Appliance, name: str, kind: str, *addrs: str, ttl: int = 300) -> None:
    await adc.ok("POST", "dns/domain", {"name": name, "type": kind, "ttl": ttl, "addresses": list(addrs)})


async def test_a_and_aaaa_answers_with_ttl(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "www.example.com", "A+AAAA", "192.0.2.10", "192.0.2.11", "2001:db8::10", ttl=42)
    response = await ask(mock_adc, "WWW.example.com.", "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert addresses(response) == ["192.0.2.10", "192.0.2.11"]
    assert response.answer[0].ttl == 42
    assert addresses(await ask(mock_adc, "www.example.com", "AAAA")) == ["2001:db8::10"]
    assert addresses(await ask(mock_adc, "www.example.com", "ANY")) == ["192.0.2.10", "192.0.2.11", "2001:db8::10"]


async def test_missing_type_is_nodata_and_unknown_name_is_nxdomain(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "a.b.example.com", "A", "192.0.2.10")
    nodata = await ask(mock_adc, "a.b.example.com", "AAAA")
    assert (nodata.rcode(), nodata.answer) == (dns.rcode.NOERROR, [])
    assert (await ask(mock_adc, "a.b.example.com", "MX")).rcode() == dns.rcode.NOERROR
    # An empty non-terminal exists, with no data.
    assert (await ask(mock_adc, "b.example.com", "A")).rcode() == dns.rcode.NOERROR
    assert (await ask(mock_adc, "example.com", "A")).rcode() == dns.rcode.NOERROR
    assert (await ask(mock_adc, "c.example.com", "A")).rcode() == dns.rcode.NXDOMAIN
    assert (await ask(mock_adc, "example.org", "A")).rcode() == dns.rcode.NXDOMAIN


async def test_wildcards_cover_names_below_their_closest_encloser(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "*.apps.example.com", "A", "192.0.2.20")
    await add_domain(adc, "exact.apps.example.com", "A", "192.0.2.21")
    await add_domain(adc, "x.sub.apps.example.com", "A", "192.0.2.22")
    assert addresses(await ask(mock_adc, "foo.apps.example.com")) == ["192.0.2.20"]
    assert addresses(await ask(mock_adc, "deep.er.apps.example.com")) == ["192.0.2.20"]
    assert addresses(await ask(mock_adc, "exact.apps.example.com")) == ["192.0.2.21"]
    # sub.apps.example.com exists (as a parent of x.sub...), so the wildcard above it does not apply.
    assert (await ask(mock_adc, "y.sub.apps.example.com")).rcode() == dns.rcode.NXDOMAIN
    # The wildcard does not cover its own parent.
    assert (await ask(mock_adc, "apps.example.com")).answer == []


async def test_disabled_and_deleted_domains_stop_resolving(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "www.example.com", "A", "192.0.2.10")
    await adc.ok("PUT", "dns/domain/www.example.com", {"enable": False})
    assert (await ask(mock_adc, "www.example.com")).rcode() == dns.rcode.NXDOMAIN
    await adc.ok("PUT", "dns/domain/www.example.com", {"enable": True, "addresses": ["192.0.2.99"]})
    assert addresses(await ask(mock_adc, "www.example.com")) == ["192.0.2.99"]
    await adc.ok("DELETE", "dns/domain/www.example.com")
    assert (await ask(mock_adc, "www.example.com")).rcode() == dns.rcode.NXDOMAIN


async def test_large_answers_truncate_over_udp_and_complete_over_tcp(mock_adc: MockADC, adc: Appliance) -> None:
    many = [f"192.0.2.{index}" for index in range(1, 65)]
    await add_domain(adc, "big.example.com", "A", *many)
    udp = await ask(mock_adc, "big.example.com")
    assert udp.flags & dns.flags.TC
    assert udp.answer == []
    tcp = await ask(mock_adc, "big.example.com", tcp=True)
    assert addresses(tcp) == sorted(many)


async def test_tcp_serves_several_queries_on_one_connection(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "www.example.com", "A", "192.0.2.10")
    assert mock_adc.dns_address is not None
    reader, writer = await asyncio.open_connection(*mock_adc.dns_address)
    try:
        for _ in range(3):
            wire = dns.message.make_query("www.example.com", "A").to_wire()
            writer.write(len(wire).to_bytes(2, "big") + wire)
            length = int.from_bytes(await reader.readexactly(2), "big")
            reply = dns.message.from_wire(await reader.readexactly(length))
            assert addresses(reply) == ["192.0.2.10"]
    finally:
        writer.close()
        await writer.wait_closed()


async def test_garbage_gets_formerr_or_silence(mock_adc: MockADC) -> None:
    assert mock_adc.dns_address is not None
    reply = await udp_exchange(mock_adc.dns_address, b"\x12\x34\x01\x00" + b"\xff" * 20)
    assert reply is not None
    assert reply[:2] == b"\x12\x34"
    assert reply[3] & 0x0F == dns.rcode.FORMERR
    assert await udp_exchange(mock_adc.dns_address, b"\x00\x01") is None


async def test_reset_empties_the_dns_service(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "www.example.com", "A", "192.0.2.10")
    await adc.control("POST", "reset")
    assert (await ask(mock_adc, "www.example.com")).rcode() == dns.rcode.NXDOMAIN


async def test_other_opcodes_and_classes(mock_adc: MockADC) -> None:
    assert mock_adc.dns_address is not None
    host, port = mock_adc.dns_address
    notify = dns.message.make_query("www.example.com", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert (await dns.asyncquery.udp(notify, host, port=port, timeout=3)).rcode() == dns.rcode.NOTIMP
    chaos = dns.message.make_query("version.bind", "TXT", rdclass=dns.rdataclass.CH)
    assert (await dns.asyncquery.udp(chaos, host, port=port, timeout=3)).rcode() == dns.rcode.REFUSED


async def test_disabled_domains_neither_hide_wildcards_nor_make_parents_exist(
    mock_adc: MockADC, adc: Appliance
) -> None:
    await add_domain(adc, "*.w.example.com", "A", "192.0.2.30")
    await add_domain(adc, "off.w.example.com", "A", "192.0.2.31")
    await add_domain(adc, "x.lonely.example.org", "A", "192.0.2.32")
    for name in ("off.w.example.com", "x.lonely.example.org"):
        await adc.ok("PUT", f"dns/domain/{name}", {"enable": False})
    assert addresses(await ask(mock_adc, "off.w.example.com")) == ["192.0.2.30"]
    assert addresses(await ask(mock_adc, "a.off.w.example.com")) == ["192.0.2.30"]
    assert (await ask(mock_adc, "lonely.example.org")).rcode() == dns.rcode.NXDOMAIN
    await adc.ok("PUT", "dns/domain/x.lonely.example.org", {"enable": True})
    assert (await ask(mock_adc, "lonely.example.org")).rcode() == dns.rcode.NOERROR


async def test_zone_transfers_and_new_edns_versions_are_refused(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "www.example.com", "A", "192.0.2.10")
    assert mock_adc.dns_address is not None
    host, port = mock_adc.dns_address
    axfr = await dns.asyncquery.tcp(dns.message.make_query("example.com", "AXFR"), host, port=port, timeout=3)
    assert axfr.rcode() == dns.rcode.REFUSED
    assert not axfr.flags & dns.flags.AA
    future = dns.message.make_query("www.example.com", "A", use_edns=1)
    reply = await dns.asyncquery.udp(future, host, port=port, timeout=3)
    assert reply.rcode() == dns.rcode.BADVERS
    assert reply.answer == []


async def test_a_response_packet_gets_no_answer(mock_adc: MockADC) -> None:
    assert mock_adc.dns_address is not None
    packet = dns.message.make_response(dns.message.make_query("www.example.com", "A")).to_wire()
    assert await udp_exchange(mock_adc.dns_address, packet) is None
