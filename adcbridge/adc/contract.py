"""What a dialect is: the contract between the engine and one appliance's API.

The planner, the guards and the reconciler speak the vendor-neutral model (nodes, pools,
members, virtual servers, domains). A dialect is the only code that knows one appliance's API:
a package under ``adc/`` that reads the appliance into that model (``observe``), carries a plan
out (``apply``) and says what the unit is (``describe``), with the appliance's own sessions,
paging, errors, batching, save and HA rules.

A dialect also declares what it can manage (``kinds``: a kind it cannot manage is never
planned) and which settings it cannot honour (``problems``: checked once at start, so a
setting the appliance has no equivalent for exits 2 naming the field and the dialect instead
of failing every cycle). ``dialects.py`` holds the registry; ``adc.dialect`` picks one.

A dialect may also read a few named objects alone (``read_objects``), so that a change cycle that
updates or deletes one object proves ownership on a read of that object instead of the whole
appliance (``reconciler.py``); one that cannot says so (``None``) and the whole appliance is read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from adcbridge.adc.applying import ApplyReport
from adcbridge.config import AdcSettings, Settings
from adcbridge.metrics import Metrics
from adcbridge.model import AdcState, Kind, Plan


@dataclass(frozen=True)
class AdcInfo:
    """What ``adcbridge check`` says about the unit."""

    version: str
    role: str  # "active", "standby" or "?"
    unit: str = ""  # the unit described, when adc.url names several


class Adc(Protocol):
    """One appliance as the reconciler sees it."""

    kinds: frozenset[Kind]

    async def observe(self) -> AdcState:
        """Everything the appliance holds, ours and others'; raises if anything could not be read."""

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        """The objects named by ``(kind, key)``, each read now, or ``None`` when this dialect does not
        read objects alone (or judges the whole appliance cheaper to read for so many).

        The answer holds each named object that exists, parsed by the same code as ``observe`` (so
        an unchanged object compares equal, and an item ``observe`` would leave out is left out);
        one that does not exist is absent. A pool named comes with all its members, as ``observe``
        gives them. Nothing else counts: the caller replaces exactly what it named (and the named
        pools' members) with the answer. Raises, as ``observe`` does, when a read fails: an unknown
        must never look like an absence."""

    async def apply(self, plan: Plan) -> ApplyReport:
        """Carry the plan out, reporting each operation; save the configuration if anything changed."""

    async def connect(self, *, within: float) -> None:
        """Log in and read once within ``within`` seconds (a one-shot run's first contact), or
        ``AdcUnavailable`` naming the last error."""

    async def describe(self) -> AdcInfo: ...

    def active_unit(self) -> str:
        """The unit being written to, for dialects that follow failover ("" otherwise, or while
        no unit is active); what the last read said, no I/O (``/readyz`` shows it)."""


@dataclass(frozen=True)
class SettingProblem:
    path: tuple[str, ...]  # e.g. ("pool", "method")
    message: str


def partition_problems(adc: AdcSettings, default_partition: str) -> list[SettingProblem]:
    """A dialect with partitions needs one named, and not the administrators' default unless allowed."""
    if not adc.partition:
        return [SettingProblem(("adc", "partition"), "required: the partition the bridge writes in")]
    if adc.partition == default_partition and not adc.allow_default_partition:
        return [
            SettingProblem(
                ("adc", "partition"),
                f"{default_partition} is where administrators keep their objects; use a partition of the "
                "bridge's own (or set adc.allow_default_partition)",
            )
        ]
    return []


Opener = Callable[[Settings, Metrics | None, Callable[[], bool] | None], AbstractAsyncContextManager[Adc]]


@dataclass(frozen=True)
class Dialect:
    name: str
    kinds: frozenset[Kind]
    problems: Callable[[Settings], list[SettingProblem]]
    open: Opener
    follows_failover: bool = False  # may adc.url name several units (an HA pair)?
