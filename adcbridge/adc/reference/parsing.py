"""Appliance answers into model objects: tolerant in what it reads, exact in what it yields.

Firmware adds runtime fields, writes numbers as strings now and then, and spells IPv6 in
more than one way. Reading accepts all of that and normalises (addresses, VIPs, names), so
an object that did not change compares equal to the desired one and causes no write. An
item that cannot be understood raises ``ValueError``; the caller decides what that means.
Nothing here does I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from adcbridge.model import AdcDomain, AdcMember, AdcNode, AdcPool, AdcVserver, join_host_port, sorted_addresses


def _text(item: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key} is not text")
    return value


def _number(item: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = item.get(key, default)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not a number")
    return value


def _flag(item: Mapping[str, Any], key: str) -> bool:
    value = item.get(key, True)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ValueError(f"{key} is not a boolean")
    return value


def _names(item: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise ValueError(f"{key} is not a list of names")
    return tuple(value)


def _ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


def parse_node(item: Mapping[str, Any]) -> AdcNode:
    return AdcNode(_text(item, "name"), _ip(_text(item, "ip")), _text(item, "description", ""), _flag(item, "enable"))


def parse_pool(item: Mapping[str, Any]) -> tuple[AdcPool, list[AdcMember]]:
    pool = AdcPool(
        _text(item, "name"),
        _text(item, "method", "rr"),
        _names(item, "healthcheck"),
        _text(item, "description", ""),
        _flag(item, "enable"),
    )
    members = item.get("rservers") or []
    if not isinstance(members, list):
        raise ValueError("rservers is not a list")
    return pool, [parse_member(pool.name, member) for member in members]


def parse_member(pool: str, item: Any) -> AdcMember:
    if not isinstance(item, Mapping):
        raise ValueError("member is not an object")
    return AdcMember(
        pool,
        _text(item, "node"),
        _number(item, "port"),
        _number(item, "weight", 1),
        _text(item, "description", ""),
        _flag(item, "enable"),
    )


def parse_vserver(item: Mapping[str, Any]) -> AdcVserver:
    return AdcVserver(
        _text(item, "name"),
        normalise_vip(_text(item, "vip")),
        _text(item, "protocol").lower(),
        _text(item, "pool"),
        _text(item, "description", ""),
        _flag(item, "enable"),
    )


def parse_domain(item: Mapping[str, Any]) -> AdcDomain:
    addresses = item.get("addresses")
    if not isinstance(addresses, list) or not all(isinstance(address, str) for address in addresses):
        raise ValueError("addresses is not a list of addresses")
    return AdcDomain(
        _text(item, "name").lower().rstrip("."),
        _text(item, "type").upper(),
        sorted_addresses(addresses),
        _number(item, "ttl", 300),
        _text(item, "description", ""),
        _flag(item, "enable"),
    )


def normalise_vip(vip: str) -> str:
    host, sep, port = vip.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):
        raise ValueError("vip is not IP:PORT")
    return join_host_port(_ip(host.strip("[]")), int(port))
