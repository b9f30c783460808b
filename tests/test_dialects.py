"""The dialect seam: what a dialect declares reaches the planner and the command line.

A dialect declares the kinds it can manage and the settings it cannot honour. The reference
dialect manages every kind and refuses nothing, so these tests stand in a dialect of their own
at the registry (the seam the rest of the bridge asks) and check that the engine obeys it: a
kind the dialect cannot manage is never planned, neither created nor deleted, and a refused
setting stops the command with exit 2 naming the field and the dialect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

import pytest

from adcbridge.adc import DIALECTS, ApplyReport, SettingProblem, dialect_of
from adcbridge.adc.contract import AdcInfo
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics
from adcbridge.model import Action, AdcState, DeleteLimits, DesiredState, Kind, Plan
from adcbridge.planner import plan
from adcbridge.reconciler import Reconciler
from tests.builders import adc_domain, adc_node, node, settings, snapshot
from tests.test_bridge_against_mock import StaticSource
from tests.test_config_fuzz import run_cli

SLB_ONLY = frozenset({Kind.NODE, Kind.POOL, Kind.MEMBER, Kind.VSERVER})


class RecordingAdc:
    """An appliance that holds ``state`` and records the plans it is given."""

    def __init__(self, state: AdcState, kinds: frozenset[Kind]) -> None:
        self.state = state
        self.kinds = kinds
        self.plans: list[Plan] = []

    async def observe(self) -> AdcState:
        return self.state

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        return None

    async def apply(self, plan: Plan) -> ApplyReport:
        self.plans.append(plan)
        return ApplyReport()

    async def connect(self, *, within: float) -> None:
        return None

    async def describe(self) -> AdcInfo:
        return AdcInfo("test", "active")

    def active_unit(self) -> str:
        return ""


def test_the_reference_dialect_manages_every_kind_and_refuses_nothing() -> None:
    config = settings()
    assert config.adc.dialect == "reference"
    assert dialect_of(config).kinds == frozenset(Kind)
    assert dialect_of(config).problems(config) == []


@pytest.mark.parametrize(("kinds", "domains_planned"), [(frozenset(Kind), True), (SLB_ONLY, False)])
async def test_a_kind_the_dialect_cannot_manage_is_never_planned(kinds: frozenset[Kind], domains_planned: bool) -> None:
    config = settings()
    owner = owner_of(config)
    stale = adc_domain("gone.example.com", description=owner.marker)  # ours, and no longer wanted
    adc = RecordingAdc(AdcState.of([stale]), kinds)
    view = snapshot(nodes=[node("n1", "10.0.0.1")], hosts=["www.example.com"])

    await Reconciler(config, StaticSource(view), adc, Metrics()).run_once()

    (given,) = adc.plans
    planned = {(op.action, op.obj.kind) for op in given.operations}
    assert (Action.CREATE, Kind.NODE) in planned  # the SLB side is planned either way
    assert ((Action.CREATE, Kind.DOMAIN) in planned) is domains_planned
    assert ((Action.DELETE, Kind.DOMAIN) in planned) is domains_planned


@pytest.mark.parametrize(("kinds", "deleted"), [(frozenset(Kind), {Kind.NODE, Kind.DOMAIN}), (SLB_ONLY, {Kind.NODE})])
def test_the_planner_deletes_only_kinds_the_dialect_manages(kinds: frozenset[Kind], deleted: set[Kind]) -> None:
    owner = owner_of(settings())
    stale = [
        adc_node("k8s-old", "10.9.0.1", description=owner.marker),
        adc_domain("old.example.com", description=owner.marker),
    ]
    nothing = DesiredState(AdcState(), slb_known=True, complete=True)
    never_hold = DeleteLimits(max_count=10**9, max_percent=100.0)

    result = plan(nothing, AdcState.of(stale), owner, limits=never_hold, kinds=kinds)

    assert {(op.action, op.obj.kind) for op in result.operations} == {(Action.DELETE, kind) for kind in deleted}


REQUIRED = {
    "ADCBRIDGE_OWNER_ID": "c1",
    "ADCBRIDGE_ADC__URL": "http://127.0.0.1:9",
    "ADCBRIDGE_VIP__ADDRESSES": '["192.0.2.10"]',
}


def test_a_setting_the_dialect_cannot_honour_exits_2_naming_the_field_and_the_dialect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse_ip_hash(config: object) -> list[SettingProblem]:
        method = config.pool.method  # type: ignore[attr-defined]
        return [SettingProblem(("pool", "method"), f"{method} has no equivalent")] if method == "ip-hash" else []

    reference = DIALECTS["reference"]
    monkeypatch.setitem(DIALECTS, "reference", dataclasses.replace(reference, problems=refuse_ip_hash))

    code, err = run_cli(["check"], {**REQUIRED, "ADCBRIDGE_POOL__METHOD": "ip-hash"})

    assert code == 2
    assert err.strip() == (
        "adcbridge: invalid setting pool.method (ADCBRIDGE_POOL__METHOD): ip-hash has no equivalent "
        "(adc.dialect reference)"
    )
