"""A real BIND 9 (``named``) on loopback, for tests of the RFC 2136 side of the bridge: the fixtures.

The server itself is ``mocks/bind.py`` (``BindServer``: named.conf, zones and a TSIG key in a
private temporary directory, named on 127.0.0.1 and a free port, stopped on the way out), shared
with ``make demo ADC=acos``; this module re-exports it for the tests.

Fixtures: ``bind`` (one server per test, zones ``example.test`` and ``other.test``, both
updatable and transferable with the server's key) and ``start_bind`` (a factory of servers
with chosen zones, key algorithm and extra keys: ``async with start_bind([...]) as server``).
Test modules import them from here (``from tests.bind_server import bind, start_bind``).

``make test`` installs Debian's ``bind9`` when ``named`` is missing (``make bind9``). Without
it these fixtures skip, except under ``CI=true`` where they fail: CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import pytest

from mocks.bind import ALGORITHMS, BindServer, TsigKey, ZoneSpec, free_port, named_path


def _require_named() -> None:
    if named_path() is not None:
        return
    message = "named is not installed: install Debian's bind9 package (make bind9 does it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


StartBind = Callable[..., BindServer]


@pytest.fixture
async def bind() -> AsyncIterator[BindServer]:
    """A fresh named per test: zones example.test and other.test, updatable and transferable
    with ``bind.keyring`` (hmac-sha256)."""
    _require_named()
    async with BindServer() as server:
        yield server


@pytest.fixture
def start_bind() -> StartBind:
    """``async with start_bind(zones, algorithm=..., key=..., extra_keys=...) as server``."""
    _require_named()
    return BindServer


__all__ = ["ALGORITHMS", "BindServer", "StartBind", "TsigKey", "ZoneSpec", "bind", "free_port", "start_bind"]
