"""The role of an ACOS unit: the bridge writes only to the vMaster of an aVCS cluster, or to the
VRRP-A active unit, and follows a failover between the units ``adc.url`` names.

What a vBlade or a VRRP-A standby answers to a configuration write is not on record, so the bridge
never finds out by writing: it reads the role before (at start, at every resync, after any error;
``adc/units.py`` says when and what a unit that is down costs) and writes only where it reads
active. The role:

- ``GET vcs/vcs-summary/oper``: with aVCS on (``vcs-enabled: Yes``), the unit's own entry of the
  ``member-list`` is the one marked ``(*)``; ``vMaster(*)`` is active, ``vBlade(*)`` standby;
- otherwise ``GET vrrp-a/vrid/oper``: the state of each VRRP-A VRID, ``Active`` or ``Standby``;
  the unit is active when every VRID is (a unit standby for any VRID is not written to); no VRID
  (VRRP-A not configured: an empty list or "not found") is a standalone unit, active.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adcbridge.adc.acos.wire import NOT_FOUND
from adcbridge.adc.client import AdcClient
from adcbridge.errors import AdcRejected, excerpt

VCS_SUMMARY = "vcs/vcs-summary/oper"
VRRP_STATE = "vrrp-a/vrid/oper"
ACTIVE, STANDBY = "active", "standby"


async def read_role(client: AdcClient, deadline: float) -> str:
    vcs = await _optional(client, VCS_SUMMARY, deadline)
    role = vcs_role(vcs)
    if role:
        return role
    return vrrp_role(await _optional(client, VRRP_STATE, deadline))


async def _optional(client: AdcClient, path: str, deadline: float) -> Any:
    """The answer, or None where the unit has no such thing (not found)."""
    try:
        return await client.request("GET", path, deadline=deadline)
    except AdcRejected as exc:
        if exc.code in NOT_FOUND:
            return None
        raise


def vcs_role(answer: Any) -> str:
    """``active``/``standby`` from the aVCS summary; "" when aVCS is off or absent; "?" unreadable."""
    oper = _dig(answer, "vcs-summary", "oper")
    if not isinstance(oper, Mapping) or str(oper.get("vcs-enabled", "")).lower() != "yes":
        return ""
    members = oper.get("member-list")
    states = [item.get("state") for item in members if isinstance(item, Mapping)] if isinstance(members, list) else []
    own = [str(state) for state in states if isinstance(state, str) and "(*)" in state]
    if len(own) != 1:
        return "?"
    state = own[0].replace("(*)", "").strip().lower()
    return {"vmaster": ACTIVE, "vblade": STANDBY}.get(state, excerpt(state)[:20])


def vrrp_role(answer: Any) -> str:
    """``active`` when every VRID is Active (or there is none), else the first other state; "?" unreadable."""
    if answer is None:
        return ACTIVE
    vrids = answer.get("vrid-list", []) if isinstance(answer, Mapping) else None
    if not isinstance(vrids, list):
        return "?"
    states = [_dig(vrid, "oper", "state") for vrid in vrids]
    if not all(isinstance(state, str) for state in states):
        return "?"
    other = [str(state).lower() for state in states if str(state).lower() != ACTIVE]
    return excerpt(other[0])[:20] if other else ACTIVE


def _dig(answer: Any, *keys: str) -> Any:
    for key in keys:
        answer = answer.get(key) if isinstance(answer, Mapping) else None
    return answer
