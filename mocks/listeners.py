"""The sockets of one emulator — its REST site and its DNS listener — started and stopped
together, so that every emulator listens, reports its addresses and shuts down the same
way (port 0 works everywhere: the addresses are read back from the bound sockets)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

from aiohttp import web

from mocks.dns_service import DnsListener


def host_port_text(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Listeners:
    """``await start(...)`` gives the REST URL and the DNS address; ``await stop()`` closes both."""

    def __init__(self, *, abort_idle: bool = False) -> None:
        # abort_idle: drop kept-alive connections at stop instead of closing them politely.
        self._abort_idle = abort_idle
        self._runner: web.AppRunner | None = None
        self._dns: DnsListener | None = None

    async def start(
        self,
        app: web.Application,
        *,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        access_log: logging.Logger | None,
        dns: Callable[[], DnsListener],
        dns_host: str,
        dns_port: int | None,
    ) -> tuple[str, tuple[str, int] | None]:
        """Listen on ``host:port`` (HTTPS when ``tls``) and, unless ``dns_port`` is None, DNS."""
        self._runner = web.AppRunner(app, access_log=access_log)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=tls)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        url = f"{'https' if tls is not None else 'http'}://{host_port_text(bound_host, bound_port)}"
        if dns_port is None:
            return url, None
        self._dns = dns()
        await self._dns.start(dns_host, dns_port)
        return url, self._dns.address

    async def stop(self) -> None:
        if self._dns is not None:
            await self._dns.stop()
        if self._runner is not None:
            if self._abort_idle:
                _abort_idle_connections(self._runner)
            await self._runner.cleanup()


def _abort_idle_connections(runner: web.AppRunner) -> None:
    """Drop kept-alive TLS connections at once: a polite TLS close waits for clients (such
    as a requests session never closed) that may never answer, and leaks the socket."""
    server = runner.server
    for handler in [] if server is None else list(server.connections):
        if handler.transport is not None:
            handler.transport.abort()
