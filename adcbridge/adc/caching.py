"""The ADC's state kept between cycles, so a change cycle writes the difference and reads nothing.

Reading a whole appliance costs one request per page of every kind (24 at 10,000 hosts); the
write a single-host change needs is one. So after a full read (``observe``) the reconciler keeps
the ``AdcState`` here, and each operation a cycle carries out with the outcome "done" is played
onto it: a create or update leaves the desired object (what the dialect wrote, which is what a
fresh read gives back: every dialect reads its own writes back into the same model value, or the
no-op resync would write forever), a delete removes the object, and a pool's delete its members
too (an appliance deletes a pool's members with it; the planner sends no delete for them). A
change cycle then plans against this state, as if it had read the appliance; when that plan only
creates, it is carried out so (the appliance refuses a name or an address taken meanwhile, and
the dialect settles that as a conflict). A plan that updates or deletes an existing object is made
again on a read of its own cycle (``reconciler.only_creates``): ownership is proven by the marker,
and an object deleted and made again by hand since the last read must not be changed or deleted
on the strength of a marker seen then. That read is of those objects alone when the dialect can
(``Adc.read_objects``: one GET for a host deleted, instead of two dozen list pages at 10,000
hosts); what it finds replaces them here (``refreshed``: a pool read again brings its members),
so the kept state stays what the appliance holds. It does not make the kept state younger: the
rest of it is as old as the last full read, and the resync still comes one period after that.

It is vendor-neutral: it knows the model, the ``ApplyReport`` and ``Adc.active_unit()``, never
an appliance's API. What the cache cannot know is what changed on the appliance without us
(drift) or a write whose outcome we cannot be sure of. So it is dropped, and the next cycle
reads the whole appliance, in each of these cases:

- at start, and each time the loop (re)starts (a leader elected again: another replica may
  have written meanwhile);
- when the last full read is ``resync_seconds`` old: drift is repaired within one resync even
  while changes keep coming, and a quiet cluster's periodic resync always reads (a quiet loop
  wakes for it; a change that starts its cycle at once as the resync falls due goes first, on the
  kept state, and the read follows it: the change does not wait for a read of the whole appliance);
- after any operation that did not end "done" (failed, skipped: a timeout, a reset, an answer
  that was lost after the appliance applied it), and after any cycle that failed, a bug
  included, or was cancelled in the middle of writing;
- when the active unit of an HA pair changed (``Adc.active_unit()``) since the read.

In dry run nothing is written, so nothing is played onto the cache either.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from adcbridge.adc.applying import ApplyReport
from adcbridge.model import Action, AdcMember, AdcObject, AdcState, Kind, Operation


@dataclass
class StateCache:
    """The appliance as last read and since written by us; ``None`` while a full read is due."""

    resync_seconds: float
    clock: Callable[[], float] = time.monotonic  # the age of a read: monotonic, whatever the wall clock does
    state: AdcState | None = None
    unit: str = ""  # the active unit the state was read from ("" for dialects without the notion)
    read_at: float = 0.0
    reads: int = 0  # full reads so far (tests and metrics look)

    def current(self, unit: str, *, overdue_ok: bool = False) -> AdcState | None:
        """The state to plan against, or ``None`` when the appliance must be read whole first.

        ``overdue_ok``: a state past its resync age is still good for this cycle (a change after a
        quiet period, which should not wait for the whole appliance to be read); the resync stays
        due (``due_in`` is 0), so the loop reads the appliance in the cycle right after. A state
        dropped for doubt, or read from another unit, is never used."""
        if self.state is None or unit != self.unit:
            return None
        if not overdue_ok and self.clock() - self.read_at >= self.resync_seconds:
            return None
        return self.state

    def due_in(self) -> float:
        """Seconds until the kept state is a resync period old: when a quiet loop wakes to read the
        ADC, so drift is repaired one period after the last read, whatever change cycles ran since.
        A whole period when nothing is kept (the next cycle reads anyway; after a failed write it
        must not retry at once, again and again)."""
        if self.state is None:
            return self.resync_seconds
        return max(0.0, self.read_at + self.resync_seconds - self.clock())

    def read(self, state: AdcState, unit: str, *, at: float) -> None:
        """A full read that started at ``at`` (by ``clock``): the age of what it saw."""
        self.state, self.unit, self.read_at = state, unit, at
        self.reads += 1

    def forget(self) -> None:
        """The next cycle reads the whole appliance."""
        self.state = None

    def refresh(self, fresh: AdcState, keys: Collection[tuple[Kind, str]], unit: str) -> AdcState | None:
        """Put objects read again alone (``Adc.read_objects``) into the kept state, and return it;
        None when nothing is kept for ``unit`` (a full read is due: the read alone proves nothing)."""
        if self.state is None or unit != self.unit:
            return None
        self.state = refreshed(self.state, fresh, keys)
        return self.state

    def wrote(self, report: ApplyReport, unit: str) -> None:
        """Play a cycle's results onto the state; any doubt (a result not "done", another unit
        active than the one read) drops it instead."""
        if self.state is None:
            return
        if report.failures or unit != self.unit:
            self.forget()
            return
        self.state = after(self.state, (result.operation for result in report.results))


def after(state: AdcState, done: Iterable[Operation]) -> AdcState:
    """``state`` with ``done`` carried out, as a new value (the cycle that read ``state`` still holds
    it); only the kinds touched are copied."""
    copies: dict[Kind, dict[str, Any]] = {}

    def of(kind: Kind) -> dict[str, Any]:
        if kind not in copies:
            copies[kind] = dict(state.of_kind(kind))
        return copies[kind]

    for operation in done:
        obj = operation.obj
        objects = of(obj.kind)
        if operation.action is not Action.DELETE:
            objects[obj.key] = obj
            continue
        objects.pop(obj.key, None)
        if obj.kind is Kind.POOL:  # its members go with it
            members = of(Kind.MEMBER)
            for key in [key for key, member in members.items() if member.pool == obj.key]:
                del members[key]

    def pick(kind: Kind) -> dict[str, Any]:
        return copies.get(kind, state.of_kind(kind))

    return AdcState(pick(Kind.NODE), pick(Kind.POOL), pick(Kind.MEMBER), pick(Kind.VSERVER), pick(Kind.DOMAIN))


def covers(keys: Collection[tuple[Kind, str]], obj: AdcObject) -> bool:
    """Does a read of ``keys`` (``Adc.read_objects``) say what ``obj`` is now: is it one of them,
    or a member of a pool among them?"""
    return (obj.kind, obj.key) in keys or (isinstance(obj, AdcMember) and (Kind.POOL, obj.pool) in keys)


def refreshed(state: AdcState, fresh: AdcState, keys: Collection[tuple[Kind, str]]) -> AdcState:
    """``state`` with the objects ``keys`` names as ``fresh`` read them, as a new value: each one
    replaced by what was read, or removed when it was not found, and a pool's members with it
    (those read, and none of those kept); anything else ``fresh`` holds is not what was asked and
    is left out. Only the kinds touched are copied."""
    asked = frozenset(keys)
    pools = {key for kind, key in asked if kind is Kind.POOL}
    kinds = {kind for kind, _ in asked} | ({Kind.MEMBER} if pools else set())
    copies: dict[Kind, dict[str, Any]] = {kind: dict(state.of_kind(kind)) for kind in kinds}
    for kind, key in asked:
        copies[kind].pop(key, None)
    if pools:
        members = copies[Kind.MEMBER]
        for key in [key for key, member in members.items() if member.pool in pools]:
            del members[key]
    for kind in kinds:
        copies[kind].update({obj.key: obj for obj in fresh.of_kind(kind).values() if covers(asked, obj)})

    def pick(kind: Kind) -> dict[str, Any]:
        return copies.get(kind, state.of_kind(kind))

    return AdcState(pick(Kind.NODE), pick(Kind.POOL), pick(Kind.MEMBER), pick(Kind.VSERVER), pick(Kind.DOMAIN))
