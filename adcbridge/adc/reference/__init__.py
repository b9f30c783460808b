"""The reference dialect: the ``/adc/v3.0`` REST API of the appliance emulated in ``mocks/adc/``.

``wire.py`` is its HTTP level (login, envelope, codes), ``bodies.py`` and ``parsing.py`` its
objects both ways, ``driver.py`` observes and applies. It manages every kind of the model; it has
no partitions, no source address translation setting (it always translates, as ``automap``) and no
transactions, so those settings are refused at start: a ``batch_size`` other than the default would
be silently ignored otherwise, and an operator who sets it expects it to mean something.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from adcbridge.adc.client import AdcClient
from adcbridge.adc.contract import Adc, Dialect, SettingProblem
from adcbridge.adc.credentials import credential_source
from adcbridge.adc.reference.driver import ReferenceDriver
from adcbridge.adc.reference.wire import REFERENCE_WIRE
from adcbridge.config import AdcSettings, Settings
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics

__all__ = ["DIALECT", "REFERENCE_WIRE", "ReferenceDriver"]


@contextlib.asynccontextmanager
async def _open(
    settings: Settings, metrics: Metrics | None, write_gate: Callable[[], bool] | None
) -> AsyncIterator[Adc]:
    adc = settings.adc
    credentials = credential_source(adc.username, adc.password, settings.secrets_dir)
    client = AdcClient(
        adc, credentials, wire=REFERENCE_WIRE, read_only=settings.dry_run, metrics=metrics, write_gate=write_gate
    )
    async with client:
        yield ReferenceDriver(
            client,
            owner_of(settings),
            page_size=adc.page_size,
            concurrency=adc.concurrency,
            save_config=adc.save_config,
        )


def problems(settings: Settings) -> list[SettingProblem]:
    adc, found = settings.adc, []
    if adc.partition or adc.allow_default_partition:
        path = ("adc", "partition" if adc.partition else "allow_default_partition")
        found.append(SettingProblem(path, "the reference appliance has no partitions"))
    if adc.snat != "automap":
        found.append(SettingProblem(("adc", "snat"), "the reference appliance always translates (automap)"))
    if adc.batch_size != AdcSettings.model_fields["batch_size"].default:
        found.append(SettingProblem(("adc", "batch_size"), "the reference appliance has no transactions"))
    if adc.gtm_server:
        found.append(SettingProblem(("adc", "gtm_server"), "the reference appliance serves its domains itself"))
    if adc.config_sync_group:
        found.append(SettingProblem(("adc", "config_sync_group"), "the reference appliance has no device groups"))
    return found


DIALECT = Dialect("reference", ReferenceDriver.kinds, problems, _open)
