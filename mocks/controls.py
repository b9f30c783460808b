"""The mock-control levers every emulated unit offers alike: reset, faults, changes, clock.

Each emulator keeps its own state type, error body and JSON reply; only the rules of these
levers are one, so they are written once here and each emulator's ``controls`` module adds
them to its routes with its own ways to read the state, refuse a request and answer.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from mocks.adc.codes import ApiFailure
from mocks.adc.faults import Faults


class Clock(Protocol):
    offset: float

    def advance(self, seconds: float) -> None: ...


class Unit(Protocol):
    """What the shared levers touch on an emulator's state."""

    @property
    def faults(self) -> Faults: ...

    @property
    def clock(self) -> Clock: ...

    def reset(self) -> None: ...

    def change_list(self, since: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Emulator:
    """How one emulator reads its state, refuses a control request, reads a body and answers."""

    state: Callable[[web.Request], Unit]
    invalid: Callable[[str], Exception]
    body: Callable[[web.Request], Awaitable[dict[str, Any]]]
    reply: Callable[[Any], web.Response]


def add_shared_routes(app: web.Application, prefix: str, unit: Emulator) -> None:
    """``reset``, ``faults`` (GET, POST, DELETE), ``changes`` and ``clock`` under ``prefix``."""

    async def reset(request: web.Request) -> web.Response:
        unit.state(request).reset()
        return unit.reply({"reset": True})

    async def get_faults(request: web.Request) -> web.Response:
        return unit.reply({"rules": unit.state(request).faults.describe()})

    async def set_faults(request: web.Request) -> web.Response:
        state = unit.state(request)
        try:
            state.faults.configure(await unit.body(request))
        except ApiFailure as failure:
            raise unit.invalid(failure.msg) from None
        return unit.reply({"rules": state.faults.describe()})

    async def clear_faults(request: web.Request) -> web.Response:
        unit.state(request).faults.configure({"rules": []})
        return unit.reply({"rules": []})

    async def get_changes(request: web.Request) -> web.Response:
        raw = request.query.get("since", "0")
        if not raw.isascii() or not raw.isdigit():
            raise unit.invalid("since must be a non-negative integer")
        changes = unit.state(request).change_list(int(raw))
        return unit.reply({"changes": changes, "total": len(changes)})

    async def advance_clock(request: web.Request) -> web.Response:
        seconds = (await unit.body(request)).get("advance")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < math.inf:
            raise unit.invalid("advance must be a non-negative number of seconds")
        state = unit.state(request)
        state.clock.advance(float(seconds))
        return unit.reply({"offset": state.clock.offset})

    router = app.router
    router.add_post(f"{prefix}/reset", reset)
    router.add_get(f"{prefix}/faults", get_faults)
    router.add_post(f"{prefix}/faults", set_faults)
    router.add_delete(f"{prefix}/faults", clear_faults)
    router.add_get(f"{prefix}/changes", get_changes)
    router.add_post(f"{prefix}/clock", advance_clock)
