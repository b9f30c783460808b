"""The engine on a BIG-IP: the ``bigip`` dialect against the emulated unit (``mocks/bigip``).

The reconciler, the planner and the guards are the same as on every appliance; these tests show
that their promises hold through the BIG-IP's own objects, read back with a small reader of the
unit's native state written here (never with the dialect's mapping): everything lands in the
bridge's partition with the ownership marker, a second cycle writes nothing, drift made by hand
is put back, what administrators keep in ``Common`` is untouched and its nodes are used rather
than duplicated, an address held in another partition is a reported conflict (not a failure
repeated every cycle), and settings a BIG-IP cannot honour stop the bridge at start (BIG-IP DNS: ``test_bigip_dns.py``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adcbridge.adc import open_adc
from adcbridge.config import Settings
from adcbridge.metrics import Metrics
from adcbridge.model import Kind
from adcbridge.reconciler import CycleReport, Reconciler
from mocks.bigip import MockBigIP
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, PARTITION, Unit, bridge_env, certificate_file
from tests.builders import VIP4, node, settings
from tests.test_bridge_against_mock import StaticSource, cluster
from tests.test_config_fuzz import run_cli

MARKER = "managed-by=adcbridge;owner=c1"
ADMIN_SEED = [  # what an administrator keeps in Common, made before the bridge ever runs
    {"method": "POST", "path": "/mgmt/tm/ltm/node", "body": {"name": "admin-web", "address": "10.9.0.1"}},
    {"method": "POST", "path": "/mgmt/tm/ltm/pool", "body": {"name": "admin-pool", "members": ["admin-web:80"]}},
    {
        "method": "POST",
        "path": "/mgmt/tm/ltm/virtual",
        "body": {"name": "admin-vs", "destination": "192.0.2.99:80", "pool": "admin-pool"},
    },
]


def bigip_settings(mock: MockBigIP, tmp_path: Path, **overrides: Any) -> Settings:
    adc = {
        "dialect": "bigip",
        "url": mock.url,
        "username": BIGIP_USER,
        "password": BIGIP_PASSWORD,
        "partition": PARTITION,
        "ca_file": str(certificate_file(mock, tmp_path)),
        "operation_deadline": 5.0,
    }
    return settings(adc={**adc, **overrides.pop("adc", {})}, dns={"targets": [], "verify": False}, **overrides)


class Bridge:
    def __init__(self, reconciler: Reconciler, source: StaticSource) -> None:
        self.reconciler = reconciler
        self.source = source

    async def cycle(self, view: Any = None) -> CycleReport:
        if view is not None:
            self.source.view = view
        return await self.reconciler.run_once()


@asynccontextmanager
async def running(config: Settings, view: Any = None) -> AsyncIterator[Bridge]:
    source = StaticSource(cluster() if view is None else view)
    async with open_adc(config, Metrics()) as adc:
        yield Bridge(Reconciler(config, source, adc, Metrics()), source)


async def native(unit: Unit, partition: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The unit's LTM objects of one partition by name, as it keeps them (members inline in pools)."""
    objects = (await unit.control("GET", "state"))["objects"]
    return {
        kind: {item["name"]: item for item in objects[kind] if item["partition"] == partition}
        for kind in ("ltm/node", "ltm/pool", "ltm/virtual")
    }


def members(pool: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["fullPath"]: item for item in pool.get("membersReference", {}).get("items", [])}


async def writes_since(unit: Unit, seq: int) -> list[dict[str, Any]]:
    changes = (await unit.control("GET", f"changes?since={seq}"))["changes"]
    return [change for change in changes if change["kind"] != "sys/config"]


async def last_seq(unit: Unit) -> int:
    changes = (await unit.control("GET", "changes"))["changes"]
    return int(changes[-1]["seq"]) if changes else 0


@pytest.fixture
async def unit(bigip: Unit) -> Unit:
    await bigip.partition()
    await bigip.control("POST", "seed", {"requests": ADMIN_SEED})
    return bigip


async def test_a_cluster_converges_in_its_partition_and_a_second_cycle_writes_nothing(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    common_before = await native(unit, "Common")
    async with running(bigip_settings(mock_bigip, tmp_path)) as bridge:
        first = await bridge.cycle()
        assert first.converged, first.error or first.applied
        seq = await last_seq(unit)
        second = await bridge.cycle()
        assert second.converged
        assert second.plan is not None
        assert second.plan.empty
    assert await writes_since(unit, seq) == []

    ours = await native(unit, PARTITION)
    nodes = ours["ltm/node"]
    assert sorted(item["address"] for item in nodes.values()) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert all(item["description"] == MARKER and item["name"].startswith("k8s-c1-") for item in nodes.values())
    pools = ours["ltm/pool"]
    assert len(pools) == 2
    for pool in pools.values():
        assert pool["description"] == MARKER
        assert pool["loadBalancingMode"] == "round-robin"
        assert len(members(pool)) == 3
        assert {item["session"] for item in members(pool).values()} == {"user-enabled"}
    virtuals = ours["ltm/virtual"]
    assert sorted(item["destination"] for item in virtuals.values()) == [
        f"/{PARTITION}/{VIP4}:443",
        f"/{PARTITION}/{VIP4}:80",
    ]
    for virtual in virtuals.values():
        assert virtual["description"] == MARKER
        assert virtual["sourceAddressTranslation"] == {"type": "automap"}
        assert virtual["pool"] in {f"/{PARTITION}/{name}" for name in pools}
    assert await native(unit, "Common") == common_before
    state = await unit.control("GET", "state")
    assert state["unsaved_changes"] is False  # the cycle that wrote saved the configuration


async def test_drift_made_by_hand_is_put_back_and_then_nothing_is_written(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    async with running(bigip_settings(mock_bigip, tmp_path)) as bridge:
        assert (await bridge.cycle()).converged
        ours = await native(unit, PARTITION)
        pool_name, pool = sorted(ours["ltm/pool"].items())[0]
        member_path = sorted(members(pool))[0]
        node_name = sorted(ours["ltm/node"])[0]
        virtual_name = sorted(ours["ltm/virtual"])[0]
        pool_uri = f"/mgmt/tm/ltm/pool/~{PARTITION}~{pool_name}"
        await unit.ok("DELETE", f"{pool_uri}/members/{member_path.replace('/', '~')}")
        await unit.ok("PATCH", f"/mgmt/tm/ltm/node/~{PARTITION}~{node_name}", {"session": "user-disabled"})
        await unit.ok(
            "PATCH", f"/mgmt/tm/ltm/virtual/~{PARTITION}~{virtual_name}", {"sourceAddressTranslation": {"type": "none"}}
        )
        await unit.ok("PATCH", pool_uri, {"loadBalancingMode": "least-connections-member"})

        repaired = await bridge.cycle()
        assert repaired.converged
        assert repaired.plan is not None
        assert sorted((op.action.value, op.obj.kind.label) for op in repaired.plan.operations) == [
            ("create", "member"),
            ("update", "node"),
            ("update", "pool"),
            ("update", "vserver"),
        ]
        seq = await last_seq(unit)
        assert (await bridge.cycle()).plan.empty  # type: ignore[union-attr]
    assert await writes_since(unit, seq) == []
    after = await native(unit, PARTITION)
    assert member_path in members(after["ltm/pool"][pool_name])
    assert after["ltm/node"][node_name]["session"] == "user-enabled"
    assert after["ltm/virtual"][virtual_name]["sourceAddressTranslation"] == {"type": "automap"}
    assert after["ltm/pool"][pool_name]["loadBalancingMode"] == "round-robin"


async def test_a_common_node_is_used_and_an_address_held_in_another_partition_is_a_conflict(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    await unit.control(
        "POST",
        "seed",
        {
            "requests": [
                {"method": "POST", "path": "/mgmt/tm/ltm/node", "body": {"name": "shared-1", "address": "10.0.0.1"}},
                {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": "tenant"}},
                {
                    "method": "POST",
                    "path": "/mgmt/tm/ltm/node",
                    "body": {"name": "theirs-2", "partition": "tenant", "address": "10.0.0.2"},
                },
            ]
        },
    )
    common_before = await native(unit, "Common")
    async with running(bigip_settings(mock_bigip, tmp_path)) as bridge:
        first = await bridge.cycle()
        assert first.plan is not None
        assert first.applied is not None
        assert first.applied.failures == []
        assert [(c.kind, c.reason) for c in first.plan.conflicts] == [
            (Kind.NODE, "10.0.0.2 is held by /tenant/theirs-2, which we may not use")
        ]
        seq = await last_seq(unit)
        again = await bridge.cycle()
        assert again.error == ""
        assert again.plan is not None
        assert again.plan.empty
    assert await writes_since(unit, seq) == []
    ours = await native(unit, PARTITION)
    assert [item["address"] for item in ours["ltm/node"].values()] == ["10.0.0.3"]
    for pool in ours["ltm/pool"].values():
        port = next(iter(members(pool))).rsplit(":", 1)[1]
        assert sorted(members(pool)) == [f"/Common/shared-1:{port}", f"/{PARTITION}/k8s-c1-node-3:{port}"]
    assert await native(unit, "Common") == common_before


async def test_a_node_that_left_is_deleted_and_dry_run_writes_nothing(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    two_nodes = cluster(nodes=[node("node-1", "10.0.0.1"), node("node-2", "10.0.0.2")])
    async with running(bigip_settings(mock_bigip, tmp_path)) as bridge:
        assert (await bridge.cycle()).converged
        seq = await last_seq(unit)
    async with running(bigip_settings(mock_bigip, tmp_path, dry_run=True), two_nodes) as dry:
        planned = await dry.cycle()
        assert planned.plan is not None
        assert not planned.plan.empty
    assert await writes_since(unit, seq) == []
    async with running(bigip_settings(mock_bigip, tmp_path, nodes={"drain_grace_seconds": 0}), two_nodes) as bridge:
        assert (await bridge.cycle()).converged
    ours = await native(unit, PARTITION)
    assert sorted(item["address"] for item in ours["ltm/node"].values()) == ["10.0.0.1", "10.0.0.2"]
    deleted = [(change["method"], change["kind"]) for change in await writes_since(unit, seq)]
    assert deleted == [("DELETE", "ltm/pool/members"), ("DELETE", "ltm/pool/members"), ("DELETE", "ltm/node")]


async def test_a_missing_partition_fails_the_cycle_and_names_it(
    mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path
) -> None:
    async with running(bigip_settings(mock_bigip, tmp_path)) as bridge:
        report = await bridge.cycle()
    assert "partition 'k8s' does not exist on the BIG-IP" in report.error
    assert await writes_since(bigip, 0) == []


REQUIRED = {
    "ADCBRIDGE_OWNER_ID": "c1",
    "ADCBRIDGE_ADC__URL": "https://127.0.0.1:9",
    "ADCBRIDGE_VIP__ADDRESSES": '["192.0.2.10"]',
}


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"ADCBRIDGE_DNS__TARGETS": "[]"}, "adc.partition (ADCBRIDGE_ADC__PARTITION): required"),
        (
            {"ADCBRIDGE_ADC__PARTITION": "Common", "ADCBRIDGE_DNS__TARGETS": "[]"},
            "adc.partition (ADCBRIDGE_ADC__PARTITION): Common",
        ),
        (
            {"ADCBRIDGE_ADC__PARTITION": "k8s", "ADCBRIDGE_DNS__TARGETS": "[]", "ADCBRIDGE_POOL__METHOD": "ip-hash"},
            "pool.method (ADCBRIDGE_POOL__METHOD): ip-hash has no BIG-IP load-balancing mode",
        ),
        (
            {"ADCBRIDGE_ADC__PARTITION": "k8s", "ADCBRIDGE_DNS__TARGETS": "[]", "ADCBRIDGE_NAME_PREFIX": "1-"},
            "name_prefix (ADCBRIDGE_NAME_PREFIX): BIG-IP object names start with a letter",
        ),
        (
            {"ADCBRIDGE_ADC__PARTITION": "k8s"},
            "adc.gtm_server (ADCBRIDGE_ADC__GTM_SERVER): required with adc in dns.targets",
        ),
    ],
)
def test_settings_a_bigip_cannot_honour_exit_2_naming_the_field(variables: dict[str, str], named: str) -> None:
    code, err = run_cli(["check"], {**REQUIRED, "ADCBRIDGE_ADC__DIALECT": "bigip", **variables})
    assert code == 2
    assert named in err
    assert "(adc.dialect bigip)" in err


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (
            {"ADCBRIDGE_ADC__PARTITION": "k8s"},
            "adc.partition (ADCBRIDGE_ADC__PARTITION): the reference appliance has no partitions",
        ),
        ({"ADCBRIDGE_ADC__SNAT": "none"}, "adc.snat (ADCBRIDGE_ADC__SNAT): the reference appliance always translates"),
        ({"ADCBRIDGE_ADC__BATCH_SIZE": "10"}, "adc.batch_size (ADCBRIDGE_ADC__BATCH_SIZE): the reference appliance"),
    ],
)
def test_appliance_settings_the_reference_dialect_refuses(variables: dict[str, str], named: str) -> None:
    code, err = run_cli(["check"], {**REQUIRED, **variables})
    assert code == 2
    assert named in err
    assert "(adc.dialect reference)" in err


async def test_run_once_converges_on_the_unit_and_leaves_no_token(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    demo = Path(__file__).parent.parent / "config" / "demo"
    env = bridge_env(mock_bigip, ADCBRIDGE_DNS__TARGETS="[]", ADCBRIDGE_VIP__ADDRESSES='["192.0.2.10"]')
    command = [sys.executable, "-m", "adcbridge", "run", "--once", "--snapshot", str(demo)]
    for run in range(2):
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, (out + err).decode()[-2000:]
        assert BIGIP_PASSWORD not in (out + err).decode()
        if run == 0:
            seq = await last_seq(unit)
    assert await writes_since(unit, seq) == []
    tokens = await unit.control("GET", "tokens")
    assert tokens["users"].get(BIGIP_USER, []) == []
    assert len((await native(unit, PARTITION))["ltm/virtual"]) == 2


async def test_a_node_that_turns_not_ready_drains_its_members(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path
) -> None:
    nodes = [node("node-1", "10.0.0.1"), node("node-2", "10.0.0.2")]
    async with running(bigip_settings(mock_bigip, tmp_path), cluster(nodes=nodes)) as bridge:
        assert (await bridge.cycle()).converged
        nodes[1] = node("node-2", "10.0.0.2", ready=False)
        assert (await bridge.cycle(cluster(nodes=nodes))).converged
    for pool in (await native(unit, PARTITION))["ltm/pool"].values():
        sessions = {path.split("/")[-1].rsplit(":", 1)[0]: item["session"] for path, item in members(pool).items()}
        assert sessions == {"k8s-c1-node-1": "user-enabled", "k8s-c1-node-2": "user-disabled"}
