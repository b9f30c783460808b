"""The DNS check beside the loop: never overlapping, newest request kept, results in metrics and log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import pytest

from adcbridge.dns.verify import NameCheck, VerifyReport
from adcbridge.metrics import Metrics
from adcbridge.verifying import Verification, verify_servers
from tests.builders import settings


class SlowVerifier:
    """Answers from a table of reasons, after a delay it can be held at."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def verify(self, expected: Mapping[str, tuple[str, ...]]) -> VerifyReport:
        self.calls.append(sorted(expected))
        await self.gate.wait()
        checks = tuple(NameCheck(name, "127.0.0.1:53", self.reasons.get(name, "ok"), "") for name in expected)  # type: ignore[arg-type]
        return VerifyReport(checks, 0.01, len(checks))


async def test_runs_never_overlap_and_the_newest_request_follows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adcbridge.verifying")
    fake, metrics = SlowVerifier(), Metrics()
    verification = Verification(fake, metrics)  # type: ignore[arg-type]
    fake.gate.clear()
    verification.start({"a.example.com": ("192.0.2.10",)})
    await asyncio.sleep(0)
    verification.start({"b.example.com": ("192.0.2.10",)})
    verification.start({"c.example.com": ("192.0.2.10",)})  # replaces b: only the newest waits
    fake.reasons = {"c.example.com": "nxdomain"}
    fake.gate.set()
    report = await verification.wait()
    assert fake.calls == [["a.example.com"], ["c.example.com"]]
    assert report is not None
    assert report.counts() == {"ok": 0, "nxdomain": 1}
    assert metrics.registry.get_sample_value("adcbridge_dns_checks", {"reason": "nxdomain"}) == 1.0
    assert "DNS: c.example.com on 127.0.0.1:53: nxdomain" in caplog.text
    caplog.clear()
    verification.start({"c.example.com": ("192.0.2.10",)})  # the same state: not logged again
    await verification.wait()
    assert "c.example.com" not in caplog.text
    fake.reasons = {}
    verification.start({"c.example.com": ("192.0.2.10",)})
    await verification.wait()
    assert "DNS: c.example.com now resolves on 127.0.0.1:53" in caplog.text
    await verification.close()


async def test_close_cancels_a_run_in_progress() -> None:
    fake = SlowVerifier()
    fake.gate.clear()
    verification = Verification(fake, Metrics())  # type: ignore[arg-type]
    verification.start({"a.example.com": ("192.0.2.10",)})
    await asyncio.sleep(0)
    await verification.close()
    assert verification.last is None


def test_the_servers_follow_the_targets_unless_given() -> None:
    adc = {"url": "https://adc.example.net:8443"}
    assert verify_servers(settings(adc=adc)) == [("adc.example.net", 53)]
    rfc = {"server": "192.0.2.53:5353", "zones": ["example.com"], "tsig_key_name": "k"}
    both = settings(adc=adc, dns={"targets": ["adc", "rfc2136"]}, rfc2136=rfc)
    assert verify_servers(both) == [("adc.example.net", 53), ("192.0.2.53", 5353)]
    given = settings(dns={"verify_servers": ["[2001:db8::53]:53"]})
    assert verify_servers(given) == [("2001:db8::53", 53)]
