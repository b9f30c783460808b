"""Shared fixtures: an emulated appliance on loopback port 0 and an HTTP client for it, the
emulated BIG-IP (``mock_bigip``, ``bigip``, from ``bigip_fixtures``), the emulated A10 Thunder
(``mock_acos``, ``acos``, from ``acos_fixtures``) and the fake Kubernetes
API server (``fake_kube``, ``kube_api``, from ``kube_fixtures``).

Everything goes over real sockets: tests talk to the mocks the way the bridge will.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import settings

from mocks.adc import AuthPolicy, MockADC, MockConfig
from tests.acos_fixtures import acos, mock_acos
from tests.bigip_fixtures import bigip, mock_bigip
from tests.fake_dns import fake_dns
from tests.kube_fixtures import fake_kube, kube_api

# Fixtures, shared with every test module.
__all__ = ["acos", "bigip", "fake_dns", "fake_kube", "kube_api", "mock_acos", "mock_bigip"]

# CI replays the same examples every run (a red CI must mean a change broke something);
# developers' runs keep exploring new ones, from a seed drawn for the session and printed, so a
# failure found once can be replayed (``--hypothesis-seed``). Both print the failing example as a
# ``@reproduce_failure`` decorator too (``print_blob``), which replays it without the seed.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
IN_CI = os.environ.get("CI") == "true"
settings.load_profile("ci" if IN_CI else "dev")
SEED_OPTION = "hypothesis_seed"  # the destination of Hypothesis' own --hypothesis-seed option


@pytest.hookimpl(tryfirst=True)  # before Hypothesis' plugin reads the option
def pytest_configure(config: pytest.Config) -> None:
    if not IN_CI and config.getoption(SEED_OPTION) is None:
        setattr(config.option, SEED_OPTION, str(random.SystemRandom().randrange(10**9)))


def pytest_report_header(config: pytest.Config) -> str | None:
    return _replay_hint(config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """After a failing property test, say again (the header is far above) how to replay it."""
    failed = terminalreporter.stats.get("failed", [])
    hint = _replay_hint(config)
    if hint and any("hypothesis" in report.keywords for report in failed):
        terminalreporter.write_line(hint)


def _replay_hint(config: pytest.Config) -> str | None:
    seed = config.getoption(SEED_OPTION)
    if seed is None:
        return None
    return f"hypothesis seed {seed}: replay a failing property test with --hypothesis-seed={seed}"


USERNAME = "admin"
PASSWORD = "s3cret-canary-password"


def policy(**overrides: Any) -> AuthPolicy:
    return AuthPolicy(username=USERNAME, password=PASSWORD, **overrides)


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running (set up first, so checked last)."""
    yield
    for _ in range(3):  # let tasks that are already finishing run to their end
        await asyncio.sleep(0)
    current = asyncio.current_task()
    leaked = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    assert leaked == [], f"tasks left running: {leaked}"


@pytest.fixture
async def mock_adc() -> AsyncIterator[MockADC]:
    async with MockADC(MockConfig(policy=policy())) as mock:
        yield mock


class Appliance:
    """A thin test client: logs in once and unwraps envelopes."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token = ""

    async def login(self, username: str = USERNAME, password: str = PASSWORD) -> httpx.Response:
        response = await self.http.post("/adc/v3.0/login", json={"username": username, "password": password})
        if response.status_code == 200 and response.json()["res"]["code"] == 0:
            self.token = response.json()["data"]["token"]
        return response

    def headers(self) -> dict[str, str]:
        return {"x-access-token": self.token}

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return await self.http.request(
            method, f"/adc/v3.0/{path}", json=body, params=params or None, headers=self.headers()
        )

    async def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """Call and insist on success; returns ``data``."""
        response = await self.call(method, path, body, **params)
        envelope = response.json()
        assert response.status_code == 200, envelope
        assert envelope["res"] == {"status": "success", "code": 0, "msg": "success"}, envelope
        return envelope["data"]

    async def fails(self, method: str, path: str, body: Any = None, *, code: int, http: int = 200) -> dict[str, Any]:
        """Call and insist on a failure envelope with ``code``; returns ``res`` and ``data``."""
        response = await self.call(method, path, body)
        envelope = response.json()
        assert response.status_code == http, envelope
        assert envelope["res"]["status"] == "failure", envelope
        assert envelope["res"]["code"] == code, envelope
        return {**envelope["res"], "data": envelope["data"]}

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, f"/_mock/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]


@pytest.fixture
async def adc(mock_adc: MockADC) -> AsyncIterator[Appliance]:
    async with httpx.AsyncClient(base_url=mock_adc.url, timeout=10) as http:
        appliance = Appliance(http)
        await appliance.login()
        yield appliance


async def make_pool(adc: Appliance, name: str = "p1", *, nodes: int = 1, port: int = 30080) -> None:
    """A pool with ``nodes`` members n0..n(k-1) on ``port``."""
    await adc.ok("POST", "slb/pool", {"name": name})
    for index in range(nodes):
        node = f"n{index}"
        if (await adc.call("GET", f"slb/node/{node}")).json()["res"]["code"] != 0:
            await adc.ok("POST", "slb/node", {"name": node, "ip": f"10.0.0.{index + 1}"})
        await adc.ok("POST", f"slb/pool/{name}/rserver", {"node": node, "port": port})
