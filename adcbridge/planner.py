"""From desired and observed ADC state to an ordered, guarded list of operations. Pure.

The shape follows external-dns's plan: match each kind's desired objects against what the
appliance reports (both / only desired / only observed), then apply policies as filters.
What it adds, because an ADC is shared and stateful:

- **Ownership.** Only objects whose description carries our marker are ours; members belong
  to their pool, so a member in one of our pools is ours whatever its description says.
  A desired name taken by someone else is a *conflict*: reported, never touched, and
  whatever depends on it (a virtual server on a foreign pool) is left out too. What others
  use of ours (our node in their pool, our pool under their virtual server) stays as it is
  until freed: the appliance refuses its deletion.
- **Unique values.** The appliance allows one node per IP and one virtual server per
  VIP+protocol. A node IP already held by another node object is *reused*: our members
  reference that node instead of creating a duplicate (another bridge on the same cluster,
  or an administrator, may have created it; one of ours is kept, enabled). Held by a node of
  ours that moves to its own new IP this cycle, the IP is taken the next cycle (nodes of
  ours that swapped IPs are deleted, then recreated). A VIP+protocol held by a foreign
  virtual server is a conflict; held by one of ours under another name, the new one waits
  a cycle for the old one's deletion. Draining objects count as existing under the node
  name reuse gives them.
- **A node's address is fixed.** BIG-IP and ACOS refuse to change it in place, so for every
  dialect a node of ours whose address changed is *replaced* in one cycle: its members (on all
  our pools) and the node are deleted first, then the node is created with the new address
  and the members again, each step needing the one before. No other node is touched. A
  replace removes nothing for good, so its deletions are not counted by the deletion guard
  nor held back by an incomplete view, and ``upsert-only`` lets it through (it is how the
  node is updated); ``create-only`` leaves the node as it is. Two exceptions keep the old
  address: a draining node (recreating it would create a draining object, and its open
  connections are to the old address) and a node that pools of others use (the appliance
  refuses its deletion; reported as a conflict until freed).
- **Order.** A replace's deletions run first (members, then nodes); then creates and updates
  kind by kind (nodes, pools, members, virtual servers, domains), deletes after all of them in
  reverse. ``needs`` names the operations that must
  succeed first, so a failure skips its dependants instead of cascading errors.
- **Guards.** No deletions while the cluster view is incomplete or beyond the mass-deletion
  limits: they are *held back*, all of them, and reported. ``upsert-only`` never deletes and
  ``create-only`` only creates.

Output is sorted, so an unchanged world gives an empty plan and the same world the same plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from adcbridge.model import (
    Action,
    AdcMember,
    AdcNode,
    AdcObject,
    AdcState,
    AdcVserver,
    Conflict,
    DeleteLimits,
    DesiredState,
    Kind,
    Operation,
    Owner,
    Plan,
    Policy,
)

SLB_KINDS = (Kind.NODE, Kind.POOL, Kind.MEMBER, Kind.VSERVER)


def plan(
    desired: DesiredState,
    observed: AdcState,
    owner: Owner,
    policy: Policy = "sync",
    limits: DeleteLimits = DeleteLimits(),  # noqa: B008 - frozen value
    *,
    kinds: frozenset[Kind] = frozenset(Kind),
    ours: AdcState | None = None,
) -> Plan:
    """The operations that take ``observed`` to ``desired`` for ``owner``, for the ``kinds`` the
    appliance's dialect can manage (any other kind is left as it is, never planned). ``ours``:
    ``owned(observed, owner)`` when the caller has it already (it costs a pass over every object)."""
    ours = owned(observed, owner) if ours is None else ours
    target = _Target(desired, observed, ours)
    target.resolve()
    managed = _managed_kinds(desired, kinds)
    moved = moved_nodes(target.state, ours) if _may_replace(managed, policy) else frozenset()
    operations = _operations(target.state, _without_nodes(ours, moved), managed=managed)
    operations = allowed_by_policy(operations, policy)
    operations, held, reason = _guard(operations, desired.complete, ours.count(), limits)
    operations = _replacing(operations, moved) + _replace_deletes(ours, moved)
    ordered = tuple(sorted(_with_needs(operations, target.state, ours), key=_order))
    return Plan(ordered, tuple(sorted(held, key=_order)), reason, tuple(sorted(target.conflicts, key=_conflict_order)))


def owned(observed: AdcState, owner: Owner) -> AdcState:
    """Our share of what the appliance holds: marked objects, and every member of our pools."""
    pools = {key: pool for key, pool in observed.pools.items() if owner.owns(pool.description)}
    return AdcState(
        nodes={key: node for key, node in observed.nodes.items() if owner.owns(node.description)},
        pools=pools,
        members={key: member for key, member in observed.members.items() if member.pool in pools},
        vservers={key: vs for key, vs in observed.vservers.items() if owner.owns(vs.description)},
        domains={key: domain for key, domain in observed.domains.items() if owner.owns(domain.description)},
    )


def _managed_kinds(desired: DesiredState, manageable: frozenset[Kind]) -> tuple[Kind, ...]:
    kinds = tuple(Kind) if desired.slb_known else (Kind.DOMAIN,)
    kinds = kinds if desired.adc_dns else tuple(kind for kind in kinds if kind is not Kind.DOMAIN)
    return tuple(kind for kind in kinds if kind in manageable)


# ---------------------------------------------------------------------------- the target


@dataclass
class _Target:
    """The desired state adjusted to what the appliance allows: conflicts out, reused nodes in."""

    desired: DesiredState
    observed: AdcState
    ours: AdcState
    state: AdcState = field(default_factory=AdcState)
    reused: set[str] = field(default_factory=set)  # nodes of others that our members use
    conflicts: list[Conflict] = field(default_factory=list)

    def resolve(self) -> None:
        wanted = self.desired.objects
        self.state = AdcState(
            nodes=dict(wanted.nodes),
            pools=dict(wanted.pools),
            members=dict(wanted.members),
            vservers=dict(wanted.vservers),
            domains=dict(wanted.domains),
        )
        for kind in Kind:
            self._drop_foreign_names(kind)
        self._keep_draining_addresses()
        renames = self._reuse_node_ips()
        self._drop_absent_draining(renames)
        self._keep_what_others_use()
        self._drop_orphans()
        self._wait_for_unique_vips()

    def _drop_absent_draining(self, renames: dict[str, str]) -> None:
        """Draining objects stay if they exist (under the node name reuse gave them), and are never created."""
        for ref in self.desired.keep_only:
            label, _, key = ref.partition(":")
            kind = next(kind for kind in Kind if kind.label == label)
            obj = self.desired.objects.of_kind(kind).get(key)
            if isinstance(obj, AdcMember):
                obj = replace(obj, node=renames.get(obj.node, obj.node))
            elif isinstance(obj, AdcNode):
                obj = replace(obj, name=renames.get(obj.name, obj.name))
            # Only the draining object itself: a renamed member of a fit node may hold the same key.
            if (
                obj is not None
                and obj.key not in self.ours.of_kind(kind)
                and self.state.of_kind(kind).get(obj.key) == obj
            ):
                del self.state.of_kind(kind)[obj.key]

    def _keep_draining_addresses(self) -> None:
        """A draining node of ours keeps the address it has: a replace would create a draining node,
        and the connections it drains go to the old address."""
        for ref in self.desired.keep_only:
            label, _, name = ref.partition(":")
            node, have = self.state.nodes.get(name), self.ours.nodes.get(name)
            if label == Kind.NODE.label and node is not None and have is not None:
                self.state.nodes[name] = replace(node, ip=have.ip)

    def _drop_foreign_names(self, kind: Kind) -> None:
        mine, theirs, ours = self.state.of_kind(kind), self.observed.of_kind(kind), self.ours.of_kind(kind)
        for key in [key for key in mine if key in theirs and key not in ours]:
            if kind is not Kind.MEMBER:  # a member of a foreign pool is reported with its pool
                self.conflicts.append(Conflict(kind, key, f"name taken by a {kind.label} we do not own"))
            del mine[key]

    def _reuse_node_ips(self) -> dict[str, str]:
        """Point our members at the node that already holds their node's IP; returns the renames."""
        holders = {node.ip: node for node in self.observed.nodes.values()}
        wanted = dict(self.state.nodes)
        claimed: dict[str, str] = {}
        renames: dict[str, str] = {}
        waiting: list[str] = []
        for name, node in sorted(wanted.items()):
            holder = holders.get(node.ip)
            if holder is not None and not holder.shared:
                self.conflicts.append(
                    Conflict(Kind.NODE, name, f"{node.ip} is held by {holder.name}, which we may not use")
                )
                waiting.append(name)  # dropped, with its members: nothing of ours can stand on that address
            elif holder is None or holder.name == name:
                if node.ip in claimed:
                    renames[name] = claimed[node.ip]
                else:
                    claimed[node.ip] = name
            elif holder.name in wanted and wanted[holder.name].ip != node.ip:
                waiting.append(name)  # the holder is ours and moves to its own new IP: take this one next cycle
            else:
                renames[name] = holder.name
                self.reused.add(holder.name)
                if holder.name in self.ours.nodes and holder.name not in wanted:
                    self.state.nodes[holder.name] = replace(node, name=holder.name)  # keep it, enabled: we use it
        for name in [*renames, *waiting]:
            self.state.nodes.pop(name, None)
        members = [  # members of nodes dropped before go first: a renamed member may take their key
            replace(member, node=renames[member.node]) if member.node in renames else member
            for member in self.state.members.values()
            if member.node in wanted
        ]
        self.state.members.clear()
        self.state.members.update({member.key: member for member in members})
        return renames

    def _keep_what_others_use(self) -> None:
        """Our nodes in others' pools and our pools under others' virtual servers: the appliance refuses
        their deletion (another bridge reuses our nodes by design), so they stay as they are until freed."""
        for member in self.observed.members.values():
            if member.pool not in self.ours.pools and member.node in self.ours.nodes:
                have, wanted = self.ours.nodes[member.node], self.state.nodes.get(member.node)
                if wanted is not None and wanted.ip != have.ip:  # a replace would delete it: keep its address
                    self.state.nodes[member.node] = replace(wanted, ip=have.ip)
                    reason = f"its address changes to {wanted.ip}, but pools we do not own use it: kept at {have.ip}"
                    self.conflicts.append(Conflict(Kind.NODE, member.node, reason))
                self.state.nodes.setdefault(member.node, have)
        for vserver in self.observed.vservers.values():
            if vserver.name not in self.ours.vservers and vserver.pool in self.ours.pools:
                self.state.pools.setdefault(vserver.pool, self.ours.pools[vserver.pool])

    def _drop_orphans(self) -> None:
        """Members whose pool or node, and virtual servers whose pool, we cannot have."""
        usable_nodes = set(self.state.nodes) | self.reused
        for key, member in list(self.state.members.items()):
            if member.pool not in self.state.pools or member.node not in usable_nodes:
                del self.state.members[key]
        for key, vserver in list(self.state.vservers.items()):
            if vserver.pool not in self.state.pools:
                del self.state.vservers[key]
                self.conflicts.append(Conflict(Kind.VSERVER, key, f"its pool {vserver.pool} is not ours"))

    def _wait_for_unique_vips(self) -> None:
        holders = {(vs.vip, vs.protocol): vs for vs in self.observed.vservers.values()}
        for key, vserver in list(self.state.vservers.items()):
            holder = holders.get((vserver.vip, vserver.protocol))
            if holder is None or holder.name == key:
                continue
            del self.state.vservers[key]
            if holder.name not in self.ours.vservers:
                self.conflicts.append(
                    Conflict(Kind.VSERVER, key, f"{vserver.vip}/{vserver.protocol} is held by {holder.name}")
                )


# ---------------------------------------------------------------------------- operations


def _operations(target: AdcState, ours: AdcState, *, managed: Iterable[Kind]) -> list[Operation]:
    operations: list[Operation] = []
    for kind in managed:
        want, have = target.of_kind(kind), ours.of_kind(kind)
        for key, obj in want.items():
            current = have.get(key)
            if current is obj:  # the object written last (kept state) or read and reused: nothing to do
                continue
            if current is None:
                operations.append(Operation(Action.CREATE, obj))
            elif current != obj:
                operations.append(Operation(Action.UPDATE, obj, changed_fields(current, obj)))
        deleted_pools = set(ours.pools) - set(target.pools) if Kind.POOL in managed else set()
        operations += [
            Operation(Action.DELETE, obj)
            for key, obj in have.items()
            if key not in want and not (isinstance(obj, AdcMember) and obj.pool in deleted_pools)
        ]
    return operations


def moved_nodes(target: AdcState, ours: AdcState) -> frozenset[str]:
    """Our nodes that the target wants on another address: each is replaced (deleted, created again)."""
    return frozenset(
        name for name, node in target.nodes.items() if name in ours.nodes and ours.nodes[name].ip != node.ip
    )


def _may_replace(managed: tuple[Kind, ...], policy: Policy) -> bool:
    return Kind.NODE in managed and Kind.MEMBER in managed and policy != "create-only"


def _without_nodes(ours: AdcState, names: frozenset[str]) -> AdcState:
    """``ours`` as if the ``names`` nodes and their members were gone: what a replace leaves to create."""
    return replace(
        ours,
        nodes={key: node for key, node in ours.nodes.items() if key not in names},
        members={key: member for key, member in ours.members.items() if member.node not in names},
    )


def _replace_deletes(ours: AdcState, moved: frozenset[str]) -> list[Operation]:
    """A replace's first half: the moved nodes' members on all our pools, then the nodes."""
    gone: list[AdcObject] = [member for member in ours.members.values() if member.node in moved]
    gone += [ours.nodes[name] for name in sorted(moved)]
    return [Operation(Action.DELETE, obj, replacing=True) for obj in gone]


def _replacing(operations: list[Operation], moved: frozenset[str]) -> list[Operation]:
    """Mark the creates of the moved nodes as a replace's second half."""
    return [
        replace(op, replacing=True) if op.action is Action.CREATE and op.ref in {f"node:{n}" for n in moved} else op
        for op in operations
    ]


def changed_fields(current: Any, wanted: Any) -> tuple[str, ...]:
    return tuple(item.name for item in fields(wanted) if getattr(current, item.name) != getattr(wanted, item.name))


class _Acting(Protocol):
    @property
    def action(self) -> StrEnum: ...


ActingT = TypeVar("ActingT", bound=_Acting)


def allowed_by_policy(changes: list[ActingT], policy: Policy) -> list[ActingT]:
    """What the policy lets through: create-only keeps creates, upsert-only drops deletes.
    For ADC operations and zone changes alike (their actions are "create", "update", "delete")."""
    if policy == "create-only":
        return [change for change in changes if change.action == "create"]
    if policy == "upsert-only":
        return [change for change in changes if change.action != "delete"]
    return changes


def _guard(
    operations: list[Operation], complete: bool, owned_count: int, limits: DeleteLimits
) -> tuple[list[Operation], list[Operation], str]:
    deletes = [op for op in operations if op.action is Action.DELETE]
    reason = hold_reason(len(deletes), owned_count, complete=complete, limits=limits)
    if not reason:
        return operations, [], ""
    return [op for op in operations if op.action is not Action.DELETE], deletes, reason


def hold_reason(deletes: int, owned_count: int, *, complete: bool, limits: DeleteLimits) -> str:
    """Why this many deletions must wait, or "" when they may go ahead."""
    if not deletes:
        return ""
    if not complete:
        return f"{deletes} deletion(s) held back: the cluster view is incomplete"
    if deletes > limits.max_count:
        return f"{deletes} deletion(s) held back: more than the limit of {limits.max_count} per cycle"
    percent = 100.0 * deletes / max(owned_count, 1)
    if deletes >= limits.percent_applies_from and percent > limits.max_percent:
        return (
            f"{deletes} deletion(s) held back: {percent:.0f}% of our {owned_count} objects, "
            f"over the limit of {limits.max_percent:g}%"
        )
    return ""


def _with_needs(operations: list[Operation], target: AdcState, ours: AdcState) -> list[Operation]:
    """Attach to each operation the refs of the operations it depends on."""
    refs = {op.ref: op for op in operations}

    def present(*candidates: str) -> tuple[str, ...]:
        return tuple(sorted(ref for ref in set(candidates) if ref in refs))

    result = []
    for op in operations:
        obj = op.obj
        needs: tuple[str, ...] = ()
        if op.replacing and op.action is Action.CREATE:
            needs = (op.ref,)  # its own deletion, the replace's first half
        elif op.replacing and isinstance(obj, AdcNode):
            needs = present(*(f"member:{m.key}" for m in ours.members.values() if m.node == obj.name))
        elif op.action is not Action.DELETE and isinstance(obj, AdcMember):
            needs = present(f"node:{obj.node}", f"pool:{obj.pool}")
        elif op.action is not Action.DELETE and isinstance(obj, AdcVserver):
            needs = present(f"pool:{obj.pool}")
        elif op.action is Action.DELETE and obj.kind is Kind.POOL:
            needs = present(*(f"vserver:{vs.name}" for vs in ours.vservers.values() if vs.pool == obj.key))
        elif op.action is Action.DELETE and isinstance(obj, AdcNode):
            users = [member for member in ours.members.values() if member.node == obj.name]
            needs = present(*(f"member:{m.key}" for m in users), *(f"pool:{m.pool}" for m in users))
        result.append(replace(op, needs=needs) if needs else op)
    return result


def _order(op: Operation) -> tuple[int, int, str, str]:
    if op.action is Action.DELETE:
        return 0 if op.replacing else 2, -int(op.obj.kind), "", op.obj.key
    return 1, int(op.obj.kind), op.action.value, op.obj.key


def _conflict_order(conflict: Conflict) -> tuple[int, str]:
    return int(conflict.kind), conflict.key
