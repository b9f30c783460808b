"""Findings as Kubernetes Events: which object each finding lands on, and how repeats are counted."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adcbridge.config import KicSettings
from adcbridge.desired import build_desired
from adcbridge.k8s.api import KubeApi
from adcbridge.k8s.events import EventRecorder, Finding
from adcbridge.k8s.objects import snapshot_from
from adcbridge.model import AdcState, Conflict, DesiredState, Kind, ObjectRef, Plan, Rejection, RejectionCause
from adcbridge.presenting import findings
from adcbridge.reconciler import CycleReport
from mocks.kube import manifests as k
from mocks.kube.server import FakeKube
from tests.builders import claim, snapshot
from tests.live import live_settings, seeded_kube

SERVICE = ObjectRef("Service", "njet-ingress", "njet-ingress-controller")
SHOP = ObjectRef("Ingress", "shop", "shop")
MINION = ObjectRef("Ingress", "checkout", "checkout")


def report(
    *, desired: DesiredState | None = None, plan: Plan | None = None, problems: tuple[str, ...] = ()
) -> CycleReport:
    view = snapshot(hosts=[claim("Shop.example.com.", "shop", namespace="shop"), claim("api.example.com", "api")])
    view = dataclasses.replace(view, problems=problems)
    return CycleReport(started_at=0.0, snapshot=view, desired=desired, plan=plan)


def test_each_finding_lands_on_the_object_concerned() -> None:
    desired = DesiredState(
        AdcState(),
        slb_known=True,
        complete=True,
        rejections=(
            Rejection("bad_host.example.com", "label 'bad_host' is not ...", SHOP),
            Rejection("pay.example.com", "minion without a master", MINION, RejectionCause.ORPHAN_MINION),
        ),
        degraded=("KIC Service njet-ingress/njet-ingress-controller exposes no nodePort", "Ingress: not listed yet"),
    )
    plan = Plan(
        hold_reason="32 deletions held back: more than 50% of our objects",
        conflicts=(
            Conflict(Kind.DOMAIN, "shop.example.com", "held by another owner"),
            Conflict(Kind.POOL, "k8s-c1-80-tcp", "exists without our marker"),
        ),
    )
    found = findings(report(desired=desired, plan=plan, problems=("Ingress: not listed yet",)), KicSettings())
    assert {(f.ref, f.reason) for f in found} == {
        (SHOP, "HostRejected"),
        (MINION, "OrphanMinion"),  # its paths are not served; the host itself may well be published
        (SERVICE, "Degraded"),  # the Service problem only: source problems are the source's
        (SHOP, "NameConflict"),  # the host's claimant, matched after normalising "Shop.example.com."
        (SERVICE, "NameConflict"),  # an SLB object's conflict concerns the KIC Service
        (SERVICE, "DeletionsHeldBack"),
    }
    assert "bad_host.example.com" in next(f.message for f in found if f.reason == "HostRejected")
    assert (
        next(f.message for f in found if f.reason == "OrphanMinion")
        == "host 'pay.example.com': minion without a master"
    )
    assert all(f.type == "Warning" for f in found)


def test_a_cycle_that_failed_early_has_no_findings() -> None:
    assert findings(CycleReport(started_at=0.0, error="ADC unreachable"), KicSettings()) == []


@pytest.fixture
async def kube(tmp_path: Path) -> AsyncIterator[FakeKube]:
    async with seeded_kube(tmp_path) as server:
        yield server


async def test_events_are_written_once_per_appearance_and_repeats_count(kube: FakeKube, tmp_path: Path) -> None:
    ingress = kube.create(k.ingress("shop", "shop", "shop.example.com"))
    clock = [1000.0]
    config = live_settings(tmp_path)
    async with await KubeApi.connect(config.kube) as api:

        def find(ref: ObjectRef) -> dict[str, object] | None:
            return ingress if ref == SHOP else None

        recorder = EventRecorder(api, find, instance="test", clock=lambda: clock[0])
        finding = Finding(SHOP, "HostRejected", "host 'x' not published")
        await recorder.publish([finding])
        await recorder.publish([finding])  # still there: nothing new
        await recorder.publish([])
        clock[0] += 60
        await recorder.publish([finding])  # back: the same Event, counted
        await recorder.publish([Finding(ObjectRef("Ingress", "shop", "gone"), "HostRejected", "x")])  # no object
    events = kube.list_objects("v1", "Event", namespace="shop")
    assert len(events) == 1
    event = events[0]
    assert (event["count"], event["reason"], event["type"]) == (2, "HostRejected", "Warning")
    assert event["involvedObject"]["uid"] == ingress["metadata"]["uid"]
    assert event["lastTimestamp"] > event["firstTimestamp"]


async def test_an_orphan_minion_gets_a_warning_event_of_its_own(kube: FakeKube, tmp_path: Path) -> None:
    kube.create(k.ingress("shop", "shop", "shop.example.com"))
    minion = kube.create(k.ingress("checkout", "team-b", "pay.example.com", mergeable="minion"))
    config = live_settings(tmp_path)
    stored = kube.list_objects(k.NETWORKING, "Ingress")
    view = snapshot_from([k.service(), k.node("n1", "10.0.0.1"), *stored], config, taken_at=0.0)
    found = findings(CycleReport(started_at=0.0, snapshot=view, desired=build_desired(view, config)), config.kic)
    assert [(f.ref, f.reason) for f in found] == [(ObjectRef("Ingress", "team-b", "checkout"), "OrphanMinion")]
    async with await KubeApi.connect(config.kube) as api:

        def find(ref: ObjectRef) -> dict[str, object] | None:
            return kube.get(k.NETWORKING, ref.kind, ref.name, namespace=ref.namespace)

        await EventRecorder(api, find, instance="test").publish(found)
    (event,) = kube.list_objects("v1", "Event", namespace="team-b")
    assert (event["reason"], event["type"]) == ("OrphanMinion", "Warning")
    assert event["message"] == (
        "host 'pay.example.com': minion without a master Ingress for this host; the KIC serves none of its paths"
    )
    involved = event["involvedObject"]
    assert (involved["kind"], involved["namespace"], involved["name"]) == ("Ingress", "team-b", "checkout")
    assert involved["uid"] == minion["metadata"]["uid"]
