"""The unit about itself: version, device info, saving the configuration, HA status and
config-sync.

``GET /mgmt/tm/sys/`` is what f5-sdk reads at connect: it takes the TMOS version from the
``ver`` of its ``selfLink``. ``POST /mgmt/tm/sys/config {"command": "save"}`` writes the
running configuration to the state file. Failover and sync status are the nested stats
shape clients walk (``entries[<link>].nestedStats.entries.status.description``). A
standby unit accepts writes like an active one; any change in a device group leaves
"Changes Pending" until ``config-sync to-group <group>`` runs on this unit.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from mocks.bigip import errors
from mocks.bigip.state import UnitState

SYS_ITEMS = ("application", "config", "db", "failover", "folder", "global-settings", "management-ip", "version")
SYNC_COMMAND = re.compile(r"\s*config-sync\s+to-group\s+(\S+)\s*")
BUILD = "0.0.5"


def link(path: str, state: UnitState) -> str:
    return f"https://localhost/mgmt/{path}?ver={state.version}"


def sys_collection(state: UnitState) -> dict[str, Any]:
    items = [{"reference": {"link": link(f"tm/sys/{item}", state)}} for item in SYS_ITEMS]
    return {"kind": "tm:sys:syscollectionstate", "selfLink": link("tm/sys", state), "items": items}


def version(state: UnitState) -> dict[str, Any]:
    entries = {
        "Build": BUILD,
        "Date": "Mon Jan  1 00:00:00 UTC 2024",
        "Edition": "Final",
        "Product": "BIG-IP",
        "Title": "Main Package",
        "Version": state.version,
    }
    return _stats(
        "tm:sys:version:versionstats",
        "tm/sys/version",
        state,
        {key: {"description": value} for key, value in entries.items()},
    )


def device_info(state: UnitState) -> dict[str, Any]:
    machine = str(uuid.uuid5(uuid.NAMESPACE_DNS, state.hostname))
    return {
        "baseMac": "00:0c:29:00:00:01",
        "build": BUILD,
        "edition": "Final",
        "hostname": state.hostname,
        "isVirtual": True,
        "machineId": machine,
        "mcpDeviceName": f"/Common/{state.hostname}",
        "platformMarketingName": "BIG-IP Virtual Edition",
        "product": "BIG-IP",
        "restFrameworkVersion": f"{state.version}-{BUILD}",
        "version": state.version,
        "generation": 0,
        "lastUpdateMicros": 0,
        "kind": "shared:resolver:device-groups:deviceinfostate",
        "selfLink": "https://localhost/mgmt/shared/identified-devices/config/device-info",
    }


def echo_query(state: UnitState) -> dict[str, Any]:
    return {"kind": "shared:echo-query:echoquerystate", "selfLink": "https://localhost/mgmt/shared/echo-query"}


def failover(state: UnitState) -> dict[str, Any]:
    role = "active" if state.role == "active" else "standby"
    return {
        "kind": "tm:sys:failover:failoverstats",
        "selfLink": link("tm/sys/failover", state),
        "apiRawValues": {"apiAnonymous": f"Failover {role} for 0d 01:20:32\n"},
    }


def failover_status(state: UnitState) -> dict[str, Any]:
    status = state.failover_status()
    details = "https://localhost/mgmt/tm/cm/failoverStatus/0/details"
    entries = {
        "color": {"description": "green" if status == "ACTIVE" else "gray"},
        "status": {"description": status},
        "summary": {"description": f"1/1 {status.lower()}"},
        details: {"nestedStats": {"entries": {}}},
    }
    return _stats("tm:cm:failover-status:failover-statusstats", "tm/cm/failover-status", state, entries)


def sync_status(state: UnitState) -> dict[str, Any]:
    status = state.sync_status()
    colors = {"Standalone": "green", "In Sync": "green", "Changes Pending": "yellow"}
    summaries = {
        "Standalone": "",
        "In Sync": "All devices in the device group are in sync",
        "Changes Pending": "There is a possible change conflict between devices",
    }
    entries = {
        "color": {"description": colors[status]},
        "mode": {"description": "standalone" if state.device_group is None else "high-availability"},
        "status": {"description": status},
        "summary": {"description": summaries[status]},
    }
    return _stats("tm:cm:sync-status:sync-statusstats", "tm/cm/sync-status", state, entries)


def save_config(state: UnitState, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("command") != "save":
        command = body.get("command") if isinstance(body, dict) else None
        raise errors.bad_request(
            f"This unit runs only the save command on sys config, not {command!r}.", api_error=errors.REST
        )
    state.save_config()
    return {"kind": "tm:sys:config:savestate", "command": "save"}


def run_cm(state: UnitState, body: Any) -> dict[str, Any]:
    """``{"command": "run", "utilCmdArgs": "config-sync to-group <g>"}`` on /mgmt/tm/cm."""
    arguments = body.get("utilCmdArgs") if isinstance(body, dict) else None
    matched = SYNC_COMMAND.fullmatch(arguments) if isinstance(arguments, str) else None
    if not isinstance(body, dict) or body.get("command") != "run" or matched is None:
        raise errors.bad_request(
            'Only {"command": "run", "utilCmdArgs": "config-sync to-group <group>"} is served here.',
            api_error=errors.REST,
        )
    sync_to_group(state, matched.group(1))
    return {"kind": "tm:cm:runstate", "command": "run", "utilCmdArgs": arguments}


def run_config_sync(state: UnitState, body: Any) -> dict[str, Any]:
    """``{"command": "run", "options": [{"to-group": "<g>"}]}`` on /mgmt/tm/cm/config-sync."""
    options = body.get("options") if isinstance(body, dict) else None
    group = (
        options[0].get("to-group") if isinstance(options, list) and options and isinstance(options[0], dict) else None
    )
    if not isinstance(body, dict) or body.get("command") != "run" or not isinstance(group, str):
        raise errors.bad_request(
            'Only {"command": "run", "options": [{"to-group": "<group>"}]} is served here.', api_error=errors.REST
        )
    sync_to_group(state, group)
    return {"kind": "tm:cm:config-sync:runstate", "command": "run", "options": options}


def sync_to_group(state: UnitState, group: str) -> None:
    name = group.removeprefix("/Common/")
    if state.device_group is None or name != state.device_group:
        raise errors.F5Error(400, f"01020036:3: The requested device group (/Common/{name}) was not found.")
    state.sync_pending = False


def _stats(kind: str, path: str, state: UnitState, entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "selfLink": link(path, state),
        "entries": {f"https://localhost/mgmt/{path}/0": {"nestedStats": {"entries": entries}}},
    }
