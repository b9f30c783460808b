"""Logins, token expiry, session limits and lockout of the mock ADC, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mocks.adc import MockADC, MockConfig
from tests.conftest import PASSWORD, Appliance, policy


@pytest.fixture
async def strict_adc() -> AsyncIterator[Appliance]:
    """An appliance with small limits: 60 s tokens, 2 sessions, lockout after 3 bad logins."""
    config = MockConfig(policy=policy(token_lifetime=60, max_sessions=2, lockout_threshold=3, lockout_seconds=120))
    async with MockADC(config) as mock, httpx.AsyncClient(base_url=mock.url) as http:
        yield Appliance(http)


def code_of(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["res"]["code"]


async def test_login_returns_token_and_lifetime(strict_adc: Appliance) -> None:
    response = await strict_adc.login()
    data = response.json()["data"]
    assert data["expires_in"] == 60
    assert len(data["token"]) >= 32
    assert (await strict_adc.ok("GET", "system/info"))["ha_role"] == "active"


async def test_requests_without_a_valid_token_get_401_saying_why(strict_adc: Appliance) -> None:
    assert code_of(await strict_adc.call("GET", "slb/node")) == (401, 4011)
    strict_adc.token = "forged"
    assert code_of(await strict_adc.call("GET", "slb/node")) == (401, 4014)


async def test_token_expires(strict_adc: Appliance) -> None:
    await strict_adc.login()
    await strict_adc.ok("GET", "slb/node")
    stale = strict_adc.token
    await strict_adc.control("POST", "clock", {"advance": 61})
    assert code_of(await strict_adc.call("GET", "slb/node")) == (401, 4012)
    await strict_adc.login()
    await strict_adc.ok("GET", "slb/node")
    # Still "expired", not "unknown", after another login purged it and on every later use.
    strict_adc.token = stale
    for _ in range(2):
        assert code_of(await strict_adc.call("GET", "slb/node")) == (401, 4012)


async def test_sessions_expire_control_ends_every_session(strict_adc: Appliance) -> None:
    await strict_adc.login()
    assert (await strict_adc.control("POST", "sessions/expire"))["expired"] == 1
    assert code_of(await strict_adc.call("GET", "slb/node")) == (401, 4014)


async def test_logout_ends_the_session(strict_adc: Appliance) -> None:
    await strict_adc.login()
    await strict_adc.ok("POST", "logout")
    assert code_of(await strict_adc.call("GET", "slb/node")) == (401, 4014)
    assert code_of(await strict_adc.call("POST", "logout")) == (401, 4014)


async def test_session_limit(strict_adc: Appliance) -> None:
    await strict_adc.login()
    await strict_adc.login()
    assert code_of(await strict_adc.login()) == (403, 4032)
    await strict_adc.ok("POST", "logout")
    assert code_of(await strict_adc.login()) == (200, 0)
    # Expired sessions no longer count.
    await strict_adc.control("POST", "clock", {"advance": 61})
    assert code_of(await strict_adc.login()) == (200, 0)
    assert code_of(await strict_adc.login()) == (200, 0)


async def test_lockout_after_consecutive_bad_logins(strict_adc: Appliance) -> None:
    for _ in range(3):
        assert code_of(await strict_adc.login(password="wrong")) == (401, 4013)
    locked = await strict_adc.login()
    assert code_of(locked) == (403, 4031)
    assert "locked" in locked.json()["res"]["msg"]
    await strict_adc.control("POST", "clock", {"advance": 121})
    assert code_of(await strict_adc.login()) == (200, 0)


async def test_good_login_resets_the_failure_count(strict_adc: Appliance) -> None:
    for _ in range(2):
        await strict_adc.login(password="wrong")
    await strict_adc.login()
    for _ in range(2):
        await strict_adc.login(password="wrong")
    assert code_of(await strict_adc.login()) == (200, 0)


async def test_login_body_is_checked(strict_adc: Appliance) -> None:
    response = await strict_adc.http.post("/adc/v3.0/login", json={"username": "admin"})
    assert code_of(response) == (200, 1003)
    response = await strict_adc.http.post("/adc/v3.0/login", content=b"user=admin")
    assert code_of(response) == (400, 1001)


async def test_password_never_appears_in_answers(strict_adc: Appliance) -> None:
    await strict_adc.login()
    await strict_adc.login(password=PASSWORD + "x")
    for path in ("state", "changes", "stats", "faults"):
        assert PASSWORD not in (await strict_adc.http.get(f"/_mock/{path}")).text


async def test_a_password_change_ends_every_session_and_only_the_new_password_works(strict_adc: Appliance) -> None:
    await strict_adc.login()
    assert (await strict_adc.control("POST", "password", {"password": "rotated-secret"}))["ended_sessions"] == 1
    assert code_of(await strict_adc.call("GET", "slb/node")) == (401, 4014)
    assert code_of(await strict_adc.login(password=PASSWORD)) == (401, 4013)
    assert (await strict_adc.login(password="rotated-secret")).status_code == 200
    await strict_adc.ok("GET", "slb/node")
