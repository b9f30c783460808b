"""BIG-IP high availability: the bridge writes only to the ACTIVE unit, and follows a failover.

Two emulated units on loopback make a pair (``adc.url`` names both); the tests flip their roles
with ``/_mock/role`` while the bridge runs and read each unit's change log: a standby accepts
writes as a real one does, so "zero writes reached the standby" is read from its own log, never
inferred from an error. One URL that is a standby fails the cycle without writing. With
``adc.config_sync_group`` the bridge syncs the group after saving, and "Changes Pending" is
reported without making the bridge unready. The reference dialect refuses a list of URLs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adcbridge.adc import AdcClient, Credentials, check_settings, open_adc
from adcbridge.adc.bigip import BIGIP_WIRE
from adcbridge.adc.bigip.units import Units
from adcbridge.app import Service, readiness
from adcbridge.config import Settings, load_settings
from adcbridge.errors import AdcRejected, ConfigError
from adcbridge.metrics import Metrics
from adcbridge.reconciler import Reconciler
from adcbridge.verifying import verify_servers
from mocks.bigip import BigIPConfig, MockBigIP
from mocks.bigip.certificates import self_signed
from tests.bigip_bridge import native
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, PARTITION, Unit, trust
from tests.builders import node, settings
from tests.live import until
from tests.test_bridge_against_mock import NODES, StaticSource, cluster
from tests.test_config_fuzz import run_cli

GROUP = "pair-group"
STATUS_PATH = "GET /mgmt/tm/cm/failover-status"


class Member:
    """One emulated unit of the pair, with a client for its controls."""

    def __init__(self, mock: MockBigIP, unit: Unit) -> None:
        self.mock = mock
        self.unit = unit
        self.url = mock.url

    async def role(self, role: str) -> None:
        await self.unit.control("POST", "role", {"role": role})

    async def changes(self) -> list[dict[str, Any]]:
        """Every configuration write that reached this unit (saves and syncs included)."""
        return list((await self.unit.control("GET", "changes"))["changes"])

    async def status_reads(self) -> int:
        return int((await self.unit.control("GET", "stats"))["paths"].get(STATUS_PATH, 0))

    async def virtuals(self) -> set[str]:
        return set((await native(self.unit, PARTITION))["ltm/virtual"])


@asynccontextmanager
async def units(count: int, directory: Path) -> AsyncIterator[list[Member]]:
    """``count`` units of device group ``GROUP``, each with the bridge's partition, the first active
    and the others standby; the partition is seeded outside the change logs. The units share one
    certificate: each emulator's own has the subject of a BIG-IP's default certificate, and a
    bundle of two certificates with one subject verifies only one of them (as with real units)."""
    certificate, key = self_signed("127.0.0.1")
    (directory / "unit.pem").write_bytes(certificate)
    (directory / "unit.key").write_bytes(key)
    async with AsyncExitStack() as stack:
        members = []
        for index in range(count):
            config = BigIPConfig(
                username=BIGIP_USER,
                password=BIGIP_PASSWORD,
                device_group=GROUP,
                dns_port=None,
                tls_cert=directory / "unit.pem",
                tls_key=directory / "unit.key",
            )
            mock = await stack.enter_async_context(MockBigIP(config))
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=mock.url, verify=trust(mock), timeout=10))
            member = Member(mock, Unit(http))
            seed = [{"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": PARTITION}}]
            await member.unit.control("POST", "seed", {"requests": seed})
            await member.role("active" if index == 0 else "standby")
            members.append(member)
        yield members


def ha_settings(members: list[Member], tmp_path: Path, **overrides: Any) -> Settings:
    urls = [member.url for member in members]
    adc = {
        "dialect": "bigip",
        "url": urls if len(urls) > 1 else urls[0],
        "username": BIGIP_USER,
        "password": BIGIP_PASSWORD,
        "partition": PARTITION,
        "ca_file": str(tmp_path / "unit.pem"),
        "operation_deadline": 2.0,
        "timeout": 2.0,
    }
    return settings(adc={**adc, **overrides.pop("adc", {})}, dns={"targets": [], "verify": False}, **overrides)


def gauge(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_a_running_bridge_writes_to_the_active_unit_and_follows_a_failover(tmp_path: Path) -> None:
    async with units(2, tmp_path) as (a, b):
        fast = {"batch_window_seconds": 0.05, "resync_seconds": 0.2, "max_backoff_seconds": 0.2}
        config = ha_settings([a, b], tmp_path, reconcile=fast, server={"listen": "127.0.0.1:0"})
        service = Service(config, StaticSource(cluster()))
        stop = asyncio.Event()
        serving = asyncio.create_task(service.serve_until(stop))
        try:
            await until(lambda: _ready_on(service, a.url), what="ready, writing to unit a")
            assert len(await a.virtuals()) == 2
            assert gauge(service.metrics, "adcbridge_adc_active_unit", url=a.url) == 1
            assert gauge(service.metrics, "adcbridge_adc_active_unit", url=b.url) == 0

            await a.role("standby")  # a failover: b takes over, and knows nothing of our objects yet
            await b.role("active")
            await until(lambda: _ready_on(service, b.url), what="ready, writing to unit b")
            await until(lambda: _has_virtuals(b), what="our virtual servers on unit b")
            assert gauge(service.metrics, "adcbridge_adc_active_unit", url=b.url) == 1
            assert gauge(service.metrics, "adcbridge_adc_active_unit", url=a.url) == 0
            written_to_a = len(await a.changes())
            after_failover = _cycles(service)
            await until(lambda: _more_cycles(service, after_failover + 2), what="more cycles on the pair")
        finally:
            stop.set()
            assert await serving == 0
        assert len(await a.changes()) == written_to_a  # nothing more reached a since it became standby
    assert written_to_a > 0


async def _ready_on(service: Service, url: str) -> bool:
    ready, text = service.readiness()
    return ready and f"(ADC active unit {url})" in text


async def _has_virtuals(member: Member) -> bool:
    return len(await member.virtuals()) == 2


def _cycles(service: Service) -> float:
    counts = service.metrics.registry.get_sample_value
    name = "adcbridge_reconcile_duration_seconds_count"
    return sum(counts(name, {"result": result}) or 0 for result in ("ok", "converged", "failed"))


async def _more_cycles(service: Service, count: float) -> bool:
    return _cycles(service) >= count


async def test_no_write_reaches_the_standby_of_a_pair(tmp_path: Path) -> None:
    async with units(2, tmp_path) as (a, b):
        config = ha_settings([a, b], tmp_path)
        async with open_adc(config, Metrics()) as adc:
            reconciler = Reconciler(config, StaticSource(cluster()), adc, Metrics())
            first = await reconciler.run_once()
            assert first.converged, first.error
            assert adc.active_unit() == a.url
        assert await b.changes() == []
        kinds = [change["kind"] for change in await a.changes()]
        assert "ltm/virtual" in kinds
        assert "sys/config" in kinds


async def test_a_change_cycle_reads_the_role_first_and_writes_nothing_after_a_silent_failover(tmp_path: Path) -> None:
    """A change cycle plans on the state the bridge kept since its last read (of unit a). A failover
    that no error showed: the status read before writing finds b active, and the cycle writes
    nothing (a standby would accept it; b was not read). The next cycle reads b whole and writes there."""
    async with units(2, tmp_path) as (a, b):
        config = ha_settings([a, b], tmp_path)
        source = StaticSource(cluster())
        async with open_adc(config, Metrics()) as adc:
            reconciler = Reconciler(config, source, adc, Metrics())
            assert (await reconciler.run_once()).converged
            written_to_a, reads = len(await a.changes()), await a.status_reads()
            source.view = cluster(nodes=[*NODES, node("node-4", "10.0.0.4")])
            assert (await reconciler.run_once()).converged  # a change cycle: only the status is read
            assert await a.status_reads() == reads + 1
            assert len(await a.changes()) > written_to_a
            written_to_a = len(await a.changes())

            await a.role("standby")
            await b.role("active")
            source.view = cluster(nodes=[*NODES, node("node-4", "10.0.0.4"), node("node-5", "10.0.0.5")])
            refused = await reconciler.run_once()
            assert f"the active BIG-IP unit is now {b.url}" in refused.error
            assert len(await a.changes()) == written_to_a
            assert await b.changes() == []

            again = await reconciler.run_once()
            assert again.converged, again.error
            assert adc.active_unit() == b.url
        assert len(await a.changes()) == written_to_a
        assert len(await b.virtuals()) == 2


async def test_when_no_unit_is_active_the_cycle_fails_without_writing_and_recovers(tmp_path: Path) -> None:
    async with units(2, tmp_path) as (a, b):
        await a.role("standby")
        config = ha_settings([a, b], tmp_path)
        async with open_adc(config, Metrics()) as adc:
            reconciler = Reconciler(config, StaticSource(cluster()), adc, Metrics())
            failed = await reconciler.run_once()
            assert f"no active BIG-IP unit to write to ({a.url} standby, {b.url} standby)" in failed.error
            assert adc.active_unit() == ""
            assert await a.changes() == []
            assert await b.changes() == []

            await b.role("active")  # the next cycle (a retry) finds the new active unit: no restart
            again = await reconciler.run_once()
            assert again.converged, again.error
        assert await a.changes() == []
        assert len(await b.virtuals()) == 2


async def test_two_units_that_both_say_active_get_no_write(tmp_path: Path) -> None:
    async with units(2, tmp_path) as (a, b):
        await b.role("active")  # a split pair: which one the other units follow is unknown
        config = ha_settings([a, b], tmp_path)
        async with open_adc(config, Metrics()) as adc:
            report = await Reconciler(config, StaticSource(cluster()), adc, Metrics()).run_once()
        assert f"no active BIG-IP unit to write to ({a.url} active, {b.url} active)" in report.error
        assert await a.changes() == []
        assert await b.changes() == []


async def test_a_unit_of_the_pair_that_is_down_holds_nothing_up(tmp_path: Path) -> None:
    async with units(1, tmp_path) as (a,):
        config = ha_settings(
            [a], tmp_path, adc={"url": [a.url, "https://127.0.0.1:9"], "timeout": 5.0, "operation_deadline": 5.0}
        )
        async with open_adc(config, Metrics()) as adc:
            started = time.monotonic()
            await adc.connect(within=5.0)  # done once one unit answers
            connected = time.monotonic() - started
            report = await Reconciler(config, StaticSource(cluster()), adc, Metrics()).run_once()
        assert report.converged, report.error
        assert connected < 4.0  # not the 5 s the dead unit's retries would take
        assert report.duration < 4.0  # one attempt at the dead unit's status, no retries until the timeout
        assert len(await a.virtuals()) == 2


async def test_a_unit_that_is_down_beside_a_standby_fails_the_cycle_within_one_timeout_of_retries(
    tmp_path: Path,
) -> None:
    """No unit answers active, so the dead unit's status read is tried again, but only for the
    status read's own timeout, never for the (much longer) operation deadline: the peer taking
    over is seen at the next cycle, not a deadline later."""
    async with units(1, tmp_path) as (a,):
        await a.role("standby")
        config = ha_settings(
            [a], tmp_path, adc={"url": [a.url, "https://127.0.0.1:9"], "timeout": 2.0, "operation_deadline": 30.0}
        )
        async with open_adc(config, Metrics()) as adc:
            reconciler = Reconciler(config, StaticSource(cluster()), adc, Metrics())
            failed = await reconciler.run_once()
            assert (
                f"no active BIG-IP unit to write to ({a.url} standby, https://127.0.0.1:9 unreachable" in failed.error
            )
            assert failed.duration < 7.0  # the first try and then its retries within 2 s, not 30 s of them
            await a.role("active")
            again = await reconciler.run_once()
        assert again.converged, again.error
        assert len(await a.virtuals()) == 2


async def test_one_url_naming_a_standby_fails_the_cycle_and_writes_nothing(tmp_path: Path) -> None:
    async with units(1, tmp_path) as (only,):
        await only.role("standby")
        config = ha_settings([only], tmp_path)
        async with open_adc(config, Metrics()) as adc:
            report = await Reconciler(config, StaticSource(cluster()), adc, Metrics()).run_once()
        assert f"no active BIG-IP unit to write to ({only.url} standby); nothing written" in report.error
        assert await only.changes() == []
        assert await only.virtuals() == set()


async def test_the_failover_status_is_read_at_each_observe_and_after_an_error_not_before_each_write(
    tmp_path: Path,
) -> None:
    async with units(2, tmp_path) as (a, b):
        config = ha_settings([a, b], tmp_path)
        async with open_adc(config, Metrics()) as adc:
            reconciler = Reconciler(config, StaticSource(cluster()), adc, Metrics())
            assert (await reconciler.run_once()).converged  # a dozen writes: read at the observe, again to write
            assert (await a.status_reads(), await b.status_reads()) == (2, 2)
            assert (await reconciler.run_once()).converged  # nothing to write on the state kept: not read
            assert (await a.status_reads(), await b.status_reads()) == (2, 2)
            assert (await reconciler.run_once(resync=True)).converged  # a resync reads it again
            assert (await a.status_reads(), await b.status_reads()) == (3, 3)

        clients = {
            member.url: AdcClient(config.adc, _credentials, wire=BIGIP_WIRE, url=member.url) for member in (a, b)
        }
        pair = Units(clients, timeout=2.0)
        try:
            pool = {"name": "by-hand", "partition": PARTITION}
            await pair.request("POST", "tm/ltm/pool", pool)
            await pair.request("DELETE", f"tm/ltm/pool/~{PARTITION}~by-hand")
            assert (await a.status_reads(), await b.status_reads()) == (4, 4)  # once, not before each write
            with pytest.raises(AdcRejected):
                await pair.get(f"tm/ltm/pool/~{PARTITION}~by-hand")
            await pair.get(f"tm/auth/partition/{PARTITION}")
            assert (await a.status_reads(), await b.status_reads()) == (5, 5)  # again after the error
        finally:
            for client in clients.values():
                await client.close()
        assert await b.changes() == []


def _credentials() -> Credentials:
    return Credentials(BIGIP_USER, BIGIP_PASSWORD)


async def test_config_sync_runs_after_the_save_and_changes_pending_is_reported_not_unready(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with units(1, tmp_path) as (only,):
        metrics = Metrics()
        config = ha_settings([only], tmp_path, adc={"config_sync_group": GROUP})
        async with open_adc(config, metrics) as adc:
            report = await Reconciler(config, StaticSource(cluster()), adc, Metrics()).run_once()
        assert report.converged, report.error
        tail = [(change["method"], change["kind"], change["name"]) for change in (await only.changes())[-2:]]
        assert tail == [("POST", "sys/config", "save"), ("POST", "cm", "config-sync")]
        assert (await only.unit.control("GET", "state"))["sync_status"] == "In Sync"
        assert gauge(metrics, "adcbridge_adc_sync_pending") == 0

        # a group the unit is not in: the sync is refused, the group stays "Changes Pending"
        wrong = ha_settings([only], tmp_path, adc={"config_sync_group": "another-group"})
        with caplog.at_level(logging.WARNING, logger="adcbridge.adc.bigip.driver"):
            async with open_adc(wrong, metrics) as adc:
                reconciler = Reconciler(
                    wrong, StaticSource(cluster(nodes=[node("node-c", "10.0.0.3")])), adc, Metrics()
                )
                pending = await reconciler.run_once()
        assert pending.converged, pending.error  # reported, never a failed cycle
        assert (await only.unit.control("GET", "state"))["sync_status"] == "Changes Pending"
        assert gauge(metrics, "adcbridge_adc_sync_pending") == 1
        assert "device group 'another-group': Changes Pending" in caplog.text
        assert readiness(reconciler, wrong, active_unit=lambda: only.url) == (
            True,
            f"ready (ADC active unit {only.url})",
        )


async def test_without_a_sync_group_nothing_is_synced(tmp_path: Path) -> None:
    async with units(1, tmp_path) as (only,):
        config = ha_settings([only], tmp_path)
        async with open_adc(config, Metrics()) as adc:
            assert (await Reconciler(config, StaticSource(cluster()), adc, Metrics()).run_once()).converged
        assert "cm" not in {change["kind"] for change in await only.changes()}


# ---------------------------------------------------------------------------- settings

PAIR = '["https://bigip-a.example.net", "https://bigip-b.example.net:8443"]'
REQUIRED = {"ADCBRIDGE_OWNER_ID": "c1", "ADCBRIDGE_VIP__ADDRESSES": '["192.0.2.10"]'}


def test_the_reference_dialect_refuses_a_list_of_urls() -> None:
    code, err = run_cli(["check"], {**REQUIRED, "ADCBRIDGE_ADC__URL": PAIR})
    assert code == 2
    assert "adc.url (ADCBRIDGE_ADC__URL): one URL: this dialect does not follow an HA failover" in err
    assert "(adc.dialect reference)" in err


def test_the_reference_dialect_refuses_a_sync_group() -> None:
    variables = {**REQUIRED, "ADCBRIDGE_ADC__URL": "https://adc.example.net", "ADCBRIDGE_ADC__CONFIG_SYNC_GROUP": "g"}
    code, err = run_cli(["check"], variables)
    assert code == 2
    assert "adc.config_sync_group (ADCBRIDGE_ADC__CONFIG_SYNC_GROUP): the reference appliance has no device" in err


def test_a_list_of_urls_is_read_from_the_environment_and_yaml_and_one_string_stays_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bigip = {"ADCBRIDGE_ADC__DIALECT": "bigip", "ADCBRIDGE_ADC__PARTITION": PARTITION, "ADCBRIDGE_DNS__TARGETS": "[]"}
    for key, value in {**REQUIRED, **bigip, "ADCBRIDGE_ADC__URL": PAIR}.items():
        monkeypatch.setenv(key, value)
    pair = load_settings(None)
    assert pair.adc.urls == ("https://bigip-a.example.net", "https://bigip-b.example.net:8443")
    check_settings(pair)  # the bigip dialect follows failover: a list is fine
    for bad, why in [("[]", "names no unit"), ('["https://a", "https://a/"]', "units repeat")]:
        monkeypatch.setenv("ADCBRIDGE_ADC__URL", bad)
        with pytest.raises(ConfigError, match=f"adc.url \\(ADCBRIDGE_ADC__URL\\).*{why}"):
            load_settings(None)
    monkeypatch.setenv("ADCBRIDGE_ADC__URL", "https://one.example.net/")
    one = load_settings(None)
    assert (one.adc.url, one.adc.urls) == ("https://one.example.net", ("https://one.example.net",))
    monkeypatch.delenv("ADCBRIDGE_ADC__URL")
    file = tmp_path / "adcbridge.yaml"
    file.write_text("adc:\n  dialect: bigip\n  url: [https://a.example.net, 'https://[2001:db8::2]:8443']\n")
    assert load_settings(file).adc.urls == ("https://a.example.net", "https://[2001:db8::2]:8443")


def test_the_resolution_check_asks_no_unit_of_the_pair_unless_told() -> None:
    # A unit's management address answers no DNS: without dns.verify_servers nothing is asked
    # (the bigip dialect refuses that setting with adc in dns.targets); given, exactly those.
    pair = settings(adc={"url": ["https://192.0.2.1:8443", "https://[2001:db8::2]"]}, dns={"targets": ["adc"]})
    assert verify_servers(pair) == []
    given = ["192.0.2.53:53", "[2001:db8::53]:53"]
    told = settings(adc={"url": ["https://192.0.2.1:8443", "https://[2001:db8::2]"]}, dns={"verify_servers": given})
    assert verify_servers(told) == [("192.0.2.53", 53), ("2001:db8::53", 53)]


async def test_check_names_the_active_unit_of_a_pair(tmp_path: Path) -> None:
    async with units(2, tmp_path) as (a, b):
        await a.role("standby")
        await b.role("active")
        config = ha_settings([a, b], tmp_path)
        async with open_adc(config) as adc:
            info = await adc.describe()
        assert (info.role, info.unit) == ("active", b.url)
        assert await a.changes() == []
        assert await b.changes() == []
