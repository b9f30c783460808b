"""Names in a standard DNS zone (the RFC 2136 target): what we want, what the zone holds, the changes. Pure.

The ADC side plans objects (``planner.py``); a zone holds records, so it gets its own small
planner with the same rules, decided here without I/O (``dns/rfc2136.py`` observes and applies):

- **Ownership by a companion TXT record.** A zone has no description field, so every name we
  publish also carries a TXT record with our marker (``managed-by=adcbridge;owner=<id>``) at the
  same name. We update or delete only names with our marker; a name with addresses and no marker
  of ours (someone else's, or another bridge's marker) is a conflict, reported, never touched.
  Other TXT strings at the name (SPF, site verification) are not ours and are left alone.
- **Zones by label boundary.** A name belongs to the longest configured zone it is in by whole
  labels: ``shop.example.com`` is in ``example.com``, ``fooexample.com`` is not. A name in no
  zone is reported and skipped.
- **The same guards as the ADC.** Policies (``upsert-only`` never deletes, ``create-only`` only
  creates) and the deletion guard (``planner.hold_reason``: never while the cluster view is
  incomplete, and not beyond the count and share limits) apply to names as to ADC objects.

Addresses are compared as sets of normalised IPs (A and AAAA together); the TTL is part of the
wanted state, so a changed ``rfc2136.ttl`` rewrites our records.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from adcbridge.model import DeleteLimits, Policy
from adcbridge.planner import allowed_by_policy, hold_reason

MARKER_PREFIX = "managed-by=adcbridge;"


@dataclass(frozen=True)
class NameRecords:
    """What one owner name holds that concerns us: its addresses and the adcbridge markers on it."""

    name: str
    addresses: tuple[str, ...]  # A and AAAA values, normalised and sorted
    ttl: int
    markers: tuple[str, ...] = ()  # TXT strings that are adcbridge markers, ours or others'


class RecordAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class RecordChange:
    action: RecordAction
    zone: str
    name: str
    want: NameRecords | None  # None for a delete
    have: NameRecords | None  # None for a create; the prerequisite of updates and deletes


@dataclass(frozen=True)
class NameConflict:
    name: str
    reason: str


@dataclass(frozen=True)
class RecordPlan:
    changes: tuple[RecordChange, ...] = ()
    held_back: tuple[RecordChange, ...] = ()
    hold_reason: str = ""
    conflicts: tuple[NameConflict, ...] = ()
    unzoned: tuple[str, ...] = ()  # wanted names in no configured zone

    @property
    def empty(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class RecordResult:
    change: RecordChange
    outcome: str  # done | conflict | failed
    error: str = ""


@dataclass(frozen=True)
class RecordApplyReport:
    results: tuple[RecordResult, ...]
    messages: int  # UPDATE messages sent, retries included

    @property
    def failures(self) -> tuple[RecordResult, ...]:
        return tuple(result for result in self.results if result.outcome != "done")


def normalised(addresses: Iterable[str]) -> tuple[str, ...]:
    """Addresses as the zone will show them: compressed IPv6, sorted IPv4 before IPv6."""
    parsed = {ipaddress.ip_address(address) for address in addresses}
    return tuple(str(address) for address in sorted(parsed, key=lambda a: (a.version, int(a))))


def zone_of(name: str, zones: Iterable[str]) -> str | None:
    """The longest zone that ``name`` is in, by whole labels, or None."""
    inside = [zone for zone in zones if name == zone or name.endswith("." + zone)]
    return max(inside, key=len) if inside else None


def plan_records(
    wanted: Mapping[str, tuple[str, ...]],
    observed: Mapping[str, NameRecords],
    *,
    zones: Iterable[str],
    marker: str,
    ttl: int,
    policy: Policy = "sync",
    limits: DeleteLimits = DeleteLimits(),  # noqa: B008 - frozen value
    complete: bool = True,
) -> RecordPlan:
    """The changes that make the zones hold ``wanted`` (name -> addresses) for us, and nothing else of ours."""
    zones = tuple(zones)
    changes: list[RecordChange] = []
    conflicts: list[NameConflict] = []
    unzoned: list[str] = []
    for name in sorted(wanted):
        zone = zone_of(name, zones)
        if zone is None:
            unzoned.append(name)
            continue
        want = NameRecords(name, normalised(wanted[name]), ttl, (marker,))
        change, conflict = _compare(zone, want, observed.get(name), marker)
        changes += [change] if change else []
        conflicts += [conflict] if conflict else []
    ours = {name: have for name, have in observed.items() if marker in have.markers}
    changes += _deletions(ours, wanted, zones)
    allowed = allowed_by_policy(changes, policy)
    deletes = [change for change in allowed if change.action is RecordAction.DELETE]
    reason = hold_reason(len(deletes), len(ours), complete=complete, limits=limits)
    kept = [change for change in allowed if change.action is not RecordAction.DELETE] if reason else allowed
    return RecordPlan(tuple(kept), tuple(deletes) if reason else (), reason, tuple(conflicts), tuple(unzoned))


def _compare(
    zone: str, want: NameRecords, have: NameRecords | None, marker: str
) -> tuple[RecordChange | None, NameConflict | None]:
    if have is None:
        return RecordChange(RecordAction.CREATE, zone, want.name, want, None), None
    if marker not in have.markers:
        others = [other for other in have.markers if other != marker]
        reason = f"held by another owner ({others[0]})" if others else "records without our marker"
        return None, NameConflict(want.name, reason)
    if (have.addresses, have.ttl) == (want.addresses, want.ttl):
        return None, None
    return RecordChange(RecordAction.UPDATE, zone, want.name, want, have), None


def _deletions(
    ours: Mapping[str, NameRecords], wanted: Mapping[str, tuple[str, ...]], zones: tuple[str, ...]
) -> list[RecordChange]:
    deletions = []
    for name in sorted(set(ours) - set(wanted)):
        zone = zone_of(name, zones)
        if zone is not None:
            deletions.append(RecordChange(RecordAction.DELETE, zone, name, None, ours[name]))
    return deletions
