"""The F5 BIG-IP dialect: iControl REST, LTM objects in one partition of the bridge's own.

``wire.py`` is its HTTP level (token sessions, the unit's answers), ``objects.py`` the model to
LTM objects and back, ``driver.py`` observes and applies, ``units.py`` sends every call to the
ACTIVE unit (``adc.url`` may name both units of an HA pair: a standby accepts writes and they
break config sync, so the bridge never writes to one). It manages nodes, pools, members and
virtual servers; it does not publish names to BIG-IP DNS yet, so ``dns.targets`` must not name
``adc`` (publish by RFC 2136 instead). Settings it cannot honour, refused at start: no partition,
the ``Common`` partition unless ``adc.allow_default_partition``, ``pool.method: ip-hash`` (BIG-IP has
no such load-balancing mode), and object names that would start with something other than a letter.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from adcbridge.adc.bigip.driver import BigipDriver
from adcbridge.adc.bigip.units import Units
from adcbridge.adc.bigip.wire import BIGIP_WIRE
from adcbridge.adc.client import AdcClient
from adcbridge.adc.contract import Adc, Dialect, SettingProblem
from adcbridge.adc.credentials import credential_source
from adcbridge.config import Settings
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics

__all__ = ["BIGIP_WIRE", "DIALECT", "BigipDriver"]
DEFAULT_PARTITION = "Common"


def problems(settings: Settings) -> list[SettingProblem]:
    adc, found = settings.adc, []
    if not adc.partition:
        found.append(SettingProblem(("adc", "partition"), "required: the partition the bridge writes in"))
    elif adc.partition == DEFAULT_PARTITION and not adc.allow_default_partition:
        found.append(
            SettingProblem(
                ("adc", "partition"),
                "Common is where administrators keep their objects; use a partition of the bridge's own "
                "(or set adc.allow_default_partition)",
            )
        )
    if settings.pool.method == "ip-hash":
        found.append(SettingProblem(("pool", "method"), "ip-hash has no BIG-IP load-balancing mode"))
    if not (settings.name_prefix + settings.owner_id)[:1].isalpha():
        found.append(SettingProblem(("name_prefix",), "BIG-IP object names start with a letter"))
    if "adc" in settings.dns.targets:
        found.append(
            SettingProblem(("dns", "targets"), "the bigip dialect does not publish to BIG-IP DNS yet; use rfc2136")
        )
    return found


@contextlib.asynccontextmanager
async def _open(
    settings: Settings, metrics: Metrics | None, write_gate: Callable[[], bool] | None
) -> AsyncIterator[Adc]:
    adc = settings.adc
    credentials = credential_source(adc.username, adc.password, settings.secrets_dir)
    async with contextlib.AsyncExitStack() as sessions:
        clients = {
            url: await sessions.enter_async_context(
                AdcClient(
                    adc,
                    credentials,
                    wire=BIGIP_WIRE,
                    read_only=settings.dry_run,
                    metrics=metrics,
                    write_gate=write_gate,
                    url=url,
                )
            )
            for url in adc.urls
        }
        yield BigipDriver(
            Units(clients, timeout=adc.timeout, metrics=metrics),
            owner_of(settings),
            partition=adc.partition,
            page_size=adc.page_size,
            concurrency=adc.concurrency,
            save_config=adc.save_config,
            sync_group=adc.config_sync_group,
            metrics=metrics,
        )


DIALECT = Dialect("bigip", BigipDriver.kinds, problems, _open, follows_failover=True)
