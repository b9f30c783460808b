"""BIG-IP DNS (GTM): datacenters, servers and their virtual servers, pools by record type
(``a``, ``aaaa``) with ``<server>:<virtual server>`` members, and wide IPs.

Datacenters and servers live in /Common only. A server's virtual servers are a
subcollection with unpartitioned names (``vs1``, or ``/Common/vs1`` written ``~Common~vs1``
in a URI). A pool member names an existing server and one of its virtual servers, whose
address family must match the pool's record type. A wide IP's name is a domain name,
unique per record type across all partitions; its pools must exist, in its partition or in
/Common. ``answers`` is what the DNS responder serves from all this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from mocks.bigip import errors
from mocks.bigip.database import Obj
from mocks.bigip.kinds import ObjectType, Ref, number, text
from mocks.bigip.names import is_v6, member_name, parse_address, split_member, split_path, valid_fqdn, valid_name
from mocks.bigip.references import check_partition, resolve

if TYPE_CHECKING:
    from mocks.bigip.store import Store

RECORD_TYPES = ("a", "aaaa")
POOL_LB_MODES = frozenset(
    {"round-robin", "ratio", "topology", "global-availability", "static-persistence", "fallback-ip", "drop-packet"}
)
LIMITS: dict[str, Any] = {
    "limitMaxBps": 0,
    "limitMaxBpsStatus": "disabled",
    "limitMaxConnections": 0,
    "limitMaxConnectionsStatus": "disabled",
    "limitMaxPps": 0,
    "limitMaxPpsStatus": "disabled",
}


def _common_only(record: Obj, label: str) -> None:
    if record["partition"] != "Common":
        raise errors.bad_request(f"The {label} ({record['fullPath']}) must be in partition Common.", api_error=3)


class Datacenter(ObjectType):
    path = "gtm/datacenter"
    kind = "tm:gtm:datacenter:datacenterstate"
    collection_kind = "tm:gtm:datacenter:datacentercollectionstate"
    label = "datacenter"
    toggles = True
    defaults: ClassVar[dict[str, Any]] = {"proberFallback": "any-available", "proberPreference": "inside-datacenter"}
    optional = frozenset({"description", "location", "contact"})

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        _common_only(record, self.label)


class ServerVirtual(ObjectType):
    path = "virtual-servers"
    kind = "tm:gtm:server:virtual-servers:virtual-serversstate"
    collection_kind = "tm:gtm:server:virtual-servers:virtual-serverscollectionstate"
    label = "virtual server"
    partitioned = False
    slash_in_name = True
    toggles = True
    defaults: ClassVar[dict[str, Any]] = LIMITS | {"translationAddress": "none", "translationPort": 0}
    optional = frozenset({"description", "destination", "ltmName"})

    def __init__(self) -> None:
        super().__init__()
        self.validators["destination"] = self._destination

    def identity(self, record: Obj, parent: Obj | None) -> str:
        return f"{'' if parent is None else parent['fullPath']}:{record['name']}"

    def check_name(self, store: Store, partition: str, name: str, parent: Obj | None) -> str:
        if not all(valid_name(part) for part in name.removeprefix("/").split("/")):
            raise errors.invalid_name(name)
        return name

    @staticmethod
    def _destination(store: Store, record: Obj, value: Any) -> Any:
        try:
            node, port = split_member(value) if isinstance(value, str) else ("", -1)
            address = parse_address(node)
        except ValueError:
            address = None
        if address is None:
            raise errors.bad_request(f"01070734:3: Configuration error: invalid destination ({value}).", api_error=3)
        return member_name(address, port)

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if "destination" not in record:
            raise errors.bad_request(f'"destination" is required to create virtual server {record["name"]}.')

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        if users:
            raise errors.in_use(
                f"The virtual server ({self.identity(record, parent)}) cannot be deleted because it is in use by "
                f"a {users[0][0]} ({users[0][1]})."
            )


class Server(ObjectType):
    path = "gtm/server"
    kind = "tm:gtm:server:serverstate"
    collection_kind = "tm:gtm:server:servercollectionstate"
    label = "server"
    toggles = True
    defaults: ClassVar[dict[str, Any]] = {
        "exposeRouteDomains": "no",
        "iqAllowPath": "yes",
        "iqAllowServiceCheck": "yes",
        "iqAllowSnmp": "yes",
        "limitCpuUsage": 0,
        "limitCpuUsageStatus": "disabled",
        "limitMemAvail": 0,
        "limitMemAvailStatus": "disabled",
        "linkDiscovery": "disabled",
        "product": "bigip",
        "proberFallback": "inherit",
        "proberPreference": "inherit",
        "virtualServerDiscovery": "disabled",
    } | LIMITS
    optional = frozenset({"description", "datacenter", "addresses", "monitor"})

    def __init__(self, virtuals: ServerVirtual) -> None:
        super().__init__()
        self.children = {"virtual-servers": virtuals}
        virtuals.parent = self
        self.validators |= {"datacenter": self._datacenter, "addresses": self._addresses}

    @staticmethod
    def _datacenter(store: Store, record: Obj, value: Any) -> Any:
        path = resolve(store, (Datacenter.path,), value, partition="Common") if isinstance(value, str) else None
        if path is None:
            raise errors.foreign_key(str(value), "server", record["fullPath"], "datacenter_FK")
        return path

    @staticmethod
    def _addresses(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise errors.invalid_value("addresses", value)
        chosen = []
        for item in value:
            body = {"name": item} if isinstance(item, str) else item
            try:
                address = (
                    parse_address(body["name"])
                    if isinstance(body, dict) and isinstance(body.get("name"), str)
                    else None
                )
            except ValueError:
                address = None
            if address is None:
                raise errors.invalid_value("addresses", item)
            chosen.append(
                {"name": address, "deviceName": body.get("deviceName", record["name"]), "translation": "none"}
            )
        return chosen

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        _common_only(record, self.label)
        for required in ("datacenter", "addresses"):
            if required not in record:
                raise errors.bad_request(f'"{required}" is required to create server {record["fullPath"]}.')

    def references(self, record: Obj, parent: Obj | None) -> list[Ref]:
        return [Ref(Datacenter.path, record["datacenter"])]


class GtmMember(ObjectType):
    path = "members"
    label = "pool member"
    toggles = True
    slash_in_name = True
    defaults: ClassVar[dict[str, Any]] = LIMITS | {"monitor": "default", "ratio": 1}
    read_only = frozenset({"memberOrder"})

    def __init__(self, rtype: str) -> None:
        super().__init__()
        self.rtype = rtype
        self.kind = f"tm:gtm:pool:{rtype}:members:membersstate"
        self.collection_kind = f"tm:gtm:pool:{rtype}:members:memberscollectionstate"
        self.validators |= {"ratio": number("ratio", 0, 100), "memberOrder": number("memberOrder", 0, 65535)}

    def default_partition(self, parent: Obj | None) -> str:
        return "Common"

    def identity(self, record: Obj, parent: Obj | None) -> str:
        return f"{'' if parent is None else parent['fullPath']} {record['fullPath']}"

    def check_name(self, store: Store, partition: str, name: str, parent: Obj | None) -> str:
        server, sep, virtual = name.partition(":")
        if not sep or not valid_name(server) or not virtual:
            raise errors.invalid_name(f"/{partition}/{name}")
        return name

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if current is not None or parent is None:
            return
        server_name, _sep, virtual = record["name"].partition(":")
        server_path = f"/{record['partition']}/{server_name}"
        owner = f"{parent['fullPath']} {record['fullPath']}"
        if store.db.get(Server.path, server_path) is None:
            raise errors.foreign_key(server_path, "pool member", owner, "server_FK")
        found = store.db.get("gtm/server/virtual-servers", virtual, parent=server_path)
        if found is None:
            raise errors.foreign_key(f"{server_path}:{virtual}", "pool member", owner, "virtual_server_FK")
        address, _port = split_member(found["destination"])
        if is_v6(address) != (self.rtype == "aaaa"):
            raise errors.bad_request(
                f"The virtual server {server_path}:{virtual} ({address}) does not match the record type of pool "
                f"{parent['fullPath']} ({self.rtype.upper()}).",
                api_error=3,
            )
        if "memberOrder" not in record:
            record["memberOrder"] = len(store.records(self, parent))

    def references(self, record: Obj, parent: Obj | None) -> list[Ref]:
        server_name, _sep, virtual = record["name"].partition(":")
        server_path = f"/{record['partition']}/{server_name}"
        return [Ref(Server.path, server_path), Ref("gtm/server/virtual-servers", virtual, parent=server_path)]


class GtmPool(ObjectType):
    label = "pool"
    toggles = True
    defaults: ClassVar[dict[str, Any]] = LIMITS | {
        "alternateMode": "round-robin",
        "dynamicRatio": "disabled",
        "fallbackIp": "any",
        "fallbackMode": "return-to-dns",
        "loadBalancingMode": "round-robin",
        "manualResume": "disabled",
        "maxAnswersReturned": 1,
        "monitor": "default",
        "qosHitRatio": 5,
        "qosHops": 0,
        "qosKilobytesSecond": 3,
        "qosLcs": 30,
        "qosPacketRate": 1,
        "qosRtt": 50,
        "qosTopology": 0,
        "qosVsCapacity": 0,
        "qosVsScore": 0,
        "ttl": 30,
        "verifyMemberAvailability": "enabled",
    }

    def __init__(self, rtype: str, members: GtmMember) -> None:
        super().__init__()
        self.rtype = rtype
        self.path = f"gtm/pool/{rtype}"
        self.kind = f"tm:gtm:pool:{rtype}:{rtype}state"
        self.collection_kind = f"tm:gtm:pool:{rtype}:{rtype}collectionstate"
        self.children = {"members": members}
        members.parent = self
        self.validators |= {
            "ttl": number("ttl", 0, 4294967295),
            "maxAnswersReturned": number("maxAnswersReturned", 1, 500),
            "loadBalancingMode": text("loadBalancingMode", allowed=POOL_LB_MODES),
            "alternateMode": text("alternateMode", allowed=POOL_LB_MODES | {"none"}),
            "fallbackMode": text("fallbackMode", allowed=POOL_LB_MODES | {"none", "return-to-dns"}),
        }

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        if users:
            raise errors.in_use(
                f"The pool ({record['fullPath']}) cannot be deleted because it is in use by a {users[0][0]} "
                f"({users[0][1]})."
            )


class WideIp(ObjectType):
    label = "wide IP"
    toggles = True
    defaults: ClassVar[dict[str, Any]] = {
        "failureRcode": "noerror",
        "failureRcodeResponse": "disabled",
        "failureRcodeTtl": 0,
        "lastResortPool": "",
        "minimalResponse": "enabled",
        "persistCidrIpv4": 32,
        "persistCidrIpv6": 128,
        "persistence": "disabled",
        "poolLbMode": "round-robin",
        "ttlPersistence": 3600,
    }
    optional = frozenset({"description", "pools", "aliases"})

    def __init__(self, rtype: str) -> None:
        super().__init__()
        self.rtype = rtype
        self.path = f"gtm/wideip/{rtype}"
        self.kind = f"tm:gtm:wideip:{rtype}:{rtype}state"
        self.collection_kind = f"tm:gtm:wideip:{rtype}:{rtype}collectionstate"
        self.validators |= {"pools": self._pools, "poolLbMode": text("poolLbMode", allowed=POOL_LB_MODES)}

    @property
    def names_table(self) -> str:
        return f"_wideip_names_{self.rtype}"

    def check_name(self, store: Store, partition: str, name: str, parent: Obj | None) -> str:
        if not valid_fqdn(name):
            raise errors.invalid_name(f"/{partition}/{name}")
        holder = store.db.get(self.names_table, name.lower().removesuffix("."))
        if holder is not None:
            shown = f"/{partition}/{name} {self.rtype.upper()}"
            raise errors.already_exists("Wide IP", shown, split_path(holder)[0])
        return name

    def _pools(self, store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, list):
            raise errors.invalid_value("pools", value)
        chosen = []
        for order, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise errors.invalid_value("pools", item)
            folder = item.get("partition")
            name = item["name"] if item["name"].startswith("/") or not folder else f"/{folder}/{item['name']}"
            path = resolve(store, (self.path.replace("wideip", "pool"),), name, partition=record["partition"])
            if path is None:
                raise errors.foreign_key(name, "wide IP", record["fullPath"], "pool_FK")
            check_partition("wide IP", record["fullPath"], record["partition"], path, "pool")
            folder, short = split_path(path)
            chosen.append(
                {"name": short, "partition": folder, "order": item.get("order", order), "ratio": item.get("ratio", 1)}
            )
        return chosen

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if current is None:
            store.db.put(self.names_table, record["name"].lower().removesuffix("."), record["fullPath"])

    def references(self, record: Obj, parent: Obj | None) -> list[Ref]:
        table = self.path.replace("wideip", "pool")
        return [Ref(table, f"/{pool['partition']}/{pool['name']}") for pool in record.get("pools", [])]

    def after_delete(self, store: Store, record: Obj, parent: Obj | None) -> None:
        store.db.put(self.names_table, record["name"].lower().removesuffix("."), None)

    def present(self, store: Store, record: Obj, parent: Obj | None) -> Obj:
        shown = super().present(store, record, parent)
        table = self.path.replace("wideip", "pool")
        if "pools" in shown:
            shown["pools"] = [
                pool
                | {
                    "nameReference": {
                        "link": f"https://localhost/mgmt/tm/{table}/~{pool['partition']}~{pool['name']}?ver={store.version}"
                    }
                }
                for pool in shown["pools"]
            ]
        return shown


@dataclass(frozen=True)
class Answer:
    addresses: list[str]
    ttl: int


def answers(store: Store, name: str, rtype: str) -> Answer | None:
    """What BIG-IP DNS answers for ``name`` and ``rtype`` (``a``/``aaaa``): None when there is
    no enabled wide IP of that type; otherwise the first pool (by ``order``) that has
    available members, up to its ``maxAnswersReturned`` addresses in member order, with its
    ``ttl`` (no addresses when no pool has one)."""
    path = store.db.get(f"_wideip_names_{rtype}", name.lower().removesuffix("."))
    wideip = None if path is None else store.db.get(f"gtm/wideip/{rtype}", path)
    if wideip is None or not wideip["_enabled"]:
        return None
    for ref in sorted(wideip.get("pools", []), key=lambda pool: pool["order"]):
        pool = store.db.get(f"gtm/pool/{rtype}", f"/{ref['partition']}/{ref['name']}")
        if pool is None or not pool["_enabled"]:
            continue
        found = _available(store, pool, rtype)
        if found:
            return Answer(found[: pool["maxAnswersReturned"]], pool["ttl"])
    return Answer([], 0)


def _available(store: Store, pool: Obj, rtype: str) -> list[str]:
    members = store.db.items(f"gtm/pool/{rtype}/members", parent=pool["fullPath"]).values()
    addresses = []
    for member in sorted(members, key=lambda item: (item["memberOrder"], item["fullPath"])):
        server_name, _sep, virtual = member["name"].partition(":")
        server_path = f"/{member['partition']}/{server_name}"
        server = store.db.get(Server.path, server_path)
        found = store.db.get("gtm/server/virtual-servers", virtual, parent=server_path)
        if member["_enabled"] and server is not None and server["_enabled"] and found is not None and found["_enabled"]:
            address, _port = split_member(found["destination"])
            addresses.append(address)
    return addresses
