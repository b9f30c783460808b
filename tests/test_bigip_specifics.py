"""What only a BIG-IP has, on the emulated unit (``mocks/bigip``): partitions, its settings, its tokens.

The engine's guarantees (convergence, zero writes on a second cycle or a restart, drift repair,
foreign objects untouched, the deletion guards, dry run, drain) are proven for every dialect by
``test_bridge_against_mock.py``, the bigip one among them. Here, what has no counterpart on the
reference appliance: a node of ``Common`` is used by our pools while an address held by a node of
another partition is a reported conflict (not a failure repeated every cycle); a partition that
does not exist fails the cycle and names it; settings a BIG-IP cannot honour stop the bridge at
start, and the reference dialect refuses the appliance settings. BIG-IP DNS: ``test_bigip_dns.py``;
``adcbridge run --once`` on a unit an administrator prepared: ``test_bigip_first_run.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adcbridge.model import Kind
from mocks.bigip import MockBigIP
from tests.bigip_bridge import ADMIN_SEED, bigip_settings, last_seq, members, native, running, writes_since
from tests.bigip_fixtures import PARTITION, Unit
from tests.test_config_fuzz import run_cli


@pytest.fixture
async def unit(bigip: Unit) -> Unit:
    await bigip.partition()
    await bigip.control("POST", "seed", {"requests": ADMIN_SEED})
    return bigip


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
    assert len(ours["ltm/pool"]) == 2
    for pool in ours["ltm/pool"].values():
        port = next(iter(members(pool))).rsplit(":", 1)[1]
        assert sorted(members(pool)) == [f"/Common/shared-1:{port}", f"/{PARTITION}/k8s-c1-node-3:{port}"]
    assert await native(unit, "Common") == common_before


@pytest.mark.parametrize("snat", ["automap", "none"])
async def test_virtual_servers_translate_as_adc_snat_says_and_a_change_by_hand_is_put_back(
    mock_bigip: MockBigIP, unit: Unit, tmp_path: Path, snat: str
) -> None:
    """``adc.snat`` has no counterpart on the reference appliance (it always translates)."""
    other = {"automap": "none", "none": "automap"}[snat]
    async with running(bigip_settings(mock_bigip, tmp_path, adc={"snat": snat})) as bridge:
        assert (await bridge.cycle()).converged
        virtuals = (await native(unit, PARTITION))["ltm/virtual"]
        assert [item["sourceAddressTranslation"] for item in virtuals.values()] == [{"type": snat}] * 2
        name = sorted(virtuals)[0]
        uri = f"/mgmt/tm/ltm/virtual/~{PARTITION}~{name}"
        await unit.ok("PATCH", uri, {"sourceAddressTranslation": {"type": other}})
        repaired = await bridge.cycle(resync=True)
        assert repaired.converged
        assert repaired.plan is not None
        assert [(op.action.value, op.obj.key) for op in repaired.plan.operations] == [("update", name)]
    virtuals = (await native(unit, PARTITION))["ltm/virtual"]
    assert [item["sourceAddressTranslation"] for item in virtuals.values()] == [{"type": snat}] * 2


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
