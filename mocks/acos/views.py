"""How objects look in answers: the fields set, then defaults for the rest, ``uuid``, the
child lists inline and ``a10-url``; and the operational views (``oper``, ``stats``), which
report every enabled object as up and every counter as zero (no traffic is emulated)."""

from __future__ import annotations

from typing import Any

from mocks.acos.kinds import Kind
from mocks.acos.store import Record


def render(kind: Kind, record: Record, url: str) -> dict[str, Any]:
    shown: dict[str, Any] = {key.name: record.fields[key.name] for key in kind.keys}
    shown |= {name: value for name, value in kind.defaults.items() if name not in record.fields}
    shown |= record.fields
    shown["uuid"] = record.uuid
    for child in kind.children:
        table = record.children.get(child.list_key)
        if table:
            shown[child.list_key] = [
                render(child, item, f"{url}/{child.segment}/{child.url_key(key)}") for key, item in table.items()
            ]
    shown["a10-url"] = url
    return shown


def oper(kind: Kind, record: Record) -> dict[str, Any]:
    disabled = record.fields.get("action") == "disable" or record.fields.get("member-state") == "disable"
    shown: dict[str, Any] = {key.name: record.fields[key.name] for key in kind.keys}
    shown["oper"] = {"state": "Disabled" if disabled else "Up"}
    for child in kind.children:
        table = record.children.get(child.list_key)
        if table:
            shown[child.list_key] = [oper(child, item) for item in table.values()]
    return shown


def stats(kind: Kind, record: Record) -> dict[str, Any]:
    shown: dict[str, Any] = {key.name: record.fields[key.name] for key in kind.keys}
    shown["stats"] = {"curr-conn": 0, "total-conn": 0, "fwd-pkt": 0, "rev-pkt": 0}
    return shown
