"""The registry of ADC dialects, and the two things the rest of the bridge asks of it.

``check_settings`` refuses, once at start, settings the configured dialect cannot honour (exit
2, naming each field and the dialect); ``open_adc`` opens a session with the appliance in its
dialect. Adding a dialect = a package under ``adc/`` exposing a ``Dialect``, listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from adcbridge.adc import acos, bigip, reference
from adcbridge.adc.contract import Adc, Dialect, SettingProblem
from adcbridge.config import Settings, invalid_setting
from adcbridge.errors import ConfigError
from adcbridge.metrics import Metrics

DIALECTS: dict[str, Dialect] = {dialect.name: dialect for dialect in (reference.DIALECT, bigip.DIALECT, acos.DIALECT)}


def dialect_of(settings: Settings) -> Dialect:
    return DIALECTS[settings.adc.dialect]


def check_settings(settings: Settings) -> None:
    """Raise ConfigError, naming each field and the dialect, for settings the dialect cannot honour."""
    dialect = dialect_of(settings)
    problems = dialect.problems(settings)
    if isinstance(settings.adc.url, list) and not dialect.follows_failover:
        problems.insert(0, SettingProblem(("adc", "url"), "one URL: this dialect does not follow an HA failover"))
    if problems:
        lines = [invalid_setting(list(p.path), f"{p.message} (adc.dialect {dialect.name})") for p in problems]
        raise ConfigError("\n".join(lines))


def open_adc(
    settings: Settings, metrics: Metrics | None = None, *, write_gate: Callable[[], bool] | None = None
) -> AbstractAsyncContextManager[Adc]:
    """A session with the configured appliance, in its dialect; logged out when the block ends."""
    return dialect_of(settings).open(settings, metrics, write_gate)
