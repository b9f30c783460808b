"""The units of a BIG-IP HA pair: the one written to is the unit that says ``ACTIVE``.

A BIG-IP standby ACCEPTS writes, without an error, and they break config sync. So the bridge
writes only to the unit that says ``ACTIVE`` in ``GET /mgmt/tm/cm/failover-status``; how the
units are followed (when the status is read, what a unit that is down costs) is shared by every
dialect that follows failover, in ``adc/units.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adcbridge.adc import units
from adcbridge.adc.client import AdcClient
from adcbridge.adc.units import Requests
from adcbridge.errors import excerpt
from adcbridge.metrics import Metrics

__all__ = ["FAILOVER_STATUS", "Requests", "Units", "failover_role", "stats_status"]
FAILOVER_STATUS = "tm/cm/failover-status"


class Units(units.Units):
    """The units of ``clients`` (URL -> session), written to only while one of them is ACTIVE."""

    def __init__(self, clients: Mapping[str, AdcClient], *, timeout: float, metrics: Metrics | None = None) -> None:
        super().__init__(clients, timeout=timeout, read_role=read_role, appliance="BIG-IP", metrics=metrics)


async def read_role(client: AdcClient, deadline: float) -> str:
    return failover_role(await client.request("GET", FAILOVER_STATUS, deadline=deadline))


def failover_role(answer: Any) -> str:
    """``active``/``standby`` from ``/mgmt/tm/cm/failover-status``; "?" when the answer cannot be
    read (never taken for active)."""
    return stats_status(answer).lower()[:20]


def stats_status(answer: Any) -> str:
    """The ``status`` of a one-entry stats answer (``cm/failover-status``: ``ACTIVE``/``STANDBY``;
    ``cm/sync-status``: ``In Sync``, ``Changes Pending``, ``Standalone``...); "?" when unreadable."""
    try:
        (entry,) = answer["entries"].values()
        status = entry["nestedStats"]["entries"]["status"]["description"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return "?"
    return excerpt(str(status))
