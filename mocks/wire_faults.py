"""Faults on the wire that every emulator injects the same way: added latency, a
connection reset with a RST (before or after the request is applied), and an answer cut
off halfway. What an error status or a busy unit answers is each vendor's own, so
``inject`` asks the emulator for those."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

from aiohttp import web

if TYPE_CHECKING:
    from mocks.adc.faults import Decision, FaultRule

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Answer = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


async def inject(
    request: web.Request,
    handler: Handler,
    decision: Decision,
    *,
    answer: Answer,
    status: Callable[[FaultRule], web.StreamResponse],
    busy: Callable[[], Exception],
) -> web.StreamResponse:
    """Carry out ``decision`` for one request.

    ``answer`` runs the handler and turns the vendor's failures into its error replies (a
    cut-off answer is cut from that reply); ``status`` builds the vendor's error-status
    answer for a ``status`` rule; ``busy`` is the vendor's "try again later" failure.
    """
    if decision.latency:
        await asyncio.sleep(decision.latency)
    rule = decision.outcome
    if rule is None:
        return await handler(request)
    if rule.kind == "status":
        return status(rule)
    if rule.kind == "busy":
        raise busy()
    if rule.kind == "truncate":
        await send_half(request, await answer(request, handler))
    elif rule.after_apply:
        await answer(request, handler)
    reset_connection(request)


async def send_half(request: web.Request, response: web.StreamResponse) -> None:
    """Send the status line, the headers (with the full Content-Length) and half of the body."""
    body = response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else b""
    partial = web.StreamResponse(status=response.status, headers=response.headers)
    partial.content_length = len(body)
    await partial.prepare(request)
    await partial.write(body[: len(body) // 2])


def reset_connection(request: web.Request) -> NoReturn:
    """Drop the TCP connection with a RST, as a crashing or overloaded appliance does."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # aiohttp treats a cancelled handler as a vanished peer and writes nothing more.
    raise asyncio.CancelledError
