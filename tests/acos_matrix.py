"""The fault matrix's view of an ACOS unit: its native objects read from the emulator's ``/_mock/state``.

A small reader written here, never the dialect's mapping (``adcbridge/adc/acos/objects.py``): the
objects an owner holds in the bridge's partition, in the shape of :func:`expected`, which writes out
what a cluster asks of an ACOS unit from the documented naming and mapping alone (servers
``k8s-<owner>-<node>`` with a port per nodePort, service groups ``k8s-<owner>-<port>-tcp`` round robin
without a monitor, members ``<server>+<nodePort>``, one virtual-server ``k8s-<owner>-<vip>`` holding a
virtual port ``<port>+tcp`` per exposed port, named ``k8s-<owner>-<vip>-<port>-tcp``, auto NAT on),
every one carrying the owner's marker in ``user-tag``. The acos dialect publishes no names. Foreign
objects are an administrator's in ``shared``, another cluster's in a partition of its own, and a
look-alike of ours in our partition.
"""

from __future__ import annotations

import json
from typing import Any

PARTITION = "k8s"
OTHER = "other"
OTHER_MARKER = "managed-by=adcbridge;owner=other-cluster"
ENV = {
    "ADCBRIDGE_ADC__DIALECT": "acos",
    "ADCBRIDGE_ADC__PARTITION": PARTITION,
    "ADCBRIDGE_ADC__VERIFY_TLS": "false",
    "ADCBRIDGE_DNS__TARGETS": "[]",
}
SLB = ("slb/server", "slb/service-group", "slb/virtual-server")
PARTITION_MISSING = f"partition {PARTITION!r} does not exist on the ACOS unit"


def _post(path: str, wrapper: str, partition: str, **body: Any) -> dict[str, Any]:
    return {"method": "POST", "path": f"/axapi/v3/{path}", "body": {wrapper: body}, "partition": partition}


def _partition(name: str, number: int) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/axapi/v3/partition",
        "body": {"partition": {"partition-name": name, "id": number}},
    }


# What an administrator and another cluster made before any bridge ran (``/_mock/seed``).
FOREIGN_SEED: list[dict[str, Any]] = [
    _partition(PARTITION, 1),
    _partition(OTHER, 2),
    _post("slb/server/", "server", "shared", name="legacy-node", host="10.9.9.2"),
    _post(
        "slb/service-group/",
        "service-group",
        "shared",
        name="legacy-pool",
        protocol="tcp",
        **{"lc-method": "least-connection", "member-list": [{"name": "legacy-node", "port": 80}]},
    ),
    _post(
        "slb/virtual-server/",
        "virtual-server",
        "shared",
        name="legacy-vs",
        **{
            "ip-address": "192.0.2.98",
            "port-list": [{"port-number": 443, "protocol": "tcp", "service-group": "legacy-pool"}],
        },
    ),
    _post("slb/server/", "server", OTHER, name="other-node", host="10.9.9.1", **{"user-tag": OTHER_MARKER}),
    _post(
        "slb/service-group/",
        "service-group",
        OTHER,
        name="other-pool",
        **{"user-tag": OTHER_MARKER, "member-list": [{"name": "other-node", "port": 8080}]},
    ),
    _post(
        "slb/virtual-server/",
        "virtual-server",
        OTHER,
        name="other-vs",
        **{
            "ip-address": "192.0.2.99",
            "user-tag": OTHER_MARKER,
            "port-list": [{"port-number": 80, "protocol": "tcp", "service-group": "other-pool"}],
        },
    ),
    _post(
        "slb/server/",
        "server",
        PARTITION,
        name="k8s-e2e-lookalike",
        host="10.9.9.3",
        **{"user-tag": "managed-by=adcbridge;owner=e2e-x"},
    ),
]
FOREIGN: dict[str, dict[str, frozenset[str]]] = {  # partition → table → names
    "shared": {
        "slb/server": frozenset({"legacy-node"}),
        "slb/service-group": frozenset({"legacy-pool"}),
        "slb/virtual-server": frozenset({"legacy-vs"}),
    },
    OTHER: {
        "slb/server": frozenset({"other-node"}),
        "slb/service-group": frozenset({"other-pool"}),
        "slb/virtual-server": frozenset({"other-vs"}),
    },
    PARTITION: {"slb/server": frozenset({"k8s-e2e-lookalike"})},
}


def expected(
    owner: str, nodes: tuple[tuple[str, str], ...], vip: str, ports: tuple[tuple[int, int], ...]
) -> dict[str, dict[Any, Any]]:
    """What a cluster asks of an ACOS unit, in the shape of :func:`owned_objects`."""
    name = f"k8s-{owner}"
    groups = {f"{name}-{port}-tcp": node_port for port, node_port in ports}
    return {
        "slb/server": {
            f"{name}-{node}": (ip, "enable", frozenset(f"{node_port}+tcp" for _, node_port in ports))
            for node, ip in nodes
        },
        "slb/service-group": dict.fromkeys(groups, ("tcp", "round-robin", None)),
        "members": {
            (group, f"{name}-{node}+{node_port}"): "enable" for group, node_port in groups.items() for node, _ in nodes
        },
        "slb/virtual-server": {f"{name}-{vip}": vip} if ports else {},
        "ports": {
            (f"{name}-{vip}", f"{port}+tcp"): (f"{name}-{vip}-{port}-tcp", f"{name}-{port}-tcp", 1, "enable")
            for port, _ in ports
        },
    }


def owned_objects(state: dict[str, Any], owner: str) -> dict[str, dict[Any, Any]]:
    """The objects of our partition carrying ``owner``'s marker, members of its service groups and
    virtual ports of its virtual-servers included."""
    marker = f"managed-by=adcbridge;owner={owner}"
    objects = state["objects"][PARTITION]

    def ours(table: str) -> list[dict[str, Any]]:
        return [item for item in objects[table] if item.get("user-tag") == marker]

    return {
        "slb/server": {
            s["name"]: (
                s.get("host") or s.get("server-ipv6-addr"),
                s["action"],
                frozenset(_keys(s.get("port-list", []))),
            )
            for s in ours("slb/server")
        },
        "slb/service-group": {
            g["name"]: (g["protocol"], g.get("lb-method") or g.get("lc-method"), g.get("health-check"))
            for g in ours("slb/service-group")
        },
        "members": {
            (g["name"], f"{m['name']}+{m['port']}"): m["member-state"]
            for g in ours("slb/service-group")
            for m in g.get("member-list", [])
        },
        "slb/virtual-server": {
            v["name"]: v.get("ip-address") or v.get("ipv6-address") for v in ours("slb/virtual-server")
        },
        "ports": {
            (v["name"], f"{p['port-number']}+{p['protocol']}"): (
                p.get("name"),
                p.get("service-group"),
                p.get("auto", 0),
                p.get("action"),
            )
            for v in ours("slb/virtual-server")
            for p in v.get("port-list", [])
        },
    }


def _keys(ports: list[dict[str, Any]]) -> list[str]:
    return [f"{port['port-number']}+{port['protocol']}" for port in ports]


def all_names(state: dict[str, Any]) -> dict[str, set[str]]:
    """Every object of the unit, ``<partition>/<name>`` by table; members and virtual ports by their key."""
    names: dict[str, set[str]] = {}
    for partition, tables in state["objects"].items():
        for table in SLB:
            for item in tables.get(table, []):
                names.setdefault(table, set()).add(f"{partition}/{item['name']}")
                if table == "slb/service-group":
                    for member in item.get("member-list", []):
                        names.setdefault("members", set()).add(
                            f"{partition}/{item['name']}/{member['name']}+{member['port']}"
                        )
                if table == "slb/virtual-server":
                    for key in _keys(item.get("port-list", [])):
                        names.setdefault("ports", set()).add(f"{partition}/{item['name']}/{key}")
    return {table: found for table, found in names.items() if found}


def expected_names(wanted: list[dict[str, dict[Any, Any]]], state: dict[str, Any]) -> dict[str, set[str]]:
    """The names of the foreign objects (their members and ports as the unit holds them) and of ``wanted``."""
    names: dict[str, set[str]] = {}
    foreign = json.loads(pick_foreign(state))
    for partition, tables in foreign.items():
        for table, items in tables.items():
            for item in items:
                names.setdefault(table, set()).add(f"{partition}/{item['name']}")
                for member in item.get("member-list", []):
                    names.setdefault("members", set()).add(
                        f"{partition}/{item['name']}/{member['name']}+{member['port']}"
                    )
                for key in _keys(item.get("port-list", []) if table == "slb/virtual-server" else []):
                    names.setdefault("ports", set()).add(f"{partition}/{item['name']}/{key}")
    for objects in wanted:
        for table in SLB:
            names.setdefault(table, set()).update(f"{PARTITION}/{name}" for name in objects[table])
        names.setdefault("members", set()).update(
            f"{PARTITION}/{group}/{member}" for group, member in objects["members"]
        )
        names.setdefault("ports", set()).update(f"{PARTITION}/{vs}/{key}" for vs, key in objects["ports"])
    return {table: found for table, found in names.items() if found}


def pick_foreign(state: dict[str, Any]) -> str:
    """The foreign objects of ``state``, as canonical JSON (uuids included: a change shows)."""
    objects = state["objects"]
    picked = {
        partition: {
            table: sorted(
                (item for item in objects.get(partition, {}).get(table, []) if item["name"] in names),
                key=lambda i: i["name"],
            )
            for table, names in tables.items()
        }
        for partition, tables in FOREIGN.items()
    }
    return json.dumps(picked, sort_keys=True)


def succeeded(change: dict[str, Any]) -> bool:
    return 200 <= int(change["status"]) < 300


def recreated(changes: list[dict[str, Any]]) -> list[str]:
    """Objects deleted and then created again (both successfully) within ``changes``."""
    deleted: set[tuple[str, str]] = set()
    churned = []
    for change in changes:
        if not succeeded(change):
            continue
        for name in str(change["name"]).split(","):
            key = (change["kind"], f"{change['partition']}/{name}")
            if change["method"] == "DELETE":
                deleted.add(key)
            elif change["method"] == "POST" and key in deleted:
                churned.append(f"{key[0]} {key[1]}")
    return churned
