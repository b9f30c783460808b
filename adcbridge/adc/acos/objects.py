"""Model objects as an ACOS unit keeps them, both ways. Pure.

The mapping, model → aXAPI v3 (keys with dashes, bodies wrapped in the type's name):

- node → ``slb/server``: ``host`` (IPv4) or ``server-ipv6-addr``, ``action`` enable/disable; its
  ``port-list`` holds a port (``<port>+<protocol>``) for every member standing on it, since a
  service group's member names a port of its server; the port's ``weight`` is the member's weight;
- pool → ``slb/service-group``: ``protocol`` (that of the virtual ports using it, tcp by
  default), rr ``lb-method: round-robin``, wrr ``weighted-rr``, ip-hash ``src-ip-only-hash``, lc
  ``lc-method: least-connection``; ``health-check`` names the operator's monitor (one at most);
  a service group has no enabled flag;
- member → an entry of the service group's ``member-list``, ``<server>+<port>``: ``member-state``
  enable/disable (disable drains it);
- virtual server (one per VIP and port in the model) → one virtual port (``port-list`` entry,
  ``<port>+<protocol>``) of the ``slb/virtual-server`` that holds the VIP: its ``name`` is the
  model's name, ``service-group`` its pool, ``action`` enable/disable, and source NAT ``auto: 1``
  (automap) or ``pool: <name>`` (a NAT pool), neither for none. The bridge's virtual-server for a
  VIP is named ``<prefix><owner>-<vip>`` (``virtual_server_name``) and made with the VIP's first
  virtual port, deleted with its last.

The ownership marker goes in ``user-tag``: the free text every one of these objects (server,
service group, member, virtual server and virtual port) keeps; ``description`` exists only on a
virtual-server. A virtual port is ours only in a virtual-server of ours, and a server that is not
ours is never used by our members (``shared`` False: its address is a conflict), since a member
needs a port on its server and adding one would change another owner's object.

Reading is tolerant: JSON nulls for unset keys, addresses in any spelling, TCP- and UDP-based
virtual-port protocols (``http``, ``dns-udp``...) read as ``tcp``/``udp`` so that a VIP and port held
by another's virtual port is seen as held. An item that cannot be understood raises ``ValueError``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adcbridge.model import AdcMember, AdcNode, AdcPool, AdcVserver, Owner, join_host_port

MAX_PORT = 65535
LB_METHODS = {"rr": "round-robin", "wrr": "weighted-rr", "ip-hash": "src-ip-only-hash"}
LC_METHODS = {"lc": "least-connection"}
METHODS = {method: model for model, method in (LB_METHODS | LC_METHODS).items()}
UDP_BASED = frozenset({"udp", "dns-udp", "sip", "radius", "tftp"})
DEFAULT_PROTOCOL = "tcp"


@dataclass(frozen=True)
class VirtualServer:
    """What the driver needs of a virtual-server: whether it is ours, and its virtual ports' keys."""

    name: str
    ours: bool
    ports: frozenset[str]  # "<port>+<protocol>"


class Objects:
    """The model's objects to ACOS bodies and back, for ``owner``."""

    def __init__(self, owner: Owner) -> None:
        self.owner = owner

    # ------------------------------------------------------------------ names

    def virtual_server_name(self, vserver: AdcVserver) -> str:
        """The bridge's virtual-server holding ``vserver``'s VIP."""
        address, _ = split_vip(vserver.vip)
        return self.owner.name(address.replace(":", "-"))

    # ------------------------------------------------------------------ bodies

    def server_body(self, node: AdcNode, ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": node.name,
            _address_key(node.ip, "host", "server-ipv6-addr"): node.ip,
            "action": _action(node.enable),
            "user-tag": node.description or None,
        }
        if ports:
            body["port-list"] = ports
        return body

    def server_port_body(self, port: int, protocol: str, weight: int) -> dict[str, Any]:
        return {"port-number": port, "protocol": protocol, "weight": weight}

    def service_group_body(self, pool: AdcPool, protocol: str | None) -> dict[str, Any]:
        """``protocol`` None: an update (a unit does not change a service group's protocol)."""
        body: dict[str, Any] = {"name": pool.name}
        if protocol is not None:
            body["protocol"] = protocol
        if pool.method in LC_METHODS:
            body |= {"lc-method": LC_METHODS[pool.method], "lb-method": None}
        else:
            body |= {"lb-method": LB_METHODS.get(pool.method, pool.method), "lc-method": None}
        body["health-check"] = pool.healthcheck[0] if pool.healthcheck else None
        body["user-tag"] = pool.description or None
        return body

    def member_body(self, member: AdcMember) -> dict[str, Any]:
        return {
            "name": member.node,
            "port": member.port,
            "member-state": _action(member.enable),
            "user-tag": member.description or None,
        }

    def virtual_port_body(self, vserver: AdcVserver) -> dict[str, Any]:
        _, port = split_vip(vserver.vip)
        body: dict[str, Any] = {
            "name": vserver.name,
            "port-number": port,
            "protocol": vserver.protocol,
            "service-group": vserver.pool or None,
            "action": _action(vserver.enable),
            "user-tag": vserver.description or None,
        }
        return body | _snat_body(vserver.snat)

    def virtual_server_body(self, vserver: AdcVserver) -> dict[str, Any]:
        """The bridge's virtual-server for ``vserver``'s VIP, made with it as its first virtual port."""
        address, _ = split_vip(vserver.vip)
        return {
            "name": self.virtual_server_name(vserver),
            _address_key(address, "ip-address", "ipv6-address"): address,
            "user-tag": self.owner.marker,
            "port-list": [self.virtual_port_body(vserver)],
        }

    # ------------------------------------------------------------------ reading

    def server(self, item: Mapping[str, Any]) -> AdcNode:
        address = _optional(item, "host") or _optional(item, "server-ipv6-addr")
        if not address:
            raise ValueError("a server without host or server-ipv6-addr (an FQDN server)")
        tag = _optional(item, "user-tag")
        return AdcNode(
            _text(item, "name"),
            _address(address),
            tag,
            _optional(item, "action") != "disable",
            shared=self.owner.owns(tag),
        )

    def server_ports(self, item: Mapping[str, Any]) -> dict[str, int]:
        """``<port>+<protocol>`` → weight, for each port of a server."""
        return {port_key(port, protocol): weight for port, protocol, weight in _ports(item)}

    def service_group(
        self, item: Mapping[str, Any], weights: Mapping[str, Mapping[str, int]]
    ) -> tuple[AdcPool, list[AdcMember]]:
        """The pool and its members; ``weights``: server → port key → weight (``server_ports``)."""
        name = _text(item, "name")
        lc, lb = _optional(item, "lc-method"), _optional(item, "lb-method") or "round-robin"
        method = METHODS.get(lc, lc) if lc else METHODS.get(lb, lb)
        check = _optional(item, "health-check")
        pool = AdcPool(name, method, (check,) if check else (), _optional(item, "user-tag"))
        protocol = _optional(item, "protocol") or DEFAULT_PROTOCOL
        members = _list(item, "member-list")
        return pool, [self.member(name, protocol, member, weights) for member in members]

    def member(self, pool: str, protocol: str, item: Any, weights: Mapping[str, Mapping[str, int]]) -> AdcMember:
        if not isinstance(item, Mapping):
            raise ValueError("member is not an object")
        server, port = _text(item, "name"), _port(item.get("port"))
        return AdcMember(
            pool,
            server,
            port,
            weights.get(server, {}).get(port_key(port, protocol), 1),
            _optional(item, "user-tag"),
            _optional(item, "member-state") != "disable",
        )

    def virtual_server(self, item: Mapping[str, Any]) -> tuple[VirtualServer, list[AdcVserver]]:
        name = _text(item, "name")
        address = _optional(item, "ip-address") or _optional(item, "ipv6-address")
        if not address:
            raise ValueError("a virtual-server without ip-address or ipv6-address")
        ip = _address(address)
        ours = self.owner.owns(_optional(item, "user-tag"))
        vports = [self.virtual_port(name, ip, port, ours=ours) for port in _list(item, "port-list")]
        keys = frozenset(port_key(_port(port["port-number"]), port["protocol"]) for port in _list(item, "port-list"))
        return VirtualServer(name, ours, keys), vports

    def virtual_port(self, virtual_server: str, ip: str, item: Any, *, ours: bool) -> AdcVserver:
        if not isinstance(item, Mapping):
            raise ValueError("virtual port is not an object")
        port, protocol = _port(item.get("port-number")), _text(item, "protocol")
        return AdcVserver(
            _optional(item, "name") or f"{virtual_server}/{port_key(port, protocol)}",
            join_host_port(ip, port),
            "udp" if protocol in UDP_BASED else "tcp",
            _optional(item, "service-group"),
            _optional(item, "user-tag") if ours else "",
            _optional(item, "action") != "disable",
            snat=_snat(item),
        )


def port_key(port: int, protocol: str) -> str:
    """``80+tcp``: how a URL names a server port or a virtual port."""
    return f"{port}+{protocol}"


def split_vip(vip: str) -> tuple[str, int]:
    host, _, port = vip.rpartition(":")
    return host.strip("[]"), int(port)


def _action(enable: bool) -> str:
    return "enable" if enable else "disable"


def _address_key(address: str, v4: str, v6: str) -> str:
    return v6 if ipaddress.ip_address(address).version == 6 else v4


def _snat_body(snat: str) -> dict[str, Any]:
    if snat == "automap":
        return {"auto": 1, "pool": None}
    if snat == "none":
        return {"auto": 0, "pool": None}
    return {"auto": 0, "pool": snat}


def _snat(item: Mapping[str, Any]) -> str:
    auto = item.get("auto")
    if auto not in (None, 0, 1, True, False):
        raise ValueError("auto is not 0 or 1")
    if auto:
        return "automap"
    return _optional(item, "pool") or "none"


def _ports(item: Mapping[str, Any]) -> list[tuple[int, str, int]]:
    found = []
    for port in _list(item, "port-list"):
        if not isinstance(port, Mapping):
            raise ValueError("port is not an object")
        weight = port.get("weight", 1)
        if weight is None:
            weight = 1
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise ValueError("weight is not a number")
        found.append((_port(port.get("port-number")), _text(port, "protocol"), weight))
    return found


def _list(item: Mapping[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return value


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PORT:
        raise ValueError(f"port {str(value)[:20]!r} is not a port number")
    return value


def _address(text: str) -> str:
    return str(ipaddress.ip_address(text))


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is not text")
    return value


def _optional(item: Mapping[str, Any], key: str) -> str:
    """Text, or "" for a key absent or null."""
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key} is not text")
    return value
