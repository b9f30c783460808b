"""The appliance's DNS service: authoritative answers for its enabled ``dns/domain`` objects.

UDP and TCP on one port, as a real server. Answers follow the usual rules closely enough
that a resolution check written against it works against BIND: an existing name without
the asked type is NODATA (NOERROR, empty), not NXDOMAIN; a name that only has names below
it (an empty non-terminal) is NODATA too; a wildcard ``*.zone`` covers names at any depth
below ``zone`` that do not exist themselves; an answer too large for UDP is sent empty
with TC set, so clients retry over TCP. Disabled domains do not exist. Zone transfers,
other classes and other opcodes are refused; there are no SOA or NS records (the mock
has no zones), so negative answers carry no SOA.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from mocks.adc.store import Obj, Store

log = logging.getLogger(__name__)
UDP_DEFAULT_SIZE = 512
ZONE_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
TCP_IDLE_SECONDS = 10.0


def find_domain(store: Store, name: str) -> Obj | None:
    """The enabled domain answering for ``name``: itself, else the wildcard at its closest
    encloser (the nearest ancestor that exists, RFC 4592)."""
    exact = store.resolvable(name)
    if exact is not None or store.has_names_below(name):
        return exact
    labels = name.split(".")
    for depth in range(1, len(labels)):
        parent = ".".join(labels[depth:])
        if store.resolvable(parent) is None and not store.has_names_below(parent):
            continue
        return store.resolvable(f"*.{parent}")
    return None


def answer(query_wire: bytes, store: Store, *, max_size: int | None) -> bytes | None:
    """The wire response to one query; None when there is nothing to answer (not even a DNS
    header, or a packet that is itself a response)."""
    try:
        query = dns.message.from_wire(query_wire)
        if query.flags & dns.flags.QR:
            return None
        response = dns.message.make_response(query)
    except dns.exception.DNSException:
        return _format_error(query_wire)
    if query.edns > 0:
        response.set_rcode(dns.rcode.BADVERS)
    elif query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
    elif len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
    else:
        _fill(response, query.question[0], store)
    limit = 65535 if max_size is None else max(UDP_DEFAULT_SIZE, query.payload if query.edns >= 0 else 0)
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def _fill(response: dns.message.Message, question: dns.rrset.RRset, store: Store) -> None:
    if question.rdclass != dns.rdataclass.IN or question.rdtype in ZONE_TRANSFERS:
        response.set_rcode(dns.rcode.REFUSED)
        return
    response.flags |= dns.flags.AA
    name = question.name.to_text(omit_final_dot=True).lower()
    domain = find_domain(store, name)
    if domain is None:
        if not store.has_names_below(name):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return
    wanted = question.rdtype
    for rdtype, family in ((dns.rdatatype.A, "."), (dns.rdatatype.AAAA, ":")):
        if wanted not in (rdtype, dns.rdatatype.ANY):
            continue
        addresses = [address for address in domain["addresses"] if family in address]
        if addresses:
            rrset = dns.rrset.from_text_list(question.name, domain["ttl"], "IN", rdtype, addresses)
            response.answer.append(rrset)


def _format_error(query_wire: bytes) -> bytes | None:
    if len(query_wire) < 12:
        return None
    (query_id,) = struct.unpack("!H", query_wire[:2])
    flags = dns.flags.QR | int(dns.rcode.FORMERR)
    return struct.pack("!HHHHHH", query_id, flags, 0, 0, 0, 0)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, store_of: Callable[[], Store]) -> None:
        self._store_of = store_of
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector transport is not registered as a DatagramTransport subclass.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = answer(data, self._store_of(), max_size=UDP_DEFAULT_SIZE)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DnsResponder:
    """UDP and TCP listeners on one address; ``store_of`` is read per query, so a reset
    of the appliance (which swaps the store) is seen at once."""

    def __init__(self, store_of: Callable[[], Store]) -> None:
        self._store_of = store_of
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.address: tuple[str, int] | None = None

    async def start(self, host: str, port: int) -> None:
        """Bind UDP first (port 0 picks a free port), then TCP on the same port."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            transport, _protocol = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self._store_of), local_addr=(host, port)
            )
            bound = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, host, bound)
            except OSError:
                transport.close()
                if port:
                    raise
                continue
            self._udp = transport
            self.address = (host, int(bound))
            return
        raise OSError(f"no free port for UDP and TCP together on {host}")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._tcp.wait_closed()

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                header = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_SECONDS)
                (length,) = struct.unpack("!H", header)
                query = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_SECONDS)
                reply = answer(query, self._store_of(), max_size=None)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
