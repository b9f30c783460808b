"""Injected faults of the mock ADC: overload, server errors, resets and latency."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import Appliance


async def inject(adc: Appliance, *rules: dict[str, Any], seed: int = 0) -> None:
    await adc.control("POST", "faults", {"rules": list(rules), "seed": seed})


@pytest.mark.parametrize(("status", "code"), [(429, 4290), (503, 5030), (500, 5000), (502, 5020), (504, 5040)])
async def test_status_faults_answer_the_status_with_an_envelope(adc: Appliance, status: int, code: int) -> None:
    await inject(adc, {"kind": "status", "status": status, "retry_after": 2, "count": 1})
    response = await adc.call("GET", "slb/node")
    assert response.status_code == status
    assert response.json()["res"]["code"] == code
    assert response.headers["Retry-After"] == "2"
    assert (await adc.call("GET", "slb/node")).status_code == 200


async def test_html_error_page(adc: Appliance) -> None:
    await inject(adc, {"kind": "status", "status": 502, "body": "html", "retry_after": None, "count": 1})
    response = await adc.call("GET", "slb/node")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")
    assert "Retry-After" not in response.headers


async def test_rules_match_path_glob_and_methods(adc: Appliance) -> None:
    await inject(adc, {"kind": "status", "status": 503, "path": "/adc/v3.0/slb/pool*", "methods": ["POST"]})
    assert (await adc.call("POST", "slb/pool", {"name": "p1"})).status_code == 503
    assert (await adc.call("GET", "slb/pool")).status_code == 200
    assert (await adc.call("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})).status_code == 200
    # Faults are never applied to the mock controls.
    assert (await adc.control("GET", "state"))["counts"]["slb/pool"] == 0


async def test_count_limits_how_often_a_rule_fires(adc: Appliance) -> None:
    await inject(adc, {"kind": "status", "status": 429, "count": 3})
    statuses = [(await adc.call("GET", "slb/node")).status_code for _ in range(5)]
    assert statuses == [429, 429, 429, 200, 200]
    assert (await adc.control("GET", "faults"))["rules"][0]["fired"] == 3


async def test_rate_is_random_but_reproducible_with_a_seed(adc: Appliance) -> None:
    async def run() -> list[int]:
        await inject(adc, {"kind": "status", "status": 503, "rate": 0.5}, seed=7)
        return [(await adc.call("GET", "slb/node")).status_code for _ in range(40)]

    first, second = await run(), await run()
    assert first == second
    assert 5 < first.count(503) < 35


async def test_reset_drops_the_connection_before_applying(adc: Appliance) -> None:
    await inject(adc, {"kind": "reset", "methods": ["POST"], "count": 1})
    with pytest.raises(httpx.TransportError):
        await adc.call("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})
    assert (await adc.ok("GET", "slb/node"))["total"] == 0


async def test_reset_after_apply_leaves_the_write_done(adc: Appliance) -> None:
    """The nastiest case for a client: the write happened, but the answer never came."""
    await inject(adc, {"kind": "reset", "methods": ["POST"], "after_apply": True, "count": 1})
    with pytest.raises(httpx.TransportError):
        await adc.call("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})
    assert (await adc.ok("GET", "slb/node"))["total"] == 1
    await adc.fails("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"}, code=2001)


async def test_busy_is_a_transient_business_failure(adc: Appliance) -> None:
    await inject(adc, {"kind": "busy", "methods": ["POST"], "count": 1})
    failure = await adc.fails("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"}, code=3002, http=200)
    assert "retry" in failure["msg"]
    await adc.ok("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})


async def test_truncate_cuts_the_answer_after_applying(adc: Appliance) -> None:
    await inject(adc, {"kind": "truncate", "methods": ["POST"], "count": 1})
    with pytest.raises(httpx.TransportError):
        await adc.call("POST", "slb/node", {"name": "n1", "ip": "10.0.0.1"})
    assert (await adc.ok("GET", "slb/node"))["total"] == 1
    await inject(adc, {"kind": "truncate", "path": "/adc/v3.0/slb/node", "methods": ["GET"], "count": 1})
    with pytest.raises(httpx.TransportError):
        await adc.call("GET", "slb/node")


async def test_latency_adds_up_and_combines_with_other_faults(adc: Appliance) -> None:
    await inject(
        adc,
        {"kind": "latency", "latency_ms": 150},
        {"kind": "latency", "latency_ms": 100, "path": "/adc/v3.0/slb/*"},
        {"kind": "status", "status": 503, "count": 1},
    )
    started = time.monotonic()
    assert (await adc.call("GET", "slb/node")).status_code == 503
    assert time.monotonic() - started >= 0.25
    await adc.control("DELETE", "faults")
    assert (await adc.control("GET", "faults"))["rules"] == []


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "explode"}, "rules[0].kind"),
        ({"kind": "status", "status": 404}, "rules[0].status"),
        ({"kind": "status", "rate": 2}, "rules[0].rate"),
        ({"kind": "status", "methods": ["PATCH"]}, "rules[0].methods"),
        ({"kind": "latency", "latency_ms": -1}, "rules[0].latency_ms"),
        ({"kind": "status", "colour": "red"}, "rules[0].colour"),
        ({"kind": "status", "count": True}, "rules[0].count"),
        ({"kind": "latency", "latency_ms": True}, "rules[0].latency_ms"),
        ({"status": 503}, "rules[0]"),
    ],
)
async def test_invalid_fault_rules_are_rejected_whole(adc: Appliance, rule: dict[str, Any], field: str) -> None:
    await inject(adc, {"kind": "latency", "latency_ms": 1})
    response = await adc.http.post("/_mock/faults", json={"rules": [rule]})
    envelope = response.json()
    assert envelope["res"]["code"] == 1002
    assert envelope["data"] == {"field": field}
    assert len((await adc.control("GET", "faults"))["rules"]) == 1
