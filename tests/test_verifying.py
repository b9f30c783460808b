"""The DNS check beside the loop: never overlapping, newest request kept, only what changed asked
(all of it once per resync period), a silent server reported once, results in metrics and log;
which servers it asks by default, and what it says at start when it asks none for the ADC."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import dns.message
import pytest

from adcbridge.app import Service
from adcbridge.dns.verify import NameCheck, VerifyReport
from adcbridge.metrics import Metrics
from adcbridge.model import ClusterSnapshot
from adcbridge.verifying import Verification, announce, unchecked_note, verify_servers, verifying
from mocks.adc import MockADC
from tests.builders import VIP4, settings
from tests.fake_dns import FakeDns, StartFake, answering
from tests.live import until
from tests.test_bridge_against_mock import HOSTS, StaticSource, bridge_settings, cluster

SERVER = "127.0.0.1:53"
V4 = ("192.0.2.10",)


class SlowVerifier:
    """Answers from a table of reasons, after a delay it can be held at; while ``silent`` is set,
    reports the server unreachable as ``Verifier`` does (every name a timeout, not answered)."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.silent = False

    async def verify(self, expected: Mapping[str, tuple[str, ...]]) -> VerifyReport:
        self.calls.append(sorted(expected))
        await self.gate.wait()
        if self.silent:
            quiet = tuple(NameCheck(name, SERVER, "timeout", "A: not asked", answered=False) for name in expected)
            return VerifyReport(quiet, 0.01, 1, {SERVER: "A: no UDP answer within 2 s"})
        checks = tuple(NameCheck(name, SERVER, self.reasons.get(name, "ok"), "") for name in expected)  # type: ignore[arg-type]
        return VerifyReport(checks, 0.01, len(checks))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def checked(fake: SlowVerifier, metrics: Metrics, clock: Clock | None = None, every: float = 60.0) -> Verification:
    return Verification(fake, metrics, full_every=every, clock=clock or Clock())  # type: ignore[arg-type]


def gauge(metrics: Metrics, reason: str) -> float | None:
    return metrics.registry.get_sample_value("adcbridge_dns_checks", {"reason": reason})


async def test_runs_never_overlap_and_the_newest_request_follows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adcbridge.verifying")
    fake, metrics, clock = SlowVerifier(), Metrics(), Clock()
    verification = checked(fake, metrics, clock)
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
    verification.start({"c.example.com": ("192.0.2.10",)})  # unchanged and answered: not asked, not logged
    await verification.wait()
    assert fake.calls == [["a.example.com"], ["c.example.com"]]
    assert "c.example.com" not in caplog.text
    assert gauge(metrics, "nxdomain") == 1.0  # its state stands until it is asked again
    fake.reasons = {}
    clock.now += 60  # the resync period: every name is asked again
    verification.start({"c.example.com": ("192.0.2.10",)})
    await verification.wait()
    assert fake.calls[-1] == ["c.example.com"]
    assert "DNS: c.example.com now resolves on 127.0.0.1:53" in caplog.text
    await verification.close()


async def test_only_names_new_or_changed_are_asked_and_all_of_them_each_resync_period() -> None:
    fake, metrics, clock = SlowVerifier(), Metrics(), Clock()
    verification = checked(fake, metrics, clock, every=60.0)
    verification.start({"a.example.com": V4, "b.example.com": V4})
    await verification.wait()
    assert fake.calls == [["a.example.com", "b.example.com"]]  # the first check asks everything
    clock.now += 59
    verification.start({"a.example.com": V4, "b.example.com": ("192.0.2.11",), "c.example.com": V4})
    await verification.wait()
    assert fake.calls[-1] == ["b.example.com", "c.example.com"]  # b moved, c is new; a is not asked
    assert gauge(metrics, "ok") == 3.0  # a keeps the answer it had
    verification.start({"a.example.com": V4, "c.example.com": V4})  # b is gone
    await verification.wait()
    assert len(fake.calls) == 2  # nothing changed that needs asking
    assert gauge(metrics, "ok") == 2.0  # b left the counts
    clock.now += 1  # 60 s since the last full check
    verification.start({"a.example.com": V4, "c.example.com": V4})
    await verification.wait()
    assert fake.calls[-1] == ["a.example.com", "c.example.com"]
    clock.now += 30
    verification.start({"a.example.com": V4, "c.example.com": V4})
    await verification.wait()
    assert len(fake.calls) == 3  # the next full check is 60 s after this one, not after the first
    await verification.close()


async def test_a_silent_server_is_reported_once_and_its_names_asked_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adcbridge.verifying")
    fake, metrics = SlowVerifier(), Metrics()
    verification = checked(fake, metrics)
    names = {f"n{index}.example.com": V4 for index in range(80)}
    fake.silent = True
    verification.start(names)
    await verification.wait()
    verification.start(names)  # unanswered names are asked again (a probe each time, in Verifier)
    await verification.wait()
    assert len(fake.calls) == 2
    silent_lines = [record for record in caplog.records if "does not answer" in record.getMessage()]
    assert [record.getMessage() for record in silent_lines] == [
        "DNS: 127.0.0.1:53 does not answer (A: no UDP answer within 2 s); its 80 names are not checked until it does"
    ]
    assert len(caplog.records) == 1  # not a line per name
    assert gauge(metrics, "timeout") == 80.0
    caplog.clear()
    fake.silent = False
    verification.start(names)
    await verification.wait()
    assert fake.calls[-1] == sorted(names)
    assert [record.getMessage() for record in caplog.records] == ["DNS: 127.0.0.1:53 answers again"]
    assert (gauge(metrics, "ok"), gauge(metrics, "timeout")) == (80.0, 0.0)
    verification.start(names)
    await verification.wait()
    assert len(fake.calls) == 3  # all answered now: nothing to ask
    await verification.close()


async def test_close_cancels_a_run_in_progress() -> None:
    fake = SlowVerifier()
    fake.gate.clear()
    verification = checked(fake, Metrics())
    verification.start({"a.example.com": ("192.0.2.10",)})
    await asyncio.sleep(0)
    await verification.close()
    assert verification.last is None


def test_the_servers_follow_the_targets_unless_given_and_never_default_to_the_adc() -> None:
    adc = {"url": "https://adc.example.net:8443"}
    alone = settings(adc=adc)  # dns.targets [adc], no verify_servers: nothing is asked
    assert verify_servers(alone) == []
    assert not verifying(alone)
    rfc = {"server": "192.0.2.53:5353", "zones": ["example.com"], "tsig_key_name": "k"}
    both = settings(adc=adc, dns={"targets": ["adc", "rfc2136"]}, rfc2136=rfc)
    assert verify_servers(both) == [("192.0.2.53", 5353)]  # the RFC 2136 server only
    zone_only = settings(adc=adc, dns={"targets": ["rfc2136"]}, rfc2136=rfc)
    assert verify_servers(zone_only) == [("192.0.2.53", 5353)]
    given = settings(dns={"verify_servers": ["[2001:db8::53]:53"]})
    assert verify_servers(given) == [("2001:db8::53", 53)]
    assert verifying(given)


def test_the_start_note_is_for_an_adc_target_nobody_checks(caplog: pytest.LogCaptureFixture) -> None:
    rfc = {"server": "192.0.2.53:5353", "zones": ["example.com"], "tsig_key_name": "k"}
    note = unchecked_note(settings())
    assert note is not None
    assert "not checked" in note
    assert "dns.verify_servers" in note
    assert unchecked_note(settings(dns={"targets": ["adc", "rfc2136"]}, rfc2136=rfc)) == note  # the ADC still unasked
    assert unchecked_note(settings(dns={"verify_servers": ["192.0.2.53:53"]})) is None
    assert unchecked_note(settings(dns={"targets": ["rfc2136"]}, rfc2136=rfc)) is None
    assert unchecked_note(settings(dns={"targets": []})) is None
    assert unchecked_note(settings(dns={"verify": False})) is None
    caplog.set_level(logging.INFO, logger="adcbridge.verifying")
    announce(settings())
    assert [record.getMessage() for record in caplog.records] == [note]


# ---------------------------------------------------------------------------- in the service, over real DNS


def cycles(service: Service) -> float:
    count = service.metrics.registry.get_sample_value
    name = "adcbridge_reconcile_duration_seconds_count"
    return sum(count(name, {"result": result}) or 0 for result in ("ok", "converged", "failed"))


@asynccontextmanager
async def serving(service: Service) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(service.serve_until(stop))
    try:
        yield
    finally:
        stop.set()
        assert await task == 0


def service_for(mock: MockADC, source: StaticSource, servers: list[str], resync: float, **dns: Any) -> Service:
    reconcile = {"batch_window_seconds": 0.05, "resync_seconds": resync}
    dns = {"verify_servers": servers, "verify_timeout": 0.3, **dns}
    config = bridge_settings(mock, reconcile=reconcile, dns=dns, server={"listen": "127.0.0.1:0"})
    return Service(config, source)


async def test_after_a_change_cycle_only_the_new_name_is_asked(mock_adc: MockADC, fake_dns: StartFake) -> None:
    server = await fake_dns(answering(VIP4))
    source = StaticSource(cluster())
    service = service_for(mock_adc, source, [server.label], resync=60)
    async with serving(service):
        await until(lambda: _ok(service, len(HOSTS)), what="the first check: every name")
        assert sorted(server.asked) == sorted(HOSTS)
        source.view = cluster(hosts=[*HOSTS, "woken.example.com"])
        source.changed.set()
        await until(lambda: _ok(service, len(HOSTS) + 1), what="the new name checked")
        done = cycles(service)
        source.changed.set()  # more cycles, with nothing changed: nothing to ask
        await until(lambda: _more(service, done + 1), what="a cycle with nothing changed")
        source.changed.set()
        await until(lambda: _more(service, done + 2), what="another cycle with nothing changed")
    assert server.asked[len(HOSTS) :] == ["woken.example.com"]


async def test_every_name_is_asked_again_each_resync_period(mock_adc: MockADC, fake_dns: StartFake) -> None:
    server = await fake_dns(answering(VIP4))
    service = service_for(mock_adc, StaticSource(cluster()), [server.label], resync=0.3)
    async with serving(service):
        await until(lambda: _asked_each(server, 3), what="every name asked three times, with no change")


async def test_cycles_go_on_while_a_check_waits_for_a_slow_server(mock_adc: MockADC, fake_dns: StartFake) -> None:
    server = await fake_dns(answering(VIP4), delay=3.0)  # every answer takes 3 s
    service = service_for(mock_adc, StaticSource(cluster()), [server.label], resync=0.05, verify_timeout=5.0)
    async with serving(service):
        await until(lambda: _more(service, 5), what="five cycles")
        assert server.outstanding > 0  # the first check is still waiting for its answers
        assert gauge(service.metrics, "ok") is None


class HeldSource(StaticSource):
    """A view whose next snapshot can be held: a cycle that stays in progress until released."""

    def __init__(self, view: ClusterSnapshot) -> None:
        super().__init__(view)
        self.released = asyncio.Event()
        self.released.set()

    async def snapshot(self) -> ClusterSnapshot:
        await self.released.wait()
        return await super().snapshot()


async def test_the_check_sends_no_query_while_a_cycle_runs(mock_adc: MockADC, fake_dns: StartFake) -> None:
    source = HeldSource(cluster())
    held_when: list[bool] = []  # for each query the server got: was a cycle held in progress?

    def reply(query: dns.message.Message) -> dns.message.Message | None:
        held_when.append(not source.released.is_set())
        return answering(VIP4)(query)

    server = await fake_dns(reply, delay=0.2)  # a slow server: the check outlasts the start of the next cycle
    service = service_for(mock_adc, source, [server.label], resync=60, verify_concurrency=1, verify_timeout=2.0)
    async with serving(service):
        await until(lambda: _received(server, 1), what="the check's probe sent")
        source.released.clear()  # the next cycle stays in its snapshot until released
        source.changed.set()
        await until(lambda: _outstanding(server, 0), what="the probe answered, during the held cycle")
        assert held_when == [False]  # nothing went out after the cycle began
        source.released.set()
        await until(lambda: _ok(service, len(HOSTS)), what="the check done after the cycle")
    assert held_when == [False] * len(HOSTS)


async def _received(server: FakeDns, count: int) -> bool:
    return server.received >= count


async def _outstanding(server: FakeDns, count: int) -> bool:
    return server.outstanding == count


async def test_without_verify_servers_the_adc_is_not_asked_and_the_start_says_so(
    mock_adc: MockADC, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adcbridge.verifying")
    service = service_for(mock_adc, StaticSource(cluster()), [], resync=0.2)  # targets: [adc], the default
    async with serving(service):
        await until(lambda: _more(service, 3), what="three cycles")
    assert gauge(service.metrics, "ok") is None  # no check ran: the ADC (127.0.0.1:53) is not asked
    assert gauge(service.metrics, "timeout") is None
    assert [record.getMessage() for record in caplog.records] == [unchecked_note(service.settings)]


async def _ok(service: Service, count: int) -> bool:
    return gauge(service.metrics, "ok") == count


async def _more(service: Service, count: float) -> bool:
    return cycles(service) >= count


async def _asked_each(server: FakeDns, times: int) -> bool:
    return all(server.asked.count(host) >= times for host in HOSTS)
