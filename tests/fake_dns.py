"""A tiny DNS server over UDP on loopback, for what the emulated appliances cannot do: stay
silent, answer late, count and record what it was asked. ``fake_dns`` starts them (any
number) and stops them when the test ends; ``answering`` and ``silent`` are replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import dns.message
import dns.rrset
import pytest

Reply = Callable[[dns.message.Message], dns.message.Message | None]
StartFake = Callable[..., Awaitable["FakeDns"]]


class FakeDns(asyncio.DatagramProtocol):
    """A UDP server: ``reply`` builds the answer (None: stay silent), sent after ``delay`` seconds.

    ``asked`` lists the names asked, in order; ``outstanding`` counts queries received and not
    yet answered; ``peak`` its maximum.
    """

    def __init__(self, reply: Reply, *, delay: float = 0.0) -> None:
        self.reply = reply
        self.delay = delay
        self.transport: asyncio.DatagramTransport | None = None
        self.received = 0
        self.asked: list[str] = []
        self.outstanding = 0
        self.peak = 0
        self.pending: set[asyncio.TimerHandle] = set()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        query = dns.message.from_wire(data)
        self.asked.append(query.question[0].name.to_text(omit_final_dot=True))
        answer = self.reply(query)
        if answer is None:
            return
        self.outstanding += 1
        self.peak = max(self.peak, self.outstanding)
        handle = asyncio.get_running_loop().call_later(self.delay, self._send, answer.to_wire(), addr)
        self.pending.add(handle)

    def _send(self, wire: bytes, addr: tuple[str, int]) -> None:
        self.outstanding -= 1
        assert self.transport is not None
        self.transport.sendto(wire, addr)

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def label(self) -> str:
        host, port = self.address
        return f"{host}:{port}"


@pytest.fixture
async def fake_dns() -> AsyncIterator[StartFake]:
    started: list[FakeDns] = []

    async def start(reply: Reply, *, delay: float = 0.0) -> FakeDns:
        loop = asyncio.get_running_loop()
        transport, server = await loop.create_datagram_endpoint(
            lambda: FakeDns(reply, delay=delay), local_addr=("127.0.0.1", 0)
        )
        server.transport = transport
        started.append(server)
        return server

    yield start
    for server in started:
        for handle in server.pending:
            handle.cancel()
        assert server.transport is not None
        server.transport.close()
    await asyncio.sleep(0)


def answering(address: str) -> Reply:
    """Every A question gets ``address``."""

    def reply(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", address))
        return response

    return reply


def silent(query: dns.message.Message) -> None:
    return None
