"""The unit's configuration: partitions, and in each the objects of every top-level type.

An object is a ``Record``: the fields a client set (never a JSON null: a null unsets) and
its child lists, each keyed as in URLs so that a service group of thousands of members
is looked up, changed and checked in constant time. ``shared`` always exists (id 0);
other partitions are made through ``/axapi/v3/partition``. ``dump`` and ``load`` give the
JSON form of the state file and of ``/_mock/state``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mocks.acos.kinds import TOP_LEVEL, Key, Kind

SHARED = "shared"
MAX_PARTITION_ID = 1023


@dataclass
class Record:
    fields: dict[str, Any]
    children: dict[str, dict[Key, Record]] = field(default_factory=dict)
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def child_table(self, kind: Kind) -> dict[Key, Record]:
        return self.children.setdefault(kind.list_key, {})

    def copy(self) -> Record:
        children = {
            name: {key: record.copy() for key, record in table.items()} for name, table in self.children.items()
        }
        return Record(dict(self.fields), children, self.uuid)


@dataclass
class Partition:
    name: str
    id: int
    fields: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[Key, Record]] = field(default_factory=lambda: {path: {} for path in TOP_LEVEL})
    # How often each (top-level path, name) is named by the partition's objects; built on first
    # use and kept up to date by every write (``references.uses``), so "in use" costs O(1).
    uses: Counter[tuple[str, str]] | None = field(default=None, repr=False)

    def table(self, path: str) -> dict[Key, Record]:
        return self.tables[path]

    def empty(self) -> bool:
        return not any(self.tables.values())


class Config:
    """Every partition of the unit, ``shared`` first."""

    def __init__(self) -> None:
        self.partitions: dict[str, Partition] = {SHARED: Partition(SHARED, 0)}

    def free_id(self) -> int | None:
        used = {partition.id for partition in self.partitions.values()}
        return next((number for number in range(1, MAX_PARTITION_ID + 1) if number not in used), None)

    def dump(self) -> dict[str, Any]:
        return {name: dump_partition(partition) for name, partition in self.partitions.items()}

    def load(self, saved: dict[str, Any]) -> None:
        partitions = {name: load_partition(name, value) for name, value in saved.items()}
        if SHARED not in partitions:
            raise ValueError("the saved configuration has no shared partition")
        self.partitions = partitions


def dump_partition(partition: Partition) -> dict[str, Any]:
    return {
        "id": partition.id,
        "fields": partition.fields,
        "objects": {
            path: [dump_record(record) for record in table.values()] for path, table in partition.tables.items()
        },
    }


def dump_record(record: Record) -> dict[str, Any]:
    children = {name: [dump_record(child) for child in table.values()] for name, table in record.children.items()}
    return {"fields": record.fields, "children": children, "uuid": record.uuid}


def load_partition(name: str, saved: dict[str, Any]) -> Partition:
    partition = Partition(name, int(saved["id"]), dict(saved.get("fields", {})))
    for path, records in saved["objects"].items():
        kind = TOP_LEVEL[path]
        partition.tables[path] = {kind.key_of(item["fields"]): load_record(kind, item) for item in records}
    return partition


def load_record(kind: Kind, saved: dict[str, Any]) -> Record:
    record = Record(dict(saved["fields"]), uuid=str(saved["uuid"]))
    for name, items in saved.get("children", {}).items():
        child = next(child for child in kind.children if child.list_key == name)
        record.children[name] = {child.key_of(item["fields"]): load_record(child, item) for item in items}
    return record
