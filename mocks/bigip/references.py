"""How one object names another: resolving names, the partition rule, monitor rules.

A reference is a full path (``/Common/http``) or a bare name, which BIG-IP looks up in the
referring object's own partition first and then in ``/Common``. An object may use objects
of its own partition and of ``/Common``; an object in ``/Common`` only ``/Common`` ones.
Monitor rules are one monitor, ``a and b``, or ``min N of a b`` (with or without braces,
which f5-sdk strips); they are shown normalised, with the trailing space a unit prints.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mocks.bigip import errors
from mocks.bigip.names import split_path

if TYPE_CHECKING:
    from mocks.bigip.store import Store

MONITOR_TABLES = (
    "ltm/monitor/http",
    "ltm/monitor/https",
    "ltm/monitor/tcp",
    "ltm/monitor/tcp-half-open",
    "ltm/monitor/udp",
    "ltm/monitor/icmp",
    "ltm/monitor/gateway-icmp",
)
MIN_RULE = re.compile(r"min\s+(\d+)\s+of\s+\{?\s*(.*?)\s*\}?\s*")


def resolve(store: Store, tables: tuple[str, ...], text: str, *, partition: str) -> str | None:
    """The full path of the object ``text`` names in one of ``tables``, or None."""
    candidates = [text] if text.startswith("/") else [f"/{partition}/{text}", f"/Common/{text}"]
    for path in candidates:
        if any(store.db.get(table, path) is not None for table in tables):
            return path
    return None


def check_partition(label: str, identity: str, partition: str, target: str, target_label: str) -> None:
    """Refuse a reference from ``partition`` to an object outside it and outside /Common."""
    other, _name = split_path(target)
    if other not in (partition, "Common"):
        raise errors.cross_partition(label, identity, partition, f"{target_label} {target}", other)


def monitor_rule(store: Store, text: str, *, partition: str, label: str, identity: str) -> str | None:
    """The normalised rule, or None for no monitor (``""``, ``none``); 400 for a monitor that
    does not exist or lies in another partition."""
    rule = text.strip()
    if rule in ("", "none"):
        return None
    minimum = MIN_RULE.fullmatch(rule)
    names = minimum.group(2).split() if minimum else [part.strip() for part in rule.split(" and ")]
    paths = []
    for name in names:
        path = resolve(store, MONITOR_TABLES, name, partition=partition)
        if path is None or not name:
            raise errors.foreign_key(name, label, identity, "monitor_FK")
        check_partition(label, identity, partition, path, "monitor")
        paths.append(path)
    if minimum:
        return f"min {minimum.group(1)} of {{ {' '.join(paths)} }}"
    return " and ".join(paths) + " "


def monitored(rule: str | None) -> bool:
    return rule not in (None, "", "default", "none")
