"""The unit's own URLs: system information, ``write memory``, partitions and the active
partition of a session, and the HA views (aVCS ``vcs-summary`` and VRRP-A) that tell a
client whether this unit takes configuration.
"""

from __future__ import annotations

from typing import Any

from mocks.acos import errors
from mocks.acos.sessions import Session
from mocks.acos.state import UnitState
from mocks.acos.store import SHARED, Partition

OK: dict[str, Any] = {"response": {"status": "OK"}}
DESTINATIONS = (None, "primary", "secondary", "local")


def information(state: UnitState) -> dict[str, Any]:
    return {
        "system": {
            "hostname": state.hostname,
            "version": state.version,
            "partition-count": len(state.config.partitions) - 1,
        }
    }


def version(state: UnitState) -> dict[str, Any]:
    return {
        "version": {
            "oper": {"sw-version": f"{state.version}, build 123 (Jan-01-2025,00:00)", "hw-platform": "vThunder"}
        }
    }


def write_memory(state: UnitState, session: Session, body: Any) -> dict[str, Any]:
    """``{"memory": {"destination", "partition": "all"|"shared"|"specified", "specified-partition"}}`` or none."""
    memory = {} if body is None else body.get("memory") if isinstance(body, dict) and set(body) == {"memory"} else None
    if not isinstance(memory, dict):
        raise errors.json_format('the body must be {"memory": {...}} or empty')
    if memory.get("destination") not in DESTINATIONS:
        raise errors.invalid("destination must be primary, secondary or local")
    which = memory.get("partition") or "all"
    if which == "all":
        names = list(state.config.partitions)
    elif which == "shared":
        names = [SHARED]
    elif which == "specified":
        name = memory.get("specified-partition")
        if name not in state.config.partitions:
            raise errors.not_found(f"partition {name}")
        names = [str(name)]
    else:
        raise errors.invalid("partition must be all, shared or specified")
    state.write_memory(names)
    return OK


# Partitions ---------------------------------------------------------------------------------------


def describe_partition(partition: Partition) -> dict[str, Any]:
    return {"partition-name": partition.name, "id": partition.id, **partition.fields}


def partition_list(state: UnitState) -> dict[str, Any]:
    return {"partition-list": [describe_partition(p) for p in state.config.partitions.values() if p.name != SHARED]}


def partition_get(state: UnitState, name: str) -> dict[str, Any]:
    partition = state.config.partitions.get(name)
    if partition is None or name == SHARED:
        raise errors.not_found("partition")
    return {"partition": describe_partition(partition)}


def partition_all_oper(state: UnitState) -> dict[str, Any]:
    listed = [
        {"partition-name": p.name, "partition-id": p.id, "application-type": p.fields.get("application-type", "adc")}
        for p in state.config.partitions.values()
        if p.name != SHARED
    ]
    return {"partition-all": {"oper": {"partition-list": listed} if listed else {}}}


def partition_available_id(state: UnitState) -> dict[str, Any]:
    start = state.config.free_id()
    ranges = [] if start is None else [{"start": start, "end": start}]
    return {"partition-available-id": {"oper": {"range-list": ranges}}}


def partition_create(state: UnitState, body: Any) -> None:
    fields = body.get("partition") if isinstance(body, dict) and set(body) == {"partition"} else None
    if not isinstance(fields, dict):
        raise errors.json_format('the body must be {"partition": {"partition-name", "id"}}')
    name, number = fields.get("partition-name"), fields.get("id")
    if not isinstance(name, str) or not name or len(name) > 14 or not name.replace("-", "").replace("_", "").isalnum():
        raise errors.invalid("partition-name must be 1 to 14 letters, digits, - or _")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 1023:
        raise errors.invalid("id must be a number from 1 to 1023")
    if name in state.config.partitions:
        raise errors.exists("partition")
    if any(p.id == number for p in state.config.partitions.values()):
        raise errors.AcosError(400, errors.PARTITION_ID_EXISTS, f"Partition id {number} is in use")
    extra = {key: value for key, value in fields.items() if key not in ("partition-name", "id") and value is not None}
    state.config.partitions[name] = Partition(name, number, extra)


def partition_delete(state: UnitState, name: str) -> None:
    if name == SHARED or name not in state.config.partitions:
        raise errors.not_found("partition")
    del state.config.partitions[name]
    state.sessions.leave_partition(name)


def activate(state: UnitState, session: Session, name: str, body: Any) -> dict[str, Any]:
    """``POST /axapi/v3/active-partition/<name>``: with no body, or ``{"active-partition": {...}}``."""
    if body is not None and not (isinstance(body, dict) and set(body) == {"active-partition"}):
        raise errors.json_format('the body must be {"active-partition": {...}} or empty')
    if name not in state.config.partitions:
        raise errors.not_found(f"partition {name}")
    session.partition = name
    return OK


def active_partition(session: Session) -> dict[str, Any]:
    return {"active-partition": {"partition-name": session.partition}}


# HA -------------------------------------------------------------------------------------------------


def vcs_summary(state: UnitState) -> dict[str, Any]:
    """aVCS: one local member, ``vMaster(*)`` when active, ``vBlade(*)`` when standby."""
    if not state.vcs:
        return {"vcs-summary": {"oper": {"vcs-enabled": "No", "member-list": []}}}
    role = "vMaster(*)" if state.role == "active" else "vBlade(*)"
    member = {"id": 1, "state": role, "location": "Local", "priority": 125, "ip-list": [{"ip": state.address}]}
    return {"vcs-summary": {"oper": {"vcs-enabled": "Yes", "chassis-id": 1, "member-list": [member]}}}


def vrrp_a(state: UnitState) -> dict[str, Any]:
    return {"vrrp-a": {"common": {"device-id": 1, "set-id": 1, "action": "enable"}}}


def vrid_oper(state: UnitState, vrid: int) -> dict[str, Any]:
    if vrid != 0:
        raise errors.not_found("vrid")
    return {"vrid": {"vrid-val": 0, "oper": _vrid_state(state)}}


def vrid_list_oper(state: UnitState) -> dict[str, Any]:
    return {"vrid-list": [{"vrid-val": 0, "oper": _vrid_state(state)}]}


def _vrid_state(state: UnitState) -> dict[str, Any]:
    return {
        "state": "Active" if state.role == "active" else "Standby",
        "unit": 1,
        "weight": 65534,
        "priority": 150,
        "force-standby": 0,
        "became-active": "",
    }
