"""Names on a BIG-IP: the ``bigip`` dialect publishing hosts to BIG-IP DNS (GTM) on the emulated unit.

The operator makes the datacenter and the GTM server that stands for the unit, in ``Common``; the
bridge makes the rest in its partition (wide IPs, GTM pools) and on that server (virtual-server
entries), marked. These tests read the unit's native GTM objects with a small reader written here,
ask the unit's DNS listener over UDP, and show: a cluster converges and every host answers with
its VIPs, a second cycle writes nothing, a host removed loses its wide IP (and the last one the
pool and entries), drift is repaired, a wide IP of another owner with a published name is a
conflict left as it was, one more host costs at most 3 requests, the resolution check agrees, and
settings without a GTM server or servers to ask stop the bridge at start.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from adcbridge.adc.bigip.gtm import Gtm
from adcbridge.app import check_names
from adcbridge.config import Settings
from adcbridge.model import Kind, Owner
from mocks.bigip import MockBigIP
from tests.bigip_bridge import last_seq, running
from tests.bigip_fixtures import (
    BIGIP_PASSWORD,
    BIGIP_USER,
    GTM_SERVER,
    OPERATOR_SEED,
    PARTITION,
    Unit,
    certificate_file,
)
from tests.builders import VIP4, VIP6, node, settings
from tests.test_bigip_specifics import REQUIRED
from tests.test_bridge_against_mock import cluster
from tests.test_config_fuzz import run_cli

MARKER = "managed-by=adcbridge;owner=c1"
HOSTS = ["shop.example.com", "api.example.com"]
SERVER = GTM_SERVER
GTM = "/mgmt/tm/gtm"
GTM_KINDS = ("gtm/pool/a", "gtm/pool/aaaa", "gtm/wideip/a", "gtm/wideip/aaaa")
NODES = [node(f"node-{index}", f"10.0.0.{index}", ipv6=f"fd00::{index}") for index in (1, 2)]


def view(hosts: list[str]) -> Any:
    """The cluster, dual-stack nodes, publishing ``hosts``."""
    return cluster(hosts=hosts, nodes=NODES)


def dns_settings(
    mock: MockBigIP, tmp_path: Path, *, vips: list[str] | None = None, page_size: int = 500, **dns: Any
) -> Settings:
    assert mock.dns_address is not None
    host, port = mock.dns_address
    return settings(
        adc={
            "dialect": "bigip",
            "url": mock.url,
            "username": BIGIP_USER,
            "password": BIGIP_PASSWORD,
            "partition": PARTITION,
            "gtm_server": SERVER,
            "ca_file": str(certificate_file(mock, tmp_path)),
            "operation_deadline": 5.0,
            "page_size": page_size,
        },
        dns={"targets": ["adc"], "ttl": 60, "verify_servers": [f"{host}:{port}"], **dns},
        vip={"addresses": vips or [VIP4, VIP6]},
    )


@pytest.fixture
async def unit(bigip: Unit) -> Unit:
    await bigip.partition()
    await bigip.control("POST", "seed", {"requests": OPERATOR_SEED})
    return bigip


# ---------------------------------------------------------------------------- a reader of the unit's GTM objects


async def gtm(unit: Unit) -> dict[str, dict[str, dict[str, Any]]]:
    """The unit's GTM pools and wide IPs by full path, and our server's entries by name."""
    objects = (await unit.control("GET", "state"))["objects"]
    found = {kind: {item["fullPath"]: item for item in objects[kind]} for kind in GTM_KINDS}
    (server,) = [item for item in objects["gtm/server"] if item["fullPath"] == SERVER]
    found["entries"] = {item["name"]: item for item in server.get("virtualServersReference", {}).get("items", [])}
    return found


def pool_members(pool: dict[str, Any]) -> list[str]:
    return sorted(item["fullPath"] for item in pool.get("membersReference", {}).get("items", []))


async def ask(mock: MockBigIP, name: str, rdtype: str) -> dns.message.Message:
    assert mock.dns_address is not None
    host, port = mock.dns_address
    return await dns.asyncquery.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=3)


async def answers(mock: MockBigIP, name: str, rdtype: str) -> list[str]:
    response = await ask(mock, name, rdtype)
    assert response.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(response.rcode())
    return sorted(item.to_text() for rrset in response.answer for item in rrset)


async def writes_since(unit: Unit, seq: int) -> list[tuple[str, str]]:
    changes = (await unit.control("GET", f"changes?since={seq}"))["changes"]
    return [(change["method"], change["kind"]) for change in changes if change["kind"] != "sys/config"]


def writing_requests(stats: dict[str, Any]) -> dict[str, int]:
    return {path: count for path, count in stats["paths"].items() if not path.startswith("GET ")}


# ---------------------------------------------------------------------------- tests


@pytest.mark.parametrize("page_size", [500, 1], ids=["one page", "a page per object"])
async def test_a_cluster_converges_every_host_answers_and_a_second_cycle_writes_nothing(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path, page_size: int
) -> None:
    config = dns_settings(mock_bigip, tmp_path, page_size=page_size)
    async with running(config, view(HOSTS)) as bridge:
        first = await bridge.cycle()
        assert first.converged, first.error or first.applied
        seq = await last_seq(unit)
        second = await bridge.cycle()
        assert second.converged
        assert second.plan is not None
        assert second.plan.empty
    assert await writes_since(unit, seq) == []

    for host in HOSTS:
        assert await answers(mock_bigip, host, "A") == [VIP4]
        assert await answers(mock_bigip, host, "AAAA") == [VIP6]
    native = await gtm(unit)
    assert sorted(native["entries"]) == ["k8s-c1-gtm-192.0.2.10", "k8s-c1-gtm-2001_db8__10"]
    assert {entry["destination"] for entry in native["entries"].values()} == {f"{VIP4}:0", f"{VIP6}.0"}
    assert {entry["description"] for entry in native["entries"].values()} == {MARKER}
    for rtype, entry in (("a", "k8s-c1-gtm-192.0.2.10"), ("aaaa", "k8s-c1-gtm-2001_db8__10")):
        (pool,) = native[f"gtm/pool/{rtype}"].values()
        assert pool["partition"] == PARTITION
        assert (pool["ttl"], pool["description"]) == (60, MARKER)
        assert pool_members(pool) == [f"/Common/bigip1:{entry}"]
        wideips = native[f"gtm/wideip/{rtype}"]
        assert sorted(wideips) == [f"/{PARTITION}/{host}" for host in sorted(HOSTS)]
        for wideip in wideips.values():
            assert wideip["description"] == MARKER
            assert [(item["name"], item["partition"]) for item in wideip["pools"]] == [(pool["name"], PARTITION)]
    assert (await unit.control("GET", "state"))["unsaved_changes"] is False


async def test_the_resolution_check_finds_every_name_on_the_units_listener(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    config = dns_settings(mock_bigip, tmp_path)
    async with running(config, view(HOSTS)) as bridge:
        report = await bridge.cycle()
        assert report.converged
    verified = await check_names(config, report)
    assert verified is not None
    assert verified.counts() == {"ok": len(HOSTS)}, verified.summary()  # a check per name and server, A and AAAA
    assert not verified.failures()


async def test_a_host_removed_loses_its_wide_ip_and_the_last_one_takes_the_pools_and_entries(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    config = dns_settings(mock_bigip, tmp_path)
    async with running(config, view(HOSTS)) as bridge:
        assert (await bridge.cycle()).converged
        seq = await last_seq(unit)
        assert (await bridge.cycle(view(["shop.example.com"]))).converged
        assert sorted(await writes_since(unit, seq)) == [("DELETE", "gtm/wideip/a"), ("DELETE", "gtm/wideip/aaaa")]
        assert (await ask(mock_bigip, "api.example.com", "A")).rcode() == dns.rcode.NXDOMAIN
        assert await answers(mock_bigip, "shop.example.com", "A") == [VIP4]

        seq = await last_seq(unit)
        assert (await bridge.cycle(view([]))).converged
    native = await gtm(unit)
    assert all(native[kind] == {} for kind in GTM_KINDS)
    assert native["entries"] == {}
    deleted = await writes_since(unit, seq)
    assert deleted[:2] == [("DELETE", "gtm/wideip/a"), ("DELETE", "gtm/wideip/aaaa")]  # wide IPs before pools
    assert sorted(deleted[2:]) == [
        ("DELETE", "gtm/pool/a"),
        ("DELETE", "gtm/pool/aaaa"),
        ("DELETE", "gtm/server/virtual-servers"),
        ("DELETE", "gtm/server/virtual-servers"),
    ]


async def test_a_vip_family_added_then_removed_adds_then_removes_the_aaaa_wide_ips_and_their_pool(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    async with running(dns_settings(mock_bigip, tmp_path, vips=[VIP4]), view(HOSTS)) as bridge:
        assert (await bridge.cycle()).converged
    async with running(dns_settings(mock_bigip, tmp_path, vips=[VIP4, VIP6]), view(HOSTS)) as bridge:
        assert (await bridge.cycle()).converged
    for host in HOSTS:
        assert await answers(mock_bigip, host, "AAAA") == [VIP6]
    seq = await last_seq(unit)
    async with running(dns_settings(mock_bigip, tmp_path, vips=[VIP4]), view(HOSTS)) as bridge:
        assert (await bridge.cycle()).converged
    assert sorted(change for change in await writes_since(unit, seq) if change[1].startswith("gtm/")) == [
        ("DELETE", "gtm/pool/aaaa"),
        ("DELETE", "gtm/server/virtual-servers"),
        ("DELETE", "gtm/wideip/aaaa"),
        ("DELETE", "gtm/wideip/aaaa"),
    ]
    ltm = (await unit.control("GET", "state"))["objects"]["ltm/virtual"]
    assert ltm
    assert [item["destination"] for item in ltm if VIP6 in item["destination"]] == []  # its LTM virtuals went too
    native = await gtm(unit)
    assert (native["gtm/wideip/aaaa"], native["gtm/pool/aaaa"]) == ({}, {})
    assert sorted(native["entries"]) == ["k8s-c1-gtm-192.0.2.10"]
    for host in HOSTS:
        assert await answers(mock_bigip, host, "A") == [VIP4]


async def test_drift_of_a_wide_ip_and_its_pool_is_repaired_then_nothing_is_written(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    config = dns_settings(mock_bigip, tmp_path, vips=[VIP4])
    async with running(config, view(HOSTS)) as bridge:
        assert (await bridge.cycle()).converged
        (pool_path,) = (await gtm(unit))["gtm/pool/a"]
        await unit.ok("PATCH", f"{GTM}/wideip/a/~{PARTITION}~shop.example.com", {"disabled": True})
        await unit.ok("PATCH", f"{GTM}/wideip/a/~{PARTITION}~api.example.com", {"pools": []})
        assert (await ask(mock_bigip, "shop.example.com", "A")).rcode() == dns.rcode.NXDOMAIN
        assert await repaired(bridge) == [("update", "api.example.com"), ("update", "shop.example.com")]

        await unit.ok("PATCH", f"{GTM}/pool/a/{pool_path.replace('/', '~')}", {"ttl": 5, "disabled": True})
        assert await repaired(bridge) == [("update", "api.example.com"), ("update", "shop.example.com")]
        seq = await last_seq(unit)
        assert (await bridge.cycle(resync=True)).plan.empty  # type: ignore[union-attr]
    assert await writes_since(unit, seq) == []
    for host in HOSTS:
        response = await ask(mock_bigip, host, "A")
        assert [(rrset.ttl, [item.to_text() for item in rrset]) for rrset in response.answer] == [(60, [VIP4])]


async def repaired(bridge: Any) -> list[tuple[str, str]]:
    """One resync that converges; the (action, key) of what it planned."""
    report = await bridge.cycle(resync=True)
    assert report.converged, report.applied
    assert report.plan is not None
    return sorted((op.action.value, op.obj.key) for op in report.plan.operations)


async def test_a_wide_ip_of_another_owner_beside_ours_makes_the_name_a_conflict_and_neither_is_touched(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    async with running(dns_settings(mock_bigip, tmp_path, vips=[VIP4]), view(HOSTS)) as bridge:
        assert (await bridge.cycle()).converged
    theirs = {"name": "shop.example.com", "partition": PARTITION, "description": "made by hand"}
    await unit.control("POST", "seed", {"requests": [{"method": "POST", "path": f"{GTM}/wideip/aaaa", "body": theirs}]})
    before = await gtm(unit)
    async with running(dns_settings(mock_bigip, tmp_path), view(HOSTS)) as bridge:
        first = await bridge.cycle()
        assert first.plan is not None
        assert [(c.kind, c.key) for c in first.plan.conflicts] == [(Kind.DOMAIN, "shop.example.com")]
        assert first.applied is not None
        assert first.applied.failures == []
    after = await gtm(unit)
    path = f"/{PARTITION}/shop.example.com"
    assert (after["gtm/wideip/a"][path], after["gtm/wideip/aaaa"][path]) == (
        before["gtm/wideip/a"][path],
        before["gtm/wideip/aaaa"][path],
    )
    assert await answers(mock_bigip, "api.example.com", "AAAA") == [VIP6]


@pytest.mark.parametrize(
    ("partition", "description"),
    [("Common", "the web team's"), ("tenant", "the web team's"), (PARTITION, "the web team's"), ("tenant", MARKER)],
    ids=["in Common", "in another partition", "in ours, unmarked", "in another partition, with our marker"],
)
async def test_a_wide_ip_of_another_owner_with_a_published_name_is_a_conflict_left_as_it_was(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path, partition: str, description: str
) -> None:
    seed = (
        []
        if partition in ("Common", PARTITION)
        else [{"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": partition}}]
    )
    wideip = {"name": "shop.example.com", "partition": partition, "description": description}
    seed.append({"method": "POST", "path": f"{GTM}/wideip/a", "body": wideip})
    await unit.control("POST", "seed", {"requests": seed})
    before = (await gtm(unit))["gtm/wideip/a"]
    async with running(dns_settings(mock_bigip, tmp_path, vips=[VIP4]), view(HOSTS)) as bridge:
        first = await bridge.cycle()
        assert first.plan is not None
        assert first.applied is not None
        assert first.applied.failures == []
        assert [(c.kind, c.key, c.reason) for c in first.plan.conflicts] == [
            (Kind.DOMAIN, "shop.example.com", "name taken by a domain we do not own")
        ]
        seq = await last_seq(unit)
        again = await bridge.cycle()
        assert again.error == ""
        assert again.plan is not None
        assert again.plan.empty
    assert await writes_since(unit, seq) == []
    after = (await gtm(unit))["gtm/wideip/a"]
    path = f"/{partition}/shop.example.com"
    assert after[path] == before[path]
    assert sorted(after) == sorted([path, f"/{PARTITION}/api.example.com"])
    assert await answers(mock_bigip, "api.example.com", "A") == [VIP4]


@pytest.mark.parametrize("vips", [[VIP4], [VIP4, VIP6]], ids=["A", "A+AAAA"])
async def test_one_more_host_costs_at_most_three_requests(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path, vips: list[str]
) -> None:
    async with running(dns_settings(mock_bigip, tmp_path, vips=vips), view(HOSTS)) as bridge:
        assert (await bridge.cycle()).converged
        before = writing_requests(await unit.control("GET", "stats"))
        assert (await bridge.cycle(view([*HOSTS, "new.example.com"]))).converged
        after = writing_requests(await unit.control("GET", "stats"))
    spent = {path: count - before.get(path, 0) for path, count in after.items() if count != before.get(path, 0)}
    assert sum(spent.values()) <= 3, spent
    expected = {"POST /mgmt/tm/sys/config": 1, "POST /mgmt/tm/gtm/wideip/a": 1}
    if len(vips) == 2:
        expected["POST /mgmt/tm/gtm/wideip/aaaa"] = 1
    assert spent == expected
    assert await answers(mock_bigip, "new.example.com", "A") == [VIP4]


async def test_a_missing_gtm_server_fails_the_cycle_and_names_it(
    mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path
) -> None:
    partition = {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": PARTITION}}
    await bigip.control("POST", "seed", {"requests": [partition]})
    async with running(dns_settings(mock_bigip, tmp_path), view(HOSTS)) as bridge:
        report = await bridge.cycle()
    assert "GTM server '/Common/bigip1' does not exist on the BIG-IP" in report.error
    assert await writes_since(bigip, 0) == []


def test_two_addresses_never_share_an_entry_or_pool_name() -> None:
    names = Gtm(Owner("c1"), PARTITION, SERVER)
    spellings = ["1::2:3", "1:2::3", "1:2:0:0:0:0:0:3", "192.0.2.10", "2001:db8::10"]
    addresses = [str(ipaddress.ip_address(text)) for text in spellings]
    entries = {names.entry_name(address) for address in addresses}
    assert len(entries) == len(set(addresses)) == 4
    assert len({names.pool_name("aaaa", (address,)) for address in addresses}) == 4


BIGIP = {**REQUIRED, "ADCBRIDGE_ADC__DIALECT": "bigip", "ADCBRIDGE_ADC__PARTITION": "k8s"}
ASKED = {"ADCBRIDGE_DNS__VERIFY_SERVERS": '["192.0.2.53:53"]'}


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (ASKED, "adc.gtm_server (ADCBRIDGE_ADC__GTM_SERVER): required with adc in dns.targets"),
        ({**ASKED, "ADCBRIDGE_ADC__GTM_SERVER": "bigip1"}, "adc.gtm_server (ADCBRIDGE_ADC__GTM_SERVER): a full path"),
        (
            {**ASKED, "ADCBRIDGE_ADC__GTM_SERVER": "/k8s/bigip1"},
            "adc.gtm_server (ADCBRIDGE_ADC__GTM_SERVER): a full path in Common",
        ),
        (
            {"ADCBRIDGE_ADC__GTM_SERVER": "/Common/bigip1"},
            "dns.verify_servers (ADCBRIDGE_DNS__VERIFY_SERVERS): required with adc in dns.targets",
        ),
    ],
)
def test_publishing_to_bigip_dns_needs_a_gtm_server_and_servers_to_ask(variables: dict[str, str], named: str) -> None:
    code, err = run_cli(["check"], {**BIGIP, **variables})
    assert code == 2
    assert named in err
    assert "(adc.dialect bigip)" in err


def test_the_reference_dialect_refuses_a_gtm_server() -> None:
    code, err = run_cli(["check"], {**REQUIRED, "ADCBRIDGE_ADC__GTM_SERVER": "/Common/bigip1"})
    assert code == 2
    assert "adc.gtm_server (ADCBRIDGE_ADC__GTM_SERVER): the reference appliance" in err
    assert "(adc.dialect reference)" in err
