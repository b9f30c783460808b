"""Reading and writing configuration objects: GET, POST to a collection (create), POST to an
object (merge), PUT to an object (replace) and DELETE.

Bodies wrap the object in its type name, ``{"server": {...}}``, or a list of them in
``{"server-list": [...]}`` (a create of several, all or nothing). Keys use dashes: a key with
an underscore is refused as ACOS refuses an unknown attribute. A JSON ``null`` unsets a
field. A merge keeps what the body does not name and merges child lists entry by entry; a
replace keeps only what the body holds (children included). Every write builds the new
object whole, checks it and its references, and only then stores it, so a refused request
changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mocks.acos import errors, references, views
from mocks.acos.kinds import Key, Kind
from mocks.acos.paths import Target
from mocks.acos.store import Config, Partition, Record

FIXED = ("host", "server-ipv6-addr", "fqdn-name")  # "modify-not-allowed": delete and create instead


def read(partition: Partition, target: Target) -> dict[str, Any]:
    table = _table(partition, target, reading=True)
    kind = target.kind
    if target.key is None:
        if not table:
            raise errors.not_found(kind.title)  # UNCONFIRMED: an empty collection answers "does not exist"
        if target.view is not None:
            return {kind.list_key: [_view(kind, record, target) for record in table.values()]}
        base = target.url()
        return {
            kind.list_key: [views.render(kind, record, f"{base}/{kind.url_key(key)}") for key, record in table.items()]
        }
    record = _record(table, target)
    if target.view is not None:
        return {kind.wrapper: _view(kind, record, target)}
    return {kind.wrapper: views.render(kind, record, target.url())}


def _view(kind: Kind, record: Record, target: Target) -> dict[str, Any]:
    return views.oper(kind, record) if target.view == "oper" else views.stats(kind, record)


def create(config: Config, partition: Partition, target: Target, body: Any) -> list[Key]:
    """Create the body's object(s); returns their keys."""
    kind = target.kind
    table = _table(partition, target)
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in (kind.wrapper, kind.list_key):
        raise errors.json_format(f'the body must be {{"{kind.wrapper}": {{...}}}} or {{"{kind.list_key}": [...]}}')
    items = body.get(kind.list_key, [body.get(kind.wrapper)])
    if not isinstance(items, list) or not items:
        raise errors.json_format(f"{kind.list_key} must be a non-empty list")
    made: dict[Key, Record] = {}
    for item in items:
        record = build(kind, _object(kind, item))
        key = kind.key_of(record.fields)
        if key in table or key in made:
            raise errors.exists(kind.title)
        references.check(config, partition, kind, record)
        made[key] = record
    table.update(made)
    for record in made.values():
        references.track(partition, kind, None, record)
    return list(made)


def merge(config: Config, partition: Partition, target: Target, body: Any) -> None:
    table, key = _table(partition, target), _object_key(target)
    old = _record(table, target)
    fields = _object(target.kind, _unwrap(target.kind, body))
    record = merged(target.kind, old, fields)
    _same_key(target.kind, key, record)
    _unchanged(old, record)
    references.check(config, partition, target.kind, record)
    table[key] = record
    references.track(partition, target.kind, old, record)


def replace(config: Config, partition: Partition, target: Target, body: Any) -> None:
    table, key = _table(partition, target), _object_key(target)
    old = _record(table, target)
    record = build(target.kind, _object(target.kind, _unwrap(target.kind, body)), keep=key)
    record.uuid = old.uuid
    _same_key(target.kind, key, record)
    _unchanged(old, record)
    references.check(config, partition, target.kind, record)
    table[key] = record
    references.track(partition, target.kind, old, record)


def delete(config: Config, partition: Partition, target: Target) -> None:
    table, key = _table(partition, target), _object_key(target)
    old = _record(table, target)
    if not target.parents:
        user = next(references.users(config, partition, target.kind, key[0]), None)
        if user is not None:
            raise errors.in_use(f"{target.kind.title} {key[0]}", user)
    del table[key]
    references.track(partition, target.kind, old, None)


# Building records -------------------------------------------------------------------------------


def build(kind: Kind, fields: Mapping[str, Any], *, keep: Key | None = None) -> Record:
    """A new record from a body's object; ``keep`` fills the key fields a PUT body left out."""
    own = {name: value for name, value in fields.items() if value is not None and not _is_child_list(kind, name)}
    if keep is not None:
        for key_field, value in zip(kind.keys, keep, strict=True):
            own.setdefault(key_field.name, value)
    record = Record(own)
    for child in kind.children:
        items = fields.get(child.list_key)
        if items is None:
            continue
        table = record.child_table(child)
        for item in _list(child, items):
            built = build(child, _object(child, item))
            key = child.key_of(built.fields)
            if key in table:
                raise errors.exists(child.title)
            table[key] = built
    kind.key_of(record.fields)
    kind.check(_with_defaults(kind, record.fields))
    return record


def merged(kind: Kind, old: Record, fields: Mapping[str, Any]) -> Record:
    record = old.copy()
    for group in kind.exclusive:
        if any(fields.get(name) is not None for name in group):
            for name in group:
                if name not in fields:
                    record.fields.pop(name, None)
    for name, value in fields.items():
        if _is_child_list(kind, name):
            continue
        if value is None:
            record.fields.pop(name, None)
        else:
            record.fields[name] = value
    for child in kind.children:
        items = fields.get(child.list_key)
        if items is None:
            continue
        table = record.child_table(child)
        for item in _list(child, items):
            entry = _object(child, item)
            key = child.key_of(entry)
            table[key] = merged(child, table[key], entry) if key in table else build(child, entry)
    kind.key_of(record.fields)
    kind.check(_with_defaults(kind, record.fields))
    return record


def _with_defaults(kind: Kind, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {**kind.defaults, **fields}


def _is_child_list(kind: Kind, name: str) -> bool:
    return any(child.list_key == name for child in kind.children)


def _object(kind: Kind, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.json_format(f"{kind.wrapper} must be an object")
    for name in value:
        if "_" in name:
            raise errors.json_format(f'unknown attribute "{name}" of {kind.wrapper} (aXAPI keys use dashes)')
        if name in kind.refused:
            raise errors.json_format(f'unknown attribute "{name}" of {kind.wrapper}')
    return value


def _list(kind: Kind, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise errors.json_format(f"{kind.list_key} must be a list")
    return value


def _unwrap(kind: Kind, body: Any) -> Any:
    if not isinstance(body, dict) or set(body) != {kind.wrapper}:
        raise errors.json_format(f'the body must be {{"{kind.wrapper}": {{...}}}}')
    return body[kind.wrapper]


def _same_key(kind: Kind, key: Key, record: Record) -> None:
    if kind.key_of(record.fields) != key:
        raise errors.invalid(f"{kind.title}: the body names another object than the URL")


def _unchanged(old: Record, new: Record) -> None:
    for name in FIXED:
        if name in old.fields and new.fields.get(name) != old.fields[name]:
            raise errors.invalid(f"{name} cannot be modified; delete the object and create it again")


# Finding records -------------------------------------------------------------------------------


def _table(partition: Partition, target: Target, *, reading: bool = False) -> dict[Key, Record]:
    """The table the target's objects live in; a missing parent answers "does not exist". A read
    of a child list the parent never had gets an empty table without adding one."""
    table = partition.table(target.path)
    for index, (kind, key) in enumerate(target.parents):
        parent = table.get(key)
        if parent is None:
            raise errors.not_found(kind.title)
        child = target.parents[index + 1][0] if index + 1 < len(target.parents) else target.kind
        table = parent.children.get(child.list_key, {}) if reading else parent.child_table(child)
    return table


def _record(table: dict[Key, Record], target: Target) -> Record:
    record = table.get(_object_key(target))
    if record is None:
        raise errors.not_found(target.kind.title)
    return record


def _object_key(target: Target) -> Key:
    if target.key is None:
        raise errors.method_not_allowed("a write", target.url())
    return target.key
