"""The object types the emulated unit keeps, and how each is named, keyed and checked.

An aXAPI v3 object lives at ``/axapi/v3/<path>/<key>``; a child list (a server's ports, a
service group's members, a virtual server's ports) hangs under its object as
``<segment>/<key>`` and appears inline in the object as ``<segment>-list``. Keys with
several fields are joined with ``+`` in URLs (``80+tcp``, ``<server>+<port>``). Defaults are
what a unit shows for fields nobody set; ``check`` refuses a whole object the unit would
refuse, after defaults are applied, so a create and a merge are judged alike.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mocks.acos import errors

Key = tuple[Any, ...]
Check = Callable[[Mapping[str, Any]], None]

SERVER_PROTOCOLS = ("tcp", "udp")
VPORT_PROTOCOLS = (
    "tcp", "udp", "others", "diameter", "dns-tcp", "dns-udp", "fast-http", "fix", "ftp", "ftp-proxy", "http",
    "https", "mlb", "mms", "mysql", "mssql", "radius", "rtsp", "sip", "sip-tcp", "sips", "smpp-tcp", "spdy",
    "spdys", "smtp", "ssl-proxy", "tcp-proxy", "tftp",
)  # fmt: skip
LB_METHODS = (
    "round-robin", "weighted-rr", "fastest-response", "least-request", "round-robin-strict", "src-ip-only-hash",
    "src-ip-hash", "dst-ip-only-hash", "dst-ip-hash",
)  # fmt: skip
LC_METHODS = (
    "least-connection", "weighted-least-connection", "service-least-connection",
    "service-weighted-least-connection",
)  # fmt: skip
STATELESS_METHODS = (
    "stateless-src-ip-hash", "stateless-src-ip-only-hash", "stateless-dst-ip-hash", "stateless-src-dst-ip-hash",
    "stateless-per-pkt-round-robin",
)  # fmt: skip
NAME_MAX = 127
TAG_MAX = 127
DESCRIPTION_MAX = 127


@dataclass(frozen=True)
class KeyField:
    name: str
    integer: bool = False

    def parse(self, text: str) -> Any:
        """A URL segment as this field's value (digits for an integer field)."""
        if not self.integer:
            return text
        if not text.isascii() or not text.isdigit():
            raise errors.invalid(f"{self.name} must be a number, got {text!r}")
        return int(text)


@dataclass(frozen=True)
class Kind:
    """One object type: ``wrapper`` is its JSON wrapper (``server``), ``segment`` its URL word."""

    wrapper: str
    keys: tuple[KeyField, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[Kind, ...] = ()
    check: Check = lambda fields: None
    label: str = ""
    # Fields that exclude each other: a merge that sets one drops the others it does not set.
    exclusive: tuple[tuple[str, ...], ...] = ()
    # Attributes this type does not have although others do (refused as unknown).
    refused: frozenset[str] = frozenset({"description"})

    @property
    def segment(self) -> str:
        return self.wrapper

    @property
    def list_key(self) -> str:
        return f"{self.wrapper}-list"

    @property
    def title(self) -> str:
        return self.label or self.wrapper

    def child(self, segment: str) -> Kind | None:
        return next((kind for kind in self.children if kind.segment == segment), None)

    def key_of(self, fields: Mapping[str, Any]) -> Key:
        """The key of a body's object; a missing key field is refused."""
        values = []
        for key in self.keys:
            value = fields.get(key.name)
            if value is None:
                raise errors.invalid(f"{self.title}: {key.name} is required")
            if key.integer and (isinstance(value, bool) or not isinstance(value, int)):
                raise errors.invalid(f"{self.title}: {key.name} must be a number")
            if not key.integer and (not isinstance(value, str) or not value):
                raise errors.invalid(f"{self.title}: {key.name} must be a non-empty string")
            values.append(value)
        return tuple(values)

    def parse_key(self, text: str) -> Key:
        """``80+tcp`` → ``(80, "tcp")``; the last fields split from the right (a name may hold ``+``)."""
        parts = text.rsplit("+", len(self.keys) - 1) if len(self.keys) > 1 else [text]
        if len(parts) != len(self.keys) or not all(parts):
            raise errors.invalid(f"{self.title}: the key {text!r} must be {'+'.join(k.name for k in self.keys)}")
        return tuple(key.parse(part) for key, part in zip(self.keys, parts, strict=True))

    def url_key(self, key: Key) -> str:
        return "+".join(str(value) for value in key)


# Checks ---------------------------------------------------------------------------------------


def _one_of(fields: Mapping[str, Any], name: str, allowed: tuple[str, ...], title: str) -> None:
    value = fields.get(name)
    if value is not None and value not in allowed:
        raise errors.invalid(f"{title}: {name} must be one of {', '.join(allowed)}, got {value!r}")


def _flag(fields: Mapping[str, Any], name: str, title: str) -> None:
    value = fields.get(name)
    if value is not None and (isinstance(value, bool) or value not in (0, 1)):
        raise errors.invalid(f"{title}: {name} must be 0 or 1, got {value!r}")


def _text(fields: Mapping[str, Any], name: str, limit: int, title: str) -> None:
    value = fields.get(name)
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= limit):
        raise errors.invalid(f"{title}: {name} must be a string of 1 to {limit} characters")


def _port_number(fields: Mapping[str, Any], name: str, title: str) -> None:
    value = fields.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65534):
        raise errors.invalid(f"{title}: {name} must be a number from 0 to 65534, got {value!r}")


def _address(fields: Mapping[str, Any], name: str, version: int, title: str) -> None:
    value = fields.get(name)
    if value is None:
        return
    try:
        parsed = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.version != version:
        raise errors.invalid(f"{title}: {name} must be an IPv{version} address, got {value!r}")


def _common(fields: Mapping[str, Any], title: str) -> None:
    _text(fields, "name", NAME_MAX, title)
    _text(fields, "user-tag", TAG_MAX, title)


def check_server(fields: Mapping[str, Any]) -> None:
    _common(fields, "server")
    _address(fields, "host", 4, "server")
    _address(fields, "server-ipv6-addr", 6, "server")
    addresses = [name for name in ("host", "server-ipv6-addr", "fqdn-name") if fields.get(name) is not None]
    if len(addresses) != 1:
        raise errors.invalid("server: exactly one of host, server-ipv6-addr and fqdn-name is required")
    _one_of(fields, "action", ("enable", "disable"), "server")


def check_server_port(fields: Mapping[str, Any]) -> None:
    _port_number(fields, "port-number", "port")
    _one_of(fields, "protocol", SERVER_PROTOCOLS, "port")
    _one_of(fields, "action", ("enable", "disable"), "port")
    _text(fields, "user-tag", TAG_MAX, "port")


def check_service_group(fields: Mapping[str, Any]) -> None:
    _common(fields, "service-group")
    _one_of(fields, "protocol", SERVER_PROTOCOLS, "service-group")
    _one_of(fields, "lb-method", LB_METHODS, "service-group")
    _one_of(fields, "lc-method", LC_METHODS, "service-group")
    _one_of(fields, "stateless-lb-method", STATELESS_METHODS, "service-group")
    methods = [name for name in ("lb-method", "lc-method", "stateless-lb-method") if fields.get(name) is not None]
    if len(methods) > 1:
        raise errors.invalid(f"service-group: {' and '.join(methods)} exclude each other")
    _flag(fields, "health-check-disable", "service-group")
    _text(fields, "health-check", 31, "service-group")
    if fields.get("health-check") is not None and fields.get("health-check-disable") == 1:
        raise errors.invalid("service-group: health-check and health-check-disable exclude each other")


def check_member(fields: Mapping[str, Any]) -> None:
    _text(fields, "name", NAME_MAX, "member")
    _port_number(fields, "port", "member")
    _one_of(fields, "member-state", ("enable", "disable", "disable-with-health-check"), "member")
    _flag(fields, "member-stats-data-disable", "member")
    _text(fields, "user-tag", TAG_MAX, "member")


def check_virtual_server(fields: Mapping[str, Any]) -> None:
    _common(fields, "virtual-server")
    _text(fields, "description", DESCRIPTION_MAX, "virtual-server")
    _address(fields, "ip-address", 4, "virtual-server")
    _address(fields, "ipv6-address", 6, "virtual-server")
    addresses = [name for name in ("ip-address", "ipv6-address") if fields.get(name) is not None]
    if len(addresses) != 1:
        raise errors.invalid("virtual-server: exactly one of ip-address and ipv6-address is required")
    _flag(fields, "arp-disable", "virtual-server")
    _one_of(fields, "enable-disable-action", ("enable", "disable", "disable-when-all-ports-down"), "virtual-server")


def check_virtual_port(fields: Mapping[str, Any]) -> None:
    _port_number(fields, "port-number", "port")
    _one_of(fields, "protocol", VPORT_PROTOCOLS, "port")
    _text(fields, "name", NAME_MAX, "port")
    _text(fields, "service-group", NAME_MAX, "port")
    _text(fields, "pool", NAME_MAX, "port")
    _text(fields, "user-tag", TAG_MAX, "port")
    _flag(fields, "auto", "port")
    _flag(fields, "extended-stats", "port")
    _one_of(fields, "action", ("enable", "disable"), "port")
    if fields.get("auto") == 1 and fields.get("pool") is not None:
        raise errors.invalid("port: auto and pool exclude each other")


def check_monitor(fields: Mapping[str, Any]) -> None:
    _text(fields, "name", 31, "monitor")
    _text(fields, "user-tag", TAG_MAX, "monitor")
    method = fields.get("method")
    if method is not None and not isinstance(method, dict):
        raise errors.invalid("monitor: method must be an object")


def check_nat_pool(fields: Mapping[str, Any]) -> None:
    _text(fields, "pool-name", 63, "pool")
    _address(fields, "start-address", 4, "pool")
    _address(fields, "end-address", 4, "pool")


# The catalog ----------------------------------------------------------------------------------

STATS = {"stats-data-action": "stats-data-enable", "extended-stats": 0}
SERVER_PORT = Kind(
    "port",
    (KeyField("port-number", integer=True), KeyField("protocol")),
    defaults={
        "range": 0,
        "template-port": "default",
        "action": "enable",
        "no-ssl": 0,
        "health-check-disable": 0,
        "weight": 1,
        "conn-limit": 64000000,
        "no-logging": 0,
        **STATS,
    },
    check=check_server_port,
)
SERVER = Kind(
    "server",
    (KeyField("name"),),
    defaults={
        "action": "enable",
        "template-server": "default",
        "health-check-disable": 0,
        "conn-limit": 64000000,
        "no-logging": 0,
        "weight": 1,
        "slow-start": 0,
        "spoofing-cache": 0,
        **STATS,
    },
    children=(SERVER_PORT,),
    check=check_server,
)
MEMBER = Kind(
    "member",
    (KeyField("name"), KeyField("port", integer=True)),
    defaults={"member-state": "enable", "member-stats-data-disable": 0, "member-priority": 1},
    check=check_member,
)
SERVICE_GROUP = Kind(
    "service-group",
    (KeyField("name"),),
    defaults={"protocol": "tcp", "stateless-auto-switch": 0, "health-check-disable": 0, **STATS},
    children=(MEMBER,),
    check=check_service_group,
    exclusive=(("lb-method", "lc-method", "stateless-lb-method"), ("health-check", "health-check-disable")),
)
VIRTUAL_PORT = Kind(
    "port",
    (KeyField("port-number", integer=True), KeyField("protocol")),
    defaults={"action": "enable", "auto": 0, "extended-stats": 0, "conn-limit": 64000000, "no-dest-nat": 0},
    check=check_virtual_port,
    label="virtual port",
    exclusive=(("auto", "pool"),),
)
VIRTUAL_SERVER = Kind(
    "virtual-server",
    (KeyField("name"),),
    defaults={"arp-disable": 0, "enable-disable-action": "enable", "stats-data-action": "stats-data-enable"},
    children=(VIRTUAL_PORT,),
    check=check_virtual_server,
    refused=frozenset(),  # only the virtual server has a description; every type here has a user-tag
)
MONITOR = Kind(
    "monitor",
    (KeyField("name"),),
    defaults={"retry": 3, "up-retry": 1, "interval": 5, "timeout": 5, "strict-retry-on-server-err-resp": 1},
    check=check_monitor,
    label="health monitor",
)
NAT_POOL = Kind(
    "pool",
    (KeyField("pool-name"),),
    check=check_nat_pool,
    label="NAT pool",
    refused=frozenset({"description", "user-tag"}),
)

TOP_LEVEL: dict[str, Kind] = {
    "slb/server": SERVER,
    "slb/service-group": SERVICE_GROUP,
    "slb/virtual-server": VIRTUAL_SERVER,
    "health/monitor": MONITOR,
    "ip/nat/pool": NAT_POOL,
}
PATH_OF = {id(kind): path for path, kind in TOP_LEVEL.items()}


def path_of(kind: Kind) -> str:
    return PATH_OF[id(kind)]
