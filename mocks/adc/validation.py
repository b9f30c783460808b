"""Field validators of the emulated appliance.

Each validator takes the field name and the raw JSON value and returns the normalised
value, or raises ``ApiFailure`` naming the field. They are deliberately as strict as a
real appliance's firmware: JSON types are not coerced (``"true"`` is not a boolean,
``"80"`` is not a port) and host names must already be ASCII (punycode) — the client,
not the appliance, is responsible for IDN conversion.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from mocks.adc.codes import invalid

Validator = Callable[[str, Any], Any]

OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,126}")
DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
DECIMAL = re.compile(r"[0-9]{1,10}")
MAX_DESCRIPTION = 255
MAX_DOMAIN_ADDRESSES = 64
MAX_TTL = 604_800
POOL_METHODS = ("rr", "wrr", "lc", "ip-hash")
VSERVER_PROTOCOLS = ("tcp", "udp", "http", "https")
DOMAIN_TYPES = ("A", "AAAA", "A+AAAA")


def object_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not OBJECT_NAME.fullmatch(value):
        raise invalid(field, "1-127 characters of letters, digits, '.', '_', '-', starting alphanumeric")
    return value


def description(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    if len(value) > MAX_DESCRIPTION:
        raise invalid(field, f"at most {MAX_DESCRIPTION} characters")
    return value


def boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid(field, "must be true or false")
    return value


def integer_in(low: int, high: int) -> Validator:
    def check(field: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid(field, f"must be an integer from {low} to {high}")
        return value

    return check


def one_of(choices: tuple[str, ...]) -> Validator:
    def check(field: str, value: Any) -> str:
        if value not in choices:
            raise invalid(field, f"must be one of {', '.join(choices)}")
        return str(value)

    return check


port = integer_in(1, 65535)
weight = integer_in(1, 255)
ttl = integer_in(1, MAX_TTL)


def decimal(text: str) -> int | None:
    """The value of an ASCII decimal string (no signs, no Unicode digits), else None."""
    return int(text) if DECIMAL.fullmatch(text) else None


def ip_address(field: str, value: Any) -> str:
    """A usable unicast IPv4 or IPv6 address, in its canonical (compressed) text form.

    Unspecified, multicast, limited-broadcast and scoped (``fe80::1%eth0``) addresses are
    refused: no appliance can send traffic to them or serve them in DNS.
    """
    if not isinstance(value, str):
        raise invalid(field, "must be an IPv4 or IPv6 address string")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise invalid(field, f"'{value[:64]}' is not an IPv4 or IPv6 address") from None
    scoped = isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None
    broadcast = address == ipaddress.IPv4Address("255.255.255.255")
    if address.is_unspecified or address.is_multicast or scoped or broadcast:
        raise invalid(field, f"'{value[:64]}' is not a unicast address")
    return str(address)


def vip(field: str, value: Any) -> str:
    """``IPv4:PORT`` or ``[IPv6]:PORT``, normalised."""
    if not isinstance(value, str) or ":" not in value:
        raise invalid(field, "must be 'IP:PORT' ('[IPv6]:PORT' for IPv6)")
    host, _, port_text = value.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    address = ip_address(field, host[1:-1] if bracketed else host)
    if (":" in address) != bracketed:
        raise invalid(field, "IPv6 addresses go in brackets, IPv4 addresses do not")
    number = decimal(port_text)
    if number is None:
        raise invalid(field, "port must be a number from 1 to 65535")
    number = port(field, number)
    return f"[{address}]:{number}" if bracketed else f"{address}:{number}"


def domain_name(field: str, value: Any) -> str:
    """A fully qualified ASCII host name, lower-cased, trailing dot removed.

    ``*`` is allowed as the whole first label only (a wildcard). Labels follow RFC 1123
    (letters, digits, hyphens; no leading or trailing hyphen; 1-63 octets), the whole name
    at most 253 octets and at least two labels.
    """
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    if not value.isascii():  # before lower(): the Kelvin sign lower-cases to ASCII "k"
        raise invalid(field, "must be ASCII; convert international names to punycode")
    name = value.lower().removesuffix(".")
    if len(name) > 253:
        raise invalid(field, "at most 253 characters")
    labels = name.split(".")
    if len(labels) < 2:
        raise invalid(field, "must be fully qualified (at least two labels)")
    first = 1 if labels[0] == "*" else 0
    for label in labels[first:]:
        if not DNS_LABEL.fullmatch(label):
            raise invalid(field, f"label '{label[:63]}' is not a valid RFC 1123 label")
    return name


def name_list(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(field, "must be a list of names")
    if len(set(value)) != len(value):
        raise invalid(field, "must not repeat a name")
    return list(value)


def address_list(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise invalid(field, "must be a non-empty list of addresses")
    if len(value) > MAX_DOMAIN_ADDRESSES:
        raise invalid(field, f"at most {MAX_DOMAIN_ADDRESSES} addresses")
    addresses = [ip_address(field, item) for item in value]
    if len(set(addresses)) != len(addresses):
        raise invalid(field, "must not repeat an address")
    return addresses


def addresses_match_type(record_type: str, addresses: list[str]) -> None:
    """Check that a domain's addresses agree with its record type."""
    families = {6 if ":" in address else 4 for address in addresses}
    allowed = {"A": {4}, "AAAA": {6}, "A+AAAA": {4, 6}}[record_type]
    if not families <= allowed:
        raise invalid("addresses", f"type {record_type} does not allow IPv{max(families - allowed)}")
