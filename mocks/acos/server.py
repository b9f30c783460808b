"""``MockAcos``: one emulated A10 Thunder (ACOS aXAPI v3) — REST API and mock controls —
that starts and stops as a unit.

The same class serves the command line (``adcbridge-mock-acos``), pytest fixtures (port 0,
in the test's own event loop) and benchmarks. HTTPS by default: with no certificate given,
a self-signed one is made at start, as a unit ships with; ``plain_http`` serves HTTP for
tests that need it.

The state file is the unit's saved configuration: read at start, written by ``write
memory`` (and once at start, so an unwritable path fails at once), never on shutdown —
like a unit that reboots, changes not saved are lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from mocks.acos import api, controls
from mocks.acos.state import DEFAULT_VERSION, UnitState
from mocks.files import read_state_file, write_state_file
from mocks.listeners import Listeners
from mocks.tls import serving_tls


@dataclass(frozen=True)
class AcosConfig:
    username: str
    password: str
    host: str = "127.0.0.1"
    port: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    plain_http: bool = False
    state_file: Path | None = None
    version: str = DEFAULT_VERSION
    hostname: str = "thunder1"
    access_log: bool = False

    def __repr__(self) -> str:
        return f"AcosConfig(username={self.username!r}, host={self.host!r}, port={self.port})"


def build_app(state: UnitState) -> web.Application:
    app = web.Application(
        middlewares=[api.error_middleware, controls.loopback_only, api.fault_middleware],
        client_max_size=64 * 1024 * 1024,
    )
    app[api.STATE_KEY] = state
    api.add_routes(app)
    controls.add_routes(app)
    return app


class MockAcos:
    """Start with ``await start()`` (or ``async with``); ``url`` says where."""

    def __init__(self, config: AcosConfig) -> None:
        self.config = config
        self.state = UnitState(
            username=config.username,
            password=config.password,
            version=config.version,
            hostname=config.hostname,
            address=config.host,
        )
        if config.state_file is not None:
            load_state(config.state_file, self.state)
            path = config.state_file
            self.state.on_save = lambda: save_state(path, self.state)
            self.state.on_save()  # fail at start, not at the first write memory
        self.certificate_pem = b""
        self._tls = None
        if not config.plain_http:
            self.certificate_pem, self._tls = serving_tls(config.tls_cert, config.tls_key, config.host)
        # A polite TLS close waits for clients that may never answer: drop them at stop.
        self._listeners = Listeners(abort_idle=True)
        self.url = ""
        self.dns_address: tuple[str, int] | None = None  # ACOS GSLB is not emulated: no DNS listener

    async def start(self) -> None:
        self.url, _dns = await self._listeners.start(
            build_app(self.state),
            host=self.config.host,
            port=self.config.port,
            tls=self._tls,
            access_log=logging.getLogger("mocks.acos.access") if self.config.access_log else None,
            dns=_no_dns,
            dns_host=self.config.host,
            dns_port=None,
        )

    async def stop(self) -> None:
        await self._listeners.stop()

    async def __aenter__(self) -> MockAcos:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def _no_dns() -> Any:
    raise AssertionError("the ACOS emulator has no DNS listener")


def save_state(path: Path, state: UnitState) -> None:
    write_state_file(path, state.saved)


def load_state(path: Path, state: UnitState) -> None:
    """The saved configuration of ``path`` into ``state`` (nothing when the file is new)."""
    read_state_file(path, lambda config: _load_config(state, config))
    state.saved = state.config.dump()


def _load_config(state: UnitState, config: Any) -> None:
    """Any refusal of an object in the file (the unit's own) reads as a malformed file."""
    try:
        state.config.load(config)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise
    except Exception as exc:
        raise ValueError(str(exc)) from exc
