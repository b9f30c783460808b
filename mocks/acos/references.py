"""What objects name one another, checked on every write and every delete.

A member names a server of its partition; a service group, a server or a server port may
name a health monitor (``health-check``), and a virtual port a service group and a NAT
``pool``. A name that does not resolve is refused, so a missing monitor is an error the
client sees at once rather than a silently unmonitored pool. Monitors and NAT pools are
looked up in the object's partition, then in ``shared``; servers and service groups only in
the object's own partition. Deleting an object that something still names is refused
(``InUse``): a client must unbind before it deletes. Each partition counts the names its
objects use, updated on every write, so the check costs the same for ten objects as for
ten thousand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from mocks.acos import errors
from mocks.acos.kinds import (
    MEMBER,
    MONITOR,
    NAT_POOL,
    SERVER,
    SERVER_PORT,
    SERVICE_GROUP,
    TOP_LEVEL,
    VIRTUAL_PORT,
    Kind,
    path_of,
)
from mocks.acos.store import SHARED, Config, Partition, Record


def _exists(config: Config, partition: Partition, path: str, name: str, *, shared_too: bool) -> bool:
    if (name,) in partition.table(path):
        return True
    return shared_too and (name,) in config.partitions[SHARED].table(path)


def check(config: Config, partition: Partition, kind: Kind, record: Record) -> None:
    """Every name ``record`` (and its children) uses resolves; else the unit's refusal."""
    fields = record.fields
    monitor = fields.get("health-check")
    monitored = kind in (SERVER, SERVER_PORT, SERVICE_GROUP) and monitor is not None
    if monitored and not _exists(config, partition, "health/monitor", str(monitor), shared_too=True):
        raise errors.not_found(f"{MONITOR.title} {monitor}")
    if kind is MEMBER and not _exists(config, partition, "slb/server", fields["name"], shared_too=False):
        raise errors.not_found(f"server {fields['name']}")
    if kind is VIRTUAL_PORT:
        group, pool = fields.get("service-group"), fields.get("pool")
        if group is not None and not _exists(config, partition, "slb/service-group", group, shared_too=False):
            raise errors.not_found(f"service-group {group}")
        if pool is not None and not _exists(config, partition, "ip/nat/pool", pool, shared_too=True):
            raise errors.not_found(f"{NAT_POOL.title} {pool}")
    for child in kind.children:
        for item in record.children.get(child.list_key, {}).values():
            check(config, partition, child, item)


def named_by(kind: Kind, record: Record) -> Counter[tuple[str, str]]:
    """The (top-level path, name) pairs ``record`` and its children name."""
    named: Counter[tuple[str, str]] = Counter()
    fields = record.fields
    if kind in (SERVER, SERVER_PORT, SERVICE_GROUP) and fields.get("health-check") is not None:
        named["health/monitor", fields["health-check"]] += 1
    if kind is MEMBER:
        named["slb/server", fields["name"]] += 1
    if kind is VIRTUAL_PORT:
        for field, path in (("service-group", "slb/service-group"), ("pool", "ip/nat/pool")):
            if fields.get(field) is not None:
                named[path, fields[field]] += 1
    for child in kind.children:
        for item in record.children.get(child.list_key, {}).values():
            named.update(named_by(child, item))
    return named


def uses(partition: Partition) -> Counter[tuple[str, str]]:
    """The partition's name counts, built from its objects the first time."""
    if partition.uses is None:
        counted: Counter[tuple[str, str]] = Counter()
        for path, table in partition.tables.items():
            for record in table.values():
                counted.update(named_by(TOP_LEVEL[path], record))
        partition.uses = counted
    return partition.uses


def track(partition: Partition, kind: Kind, old: Record | None, new: Record | None) -> None:
    """Account for ``old`` replaced by ``new`` (either None for a create or a delete)."""
    if partition.uses is None:
        return
    if old is not None:
        partition.uses.subtract(named_by(kind, old))
    if new is not None:
        partition.uses.update(named_by(kind, new))


def users(config: Config, partition: Partition, kind: Kind, name: str) -> Iterator[str]:
    """Who names the top-level object ``name`` of ``kind`` in ``partition`` (as "type name")."""
    path = path_of(kind)
    scope = config.partitions.values() if partition.name == SHARED and kind in (MONITOR, NAT_POOL) else [partition]
    for place in scope:
        if place is not partition and (name,) in place.table(path):
            continue  # that partition has its own object of this name
        if uses(place)[path, name] > 0:
            yield from _describe(place, path, name)


def _describe(partition: Partition, path: str, name: str) -> Iterator[str]:
    """The objects of ``partition`` that name ``name`` of ``path`` (a scan: only for the message)."""
    for top, table in partition.tables.items():
        for key, record in table.items():
            if named_by(TOP_LEVEL[top], record)[path, name] > 0:
                yield f"{top.rsplit('/', 1)[-1]} {key[0]}"
