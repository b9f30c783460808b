"""One engine test, every appliance: what a test needs of an emulated appliance, per ADC dialect.

The end-to-end tests of the engine (``test_bridge_against_mock.py``) run once per dialect. Their
promises are the engine's and must hold on every appliance, but each appliance is driven and read
its own way, so everything dialect-specific a test does goes through an :class:`Emulated`:

- the bridge's settings for it (``settings``), opened through ``adcbridge.adc.open_adc`` as
  production opens it (the dialect registry picks the driver);
- a reader of the appliance's NATIVE state (``/_mock/state``), written here and never the bridge's
  mapping, returning a :class:`Summary` both dialects are compared on: what carries our marker
  (nodes, pools, members, virtual servers) and the names it publishes, with their addresses;
- the writes that reached it since a point of its change log (``/_mock/changes``), as neutral
  :class:`Write` rows, and its configuration saves;
- drift made by hand as an administrator makes it (reference: PUT/DELETE on ``/adc/v3.0``; BIG-IP:
  PATCH/DELETE on ``/mgmt/tm`` with ``~partition~name``), foreign objects seeded beside ours, faults,
  the session levers (expire, clock, role, password).

The reference appliance publishes names itself (``dns/domain``). A BIG-IP publishes them on BIG-IP
DNS: wide IPs whose GTM pool's members are virtual-server entries of the operator's GTM server, so
the BIG-IP unit is prepared as an operator prepares it (the bridge's partition, a datacenter and
the GTM server in ``Common``, made outside its change log) and the bridge runs with BIG-IP DNS on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adcbridge.adc import Credentials
from adcbridge.adc.acos import AcosWire
from adcbridge.adc.bigip import BIGIP_WIRE
from adcbridge.adc.client import Wire
from adcbridge.adc.reference import REFERENCE_WIRE
from adcbridge.config import Settings
from mocks.acos import MockAcos
from mocks.adc import MockADC
from mocks.bigip import MockBigIP
from tests import bigip_matrix
from tests.acos_fixtures import ACOS_PASSWORD, ACOS_USER, Axapi
from tests.acos_fixtures import PARTITION as ACOS_PARTITION
from tests.acos_fixtures import PREPARED as ACOS_PREPARED
from tests.bigip_fixtures import (
    BIGIP_PASSWORD,
    BIGIP_USER,
    GTM_SERVER,
    PARTITION,
    PREPARED,
    Unit,
    certificate_file,
)
from tests.builders import MARK, OWNER_ID, settings
from tests.conftest import PASSWORD, USERNAME, Appliance

DIALECTS = ("reference", "bigip", "acos")
FOREIGN_ADDRESS = "203.0.113.5"  # where a foreign name points


@dataclass(frozen=True)
class Summary:
    """What carries our marker on an appliance, in terms both dialects share.

    ``nodes``: name → (address, enabled); ``pools``: name → load-balancing method (``rr``, ``lc``...);
    ``members``: pool → member (``<node>:<port>``; a node of another partition by its full path) →
    enabled; ``vservers``: name → (``<vip>:<port>``, pool); ``names``: published name → addresses."""

    nodes: dict[str, tuple[str, bool]] = field(default_factory=dict)
    pools: dict[str, str] = field(default_factory=dict)
    members: dict[str, dict[str, bool]] = field(default_factory=dict)
    vservers: dict[str, tuple[str, str]] = field(default_factory=dict)
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Write:
    """One configuration write the appliance received: ``action`` create/update/delete, ``kind``
    node/pool/member/vserver/name (BIG-IP DNS infrastructure: gtm-pool, gtm-member, gtm-entry;
    anything else by the appliance's own table name), ``name`` as the appliance logs it."""

    action: str
    kind: str
    name: str
    ok: bool


ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


class Emulated:
    """What the engine's end-to-end tests ask of an emulated appliance; one subclass per dialect."""

    dialect = ""
    wire: Wire
    publishes = True  # does the appliance publish names (an ACOS unit does not: RFC 2136 or nowhere)

    def names(self, published: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """What :meth:`summary` shows as names when the bridge publishes ``published``."""
        return published if self.publishes else {}

    async def prepare(self) -> None:
        """What an operator makes on the appliance before the bridge first runs."""

    def settings(self, **overrides: Any) -> Settings:
        raise NotImplementedError

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ reading

    async def summary(self) -> Summary:
        raise NotImplementedError

    async def changes_since(self, seq: int) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = (await self.control("GET", f"changes?since={seq}"))["changes"]
        return changes

    async def last_seq(self) -> int:
        changes = await self.changes_since(0)
        return int(changes[-1]["seq"]) if changes else 0

    def is_save(self, change: dict[str, Any]) -> bool:
        raise NotImplementedError

    def write(self, change: dict[str, Any]) -> Write:
        raise NotImplementedError

    async def writes_since(self, seq: int) -> list[Write]:
        """Every configuration write after ``seq`` but the saves, refused ones included."""
        return [self.write(change) for change in await self.changes_since(seq) if not self.is_save(change)]

    async def saves_since(self, seq: int) -> int:
        return sum(1 for change in await self.changes_since(seq) if self.is_save(change))

    async def foreign(self) -> str:
        """The objects :meth:`seed_foreign` made, as canonical JSON (a change to any shows)."""
        raise NotImplementedError

    async def login_attempts(self) -> int:
        raise NotImplementedError

    async def read_requests(self) -> int:
        """API reads the appliance received (logins aside)."""
        raise NotImplementedError

    async def write_requests(self) -> int:
        """Requests the appliance received that may change its configuration, faulted ones included
        (a BIG-IP's token logins and logouts aside)."""
        raise NotImplementedError

    async def can_log_in(self) -> bool:
        raise NotImplementedError

    # ------------------------------------------------------------------ by hand

    async def drop_member(self, pool: str, member: str) -> None:
        raise NotImplementedError

    async def disable_member(self, pool: str, member: str) -> None:
        raise NotImplementedError

    async def disable_node(self, node: str) -> None:
        raise NotImplementedError

    async def least_connections(self, pool: str) -> None:
        """``pool`` balances by least connections."""
        raise NotImplementedError

    async def unsaved(self) -> bool:
        """Whether the running configuration has changes not saved."""
        return bool((await self.control("GET", "state"))["unsaved_changes"])

    async def repoint_vserver(self, vserver: str, pool: str) -> None:
        raise NotImplementedError

    async def spoil_name(self, name: str) -> None:
        """Our published ``name`` no longer answers with our VIP."""
        raise NotImplementedError

    async def take_name(self, name: str) -> None:
        """Our ``name`` deleted, and made again by an administrator (not ours)."""
        raise NotImplementedError

    async def add_foreign_node(self, name: str, address: str) -> None:
        """An administrator's node (a BIG-IP's in ``Common``) holding ``address``."""
        raise NotImplementedError

    async def seed_foreign(self) -> None:
        """Objects of administrators and of another owner beside ours, among them a name we publish
        (``shop.example.com``), and look-alikes of ours without our marker."""
        raise NotImplementedError

    # ------------------------------------------------------------------ levers

    async def faults(self, rules: list[dict[str, Any]], seed: int = 7) -> None:
        await self.control("POST", "faults", {"rules": rules, "seed": seed})

    async def fired(self) -> list[int]:
        answer = await self.control("GET", "faults")
        return [int(rule["fired"]) for rule in answer["rules"]]

    async def clear_faults(self) -> None:
        await self.control("DELETE", "faults")

    async def role(self, role: str) -> None:
        await self.control("POST", "role", {"role": role})

    async def advance_clock(self, seconds: float) -> None:
        await self.control("POST", "clock", {"advance": seconds})

    async def expire_sessions(self) -> None:
        raise NotImplementedError

    def credentials(self) -> Credentials:
        raise NotImplementedError


# ---------------------------------------------------------------------------- the reference appliance


REFERENCE_KINDS = {
    "slb/node": "node",
    "slb/pool": "pool",
    "slb/pool/rserver": "member",
    "slb/vserver": "vserver",
    "dns/domain": "name",
}
REFERENCE_FOREIGN = {  # what ``seed_foreign`` makes, by kind and name
    "slb/node": ("legacy-web", "k8s-c1-lookalike"),
    "slb/pool": ("legacy-pool",),
    "dns/domain": ("shop.example.com", "other.example.com"),
}


def reference_settings(mock: MockADC, **overrides: Any) -> Settings:
    """The bridge's settings for the mock ADC; ``overrides`` are settings groups."""
    adc = {"url": mock.url, "username": USERNAME, "password": PASSWORD, "operation_deadline": 20.0}
    return settings(adc={**adc, **overrides.pop("adc", {})}, **overrides)


class ReferenceAppliance(Emulated):
    """The mock ADC (``mocks/adc``, the ``/adc/v3.0`` API): no partitions, names are ``dns/domain``."""

    dialect = "reference"
    wire = REFERENCE_WIRE

    def __init__(self, mock: MockADC, adc: Appliance) -> None:
        self.mock = mock
        self.adc = adc

    def settings(self, **overrides: Any) -> Settings:
        return reference_settings(self.mock, **overrides)

    def credentials(self) -> Credentials:
        return Credentials(USERNAME, PASSWORD)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        return await self.adc.control(method, path, body)

    async def summary(self) -> Summary:
        state = await self.control("GET", "state")
        objects = state["objects"]

        def ours(kind: str) -> list[dict[str, Any]]:
            return [item for item in objects.get(kind, []) if item.get("description") == MARK]

        pools = {pool["name"]: pool["method"] for pool in ours("slb/pool")}
        return Summary(
            nodes={n["name"]: (n["ip"], n["enable"]) for n in ours("slb/node")},
            pools=pools,
            members={
                pool: {member["name"]: member["enable"] for member in state["rservers"].get(pool, [])} for pool in pools
            },
            vservers={v["name"]: (v["vip"], v["pool"]) for v in ours("slb/vserver")},
            names={d["name"]: tuple(sorted(d["addresses"])) for d in ours("dns/domain")},
        )

    def is_save(self, change: dict[str, Any]) -> bool:
        return bool(change["kind"] == "system/config")

    def write(self, change: dict[str, Any]) -> Write:
        kind = REFERENCE_KINDS.get(change["kind"], change["kind"])
        return Write(ACTIONS.get(change["method"], change["method"]), kind, change["name"], change["code"] == 0)

    async def foreign(self) -> str:
        state = await self.control("GET", "state")
        picked: dict[str, Any] = {
            kind: [item for item in state["objects"].get(kind, []) if item["name"] in names]
            for kind, names in REFERENCE_FOREIGN.items()
        }
        picked["members"] = state["rservers"].get("legacy-pool")
        return json.dumps(picked, sort_keys=True)

    async def login_attempts(self) -> int:
        # The mock counts requests by method: every POST, read by the tests while a refused login
        # keeps the bridge from creating anything.
        return int((await self.control("GET", "stats"))["requests"].get("POST", 0))

    async def read_requests(self) -> int:
        """API reads: every GET the appliance received."""
        return int((await self.control("GET", "stats"))["requests"].get("GET", 0))

    async def write_requests(self) -> int:
        """Logins included: the appliance counts requests by method only."""
        requests = (await self.control("GET", "stats"))["requests"]
        return sum(int(count) for method, count in requests.items() if method != "GET")

    async def can_log_in(self) -> bool:
        return (await self.adc.login()).status_code == 200 and bool(self.adc.token)

    async def drop_member(self, pool: str, member: str) -> None:
        await self.adc.ok("DELETE", f"slb/pool/{pool}/rserver/{member}")

    async def disable_member(self, pool: str, member: str) -> None:
        await self.adc.ok("PUT", f"slb/pool/{pool}/rserver/{member}", {"enable": False})

    async def disable_node(self, node: str) -> None:
        await self.adc.ok("PUT", f"slb/node/{node}", {"enable": False})

    async def least_connections(self, pool: str) -> None:
        await self.adc.ok("PUT", f"slb/pool/{pool}", {"method": "lc"})

    async def repoint_vserver(self, vserver: str, pool: str) -> None:
        await self.adc.ok("PUT", f"slb/vserver/{vserver}", {"pool": pool})

    async def spoil_name(self, name: str) -> None:
        await self.adc.ok("PUT", f"dns/domain/{name}", {"addresses": [FOREIGN_ADDRESS], "ttl": 60})

    async def take_name(self, name: str) -> None:
        await self.adc.ok("DELETE", f"dns/domain/{name}")
        foreign = {"name": name, "type": "A", "addresses": [FOREIGN_ADDRESS], "description": "by hand"}
        await self.adc.ok("POST", "dns/domain", foreign)

    async def add_foreign_node(self, name: str, address: str) -> None:
        await self.adc.ok("POST", "slb/node", {"name": name, "ip": address, "description": "by hand"})

    async def seed_foreign(self) -> None:
        ok = self.adc.ok
        await ok("POST", "slb/node", {"name": "legacy-web", "ip": "10.9.9.9", "description": "hand-made"})
        await ok("POST", "slb/node", {"name": "k8s-c1-lookalike", "ip": "10.9.9.3"})
        await ok("POST", "slb/pool", {"name": "legacy-pool"})
        await ok("POST", "slb/pool/legacy-pool/rserver", {"node": "legacy-web", "port": 8080})
        await ok("POST", "dns/domain", {"name": "shop.example.com", "type": "A", "addresses": [FOREIGN_ADDRESS]})
        other = {"type": "A", "addresses": ["203.0.113.6"], "description": "managed-by=adcbridge;owner=other-cluster"}
        await ok("POST", "dns/domain", {"name": "other.example.com", **other})

    async def expire_sessions(self) -> None:
        await self.control("POST", "sessions/expire")


# ---------------------------------------------------------------------------- a BIG-IP


GTM = "/mgmt/tm/gtm"
ENABLED = "user-enabled"
METHODS = {"round-robin": "rr", "ratio-member": "wrr", "least-connections-member": "lc"}  # the documented modes
OTHER_MARKER = "managed-by=adcbridge;owner=other-cluster"


def _post(path: str, **body: Any) -> dict[str, Any]:
    return {"method": "POST", "path": path, "body": body}


FOREIGN_SEED = [
    # an administrator's objects in Common, a name we publish among them
    _post("/mgmt/tm/ltm/node", name="legacy-web", address="10.9.9.9", description="hand-made"),
    _post("/mgmt/tm/ltm/pool", name="legacy-pool", members=["legacy-web:8080"]),
    _post("/mgmt/tm/ltm/virtual", name="legacy-vs", destination="/Common/192.0.2.99:80", pool="/Common/legacy-pool"),
    _post(f"{GTM}/wideip/a", name="shop.example.com", partition="Common", description="by hand"),
    # another cluster's name in a partition of its own
    _post("/mgmt/tm/auth/partition", name="tenant"),
    _post(f"{GTM}/wideip/a", name="other.example.com", partition="tenant", description=OTHER_MARKER),
    # look-alikes of ours in our partition and on our GTM server, without our marker
    _post("/mgmt/tm/ltm/node", name="k8s-c1-lookalike", partition=PARTITION, address="10.9.9.3"),
    _post(f"{GTM}/pool/a", name="k8s-c1-gtm-a-lookalike", partition=PARTITION, description="by hand"),
    _post(f"{GTM}/server/~Common~bigip1/virtual-servers", name="handmade-entry", destination="192.0.2.77:80"),
]
BIGIP_KINDS = {
    "ltm/node": "node",
    "ltm/pool": "pool",
    "ltm/pool/members": "member",
    "ltm/virtual": "vserver",
    "gtm/wideip/a": "name",
    "gtm/wideip/aaaa": "name",
    "gtm/pool/a": "gtm-pool",
    "gtm/pool/aaaa": "gtm-pool",
    "gtm/pool/a/members": "gtm-member",
    "gtm/pool/aaaa/members": "gtm-member",
    "gtm/server/virtual-servers": "gtm-entry",
}
BIGIP_FOREIGN = {  # what ``seed_foreign`` makes, by full path (our server's entries by name)
    "ltm/node": ("/Common/legacy-web", f"/{PARTITION}/k8s-c1-lookalike"),
    "ltm/pool": ("/Common/legacy-pool",),
    "ltm/virtual": ("/Common/legacy-vs",),
    "gtm/wideip/a": ("/Common/shop.example.com", "/tenant/other.example.com"),
    "gtm/pool/a": (f"/{PARTITION}/k8s-c1-gtm-a-lookalike",),
    "entries": ("handmade-entry",),
}


class BigipAppliance(Emulated):
    """The emulated BIG-IP (``mocks/bigip``): our objects in partition ``k8s``, names on BIG-IP DNS."""

    dialect = "bigip"
    wire = BIGIP_WIRE

    def __init__(self, mock: MockBigIP, unit: Unit, directory: Path) -> None:
        self.mock = mock
        self.unit = unit
        self.directory = directory

    async def prepare(self) -> None:
        """The partition, datacenter and GTM server, made outside the change log."""
        await self.control("POST", "seed", {"requests": PREPARED})

    def settings(self, **overrides: Any) -> Settings:
        assert self.mock.dns_address is not None
        host, port = self.mock.dns_address
        adc = {
            "dialect": "bigip",
            "url": self.mock.url,
            "username": BIGIP_USER,
            "password": BIGIP_PASSWORD,
            "partition": PARTITION,
            "gtm_server": GTM_SERVER,
            "ca_file": str(certificate_file(self.mock, self.directory)),
            "operation_deadline": 20.0,
        }
        dns = {"targets": ["adc"], "verify_servers": [f"{host}:{port}"]}
        return settings(adc={**adc, **overrides.pop("adc", {})}, dns={**dns, **overrides.pop("dns", {})}, **overrides)

    def credentials(self) -> Credentials:
        return Credentials(BIGIP_USER, BIGIP_PASSWORD)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        return await self.unit.control(method, path, body)

    async def summary(self) -> Summary:
        """Our LTM objects as the fault matrix's reader sees them (``bigip_matrix.owned_objects``),
        and our wide IPs with the addresses BIG-IP DNS answers for them."""
        state = await self.control("GET", "state")
        owned = bigip_matrix.owned_objects(state, OWNER_ID)
        members: dict[str, dict[str, bool]] = {pool: {} for pool in owned["ltm/pool"]}
        for (pool, path), (_, session) in owned["members"].items():
            members[pool][_in_ours(path)] = session == ENABLED
        return Summary(
            nodes={name: (address, session == ENABLED) for name, (address, session) in owned["ltm/node"].items()},
            pools={name: METHODS[mode] for name, (mode, _) in owned["ltm/pool"].items()},
            members=members,
            vservers={
                name: (_in_ours(destination).lstrip("/"), _in_ours(pool))
                for name, (destination, _, pool, _, _) in owned["ltm/virtual"].items()
            },
            names=_published(state["objects"]),
        )

    def is_save(self, change: dict[str, Any]) -> bool:
        return bool(change["kind"] == "sys/config")

    def write(self, change: dict[str, Any]) -> Write:
        kind = BIGIP_KINDS.get(change["kind"], change["kind"])
        ok = 200 <= int(change["status"]) < 300 and not change.get("rolled_back")
        return Write(ACTIONS.get(change["method"], change["method"]), kind, change["name"], ok)

    async def foreign(self) -> str:
        objects = (await self.control("GET", "state"))["objects"]
        picked: dict[str, Any] = {
            kind: sorted((item for item in objects[kind] if item["fullPath"] in paths), key=lambda i: i["fullPath"])
            for kind, paths in BIGIP_FOREIGN.items()
            if kind != "entries"
        }
        picked["entries"] = [item for item in _entries(objects) if item["name"] in BIGIP_FOREIGN["entries"]]
        return json.dumps(picked, sort_keys=True)

    async def login_attempts(self) -> int:
        return int((await self.control("GET", "stats"))["paths"].get("POST /mgmt/shared/authn/login", 0))

    async def read_requests(self) -> int:
        """API reads: every GET of ``/mgmt/tm/`` (the failover status included)."""
        paths = (await self.control("GET", "stats"))["paths"]
        return sum(int(count) for path, count in paths.items() if path.startswith("GET /mgmt/tm/"))

    async def write_requests(self) -> int:
        paths = (await self.control("GET", "stats"))["paths"]
        return sum(int(count) for path, count in paths.items() if path.split(" ")[0] != "GET" and " /mgmt/tm/" in path)

    async def can_log_in(self) -> bool:
        body = {"username": BIGIP_USER, "password": BIGIP_PASSWORD, "loginProviderName": "tmos"}
        answer = await self.unit.ok("POST", "/mgmt/shared/authn/login", body)
        token = answer["token"]["token"]
        await self.unit.ok("DELETE", f"/mgmt/shared/authz/tokens/{token}")
        return bool(token)

    def _pool(self, pool: str) -> str:
        return f"/mgmt/tm/ltm/pool/~{PARTITION}~{pool}"

    async def drop_member(self, pool: str, member: str) -> None:
        await self.unit.ok("DELETE", f"{self._pool(pool)}/members/~{PARTITION}~{member}")

    async def disable_member(self, pool: str, member: str) -> None:
        uri = f"{self._pool(pool)}/members/~{PARTITION}~{member}"
        await self.unit.ok("PATCH", uri, {"session": "user-disabled"})

    async def disable_node(self, node: str) -> None:
        await self.unit.ok("PATCH", f"/mgmt/tm/ltm/node/~{PARTITION}~{node}", {"session": "user-disabled"})

    async def least_connections(self, pool: str) -> None:
        await self.unit.ok("PATCH", self._pool(pool), {"loadBalancingMode": "least-connections-member"})

    async def repoint_vserver(self, vserver: str, pool: str) -> None:
        uri = f"/mgmt/tm/ltm/virtual/~{PARTITION}~{vserver}"
        await self.unit.ok("PATCH", uri, {"pool": f"/{PARTITION}/{pool}"})

    async def spoil_name(self, name: str) -> None:
        await self.unit.ok("PATCH", f"{GTM}/wideip/a/~{PARTITION}~{name}", {"pools": []})

    async def take_name(self, name: str) -> None:
        await self.unit.ok("DELETE", f"{GTM}/wideip/a/~{PARTITION}~{name}")
        await self.unit.ok("POST", f"{GTM}/wideip/a", {"name": name, "partition": "Common", "description": "by hand"})

    async def add_foreign_node(self, name: str, address: str) -> None:
        seed = [_post("/mgmt/tm/ltm/node", name=name, address=address, description="by hand")]
        await self.control("POST", "seed", {"requests": seed})

    async def seed_foreign(self) -> None:
        await self.control("POST", "seed", {"requests": FOREIGN_SEED})

    async def expire_sessions(self) -> None:
        await self.control("POST", "tokens/expire")


def _in_ours(path: str) -> str:
    """A full path of our partition as the bare name; any other stays a full path."""
    return path.removeprefix(f"/{PARTITION}/")


def _entries(objects: dict[str, Any]) -> list[dict[str, Any]]:
    (server,) = [item for item in objects["gtm/server"] if item["fullPath"] == GTM_SERVER]
    entries: list[dict[str, Any]] = server.get("virtualServersReference", {}).get("items", [])
    return entries


def _published(objects: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Our wide IPs (both record types) → the addresses they answer: wide IP → its GTM pools →
    their members ``/Common/<server>:<entry>`` → the entries' destinations ``<address>:<port>``."""
    entries = {item["name"]: item["destination"] for item in _entries(objects)}
    server_member = f"{GTM_SERVER}:"
    names: dict[str, set[str]] = {}
    for rtype in ("a", "aaaa"):
        pools = {pool["fullPath"]: pool for pool in objects[f"gtm/pool/{rtype}"]}
        for wideip in objects[f"gtm/wideip/{rtype}"]:
            if wideip["partition"] != PARTITION or wideip.get("description") != MARK:
                continue
            found = names.setdefault(wideip["name"], set())
            for reference in wideip.get("pools", []):
                pool = pools.get(f"/{reference.get('partition', 'Common')}/{reference['name']}", {})
                for member in pool.get("membersReference", {}).get("items", []):
                    destination = entries.get(member["fullPath"].removeprefix(server_member), "")
                    separator = "." if destination.count(":") > 1 else ":"
                    found.add(destination.rpartition(separator)[0])
    return {name: tuple(sorted(addresses)) for name, addresses in names.items()}


# ---------------------------------------------------------------------------- an ACOS unit


ACOS_KINDS = {
    "slb/server": "node",
    "slb/server/port": "server-port",
    "slb/service-group": "pool",
    "slb/service-group/member": "member",
    "slb/virtual-server": "vserver",  # made with its first virtual port
    "slb/virtual-server/port": "vserver",
}
ACOS_METHODS = {"round-robin": "rr", "weighted-rr": "wrr", "src-ip-only-hash": "ip-hash", "least-connection": "lc"}
SESSION_CALLS = ("POST /axapi/v3/auth", "POST /axapi/v3/logoff", "POST /axapi/v3/active-partition/")


def _acos_post(path: str, wrapper: str, partition: str = ACOS_PARTITION, **body: Any) -> dict[str, Any]:
    return {"method": "POST", "path": f"/axapi/v3/{path}", "body": {wrapper: body}, "partition": partition}


ACOS_FOREIGN_SEED = [
    # an administrator's objects in shared, among them a VIP of ours on another port
    _acos_post("slb/server/", "server", "shared", name="legacy-web", host="10.9.9.9"),
    _acos_post("slb/service-group/", "service-group", "shared", name="legacy-pool", protocol="tcp"),
    _acos_post(
        "slb/virtual-server/",
        "virtual-server",
        "shared",
        name="legacy-vs",
        **{"ip-address": "192.0.2.99", "port-list": [{"port-number": 80, "protocol": "tcp"}]},
    ),
    # look-alikes in our partition without our marker, one holding the name of one of our nodes
    _acos_post("slb/server/", "server", name="k8s-c1-lookalike", host="10.9.9.3"),
    _acos_post("slb/server/", "server", name="k8s-c1-node-3", host="10.9.9.4", **{"user-tag": "by hand"}),
    _acos_post("slb/service-group/", "service-group", name="k8s-c1-lookalike-pool", **{"user-tag": OTHER_MARKER}),
]
ACOS_FOREIGN: dict[str, dict[str, tuple[str, ...]]] = {  # what ``seed_foreign`` makes, by partition, kind and name
    "shared": {
        "slb/server": ("legacy-web",),
        "slb/service-group": ("legacy-pool",),
        "slb/virtual-server": ("legacy-vs",),
    },
    ACOS_PARTITION: {
        "slb/server": ("k8s-c1-lookalike", "k8s-c1-node-3"),
        "slb/service-group": ("k8s-c1-lookalike-pool",),
    },
}


class AcosAppliance(Emulated):
    """The emulated ACOS unit (``mocks/acos``): our objects in partition ``k8s``; it publishes no names."""

    dialect = "acos"
    publishes = False

    def __init__(self, mock: MockAcos, unit: Axapi) -> None:
        self.mock = mock
        self.unit = unit
        self.wire = AcosWire(ACOS_PARTITION)

    async def prepare(self) -> None:
        """The bridge's partition, made outside the change log."""
        await self.control("POST", "seed", {"requests": ACOS_PREPARED})

    def settings(self, **overrides: Any) -> Settings:
        adc = {
            "dialect": "acos",
            "url": self.mock.url,
            "username": ACOS_USER,
            "password": ACOS_PASSWORD,
            "partition": ACOS_PARTITION,
            "verify_tls": False,
            "operation_deadline": 20.0,
        }
        return settings(adc={**adc, **overrides.pop("adc", {})}, **overrides)

    def credentials(self) -> Credentials:
        return Credentials(ACOS_USER, ACOS_PASSWORD)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        return await self.unit.control(method, path, body)

    async def summary(self) -> Summary:
        """Our servers, service groups (members inline) and, in our virtual-servers, our virtual ports."""
        objects = (await self.control("GET", "state"))["objects"][ACOS_PARTITION]

        def ours(path: str) -> list[dict[str, Any]]:
            return [item for item in objects[path] if item.get("user-tag") == MARK]

        groups = ours("slb/service-group")
        return Summary(
            nodes={
                s["name"]: (s.get("host") or s["server-ipv6-addr"], s["action"] != "disable")
                for s in ours("slb/server")
            },
            pools={g["name"]: ACOS_METHODS[g.get("lc-method") or g.get("lb-method", "round-robin")] for g in groups},
            members={
                g["name"]: {
                    f"{m['name']}:{m['port']}": m["member-state"] != "disable" for m in g.get("member-list", [])
                }
                for g in groups
            },
            vservers={
                port["name"]: (
                    f"{vs.get('ip-address') or vs['ipv6-address']}:{port['port-number']}",
                    port.get("service-group", ""),
                )
                for vs in ours("slb/virtual-server")
                for port in vs.get("port-list", [])
                if port.get("user-tag") == MARK
            },
        )

    def is_save(self, change: dict[str, Any]) -> bool:
        return bool(change["kind"] == "write/memory")

    def write(self, change: dict[str, Any]) -> Write:
        kind = ACOS_KINDS.get(change["kind"], change["kind"])
        last = change["path"].rstrip("/").rsplit("/", 1)[-1]
        creates = change["method"] == "POST" and last == change["kind"].rsplit("/", 1)[-1]
        action = "create" if creates else ACTIONS.get(change["method"], change["method"])
        if change["method"] == "POST" and not creates:
            action = "update"
        return Write(action, kind, change["name"], 200 <= int(change["status"]) < 300)

    async def unsaved(self) -> bool:
        return bool((await self.control("GET", "state"))["unsaved_partitions"])

    async def foreign(self) -> str:
        objects = (await self.control("GET", "state"))["objects"]
        picked = {
            partition: {
                path: sorted(
                    (item for item in objects[partition][path] if item["name"] in names), key=lambda i: i["name"]
                )
                for path, names in kinds.items()
            }
            for partition, kinds in ACOS_FOREIGN.items()
        }
        return json.dumps(picked, sort_keys=True)

    async def login_attempts(self) -> int:
        return int((await self.control("GET", "stats"))["paths"].get("POST /axapi/v3/auth", 0))

    async def read_requests(self) -> int:
        """API reads: every GET of ``/axapi/v3/`` (the unit's role included)."""
        paths = (await self.control("GET", "stats"))["paths"]
        return sum(int(count) for path, count in paths.items() if path.startswith("GET /axapi/v3/"))

    async def write_requests(self) -> int:
        paths = (await self.control("GET", "stats"))["paths"]
        return sum(
            int(count)
            for path, count in paths.items()
            if not path.startswith("GET ") and not path.startswith(SESSION_CALLS) and " /axapi/v3/" in path
        )

    async def can_log_in(self) -> bool:
        probe = Axapi(self.unit.http)
        if (await probe.login()).status_code != 200:
            return False
        await probe.logoff()
        return True

    async def _by_hand(self, method: str, path: str, body: Any = None) -> None:
        """A change an administrator makes in our partition (outside the bridge's session, logged)."""
        admin = Axapi(self.unit.http)
        assert (await admin.login()).status_code == 200
        await admin.ok("POST", f"/axapi/v3/active-partition/{ACOS_PARTITION}")
        await admin.ok(method, f"/axapi/v3/{path}", body)
        await admin.logoff()

    async def drop_member(self, pool: str, member: str) -> None:
        server, port = member.rsplit(":", 1)
        await self._by_hand("DELETE", f"slb/service-group/{pool}/member/{server}+{port}")

    async def disable_member(self, pool: str, member: str) -> None:
        server, port = member.rsplit(":", 1)
        body = {"member": {"member-state": "disable"}}
        await self._by_hand("POST", f"slb/service-group/{pool}/member/{server}+{port}", body)

    async def disable_node(self, node: str) -> None:
        await self._by_hand("POST", f"slb/server/{node}", {"server": {"action": "disable"}})

    async def least_connections(self, pool: str) -> None:
        await self._by_hand("POST", f"slb/service-group/{pool}", {"service-group": {"lc-method": "least-connection"}})

    async def repoint_vserver(self, vserver: str, pool: str) -> None:
        objects = (await self.control("GET", "state"))["objects"][ACOS_PARTITION]["slb/virtual-server"]
        (vs, port) = next((vs, p) for vs in objects for p in vs.get("port-list", []) if p.get("name") == vserver)
        key = f"{port['port-number']}+{port['protocol']}"
        await self._by_hand("POST", f"slb/virtual-server/{vs['name']}/port/{key}", {"port": {"service-group": pool}})

    async def take_node(self, node: str) -> None:
        """Our server ``node`` deleted (its members first: the unit refuses to delete a server in use)
        and made again by an administrator, with its address and ports but not our marker."""
        objects = (await self.control("GET", "state"))["objects"][ACOS_PARTITION]
        (server,) = [item for item in objects["slb/server"] if item["name"] == node]
        for group in objects["slb/service-group"]:
            for member in group.get("member-list", []):
                if member["name"] == node:
                    await self.drop_member(group["name"], f"{node}:{member['port']}")
        await self._by_hand("DELETE", f"slb/server/{node}")
        ports = [{"port-number": p["port-number"], "protocol": p["protocol"]} for p in server.get("port-list", [])]
        made = {"name": node, "host": server["host"], "port-list": ports, "user-tag": "by hand"}
        await self._by_hand("POST", "slb/server/", {"server": made})

    async def add_foreign_node(self, name: str, address: str) -> None:
        await self.control("POST", "seed", {"requests": [_acos_post("slb/server/", "server", name=name, host=address)]})

    async def seed_foreign(self) -> None:
        await self.control("POST", "seed", {"requests": ACOS_FOREIGN_SEED})

    async def expire_sessions(self) -> None:
        await self.control("POST", "sessions/end")


def emulated(dialect: str, request: pytest.FixtureRequest, directory: Path) -> Emulated:
    """The emulated appliance of ``dialect``, built on the fixtures of ``request`` (its server and
    client; they stop with the test). A BIG-IP still needs :meth:`BigipAppliance.prepare`."""
    if dialect == "reference":
        return ReferenceAppliance(request.getfixturevalue("mock_adc"), request.getfixturevalue("adc"))
    if dialect == "acos":
        return AcosAppliance(request.getfixturevalue("mock_acos"), request.getfixturevalue("acos"))
    return BigipAppliance(request.getfixturevalue("mock_bigip"), request.getfixturevalue("bigip"), directory)
