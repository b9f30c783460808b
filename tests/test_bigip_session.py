"""The bridge's session with a BIG-IP: the shared client speaking the ``bigip`` wire to the emulator.

One token for the whole session, one re-login when the unit ends it, a refused password never
tried again until it changes (an account is never locked by the bridge), and the token deleted
when the session closes, so runs after runs never approach the unit's 100 tokens per user. The
unit's error answers become the bridge's errors with the status as their code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from adcbridge.adc import AdcClient, Credentials
from adcbridge.adc.bigip.wire import BIGIP_WIRE
from adcbridge.config import AdcSettings
from adcbridge.errors import AdcAuthError, AdcRejected
from mocks.bigip import MockBigIP
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, PARTITION, Unit, certificate_file


def session(mock: MockBigIP, tmp_path: Path, credentials: Callable[[], Credentials] | None = None) -> AdcClient:
    settings = AdcSettings(url=mock.url, ca_file=certificate_file(mock, tmp_path), operation_deadline=5.0)
    return AdcClient(settings, credentials or (lambda: Credentials(BIGIP_USER, BIGIP_PASSWORD)), wire=BIGIP_WIRE)


async def our_tokens(bigip: Unit) -> int:
    tokens = await bigip.control("GET", "tokens")
    return len(tokens["users"].get(BIGIP_USER, []))


async def test_one_token_serves_the_session_and_is_deleted_when_it_closes(
    mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path
) -> None:
    for _ in range(3):  # three runs of the bridge, one after the other
        async with session(mock_bigip, tmp_path) as client:
            for _ in range(5):
                answer = await client.get("tm/ltm/pool")
                assert answer["kind"] == "tm:ltm:pool:poolcollectionstate"
            assert await our_tokens(bigip) == 1
        assert await our_tokens(bigip) == 0
    stats = await bigip.control("GET", "stats")
    assert stats["paths"]["POST /mgmt/shared/authn/login"] == 3
    assert stats["paths"]["GET /mgmt/tm/ltm/pool"] == 15


async def test_an_expired_token_means_one_new_login(mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path) -> None:
    async with session(mock_bigip, tmp_path) as client:
        await client.get("tm/sys")
        await bigip.control("POST", "clock", {"advance": 1201})
        assert await our_tokens(bigip) == 0
        await client.get("tm/sys")
        await client.get("tm/sys")
    stats = await bigip.control("GET", "stats")
    assert stats["paths"]["POST /mgmt/shared/authn/login"] == 2


async def test_a_refused_password_is_not_tried_again_until_it_changes(
    mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path
) -> None:
    current = {"password": "bad-pw-canary"}
    async with session(mock_bigip, tmp_path, lambda: Credentials(BIGIP_USER, current["password"])) as client:
        expected = [
            "wrong username or password",
            "refused these credentials before",
            "refused these credentials before",
        ]
        for message in expected:
            with pytest.raises(AdcAuthError, match=message) as refused:
                await client.get("tm/sys")
            assert "bad-pw-canary" not in str(refused.value)
        assert (await bigip.control("GET", "stats"))["failed_logins"] == 1
        current["password"] = BIGIP_PASSWORD  # the Secret was rotated
        await client.get("tm/sys")


async def test_a_password_changed_on_the_unit_ends_the_token_and_the_new_one_is_used(
    mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path
) -> None:
    current = {"password": BIGIP_PASSWORD}
    async with session(mock_bigip, tmp_path, lambda: Credentials(BIGIP_USER, current["password"])) as client:
        await client.get("tm/sys")
        await bigip.control("POST", "password", {"password": "rotated-pw"})
        current["password"] = "rotated-pw"
        await client.get("tm/sys")
        assert await our_tokens(bigip) == 1


async def test_the_units_refusals_carry_their_status(mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path) -> None:
    await bigip.partition()
    async with session(mock_bigip, tmp_path) as client:
        with pytest.raises(AdcRejected, match="01020036") as missing:
            await client.get(f"tm/ltm/pool/~{PARTITION}~nope")
        assert missing.value.code == 404
        await client.request("POST", "tm/ltm/pool", {"name": "p1", "partition": PARTITION})
        with pytest.raises(AdcRejected, match="01020066") as exists:
            await client.request("POST", "tm/ltm/pool", {"name": "p1", "partition": PARTITION})
        assert exists.value.code == 409
        with pytest.raises(AdcRejected, match="01070088") as invalid:
            await client.request("POST", "tm/ltm/pool", {"name": "1pool", "partition": PARTITION})
        assert invalid.value.code == 400
        assert await client.request("DELETE", f"tm/ltm/pool/~{PARTITION}~p1") is None


async def test_a_unit_restarting_is_retried(mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path) -> None:
    rules = [{"kind": "busy", "path": "/mgmt/tm/ltm/*", "count": 2}]
    await bigip.control("POST", "faults", {"rules": rules})
    async with session(mock_bigip, tmp_path) as client:
        await client.get("tm/ltm/node")
    (rule,) = (await bigip.control("GET", "faults"))["rules"]
    assert rule["fired"] == 2
