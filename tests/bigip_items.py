"""LTM list items as a BIG-IP may send them, each paired with what observing must make of it.

The BIG-IP's counterpart of ``tests/adc_items.py``. A good item is drawn as the model object(s) it
stands for and where it lives (the bridge's partition ``k8s``, ``Common`` or another partition),
then written as a unit does: ``fullPath``, ``kind``, ``selfLink``, ``generation``, ``%0`` route
domains, addresses in more than one spelling, monitors as ``/Common/http and /Common/tcp `` (with
the unit's trailing space), members inline under ``membersReference`` with ``.`` before the port of
an IPv6-named node. Its expectation is written here from the drawn values and the mapping the
dialect documents (a bare name in our partition, a full path elsewhere; a node outside our
partition and ``Common`` is not ``shared``), never by the parser under test. A garbage item is a
good one with exactly one thing broken (a required field gone, a field of the wrong type or an
unreadable value, a member list that is not a list, one bad member) or a JSON value that is no
object; its expectation is nothing.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from adcbridge.model import AdcMember, AdcNode, AdcPool, AdcVserver, join_host_port
from tests.adc_items import EXTRA_FIELDS, NOT_MAPPINGS, NOT_TEXT, PORTS, TEXT, IpAddress, Item, Wire, canonical

PARTITION = "k8s"
COLLECTIONS = ("node", "pool", "virtual")  # the last segment of each list path (tm/ltm/<collection>)
FOLDERS = st.sampled_from([PARTITION, PARTITION, "Common", "team-b"])
MODES = {"round-robin": "rr", "ratio-member": "wrr", "least-connections-member": "lc"}
OTHER_MODES = ["dynamic-ratio-member", "fastest-node", "observed-member"]  # kept by name: the planner corrects them
SESSIONS = {"user-enabled": True, "monitor-enabled": True, "user-disabled": False}


def model_name(folder: str, name: str) -> str:
    """How the model names an object: bare in our partition, by full path elsewhere."""
    return name if folder == PARTITION else f"/{folder}/{name}"


def spelled_address(address: IpAddress) -> st.SearchStrategy[str]:
    """An address as a unit may write it: compressed, exploded, upper-case, in route domain ``%0``."""
    spellings = sorted({address.compressed, address.exploded, address.compressed.upper()})
    return st.sampled_from(spellings).flatmap(lambda text: st.sampled_from([text, f"{text}%0"]))


def unit_fields(draw: st.DrawFn, kind: str, folder: str, name: str) -> Wire:
    """What every object of a unit carries besides its own fields."""
    return {
        **draw(EXTRA_FIELDS),
        "kind": f"tm:ltm:{kind}:{kind}state",
        "name": name,
        "partition": folder,
        "fullPath": f"/{folder}/{name}",
        "generation": draw(st.integers(1, 10**6)),
        "selfLink": f"https://localhost/mgmt/tm/ltm/{kind}/~{folder}~{name}?ver=17.1.1",
    }


@st.composite
def description(draw: st.DrawFn) -> tuple[Wire, str]:
    text = draw(st.one_of(st.none(), TEXT))
    return ({} if text is None else {"description": text}), text or ""


@st.composite
def session(draw: st.DrawFn) -> tuple[Wire, bool]:
    value = draw(st.one_of(st.none(), st.sampled_from(sorted(SESSIONS))))
    return ({} if value is None else {"session": value}), SESSIONS.get(value or "user-enabled", True)


@st.composite
def good_node(draw: st.DrawFn, name: str) -> Item:
    folder, address = draw(FOLDERS), draw(st.ip_addresses())
    described, text = draw(description())
    sessioned, enable = draw(session())
    wire = {**unit_fields(draw, "node", folder, name), "address": draw(spelled_address(address))}
    wire.update({**described, **sessioned, "state": draw(st.sampled_from(["up", "unchecked", "down"]))})
    shared = folder in (PARTITION, "Common")
    return Item(wire, (AdcNode(model_name(folder, name), canonical(address), text, enable, shared=shared),))


@st.composite
def good_member(draw: st.DrawFn, pool: str, index: int) -> tuple[Wire, AdcMember]:
    folder = draw(st.sampled_from([PARTITION, "Common"]))
    ipv6 = draw(st.booleans())
    node = f"2001:db8::{index + 1:x}" if ipv6 else f"n{index}"
    port = draw(st.integers(0, 65535))  # 0: any port
    member = f"{node}.{port}" if ipv6 else f"{node}:{port}"
    described, text = draw(description())
    sessioned, enable = draw(session())
    wire: Wire = {
        **draw(EXTRA_FIELDS),
        "kind": "tm:ltm:pool:members:membersstate",
        "name": member,
        "partition": folder,
        "fullPath": f"/{folder}/{member}",
        "address": f"10.1.0.{index}",
        **described,
        **sessioned,
    }
    ratio = draw(st.one_of(st.none(), st.integers(1, 100)))
    if ratio is not None:
        wire["ratio"] = ratio
    return wire, AdcMember(pool, model_name(folder, node), port, ratio or 1, text, enable)


def monitor_path(name: str) -> str:
    return name if name.startswith("/") else f"/Common/{name}"


@st.composite
def monitors(draw: st.DrawFn) -> tuple[Wire, tuple[str, ...]]:
    """``monitor`` as a unit writes it, and the health checks it stands for."""
    way = draw(st.sampled_from(["none", "absent", "and", "min"]))
    if way == "absent":
        return {}, ()
    if way == "none":
        return {"monitor": draw(st.sampled_from(["", "none", "default"]))}, ()
    known = ["http", "tcp", "gateway_icmp", f"/{PARTITION}/probe"]
    names = draw(st.lists(st.sampled_from(known), min_size=1, unique=True))
    if way == "min":
        text = f"min 1 of {{ {' '.join(monitor_path(name) for name in names)} }}"
        return {"monitor": text + " "}, (text,)
    return {"monitor": " and ".join(map(monitor_path, names)) + draw(st.sampled_from(["", " "]))}, tuple(names)


@st.composite
def good_pool(draw: st.DrawFn, name: str) -> Item:
    folder = draw(st.sampled_from([PARTITION, "Common"]))
    pool = model_name(folder, name)
    wire = unit_fields(draw, "pool", folder, name)
    described, text = draw(description())
    monitored, checks = draw(monitors())
    wire.update({**described, **monitored})
    mode = draw(st.one_of(st.none(), st.sampled_from([*MODES, *OTHER_MODES])))
    if mode is not None:
        wire["loadBalancingMode"] = mode
    members = [draw(good_member(pool, index)) for index in range(draw(st.integers(0, 3)))]
    reference: Wire = {"link": f"https://localhost/mgmt/tm/ltm/pool/~{folder}~{name}/members", "isSubcollection": True}
    if members or draw(st.booleans()):  # a unit leaves ``items`` out of an empty collection
        reference["items"] = [member for member, _ in members]
    if members or draw(st.booleans()):
        wire["membersReference"] = reference
    method = MODES.get(mode or "round-robin", mode or "rr")
    expected = AdcPool(pool, method, checks, text)
    return Item(wire, (expected, *(member for _, member in members)))


TRANSLATIONS = {"automap": {"type": "automap"}, "none": {"type": "none"}}


@st.composite
def translation(draw: st.DrawFn) -> tuple[Wire, str]:
    """``sourceAddressTranslation`` and the SNAT setting it stands for (absent: none)."""
    way = draw(st.sampled_from(["absent", "automap", "none", "snat-common", "snat-ours"]))
    if way == "absent":
        return {}, "none"
    if way in TRANSLATIONS:
        return {"sourceAddressTranslation": TRANSLATIONS[way]}, way
    pool = "snat-pool" if way == "snat-common" else f"/{PARTITION}/snat-pool"
    return {"sourceAddressTranslation": {"type": "snat", "pool": monitor_path(pool)}}, pool


@st.composite
def good_virtual(draw: st.DrawFn, name: str) -> Item:
    folder = draw(st.sampled_from([PARTITION, "Common"]))
    address, port = draw(st.ip_addresses()), draw(PORTS)
    host = draw(spelled_address(address))
    separator = "." if address.version == 6 else ":"
    wire = {**unit_fields(draw, "virtual", folder, name), "destination": f"/{folder}/{host}{separator}{port}"}
    protocol = draw(st.one_of(st.none(), st.sampled_from(["tcp", "udp", "sctp"])))
    if protocol is not None:
        wire["ipProtocol"] = protocol
    pool = draw(st.one_of(st.none(), st.sampled_from([f"/{folder}/p1", "/Common/admin-pool"])))
    if pool is not None:
        wire["pool"] = pool
    translated, snat = draw(translation())
    described, text = draw(description())
    enable = draw(st.booleans())
    wire.update({**translated, **described, ("enabled" if enable else "disabled"): True})
    wire["profilesReference"] = {"link": "https://localhost/mgmt/tm/ltm/virtual/x/profiles", "isSubcollection": True}
    pool_name = "" if pool is None else pool.removeprefix(f"/{PARTITION}/")
    vip = join_host_port(canonical(address), port)
    expected = AdcVserver(model_name(folder, name), vip, protocol or "tcp", pool_name, text, enable, snat=snat)
    return Item(wire, (expected,))


GOOD = {"node": good_node, "pool": good_pool, "virtual": good_virtual}


# ---------------------------------------------------------------------------- garbage

NOT_ADDRESS = st.one_of(
    NOT_TEXT,
    st.sampled_from(["", "any", "999.0.0.1", "10.0.0", "10.0.0.1%2", "2001:db8::1%2", "node-a", "10.0.0.1/24"]),
)
NOT_MEMBER_NAME = st.one_of(
    NOT_TEXT,
    st.sampled_from(["/k8s/n0", "/k8s/n0:", "/k8s/n0:http", "/k8s/n0:\u0668\u0660", "/k8s/n0:65536", "/k8s/n0:-1"]),
)
NOT_DESTINATION = st.one_of(
    NOT_TEXT,
    st.sampled_from(
        [
            "/k8s/192.0.2.1",
            "/k8s/192.0.2.1:",
            "/k8s/192.0.2.1:http",
            "/k8s/300.1.1.1:80",
            "/k8s/192.0.2.1:65536",
            "/k8s/192.0.2.1%2:80",
            "/k8s/2001:db8::1:443",  # IPv6 with ``:`` before the port: the unit writes ``.``
            "/k8s/192.0.2.1:\u0668\u0660",
        ]
    ),
)
NOT_TRANSLATION = st.one_of(
    st.sampled_from([["automap"], "automap", 1, True]),  # not an object
    st.sampled_from([{"type": "snat"}, {"type": "snat", "pool": 5}, {"type": "lsn"}, {"type": None}, {"type": 1}]),
)
NOT_MEMBERS_REFERENCE = st.one_of(
    st.sampled_from([["/k8s/n0:80"], [], "members", "", 1, 0, True, False, None]),  # not an object
    st.sampled_from(["many", 5, {"n0:80": {}}, None]).map(lambda items: {"isSubcollection": True, "items": items}),
)
NOT_RATIO = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.sampled_from(["1", "", "x"]))

REQUIRED, OPTIONAL = True, False
FIELDS: dict[str, dict[str, tuple[bool, st.SearchStrategy[Any]]]] = {
    "node": {
        "fullPath": (REQUIRED, NOT_TEXT),
        "address": (REQUIRED, NOT_ADDRESS),
        "description": (OPTIONAL, NOT_TEXT),
        "session": (OPTIONAL, NOT_TEXT),
    },
    "pool": {
        "fullPath": (REQUIRED, NOT_TEXT),
        "loadBalancingMode": (OPTIONAL, NOT_TEXT),
        "monitor": (OPTIONAL, NOT_TEXT),
        "description": (OPTIONAL, NOT_TEXT),
        "membersReference": (OPTIONAL, NOT_MEMBERS_REFERENCE),
    },
    "member": {
        "fullPath": (REQUIRED, NOT_MEMBER_NAME),
        "ratio": (OPTIONAL, NOT_RATIO),
        "description": (OPTIONAL, NOT_TEXT),
        "session": (OPTIONAL, NOT_TEXT),
    },
    "virtual": {
        "fullPath": (REQUIRED, NOT_TEXT),
        "destination": (REQUIRED, NOT_DESTINATION),
        "ipProtocol": (OPTIONAL, NOT_TEXT),
        "pool": (OPTIONAL, st.one_of(st.integers(1), st.just(["p1"]), st.just({"name": "p1"}))),
        "sourceAddressTranslation": (OPTIONAL, NOT_TRANSLATION),
        "description": (OPTIONAL, NOT_TEXT),
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
    reference = wire.get("membersReference") or {"isSubcollection": True}
    members = list(reference.get("items", [])) or [{"fullPath": "/k8s/n0:80"}]
    index = draw(st.integers(0, len(members) - 1))
    members[index] = draw(st.one_of(NOT_MAPPINGS, broken(members[index], "member")))
    return {**wire, "membersReference": {**reference, "items": members}}


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
    return [
        draw(st.one_of(GOOD[collection](f"item-{index}"), garbage(collection, f"item-{index}")))
        for index in range(draw(st.integers(0, 7)))
    ]


UNIT_LISTS = st.fixed_dictionaries({collection: listed(collection) for collection in COLLECTIONS})
