"""Reads and writes of configuration objects by URI, without HTTP: the same code answers a
request and runs a transaction's queued command.

``parse`` turns a path under ``/mgmt/tm/`` into an ``Address`` (which kind, which parent,
which object) from its shape alone, so a command can be queued before the objects it
names exist; ``read`` and ``write`` then find the objects. Every write, successful or not,
goes to the change log with its HTTP status and transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mocks.bigip import errors, views
from mocks.bigip.database import Obj
from mocks.bigip.folders import Folder, root_folder
from mocks.bigip.kinds import ObjectType
from mocks.bigip.ltm import Member
from mocks.bigip.names import split_member, split_path
from mocks.bigip.state import UnitState

PREFIX = "/mgmt/tm/"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Address:
    otype: ObjectType
    key: str | None = None  # None: the collection
    parent_type: ObjectType | None = None
    parent_key: str | None = None


def parse(types: dict[str, ObjectType], path: str) -> Address:
    """The address of ``path`` (``/mgmt/tm/ltm/pool/~P~p/members/~P~n:80``); 404 "not
    registered" for a URI the unit does not serve."""
    segments = path.removeprefix(PREFIX).strip("/").split("/")
    for size in (3, 2, 1):
        top = types.get("/".join(segments[:size]))
        if top is not None:
            rest = segments[size:]
            break
    else:
        raise errors.uri_not_registered(path)
    if not rest:
        return Address(top)
    if len(rest) == 1 and rest[0]:
        return Address(top, key=top.key_from_uri(rest[0]))
    child = top.children.get(rest[1]) if len(rest) in (2, 3) and rest[0] else None
    if child is None or (len(rest) == 3 and not rest[2]):
        raise errors.uri_not_registered(path)
    key = child.key_from_uri(rest[2]) if len(rest) == 3 else None
    return Address(child, key=key, parent_type=top, parent_key=top.key_from_uri(rest[0]))


def read(state: UnitState, address: Address, query: views.Query) -> Obj:
    store = state.store
    parent, parent_path = _parent(state, address)
    otype = address.otype
    if address.key is None:
        extra = [root_folder(store)] if isinstance(otype, Folder) else None
        records = store.records(otype, parent)
        return views.collection(store, otype, records, parent=parent, parent_path=parent_path, query=query, extra=extra)
    if isinstance(otype, Folder) and address.key == "":
        return views.select(root_folder(store), query)
    record = store.find(otype, address.key, parent)
    if record is None:
        if isinstance(otype, Member):
            raise errors.object_not_found(address.key)
        raise errors.not_found(otype.label, address.key)
    shown = views.render(store, otype, record, parent=parent, parent_path=parent_path, expand=query.expand)
    return views.select(shown, query)


def write(state: UnitState, method: str, path: str, body: Any, *, transaction: int | None = None) -> Obj | None:
    """Apply one write; record it in the change log whatever happens."""
    address: Address | None = None
    status = 500
    try:
        address = parse(state.store.types, path)
        answer = _write(state, method, address, body)
        status = 200
        state.config_changed()
        return answer
    except errors.F5Error as failure:
        status = failure.status
        raise
    finally:
        partition, name = _label(address, body)
        kind = address.otype.table if address is not None else path.removeprefix(PREFIX)
        state.record_change(
            method=method, path=path, kind=kind, partition=partition, name=name, transaction=transaction, status=status
        )


def check_shape(state: UnitState, method: str, path: str, body: Any) -> None:
    """What a unit checks when a command is queued: a URI it serves, a method that URI takes."""
    _allowed(parse(state.store.types, path), method, path)
    if method in ("POST", "PUT", "PATCH") and not isinstance(body, dict):
        raise errors.invalid_json()


def _write(state: UnitState, method: str, address: Address, body: Any) -> Obj | None:
    store = state.store
    otype = address.otype
    _allowed(address, method, "")
    if method != "DELETE" and not isinstance(body, dict):
        raise errors.invalid_json()
    parent, parent_path = _parent(state, address)
    if method == "POST":
        record = store.create(otype, body, parent=parent)
    else:
        assert address.key is not None
        current = store.find(otype, address.key, parent)
        if current is None:
            raise errors.not_found(otype.label, _identity(address))
        if method == "DELETE":
            store.delete(otype, current, parent=parent)
            return None
        record = store.update(otype, current, body, parent=parent)
    return views.render(store, otype, record, parent=parent, parent_path=parent_path, expand=False)


def _allowed(address: Address, method: str, path: str) -> None:
    allowed = {"GET", "POST"} if address.key is None else {"GET", "PUT", "PATCH", "DELETE"}
    if method not in allowed or (isinstance(address.otype, Folder) and address.key == "" and method != "GET"):
        raise errors.method_not_allowed(method, path or address.otype.table)
    if method in WRITES and not address.otype.writable_by_clients:
        raise errors.bad_request(
            f"This emulator serves {address.otype.table} read-only: it models the built-in objects only.",
            api_error=errors.REST,
        )


def _parent(state: UnitState, address: Address) -> tuple[Obj | None, str | None]:
    if address.parent_type is None or address.parent_key is None:
        return None, None
    parent = state.store.find(address.parent_type, address.parent_key)
    if parent is None:
        raise errors.not_found(address.parent_type.label.lower(), address.parent_key)
    return parent, views.object_path(address.parent_type, parent, None)


def _identity(address: Address) -> str:
    """How a not-found write names its object (a member: ``<pool> /P/<node> <port>``)."""
    key = str(address.key)
    if isinstance(address.otype, Member):
        partition, name = split_path(key)
        try:
            node, port = split_member(name)
        except ValueError:
            return key
        return f"{address.parent_key} /{partition}/{node} {port}"
    return key


def _label(address: Address | None, body: Any) -> tuple[str | None, str]:
    """(partition, name) of a write for the change log."""
    if address is not None and address.key is not None:
        partition, name = split_path(address.key, default_partition="")
        return partition or None, name
    if isinstance(body, dict) and isinstance(body.get("name"), str):
        folder = body.get("partition") if isinstance(body.get("partition"), str) else None
        partition, name = split_path(body["name"], default_partition=folder or "Common")
        return partition, name[:300]
    return None, "?"
