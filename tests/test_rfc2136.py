"""The RFC 2136 target against a real BIND 9: signed transfers and updates, ownership, guards.

Every test gets a fresh ``named`` (tests/bind_server.py) with zones example.test and other.test
and a TSIG key; assertions are on what the server then holds (signed AXFR, plain queries).
"""

from __future__ import annotations

import re
from typing import Any

import dns.asyncquery
import dns.message
import dns.update
import pytest

from adcbridge.config import Rfc2136Settings, settings_from_values
from adcbridge.dns.rfc2136 import Rfc2136Target, secret_source
from adcbridge.errors import DnsRejected
from adcbridge.records import RecordAction, plan_records
from tests.bind_server import BindServer, ZoneSpec, bind, start_bind
from tests.builders import claim, node, snapshot

__all__ = ["bind", "start_bind"]  # fixtures

MARK = "managed-by=adcbridge;owner=c1"
VIP = ("192.0.2.10",)


def target(server: BindServer, *, secret: str | None = None, **overrides: Any) -> Rfc2136Target:
    settings = Rfc2136Settings(
        server=f"{server.host}:{server.port}",
        zones=overrides.pop("zones", ["example.test", "other.test"]),
        tsig_key_name=server.key_name,
        tsig_algorithm=server.algorithm,  # type: ignore[arg-type]
        **overrides,
    )
    return Rfc2136Target(settings, secret=lambda: secret or server.secret, marker=MARK)


async def sync(zones: Rfc2136Target, wanted: dict[str, tuple[str, ...]], **options: Any) -> Any:
    """One cycle of the target alone: observe, plan, apply; returns (plan, report)."""
    observed = await zones.observe(wanted)
    plan = plan_records(wanted, observed, zones=("example.test", "other.test"), marker=MARK, ttl=300, **options)
    return plan, await zones.apply(plan)


async def answer(server: BindServer, name: str, rdtype: str = "A") -> list[str]:
    reply = await server.query(name, rdtype)
    return sorted(rdata.to_text() for rrset in reply.answer for rdata in rrset)


async def foreign_update(server: BindServer, zone: str, *lines: tuple[str, int, str, str]) -> None:
    """Someone else's signed update (same key: the server cannot tell, only our marker can)."""
    update = dns.update.UpdateMessage(zone, keyring=server.keyring, keyname=server.tsig_key.name)
    for name, ttl, rdtype, value in lines:
        update.add(name + ".", ttl, rdtype, value)  # absolute: a bare name would be relative to the zone
    reply = await dns.asyncquery.tcp(update, server.host, port=server.port, timeout=5)
    assert reply.rcode() == 0


async def test_create_update_delete_with_the_marker(bind: BindServer) -> None:
    zones = target(bind)
    plan, applied = await sync(zones, {"shop.example.test": VIP, "api.other.test": ("192.0.2.10", "2001:db8::10")})
    assert [c.action for c in plan.changes] == [RecordAction.CREATE] * 2
    assert applied.failures == ()
    assert await answer(bind, "shop.example.test.") == ["192.0.2.10"]
    assert await answer(bind, "api.other.test.", "AAAA") == ["2001:db8::10"]
    assert await answer(bind, "shop.example.test.", "TXT") == [f'"{MARK}"']
    plan, _ = await sync(
        zones, {"shop.example.test": ("192.0.2.20",), "api.other.test": ("192.0.2.10", "2001:db8::10")}
    )
    assert [(c.action, c.name) for c in plan.changes] == [(RecordAction.UPDATE, "shop.example.test")]
    assert await answer(bind, "shop.example.test.") == ["192.0.2.20"]
    plan, _ = await sync(zones, {"shop.example.test": ("192.0.2.20",)})
    assert [(c.action, c.name) for c in plan.changes] == [(RecordAction.DELETE, "api.other.test")]
    assert await answer(bind, "api.other.test.") == []
    assert await answer(bind, "api.other.test.", "TXT") == []
    plan, _ = await sync(zones, {"shop.example.test": ("192.0.2.20",)})
    assert plan.empty  # converged


async def test_foreign_records_are_left_alone(bind: BindServer) -> None:
    await foreign_update(bind, "example.test", ("theirs.example.test", 60, "A", "198.51.100.7"))
    await foreign_update(bind, "example.test", ("mail.example.test", 60, "TXT", '"v=spf1 -all"'))
    zones = target(bind)
    plan, _ = await sync(zones, {"theirs.example.test": VIP, "mail.example.test": VIP})
    assert [(c.name, c.reason) for c in plan.conflicts] == [("theirs.example.test", "records without our marker")]
    assert await answer(bind, "theirs.example.test.") == ["198.51.100.7"]
    assert await answer(bind, "mail.example.test.") == ["192.0.2.10"]  # a TXT of someone else's is no claim
    await sync(zones, {})  # withdraw ours: only our TXT string goes, the SPF record stays
    assert await answer(bind, "mail.example.test.", "TXT") == ['"v=spf1 -all"']
    assert await answer(bind, "mail.example.test.") == []
    assert await answer(bind, "theirs.example.test.") == ["198.51.100.7"]


@pytest.mark.parametrize("observe", ["axfr", "query"])
async def test_names_marked_by_another_owner_are_never_updated_or_deleted(start_bind: Any, observe: str) -> None:
    other = "managed-by=adcbridge;owner=c2"  # another cluster's bridge on the same zone
    async with start_bind([ZoneSpec("example.test")]) as server:
        for name, address in (("wanted.example.test", "198.51.100.7"), ("unwanted.example.test", "198.51.100.8")):
            await foreign_update(server, "example.test", (name, 60, "A", address), (name, 60, "TXT", f'"{other}"'))
        zones = target(server, zones=["example.test"], observe=observe)
        wanted = {"wanted.example.test": VIP, "ours.example.test": VIP, "unwanted.example.test": VIP}
        plan, applied = await sync(zones, wanted)
        assert applied.failures == ()
        assert [(c.action, c.name) for c in plan.changes] == [(RecordAction.CREATE, "ours.example.test")]
        assert [c.name for c in plan.conflicts] == ["unwanted.example.test", "wanted.example.test"]
        plan, _ = await sync(zones, wanted)  # read again: querying learns our names from what it reads
        assert (plan.changes, len(plan.conflicts)) == ((), 2)
        plan, applied = await sync(zones, {"wanted.example.test": ("192.0.2.20",)})  # ours withdrawn
        assert [(c.action, c.name) for c in plan.changes] == [(RecordAction.DELETE, "ours.example.test")]
        assert applied.failures == ()
        assert await answer(server, "ours.example.test.") == []
        for name, address in (("wanted.example.test", "198.51.100.7"), ("unwanted.example.test", "198.51.100.8")):
            assert await answer(server, name + ".") == [address]
            assert await answer(server, name + ".", "TXT") == [f'"{other}"']


async def test_a_concurrent_change_is_detected_by_the_prerequisites(bind: BindServer) -> None:
    zones = target(bind)
    await sync(zones, {"a.example.test": VIP, "b.example.test": VIP, "c.example.test": VIP})
    wanted = {"a.example.test": ("192.0.2.20",), "b.example.test": ("192.0.2.20",), "c.example.test": ("192.0.2.20",)}
    observed = await zones.observe(wanted)
    plan = plan_records(wanted, observed, zones=("example.test",), marker=MARK, ttl=300)
    await foreign_update(bind, "example.test", ("b.example.test", 300, "A", "203.0.113.5"))  # after our read
    applied = await zones.apply(plan)
    assert [(r.change.name, r.outcome) for r in applied.results] == [
        ("a.example.test", "done"),
        ("b.example.test", "conflict"),
        ("c.example.test", "done"),
    ]
    assert await answer(bind, "b.example.test.") == ["192.0.2.10", "203.0.113.5"]  # not overwritten
    assert await answer(bind, "c.example.test.") == ["192.0.2.20"]


async def test_a_wrong_key_is_a_clear_permanent_error(bind: BindServer) -> None:
    zones = target(bind, secret=bind.wrong_key().secret)
    with pytest.raises(DnsRejected, match="refused our TSIG signature"):
        await zones.observe({})
    assert zones.messages == 1  # not retried


async def test_a_refused_transfer_falls_to_querying_our_names(start_bind: Any) -> None:
    async with start_bind([ZoneSpec("example.test", allow_transfer=False)]) as server:
        with pytest.raises(DnsRejected, match="REFUSED: check that key"):
            await target(server, zones=["example.test"]).observe({})
        zones = target(server, zones=["example.test"], observe="query")
        plan, applied = await sync(zones, {"q.example.test": VIP})
        assert (len(plan.changes), applied.failures) == (1, ())
        plan, _ = await sync(zones, {"q.example.test": VIP})
        assert plan.empty
        plan, _ = await sync(zones, {})  # remembered as ours: withdrawn
        assert [c.action for c in plan.changes] == [RecordAction.DELETE]
        assert await answer(server, "q.example.test.") == []


async def test_a_zone_that_refuses_updates_fails_the_changes_not_the_cycle(start_bind: Any) -> None:
    async with start_bind([ZoneSpec("example.test", allow_update=False)]) as server:
        _, applied = await sync(target(server, zones=["example.test"]), {"x.example.test": VIP})
    assert [r.outcome for r in applied.results] == ["failed"]
    assert "REFUSED" in applied.results[0].error


async def test_names_go_to_zones_by_label_boundary(bind: BindServer) -> None:
    plan, _ = await sync(target(bind), {"fooexample.test": VIP, "x.example.test": VIP})
    assert plan.unzoned == ("fooexample.test",)
    assert [c.zone for c in plan.changes] == ["example.test"]


async def test_large_batches_go_in_few_messages(bind: BindServer) -> None:
    zones = target(bind, batch_size=100)
    wanted = {f"h{i:04}.example.test": VIP for i in range(1000)}
    _, applied = await sync(zones, wanted)
    assert (len(applied.results), applied.failures, applied.messages) == (1000, (), 10)
    observed = await zones.observe(wanted)
    assert sum(MARK in have.markers for have in observed.values()) == 1000


async def test_the_reconciler_publishes_to_the_zone_only_and_holds_deletes_on_an_incomplete_view(
    bind: BindServer, mock_adc: Any, adc: Any
) -> None:
    from adcbridge.adc import AdcClient, Credentials
    from adcbridge.adc.reference import REFERENCE_WIRE, ReferenceDriver
    from adcbridge.app import zone_target
    from adcbridge.desired import owner_of
    from adcbridge.metrics import Metrics
    from adcbridge.reconciler import Reconciler
    from tests.conftest import PASSWORD, USERNAME
    from tests.test_bridge_against_mock import StaticSource

    config = settings_from_values(
        owner_id="c1",
        adc={"url": mock_adc.url, "username": USERNAME, "password": PASSWORD},
        vip={"addresses": ["192.0.2.10"]},
        dns={"targets": ["rfc2136"]},
        rfc2136={
            "server": f"{bind.host}:{bind.port}",
            "zones": ["example.test"],
            "tsig_key_name": bind.key_name,
            "tsig_secret": bind.secret,
        },
    )
    view = snapshot(nodes=[node("n1", "10.0.0.1")], hosts=[claim("shop.example.test"), claim("bad_host.example.test")])
    source = StaticSource(view)
    client = AdcClient(config.adc, lambda: Credentials(USERNAME, PASSWORD), wire=REFERENCE_WIRE)
    async with client:
        driver = ReferenceDriver(client, owner_of(config), page_size=500, concurrency=4, save_config=True)
        reconciler = Reconciler(config, source, driver, Metrics(), zones=zone_target(config))
        report = await reconciler.run_once()
        assert report.converged, report.error
        assert await answer(bind, "shop.example.test.") == ["192.0.2.10"]
        state = await adc.control("GET", "state")
        assert state["objects"]["dns/domain"] == []  # the ADC's DNS is not a target here
        assert state["objects"]["slb/pool"] != []  # the SLB side still is
        source.view = snapshot(nodes=[node("n1", "10.0.0.1")], hosts=[], complete=False)
        report = await reconciler.run_once()
        assert report.records is not None
        assert "incomplete" in report.records.hold_reason
        assert await answer(bind, "shop.example.test.") == ["192.0.2.10"]


def test_the_tsig_secret_file_wins_and_is_read_each_time(tmp_path: Any) -> None:
    read = secret_source("from-settings", tmp_path)
    assert read() == "from-settings"
    (tmp_path / "rfc2136-tsig-secret").write_text("rotated-1\n")
    assert read() == "rotated-1"
    (tmp_path / "rfc2136-tsig-secret").write_text("rotated-2")
    assert read() == "rotated-2"


def test_an_rfc2136_target_needs_server_zones_and_key() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"rfc2136\.server"):
        settings_from_values(owner_id="c1", adc={"url": "http://a"}, vip={"addresses": ["192.0.2.1"]},
                             dns={"targets": ["rfc2136"]})  # fmt: skip


async def test_plan_and_run_once_with_the_rfc2136_target_as_processes(start_bind: Any, tmp_path: Any) -> None:
    from tests.conftest import PASSWORD, USERNAME
    from tests.processes import mock_adc_process
    from tests.test_cli import DEMO_SNAPSHOT, adcbridge, bridge_env

    async with (
        start_bind([ZoneSpec("example.com")]) as server,
        mock_adc_process("--no-dns", "--username", USERNAME, "--password", PASSWORD) as mock,
    ):
        (tmp_path / "rfc2136-tsig-secret").write_text(server.secret)  # the secret from a mounted Secret
        env = bridge_env(
            mock.url,
            ADCBRIDGE_DNS__TARGETS='["adc", "rfc2136"]',
            ADCBRIDGE_RFC2136__SERVER=f"{server.host}:{server.port}",
            ADCBRIDGE_RFC2136__ZONES='["example.com"]',
            ADCBRIDGE_RFC2136__TSIG_KEY_NAME=server.key_name,
            ADCBRIDGE_SECRETS_DIR=str(tmp_path),
            ADCBRIDGE_DNS__VERIFY="true",  # no verify_servers: the RFC 2136 server is asked, the ADC is not
        )
        code, out, _ = await adcbridge("plan", "--snapshot", str(DEMO_SNAPSHOT), env=env)
        assert code == 0, out
        assert re.search(r"^create\s+example\.com\s+shop\.example\.com\s+192\.0\.2\.10$", out, re.MULTILINE), out
        assert await answer(server, "shop.example.com.") == []  # a plan writes nothing
        code, out, err = await adcbridge("run", "--once", "--snapshot", str(DEMO_SNAPSHOT), env=env)
        assert code == 0, out
        assert "zones: 7 change(s) in 1 message(s)" in out
        assert "dns check (what resolves now): 7 names on 1 server: 7 ok\n" in out  # BIND alone, every name
        assert err.count("names published on the ADC's DNS are not checked") == 1, err
        assert await answer(server, "shop.example.com.") == ["192.0.2.10"]
        code, out, _ = await adcbridge("run", "--once", "--snapshot", str(DEMO_SNAPSHOT), env=env)
        assert (code, "no changes: the zones match the cluster" in out) == (0, True), out


async def test_the_resolution_check_against_bind(bind: BindServer) -> None:
    from adcbridge.dns.verify import Verifier

    await sync(target(bind), {"ok.example.test": VIP, "moved.example.test": ("192.0.2.99",)})
    verifier = Verifier([(bind.host, bind.port)], timeout=2, concurrency=8)
    report = await verifier.verify({"ok.example.test": VIP, "moved.example.test": VIP, "gone.example.test": VIP})
    assert {check.name: check.reason for check in report.checks} == {
        "ok.example.test": "ok",
        "moved.example.test": "wrong_address",
        "gone.example.test": "nxdomain",
    }


@pytest.mark.parametrize("algorithm", ["hmac-sha1", "hmac-sha512"])
async def test_other_tsig_algorithms(start_bind: Any, algorithm: str) -> None:
    async with start_bind([ZoneSpec("example.test")], algorithm=algorithm) as server:
        _, applied = await sync(target(server, zones=["example.test"]), {"alg.example.test": VIP})
        assert applied.failures == ()
        assert await answer(server, "alg.example.test.") == ["192.0.2.10"]


async def test_an_unreachable_server_is_transient_and_retried(bind: BindServer) -> None:
    from adcbridge.errors import DnsUnavailable
    from tests.bind_server import free_port

    settings = Rfc2136Settings(
        server=f"127.0.0.1:{free_port()}", zones=["example.test"], tsig_key_name=bind.key_name, timeout=0.5
    )
    zones = Rfc2136Target(settings, secret=lambda: bind.secret, marker=MARK)
    with pytest.raises(DnsUnavailable, match=r"transfer of zone example\.test"):
        await zones.observe({})
    assert zones.messages == 3  # connection refused, tried three times with backoff


async def test_a_batch_too_big_for_one_message_is_split(bind: BindServer) -> None:
    zones = target(bind, batch_size=1000)
    label = "x" * 55
    wanted = {f"{label}{i:04}.example.test": VIP for i in range(1000)}  # about 160 KB of UPDATE
    _, applied = await sync(zones, wanted)
    assert applied.failures == ()
    assert 4 <= applied.messages <= 8  # halved until each part fits, and only sent messages count
    assert await answer(bind, f"{label}0999.example.test.") == ["192.0.2.10"]
