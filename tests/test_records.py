"""The zone planner (pure): ownership by marker, zones by label boundary, guards and policies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adcbridge.model import DeleteLimits
from adcbridge.records import NameRecords, RecordAction, normalised, plan_records, zone_of

MARK = "managed-by=adcbridge;owner=c1"
OTHER = "managed-by=adcbridge;owner=c2"
ZONES = ("example.com", "apps.example.com")
VIP = ("192.0.2.10",)


def ours(name: str, *addresses: str, ttl: int = 300) -> NameRecords:
    return NameRecords(name, normalised(addresses or VIP), ttl, (MARK,))


def plan(wanted: dict[str, tuple[str, ...]], observed: dict[str, NameRecords], **options: object):  # type: ignore[no-untyped-def]
    return plan_records(wanted, observed, zones=ZONES, marker=MARK, ttl=300, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("shop.example.com", "example.com"),
        ("example.com", "example.com"),
        ("a.apps.example.com", "apps.example.com"),  # the longest zone wins
        ("*.apps.example.com", "apps.example.com"),
        ("fooexample.com", None),  # a suffix is not a zone: labels are
        ("shop.example.org", None),
    ],
)
def test_zone_of_is_by_whole_labels(name: str, zone: str | None) -> None:
    assert zone_of(name, ZONES) == zone


def test_new_names_are_created_with_the_marker_in_their_zone() -> None:
    result = plan({"shop.example.com": VIP, "a.apps.example.com": VIP}, {})
    assert [(c.action, c.zone, c.name) for c in result.changes] == [
        (RecordAction.CREATE, "apps.example.com", "a.apps.example.com"),
        (RecordAction.CREATE, "example.com", "shop.example.com"),
    ]
    assert result.changes[0].want == ours("a.apps.example.com")


def test_unchanged_names_make_no_change_and_changed_ones_an_update_with_the_old_records() -> None:
    observed = {
        "same.example.com": ours("same.example.com"),
        "moved.example.com": ours("moved.example.com", "192.0.2.99"),
    }
    result = plan({"same.example.com": VIP, "moved.example.com": VIP}, observed)
    assert [(c.action, c.name) for c in result.changes] == [(RecordAction.UPDATE, "moved.example.com")]
    assert result.changes[0].have == observed["moved.example.com"]  # the prerequisite


def test_a_ttl_change_rewrites_our_records() -> None:
    result = plan({"shop.example.com": VIP}, {"shop.example.com": ours("shop.example.com", ttl=60)})
    assert [c.action for c in result.changes] == [RecordAction.UPDATE]


def test_names_of_others_are_conflicts_and_never_touched() -> None:
    observed = {
        "theirs.example.com": NameRecords("theirs.example.com", VIP, 300, ()),
        "bridge2.example.com": NameRecords("bridge2.example.com", VIP, 300, (OTHER,)),
        "gone.example.com": NameRecords("gone.example.com", ("192.0.2.1",), 300, ()),  # not wanted, not ours
    }
    result = plan({"theirs.example.com": VIP, "bridge2.example.com": VIP}, observed)
    assert result.changes == ()
    assert [(c.name, c.reason) for c in result.conflicts] == [
        ("bridge2.example.com", f"held by another owner ({OTHER})"),
        ("theirs.example.com", "records without our marker"),
    ]


def test_a_name_marked_by_another_owner_is_neither_updated_nor_deleted() -> None:
    observed = {
        "ours.example.com": ours("ours.example.com"),  # withdrawn: the one deletion
        "wanted.example.com": NameRecords("wanted.example.com", ("198.51.100.2",), 60, (OTHER,)),
        "unwanted.example.com": NameRecords("unwanted.example.com", ("198.51.100.3",), 300, (OTHER,)),
    }
    result = plan({"wanted.example.com": VIP}, observed)
    assert [(c.action, c.name) for c in result.changes] == [(RecordAction.DELETE, "ours.example.com")]
    assert (result.held_back, result.hold_reason) == ((), "")
    assert [(c.name, c.reason) for c in result.conflicts] == [
        ("wanted.example.com", f"held by another owner ({OTHER})")
    ]


def test_our_names_no_longer_wanted_are_deleted_and_names_in_no_zone_reported() -> None:
    result = plan({"shop.example.org": VIP}, {"old.example.com": ours("old.example.com")})
    assert [(c.action, c.name, c.have) for c in result.changes] == [
        (RecordAction.DELETE, "old.example.com", ours("old.example.com"))
    ]
    assert result.unzoned == ("shop.example.org",)


def test_deletions_wait_for_a_complete_view_and_respect_the_limits() -> None:
    observed = {f"n{i}.example.com": ours(f"n{i}.example.com") for i in range(20)}
    held = plan({}, observed, complete=False)
    assert (held.changes, len(held.held_back)) == ((), 20)
    assert "incomplete" in held.hold_reason
    limited = plan({}, observed, limits=DeleteLimits(max_count=5))
    assert (limited.changes, len(limited.held_back)) == ((), 20)
    some = plan({f"n{i}.example.com": VIP for i in range(15)}, observed)
    assert len(some.changes) == 5  # 25% of our names: within the 50% share


@pytest.mark.parametrize(("policy", "actions"), [("sync", 3), ("upsert-only", 2), ("create-only", 1)])
def test_policies_limit_what_changes(policy: str, actions: int) -> None:
    observed = {"old.example.com": ours("old.example.com"), "moved.example.com": ours("moved.example.com", "192.0.2.9")}
    result = plan({"new.example.com": VIP, "moved.example.com": VIP}, observed, policy=policy)
    assert len(result.changes) == actions


def test_dual_stack_addresses_compare_as_normalised_sets() -> None:
    have = NameRecords("ds.example.com", normalised(["2001:db8:0::10", "192.0.2.10"]), 300, (MARK,))
    result = plan({"ds.example.com": ("192.0.2.10", "2001:DB8::10")}, {"ds.example.com": have})
    assert result.empty


NAMES = st.sampled_from([f"{label}.example.com" for label in "abcdefgh"] + ["x.example.org", "fooexample.com"])
FOREIGN_MARKERS = st.sampled_from([(), (OTHER,)])  # someone else's records, or another bridge's


@given(
    wanted=st.dictionaries(NAMES, st.just(VIP)),
    owned=st.sets(NAMES),
    foreign=st.dictionaries(NAMES, FOREIGN_MARKERS),
)
def test_applying_the_plan_gives_exactly_the_wanted_names_and_leaves_others_alone(
    wanted: dict[str, tuple[str, ...]], owned: set[str], foreign: dict[str, tuple[str, ...]]
) -> None:
    owned = {name for name in owned if zone_of(name, ZONES)}  # a zone shows only its own names
    others = {name: markers for name, markers in foreign.items() if zone_of(name, ZONES) and name not in owned}
    observed = {name: ours(name, "192.0.2.1") for name in owned}
    observed |= {name: NameRecords(name, ("198.51.100.1",), 300, markers) for name, markers in others.items()}
    result = plan(wanted, observed)
    zone = dict(observed)
    for change in result.changes:  # a faithful server applies the changes
        if change.action is RecordAction.DELETE:
            del zone[change.name]
        else:
            assert change.want is not None
            zone[change.name] = change.want
    mine = {name for name, have in zone.items() if MARK in have.markers}
    assert mine == {name for name in wanted if zone_of(name, ZONES) and name not in others}
    assert {name: zone.get(name) for name in others} == {name: observed[name] for name in others}
    assert plan(wanted, zone).empty
