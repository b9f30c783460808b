"""LTM nodes, pools, pool members and SNAT pools.

What a device does on the side is done here too: a member whose node part is an address
and whose node does not exist creates that node (named by the address, in the member's
partition, without a description); a node address belongs to one node in the whole unit;
a node used by a member, or a pool used by a virtual server, cannot be deleted.

Session and state are shown as a unit shows them: a member or node that is enabled shows
``session: monitor-enabled`` when a monitor covers it (``user-enabled`` otherwise), and
one that is not forced down shows ``state: up`` when monitored (``unchecked`` otherwise).
Only the ``user-*`` values can be written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mocks.bigip import errors
from mocks.bigip.database import Obj
from mocks.bigip.kinds import REMOVE, ObjectType, Ref, named_bodies, number, text
from mocks.bigip.names import address_name, member_name, parse_address, split_member, split_path, valid_name
from mocks.bigip.references import check_partition, monitor_rule, monitored

if TYPE_CHECKING:
    from mocks.bigip.store import Store

NODE_ADDRESSES = "_node_addresses"
SESSIONS = frozenset({"user-enabled", "user-disabled"})
STATES = frozenset({"user-up", "user-down"})
NODE_ENABLING_STATES = frozenset({"unchecked", "fqdn-up"})
LB_MODES = frozenset(
    {
        "round-robin",
        "ratio-member",
        "least-connections-member",
        "observed-member",
        "predictive-member",
        "ratio-node",
        "least-connections-node",
        "fastest-node",
        "observed-node",
        "predictive-node",
        "dynamic-ratio-node",
        "fastest-app-response",
        "least-sessions",
        "dynamic-ratio-member",
        "weighted-least-connections-member",
        "weighted-least-connections-node",
        "ratio-session",
        "ratio-least-connections-member",
        "ratio-least-connections-node",
    }
)


def shown_session(record: Obj, is_monitored: bool) -> str:
    if record["session"] == "user-disabled":
        return "user-disabled"
    return "monitor-enabled" if is_monitored else "user-enabled"


def shown_state(record: Obj, is_monitored: bool) -> str:
    if record["state"] == "user-down":
        return "user-down"
    return "up" if is_monitored else "unchecked"


def _session(store: Store, record: Obj, value: Any) -> Any:
    if value not in SESSIONS:
        raise errors.invalid_value("session", value)
    return value


def _state(store: Store, record: Obj, value: Any) -> Any:
    if value not in STATES:
        raise errors.invalid_value("state", value)
    return value


def _node_state(store: Store, record: Obj, value: Any) -> Any:
    """A node also takes ``unchecked`` and ``fqdn-up`` (f5-sdk lets them through for nodes
    only), which enable it like ``user-up``."""
    if value in NODE_ENABLING_STATES:
        return "user-up"
    return _state(store, record, value)


class Node(ObjectType):
    path = "ltm/node"
    kind = "tm:ltm:node:nodestate"
    collection_kind = "tm:ltm:node:nodecollectionstate"
    label = "Node"
    defaults: ClassVar[dict[str, Any]] = {
        "connectionLimit": 0,
        "dynamicRatio": 1,
        "ephemeral": "false",
        "fqdn": {"addressFamily": "ipv4", "autopopulate": "disabled", "downInterval": 5, "interval": "3600"},
        "logging": "disabled",
        "monitor": "default",
        "rateLimit": "disabled",
        "ratio": 1,
        "session": "user-enabled",
        "state": "user-up",
    }
    optional = frozenset({"description", "address"})
    read_only = frozenset({"address", "ephemeral"})

    def __init__(self) -> None:
        super().__init__()
        self.validators |= {
            "address": self._address,
            "session": _session,
            "state": _node_state,
            "monitor": self._monitor,
            "ratio": number("ratio", 1, 65535),
            "connectionLimit": number("connectionLimit", 0, 2**32 - 1),
        }

    @staticmethod
    def _address(store: Store, record: Obj, value: Any) -> Any:
        try:
            address = parse_address(value) if isinstance(value, str) else None
        except ValueError:
            address = None
        if address is None:
            raise errors.bad_request(
                f"01070734:3: Configuration error: invalid IP address ({value}) for node.", api_error=3
            )
        return address

    @staticmethod
    def _monitor(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_value("monitor", value)
        if value.strip() in ("default", ""):
            return "default"
        rule = monitor_rule(store, value, partition=record["partition"], label="Node", identity=record["fullPath"])
        return "none" if rule is None else rule

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if current is not None:
            return
        address = record.get("address")
        if address is None:
            raise errors.bad_request(f'"address" is required to create Node {record["fullPath"]}.', api_error=3)
        named = address_name(record["name"])
        if named is not None and named != address:
            raise errors.bad_request(
                f"The Node name ({record['fullPath']}) is an address other than its address ({address}).", api_error=3
            )
        holder = store.db.get(NODE_ADDRESSES, address)
        if holder is not None:
            raise errors.already_exists("Node", f"{record['fullPath']} {address}", split_path(holder)[0])
        store.db.put(NODE_ADDRESSES, address, record["fullPath"])

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        if users:
            pool = users[0][1].split(" ")[0]
            raise errors.in_use(
                f"01070110:3: Node address '{record['fullPath']}' is referenced by a member of pool '{pool}'."
            )

    def after_delete(self, store: Store, record: Obj, parent: Obj | None) -> None:
        store.db.put(NODE_ADDRESSES, record["address"], None)

    def present(self, store: Store, record: Obj, parent: Obj | None) -> Obj:
        shown = super().present(store, record, parent)
        watched = monitored(record["monitor"])
        return shown | {"session": shown_session(record, watched), "state": shown_state(record, watched)}


class Member(ObjectType):
    path = "members"
    kind = "tm:ltm:pool:members:membersstate"
    collection_kind = "tm:ltm:pool:members:memberscollectionstate"
    label = "Pool Member"
    defaults: ClassVar[dict[str, Any]] = {
        "connectionLimit": 0,
        "dynamicRatio": 1,
        "ephemeral": "false",
        "fqdn": {"autopopulate": "disabled"},
        "inheritProfile": "enabled",
        "logging": "disabled",
        "monitor": "default",
        "priorityGroup": 0,
        "rateLimit": "disabled",
        "ratio": 1,
        "session": "user-enabled",
        "state": "user-up",
    }
    optional = frozenset({"description", "address"})
    read_only = frozenset({"address", "ephemeral"})

    def __init__(self) -> None:
        super().__init__()
        self.validators |= {
            "session": _session,
            "state": _state,
            "monitor": self._monitor,
            "ratio": number("ratio", 1, 65535),
            "priorityGroup": number("priorityGroup", 0, 65535),
            "connectionLimit": number("connectionLimit", 0, 2**32 - 1),
        }

    def default_partition(self, parent: Obj | None) -> str:
        return "Common" if parent is None else str(parent["partition"])

    def identity(self, record: Obj, parent: Obj | None) -> str:
        node, port = split_member(record["name"])
        pool = "" if parent is None else parent["fullPath"]
        return f"{pool} /{record['partition']}/{node} {port}"

    def check_name(self, store: Store, partition: str, name: str, parent: Obj | None) -> str:
        try:
            node, port = split_member(name)
            address = parse_address(node)
        except ValueError:
            raise errors.invalid_name(f"/{partition}/{name}") from None
        if address is None and not valid_name(node):
            raise errors.invalid_name(f"/{partition}/{name}")
        return member_name(address or node, port)

    @staticmethod
    def _monitor(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_value("monitor", value)
        if value.strip() in ("default", ""):
            return "default"
        rule = monitor_rule(
            store, value, partition=record["partition"], label="Pool Member", identity=record["fullPath"]
        )
        return "none" if rule is None else rule

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if current is not None or parent is None:
            return
        pool, partition = parent["fullPath"], record["partition"]
        node_name, _port = split_member(record["name"])
        node_path = f"/{partition}/{node_name}"
        check_partition("Pool", pool, parent["partition"], node_path, "node")
        node = store.db.get(Node.path, node_path)
        if node is None:
            address = parse_address(node_name)
            if address is None:
                raise errors.not_found("Node", node_path)
            node = store.create(store.types[Node.path], {"name": node_path, "address": address})
        record["address"] = node["address"]

    def references(self, record: Obj, parent: Obj | None) -> list[Ref]:
        node_name, _port = split_member(record["name"])
        return [Ref(Node.path, f"/{record['partition']}/{node_name}")]

    def present(self, store: Store, record: Obj, parent: Obj | None) -> Obj:
        shown = super().present(store, record, parent)
        watched = monitored(record["monitor"]) or (parent is not None and monitored(parent.get("monitor")))
        return shown | {"session": shown_session(record, watched), "state": shown_state(record, watched)}


class Pool(ObjectType):
    path = "ltm/pool"
    kind = "tm:ltm:pool:poolstate"
    collection_kind = "tm:ltm:pool:poolcollectionstate"
    label = "Pool"
    defaults: ClassVar[dict[str, Any]] = {
        "allowNat": "yes",
        "allowSnat": "yes",
        "ignorePersistedWeight": "disabled",
        "ipTosToClient": "pass-through",
        "ipTosToServer": "pass-through",
        "linkQosToClient": "pass-through",
        "linkQosToServer": "pass-through",
        "loadBalancingMode": "round-robin",
        "minActiveMembers": 0,
        "minUpMembers": 0,
        "minUpMembersAction": "failover",
        "minUpMembersChecking": "disabled",
        "queueDepthLimit": 0,
        "queueOnConnectionLimit": "disabled",
        "queueTimeLimit": 0,
        "reselectTries": 0,
        "serviceDownAction": "none",
        "slowRampTime": 10,
    }
    optional = frozenset({"description", "monitor", "members"})

    def __init__(self, members: Member) -> None:
        super().__init__()
        self.children = {"members": members}
        members.parent = self
        self.validators |= {
            "loadBalancingMode": text("loadBalancingMode", allowed=LB_MODES),
            "monitor": self._monitor,
            "members": self._members,
            "serviceDownAction": text("serviceDownAction", allowed=frozenset({"none", "reset", "drop", "reselect"})),
            "slowRampTime": number("slowRampTime", 0, 900),
        }

    @staticmethod
    def _monitor(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_value("monitor", value)
        rule = monitor_rule(store, value, partition=record["partition"], label="Pool", identity=record["fullPath"])
        return REMOVE if rule is None else rule

    @staticmethod
    def _members(store: Store, record: Obj, value: Any) -> Any:
        return list(named_bodies("members", value))

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        record["_members"] = record.pop("members", None)

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        if users:
            label, who = users[0]
            raise errors.in_use(
                f"01070265:3: The Pool ({record['fullPath']}) cannot be deleted because it is in use "
                f"by a {label} ({who})."
            )

    def after_save(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        """Inline ``members`` replace the pool's members: listed ones are created or changed,
        the others deleted."""
        bodies = record.pop("_members", None)
        if bodies is None:
            return
        member_type = self.children["members"]
        wanted: dict[str, Obj] = {}
        for body in bodies:
            partition, name = store.body_identity(member_type, body, record)
            name = member_type.check_name(store, partition, name, record)
            wanted[f"/{partition}/{name}"] = body | {"name": name, "partition": partition}
        for existing in store.records(member_type, record):
            if existing["fullPath"] not in wanted:
                store.delete(member_type, existing, parent=record)
        for path, body in wanted.items():
            found = store.find(member_type, path, record)
            if found is None:
                store.create(member_type, body, parent=record)
            elif set(body) - {"name", "partition"}:
                store.update(member_type, found, body, parent=record)


class Snatpool(ObjectType):
    path = "ltm/snatpool"
    kind = "tm:ltm:snatpool:snatpoolstate"
    collection_kind = "tm:ltm:snatpool:snatpoolcollectionstate"
    label = "Snatpool"
    defaults: ClassVar[dict[str, Any]] = {}
    optional = frozenset({"description", "members"})

    def __init__(self) -> None:
        super().__init__()
        self.validators |= {"members": self._members}

    @staticmethod
    def _members(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise errors.invalid_value("members", value)
        members = []
        for item in value:
            folder, short = (
                split_path(item, default_partition=record["partition"]) if isinstance(item, str) else ("", "")
            )
            try:
                address = parse_address(short)
            except ValueError:
                address = None
            if address is None:
                raise errors.invalid_value("members", item)
            members.append(f"/{folder}/{address}")
        return members

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if not record.get("members"):
            raise errors.bad_request(f"Snatpool {record['fullPath']} must have at least one member.", api_error=3)

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        if users:
            raise errors.in_use(f"01070320:3: Snatpool {record['fullPath']} is still referenced by a virtual server.")
