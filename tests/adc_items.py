"""List items as an appliance may send them, each paired with what observing must make of it.

A good item is drawn as the model object it stands for, then written in one of the spellings
firmware uses (numbers as digit strings, upper-case or exploded IPv6, a trailing dot, extra
runtime fields); its expectation is that object. A garbage item is a good one with exactly one
thing broken (a required field missing, a field of the wrong type or an unreadable value, one
bad member in a pool) or a JSON value that is no object at all; its expectation is nothing.
The expectation is built from the drawn values, never by the parser under test, so a parser
that keeps garbage or drops a good item disagrees with it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from adcbridge.model import AdcDomain, AdcMember, AdcNode, AdcObject, AdcPool, AdcVserver

Wire = dict[str, Any]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
COLLECTIONS = ("node", "pool", "vserver", "domain")  # the last segment of each list path


@dataclass(frozen=True)
class Item:
    wire: Any  # what the appliance sends
    objects: tuple[AdcObject, ...]  # what the observed state must hold for it (none for garbage)


# ---------------------------------------------------------------------------- good values, spelled

FLOATS = st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=8))
EXTRA_FIELDS = st.dictionaries(st.sampled_from(["uuid", "status", "stats", "partition"]), SCALARS, max_size=2)
TEXT = st.text(max_size=12)
PORTS = st.integers(1, 65535)


def canonical(address: IpAddress) -> str:
    return address.compressed


def spelled_ip(address: IpAddress) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({address.compressed, address.exploded, address.compressed.upper()}))


def spelled_number(number: int) -> st.SearchStrategy[int | str]:
    return st.sampled_from([number, str(number)])


@st.composite
def optional_fields(draw: st.DrawFn) -> tuple[Wire, str, bool]:
    """``description`` and ``enable``, each present or not: (wire fields, description, enable)."""
    wire: Wire = {}
    description = draw(st.one_of(st.none(), TEXT))
    if description is not None:
        wire["description"] = description
    flag = draw(st.sampled_from([None, True, False, "true", "false"]))
    if flag is not None:
        wire["enable"] = flag
    return wire, description or "", flag in (None, True, "true")


@st.composite
def good_node(draw: st.DrawFn, name: str) -> Item:
    address = draw(st.ip_addresses())
    extra, description, enable = draw(optional_fields())
    wire = {**draw(EXTRA_FIELDS), "name": name, "ip": draw(spelled_ip(address)), **extra}
    return Item(wire, (AdcNode(name, canonical(address), description, enable),))


@st.composite
def good_member(draw: st.DrawFn, pool: str, node: str) -> tuple[Wire, AdcMember]:
    port = draw(PORTS)
    extra, description, enable = draw(optional_fields())
    wire = {**draw(EXTRA_FIELDS), "node": node, "port": draw(spelled_number(port)), **extra}
    weight = draw(st.one_of(st.none(), st.integers(1, 255)))
    if weight is not None:
        wire["weight"] = draw(spelled_number(weight))
    return wire, AdcMember(pool, node, port, weight or 1, description, enable)


@st.composite
def good_pool(draw: st.DrawFn, name: str) -> Item:
    extra, description, enable = draw(optional_fields())
    wire: Wire = {**draw(EXTRA_FIELDS), "name": name, **extra}
    method = draw(st.one_of(st.none(), st.sampled_from(["rr", "lc", "ip-hash"])))
    if method is not None:
        wire["method"] = method
    checks = draw(st.one_of(st.none(), st.lists(st.sampled_from(["tcp", "http", "icmp"]), unique=True)))
    if checks is not None:
        wire["healthcheck"] = checks
    members = [draw(good_member(name, f"n{index}")) for index in range(draw(st.integers(0, 3)))]
    wire["rservers"] = [member for member, _ in members]
    pool = AdcPool(name, method or "rr", tuple(checks or ()), description, enable)
    return Item(wire, (pool, *(member for _, member in members)))


@st.composite
def good_vserver(draw: st.DrawFn, name: str) -> Item:
    address, port = draw(st.ip_addresses()), draw(PORTS)
    host = draw(spelled_ip(address))
    vip = f"[{host}]:{port}" if address.version == 6 else f"{host}:{port}"
    protocol = draw(st.sampled_from(["tcp", "udp", "http", "https"]))
    extra, description, enable = draw(optional_fields())
    wire = {**draw(EXTRA_FIELDS), "name": name, "vip": vip, "pool": "p1", **extra}
    wire["protocol"] = draw(st.sampled_from([protocol, protocol.upper()]))
    expected_vip = f"[{canonical(address)}]:{port}" if address.version == 6 else f"{canonical(address)}:{port}"
    return Item(wire, (AdcVserver(name, expected_vip, protocol, "p1", description, enable),))


@st.composite
def good_domain(draw: st.DrawFn, name: str) -> Item:
    addresses = draw(st.lists(st.ip_addresses(), min_size=1, max_size=3, unique=True))
    record_type = draw(st.sampled_from(["A", "AAAA", "A+AAAA"]))
    ttl = draw(st.one_of(st.none(), st.integers(1, 604800)))
    extra, description, enable = draw(optional_fields())
    wire: Wire = {**draw(EXTRA_FIELDS), "name": draw(st.sampled_from([name, name.upper(), name + "."])), **extra}
    wire["type"] = draw(st.sampled_from([record_type, record_type.lower()]))
    wire["addresses"] = [draw(spelled_ip(address)) for address in addresses]
    if ttl is not None:
        wire["ttl"] = draw(spelled_number(ttl))
    ordered = sorted(addresses, key=lambda address: (address.version, int(address)))
    domain = AdcDomain(name, record_type, tuple(map(canonical, ordered)), ttl or 300, description, enable)
    return Item(wire, (domain,))


GOOD = {"node": good_node, "pool": good_pool, "vserver": good_vserver, "domain": good_domain}


# ---------------------------------------------------------------------------- garbage

NOT_MAPPINGS = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
NOT_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    FLOATS,
    st.lists(TEXT, max_size=2),
    st.dictionaries(TEXT, st.integers(), max_size=2),
)
NOT_NUMBER = st.one_of(
    st.none(),
    st.booleans(),
    FLOATS,  # 80.0 is not a port
    st.sampled_from(["", "80a", "-1", "+80", "8 0", "0x50", "\u0668\u0660"]),  # "٨٠": digits, not ASCII
    st.lists(st.integers(), min_size=1, max_size=2),
)
NOT_FLAG = st.one_of(st.none(), st.integers(), st.sampled_from(["", "yes", "no", "on", "1"]), st.lists(st.booleans()))
NOT_IP = st.one_of(NOT_TEXT, st.sampled_from(["", "999.0.0.1", "10.0.0", "2001:db8::g", "node-a", "10.0.0.1/24"]))
NOT_VIP = st.one_of(
    NOT_TEXT,
    st.sampled_from(["192.0.2.1", "192.0.2.1:", ":80", "192.0.2.1:http", "[2001:db8::1]", "300.1.1.1:80"]),
    st.just("192.0.2.1:\u0668\u0660"),  # Arabic-Indic digits are not a port
)
NOT_NAMES = st.one_of(st.sampled_from(["tcp", 1, True, 2.5, {"tcp": 1}]), st.lists(NOT_TEXT, min_size=1, max_size=2))
NOT_MEMBERS = st.sampled_from(["n0:80", 1, True, {"node": "n0", "port": 80}])
NOT_ADDRESSES = st.one_of(
    st.sampled_from([None, "192.0.2.1", 1, {"192.0.2.1": 1}, ["999.0.0.1"], ["192.0.2.1", 5]]),
    st.lists(NOT_TEXT, min_size=1, max_size=2),
)

# Per kind: field -> (required, values that field must not accept).
REQUIRED, OPTIONAL = True, False
COMMON = {"description": (OPTIONAL, NOT_TEXT), "enable": (OPTIONAL, NOT_FLAG)}
FIELDS: dict[str, dict[str, tuple[bool, st.SearchStrategy[Any]]]] = {
    "node": {**COMMON, "name": (REQUIRED, NOT_TEXT), "ip": (REQUIRED, NOT_IP)},
    "pool": {
        **COMMON,
        "name": (REQUIRED, NOT_TEXT),
        "method": (OPTIONAL, NOT_TEXT),
        "healthcheck": (OPTIONAL, NOT_NAMES),
        "rservers": (OPTIONAL, NOT_MEMBERS),
    },
    "member": {
        **COMMON,
        "node": (REQUIRED, NOT_TEXT),
        "port": (REQUIRED, NOT_NUMBER),
        "weight": (OPTIONAL, NOT_NUMBER),
    },
    "vserver": {
        **COMMON,
        "name": (REQUIRED, NOT_TEXT),
        "vip": (REQUIRED, NOT_VIP),
        "protocol": (REQUIRED, NOT_TEXT),
        "pool": (REQUIRED, NOT_TEXT),
    },
    "domain": {
        **COMMON,
        "name": (REQUIRED, NOT_TEXT),
        "type": (REQUIRED, NOT_TEXT),
        "addresses": (REQUIRED, NOT_ADDRESSES),
        "ttl": (OPTIONAL, NOT_NUMBER),
    },
}


@st.composite
def broken(draw: st.DrawFn, wire: Wire, kind: str) -> Wire:
    """``wire`` with one field gone (if required) or holding a value it must not accept."""
    field = draw(st.sampled_from(sorted(FIELDS[kind])))
    required, wrong = FIELDS[kind][field]
    if required and draw(st.booleans()):
        return {key: value for key, value in wire.items() if key != field}
    return {**wire, field: draw(wrong)}


@st.composite
def with_a_broken_member(draw: st.DrawFn, wire: Wire) -> Wire:
    """A pool whose members are all good but one: unreadable as a whole."""
    members = list(wire["rservers"]) or [{"node": "n0", "port": 80}]
    index = draw(st.integers(0, len(members) - 1))
    members[index] = draw(st.one_of(NOT_MAPPINGS, broken(members[index], "member")))
    return {**wire, "rservers": members}


@st.composite
def garbage(draw: st.DrawFn, collection: str, name: str) -> Item:
    way = draw(st.sampled_from(["not an object", "a broken field", "a broken member"]))
    if way == "not an object":
        return Item(draw(NOT_MAPPINGS), ())
    wire = draw(GOOD[collection](name)).wire
    if way == "a broken member" and collection == "pool":
        return Item(draw(with_a_broken_member(wire)), ())
    return Item(draw(broken(wire, collection)), ())


@st.composite
def listed(draw: st.DrawFn, collection: str) -> list[Item]:
    """What one collection lists: good and garbage items mixed, each with a name of its own."""
    items = []
    for index in range(draw(st.integers(0, 7))):
        name = f"item-{index}" + (".example.com" if collection == "domain" else "")
        items.append(draw(st.one_of(GOOD[collection](name), garbage(collection, name))))
    return items


APPLIANCE_LISTS = st.fixed_dictionaries({collection: listed(collection) for collection in COLLECTIONS})
