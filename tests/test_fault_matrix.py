"""The fault matrix: the real processes (bridge, mock ADC, fake API server), broken on purpose.

Each test breaks one thing the way it breaks in production, lets it recover, and ends with the
same verdict, :func:`tests.matrix.assert_settled`: the objects each owner holds on the ADC are
exactly what its cluster asks for, the foreign objects seeded at the start (another owner's, an
operator's, a look-alike of ours) are unchanged to the byte, nothing was deleted and created
again, and one more resync writes nothing. ``tests/README.md`` lists what each test proves.

The bridges talk to the ADC through a :class:`tests.matrix.Relay`, so the appliance can be made
unreachable or restarted on a new port behind one URL. Settings are short (resync 2 s, lease
3 s, backoff ceilings 1 to 2 s) so the whole matrix runs in a few minutes; every wait polls a
condition, none is a fixed sleep.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mocks.kube import manifests
from tests import acos_matrix, bigip_matrix
from tests.bigip_matrix import members_of
from tests.conftest import PASSWORD, USERNAME
from tests.live import until
from tests.matrix import (
    FAST_LEASE,
    LEASE,
    MERGE_PATCH,
    NODE_IPS,
    PUBLISHED,
    Bridge,
    Cluster,
    Expected,
    appliance_process,
    assert_settled,
    bridge_process,
    holds,
    running_cluster,
    seed_foreign,
)
from tests.processes import fake_kube_process
from tests.test_cli import DEMO_SNAPSHOT

RESYNC = 2.0
MATRIX_ENV = FAST_LEASE | {
    "ADCBRIDGE_RECONCILE__RESYNC_SECONDS": str(RESYNC),
    "ADCBRIDGE_RECONCILE__MAX_BACKOFF_SECONDS": "1",
    "ADCBRIDGE_KUBE__MAX_BACKOFF_SECONDS": "1",
    "ADCBRIDGE_KUBE__REQUEST_TIMEOUT": "2",
}
KIC_SERVICE = ("njet-ingress", "njet-ingress-controller")
# Every object of the demo cluster that claims a host: (API path of its collection, namespace, name).
HOST_CLAIMS = (
    ("/apis/networking.k8s.io/v1", "shop", "ingresses", "shop"),
    ("/apis/networking.k8s.io/v1", "api", "ingresses", "api"),
    ("/apis/networking.k8s.io/v1", "web", "ingresses", "static"),
    ("/apis/networking.k8s.io/v1", "pay", "ingresses", "pay-master"),
    ("/apis/networking.k8s.io/v1", "checkout", "ingresses", "pay-checkout"),
    ("/apis/networking.k8s.io/v1", "web", "ingresses", "legacy"),
    ("/apis/k8s.njet.org/v1", "shop", "virtualservers", "vs"),
)


# The tests where the dialects differ in a meaningful way run for each: the reference mock ADC and the
# BIG-IP emulator, each read back with its own reader of native objects (``tests/bigip_matrix.py``).
# Rows 7 (the Kubernetes API failing) and 9 (the leader killed) run for the reference only, by
# decision: what they break is the cluster side (watches, relists, the view's completeness) and
# leader election, and what they prove of the ADC (no write while the view is incomplete, deletions
# held back, a standby that never calls the ADC) is decided before any dialect is asked: by the
# planner's guards and the elector, vendor-neutral. A dialect would only repeat the ADC side that
# rows 1, 3 and 4 already run for each.
DIALECTS = pytest.mark.parametrize("dialect", ["reference", "bigip"])
# Rows 2 (the appliance restarted empty) and 11 (two owners on one appliance) run on an ACOS unit too
# (``tests/acos_matrix.py``): what its dialect does its own way (a partition activated per session, a
# virtual-server per VIP holding the ports of two model virtual servers) meets a restart and a neighbour.
WITH_ACOS = pytest.mark.parametrize("dialect", ["reference", "bigip", "acos"])


@asynccontextmanager
async def matrix(
    tmp_path: Path, *adc_args: str, seed: Path = DEMO_SNAPSHOT, dialect: str = "reference"
) -> AsyncIterator[tuple[Cluster, str]]:
    """The demo cluster, the appliance behind a relay, and the foreign objects seeded on it."""
    async with running_cluster(tmp_path, *adc_args, seed=seed, relay=True, dialect=dialect) as cluster:
        yield cluster, await seed_foreign(cluster)


@asynccontextmanager
async def restarted_adc(cluster: Cluster, *adc_args: str) -> AsyncIterator[None]:
    """Stop the appliance (SIGTERM: the mock ADC saves its state file, if it has one; a BIG-IP keeps
    what was saved), start a new one on a new port with ``adc_args``, and move the relay to it: to
    the bridges, the same ADC came back."""
    assert cluster.relay is not None
    cluster.relay.cut()
    cluster.adc.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(cluster.adc.process.wait(), 10)
    previous = cluster.adc
    async with appliance_process(cluster.dialect, *adc_args) as adc:
        cluster.adc, cluster.admin_token = adc, ""
        cluster.relay.point_to(adc.url)
        try:
            yield
        finally:
            cluster.adc = previous


async def deletes(cluster: Cluster, since: int) -> set[str]:
    return {change["name"] for change in await cluster.adc_changes(since) if change["method"] == "DELETE"}


# ---------------------------------------------------------------------------- 1. ADC faults


SLB, DNS = "/adc/v3.0/slb/*", "/adc/v3.0/dns/*"
FAULTS: list[dict[str, Any]] = [
    {"kind": "status", "status": 504, "path": "/adc/v3.0/login", "count": 1},
    {"kind": "status", "status": 503, "retry_after": 1, "path": SLB, "methods": ["GET"], "count": 2},
    {"kind": "truncate", "path": "/adc/v3.0/dns/domain", "methods": ["GET"], "count": 1},
    {"kind": "reset", "path": "/adc/v3.0/slb/node", "methods": ["GET"], "count": 1},
    {"kind": "status", "status": 429, "retry_after": 1, "path": SLB, "methods": ["POST"], "count": 2},
    {"kind": "reset", "path": "/adc/v3.0/dns/domain", "methods": ["POST"], "after_apply": True, "count": 2},
    {"kind": "busy", "path": SLB, "methods": ["POST", "PUT", "DELETE"], "count": 2},
    {"kind": "status", "status": 502, "body": "html", "retry_after": None, "path": DNS, "rate": 0.3, "count": 3},
    {
        "kind": "status",
        "status": 500,
        "retry_after": None,
        "path": "/adc/v3.0/slb/pool/*",
        "methods": ["POST"],
        "count": 1,
    },
    {"kind": "latency", "latency_ms": 400, "rate": 0.3, "count": 10},
]


LTM = "/mgmt/tm/ltm/*"
BIGIP_FAULTS: list[dict[str, Any]] = [
    {"kind": "status", "status": 504, "path": "/mgmt/shared/authn/login", "count": 1},
    {"kind": "status", "status": 503, "retry_after": 1, "path": LTM, "methods": ["GET"], "count": 2},
    {"kind": "truncate", "path": "/mgmt/tm/ltm/virtual", "methods": ["GET"], "count": 1},
    {"kind": "reset", "path": "/mgmt/tm/ltm/node", "methods": ["GET"], "count": 1},
    {"kind": "status", "status": 429, "retry_after": 1, "path": LTM, "methods": ["POST"], "count": 2},
    {"kind": "reset", "path": "/mgmt/tm/ltm/virtual", "methods": ["POST"], "after_apply": True, "count": 1},
    {"kind": "busy", "path": LTM, "methods": ["POST", "PATCH", "DELETE"], "count": 2},
    {"kind": "status", "status": 502, "body": "html", "retry_after": None, "path": LTM, "rate": 0.3, "count": 3},
    {
        "kind": "status",
        "status": 500,
        "retry_after": None,
        "path": "/mgmt/tm/ltm/pool/*",
        "methods": ["POST"],
        "count": 1,
    },
    {"kind": "latency", "latency_ms": 400, "rate": 0.3, "count": 10},
    # Updates: a drained node's members, then the same members enabled again.
    {"kind": "reset", "path": LTM, "methods": ["PATCH"], "after_apply": True, "count": 1},
    {"kind": "status", "status": 503, "retry_after": None, "path": LTM, "methods": ["PATCH"], "count": 1},
]
# PATCH is what a BIG-IP's updates are; the reference's are PUT (its faults above cover them).
UPDATES = {"reference": [], "bigip": [rule for rule in BIGIP_FAULTS if rule.get("methods") == ["PATCH"]]}
NODE_C = "/api/v1/nodes/node-c"


@pytest.mark.slow
@DIALECTS
async def test_adc_unreachable_then_failing_then_recovered(tmp_path: Path, dialect: str) -> None:
    async with matrix(tmp_path, dialect=dialect) as (cluster, foreign):
        assert cluster.relay is not None
        seeded = await cluster.last_change()
        cluster.relay.cut()
        env = MATRIX_ENV | cluster.dialect_env | {"ADCBRIDGE_ADC__OPERATION_DEADLINE": "20"}
        async with bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=env) as bridge:

            async def retrying_unreachable() -> bool:
                failed = await cluster.metric_sum(bridge, "adcbridge_adc_requests_total", outcome="unreachable")
                return failed >= 3

            await until(retrying_unreachable, seconds=20, what="the bridge retrying an unreachable ADC")
            assert (await cluster.ready(bridge))[0] == 503
            assert await cluster.adc_changes(seeded) == []

            # Reachable again, but failing in every way an appliance and its proxies fail.
            rules = FAULTS if dialect == "reference" else BIGIP_FAULTS
            await cluster.mock("POST", "faults", {"rules": rules, "seed": 7})
            cluster.relay.point_to(cluster.adc.url)
            await cluster.create_ingress("late", "shop", "late.example.com")

            async def every_fault_fired(updates: bool) -> bool:
                found = (await cluster.mock("GET", "faults"))["rules"]
                return all(
                    rule["fired"] >= 1
                    for rule, given in zip(found, rules, strict=True)
                    if updates or given not in UPDATES[dialect]
                )

            await until(lambda: every_fault_fired(False), seconds=30, what="every fault rule firing at least once")
            if UPDATES[dialect]:  # a node drained, then back: updates, through their faults
                await cluster.kube_call("PATCH", NODE_C, {"spec": {"unschedulable": True}}, headers=MERGE_PATCH)
                await until(lambda: _member_sessions(cluster, "user-disabled"), what="node-c drained")
                await cluster.kube_call("PATCH", NODE_C, {"spec": {"unschedulable": False}}, headers=MERGE_PATCH)
                await until(lambda: every_fault_fired(True), seconds=30, what="every update fault firing")
            await cluster.delete_ingress("static", "web")
            await cluster.mock("DELETE", "faults")

            expected = Expected(hosts=PUBLISHED - {"static.example.com"} | {"late.example.com"})
            await assert_settled(cluster, expected=[expected], foreign=foreign, bridges=[bridge], since=seeded)
            # The reference publishes names (a host gone is a domain deleted); a BIG-IP's LTM holds none.
            assert await deletes(cluster, seeded) == ({"static.example.com"} if dialect == "reference" else set())


async def _member_sessions(cluster: Cluster, session: str) -> bool:
    """Whether node-c's members on the BIG-IP have ``session`` (drained: user-disabled)."""
    pools = (await cluster.adc_state())["objects"]["ltm/pool"]
    sessions = [m["session"] for p in pools for m in members_of(p) if "node-c" in m["fullPath"]]
    return bool(sessions) and set(sessions) == {session}


# ---------------------------------------------------------------------------- 2. ADC restarted empty


# What the bridge meets on an appliance restarted empty. The mock ADC is simply empty: the bridge
# rebuilds it at once. A BIG-IP that lost its configuration lost the bridge's partition too, and the
# bridge never creates one: until the operator makes it again, every cycle fails naming it, nothing
# is written, the bridge keeps running; from the partition's return (made again with the
# other owners' objects), it rebuilds within one resync.
PARTITION_MISSING = {
    "bigip": f"partition {bigip_matrix.PARTITION!r} does not exist on the BIG-IP",
    "acos": acos_matrix.PARTITION_MISSING,
}


@WITH_ACOS
async def test_adc_restarted_empty_is_rebuilt_within_one_resync(tmp_path: Path, dialect: str) -> None:
    async with (
        matrix(tmp_path, dialect=dialect) as (cluster, foreign),
        bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=MATRIX_ENV | cluster.dialect_env) as bridge,
    ):
        await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)

        async with restarted_adc(cluster):  # no state file: the appliance comes back empty
            if dialect in PARTITION_MISSING:
                await waits_for_its_partition(cluster, bridge)
            restarted = time.monotonic()
            reseeded = await seed_foreign(
                cluster
            )  # the other owners rebuild theirs (on a BIG-IP or ACOS, our partition)

            took = await until(lambda: holds(cluster, Expected()), seconds=RESYNC + 8, what="the ADC rebuilt")
            print(f"rebuilt {took:.2f} s after the restart or the partition's return (resync period {RESYNC} s)")
            assert time.monotonic() - restarted <= RESYNC + 2, "not rebuilt within one resync period (plus a cycle)"
            await assert_settled(cluster, expected=[Expected()], foreign=reseeded, bridges=[bridge])
            assert await deletes(cluster, 0) == set()


async def waits_for_its_partition(cluster: Cluster, bridge: Bridge) -> None:
    """A BIG-IP without the bridge's partition: cycles fail (the first of the streak logged in full,
    naming it), the unit sees no write, the bridge keeps running. It stays ready for a while: a ready
    bridge turns unready only when no cycle succeeded for two resync periods and 30 s."""
    failed = await failed_cycles(cluster, bridge)

    async def failing() -> bool:
        try:
            now = await failed_cycles(cluster, bridge)
        except httpx.HTTPError:  # its metrics gone: it exited
            raise AssertionError("the bridge stopped on a unit without its partition") from None
        return now >= failed + 2 or bool(await cluster.adc_changes())

    await until(failing, seconds=2 * RESYNC + 5, what="two failed cycles on the unit without our partition")
    assert await cluster.adc_changes() == [], "the bridge wrote to a unit without its partition"
    missing = PARTITION_MISSING[cluster.dialect]
    assert f"cycle failed: {missing}" in bridge.output(), "the failed cycles do not name the partition"


# ---------------------------------------------------------------------------- 3. ADC restarted with its state

# A whole observation lists nodes, pools (members inside), virtual servers and domains: one page each here.
LISTS_PER_OBSERVATION = 4


SAVE = {"reference": ("system/config/save", None), "bigip": ("tm/sys/config", {"command": "save"})}


@DIALECTS
async def test_adc_restarted_with_its_state_sees_zero_writes(tmp_path: Path, dialect: str) -> None:
    state_file = tmp_path / "adc-state.json"
    persist = ("--state-file", str(state_file))
    persist += ("--persist", "explicit") if dialect == "reference" else ()  # a BIG-IP keeps only what was saved
    async with matrix(tmp_path, *persist, dialect=dialect) as (cluster, foreign):
        await cluster.admin("POST", *SAVE[dialect])
        env = MATRIX_ENV | cluster.dialect_env
        async with bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=env) as bridge:
            await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
            assert (await cluster.adc_state())["unsaved_changes"] is False, "the bridge did not save its writes"

            async with restarted_adc(cluster, *persist):
                await converged_cycles(cluster, bridge, 2, what="converged cycles on the new unit")
                # Each converged cycle read the new unit whole (not a state remembered from the old
                # one). Reads counted from before to after the cycles: one may have been in flight.
                reads = (await cluster.adc_requests()).get("GET", 0)
                cycles = await converged_cycles(cluster, bridge, 3, what="three more converged cycles")
                reads = (await cluster.adc_requests()).get("GET", 0) - reads
                assert reads >= LISTS_PER_OBSERVATION * (cycles - 1), f"{reads} reads for {cycles:.0f} cycles"
                assert await cluster.adc_changes() == [], "writes to an appliance that came back with its state"
                await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
                assert await cluster.adc_changes() == []


async def converged_cycles(cluster: Cluster, bridge: Bridge, count: int, *, what: str) -> float:
    """Wait for ``count`` more converged cycles of ``bridge``; how many it ran meanwhile."""
    before = await cluster.converged_cycles(bridge)

    async def done() -> bool:
        return await cluster.converged_cycles(bridge) >= before + count

    await until(done, seconds=(count + 1) * RESYNC + 5, what=what)
    return await cluster.converged_cycles(bridge) - before


# ---------------------------------------------------------------------------- 4. manual drift


DRIFT = {  # five edits an administrator makes by hand to what the bridge owns
    "reference": [
        ("DELETE", "slb/pool/k8s-e2e-80-tcp/rserver/k8s-e2e-node-a:30080", None),
        ("PUT", "slb/vserver/k8s-e2e-192.0.2.10-80-tcp", {"pool": "k8s-e2e-443-tcp"}),
        ("PUT", "dns/domain/shop.example.com", {"addresses": ["198.51.100.7"]}),
        ("PUT", "dns/domain/api.example.com", {"enable": False}),
        ("PUT", "slb/node/k8s-e2e-node-b", {"enable": False}),
    ],
    "bigip": [
        ("DELETE", "tm/ltm/pool/~k8s~k8s-e2e-80-tcp/members/~k8s~k8s-e2e-node-a:30080", None),
        ("PATCH", "tm/ltm/virtual/~k8s~k8s-e2e-192.0.2.10-80-tcp", {"pool": "/k8s/k8s-e2e-443-tcp"}),
        ("PATCH", "tm/ltm/virtual/~k8s~k8s-e2e-192.0.2.10-443-tcp", {"disabled": True}),
        ("PATCH", "tm/ltm/pool/~k8s~k8s-e2e-443-tcp", {"loadBalancingMode": "least-connections-member"}),
        ("PATCH", "tm/ltm/node/~k8s~k8s-e2e-node-b", {"session": "user-disabled"}),
    ],
}


@asynccontextmanager
async def drifted(tmp_path: Path, dialect: str) -> AsyncIterator[tuple[Cluster, str, Bridge, int]]:
    """A bridge that has settled the demo cluster, then an administrator's edits of our objects
    (``DRIFT``): (the cluster, the foreign objects, the bridge, the change log's mark after the edits)."""
    async with (
        matrix(tmp_path, dialect=dialect) as (cluster, foreign),
        bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=MATRIX_ENV | cluster.dialect_env) as bridge,
    ):
        await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
        for method, path, body in DRIFT[dialect]:
            await cluster.admin(method, path, body)
        yield cluster, foreign, bridge, await cluster.last_change()


@DIALECTS
async def test_manual_drift_is_repaired_on_the_next_resync(tmp_path: Path, dialect: str) -> None:
    async with drifted(tmp_path, dialect) as (cluster, foreign, bridge, edited):
        started = time.monotonic()

        await assert_settled(
            cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], since=edited, seconds=RESYNC + 5
        )
        print(f"drift repaired within {time.monotonic() - started:.2f} s (resync period {RESYNC} s)")
        repairs = await cluster.metric_sum(bridge, "adcbridge_drift_repairs_total")
        assert repairs >= 5, f"drift repairs counted: {repairs}"
        assert await deletes(cluster, edited) == set()


@DIALECTS
async def test_drift_between_two_change_cycles_is_repaired_at_the_next_resync(tmp_path: Path, dialect: str) -> None:
    """A change cycle plans on the state the bridge kept since its last read: it does not see drift
    made since, and must not make it worse; the resync reads the appliance and repairs it."""
    async with drifted(tmp_path, dialect) as (cluster, foreign, bridge, edited):
        await cluster.kube_call("POST", "/api/v1/nodes", manifests.node(*NODE_D))  # a change: creates only

        expected = Expected(nodes=(*NODE_IPS.items(), NODE_D))
        await assert_settled(
            cluster, expected=[expected], foreign=foreign, bridges=[bridge], since=edited, seconds=RESYNC + 5
        )
        assert await cluster.metric_sum(bridge, "adcbridge_drift_repairs_total") >= 5
        assert await deletes(cluster, edited) == set()
        refused = [change for change in await cluster.adc_changes(edited) if not cluster.succeeded(change)]
        assert refused == [], "a write on stale facts, refused by the appliance"


# Node creates, applied by the appliance but answered with a reset, on every attempt until the
# bridge's operation deadline (1 s): the write fails though it was done.
LOST_ANSWERS = {
    "reference": {"kind": "reset", "path": "/adc/v3.0/slb/node", "methods": ["POST"], "after_apply": True},
    "bigip": {"kind": "reset", "path": "/mgmt/tm/ltm/node", "methods": ["POST"], "after_apply": True},
}


@DIALECTS
async def test_a_write_whose_answer_was_lost_is_read_back_by_the_next_cycle(tmp_path: Path, dialect: str) -> None:
    """The bridge cannot know whether a write it got no answer to was done: it drops the state it
    kept, and the next cycle, even one for a change, reads the appliance. It finds the node there
    and creates the rest (its members, skipped for want of it): no second create, no error loop.
    The resync period is long here, so that only that rule makes the next cycle read."""
    env = MATRIX_ENV | {"ADCBRIDGE_ADC__OPERATION_DEADLINE": "1", "ADCBRIDGE_RECONCILE__RESYNC_SECONDS": "120"}
    async with (
        matrix(tmp_path, dialect=dialect) as (cluster, foreign),
        bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=env | cluster.dialect_env) as bridge,
    ):
        await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
        mark = await cluster.last_change()
        await cluster.mock("POST", "faults", {"rules": [LOST_ANSWERS[dialect]], "seed": 7})
        await cluster.kube_call("POST", "/api/v1/nodes", manifests.node(*NODE_D))

        async def failed_once() -> bool:
            return await cluster.metric_sum(bridge, "adcbridge_operations_total", result="failed") >= 1

        await until(failed_once, seconds=10, what="the node's create failing for want of an answer")
        await cluster.mock("DELETE", "faults")
        cleared = await cluster.last_change()
        assert [c for c in await cluster.adc_changes(mark) if _node_d(c) and cluster.succeeded(c)], "never applied"
        await cluster.create_ingress("late", "shop", "late.example.com")  # the next cycle: a change

        expected = Expected(hosts=PUBLISHED | {"late.example.com"}, nodes=(*NODE_IPS.items(), NODE_D))
        await assert_settled(cluster, expected=[expected], foreign=foreign, bridges=[bridge], since=mark, resync=False)
        created = [c for c in await cluster.adc_changes(mark) if _node_d(c) and cluster.succeeded(c)]
        assert len(created) == 1, f"the node created more than once: {created}"
        assert [c for c in await cluster.adc_changes(cleared) if _node_d(c)] == [], "created again: a stale plan"
        assert await deletes(cluster, mark) == set()


def _node_d(change: dict[str, Any]) -> bool:
    """A create of node-d itself (not of its members)."""
    return change["method"] == "POST" and change["kind"] in ("slb/node", "ltm/node") and "node-d" in change["name"]


# ---------------------------------------------------------------------------- 5. standby and failover


# What a write does to a standby unit, so what the bridge must do there. The reference unit refuses
# every write itself (3001, transient): the bridge's writes reach it, are refused and retried, none
# is applied. A BIG-IP standby ACCEPTS writes (they would break the pair's config sync), so the bridge
# reads the failover status and sends none: its cycles fail while no unit is active, and the unit's
# own change log stays empty. By dialect, the (code, method) of the writes in the standby's log:
STANDBY_LOG: dict[str, set[tuple[int | None, str]]] = {"reference": {(3001, "POST")}, "bigip": set()}
NO_ACTIVE_UNIT = "no active BIG-IP unit to write to"
# The failover: the other unit becomes active, and it knows none of the bridge's tokens.
FAILOVER: dict[str, list[tuple[str, Any]]] = {
    "reference": [("role", {"role": "active", "drop_sessions": True})],
    "bigip": [("tokens/expire", None), ("role", {"role": "active"})],
}
# While standby the cluster gains a host and a node: something to write on either appliance (a
# BIG-IP here publishes no names, so only the node and its members are written to it).
NODE_D = ("node-d", "10.0.0.14")


@DIALECTS
async def test_a_standby_unit_pauses_writes_and_failover_resumes_them(tmp_path: Path, dialect: str) -> None:
    async with (
        matrix(tmp_path, dialect=dialect) as (cluster, foreign),
        bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=MATRIX_ENV | cluster.dialect_env) as bridge,
    ):
        await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
        mark = await cluster.last_change()
        await cluster.mock("POST", "role", {"role": "standby"})
        failed = await failed_cycles(cluster, bridge)
        await cluster.create_ingress("late", "shop", "late.example.com")
        await cluster.kube_call("POST", "/api/v1/nodes", manifests.node(*NODE_D))

        async def paused_and_retried() -> bool:
            if dialect == "bigip":  # each cycle fails before writing, and is retried (a write ends the wait)
                return bool(await cluster.adc_changes(mark)) or await failed_cycles(cluster, bridge) >= failed + 2
            refusals = [change for change in await cluster.adc_changes(mark) if change["code"] == 3001]
            return len(refusals) >= 2  # the client retries the refused write within its deadline

        await until(paused_and_retried, seconds=4 * RESYNC + 5, what="the bridge paused on the standby, retrying")
        standby_log = await cluster.adc_changes(mark)
        written = {(change.get("code"), change["method"]) for change in standby_log}
        assert written == STANDBY_LOG[dialect], f"writes on the standby unit: {standby_log}"
        if dialect == "bigip":  # not one write reached it, though the cluster changed
            assert NO_ACTIVE_UNIT in bridge.output(), "the failed cycles do not say why"
        else:  # each write reached it and was refused, then retried
            assert len(standby_log) >= 2

        for control, body in FAILOVER[dialect]:
            await cluster.mock("POST", control, body)
        expected = Expected(hosts=PUBLISHED | {"late.example.com"}, nodes=(*NODE_IPS.items(), NODE_D))
        await assert_settled(cluster, expected=[expected], foreign=foreign, bridges=[bridge], since=mark)
        assert await deletes(cluster, mark) == set()
        failed_operations = await cluster.metric_sum(bridge, "adcbridge_operations_total", result="failed")
        assert failed_operations == 0, "a standby's refusal was counted as a failed operation"


async def failed_cycles(cluster: Cluster, bridge: Bridge) -> float:
    return await cluster.metric_sum(bridge, "adcbridge_reconcile_duration_seconds_count", result="failed")


# ---------------------------------------------------------------------------- 6. sessions and passwords


@dataclass(frozen=True)
class Sessions:
    """How one appliance ends sessions, limits them, and is told to."""

    adc_args: tuple[str, ...]
    expire_clock: int  # seconds to advance the unit's clock so that every token has expired
    end_all: str  # the control ending every session
    limit: int  # sessions (tokens) one user may hold
    limit_text: str  # how the appliance says the limit is reached


SESSIONS = {
    "reference": Sessions(
        ("--token-lifetime", "30", "--max-sessions", "3", "--lockout-threshold", "2", "--lockout-seconds", "600"),
        60,
        "sessions/expire",
        3,
        "concurrent sessions reached",
    ),
    # A BIG-IP: tokens live 1200 s, 100 per user; the emulator has no lockout (not on record for a
    # unit), so its failed logins are counted instead.
    "bigip": Sessions((), 1201, "tokens/expire", 100, "maximum active login tokens"),
}


async def take_session(cluster: Cluster) -> str:
    """A session of the bridge's user, taken by someone else; its token."""
    if cluster.dialect == "bigip":
        login = {"username": USERNAME, "password": PASSWORD, "loginProviderName": "tmos"}
        answer = await cluster.http.post(cluster.adc.url + "/mgmt/shared/authn/login", json=login)
        return str(answer.json()["token"]["token"])
    login = {"username": USERNAME, "password": PASSWORD}
    answer = await cluster.http.post(cluster.adc.url + "/adc/v3.0/login", json=login)
    return str(answer.json()["data"]["token"])


async def end_session(cluster: Cluster, token: str) -> None:
    if cluster.dialect == "bigip":
        url = f"{cluster.adc.url}/mgmt/shared/authz/tokens/{token}"
        await cluster.http.delete(url, headers={"X-F5-Auth-Token": token})
    else:
        await cluster.http.post(cluster.adc.url + "/adc/v3.0/logout", headers={"x-access-token": token})


@DIALECTS
async def test_token_expiry_session_limits_and_a_wrong_password(tmp_path: Path, dialect: str) -> None:
    rotated = "rotated-canary-password-2"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "adc-password").write_text(PASSWORD + "\n")
    sessions = SESSIONS[dialect]
    async with (
        matrix(tmp_path, *sessions.adc_args, dialect=dialect) as (cluster, foreign),
        bridge_process(
            cluster.adc_url,
            cluster.kubeconfig,
            "bridge-1",
            canaries=(rotated,),
            env=MATRIX_ENV | cluster.dialect_env | {"ADCBRIDGE_SECRETS_DIR": str(secrets)},
        ) as bridge,
    ):
        await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
        hosts = set(PUBLISHED)
        cordoned = [False]

        async def publish(name: str) -> None:
            """A change the appliance must receive: a host (the reference publishes names), or on a
            BIG-IP, node-c cordoned or uncordoned (its members disabled or enabled)."""
            await cluster.create_ingress(name, "shop", f"{name}.example.com")
            hosts.add(f"{name}.example.com")
            if dialect == "reference":
                await until(lambda: cluster.resolves(f"{name}.example.com"), what=f"{name}.example.com published")
                return
            cordoned[0] = not cordoned[0]
            patch = {"spec": {"unschedulable": cordoned[0]}}
            await cluster.kube_call("PATCH", NODE_C, patch, headers=MERGE_PATCH)
            session = "user-disabled" if cordoned[0] else "user-enabled"
            await until(lambda: _member_sessions(cluster, session), what=f"node-c's members {session}")

        await cluster.mock("POST", "clock", {"advance": sessions.expire_clock})  # every token expired
        await publish("after-expiry")
        await cluster.mock("POST", sessions.end_all)
        await publish("after-sessions-ended")

        # All sessions taken by others: the bridge waits (transient) and gets in when one ends.
        await cluster.mock("POST", sessions.end_all)
        tokens = [await take_session(cluster) for _ in range(sessions.limit)]
        changed = asyncio.create_task(publish("at-the-limit"))
        await until(lambda: _logged(bridge, sessions.limit_text), what="the bridge told the limit is reached")
        await end_session(cluster, tokens[0])
        await changed
        logins = bridge.output().count("logged in to the ADC")
        assert logins == 4, f"{logins} logins for 3 ended sessions: one session must be reused"
        for token in tokens[1:]:
            await end_session(cluster, token)

        # The password is rotated on the ADC before the Secret: refused once, never tried again.
        await cluster.mock("POST", "password", {"password": rotated})
        cluster.admin_password, cluster.admin_token = rotated, ""
        changed = asyncio.create_task(publish("after-rotation"))
        await until(lambda: _logged(bridge, "login refused"), what="the bridge's login refused")
        cycles = await cluster.cycles(bridge)

        async def three_more_cycles() -> bool:
            return await cluster.cycles(bridge) >= cycles + 3

        await until(three_more_cycles, what="three more (failing) cycles")
        assert bridge.output().count("login refused") == 1, "a refused password was tried again"
        if dialect == "bigip":
            assert (await cluster.mock("GET", "stats"))["failed_logins"] == 1, "a refused password was sent again"
        # With a lockout threshold of 2 (the reference), a second bad login would have locked the
        # account for 10 minutes and the recovery below could not happen.
        (secrets / "adc-password").write_text(rotated + "\n")
        await changed
        await assert_settled(cluster, expected=[Expected(hosts=frozenset(hosts))], foreign=foreign, bridges=[bridge])


async def _logged(bridge: Any, text: str) -> bool:
    return text in bridge.output()


# ---------------------------------------------------------------------------- 7. Kubernetes API failures


# Every kind the bridge reads but Ingresses. Their reads fail; Leases (so the leader keeps leading
# and cycling), writes (so the cluster keeps changing) and the Ingress watch go on.
BLIND_TO = [
    "services",
    "nodes",
    "endpointslices.discovery.k8s.io",
    "ingressclasses.networking.k8s.io",
    "virtualservers.k8s.njet.org",
]
VIRTUAL_SERVERS = "/apis/k8s.njet.org/v1/namespaces/{namespace}/virtualservers"


async def refused_paths(cluster: Cluster) -> set[str]:
    """The paths the API server has answered 503 since its request log was cleared."""
    return {record["path"] for record in (await cluster.fake("GET", "requests"))["requests"] if record["status"] == 503}


async def cycles_done(cluster: Cluster, bridge: Bridge, count: int, *, what: str) -> None:
    """Wait for ``count`` more cycles of ``bridge``, whatever their result."""
    before = await cluster.cycles(bridge)

    async def done() -> bool:
        return await cluster.cycles(bridge) >= before + count

    await until(done, seconds=(count + 1) * RESYNC + 5, what=what)


async def test_api_outage_dropped_watches_and_compaction(tmp_path: Path) -> None:
    async with (
        matrix(tmp_path) as (cluster, foreign),
        bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=MATRIX_ENV) as bridge,
    ):
        await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
        mark = await cluster.last_change()

        # An outage of every read but the Ingresses': the view is incomplete, yet the Ingress watch
        # still delivers, so the bridge sees a deletion it must not carry out. The VirtualServer
        # created meanwhile it cannot see at all.
        await cluster.fake("DELETE", "requests")
        await cluster.fake("PUT", "outage", {"status": 503, "resources": BLIND_TO, "verbs": ["get", "list", "watch"]})

        async def blind() -> bool:
            status, _ = await cluster.ready(bridge)
            degraded = status == 503 and await cluster.metric(bridge, "adcbridge_degraded") == 1.0
            return degraded and len(await refused_paths(cluster)) == len(BLIND_TO)

        await until(blind, what="/readyz 503, a degraded view, and every blinded watch refused once")
        await cluster.delete_ingress("static", "web")
        unseen = manifests.virtual_server("unseen", "shop", "unseen.example.com")
        await cluster.kube_call("POST", VIRTUAL_SERVERS.format(namespace="shop"), unseen)

        async def deletion_seen() -> bool:
            held = await cluster.metric(bridge, "adcbridge_held_back_deletions") == 1.0
            return held or await cluster.adc_changes(mark) != []

        await until(deletion_seen, what="the bridge seeing the deletion")
        # Nothing wakes the bridge any more (the failing watches retry with the same error): of the
        # next three cycles, one may be due to the deletion, at least two are resyncs.
        started = time.monotonic()
        await cycles_done(cluster, bridge, 3, what="three cycles during the outage")
        print(f"{time.monotonic() - started:.2f} s of cycles during the outage (resync period {RESYNC} s)")
        assert await cluster.adc_changes(mark) == [], "the bridge wrote while its view was incomplete"
        assert await cluster.ready(bridge) == (503, "cluster view incomplete\n")
        assert await cluster.metric(bridge, "adcbridge_held_back_deletions") == 1.0
        await cluster.fake("DELETE", "outage")
        after_outage = PUBLISHED - {"static.example.com"} | {"unseen.example.com"}
        await assert_settled(cluster, expected=[Expected(hosts=after_outage)], foreign=foreign, bridges=[bridge])
        assert await deletes(cluster, mark) == {"static.example.com"}

        # A dropped stream, and a change made while it is down.
        assert (await cluster.fake("POST", "drop-watches"))["dropped"] >= 1
        await cluster.create_ingress("dropped", "shop", "dropped.example.com")
        # History compacted under open watches (410), and a deletion the relist must find.
        await cluster.fake("POST", "compact", {"end_watches": True})
        await cluster.delete_ingress("shop", "shop")

        expected = Expected(hosts=after_outage - {"shop.example.com"} | {"dropped.example.com"})
        await assert_settled(cluster, expected=[expected], foreign=foreign, bridges=[bridge], since=mark)
        assert await deletes(cluster, mark) == {"static.example.com", "shop.example.com"}


# ---------------------------------------------------------------------------- 8. SIGKILL mid-apply

BULK = 320
BULK_NODES = 160  # a BIG-IP's large apply: nodes and their members (it publishes no names)


def bulk_seed(tmp_path: Path, dialect: str = "reference") -> Path:
    """The demo cluster and BULK more Ingresses, one host each; for a BIG-IP, BULK_NODES more nodes."""
    seed = tmp_path / "seed"
    shutil.copytree(DEMO_SNAPSHOT, seed)
    objects = [manifests.namespace("bulk")]
    objects += [manifests.ingress(f"bulk-{i:03}", "bulk", f"h{i:03}.bulk.example.com") for i in range(BULK)]
    if dialect == "bigip":
        objects += [manifests.node(name, ip) for name, ip in bulk_nodes()]
    (seed / "90-bulk.yaml").write_text(yaml.safe_dump_all(objects))
    return seed


def bulk_nodes() -> tuple[tuple[str, str], ...]:
    return tuple((f"bulk-{i:03}", f"10.0.{2 + i // 200}.{i % 200 + 1}") for i in range(BULK_NODES))


# What the large apply writes slowly, and how much of it the kill must land in the middle of.
SLOW_KIND = {"reference": ("/adc/v3.0/dns/domain", "dns/domain"), "bigip": ("/mgmt/tm/ltm/node", "ltm/node")}


async def written(cluster: Cluster) -> int:
    """How many of the large apply's objects the appliance holds."""
    if cluster.dialect == "bigip":
        nodes = (await cluster.adc_state())["objects"]["ltm/node"]
        return len([node for node in nodes if node["name"].startswith("k8s-e2e-bulk-")])
    return len(await cluster.domains() & {f"h{i:03}.bulk.example.com" for i in range(BULK)})


@pytest.mark.slow
@DIALECTS
async def test_sigkill_in_the_middle_of_a_large_apply(tmp_path: Path, dialect: str) -> None:
    hosts = PUBLISHED | {f"h{i:03}.bulk.example.com" for i in range(BULK)}
    total = BULK if dialect == "reference" else BULK_NODES
    env = MATRIX_ENV | ({} if dialect == "reference" else bigip_matrix.ENV)
    async with matrix(tmp_path, seed=bulk_seed(tmp_path, dialect), dialect=dialect) as (cluster, foreign):
        seeded = await cluster.last_change()
        path, kind = SLOW_KIND[dialect]
        slow = {
            "kind": "latency",
            "latency_ms": 60 if dialect == "reference" else 150,
            "path": path,
            "methods": ["POST"],
        }
        await cluster.mock("POST", "faults", {"rules": [slow]})
        async with bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=env) as first:

            async def some_written() -> bool:
                changes = await cluster.adc_changes(seeded)
                return len([change for change in changes if change["kind"] == kind]) >= 60

            await until(some_written, seconds=30, what="the first 60 objects written")
            first.process.kill()
            assert await first.stop() == -signal.SIGKILL
        done = await written(cluster)
        print(f"killed with {done} of {total} objects written")
        assert 0 < done < total - 50, "the kill did not land in the middle of the apply"

        await cluster.mock("DELETE", "faults")
        async with bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=env) as second:
            nodes = tuple(NODE_IPS.items()) + (bulk_nodes() if dialect == "bigip" else ())
            expected = Expected(hosts=hosts, nodes=nodes)
            await assert_settled(
                cluster, expected=[expected], foreign=foreign, bridges=[second], since=seeded, seconds=40
            )
            changes = [change for change in await cluster.adc_changes(seeded) if cluster.succeeded(change)]
            assert [change for change in changes if change["method"] == "DELETE"] == []
            posts = [change for change in changes if change["method"] == "POST"]
            created = [(change["kind"], change.get("path"), change["name"]) for change in posts]
            assert len(created) == len(set(created)), "an object was created twice"


# ---------------------------------------------------------------------------- 9. leader killed


async def test_the_leader_killed_the_standby_takes_over_never_two_writers(tmp_path: Path) -> None:
    async with (
        matrix(tmp_path) as (cluster, foreign),
        bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=MATRIX_ENV) as one,
        bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-2", env=MATRIX_ENV) as two,
    ):
        bridges = {"bridge-1": one, "bridge-2": two}
        await until(lambda: _has_holder(cluster, bridges), what="a leader elected")
        leader = bridges[await cluster.lease_holder()]
        standby = two if leader is one else one
        await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[leader], resync=False)
        assert await cluster.ready(standby) == (200, f"standby (leader: {leader.identity})\n")
        await cluster.create_ingress("while-led", "shop", "while-led.example.com")
        await until(lambda: cluster.resolves("while-led.example.com"), what="the leader publishing")
        assert await cluster.metric_sum(standby, "adcbridge_adc_requests_total") == 0, "the standby used the ADC"
        assert await cluster.metric_sum(standby, "adcbridge_operations_total") == 0
        assert await cluster.metric(standby, "adcbridge_leader") == 0.0

        leader.process.kill()  # kill -9: no release; the standby must wait the lease out
        killed = time.monotonic()
        assert await leader.stop() == -signal.SIGKILL
        await cluster.create_ingress("after", "web", "after.example.com")

        async def took_over() -> bool:
            return await cluster.metric(standby, "adcbridge_leader") == 1.0

        took = await until(took_over, seconds=10, what="the standby taking over")
        lease = await cluster.kube_call("GET", LEASE)
        assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]) == (standby.identity, 1)
        elapsed = time.monotonic() - killed
        print(f"{standby.identity} took over {elapsed:.2f} s after the kill (polled {took:.2f} s)")
        assert elapsed <= 3 + 1.1 + 1.0, "takeover slower than the lease duration plus one retry period"
        expected = Expected(hosts=PUBLISHED | {"while-led.example.com", "after.example.com"})
        await assert_settled(cluster, expected=[expected], foreign=foreign, bridges=[standby])


async def _has_holder(cluster: Cluster, bridges: dict[str, Any]) -> bool:
    return await cluster.lease_holder() in bridges


# ---------------------------------------------------------------------------- 10. the source empties


# What empties on each appliance. The reference publishes a domain per host: every object claiming
# a host deleted at once. A BIG-IP's LTM holds no hosts: two of the three nodes deleted at once (two
# nodes and their four members).
GONE_NODES = ("node-b", "node-c")
HELD_BACK = {"reference": len(PUBLISHED), "bigip": len(GONE_NODES) * 3}


async def empty_the_source(cluster: Cluster) -> None:
    if cluster.dialect == "bigip":
        await asyncio.gather(*(cluster.kube_call("DELETE", f"/api/v1/nodes/{node}") for node in GONE_NODES))
        return
    await asyncio.gather(
        *(
            cluster.kube_call("DELETE", f"{api}/namespaces/{ns}/{plural}/{name}")
            for api, ns, plural, name in HOST_CLAIMS
        )
    )


def emptied(dialect: str) -> tuple[Expected, set[str]]:
    """What the appliance holds once the deletions are let through, and the names deleted."""
    if dialect == "bigip":
        kept = tuple((node, ip) for node, ip in NODE_IPS.items() if node not in GONE_NODES)
        gone = {f"k8s-e2e-{node}" for node in GONE_NODES}
        gone |= {f"k8s-e2e-{node}:{port}" for node in GONE_NODES for port in (30080, 30443)}
        return Expected(nodes=kept), gone
    return Expected(hosts=frozenset()), set(PUBLISHED)


@pytest.mark.slow
@DIALECTS
async def test_mass_deletion_is_held_back_and_reported(tmp_path: Path, dialect: str) -> None:
    guard = MATRIX_ENV | {"ADCBRIDGE_LIMITS__MAX_DELETES": "5", "ADCBRIDGE_RECONCILE__BATCH_WINDOW_SECONDS": "1"}
    async with matrix(tmp_path, dialect=dialect) as (cluster, foreign):
        guard |= cluster.dialect_env
        async with bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=guard) as bridge:
            await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], resync=False)
            mark = await cluster.last_change()
            await empty_the_source(cluster)
            count = HELD_BACK[dialect]

            async def held_back() -> bool:
                return await cluster.metric(bridge, "adcbridge_held_back_deletions") == count

            await until(held_back, what=f"the {count} deletions held back")
            status, text = await cluster.ready(bridge)
            assert status == 200, "held-back deletions are reported, not a reason to be unready"
            ready = "ready" if dialect == "reference" else f"ready (ADC active unit {cluster.adc_url})"
            assert text == f"{ready}; {count} deletion(s) held back: more than the limit of 5 per cycle\n", text
            selector = "involvedObject.kind=Service,reason=DeletionsHeldBack"
            namespace, _ = KIC_SERVICE

            async def evented() -> bool:
                events = await cluster.kube_call(
                    "GET", f"/api/v1/namespaces/{namespace}/events", params={"fieldSelector": selector}
                )
                return len(events["items"]) == 1

            await until(evented, what="a DeletionsHeldBack Event on the KIC Service")
            await assert_settled(cluster, expected=[Expected()], foreign=foreign, bridges=[bridge], since=mark)
            assert await deletes(cluster, mark) == set()

        # The operator looks, agrees, and lets the deletions through.
        released = MATRIX_ENV | cluster.dialect_env | {"ADCBRIDGE_LIMITS__MAX_DELETES": "1000"}
        after, gone = emptied(dialect)
        async with bridge_process(cluster.adc_url, cluster.kubeconfig, "bridge-1", env=released) as bridge:
            await assert_settled(cluster, expected=[after], foreign=foreign, bridges=[bridge], since=mark)
            assert await deletes(cluster, mark) == gone


# ---------------------------------------------------------------------------- 11. two owners, one ADC


def other_cluster_seed(tmp_path: Path) -> Path:
    """The demo cluster as another cluster: its own node addresses and hosts."""
    seed = tmp_path / "seed-b"
    seed.mkdir()
    for file in DEMO_SNAPSHOT.glob("*.yaml"):
        text = file.read_text().replace("example.com", "example.org").replace("10.0.0.1", "10.0.1.1")
        (seed / file.name).write_text(text)
    return seed


# Two owners on one appliance. On a BIG-IP both bridges write in the one partition ``k8s``, told
# apart by their markers alone: each lists the other's pools, members and virtual servers among its
# own and must leave them be (a partition each would keep them apart by the partition filter, and
# prove less; a unit allows both). A unit holds a node address once per route domain across every
# partition, so two clusters bring distinct node addresses, as here. (With the same addresses, the
# second bridge's members would use the first one's nodes in a shared partition, or report them as
# conflicts from a partition of its own: ``tests/test_bigip_specifics.py``.) Each cluster then shrinks:
# B loses a node; A loses a host where the appliance publishes names (the reference), a node on a
# BIG-IP (its LTM holds no hosts).
DELETED: dict[str, set[str]] = {
    "reference": {
        "static.example.com",
        "k8s-cluster-b-80-tcp/k8s-cluster-b-node-c:30080",
        "k8s-cluster-b-443-tcp/k8s-cluster-b-node-c:30443",
        "k8s-cluster-b-node-c",
    },
    "bigip": {
        f"k8s-{owner}-{node}{port}"
        for owner, node in (("e2e", "node-b"), ("cluster-b", "node-c"))
        for port in ("", ":30080", ":30443")
    },
    "acos": {  # as the unit's change log names them: a member by its group, server and port
        name
        for owner, node in (("e2e", "node-b"), ("cluster-b", "node-c"))
        for name in (
            f"k8s-{owner}-{node}",
            *(
                f"k8s-{owner}-{port}-tcp/k8s-{owner}-{node}+{node_port}"
                for port, node_port in ((80, 30080), (443, 30443))
            ),
        )
    },
}


@pytest.mark.slow
@WITH_ACOS
async def test_two_owners_share_one_adc_and_never_touch_each_other(tmp_path: Path, dialect: str) -> None:
    b_nodes = tuple((name, ip.replace("10.0.0.", "10.0.1.")) for name, ip in NODE_IPS.items())
    b_hosts = frozenset(host.replace("example.com", "example.org") for host in PUBLISHED)
    b_kubeconfig = tmp_path / "kubeconfig-b"
    async with (
        matrix(tmp_path, dialect=dialect) as (cluster, foreign),
        fake_kube_process("--seed", str(other_cluster_seed(tmp_path)), "--kubeconfig-out", str(b_kubeconfig)) as b_kube,
    ):
        fast_drain = MATRIX_ENV | cluster.dialect_env | {"ADCBRIDGE_NODES__DRAIN_GRACE_SECONDS": "0"}
        b_env = fast_drain | {"ADCBRIDGE_VIP__ADDRESSES": '["192.0.2.20"]'}
        async with (
            bridge_process(cluster.adc_url, cluster.kubeconfig, "a-1", env=fast_drain) as a,
            bridge_process(cluster.adc_url, b_kubeconfig, "b-1", owner="cluster-b", env=b_env) as b,
        ):
            expect_a = Expected()
            expect_b = Expected(hosts=b_hosts, nodes=b_nodes, owner="cluster-b", vip="192.0.2.20")
            await assert_settled(cluster, expected=[expect_a, expect_b], foreign=foreign, bridges=[a, b])
            mark = await cluster.last_change()

            # Each cluster shrinks, and each bridge deletes only its own.
            expect_a = await shrink_a(cluster)
            response = await cluster.http.delete(b_kube.url + "/api/v1/nodes/node-c")
            assert response.is_success, response.text
            expect_b = Expected(hosts=b_hosts, nodes=b_nodes[:2], owner="cluster-b", vip="192.0.2.20")
            await assert_settled(cluster, expected=[expect_a, expect_b], foreign=foreign, bridges=[a, b], since=mark)
            assert await deletes(cluster, mark) == DELETED[dialect]


async def shrink_a(cluster: Cluster) -> Expected:
    """Cluster A loses a host (the reference) or node-b (a BIG-IP, an ACOS unit); what A asks for then."""
    if cluster.dialect in ("bigip", "acos"):
        await cluster.kube_call("DELETE", "/api/v1/nodes/node-b")
        return Expected(nodes=tuple((node, ip) for node, ip in NODE_IPS.items() if node != "node-b"))
    await cluster.delete_ingress("static", "web")
    return Expected(hosts=PUBLISHED - {"static.example.com"})
