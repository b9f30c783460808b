"""The unit's configuration: every kind of object, created, changed and deleted by the
generic rules of ``kinds.py`` plus each kind's own.

The store knows nothing about HTTP. Each public write runs under ``Database.atomic``: a
failure anywhere (the object itself, an implicit node, a virtual address) leaves nothing
behind, and a transaction nests all its commands in one more such block. References are
indexed as they are written (table ``_refs``: who uses whom), so "in use" checks cost
one lookup however large the configuration grows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mocks.bigip import errors
from mocks.bigip.database import Database, Obj
from mocks.bigip.kinds import ObjectType, Ref
from mocks.bigip.names import split_path

REFS = "_refs"


def object_id(table: str, key: str, parent: str = "") -> str:
    return f"{table}\x1f{parent}\x1f{key}"


class Store:
    def __init__(self, types: dict[str, ObjectType], *, version: str) -> None:
        self.db = Database()
        self.types = types
        self.version = version

    # Partitions --------------------------------------------------------------------------

    def partitions(self) -> list[str]:
        return sorted(self.db.items("auth/partition"))

    def has_partition(self, name: str) -> bool:
        return self.db.get("auth/partition", name) is not None

    def require_partition(self, name: str) -> None:
        if not self.has_partition(name):
            raise errors.folder_missing(f"/{name}")

    # Reads -------------------------------------------------------------------------------

    def find(self, otype: ObjectType, key: str, parent: Obj | None = None) -> Obj | None:
        found: Obj | None = self.db.get(otype.table, key, parent=parent_key(parent))
        return found

    def records(self, otype: ObjectType, parent: Obj | None = None) -> list[Obj]:
        """The objects of a kind (under one parent), ordered by key as a unit lists them."""
        rows = self.db.items(otype.table, parent=parent_key(parent))
        return [rows[key] for key in sorted(rows)]

    def users(self, otype: ObjectType, record: Obj, parent: Obj | None) -> list[tuple[str, str]]:
        """(label, identity) of every object that uses this one, sorted."""
        me = object_id(otype.table, otype.key(record), parent_key(parent))
        return sorted((str(label), str(who)) for label, who in self.db.items(REFS, parent=me).values())

    def is_used(self, table: str, key: str) -> bool:
        return bool(self.db.items(REFS, parent=object_id(table, key)))

    # Writes ------------------------------------------------------------------------------

    def create(self, otype: ObjectType, body: Obj, *, parent: Obj | None = None) -> Obj:
        with self.db.atomic():
            partition, name = self.body_identity(otype, body, parent)
            if otype.partitioned:
                self.require_partition(partition)
            name = otype.check_name(self, partition, name, parent)
            record = otype.new_record(partition, name)
            if self.find(otype, otype.key(record), parent) is not None:
                raise errors.already_exists(otype.label, otype.identity(record, parent), partition)
            otype.accept(self, record, body, None)
            otype.finish(self, record, None, parent)
            self.save(otype, record, None, parent)
            otype.after_save(self, record, None, parent)
            return record

    def update(self, otype: ObjectType, current: Obj, body: Obj, *, parent: Obj | None = None) -> Obj:
        with self.db.atomic():
            record = dict(current)
            if not otype.accept(self, record, body, current):
                raise errors.no_properties()
            otype.finish(self, record, current, parent)
            self.save(otype, record, current, parent)
            otype.after_save(self, record, current, parent)
            return record

    def delete(self, otype: ObjectType, record: Obj, *, parent: Obj | None = None) -> None:
        with self.db.atomic():
            otype.check_delete(self, record, parent, self.users(otype, record, parent))
            for child in otype.children.values():
                for item in self.records(child, record):
                    self.delete(child, item, parent=record)
            me = object_id(otype.table, otype.key(record), parent_key(parent))
            for ref in otype.references(record, parent):
                self.db.put(REFS, me, None, parent=object_id(ref.table, ref.key, ref.parent))
            self.db.put(otype.table, otype.key(record), None, parent=parent_key(parent))
            self.db.next_generation()
            otype.after_delete(self, record, parent)

    def save(self, otype: ObjectType, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        """Store a new or changed record with a fresh generation, and index its references."""
        record["generation"] = self.db.next_generation()
        me = object_id(otype.table, otype.key(record), parent_key(parent))
        old = set(otype.references(current, parent)) if current is not None else set()
        new = set(otype.references(record, parent))
        for ref in old - new:
            self.db.put(REFS, me, None, parent=_ref_id(ref))
        who = [otype.label, otype.identity(record, parent)]
        for ref in new - old:
            self.db.put(REFS, me, who, parent=_ref_id(ref))
        self.db.put(otype.table, otype.key(record), record, parent=parent_key(parent))

    def body_identity(self, otype: ObjectType, body: Obj, parent: Obj | None) -> tuple[str, str]:
        """(partition, name) of an object to create, from ``name`` (``/P/name`` or bare) and
        ``partition`` (default: the kind's, Common for most)."""
        name, partition = body.get("name"), body.get("partition")
        if partition is not None and not isinstance(partition, str):
            raise errors.invalid_value("partition", partition)
        default = (partition or otype.default_partition(parent)).strip("/") or "Common"
        if not isinstance(name, str) or not name:
            raise errors.invalid_name(f"/{default}/" if otype.partitioned else "")
        if not otype.partitioned:
            return "", otype.short_name(name)
        folder, short = split_path(name, default_partition=default)
        if partition is not None and name.startswith("/") and folder != default:
            raise errors.bad_request(f"The partition ({partition}) does not match the name ({name}).")
        if "/" in short and name.startswith("/") and not otype.slash_in_name:
            raise errors.bad_request(f"The folder of {name} is a sub-folder: this unit models partitions only.")
        return folder, short

    # Whole configuration -----------------------------------------------------------------

    def walk(self) -> Iterator[tuple[ObjectType, Obj, Obj | None]]:
        """Every object of every kind (children after their parent)."""
        for otype in self.types.values():
            yield from self._walk(otype, None)

    def _walk(self, otype: ObjectType, parent: Obj | None) -> Iterator[tuple[ObjectType, Obj, Obj | None]]:
        for record in self.records(otype, parent):
            yield otype, record, parent
            for child in otype.children.values():
                yield from self._walk(child, record)

    def dump(self) -> dict[str, Any]:
        return {"generation": self.db.generation, "tables": self.db.tables}

    def load(self, saved: dict[str, Any]) -> None:
        self.db.tables = saved["tables"]
        self.db.generation = int(saved["generation"])


def parent_key(parent: Obj | None) -> str:
    return "" if parent is None else str(parent["fullPath"])


def _ref_id(ref: Ref) -> str:
    return object_id(ref.table, ref.key, ref.parent)
