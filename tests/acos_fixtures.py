"""The emulated A10 Thunder on loopback port 0, and a thin aXAPI client for it.

``mock_acos`` is the unit (HTTPS with its self-signed certificate); ``acos`` is an httpx
client that trusts that certificate and holds one aXAPI session (``Authorization: A10
<signature>``), logged off when the test ends. Everything goes over real sockets.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mocks.acos import AcosConfig, MockAcos

ACOS_USER = "admin"
ACOS_PASSWORD = "s3cret-canary-acos"
PARTITION = "k8s"
PREPARED = [  # what the operator makes before the bridge runs (``/_mock/seed``): the bridge's partition
    {"method": "POST", "path": "/axapi/v3/partition", "body": {"partition": {"partition-name": PARTITION, "id": 7}}},
]


def trust(mock: MockAcos) -> ssl.SSLContext:
    """A client TLS context that trusts exactly this unit's certificate."""
    return ssl.create_default_context(cadata=mock.certificate_pem.decode())


@pytest.fixture
async def mock_acos() -> AsyncIterator[MockAcos]:
    async with MockAcos(AcosConfig(username=ACOS_USER, password=ACOS_PASSWORD)) as mock:
        yield mock


class Axapi:
    """Calls the unit in one session and checks its answers; ``control`` reaches ``/_mock/``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.signature: str | None = None

    async def login(self, username: str = ACOS_USER, password: str = ACOS_PASSWORD) -> httpx.Response:
        body = {"credentials": {"username": username, "password": password}}
        response = await self.http.post("/axapi/v3/auth", json=body)
        if response.status_code == 200:
            self.signature = response.json()["authresponse"]["signature"]
        return response

    async def logoff(self) -> httpx.Response:
        response = await self.call("POST", "/axapi/v3/logoff")
        self.signature = None
        return response

    def headers(self, signature: str | None = None) -> dict[str, str]:
        signature = signature or self.signature
        return {"Authorization": f"A10 {signature}"} if signature else {}

    async def call(self, method: str, path: str, body: Any = None, *, signature: str | None = None) -> httpx.Response:
        return await self.http.request(method, path, json=body, headers=self.headers(signature))

    async def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """Call and insist on 200; returns the JSON body."""
        response = await self.call(method, path, body, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def fails(self, method: str, path: str, body: Any = None, *, status: int, code: int) -> dict[str, Any]:
        """Call and insist on the fail envelope with ``status`` and ``code``; returns ``err``."""
        response = await self.call(method, path, body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        answer = response.json()["response"]
        assert answer["status"] == "fail"
        assert answer["err"]["code"] == code, answer
        err: dict[str, Any] = answer["err"]
        return err

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, f"/_mock/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def partition(self, name: str = PARTITION, number: int = 7) -> None:
        """Make partition ``name`` and make it this session's active partition."""
        await self.ok("POST", "/axapi/v3/partition", {"partition": {"partition-name": name, "id": number}})
        await self.ok("POST", f"/axapi/v3/active-partition/{name}")


@pytest.fixture
async def acos(mock_acos: MockAcos) -> AsyncIterator[Axapi]:
    async with httpx.AsyncClient(base_url=mock_acos.url, verify=trust(mock_acos), timeout=10) as http:
        unit = Axapi(http)
        assert (await unit.login()).status_code == 200
        yield unit
        if unit.signature is not None and unit.signature in mock_acos.state.sessions.open:
            await unit.logoff()


def bridge_env(mock: MockAcos, **settings: str) -> dict[str, str]:
    """The environment of ``adcbridge`` run as an operator runs it against this unit: nothing of the
    caller's ``ADCBRIDGE_*`` variables, the acos dialect in partition ``PARTITION``, then ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADCBRIDGE_")}
    return env | {
        "ADCBRIDGE_OWNER_ID": "demo.njet",
        "ADCBRIDGE_ADC__DIALECT": "acos",
        "ADCBRIDGE_ADC__URL": mock.url,
        "ADCBRIDGE_ADC__USERNAME": ACOS_USER,
        "ADCBRIDGE_ADC__PASSWORD": ACOS_PASSWORD,
        "ADCBRIDGE_ADC__PARTITION": PARTITION,
        "ADCBRIDGE_ADC__VERIFY_TLS": "false",
        **settings,
    }
