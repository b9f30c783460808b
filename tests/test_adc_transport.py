"""The ADC's connections (``adcbridge.adc.transport``): what aiohttp must do for the client as httpx did.

Against a small aiohttp server on loopback that answers in the reference envelope and records what
it was sent: compressed answers are decoded once, long header lines are read, the connections are
kept alive and bounded by ``adc.concurrency`` + 2, and the requests say who sends them.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.client_reqrep import ClientRequest
from multidict import istr

from adcbridge import __version__
from adcbridge.adc import AdcClient, Credentials
from adcbridge.adc.reference import REFERENCE_WIRE
from adcbridge.config import AdcSettings
from adcbridge.errors import AdcUnavailable


def envelope(data: Any) -> bytes:
    return json.dumps({"res": {"status": "success", "code": 0, "msg": "ok"}, "data": data}).encode()


@dataclass
class Seen:
    peers: set[tuple[str, int]] = field(default_factory=set)  # one per connection the client opened
    agents: set[str] = field(default_factory=set)
    header_names: set[bytes] = field(default_factory=set)  # as they came on the wire
    encodings: set[str] = field(default_factory=set)
    token: str = "t"  # what the login answers


def appliance(seen: Seen) -> web.Application:
    async def login(request: web.Request) -> web.Response:
        return web.Response(body=envelope({"token": seen.token}), content_type="application/json")

    async def answer(request: web.Request) -> web.Response:
        seen.peers.add(request.transport.get_extra_info("peername") if request.transport else ("", 0))
        seen.agents.add(request.headers.get("User-Agent", ""))
        seen.header_names.update(name for name, _ in request.raw_headers)
        seen.encodings.add(request.headers.get("Accept-Encoding", ""))
        kind = request.match_info["kind"]
        if kind == "gzip":
            body = gzip.compress(envelope({"packed": True}))
            return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        if kind == "long-header":
            return web.Response(body=envelope({"long": True}), headers={"X-Long": "a" * 20_000})
        await asyncio.sleep(0.01)  # so that the requests overlap
        return web.Response(body=envelope({"kind": kind}), content_type="application/json")

    app = web.Application()
    app.router.add_post("/adc/v3.0/login", login)
    app.router.add_post("/adc/v3.0/logout", login)
    app.router.add_get("/adc/v3.0/{kind}", answer)
    return app


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, Seen]]:
    seen = Seen()
    runner = web.AppRunner(appliance(seen))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def client_for(url: str, concurrency: int = 8, *, timeout: float = 5.0, deadline: float = 60.0) -> AdcClient:
    settings = AdcSettings(url=url, concurrency=concurrency, timeout=timeout, operation_deadline=deadline)
    return AdcClient(settings, lambda: Credentials("admin", "secret"), wire=REFERENCE_WIRE)


async def test_a_compressed_answer_is_decoded_once(served: tuple[str, Seen]) -> None:
    url, _ = served
    async with client_for(url) as client:
        assert await client.get("gzip") == {"packed": True}


async def test_a_header_line_longer_than_aiohttps_default_is_read(served: tuple[str, Seen]) -> None:
    url, _ = served
    async with client_for(url) as client:
        assert await client.get("long-header") == {"long": True}


async def test_connections_are_kept_alive_and_bounded_by_the_concurrency(served: tuple[str, Seen]) -> None:
    url, seen = served
    async with client_for(url, concurrency=2) as client:
        answers = await asyncio.gather(*(client.get(f"item-{index}") for index in range(40)))
    assert answers == [{"kind": f"item-{index}"} for index in range(40)]
    assert 2 <= len(seen.peers) <= 4  # concurrency + 2 connections at most, reused by 40 requests


async def test_requests_name_the_bridge_and_its_version(served: tuple[str, Seen]) -> None:
    url, seen = served
    async with client_for(url) as client:
        await client.get("who")
    assert seen.agents == {f"adcbridge/{__version__}"}


async def test_requests_name_their_headers_as_written_and_ask_only_for_encodings_httpx_decodes(
    served: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp offers zstd (and br) whenever a module for it can be imported, which httpx cannot
    decode without another package: here as on a machine that has one."""
    offered = dict(ClientRequest.DEFAULT_HEADERS)
    offered[istr("Accept-Encoding")] = "gzip, deflate, br, zstd"
    monkeypatch.setattr(ClientRequest, "DEFAULT_HEADERS", offered)
    url, seen = served
    async with client_for(url) as client:
        await client.get("who")
    assert {b"User-Agent", b"Accept-Encoding"} <= seen.header_names
    assert seen.encodings == {"gzip, deflate"}


async def test_a_token_that_cannot_be_sent_in_a_header_is_an_adc_error(served: tuple[str, Seen]) -> None:
    url, seen = served
    seen.token = "t\r\nX-Injected: 1"
    async with client_for(url, deadline=0.3) as client:
        with pytest.raises(AdcUnavailable, match="LocalProtocolError"):
            await client.get("who")
    assert b"X-Injected" not in seen.header_names


async def test_an_appliance_that_stops_reading_a_request_is_given_up_on() -> None:
    """Accepts the connection and never reads: the body cannot be sent whole, and aiohttp has no
    write timeout of its own; the exchange is bounded by three timeouts all the same."""
    held: list[asyncio.StreamWriter] = []

    async def never_reads(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(never_reads, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with client_for(f"http://127.0.0.1:{port}", timeout=0.2, deadline=0.1) as client:
            client._token = "a-session-token"  # already logged in: the write is what hangs
            with pytest.raises(AdcUnavailable, match="TimeoutException"):
                await asyncio.wait_for(client.request("POST", "slb/node", {"blob": "x" * 32_000_000}), 10)
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_closed_client_does_not_open_connections_again(served: tuple[str, Seen]) -> None:
    url, _ = served
    client = client_for(url)
    await client.get("who")
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get("who")
