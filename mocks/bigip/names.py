"""Names, paths and addresses as BIG-IP spells them.

Objects live in partitions and are named by full path, ``/Partition/name``; URIs write the
path with ``~`` for ``/`` (``~Common~pool1``), and a bare name means ``/Common``. Pool
member names are ``<node>:<port>``, with ``.`` before the port when the node is an IPv6
address (``2001:db8::1.80``), and a virtual server's ``destination`` is
``/Partition/<address>:<port>`` the same way. Route domain 0 (``%0``) is the only one
this unit has: it is accepted and dropped, any other ``%N`` is refused.

These are pure functions; they raise ``ValueError`` with a reason, which the callers turn
into the device's error answer.
"""

from __future__ import annotations

import ipaddress
import re

NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
MAX_NAME = 190
FQDN_LABEL = re.compile(r"(\*|[A-Za-z0-9_*?]([A-Za-z0-9_*?-]*[A-Za-z0-9_*?])?)")
PORT_NAMES = {"any": 0}
ROUTE_DOMAIN_ZERO = re.compile(r"%0(?=$|[:.])")


def split_path(text: str, *, default_partition: str = "Common") -> tuple[str, str]:
    """``/P/name`` → (P, name); a bare ``name`` lies in ``default_partition``.

    A path with more than two parts (a sub-folder) keeps its tail in the name."""
    if not text.startswith("/"):
        return default_partition, text
    partition, _, name = text[1:].partition("/")
    return partition, name


def split_identifier(raw: str) -> tuple[str, str]:
    """A URI identifier: ``~P~name`` → (P, name) with further ``~`` read as ``/``; a bare
    ``name`` → (Common, name)."""
    if not raw.startswith("~"):
        return "Common", raw
    partition, _, name = raw[1:].partition("~")
    return partition, name.replace("~", "/")


def valid_name(name: str) -> bool:
    """An object name BIG-IP accepts: an address-style name, or a letter followed by letters,
    digits and ``._-`` (no spaces, no leading digit), at most 190 characters."""
    if not name or len(name) > MAX_NAME:
        return False
    return bool(NAME.fullmatch(name)) or address_name(name) is not None


def address_name(name: str) -> str | None:
    """The normalised address when ``name`` is an address, ``address:port`` or ``v6.port``."""
    address = parse_address(name)
    if address is not None:
        return address
    try:
        node, _port = split_member(name)
    except ValueError:
        return None
    return parse_address(node)


def drop_route_domain_zero(name: str) -> str:
    """``10.1.1.1%0:80`` → ``10.1.1.1:80``: route domain 0 is the default and is not shown."""
    return ROUTE_DOMAIN_ZERO.sub("", name)


def valid_fqdn(name: str) -> bool:
    """A wide IP name: a domain name of at least two labels; ``*`` and ``?`` wildcards allowed."""
    text = name.removesuffix(".")
    labels = text.split(".")
    return 0 < len(text) <= 253 and len(labels) >= 2 and all(len(x) <= 63 and FQDN_LABEL.fullmatch(x) for x in labels)


def parse_address(text: str) -> str | None:
    """A unicast IPv4 or IPv6 address, normalised (``%0`` dropped); None when not an address.

    Raises ValueError for a route domain other than 0."""
    address, sep, domain = text.partition("%")
    if sep and domain != "0":
        if domain.isdigit():
            raise ValueError(f"route domain {domain} does not exist")
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return str(parsed)


def is_v6(address: str) -> bool:
    return ":" in address


def split_member(name: str) -> tuple[str, int]:
    """``node:port`` or ``v6address.port`` → (node, port); ValueError when malformed."""
    if name.count(":") > 1:
        node, sep, port_text = name.rpartition(".")
    else:
        node, sep, port_text = name.rpartition(":")
    if not sep or not node:
        raise ValueError(f"{name!r} is not <node>:<port>")
    return node, parse_port(port_text)


def parse_port(text: str) -> int:
    if text in PORT_NAMES:
        return PORT_NAMES[text]
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise ValueError(f"{text!r} is not a port")
    return int(text)


def member_name(node: str, port: int) -> str:
    """The member name for a node name (or address) and a port."""
    return f"{node}.{port}" if is_v6(node) and parse_address(node) is not None else f"{node}:{port}"


def parse_destination(text: str, *, partition: str) -> tuple[str, str, int]:
    """``[/P/]address:port`` (``.port`` for IPv6) → (P, address, port); ValueError otherwise."""
    folder, rest = split_path(text, default_partition=partition)
    if "/" in rest:
        raise ValueError(f"{text!r} names a sub-folder")
    node, port = split_member(rest)
    address = parse_address(node)
    if address is None:
        raise ValueError(f"{node!r} is not an IP address")
    return folder, address, port


def destination_text(partition: str, address: str, port: int) -> str:
    return f"/{partition}/{member_name(address, port)}"


def host_mask(address: str) -> str:
    return "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" if is_v6(address) else "255.255.255.255"
