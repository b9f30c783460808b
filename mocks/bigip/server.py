"""``MockBigIP``: one emulated BIG-IP — REST API over HTTPS, mock controls and DNS
listener — that starts and stops as a unit.

The same class serves the command line (``adcbridge-mock-bigip``), pytest fixtures (port
0, in the test's own event loop) and benchmarks. HTTPS always: with no certificate given,
a self-signed one is made at start, as a unit ships with.

The state file is the unit's saved configuration: read at start, written by ``sys config
save`` (and once at start, so an unwritable path fails at once), never on shutdown —
like a unit that reboots, changes not saved are lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from mocks.bigip import api, controls
from mocks.bigip.catalog import DEFAULT_VERSION
from mocks.bigip.dns import WideIpResponder
from mocks.bigip.state import UnitState
from mocks.files import read_state_file, write_state_file
from mocks.listeners import Listeners
from mocks.tls import serving_tls


@dataclass(frozen=True)
class BigIPConfig:
    username: str
    password: str
    host: str = "127.0.0.1"
    port: int = 0
    dns_host: str = "127.0.0.1"
    dns_port: int | None = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    state_file: Path | None = None
    version: str = DEFAULT_VERSION
    hostname: str = "bigip1.example.com"
    device_group: str | None = None
    access_log: bool = False

    def __repr__(self) -> str:
        return f"BigIPConfig(username={self.username!r}, host={self.host!r}, port={self.port})"


def build_app(state: UnitState) -> web.Application:
    app = web.Application(
        middlewares=[api.error_middleware, controls.loopback_only, api.fault_middleware, api.auth_middleware],
        client_max_size=64 * 1024 * 1024,
    )
    app[api.STATE_KEY] = state
    api.add_routes(app)
    controls.add_routes(app)
    return app


class MockBigIP:
    """Start with ``await start()`` (or ``async with``); ``url`` and ``dns_address`` say where."""

    def __init__(self, config: BigIPConfig) -> None:
        self.config = config
        self.state = UnitState(
            username=config.username,
            password=config.password,
            version=config.version,
            hostname=config.hostname,
            device_group=config.device_group,
        )
        if config.state_file is not None:
            load_state(config.state_file, self.state)
            path = config.state_file
            self.state.on_save = lambda: save_state(path, self.state)
            self.state.save_config()  # fail at start, not at the first save
        self.certificate_pem, self._tls = serving_tls(config.tls_cert, config.tls_key, config.host)
        # A polite TLS close waits for clients that may never answer: drop them at stop.
        self._listeners = Listeners(abort_idle=True)
        self.url = ""
        self.dns_address: tuple[str, int] | None = None

    async def start(self) -> None:
        self.url, self.dns_address = await self._listeners.start(
            build_app(self.state),
            host=self.config.host,
            port=self.config.port,
            tls=self._tls,
            access_log=logging.getLogger("mocks.bigip.access") if self.config.access_log else None,
            dns=lambda: WideIpResponder(lambda: self.state.store),
            dns_host=self.config.dns_host,
            dns_port=self.config.dns_port,
        )

    async def stop(self) -> None:
        await self._listeners.stop()

    async def __aenter__(self) -> MockBigIP:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def save_state(path: Path, state: UnitState) -> None:
    write_state_file(path, state.store.dump())


def load_state(path: Path, state: UnitState) -> None:
    """The saved configuration of ``path`` into ``state`` (nothing when the file is new)."""
    read_state_file(path, state.store.load)
