"""Faults on the wire that every emulator injects the same way: a connection reset with
a RST, and an answer cut off halfway."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import NoReturn

from aiohttp import web


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
