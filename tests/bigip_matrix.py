"""The fault matrix's view of a BIG-IP: its native objects read from the emulator's ``/_mock/state``.

A small reader written here, never the dialect's mapping (``adcbridge/adc/bigip/objects.py``): the
objects an owner holds in the bridge's partition, in the shape of :meth:`expected`, which writes out
what a cluster asks of a BIG-IP from the documented naming and mapping alone (nodes
``k8s-<owner>-<node>``, pools ``k8s-<owner>-<port>-tcp`` round robin without a monitor of their own,
members ``/<partition>/<node>:<nodePort>``, virtual servers ``k8s-<owner>-<vip>-<port>-tcp`` on
``/<partition>/<vip>:<port>`` with SNAT automap). The bigip dialect does not publish names (DNS
targets are empty), so there are no domains. Foreign objects are an administrator's in ``Common``,
another cluster's in a partition of its own, and a look-alike of ours in our partition; a unit makes
a virtual address for every virtual server's address by itself (:data:`BUILT_IN`).
"""

from __future__ import annotations

import json
from typing import Any

PARTITION = "k8s"
OTHER = "other"
OTHER_MARKER = "managed-by=adcbridge;owner=other-cluster"
ENV = {
    "ADCBRIDGE_ADC__DIALECT": "bigip",
    "ADCBRIDGE_ADC__PARTITION": PARTITION,
    "ADCBRIDGE_ADC__VERIFY_TLS": "false",
    "ADCBRIDGE_DNS__TARGETS": "[]",
}
MEMBERS = "ltm/pool/members"  # members by "<pool path>/<member path>"
LTM = ("ltm/node", "ltm/pool", "ltm/virtual")


def _node(partition: str, name: str, address: str, **more: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/mgmt/tm/ltm/node",
        "body": {"name": name, "partition": partition, "address": address, **more},
    }


# What an administrator and another cluster made before any bridge ran (``/_mock/seed``).
FOREIGN_SEED: list[dict[str, Any]] = [
    {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": PARTITION}},
    {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": OTHER}},
    _node("Common", "legacy-node", "10.9.9.2"),
    {
        "method": "POST",
        "path": "/mgmt/tm/ltm/pool",
        "body": {
            "name": "legacy-pool",
            "partition": "Common",
            "loadBalancingMode": "least-connections-member",
            "members": [{"name": "legacy-node:80", "ratio": 5}],
        },
    },
    {
        "method": "POST",
        "path": "/mgmt/tm/ltm/virtual",
        "body": {
            "name": "legacy-vs",
            "partition": "Common",
            "destination": "/Common/192.0.2.98:443",
            "pool": "/Common/legacy-pool",
        },
    },
    _node(OTHER, "other-node", "10.9.9.1", description=OTHER_MARKER),
    {
        "method": "POST",
        "path": "/mgmt/tm/ltm/pool",
        "body": {
            "name": "other-pool",
            "partition": OTHER,
            "description": OTHER_MARKER,
            "members": ["/other/other-node:8080"],
        },
    },
    {
        "method": "POST",
        "path": "/mgmt/tm/ltm/virtual",
        "body": {
            "name": "other-vs",
            "partition": OTHER,
            "destination": "/other/192.0.2.99:80",
            "pool": "/other/other-pool",
            "description": OTHER_MARKER,
        },
    },
    _node(PARTITION, "k8s-e2e-lookalike", "10.9.9.3", description="managed-by=adcbridge;owner=e2e-x"),
]
FOREIGN: dict[str, frozenset[str]] = {
    "auth/partition": frozenset({PARTITION, OTHER}),
    "ltm/node": frozenset({"/Common/legacy-node", "/other/other-node", f"/{PARTITION}/k8s-e2e-lookalike"}),
    "ltm/pool": frozenset({"/Common/legacy-pool", "/other/other-pool"}),
    MEMBERS: frozenset({"/Common/legacy-pool//Common/legacy-node:80", "/other/other-pool//other/other-node:8080"}),
    "ltm/virtual": frozenset({"/Common/legacy-vs", "/other/other-vs"}),
}
# What a unit holds by itself: its partition Common, and a virtual address for every virtual
# server's address (the foreign ones' and our VIP's; another owner's VIPs are added from what it
# asks for, ``expected_names``). Its monitors and profiles are not in the state.
BUILT_IN: dict[str, frozenset[str]] = {
    "auth/partition": frozenset({"Common"}),
    "ltm/virtual-address": frozenset({"/Common/192.0.2.98", "/other/192.0.2.99", f"/{PARTITION}/192.0.2.10"}),
}


def expected(
    owner: str, nodes: tuple[tuple[str, str], ...], vip: str, ports: tuple[tuple[int, int], ...]
) -> dict[str, dict[Any, Any]]:
    """What a cluster asks of a BIG-IP, in the shape of :func:`owned_objects`."""
    name = f"k8s-{owner}"
    pools = {f"{name}-{port}-tcp": node_port for port, node_port in ports}
    return {
        "ltm/node": {f"{name}-{node}": (ip, "user-enabled") for node, ip in nodes},
        "ltm/pool": dict.fromkeys(pools, ("round-robin", "")),
        "members": {
            (pool, f"/{PARTITION}/{name}-{node}:{node_port}"): (1, "user-enabled")
            for pool, node_port in pools.items()
            for node, _ in nodes
        },
        "ltm/virtual": {
            f"{name}-{vip}-{port}-tcp": (
                f"/{PARTITION}/{vip}:{port}",
                "tcp",
                f"/{PARTITION}/{name}-{port}-tcp",
                True,
                "automap",
            )
            for port, _ in ports
        },
    }


def owned_objects(state: dict[str, Any], owner: str) -> dict[str, dict[Any, Any]]:
    """The objects of our partition carrying ``owner``'s marker, members of its pools included."""
    marker = f"managed-by=adcbridge;owner={owner}"
    objects = state["objects"]

    def ours(kind: str) -> list[dict[str, Any]]:
        return [item for item in objects[kind] if item["partition"] == PARTITION and item.get("description") == marker]

    return {
        "ltm/node": {n["name"]: (n["address"], n["session"]) for n in ours("ltm/node")},
        "ltm/pool": {p["name"]: (p["loadBalancingMode"], p.get("monitor", "").strip()) for p in ours("ltm/pool")},
        "members": {
            (p["name"], m["fullPath"]): (m["ratio"], m["session"]) for p in ours("ltm/pool") for m in members_of(p)
        },
        "ltm/virtual": {
            v["name"]: (
                v["destination"],
                v["ipProtocol"],
                v.get("pool", ""),
                v.get("enabled") is True,
                v["sourceAddressTranslation"]["type"],
            )
            for v in ours("ltm/virtual")
        },
    }


def members_of(pool: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = pool.get("membersReference", {}).get("items", [])
    return items


def all_names(state: dict[str, Any]) -> dict[str, set[str]]:
    """Every object of the unit by kind and full path (partitions by name), members included."""
    objects = state["objects"]
    names = {kind: {item["fullPath"] for item in objects[kind]} for kind in (*LTM, "ltm/virtual-address")}
    names["auth/partition"] = {item["name"] for item in objects["auth/partition"]}
    names[MEMBERS] = {f"{pool['fullPath']}/{m['fullPath']}" for pool in objects["ltm/pool"] for m in members_of(pool)}
    return {kind: found for kind, found in names.items() if found}


def expected_names(wanted: list[dict[str, dict[Any, Any]]]) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {kind: set(items) for kind, items in BUILT_IN.items()}
    for kind, items in FOREIGN.items():
        names.setdefault(kind, set()).update(items)
    for objects in wanted:
        for kind in LTM:
            names.setdefault(kind, set()).update(f"/{PARTITION}/{name}" for name in objects[kind])
        # The unit's virtual address for each of our virtual servers' addresses (``/P/<vip>:<port>``).
        addresses = {
            destination.rpartition("." if destination.count(":") > 1 else ":")[0]  # ``.`` before an IPv6 port
            for destination, *_ in objects["ltm/virtual"].values()
        }
        names["ltm/virtual-address"].update(addresses)
        names.setdefault(MEMBERS, set()).update(f"/{PARTITION}/{pool}/{member}" for pool, member in objects["members"])
    return names


def pick_foreign(state: dict[str, Any]) -> str:
    """The foreign objects of ``state``, as canonical JSON (``generation`` included: a change shows)."""
    objects = state["objects"]
    picked = {
        kind: sorted((item for item in objects[kind] if item["fullPath"] in FOREIGN[kind]), key=lambda i: i["fullPath"])
        for kind in LTM
    }
    return json.dumps(picked, sort_keys=True)


def member_port(member: dict[str, Any]) -> int:
    """A member's port, from its name ``<node>:<port>`` (``.`` before the port of an IPv6 node)."""
    name = str(member["name"])
    return int(name.rpartition("." if name.count(":") > 1 else ":")[2])


def members(state: dict[str, Any]) -> dict[tuple[str, int], bool]:
    """The members of our partition's pools as (node address, port) -> enabled (not user-disabled)."""
    pools = [pool for pool in state["objects"]["ltm/pool"] if pool["partition"] == PARTITION]
    return {(m["address"], member_port(m)): m["session"] != "user-disabled" for pool in pools for m in members_of(pool)}


def wideips(state: dict[str, Any]) -> set[str]:
    """The names of our partition's A wide IPs (a published host is one)."""
    return {item["name"] for item in state["objects"]["gtm/wideip/a"] if item["partition"] == PARTITION}


def ltm(state: dict[str, Any]) -> tuple[set[str], dict[tuple[str, str], str], dict[str, set[int]]]:
    """Our partition's node addresses; virtual servers as (``<vip>:<port>``, protocol) -> pool name;
    each pool's member ports."""
    objects = state["objects"]

    def ours(kind: str) -> list[dict[str, Any]]:
        return [item for item in objects[kind] if item["partition"] == PARTITION]

    return (
        {node["address"] for node in ours("ltm/node")},
        {
            (v["destination"].removeprefix(f"/{PARTITION}/"), v["ipProtocol"]): v["pool"].rpartition("/")[2]
            for v in ours("ltm/virtual")
        },
        {pool["name"]: {member_port(m) for m in members_of(pool)} for pool in ours("ltm/pool")},
    )


def succeeded(change: dict[str, Any]) -> bool:
    return 200 <= int(change["status"]) < 300 and not change.get("rolled_back")


def recreated(changes: list[dict[str, Any]]) -> list[str]:
    """Objects deleted and then created again (both successfully) within ``changes``."""
    deleted: set[tuple[str, str]] = set()
    churned = []
    for change in changes:
        key = (change["kind"], f"{change['partition']}/{change['name']}")
        if not succeeded(change):
            continue
        if change["method"] == "DELETE":
            deleted.add(key)
        elif change["method"] == "POST" and key in deleted:
            churned.append(f"{key[0]} {key[1]}")
    return churned
