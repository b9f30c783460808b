"""A small authoritative DNS server shared by the emulated appliances: the wire and the
listeners, not the data.

Each emulator supplies one function, ``fill(response, question)``, that puts its answer
into a prepared response; this module handles everything around it the same way for all
of them: UDP and TCP on one port, FORMERR for unparsable queries, silence for packets
that are themselves responses, BADVERS for EDNS versions above 0, NOTIMP for opcodes
other than QUERY, FORMERR for anything but one question, REFUSED for other classes and
zone transfers, and an empty answer with TC set when it does not fit in UDP, so clients
retry over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
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

UDP_DEFAULT_SIZE = 512
ZONE_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
TCP_IDLE_SECONDS = 10.0

# Puts the answer to one IN-class, non-transfer question into the response (AA is set).
Fill = Callable[[dns.message.Message, dns.rrset.RRset], None]
# The wire reply to a wire query; max_size is None over TCP.
Answerer = Callable[[bytes, int | None], bytes | None]


def answer(query_wire: bytes, fill: Fill, *, max_size: int | None) -> bytes | None:
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
        question = query.question[0]
        if question.rdclass != dns.rdataclass.IN or question.rdtype in ZONE_TRANSFERS:
            response.set_rcode(dns.rcode.REFUSED)
        else:
            response.flags |= dns.flags.AA
            fill(response, question)
    limit = 65535 if max_size is None else max(UDP_DEFAULT_SIZE, query.payload if query.edns >= 0 else 0)
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def _format_error(query_wire: bytes) -> bytes | None:
    if len(query_wire) < 12:
        return None
    (query_id,) = struct.unpack("!H", query_wire[:2])
    flags = dns.flags.QR | int(dns.rcode.FORMERR)
    return struct.pack("!HHHHHH", query_id, flags, 0, 0, 0, 0)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, answerer: Answerer) -> None:
        self._answerer = answerer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector transport is not registered as a DatagramTransport subclass.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self._answerer(data, UDP_DEFAULT_SIZE)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DnsListener:
    """UDP and TCP listeners on one address; ``answerer`` is called per query, so it can
    read the emulator's current configuration every time."""

    def __init__(self, answerer: Answerer) -> None:
        self._answerer = answerer
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.address: tuple[str, int] | None = None

    async def start(self, host: str, port: int) -> None:
        """Bind UDP first (port 0 picks a free port), then TCP on the same port."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            transport, _protocol = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self._answerer), local_addr=(host, port)
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
                reply = self._answerer(query, None)
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
