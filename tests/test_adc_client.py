"""The ADC client's session and error rules: mostly against the mock ADC, respx only for
answers the mock cannot be made to give (a 200 that is not the envelope, a login without a token)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import respx

from adcbridge.adc import AdcClient, Credentials
from adcbridge.adc.reference import REFERENCE_WIRE, ReferenceDriver
from adcbridge.config import AdcSettings
from adcbridge.errors import AdcAuthError, AdcProtocolError, AdcRejected, AdcUnavailable
from adcbridge.metrics import Metrics
from adcbridge.model import Owner
from mocks.adc import MockADC
from tests.conftest import PASSWORD, USERNAME, Appliance


def client_for(url: str, *, deadline: float = 5.0, **kwargs: Any) -> AdcClient:
    settings = AdcSettings(url=url, operation_deadline=deadline, timeout=2.0)
    return AdcClient(settings, lambda: Credentials(USERNAME, PASSWORD), wire=REFERENCE_WIRE, **kwargs)


def respx_client(**kwargs: Any) -> AdcClient:
    """A client whose requests respx answers: respx stands in for httpx's own transport, which the
    client then uses instead of its default (aiohttp's connections)."""
    return client_for("https://adc.test", transport=httpx.AsyncHTTPTransport(), **kwargs)


async def logins(adc: Appliance) -> int:
    return int((await adc.control("GET", "stats"))["requests"].get("POST", 0))


async def test_a_burst_of_expired_requests_opens_one_new_session(mock_adc: MockADC, adc: Appliance) -> None:
    async with client_for(mock_adc.url) as client:
        await client.get("system/info")
        await adc.control("POST", "sessions/expire")
        before = await logins(adc)
        answers = await asyncio.gather(*(client.get("slb/node") for _ in range(20)))
        assert all(answer["total"] == 0 for answer in answers)
        assert await logins(adc) == before + 1


async def test_unavailable_answers_are_retried(mock_adc: MockADC, adc: Appliance) -> None:
    await adc.control("POST", "faults", {"rules": [{"kind": "status", "status": 503, "count": 2, "retry_after": 0}]})
    async with client_for(mock_adc.url) as client:
        assert (await client.get("system/info"))["ha_role"] == "active"


async def test_permanent_rejections_are_not_retried(mock_adc: MockADC, adc: Appliance) -> None:
    async with client_for(mock_adc.url) as client:
        with pytest.raises(AdcRejected) as caught:
            await client.request("POST", "slb/node", {"name": "n1", "ip": "not-an-ip"})
    assert caught.value.code == 1002
    assert caught.value.field == "ip"
    changes = (await adc.control("GET", "changes"))["changes"]
    assert [change["code"] for change in changes] == [1002]  # exactly one attempt


async def test_transient_errors_give_up_at_the_deadline(mock_adc: MockADC, adc: Appliance) -> None:
    await adc.control("POST", "faults", {"rules": [{"kind": "status", "status": 503, "retry_after": 0}]})
    async with client_for(mock_adc.url, deadline=1.0) as client:
        with pytest.raises(AdcUnavailable, match="HTTP 503"):
            await client.get("system/info")


async def test_connect_retries_until_its_bound_then_names_the_last_error(mock_adc: MockADC, adc: Appliance) -> None:
    await adc.control("POST", "faults", {"rules": [{"kind": "status", "status": 503, "retry_after": 0}]})
    async with client_for(mock_adc.url, deadline=30.0) as client:
        started = time.monotonic()
        with pytest.raises(AdcUnavailable, match=r"^no login and list within 1 s; last error: POST login: HTTP 503$"):
            await client.connect("slb/node", within=1.0)
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3.0  # it kept trying for the whole second, and not for the 30 s deadline
    (rule,) = (await adc.control("GET", "faults"))["rules"]
    assert rule["fired"] >= 2


async def test_connect_cuts_an_attempt_that_hangs_at_its_bound(mock_adc: MockADC, adc: Appliance) -> None:
    slow_login = {"kind": "latency", "latency_ms": 2200, "path": "/adc/v3.0/login"}
    await adc.control("POST", "faults", {"rules": [slow_login]})
    async with client_for(mock_adc.url) as client:  # 2 s per request, 5 s per call: both longer than the bound
        started = time.monotonic()
        with pytest.raises(AdcUnavailable, match=r"within 0.5 s; last error: no answer yet"):
            await client.connect("slb/node", within=0.5)
        assert time.monotonic() - started < 1.5
        await adc.control("DELETE", "faults")
        await client.connect("slb/node", within=5.0)  # the cut attempt left the client usable


async def test_connect_reports_a_permanent_error_at_once(mock_adc: MockADC) -> None:
    settings = AdcSettings(url=mock_adc.url, operation_deadline=5.0, timeout=2.0)
    async with AdcClient(settings, lambda: Credentials(USERNAME, "wrong-password"), wire=REFERENCE_WIRE) as client:
        started = time.monotonic()
        with pytest.raises(AdcAuthError, match="wrong username or password"):
            await client.connect("slb/node", within=10.0)
        assert time.monotonic() - started < 2.0


def credentials_refused(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("adcbridge_adc_credentials_refused")


async def test_the_refused_credentials_gauge_holds_until_a_login_succeeds(mock_adc: MockADC, adc: Appliance) -> None:
    """The refusal is seen once (the client never sends those credentials again), so the gauge keeps it."""
    rotated = "rotated-by-the-admin-7"
    secret = {"password": PASSWORD}
    metrics = Metrics()
    settings = AdcSettings(url=mock_adc.url, operation_deadline=5.0, timeout=2.0)
    source = lambda: Credentials(USERNAME, secret["password"])  # noqa: E731 - the Secret's file, read at each login
    async with AdcClient(settings, source, wire=REFERENCE_WIRE, metrics=metrics) as client:
        await client.get("system/info")
        assert credentials_refused(metrics) == 0
        await adc.control("POST", "password", {"password": rotated})  # rotated on the ADC, not yet in the Secret
        await adc.control("POST", "sessions/expire")
        with pytest.raises(AdcAuthError, match="login refused"):
            await client.get("system/info")
        assert credentials_refused(metrics) == 1
        asked = await logins(adc)
        with pytest.raises(AdcAuthError, match="refused these credentials before"):
            await client.get("system/info")
        assert await logins(adc) == asked  # not asked again: the gauge is all that still shows the refusal
        assert credentials_refused(metrics) == 1
        # Another unit's client (an HA pair) logging in does not clear this one's refusal.
        good = lambda: Credentials(USERNAME, rotated)  # noqa: E731
        async with AdcClient(settings, good, wire=REFERENCE_WIRE, metrics=metrics) as other:
            await other.get("system/info")
            assert credentials_refused(metrics) == 1
        secret["password"] = rotated  # the Secret catches up
        assert (await client.get("system/info"))["ha_role"] == "active"
        assert credentials_refused(metrics) == 0


async def test_a_client_closed_while_refused_leaves_the_gauge(mock_adc: MockADC) -> None:
    metrics = Metrics()
    settings = AdcSettings(url=mock_adc.url, operation_deadline=5.0, timeout=2.0)
    async with AdcClient(settings, lambda: Credentials(USERNAME, "wrong"), wire=REFERENCE_WIRE, metrics=metrics) as c:
        with pytest.raises(AdcAuthError, match="login refused"):
            await c.get("system/info")
        assert credentials_refused(metrics) == 1
    assert credentials_refused(metrics) == 0


async def test_already_exists_converges_and_not_found_on_delete_is_done(mock_adc: MockADC, adc: Appliance) -> None:
    owner = Owner("c1")
    await adc.ok("POST", "slb/node", {"name": "k8s-c1-n1", "ip": "10.0.0.1", "description": owner.marker})
    await adc.ok("POST", "slb/node", {"name": "foreign", "ip": "10.0.0.2"})
    from adcbridge.model import Action, AdcNode, Operation, Plan

    wanted = AdcNode("k8s-c1-n1", "10.0.0.9", owner.marker)
    gone = AdcNode("k8s-c1-gone", "10.0.0.3", owner.marker)
    clash = AdcNode("foreign", "10.0.0.4", owner.marker)
    plan = Plan((Operation(Action.CREATE, wanted), Operation(Action.CREATE, clash), Operation(Action.DELETE, gone)))
    async with client_for(mock_adc.url) as client:
        report = await ReferenceDriver(client, owner, page_size=500, concurrency=2, save_config=False).apply(plan)
    outcomes = {result.operation.obj.name: (result.outcome, result.error) for result in report.results}
    assert outcomes["k8s-c1-n1"] == ("done", "")
    assert outcomes["k8s-c1-gone"] == ("done", "")
    assert outcomes["foreign"][0] == "failed"
    assert "not ours" in outcomes["foreign"][1]
    assert (await adc.ok("GET", "slb/node/k8s-c1-n1"))["ip"] == "10.0.0.9"
    assert (await adc.ok("GET", "slb/node/foreign"))["ip"] == "10.0.0.2"


@respx.mock
async def test_an_answer_that_is_not_the_envelope_is_a_protocol_error() -> None:
    respx.post("https://adc.test/adc/v3.0/login").respond(
        200, json={"res": {"status": "success", "code": 0}, "data": {}}
    )
    async with respx_client() as client:
        with pytest.raises(AdcProtocolError, match="no token"):
            await client.login()
    respx.post("https://adc.test/adc/v3.0/login").respond(200, text="<html>portal login</html>")
    async with respx_client() as client:
        with pytest.raises(AdcProtocolError, match="not an ADC answer: <html>portal login</html>"):
            await client.login()


@respx.mock
async def test_retry_after_as_an_http_date_falls_back_to_backoff() -> None:
    route = respx.post("https://adc.test/adc/v3.0/login")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(200, json={"res": {"status": "success", "code": 0, "msg": "ok"}, "data": {"token": "t"}}),
    ]
    respx.post("https://adc.test/adc/v3.0/logout").respond(200, json={"res": {"status": "success", "code": 0}})
    async with respx_client() as client:
        await client.login()
    assert route.call_count == 2


@respx.mock
async def test_a_locked_account_is_reported_and_does_not_mark_the_password_wrong() -> None:
    locked = {"res": {"status": "failure", "code": 4031, "msg": "account locked; retry in 300 s"}, "data": {}}
    route = respx.post("https://adc.test/adc/v3.0/login").respond(403, json=locked)
    async with respx_client() as client:
        for _ in range(2):
            with pytest.raises(AdcAuthError, match="locked"):
                await client.login()
    assert route.call_count == 2  # locked is not "wrong password": it is tried again next cycle
