"""A real BIND 9 answering RFC 2136 updates and TSIG-signed transfers: the fixture's own tests,
and a record of how BIND 9.18 and dnspython (2.9, async API) report each failure, which the
bridge's DNS error handling is built on:

- wrong secret for a known key name: named answers NOTAUTH with TSIG error BADSIG, unsigned;
  dnspython raises ``dns.tsig.PeerBadSignature`` ("The peer didn't like the signature we sent")
  while reading the response — no response message is returned. Same for updates and AXFR.
- unknown key name: NOTAUTH/BADKEY; dnspython raises ``dns.tsig.PeerBadKey``.
  (Both are ``dns.tsig.PeerError``, a ``dns.exception.DNSException``.)
- a valid key the zone does not allow, an unsigned update, or ``allow-update { none; }``:
  a signed (when the request was) response with rcode REFUSED.
- an update for a zone the server does not serve: rcode NOTAUTH (signed, no TSIG error).
- a transfer the zone does not allow (``allow-transfer { none; }`` or an unsigned request):
  ``dns.asyncquery.inbound_xfr`` raises ``dns.xfr.TransferError("Zone transfer error: REFUSED")``.
- prerequisites: ``present(name, rdtype, value)`` unmet -> NXRRSET; ``absent(name, rdtype)``
  on an existing rrset -> YXRRSET; ``absent(name)`` on a name in use -> YXDOMAIN;
  ``present(name)`` on an unused name -> NXDOMAIN. The update is then not applied at all.
"""

from __future__ import annotations

import socket

import dns.asyncquery
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.update
import dns.xfr
import dns.zone
import pytest

from mocks import bind as bind_server
from tests.bind_server import ALGORITHMS, BindServer, StartBind, TsigKey, ZoneSpec, bind, start_bind

__all__ = ["bind", "start_bind"]  # fixtures


def update_for(server: BindServer, zone: str = "example.test", key: TsigKey | None = None) -> dns.update.UpdateMessage:
    """An update for ``zone`` signed with ``key`` (the server's own by default)."""
    key = key or server.tsig
    return dns.update.UpdateMessage(zone, keyring=key.keyring, keyname=key.tsig_key.name, keyalgorithm=key.algorithm)


async def send(server: BindServer, message: dns.message.Message) -> dns.message.Message:
    return await dns.asyncquery.tcp(message, server.host, port=server.port, timeout=5)


async def transfer(server: BindServer, zone: str, key: TsigKey | None) -> dns.zone.Zone:
    """AXFR ``zone`` into a fresh ``dns.zone.Zone``, signed with ``key`` unless None."""
    into = dns.zone.Zone(zone)
    if key is None:
        query, _ = dns.xfr.make_query(into)
    else:
        query, _ = dns.xfr.make_query(into, keyring=key.keyring, keyname=key.tsig_key.name, keyalgorithm=key.algorithm)
    await dns.asyncquery.inbound_xfr(server.host, into, query, port=server.port, timeout=5, lifetime=10)
    return into


async def addresses(server: BindServer, name: str) -> list[str]:
    response = await server.query(name, "A")
    return sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)


async def test_the_zone_answers_its_soa_on_loopback(bind: BindServer) -> None:
    response = await bind.query("example.test", "SOA")
    assert (response.rcode(), response.flags & dns.flags.AA) == (dns.rcode.NOERROR, dns.flags.AA)
    [soa] = response.answer
    assert soa[0].mname == dns.name.from_text("ns.example.test")
    assert bind.host == "127.0.0.1"
    assert bind.start_seconds < 5
    assert bind.algorithm == "hmac-sha256"
    assert bind.keyring == {dns.name.from_text(bind.key_name): bind.tsig_key}


async def test_a_signed_update_adds_a_record_that_queries_and_transfers_see(bind: BindServer) -> None:
    update = update_for(bind)
    update.add("www", 300, "A", "192.0.2.1")
    response = await send(bind, update)
    assert (response.rcode(), response.had_tsig) == (dns.rcode.NOERROR, True)

    assert await addresses(bind, "www.example.test") == ["192.0.2.1"]
    zone = await transfer(bind, "example.test", bind.tsig)
    assert zone.get_rdataset("www", "A") is not None
    assert zone.get_rdataset("www", "A")[0].to_text() == "192.0.2.1"  # type: ignore[index]
    assert zone.get_rdataset("@", "SOA")[0].serial == 2  # type: ignore[index]
    assert sorted(zone.nodes) == sorted(dns.name.from_text(name, None) for name in ("@", "ns", "www"))


@pytest.mark.parametrize(
    ("same_name", "error"),
    [(True, dns.tsig.PeerBadSignature), (False, dns.tsig.PeerBadKey)],
    ids=["wrong-secret-BADSIG", "unknown-key-BADKEY"],
)
async def test_a_wrong_key_raises_a_tsig_peer_error_and_changes_nothing(
    bind: BindServer, same_name: bool, error: type[dns.tsig.PeerError]
) -> None:
    wrong = bind.wrong_key(same_name=same_name)
    update = update_for(bind, key=wrong)
    update.add("www", 300, "A", "192.0.2.1")
    with pytest.raises(error):
        await send(bind, update)
    with pytest.raises(error):  # over UDP too
        await dns.asyncquery.udp(update, bind.host, port=bind.port, timeout=5)
    with pytest.raises(error):
        await transfer(bind, "example.test", wrong)
    assert await addresses(bind, "www.example.test") == []


async def test_a_known_key_the_zone_does_not_allow_and_an_unsigned_update_are_refused(
    start_bind: StartBind,
) -> None:
    stranger = TsigKey.random("known-but-not-allowed")
    async with start_bind([ZoneSpec("example.test")], extra_keys=[stranger]) as server:
        update = update_for(server, key=stranger)
        update.add("www", 300, "A", "192.0.2.1")
        response = await send(server, update)
        assert (dns.rcode.to_text(response.rcode()), response.had_tsig) == ("REFUSED", True)

        unsigned = dns.update.UpdateMessage("example.test")
        unsigned.add("www", 300, "A", "192.0.2.1")
        assert (await send(server, unsigned)).rcode() == dns.rcode.REFUSED
        assert await addresses(server, "www.example.test") == []


async def test_a_zone_closed_to_updates_and_transfers_refuses_both(start_bind: StartBind) -> None:
    locked = ZoneSpec("locked.test", allow_update=False, allow_transfer=False, records=["www IN A 192.0.2.9"])
    async with start_bind([locked]) as server:
        update = update_for(server, "locked.test")
        update.replace("www", 300, "A", "192.0.2.1")
        response = await send(server, update)
        assert (dns.rcode.to_text(response.rcode()), response.had_tsig) == ("REFUSED", True)
        assert await addresses(server, "www.locked.test") == ["192.0.2.9"]

        with pytest.raises(dns.xfr.TransferError, match=r"^Zone transfer error: REFUSED$"):
            await transfer(server, "locked.test", server.tsig)


async def test_an_unsigned_transfer_of_an_open_zone_is_refused(bind: BindServer) -> None:
    with pytest.raises(dns.xfr.TransferError, match=r"^Zone transfer error: REFUSED$"):
        await transfer(bind, "example.test", None)


async def test_an_update_for_a_zone_the_server_does_not_serve_is_notauth(bind: BindServer) -> None:
    update = update_for(bind, "elsewhere.test")
    update.add("www", 300, "A", "192.0.2.1")
    response = await send(bind, update)
    assert (dns.rcode.to_text(response.rcode()), response.had_tsig) == ("NOTAUTH", True)


@pytest.mark.parametrize(
    ("prerequisite", "rcode"),
    [
        (lambda u: u.present("www", "A", "192.0.2.7"), "NXRRSET"),  # value differs
        (lambda u: u.absent("www", "A"), "YXRRSET"),
        (lambda u: u.absent("www"), "YXDOMAIN"),
        (lambda u: u.present("nothing-here"), "NXDOMAIN"),
    ],
    ids=["present-value-NXRRSET", "absent-rrset-YXRRSET", "absent-name-YXDOMAIN", "present-name-NXDOMAIN"],
)
async def test_an_unmet_prerequisite_names_its_rcode_and_applies_nothing(
    start_bind: StartBind, prerequisite: object, rcode: str
) -> None:
    async with start_bind([ZoneSpec("example.test", records=["www IN A 192.0.2.1"])]) as server:
        update = update_for(server)
        prerequisite(update)  # type: ignore[operator]
        update.add("new", 300, "A", "192.0.2.3")
        response = await send(server, update)
        assert dns.rcode.to_text(response.rcode()) == rcode
        assert await addresses(server, "new.example.test") == []


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_every_hmac_algorithm_signs_updates(start_bind: StartBind, algorithm: str) -> None:
    async with start_bind([ZoneSpec("example.test")], algorithm=algorithm) as server:
        assert server.tsig_key.algorithm == dns.name.from_text(algorithm)
        update = update_for(server)
        update.add("www", 300, "A", "192.0.2.1")
        assert (await send(server, update)).rcode() == dns.rcode.NOERROR
        assert await addresses(server, "www.example.test") == ["192.0.2.1"]


async def test_a_taken_port_makes_it_retry_on_another(start_bind: StartBind, monkeypatch: pytest.MonkeyPatch) -> None:
    real_free_port = bind_server.free_port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(bind_server, "free_port", lambda: next(ports, None) or real_free_port())
        async with start_bind([ZoneSpec("example.test")]) as server:
            assert server.port != taken
            assert (await server.query("example.test", "SOA")).rcode() == dns.rcode.NOERROR


async def test_a_fixed_port_is_taken_as_given_and_a_taken_one_is_an_error(start_bind: StartBind) -> None:
    wanted = bind_server.free_port()
    async with start_bind([ZoneSpec("example.test")], listen_port=wanted) as server:
        assert server.port == wanted
        assert (await server.query("example.test", "SOA")).rcode() == dns.rcode.NOERROR
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        taken = squatter.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"could not listen on port {taken}"):
            async with start_bind([ZoneSpec("example.test")], listen_port=taken):
                pass


async def test_stopping_ends_named_and_removes_its_directory(start_bind: StartBind) -> None:
    async with start_bind() as server:
        directory = server.directory
        assert (directory / "example.test.zone").is_file()
    assert not directory.exists()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((server.host, server.port))  # named let go of its port
