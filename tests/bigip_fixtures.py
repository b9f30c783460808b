"""The emulated BIG-IP on loopback port 0, and a thin HTTPS client for it.

``mock_bigip`` is the unit; ``bigip`` is an httpx client that authenticates with Basic
(as f5-sdk and bigrest do by default) and verifies the unit's self-signed certificate.
Everything goes over real sockets.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.bigip import BigIPConfig, MockBigIP

BIGIP_USER = "admin"
BIGIP_PASSWORD = "s3cret-canary-bigip"
PARTITION = "k8s"
GTM_SERVER = "/Common/bigip1"
OPERATOR_SEED = [  # for BIG-IP DNS, what the operator makes before the bridge runs (``/_mock/seed``)
    {"method": "POST", "path": "/mgmt/tm/gtm/datacenter", "body": {"name": "dc1", "partition": "Common"}},
    {
        "method": "POST",
        "path": "/mgmt/tm/gtm/server",
        "body": {"name": "bigip1", "partition": "Common", "datacenter": "/Common/dc1", "addresses": ["10.1.0.1"]},
    },
]
PREPARED = [  # what the operator makes before the bridge runs: the partition, and for BIG-IP DNS the above
    {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": PARTITION}},
    *OPERATOR_SEED,
]


def trust(mock: MockBigIP) -> ssl.SSLContext:
    """A client TLS context that trusts exactly this unit's certificate."""
    return ssl.create_default_context(cadata=mock.certificate_pem.decode())


def certificate_file(mock: MockBigIP, directory: Path) -> Path:
    path = directory / "bigip.pem"
    path.write_bytes(mock.certificate_pem)
    return path


@pytest.fixture
async def mock_bigip() -> AsyncIterator[MockBigIP]:
    async with MockBigIP(BigIPConfig(username=BIGIP_USER, password=BIGIP_PASSWORD)) as mock:
        yield mock


class Unit:
    """Calls the unit and checks its answers; ``control`` reaches ``/_mock/``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, json=body, **kwargs)

    async def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """Call and insist on 200; returns the JSON body (None when empty)."""
        response = await self.call(method, path, body, **kwargs)
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    async def fails(self, method: str, path: str, body: Any = None, *, status: int, **kwargs: Any) -> dict[str, Any]:
        """Call and insist on ``status``; returns the JSON error body."""
        response = await self.call(method, path, body, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json;charset=utf-8"
        answer: dict[str, Any] = response.json()
        assert answer["code"] == status
        return answer

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, f"/_mock/{path}", json=body, auth=None)
        assert response.status_code == 200, response.text
        return response.json()

    async def partition(self, name: str = PARTITION) -> None:
        await self.ok("POST", "/mgmt/tm/auth/partition", {"name": name})


@pytest.fixture
async def bigip(mock_bigip: MockBigIP) -> AsyncIterator[Unit]:
    auth = httpx.BasicAuth(BIGIP_USER, BIGIP_PASSWORD)
    async with httpx.AsyncClient(base_url=mock_bigip.url, verify=trust(mock_bigip), auth=auth, timeout=10) as http:
        yield Unit(http)


def bridge_env(mock: MockBigIP, **settings: str) -> dict[str, str]:
    """The environment of ``adcbridge`` run as an operator runs it against this unit: nothing of the
    caller's ``ADCBRIDGE_*`` variables, the bigip dialect in partition ``PARTITION``, then ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADCBRIDGE_")}
    return env | {
        "ADCBRIDGE_OWNER_ID": "demo.njet",
        "ADCBRIDGE_ADC__DIALECT": "bigip",
        "ADCBRIDGE_ADC__URL": mock.url,
        "ADCBRIDGE_ADC__USERNAME": BIGIP_USER,
        "ADCBRIDGE_ADC__PASSWORD": BIGIP_PASSWORD,
        "ADCBRIDGE_ADC__PARTITION": PARTITION,
        "ADCBRIDGE_ADC__VERIFY_TLS": "false",
        **settings,
    }
