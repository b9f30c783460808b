"""What objects name one another, checked on every write and every delete.

A member names a server of its partition; a service group, a server or a server port may
name a health monitor (``health-check``), and a virtual port a service group and a NAT
``pool``. A name that does not resolve is refused, so a missing monitor is an error the
client sees at once rather than a silently unmonitored pool. Monitors and NAT pools are
looked up in the object's partition, then in ``shared``; servers and service groups only in
the object's own partition. Deleting an object that something still names is refused
(``InUse``): a client must unbind before it deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mocks.acos import errors
from mocks.acos.kinds import MEMBER, MONITOR, NAT_POOL, SERVER, SERVER_PORT, SERVICE_GROUP, VIRTUAL_PORT, Kind
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


def users(config: Config, partition: Partition, kind: Kind, name: str) -> Iterator[str]:
    """Who names the top-level object ``name`` of ``kind`` in ``partition`` (as "type name")."""
    if kind is SERVER:
        for group_key, group in partition.table("slb/service-group").items():
            if any(key[0] == name for key in group.children.get(MEMBER.list_key, {})):
                yield f"service-group {group_key[0]}"
    elif kind is SERVICE_GROUP:
        yield from _vports_naming(partition, "service-group", name)
    elif kind in (MONITOR, NAT_POOL):
        field = "health-check" if kind is MONITOR else "pool"
        scope = config.partitions.values() if partition.name == SHARED else [partition]
        for place in scope:
            if place.name != partition.name and _exists(config, place, _path(kind), name, shared_too=False):
                continue  # that partition has its own object of this name
            yield from _naming(place, field, name)


def _path(kind: Kind) -> str:
    return "health/monitor" if kind is MONITOR else "ip/nat/pool"


def _naming(partition: Partition, field: str, name: str) -> Iterator[str]:
    for path in ("slb/server", "slb/service-group"):
        for key, record in partition.table(path).items():
            if record.fields.get(field) == name or _any_child(record, field, name):
                yield f"{path.removeprefix('slb/')} {key[0]}"
    yield from _vports_naming(partition, field, name)


def _vports_naming(partition: Partition, field: str, name: str) -> Iterator[str]:
    for key, record in partition.table("slb/virtual-server").items():
        if _any_child(record, field, name):
            yield f"virtual-server {key[0]}"


def _any_child(record: Record, field: str, name: Any) -> bool:
    return any(child.fields.get(field) == name for table in record.children.values() for child in table.values())
