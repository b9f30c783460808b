"""The planner: tables for each rule, then properties over random worlds.

Every plan that should do something is also applied to ``tests/fake_adc.py``, which refuses
what the appliance refuses, and the test asserts on the state that results.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from adcbridge.desired import build_desired
from adcbridge.model import (
    Action,
    AdcDomain,
    AdcMember,
    AdcNode,
    AdcObject,
    AdcPool,
    AdcState,
    AdcVserver,
    Conflict,
    DeleteLimits,
    DesiredState,
    Kind,
    Operation,
    Plan,
    Policy,
)
from adcbridge.planner import hold_reason, owned, plan
from adcbridge.presenting import plan_table
from tests.builders import (
    CARRIED,
    CONFIGS,
    MARK,
    OTHER_MARK,
    OWNER,
    VIP4,
    VIP6,
    adc_domain,
    adc_member,
    adc_node,
    adc_pool,
    adc_vserver,
    node,
    settings,
    snapshot,
    snapshots,
)
from tests.fake_adc import FakeAdc, copy_state, foreign

N1 = adc_node("k8s-c1-n1", "10.0.0.1")
N2 = adc_node("k8s-c1-n2", "10.0.0.2")
P80 = adc_pool("k8s-c1-80-tcp")
M1 = adc_member(P80.name, N1.name, 30080)
M2 = adc_member(P80.name, N2.name, 30080)
V80 = adc_vserver("k8s-c1-192.0.2.10-80-tcp", "192.0.2.10:80", P80.name)
D = adc_domain("www.example.com")
FULL = (N1, N2, P80, M1, M2, V80, D)

P443 = adc_pool("k8s-c1-443-tcp")
M443 = adc_member(P443.name, N1.name, 30443)
V443 = adc_vserver("k8s-c1-192.0.2.10-443-tcp", "192.0.2.10:443", P443.name)
D2 = adc_domain("api.example.com")

NEVER_HOLD = DeleteLimits(max_count=10**9, max_percent=100.0)


def want(
    *objects: AdcObject, slb_known: bool = True, complete: bool = True, keep_only: tuple[str, ...] = ()
) -> DesiredState:
    return DesiredState(AdcState.of(list(objects)), slb_known, complete, keep_only=frozenset(keep_only))


def planned(desired: DesiredState, *observed: AdcObject, **options: Any) -> Plan:
    return plan(desired, AdcState.of(list(observed)), OWNER, **options)


def steps(result: Plan | tuple[Operation, ...]) -> list[tuple[str, str]]:
    operations = result.operations if isinstance(result, Plan) else result
    return [(op.action.value, op.ref) for op in operations]


def applied(result: Plan, *observed: AdcObject) -> FakeAdc:
    """Apply ``result`` to an appliance holding ``observed``; foreign objects must come out unchanged."""
    fake = FakeAdc(AdcState.of(list(observed)))
    before = foreign(fake.state, OWNER)
    fake.apply(result)
    assert foreign(fake.state, OWNER) == before
    return fake


def ours(fake: FakeAdc) -> AdcState:
    return owned(fake.state, OWNER)


# ---------------------------------------------------------------------------- no churn

ALIEN = (
    adc_node("admin-n9", "10.9.9.9", description=""),
    adc_pool("admin-pool", description=OTHER_MARK),
    adc_member("admin-pool", "admin-n9", 8080, description=""),
    adc_vserver("admin-vs", "192.0.2.99:80", "admin-pool", description=""),
    adc_domain("other.example.com", description=OTHER_MARK),
)


def _dual_stack() -> DesiredState:
    snap = snapshot(nodes=[node("n1", "10.0.0.1", ipv6="fd00::1"), node("n2", "10.0.0.2")], hosts=["a.example.com"])
    return build_desired(snap, settings(vip={"addresses": [VIP4, VIP6]}))


@pytest.mark.parametrize(
    ("desired", "extra"),
    [
        pytest.param(want(*FULL), (), id="full"),
        pytest.param(want(*FULL), ALIEN, id="full-with-foreign"),
        pytest.param(want(D, slb_known=False), (N1, P80, M1), id="domains-only-slb-unknown"),
        pytest.param(want(), ALIEN, id="nothing-ours"),
        pytest.param(_dual_stack(), ALIEN, id="dual-stack-built"),
        pytest.param(want(*FULL, complete=False), (), id="incomplete"),
    ],
)
def test_no_churn_when_observed_matches_desired(desired: DesiredState, extra: tuple[AdcObject, ...]) -> None:
    observed = [*extra, *(obj for kind in Kind for obj in desired.objects.of_kind(kind).values())]

    result = planned(desired, *observed)

    assert result == Plan()
    assert result.empty
    assert result.converged


# ---------------------------------------------------------------------------- order


def test_creates_run_in_dependency_order() -> None:
    result = planned(want(*FULL))

    assert steps(result) == [
        ("create", "node:k8s-c1-n1"),
        ("create", "node:k8s-c1-n2"),
        ("create", "pool:k8s-c1-80-tcp"),
        ("create", "member:k8s-c1-80-tcp/k8s-c1-n1:30080"),
        ("create", "member:k8s-c1-80-tcp/k8s-c1-n2:30080"),
        ("create", "vserver:k8s-c1-192.0.2.10-80-tcp"),
        ("create", "domain:www.example.com"),
    ]
    assert {op.ref: op.needs for op in result.operations if op.needs} == {
        "member:k8s-c1-80-tcp/k8s-c1-n1:30080": ("node:k8s-c1-n1", "pool:k8s-c1-80-tcp"),
        "member:k8s-c1-80-tcp/k8s-c1-n2:30080": ("node:k8s-c1-n2", "pool:k8s-c1-80-tcp"),
        "vserver:k8s-c1-192.0.2.10-80-tcp": ("pool:k8s-c1-80-tcp",),
    }
    assert [op.obj for op in result.operations] == list(FULL)
    assert ours(applied(result)) == AdcState.of(FULL)


def test_deletes_run_in_reverse_after_all_creates() -> None:
    result = planned(want(N1, P443, M443, V443, D2), *FULL)

    assert steps(result) == [
        ("create", "pool:k8s-c1-443-tcp"),
        ("create", "member:k8s-c1-443-tcp/k8s-c1-n1:30443"),
        ("create", "vserver:k8s-c1-192.0.2.10-443-tcp"),
        ("create", "domain:api.example.com"),
        ("delete", "domain:www.example.com"),
        ("delete", "vserver:k8s-c1-192.0.2.10-80-tcp"),
        ("delete", "pool:k8s-c1-80-tcp"),  # its members go with it: no member deletes
        ("delete", "node:k8s-c1-n2"),
    ]
    needs = {op.ref: op.needs for op in result.operations if op.action is Action.DELETE}
    assert needs == {
        "domain:www.example.com": (),
        "vserver:k8s-c1-192.0.2.10-80-tcp": (),
        "pool:k8s-c1-80-tcp": ("vserver:k8s-c1-192.0.2.10-80-tcp",),
        "node:k8s-c1-n2": ("pool:k8s-c1-80-tcp",),
    }
    assert [op.obj for op in result.operations if op.action is Action.DELETE] == [D, V80, P80, N2]
    assert ours(applied(result, *FULL)) == AdcState.of([N1, P443, M443, V443, D2])


def test_member_and_node_deletes_in_a_kept_pool() -> None:
    result = planned(want(N1, P80, M1, V80), *FULL)

    assert steps(result) == [
        ("delete", "domain:www.example.com"),
        ("delete", "member:k8s-c1-80-tcp/k8s-c1-n2:30080"),
        ("delete", "node:k8s-c1-n2"),
    ]
    assert result.operations[2].needs == ("member:k8s-c1-80-tcp/k8s-c1-n2:30080",)
    assert ours(applied(result, *FULL)) == AdcState.of([N1, P80, M1, V80])


# ---------------------------------------------------------------------------- updates


@pytest.mark.parametrize(
    ("current", "wanted", "changes"),
    [
        pytest.param(replace(N1, enable=False), N1, ("enable",), id="node-enable"),
        pytest.param(
            replace(N1, description=MARK + ";note=x"), N1, ("description",), id="node-marker-with-extra-field"
        ),
        pytest.param(replace(P80, method="lc", healthcheck=("tcp",)), P80, ("method", "healthcheck"), id="pool"),
        pytest.param(replace(M1, weight=5, enable=False), M1, ("weight", "enable"), id="member"),
        pytest.param(replace(M1, description="by hand"), M1, ("description",), id="member-description"),
        pytest.param(replace(V80, pool=P443.name, protocol="http"), V80, ("protocol", "pool"), id="vserver"),
        pytest.param(replace(V80, vip="192.0.2.10:81"), V80, ("vip",), id="vserver-vip"),
        pytest.param(replace(D, ttl=60, addresses=(VIP4, "192.0.2.11")), D, ("addresses", "ttl"), id="domain"),
        pytest.param(replace(D, type="A+AAAA", addresses=(VIP4, VIP6)), D, ("type", "addresses"), id="domain-type"),
    ],
)
def test_updates_list_the_changed_fields(current: AdcObject, wanted: AdcObject, changes: tuple[str, ...]) -> None:
    observed = [obj for obj in (*FULL, P443) if obj.key != current.key or obj.kind != current.kind] + [current]
    desired = want(*FULL, P443)

    result = planned(desired, *observed)

    assert [(op.action, op.obj, op.changes) for op in result.operations] == [(Action.UPDATE, wanted, changes)]
    assert ours(applied(result, *observed)) == desired.objects


# ---------------------------------------------------------------------------- ownership

FOREIGN_DESCRIPTIONS = [
    pytest.param("", id="unmarked"),
    pytest.param(OTHER_MARK, id="other-owner"),
    pytest.param("managed-by=other-tool;owner=c1", id="other-tool"),
    pytest.param("owner=c1", id="owner-only"),
]


@pytest.mark.parametrize("description", FOREIGN_DESCRIPTIONS)
@pytest.mark.parametrize(
    ("taken", "conflicts", "left_out"),
    [
        pytest.param(
            replace(D, addresses=("192.0.2.99",)),
            [Conflict(Kind.DOMAIN, "www.example.com", "name taken by a domain we do not own")],
            {"domain:www.example.com"},
            id="domain",
        ),
        pytest.param(
            adc_node("k8s-c1-n1", "10.9.9.9"),
            [Conflict(Kind.NODE, "k8s-c1-n1", "name taken by a node we do not own")],
            {"node:k8s-c1-n1", "member:k8s-c1-80-tcp/k8s-c1-n1:30080"},
            id="node",
        ),
        pytest.param(
            adc_pool("k8s-c1-80-tcp", method="lc"),
            [
                Conflict(Kind.POOL, "k8s-c1-80-tcp", "name taken by a pool we do not own"),
                Conflict(Kind.VSERVER, "k8s-c1-192.0.2.10-80-tcp", "its pool k8s-c1-80-tcp is not ours"),
            ],
            {
                "pool:k8s-c1-80-tcp",
                "member:k8s-c1-80-tcp/k8s-c1-n1:30080",
                "member:k8s-c1-80-tcp/k8s-c1-n2:30080",
                "vserver:k8s-c1-192.0.2.10-80-tcp",
            },
            id="pool",
        ),
        pytest.param(
            adc_vserver("k8s-c1-192.0.2.10-80-tcp", "192.0.2.99:80", "admin-pool"),
            [Conflict(Kind.VSERVER, "k8s-c1-192.0.2.10-80-tcp", "name taken by a vserver we do not own")],
            {"vserver:k8s-c1-192.0.2.10-80-tcp"},
            id="vserver",
        ),
    ],
)
def test_a_desired_name_held_by_someone_else_is_a_conflict(
    taken: AdcObject, conflicts: list[Conflict], left_out: set[str], description: str
) -> None:
    intruder = replace(taken, description=description)
    observed = [adc_pool("admin-pool", description=""), intruder]

    result = planned(want(*FULL), *observed)

    assert result.conflicts == tuple(conflicts)
    refs = [op.ref for op in result.operations]
    assert all(op.action is Action.CREATE for op in result.operations)
    assert set(refs) == {f"{obj.kind.label}:{obj.key}" for obj in FULL} - left_out
    fake = applied(result, *observed)
    assert fake.state.of_kind(intruder.kind)[intruder.key] == intruder
    assert not result.converged
    assert plan(want(*FULL), fake.state, OWNER).operations == ()


@pytest.mark.parametrize("description", FOREIGN_DESCRIPTIONS)
def test_foreign_objects_are_never_deleted_or_updated(description: str) -> None:
    pool = adc_pool("admin-pool", description=description)
    observed = [
        adc_node("admin-n1", "10.9.9.1", description=description),
        pool,
        adc_member(pool.name, "admin-n1", 8080, description=MARK),  # our marker, but not in our pool
        adc_vserver("admin-vs", "192.0.2.99:80", pool.name, description=description),
        adc_domain("other.example.com", description=description),
    ]

    for desired in (want(), want(D), want(*FULL)):
        result = planned(desired, *observed)
        assert {op.ref for op in result.operations} == {
            f"{obj.kind.label}:{obj.key}" for kind in Kind for obj in desired.objects.of_kind(kind).values()
        }
        assert all(op.action is Action.CREATE for op in result.operations)
        applied(result, *observed)


def test_members_of_our_pools_are_ours_whatever_their_description() -> None:
    strays = [
        adc_member(P80.name, N2.name, 30080, description=""),
        adc_member(P80.name, N2.name, 31000, description=OTHER_MARK),
    ]
    observed = [N1, N2, P80, M1, V80, *strays]

    result = planned(want(N1, N2, P80, M1, M2, V80), *observed)

    assert steps(result) == [
        ("update", "member:k8s-c1-80-tcp/k8s-c1-n2:30080"),  # unmarked, but in our pool: ours to fix
        ("delete", "member:k8s-c1-80-tcp/k8s-c1-n2:31000"),
    ]
    assert result.operations[0].changes == ("description",)
    assert ours(applied(result, *observed)) == AdcState.of([N1, N2, P80, M1, M2, V80])


# ---------------------------------------------------------------------------- unique values


def test_a_node_ip_held_by_a_foreign_node_is_reused() -> None:
    theirs = adc_node("admin-n1", "10.0.0.1", description="", enable=False)

    result = planned(want(*FULL), theirs)

    assert ("create", "node:k8s-c1-n1") not in steps(result)
    members = {op.obj: op.needs for op in result.operations if op.obj.kind is Kind.MEMBER}
    assert members == {
        adc_member(P80.name, "admin-n1", 30080): ("pool:k8s-c1-80-tcp",),  # the reused node needs no operation
        M2: ("node:k8s-c1-n2", "pool:k8s-c1-80-tcp"),
    }
    assert result.conflicts == ()
    fake = applied(result, theirs)
    assert fake.state.nodes["admin-n1"] == theirs
    assert plan(want(*FULL), fake.state, OWNER) == Plan()


def test_a_node_ip_held_by_a_foreign_node_we_may_not_use_is_a_conflict() -> None:
    theirs = replace(adc_node("/tenant/n1", "10.0.0.1", description=""), shared=False)

    result = planned(want(*FULL), theirs)

    assert not any("k8s-c1-n1" in ref or "/tenant/n1" in ref for _, ref in steps(result))
    assert [op.obj for op in result.operations if op.obj.kind is Kind.MEMBER] == [M2]
    assert result.conflicts == (
        Conflict(Kind.NODE, "k8s-c1-n1", "10.0.0.1 is held by /tenant/n1, which we may not use"),
    )
    fake = applied(result, theirs)
    assert fake.state.nodes["/tenant/n1"] == theirs
    assert plan(want(*FULL), fake.state, OWNER).operations == ()


def test_a_node_ip_held_by_a_stale_node_of_ours_is_reused_and_kept() -> None:
    old = adc_node("k8s-c1-old", "10.0.0.1")
    observed = [old, P80, adc_member(P80.name, old.name, 30080), V80, D]

    result = planned(want(*FULL), *observed)

    assert steps(result) == [
        ("create", "node:k8s-c1-n2"),
        ("create", "member:k8s-c1-80-tcp/k8s-c1-n2:30080"),
    ]
    fake = applied(result, *observed)
    assert set(fake.state.nodes) == {"k8s-c1-old", "k8s-c1-n2"}
    assert plan(want(*FULL), fake.state, OWNER) == Plan()


def test_a_vip_held_by_a_foreign_vserver_is_a_conflict() -> None:
    theirs = adc_vserver("admin-vs", "192.0.2.10:80", "admin-pool", description="")
    udp = adc_vserver("admin-udp", "192.0.2.10:443", "admin-pool", protocol="udp", description="")
    observed = [adc_pool("admin-pool", description=""), theirs, udp]

    result = planned(want(*FULL, P443, V443), *observed)

    assert result.conflicts == (Conflict(Kind.VSERVER, V80.name, "192.0.2.10:80/tcp is held by admin-vs"),)
    assert ("create", f"vserver:{V443.name}") in steps(result)  # same VIP, other protocol: no clash
    assert ("create", f"vserver:{V80.name}") not in steps(result)
    fake = applied(result, *observed)
    assert fake.state.vservers["admin-vs"] == theirs


def test_a_vip_held_by_our_old_vserver_waits_for_its_deletion() -> None:
    old = adc_vserver("k8s-c1-old-80", "192.0.2.10:80", P80.name)
    observed = [N1, N2, P80, M1, M2, old, D]

    first = planned(want(*FULL), *observed)

    assert steps(first) == [("delete", "vserver:k8s-c1-old-80")]
    assert first.conflicts == ()
    fake = applied(first, *observed)
    second = plan(want(*FULL), fake.state, OWNER)
    assert steps(second) == [("create", f"vserver:{V80.name}")]
    fake.apply(second)
    assert ours(fake) == AdcState.of(FULL)
    assert plan(want(*FULL), fake.state, OWNER) == Plan()


def _converged(desired: DesiredState, *observed: AdcObject) -> tuple[FakeAdc, list[list[tuple[str, str]]]]:
    """Plan and apply until the plan is empty (at most four rounds); the steps of each plan."""
    fake, rounds = FakeAdc(AdcState.of(list(observed))), []
    before = foreign(fake.state, OWNER)
    for _ in range(4):
        result = plan(desired, fake.state, OWNER)
        if result.empty:
            assert foreign(fake.state, OWNER) == before
            return fake, rounds
        rounds.append(steps(result))
        fake.apply(result)
    raise AssertionError(f"no fixed point: {rounds}")


def test_a_node_ip_given_up_by_another_node_of_ours_is_taken_next_cycle() -> None:
    moved = replace(N2, ip="10.0.0.1")  # n2 had n1's address; n1 now has it and n2 a new one
    observed = [moved, P80, adc_member(P80.name, N2.name, 30080), V80, D]

    fake, rounds = _converged(want(*FULL), *observed)

    assert rounds == [
        [  # n2 is replaced on its new address; n1 waits: its address is free only once n2 is deleted
            ("delete", f"member:{M2.key}"),
            ("delete", "node:k8s-c1-n2"),
            ("create", "node:k8s-c1-n2"),
            ("create", f"member:{M2.key}"),
        ],
        [("create", "node:k8s-c1-n1"), ("create", "member:k8s-c1-80-tcp/k8s-c1-n1:30080")],
    ]
    assert ours(fake) == AdcState.of(FULL)


def test_nodes_of_ours_that_swapped_ips_are_recreated() -> None:
    observed = [replace(N1, ip="10.0.0.2"), replace(N2, ip="10.0.0.1"), P80, M1, M2, V80, D]

    fake, rounds = _converged(want(*FULL), *observed)

    assert rounds == [
        [
            ("delete", f"member:{M1.key}"),
            ("delete", f"member:{M2.key}"),
            ("delete", "node:k8s-c1-n1"),
            ("delete", "node:k8s-c1-n2"),
        ],
        [
            ("create", "node:k8s-c1-n1"),
            ("create", "node:k8s-c1-n2"),
            ("create", f"member:{M1.key}"),
            ("create", f"member:{M2.key}"),
        ],
    ]
    assert ours(fake) == AdcState.of(FULL)


def test_a_reused_stale_node_of_ours_is_enabled() -> None:
    old = adc_node("k8s-c1-old", "10.0.0.1", description=MARK + ";note=x", enable=False)

    fake, rounds = _converged(want(*FULL), old)

    assert ("update", "node:k8s-c1-old") in rounds[0]
    assert fake.state.nodes["k8s-c1-old"] == adc_node("k8s-c1-old", "10.0.0.1")
    assert {member.node for member in fake.state.members.values()} == {"k8s-c1-old", "k8s-c1-n2"}


@pytest.mark.parametrize(
    ("theirs", "kept"),
    [
        pytest.param(adc_member("admin-pool", N2.name, 8080, description=""), N2, id="node-in-their-pool"),
        pytest.param(adc_vserver("admin-vs", "192.0.2.99:80", "k8s-c1-old-pool", description=""), None, id="pool"),
    ],
)
def test_what_others_use_of_ours_is_not_deleted(theirs: AdcObject, kept: AdcObject | None) -> None:
    stale_pool = adc_pool("k8s-c1-old-pool")
    observed = [*FULL, adc_pool("admin-pool", description=""), stale_pool, theirs]
    desired = want(N1, P80, M1, V80, D)

    fake, rounds = _converged(desired, *observed)

    assert fake.state.of_kind(theirs.kind)[theirs.key] == theirs
    if kept is not None:  # our node n2 stays while their member uses it
        assert fake.state.nodes[N2.name] == N2
        assert ("delete", "node:k8s-c1-n2") not in rounds[0]
    else:  # our stale pool stays while their virtual server uses it
        assert fake.state.pools[stale_pool.name] == stale_pool
        assert ("delete", "pool:k8s-c1-old-pool") not in rounds[0]
    assert ("delete", f"member:{M2.key}") in rounds[0]


@pytest.mark.parametrize("existing", [True, False])
def test_draining_members_on_a_reused_node_are_kept_disabled_never_created(existing: bool) -> None:
    theirs = adc_node("admin-n3", "10.0.0.3", description="")
    on_theirs = adc_member(P80.name, theirs.name, 30080)  # created while n3 was fit
    observed = [*FULL, theirs, *([on_theirs] if existing else [])]

    fake, rounds = _converged(DRAINING, *observed)

    if existing:
        assert rounds == [[("update", f"member:{on_theirs.key}")]]
        assert fake.state.members[on_theirs.key] == replace(on_theirs, enable=False)
    else:
        assert rounds == []
        assert on_theirs.key not in fake.state.members


def test_a_reused_foreign_node_named_like_a_draining_node_of_ours() -> None:
    theirs = adc_node("k8s-c1-n3", "10.0.0.1", description="")  # holds n1's address, under n3's name
    observed = [theirs, P80, V80]

    fake, rounds = _converged(DRAINING, *observed)

    assert fake.state.members == {
        f"{P80.name}/k8s-c1-n3:30080": adc_member(P80.name, "k8s-c1-n3", 30080),  # n1's member: enabled
        M2.key: M2,
    }
    assert fake.state.nodes == {theirs.name: theirs, N2.name: N2}
    assert len(rounds) == 1


# ---------------------------------------------------------------------------- address changes

MOVED = replace(N1, ip="10.0.0.9")  # n1 as the appliance holds it; the cluster now gives it 10.0.0.1
ON_BOTH_POOLS = (*FULL, P443, M443, V443)


def test_a_node_whose_address_changed_is_replaced_with_its_members_in_one_cycle() -> None:
    observed = [obj for obj in ON_BOTH_POOLS if obj != N1] + [MOVED]

    result = planned(want(*ON_BOTH_POOLS), *observed)

    assert steps(result) == [
        ("delete", f"member:{M443.key}"),
        ("delete", f"member:{M1.key}"),
        ("delete", "node:k8s-c1-n1"),
        ("create", "node:k8s-c1-n1"),
        ("create", f"member:{M443.key}"),
        ("create", f"member:{M1.key}"),
    ]
    assert [op.needs for op in result.operations] == [
        (),
        (),
        (f"member:{M443.key}", f"member:{M1.key}"),
        ("node:k8s-c1-n1",),  # its own deletion
        ("node:k8s-c1-n1",),
        ("node:k8s-c1-n1",),
    ]
    assert [op.replacing for op in result.operations] == [True, True, True, True, False, False]
    assert result.operations[2].obj == MOVED
    assert result.operations[3].obj == N1
    fake = applied(result, *observed)
    assert ours(fake) == AdcState.of(list(ON_BOTH_POOLS))
    assert plan(want(*ON_BOTH_POOLS), fake.state, OWNER).empty


def test_the_plan_table_a_dry_run_prints_marks_a_replace() -> None:
    result = planned(want(*FULL), *(obj for obj in FULL if obj != N1), MOVED)

    rows = [line.split() for line in plan_table(result).splitlines()[1:]]

    assert [row[:2] + row[3:6] for row in rows] == [
        ["delete", "member", "replace", "(address", "changed)"],
        ["delete", "node", "replace", "(address", "changed)"],
        ["create", "node", "replace", "(address", "changed)"],
        ["create", "member", "node=k8s-c1-n1", "port=30080", "weight=1"],
    ]
    assert "ip=10.0.0.1" in rows[2]


def test_a_replace_is_neither_counted_nor_held_by_the_deletion_guard() -> None:
    """Its deletions are created again in the same plan: an incomplete view or a tight limit holds back the
    real deletions (here a stale domain), never a replace."""
    observed = [obj for obj in FULL if obj != N1] + [MOVED, STALE]
    desired = want(*FULL, complete=False)

    result = planned(desired, *observed, limits=DeleteLimits(max_count=0))

    assert result.hold_reason == "1 deletion(s) held back: the cluster view is incomplete"
    assert steps(result.held_back) == [("delete", "domain:old.example.com")]
    assert steps(result) == [
        ("delete", f"member:{M1.key}"),
        ("delete", "node:k8s-c1-n1"),
        ("create", "node:k8s-c1-n1"),
        ("create", f"member:{M1.key}"),
    ]
    assert ours(applied(result, *observed)) == AdcState.of([*FULL, STALE])


def test_a_replace_under_a_complete_view_and_a_count_limit_holds_only_real_deletions() -> None:
    observed = [obj for obj in FULL if obj != N1] + [MOVED, STALE]

    result = planned(want(*FULL), *observed, limits=DeleteLimits(max_count=0))

    assert result.hold_reason == "1 deletion(s) held back: more than the limit of 0 per cycle"
    assert steps(result.held_back) == [("delete", "domain:old.example.com")]
    assert ("delete", "node:k8s-c1-n1") in steps(result)


def test_a_moved_node_that_pools_of_others_use_keeps_its_address_and_is_a_conflict() -> None:
    theirs = (adc_pool("admin-pool", description=""), adc_member("admin-pool", N1.name, 8080, description=""))
    observed = [obj for obj in FULL if obj != N1] + [MOVED, *theirs]

    result = planned(want(*FULL), *observed)

    assert steps(result) == []
    assert result.conflicts == (
        Conflict(
            Kind.NODE, N1.name, "its address changes to 10.0.0.1, but pools we do not own use it: kept at 10.0.0.9"
        ),
    )


@pytest.mark.parametrize("shared", [True, False])
def test_a_moved_node_whose_new_address_a_foreign_node_holds_is_not_replaced(shared: bool) -> None:
    """Reuse (or a conflict) as for any desired node: our members move to the holder (or go), ours is deleted."""
    holder = replace(adc_node("admin-n1", N1.ip, description=""), shared=shared)
    observed = [obj for obj in FULL if obj != N1] + [MOVED, holder]

    result = planned(want(*FULL), *observed)

    assert not any(op.replacing for op in result.operations)
    assert ("delete", "node:k8s-c1-n1") in steps(result)
    assert ("create", "node:k8s-c1-n1") not in steps(result)
    on_holder = ("create", f"member:{P80.name}/admin-n1:30080")
    assert (on_holder in steps(result)) == shared
    assert bool(result.conflicts) == (not shared)
    assert foreign(applied(result, *observed).state, OWNER).nodes == {"admin-n1": holder}


# ---------------------------------------------------------------------------- policies and guards

STALE = adc_domain("old.example.com")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(
            "sync",
            [
                ("create", "domain:api.example.com"),
                ("delete", "node:k8s-c1-n1"),  # replaced: its address changed
                ("create", "node:k8s-c1-n1"),
                ("delete", "domain:old.example.com"),
            ],
            id="sync",
        ),
        pytest.param(
            "upsert-only",
            [("create", "domain:api.example.com"), ("delete", "node:k8s-c1-n1"), ("create", "node:k8s-c1-n1")],
            id="upsert-only",
        ),
        pytest.param("create-only", [("create", "domain:api.example.com")], id="create-only"),
    ],
)
def test_policies(policy: Policy, expected: list[tuple[str, str]]) -> None:
    observed = [replace(N1, ip="10.0.0.9"), STALE]

    result = planned(want(N1, D2), *observed, policy=policy)

    assert sorted(steps(result)) == sorted(expected)
    assert result.held_back == ()
    applied(result, *observed)


@pytest.mark.parametrize(
    ("stale", "kept", "complete", "limits", "reason"),
    [
        pytest.param(1, 0, False, DeleteLimits(), "1 deletion(s) held back: the cluster view is incomplete", id="view"),
        pytest.param(0, 3, False, DeleteLimits(), "", id="incomplete-without-deletes"),
        pytest.param(
            4,
            20,
            True,
            DeleteLimits(max_count=3),
            "4 deletion(s) held back: more than the limit of 3 per cycle",
            id="count",
        ),
        pytest.param(4, 20, True, DeleteLimits(max_count=4), "", id="count-at-limit"),
        pytest.param(
            10,
            5,
            True,
            DeleteLimits(),
            "10 deletion(s) held back: 67% of our 15 objects, over the limit of 50%",
            id="percent",
        ),
        pytest.param(10, 10, True, DeleteLimits(), "", id="percent-at-limit"),
        pytest.param(9, 0, True, DeleteLimits(), "", id="few-deletions-are-never-mass"),
        pytest.param(
            3,
            17,
            True,
            DeleteLimits(max_percent=10.0, percent_applies_from=3),
            "3 deletion(s) held back: 15% of our 20 objects, over the limit of 10%",
            id="custom-percent",
        ),
        pytest.param(0, 20, True, DeleteLimits(max_count=0, max_percent=0.0, percent_applies_from=0), "", id="none"),
    ],
)
def test_delete_guard(stale: int, kept: int, complete: bool, limits: DeleteLimits, reason: str) -> None:
    old = [adc_domain(f"old{index}.example.com") for index in range(stale)]
    keep = [adc_domain(f"keep{index}.example.com") for index in range(kept)]
    desired = want(*keep, D2, complete=complete)

    result = planned(desired, *old, *keep, limits=limits)

    assert result.hold_reason == reason
    assert steps(result)[0] == ("create", "domain:api.example.com")  # creates are never held
    deletes = sorted(("delete", f"domain:{obj.name}") for obj in old)
    if reason:
        assert steps(result.held_back) == deletes
        assert steps(result) == [("create", "domain:api.example.com")]
    else:
        assert result.held_back == ()
        assert steps(result)[1:] == deletes
    fake = applied(result, *old, *keep)
    assert len(fake.state.domains) == kept + 1 + (stale if reason else 0)


def test_hold_reason_directly() -> None:
    limits = DeleteLimits(max_count=5, max_percent=50.0, percent_applies_from=2)

    assert hold_reason(0, 0, complete=False, limits=limits) == ""
    assert hold_reason(1, 10, complete=True, limits=limits) == ""
    assert hold_reason(6, 100, complete=True, limits=limits).startswith("6 deletion(s) held back: more than")
    assert hold_reason(2, 3, complete=True, limits=limits) == (
        "2 deletion(s) held back: 67% of our 3 objects, over the limit of 50%"
    )
    assert hold_reason(2, 0, complete=True, limits=limits).startswith("2 deletion(s) held back: 200%")


def test_slb_unknown_leaves_slb_objects_alone_while_domains_sync() -> None:
    observed = [replace(N1, ip="10.0.0.9"), N2, P80, M1, M2, replace(V80, enable=False), STALE]
    desired = want(D2, slb_known=False)

    result = planned(desired, *observed)

    assert steps(result) == [("create", "domain:api.example.com"), ("delete", "domain:old.example.com")]
    fake = applied(result, *observed)
    assert ours(fake) == AdcState.of([*observed[:-1], D2])


# ---------------------------------------------------------------------------- draining

N3 = adc_node("k8s-c1-n3", "10.0.0.3")
M3 = adc_member(P80.name, N3.name, 30080, enable=False)
DRAINING = want(*FULL, N3, M3, keep_only=("node:k8s-c1-n3", f"member:{M3.key}"))


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        pytest.param((N3, replace(M3, enable=True)), [("update", f"member:{M3.key}")], id="kept-and-disabled"),
        pytest.param((N3, M3), [], id="already-disabled"),
        pytest.param((N3,), [], id="member-gone-not-recreated"),
        pytest.param((), [], id="never-created"),
        pytest.param((replace(N3, enable=False), M3), [("update", "node:k8s-c1-n3")], id="node-still-updated"),
        pytest.param((replace(N3, ip="10.0.0.33"), M3), [], id="node-keeps-its-address"),
    ],
)
def test_draining_objects_are_kept_if_they_exist_and_never_created(
    present: tuple[AdcObject, ...], expected: list[tuple[str, str]]
) -> None:
    observed = [*FULL, *present]

    result = planned(DRAINING, *observed)

    assert steps(result) == expected
    fake = applied(result, *observed)
    assert {key for key in fake.state.members if N3.name in key} == {M3.key} & {
        obj.key for obj in present if obj.kind is Kind.MEMBER
    }
    assert all(not member.enable for key, member in fake.state.members.items() if N3.name in key)
    assert (N3.name in fake.state.nodes) == bool(present)


def test_a_fit_node_reusing_a_foreign_node_may_take_the_key_of_a_draining_member() -> None:
    """Found by the property test: a foreign node named like our draining node holds our fit node's IP.
    Our fit node's member moves to the foreign node (reuse) and so gets the draining member's key; it is
    created, enabled, because it is the fit node's member; the draining member itself never is."""
    foreign_n3 = adc_node(N3.name, N1.ip, description="")
    desired = want(
        N1, P80, adc_member(P80.name, N1.name, 30080), N3, M3, keep_only=(f"node:{N3.name}", f"member:{M3.key}")
    )

    result = planned(desired, foreign_n3)

    created = {op.ref: op.obj for op in result.operations if op.action.value == "create"}
    assert created[f"member:{M3.key}"] == replace(M3, enable=True)  # N1's member, on the node holding N1's IP
    assert f"node:{N1.name}" not in created
    assert f"node:{N3.name}" not in created


def test_draining_node_goes_once_out_of_desired() -> None:
    observed = [*FULL, N3, M3]

    result = planned(want(*FULL), *observed)

    assert steps(result) == [("delete", f"member:{M3.key}"), ("delete", "node:k8s-c1-n3")]
    assert result.operations[1].needs == (f"member:{M3.key}",)
    assert ours(applied(result, *observed)) == AdcState.of(FULL)


# ---------------------------------------------------------------------------- purity


def test_plan_is_deterministic_and_does_not_mutate_its_inputs() -> None:
    desired = want(N1, P443, M443, V443, D2, keep_only=("node:k8s-c1-n9",))
    observed = AdcState.of([*FULL, *ALIEN])
    before = (copy.deepcopy(desired), copy_state(observed))

    first = plan(desired, observed, OWNER)
    reordered = AdcState(
        nodes=dict(reversed(observed.nodes.items())),
        pools=dict(reversed(observed.pools.items())),
        members=dict(reversed(observed.members.items())),
        vservers=dict(reversed(observed.vservers.items())),
        domains=dict(reversed(observed.domains.items())),
    )

    assert plan(desired, observed, OWNER) == first
    assert plan(desired, reordered, OWNER) == first
    assert (desired, observed) == before
    assert list(observed.nodes) == list(before[1].nodes)


# ---------------------------------------------------------------------------- properties

DESCRIPTIONS_OURS = [MARK, MARK + ";note=drift"]
DESCRIPTIONS_FOREIGN = ["", OTHER_MARK, "managed-by=other-tool;owner=c1"]
CLUSTER_IPS = [f"10.0.0.{i}" for i in range(1, 6)] + [f"fd00::{i}" for i in range(1, 6)] + ["203.0.113.1"]
OUTSIDE_IPS = ["10.9.9.1", "10.9.9.2", "fd09::1", "fd09::2"]
NODE_PORTS = [30080, 30443, 30053, 30054, 31000]
VIPS = [VIP4, VIP6, "198.51.100.7"]
OUTSIDE_VIPS = ["192.0.2.10:9999", "[2001:db8::10]:9999", "192.0.2.99:80"]


def _all(state: AdcState) -> list[AdcObject]:
    return [obj for kind in Kind for obj in state.of_kind(kind).values()]


def _vips(ports: list[int]) -> list[str]:
    return [f"[{vip}]:{number}" if ":" in vip else f"{vip}:{number}" for vip in VIPS for number in ports]


def _drift(
    obj: AdcObject, *, hostile: bool, taken_ips: list[str], taken_vips: list[str]
) -> st.SearchStrategy[AdcObject]:
    """``obj`` with some fields changed; hostile drift may also hand it to someone else, or move it onto
    unique values (desired node IPs and VIPs) that other objects want."""
    descriptions = st.sampled_from(DESCRIPTIONS_OURS + (DESCRIPTIONS_FOREIGN if hostile else []))
    changes: dict[str, st.SearchStrategy[Any]] = {"description": descriptions, "enable": st.booleans()}
    if isinstance(obj, AdcNode):
        changes["ip"] = st.sampled_from(OUTSIDE_IPS + (taken_ips if hostile else []))
    elif isinstance(obj, AdcPool):
        changes |= {"method": st.sampled_from(["rr", "lc"]), "healthcheck": st.sampled_from([(), ("tcp",)])}
    elif isinstance(obj, AdcMember):
        changes["weight"] = st.integers(1, 3)
    elif isinstance(obj, AdcVserver):
        changes["vip"] = st.sampled_from(OUTSIDE_VIPS + (taken_vips if hostile else []))
        changes |= {"protocol": st.sampled_from(["tcp", "udp"])} if hostile else {}
    else:
        changes |= {"ttl": st.sampled_from([60, 300]), "addresses": st.sampled_from([(VIP4,), ("192.0.2.11",)])}
    return st.fixed_dictionaries({}, optional=changes).map(lambda fields: replace(obj, **fields))


def _stray(desired: DesiredState, *, hostile: bool) -> st.SearchStrategy[AdcObject]:
    """An object that is not desired: a stale one of ours, or (hostile) anyone's, possibly on desired names."""
    wanted = desired.objects

    def names(kind: Kind, stale: str) -> st.SearchStrategy[str]:
        return st.sampled_from([*(wanted.of_kind(kind) if hostile else []), *(f"{stale}{i}" for i in range(2))])

    node_names = st.sampled_from([*wanted.nodes, "k8s-c1-old0", "k8s-c1-old1", "admin-n0", "admin-n1"])
    pool_names = st.sampled_from([*wanted.pools, "k8s-c1-oldpool0", "admin-pool0"])
    descriptions = st.sampled_from(DESCRIPTIONS_OURS + (DESCRIPTIONS_FOREIGN if hostile else []))
    prefix = st.sampled_from(["k8s-c1-old", "admin-"]) if hostile else st.just("k8s-c1-old")
    return st.one_of(
        st.builds(
            AdcNode,
            prefix.map(lambda p: p + "n") | names(Kind.NODE, "k8s-c1-oldn"),
            st.sampled_from(OUTSIDE_IPS + (CLUSTER_IPS if hostile else [])),
            descriptions,
            st.booleans(),
        ),
        st.builds(AdcPool, names(Kind.POOL, "k8s-c1-oldpool") | st.just("admin-pool0"), description=descriptions),
        st.builds(AdcMember, pool_names, node_names, st.sampled_from(NODE_PORTS), st.integers(1, 2), descriptions),
        st.builds(
            AdcVserver,
            names(Kind.VSERVER, "k8s-c1-oldvs") | prefix.map(lambda p: p + "vs"),
            st.sampled_from(OUTSIDE_VIPS + (_vips([80, 443, 53]) if hostile else [])),
            st.sampled_from(["tcp", "udp"]),
            pool_names,
            descriptions,
        ),
        st.builds(
            AdcDomain,
            names(Kind.DOMAIN, "old.example.net") | st.just("www.example.com"),
            st.just("A"),
            st.just((VIP4,)),
            st.just(300),
            descriptions,
        ),
    )


def _squatter(obj: AdcNode | AdcVserver) -> st.SearchStrategy[AdcObject]:
    """Another object, ours or not, holding ``obj``'s unique value (node IP, VIP+protocol) under another name."""
    name = st.sampled_from([f"admin-{obj.name}", f"{obj.name}-old"])
    descriptions = st.sampled_from(DESCRIPTIONS_OURS + DESCRIPTIONS_FOREIGN)
    if isinstance(obj, AdcNode):
        return st.builds(AdcNode, name, st.just(obj.ip), descriptions, st.booleans())
    pools = st.sampled_from([obj.pool, "admin-pool0", "k8s-c1-oldpool0"])
    return st.builds(AdcVserver, name, st.just(obj.vip), st.just(obj.protocol), pools, descriptions, st.booleans())


@st.composite
def worlds(draw: st.DrawFn, *, hostile: bool) -> tuple[DesiredState, AdcState]:
    """A desired state from a random complete snapshot, and an appliance already holding things.

    Each desired object is absent, present as desired, or present drifted; stray objects are
    added. The appliance keeps only what it accepts, so the observed state always has
    referential integrity and unique values. Not hostile: everything is ours, drift keeps
    unique values (node IPs, VIPs) away from desired ones, and strays use other names and
    values. Hostile: foreign objects too, on desired names and values, ours drifted onto
    each other's IPs and VIPs, and squatters (ours or not) on desired IPs and VIPs.
    """
    config = draw(CONFIGS)
    desired = build_desired(draw(snapshots(st.just(True), rich=True)), config, unfit_since=draw(CARRIED))
    wanted = _all(desired.objects)
    ips = [adc_node.ip for adc_node in desired.objects.nodes.values()]
    vips = [vserver.vip for vserver in desired.objects.vservers.values()]
    candidates = []
    for obj in wanted:
        choice = draw(st.sampled_from(["absent", "as-desired", "as-desired", "drifted", "squatted"]))
        if choice == "as-desired":
            candidates.append(obj)
        elif choice == "squatted" and hostile and isinstance(obj, AdcNode | AdcVserver):
            candidates.append(draw(_squatter(obj)))
        elif choice == "drifted":
            candidates.append(draw(_drift(obj, hostile=hostile, taken_ips=ips, taken_vips=vips)))
    candidates += draw(st.lists(_stray(desired, hostile=hostile), max_size=10))
    fake = FakeAdc()
    for obj in sorted(draw(st.permutations(candidates)), key=lambda obj: obj.kind):
        fake.add(obj)
    return desired, fake.state


def _describe(state: AdcState) -> str:
    """One line per object, ``*`` marking ours: readable falsifying examples."""
    return "\n".join(
        f"  {'*' if OWNER.owns(getattr(obj, 'description', '')) else ' '} {obj.kind.label} {obj.key} "
        + " ".join(f"{k}={v}" for k, v in vars(obj).items() if k not in ("name", "description"))
        for obj in _all(state)
    )


def _converge(desired: DesiredState, fake: FakeAdc, rounds: int) -> list[Plan]:
    """Plan and apply until the plan is empty; every plan must apply and leave foreign objects as they were."""
    note(f"desired (keep_only {sorted(desired.keep_only)}):\n{_describe(desired.objects)}")
    note(f"observed:\n{_describe(fake.state)}")
    before = foreign(fake.state, OWNER)
    plans = []
    for _ in range(rounds):
        result = plan(desired, fake.state, OWNER, "sync", NEVER_HOLD)
        note(f"plan {len(plans) + 1}: {steps(result)} conflicts {result.conflicts}")
        plans.append(result)
        assert result.held_back == ()
        if result.empty:
            return plans
        fake.apply(result)
        assert foreign(fake.state, OWNER) == before
    raise AssertionError(f"no fixed point after {rounds} plans: {[steps(p) for p in plans]}")


def _draining_absent(desired: DesiredState, initial: AdcState) -> set[str]:
    """keep_only refs that did not exist as ours: never created."""
    return {ref for ref in desired.keep_only if ref.partition(":")[2] not in initial.of_kind(_kind(ref))}


def _draining_nodes_kept(desired: DesiredState, initial: AdcState) -> set[str]:
    """Draining nodes of ours that exist: they keep the address they have."""
    names = {ref.partition(":")[2] for ref in desired.keep_only if _kind(ref) is Kind.NODE}
    return {name for name in names if name in initial.nodes and name in desired.objects.nodes}


def _kind(ref: str) -> Kind:
    return next(kind for kind in Kind if kind.label == ref.partition(":")[0])


@hypothesis_settings(max_examples=150, deadline=None)
@given(world=worlds(hostile=False))
def test_property_without_collisions_owned_state_becomes_exactly_desired(world: tuple[DesiredState, AdcState]) -> None:
    desired, observed = world
    initial = owned(observed, OWNER)
    fake = FakeAdc(observed)

    plans = _converge(desired, fake, rounds=2)

    assert len(plans) <= 2  # one plan, then an empty one (or empty at once)
    assert all(not result.conflicts for result in plans)
    absent = _draining_absent(desired, initial)
    expected = copy_state(desired.objects)
    for ref in absent:
        del expected.of_kind(_kind(ref))[ref.partition(":")[2]]
    for name in _draining_nodes_kept(desired, initial):  # a draining node keeps its address
        expected.nodes[name] = replace(expected.nodes[name], ip=initial.nodes[name].ip)
    if desired.slb_known:
        assert owned(fake.state, OWNER) == expected
    else:
        final = owned(fake.state, OWNER)
        assert final.domains == expected.domains
        for kind in (Kind.NODE, Kind.POOL, Kind.MEMBER, Kind.VSERVER):
            assert final.of_kind(kind) == initial.of_kind(kind)


def _draining(desired: DesiredState, ref: str) -> object:
    """The draining object ``ref`` names, or None when ``ref`` is not draining."""
    if ref not in desired.keep_only:
        return None
    return desired.objects.of_kind(_kind(ref)).get(ref.partition(":")[2])


@hypothesis_settings(max_examples=150, deadline=None)
@given(world=worlds(hostile=True))
def test_property_with_foreign_objects_and_collisions(world: tuple[DesiredState, AdcState]) -> None:
    """Every plan applies, foreign objects stay byte for byte, and within four plans the state is desired, except:

    - conflicts (a desired name, or a VIP+protocol, held by someone else): left out, as the final plan reports;
    - reuse: a desired node whose IP another node holds is not created; our members use that node instead
      (so members are compared by pool, node IP, port and fields, not by node name);
    - draining objects are never created and may be gone (a draining node that had to wait for its IP);
    - what others' objects use of ours (a node in their pool, a pool under their vserver) stays as it was.
    Later plans only create what had to wait for a cycle (an IP or VIP another of ours gave up).
    """
    desired, observed = world
    others = foreign(observed, OWNER)
    fake = FakeAdc(observed)

    plans = _converge(desired, fake, rounds=4)

    creates = [op for result in plans for op in result.operations if op.action is Action.CREATE]
    assert all(op.action is Action.CREATE for result in plans[1:] for op in result.operations)
    # Draining: never created. A member of a fit node, renamed to the node that holds its IP, may take a draining
    # member's key; it is then a different object (another node's member, enabled), and creating it is right.
    assert not any(not op.obj.enable or op.obj == _draining(desired, op.ref) for op in creates)
    final_plan, final, wanted = plans[-1], owned(fake.state, OWNER), desired.objects
    conflicted = {(conflict.kind, conflict.key) for conflict in final_plan.conflicts}
    conflicted |= {(Kind.NODE, name) for name in others.nodes}  # reported only while the node is not draining

    def expected(kind: Kind, *, draining: bool = False) -> dict[str, Any]:
        return {
            key: obj
            for key, obj in wanted.of_kind(kind).items()
            if (kind, key) not in conflicted and (f"{kind.label}:{key}" in desired.keep_only) == draining
        }

    assert final.domains == expected(Kind.DOMAIN)
    if not desired.slb_known:
        for kind in (Kind.NODE, Kind.POOL, Kind.MEMBER, Kind.VSERVER):
            assert final.of_kind(kind) == owned(observed, OWNER).of_kind(kind)
        return
    ours_before = owned(observed, OWNER)
    pools_in_use = {
        vs.pool: ours_before.pools[vs.pool] for vs in others.vservers.values() if vs.pool in ours_before.pools
    }
    nodes_in_use = {m.node: ours_before.nodes[m.node] for m in others.members.values() if m.node in ours_before.nodes}
    # A draining node, or one others use, keeps its address: a replace would delete it.
    kept_at = {
        name: ours_before.nodes[name].ip for name in {*_draining_nodes_kept(desired, ours_before), *nodes_in_use}
    }
    kept_address = {name: replace(wanted.nodes[name], ip=ip) for name, ip in kept_at.items() if name in wanted.nodes}
    assert final.pools == pools_in_use | expected(Kind.POOL)
    assert final.vservers == expected(Kind.VSERVER)
    # Nodes: each desired one is there as desired, or its IP is held by another node, which our members use.
    holders = {adc_node.ip: adc_node.name for adc_node in fake.state.nodes.values()}
    for name, wanted_node in expected(Kind.NODE).items():
        if name in final.nodes:
            assert final.nodes[name] in (wanted_node, nodes_in_use.get(name))
        else:
            assert holders.get(wanted_node.ip) not in (None, name), f"{name} missing, and {wanted_node.ip} unused"
    desired_ips = {adc_node.ip for adc_node in wanted.nodes.values()}
    for name, kept in final.nodes.items():
        assert kept in (wanted.nodes.get(name), nodes_in_use.get(name), kept_address.get(name)) or (
            kept.ip in desired_ips
        ), name
    # Members, by what they mean (pool, node IP, port, fields): reuse changes only the node's name.
    ips = {name: kept_at.get(name, adc_node.ip) for name, adc_node in wanted.nodes.items()}

    def meanings(members: dict[str, AdcMember], nodes: dict[str, str]) -> set[tuple[Any, ...]]:
        return {(m.pool, nodes[m.node], m.port, m.weight, m.description, m.enable) for m in members.values()}

    def expected_members(*, draining: bool) -> dict[str, AdcMember]:
        members = expected(Kind.MEMBER, draining=draining).items()
        blocking = conflicted - {(Kind.NODE, name) for name in kept_address}  # kept, with their members
        return {k: m for k, m in members if {(Kind.POOL, m.pool), (Kind.NODE, m.node)}.isdisjoint(blocking)}

    got = meanings(final.members, {name: adc_node.ip for name, adc_node in fake.state.nodes.items()})
    fit = meanings(expected_members(draining=False), ips)
    assert fit <= got <= fit | meanings(expected_members(draining=True), ips)
    # A node of ours that carries our members is enabled, as every desired node is.
    assert all(final.nodes[m.node].enable for m in final.members.values() if m.node in final.nodes)


@hypothesis_settings(max_examples=60, deadline=None)
@given(world=worlds(hostile=True), policy=st.sampled_from(["sync", "upsert-only", "create-only"]))
def test_property_plan_is_deterministic_and_pure(world: tuple[DesiredState, AdcState], policy: Policy) -> None:
    desired, observed = world
    before = (copy.deepcopy(desired), copy_state(observed))

    first = plan(desired, observed, OWNER, policy)

    assert plan(desired, observed, OWNER, policy) == first
    assert (desired, observed) == before
    if policy != "sync":
        assert all(op.action is not Action.DELETE for op in first.operations)
    if policy == "create-only":
        assert all(op.action is Action.CREATE for op in first.operations)


def test_without_the_adc_dns_target_its_domains_are_left_alone() -> None:
    desired = replace(want(N1, N2, P80, M1, M2, V80), adc_dns=False)
    result = planned(desired, *FULL)  # our domain D is on the ADC, and no longer wanted there
    assert steps(result) == []  # the SLB side matches; the domain is not ours to remove now


def test_build_desired_keeps_the_names_for_every_target() -> None:
    from adcbridge.desired import build_desired
    from tests.builders import node, settings, snapshot

    view = snapshot(nodes=[node("n1", "10.0.0.1")], hosts=["www.example.com"])
    only_zones = build_desired(view, settings(dns={"targets": ["rfc2136"]}, rfc2136=RFC2136))
    assert (only_zones.adc_dns, only_zones.objects.domains, list(only_zones.names)) == (False, {}, ["www.example.com"])
    both = build_desired(view, settings(dns={"targets": ["adc", "rfc2136"]}, rfc2136=RFC2136))
    assert list(both.objects.domains) == list(both.names) == ["www.example.com"]


RFC2136 = {"server": "192.0.2.53:53", "zones": ["example.com"], "tsig_key_name": "k"}
