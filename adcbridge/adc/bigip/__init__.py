"""The F5 BIG-IP dialect: iControl REST, LTM and BIG-IP DNS objects in one partition of the bridge's own.

``wire.py`` is its HTTP level (token sessions, the unit's answers), ``objects.py`` the model to
LTM objects and back, ``gtm.py`` domains to BIG-IP DNS (GTM) objects and back, ``driver.py``
observes and applies, ``units.py`` sends every call to the ACTIVE unit (``adc.url`` may name both
units of an HA pair: a standby accepts writes and they break config sync, so the bridge never
writes to one). It manages nodes, pools, members, virtual servers and, with ``adc`` in
``dns.targets``, domains as wide IPs. Settings it cannot honour, refused at start: no partition,
the ``Common`` partition unless ``adc.allow_default_partition``, ``pool.method: ip-hash`` (BIG-IP has
no such load-balancing mode), object names that would start with something other than a letter,
and, when it publishes to BIG-IP DNS, no ``adc.gtm_server`` (the operator's GTM server in
``Common``) or no ``dns.verify_servers`` (the management address answers no DNS).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from adcbridge.adc.bigip.driver import BigipDriver
from adcbridge.adc.bigip.gtm import Gtm, GtmPublisher
from adcbridge.adc.bigip.units import Units
from adcbridge.adc.bigip.wire import BIGIP_WIRE
from adcbridge.adc.contract import Adc, Dialect, SettingProblem, partition_problems
from adcbridge.adc.units import unit_clients
from adcbridge.config import Settings
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics

__all__ = ["BIGIP_WIRE", "DIALECT", "BigipDriver"]
DEFAULT_PARTITION = "Common"


def problems(settings: Settings) -> list[SettingProblem]:
    found = partition_problems(settings.adc, DEFAULT_PARTITION)
    if settings.pool.method == "ip-hash":
        found.append(SettingProblem(("pool", "method"), "ip-hash has no BIG-IP load-balancing mode"))
    if not (settings.name_prefix + settings.owner_id)[:1].isalpha():
        found.append(SettingProblem(("name_prefix",), "BIG-IP object names start with a letter"))
    if "adc" in settings.dns.targets:
        found += _dns_problems(settings)
    return found


def _dns_problems(settings: Settings) -> list[SettingProblem]:
    """Publishing to BIG-IP DNS needs the operator's GTM server, and servers that answer DNS."""
    found = []
    folder, _, name = settings.adc.gtm_server.removeprefix("/").partition("/")
    if not settings.adc.gtm_server:
        found.append(
            SettingProblem(
                ("adc", "gtm_server"),
                "required with adc in dns.targets: the GTM server that stands for this unit, /Common/<name>",
            )
        )
    elif not settings.adc.gtm_server.startswith("/") or folder != DEFAULT_PARTITION or not name or "/" in name:
        found.append(
            SettingProblem(("adc", "gtm_server"), "a full path in Common, /Common/<name>: GTM servers live there")
        )
    if settings.dns.verify and not settings.dns.verify_servers:
        found.append(
            SettingProblem(
                ("dns", "verify_servers"),
                "required with adc in dns.targets: a BIG-IP answers DNS on its listeners, not its management address",
            )
        )
    return found


@contextlib.asynccontextmanager
async def _open(
    settings: Settings, metrics: Metrics | None, write_gate: Callable[[], bool] | None
) -> AsyncIterator[Adc]:
    adc = settings.adc
    async with unit_clients(settings, BIGIP_WIRE, metrics, write_gate) as clients:
        units = Units(clients, timeout=adc.timeout, metrics=metrics)
        yield BigipDriver(
            units,
            owner_of(settings),
            partition=adc.partition,
            page_size=adc.page_size,
            concurrency=adc.concurrency,
            save_config=adc.save_config,
            batch_size=adc.batch_size,
            gtm=_publisher(settings, units) if "adc" in settings.dns.targets else None,
            sync_group=adc.config_sync_group,
            metrics=metrics,
        )


def _publisher(settings: Settings, units: Units) -> Callable[[BigipDriver], GtmPublisher]:
    gtm = Gtm(owner_of(settings), settings.adc.partition, settings.adc.gtm_server)
    return lambda driver: GtmPublisher(units, gtm, driver.read_all)


DIALECT = Dialect("bigip", BigipDriver.kinds, problems, _open, follows_failover=True)
