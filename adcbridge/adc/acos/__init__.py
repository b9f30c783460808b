"""The A10 ACOS dialect (Thunder, aXAPI v3): SLB objects in a partition of the bridge's own.

``wire.py`` is its HTTP level (signature sessions, the partition activated at every login, the
unit's error codes), ``objects.py`` the model to ACOS objects and back, ``driver.py`` observes and
applies (a model virtual server is a virtual port of the virtual-server holding its VIP),
``units.py`` reads a unit's role so that only the vMaster or VRRP-A's active unit is written to
(``adc.url`` may name both units of a pair). It manages nodes, pools, members and virtual
servers; it has no DNS capability (ACOS GSLB is not the bridge's business), so names go to an
RFC 2136 server or nowhere. Settings it cannot honour, refused at start: no partition, the
``shared`` partition unless ``adc.allow_default_partition``, ``adc`` in ``dns.targets``, and the
settings of what ACOS does not have (``adc.batch_size``: no transactions; ``adc.page_size``: it
reads each collection whole; BIG-IP's ``adc.gtm_server`` and ``adc.config_sync_group``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from adcbridge.adc.acos.driver import AcosDriver
from adcbridge.adc.acos.units import read_role
from adcbridge.adc.acos.wire import AcosWire
from adcbridge.adc.contract import Adc, Dialect, SettingProblem, partition_problems
from adcbridge.adc.units import Units, unit_clients
from adcbridge.config import AdcSettings, Settings
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics

__all__ = ["DIALECT", "AcosDriver", "AcosWire"]
DEFAULT_PARTITION = "shared"


def problems(settings: Settings) -> list[SettingProblem]:
    adc, found = settings.adc, partition_problems(settings.adc, DEFAULT_PARTITION)
    defaults = AdcSettings.model_fields
    if adc.batch_size != defaults["batch_size"].default:
        found.append(SettingProblem(("adc", "batch_size"), "ACOS has no transactions: one request per operation"))
    if adc.page_size != defaults["page_size"].default:
        found.append(SettingProblem(("adc", "page_size"), "the acos dialect reads each collection whole"))
    if adc.gtm_server:
        found.append(SettingProblem(("adc", "gtm_server"), "BIG-IP DNS only; the acos dialect publishes no names"))
    if adc.config_sync_group:
        found.append(
            SettingProblem(
                ("adc", "config_sync_group"), "BIG-IP only; the bridge writes the ACOS vMaster or active unit"
            )
        )
    if "adc" in settings.dns.targets:
        found.append(
            SettingProblem(
                ("dns", "targets"),
                "adc: the bridge does not publish names on an ACOS unit (no GSLB); use rfc2136 "
                "(dns.targets: [rfc2136]) or [] for SLB objects only",
            )
        )
    return found


@contextlib.asynccontextmanager
async def _open(
    settings: Settings, metrics: Metrics | None, write_gate: Callable[[], bool] | None
) -> AsyncIterator[Adc]:
    adc = settings.adc
    wire = AcosWire(adc.partition)
    async with unit_clients(settings, wire, metrics, write_gate) as clients:
        units = Units(clients, timeout=adc.timeout, read_role=read_role, appliance="ACOS", metrics=metrics)
        yield AcosDriver(
            units,
            owner_of(settings),
            partition=adc.partition,
            concurrency=adc.concurrency,
            save_config=adc.save_config,
            metrics=metrics,
        )


DIALECT = Dialect("acos", AcosDriver.kinds, problems, _open, follows_failover=True)
