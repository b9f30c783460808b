"""``MockADC``: one emulated appliance — REST API, mock controls and DNS service — that
starts and stops as a unit.

The same class serves the command line (``adcbridge-mock-adc``), the pytest fixtures (on
port 0, in the test's own event loop) and the benchmarks, so every consumer talks to the
same emulator over real sockets.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from mocks.adc import api, controls
from mocks.adc.dns_responder import DnsResponder
from mocks.adc.persistence import DebouncedSaver, load_store, save_store
from mocks.adc.sessions import AuthPolicy
from mocks.adc.state import ApplianceState, Persist
from mocks.listeners import Listeners


@dataclass(frozen=True)
class MockConfig:
    policy: AuthPolicy
    host: str = "127.0.0.1"
    port: int = 0
    dns_host: str = "127.0.0.1"
    dns_port: int | None = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    state_file: Path | None = None
    persist: Persist = "auto"
    access_log: bool = False


def build_app(state: ApplianceState) -> web.Application:
    app = web.Application(
        middlewares=[api.envelope_middleware, controls.loopback_only, api.fault_middleware, api.auth_middleware]
    )
    app[api.STATE_KEY] = state
    api.add_routes(app)
    controls.add_routes(app)
    return app


class MockADC:
    """Start with ``await start()``; ``url`` and ``dns_address`` then say where it listens."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        store = load_store(config.state_file) if config.state_file else None
        self.state = ApplianceState(policy=config.policy, persist=config.persist)
        if store is not None:
            self.state.store = store
        self._saver: DebouncedSaver | None = None
        if config.state_file is not None:
            save_store(config.state_file, self.state.store)  # fail at start, not at the first change
            self._saver = DebouncedSaver(config.state_file, lambda: self.state.store)
            self.state.on_save = self._saver.flush
            if config.persist == "auto":
                self.state.on_mutation = self._saver.changed
        self._listeners = Listeners()
        self.url = ""
        self.dns_address: tuple[str, int] | None = None

    async def start(self) -> None:
        self.url, self.dns_address = await self._listeners.start(
            build_app(self.state),
            host=self.config.host,
            port=self.config.port,
            tls=self._tls(),
            access_log=_access_logger(self.config),
            dns=lambda: DnsResponder(lambda: self.state.store),
            dns_host=self.config.dns_host,
            dns_port=self.config.dns_port,
        )

    async def stop(self) -> None:
        await self._listeners.stop()
        if self._saver is not None and self.config.persist == "auto":
            self._saver.flush()

    async def __aenter__(self) -> MockADC:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _tls(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return context


def _access_logger(config: MockConfig) -> logging.Logger | None:
    return logging.getLogger("mocks.adc.access") if config.access_log else None
