"""Mock controls under ``/_mock/``: the test harness's levers, not part of the appliance.

They need no token (tests must be able to inspect a locked-out appliance) and therefore
answer loopback peers only. They are never subject to injected faults or the HA role.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import asdict

from aiohttp import web

from mocks.adc.api import STATE_KEY, Handler, envelope, read_body
from mocks.adc.codes import ApiFailure, Code, invalid
from mocks.adc.validation import decimal
from mocks.loopback import is_loopback as _is_loopback

PREFIX = "/_mock"


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PREFIX) and not _is_loopback(request.remote):
        raise ApiFailure(Code.FORBIDDEN, "mock controls answer loopback clients only", http_status=403)
    return await handler(request)


async def get_state(request: web.Request) -> web.Response:
    return envelope(request.app[STATE_KEY].snapshot())


async def reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return envelope()


async def get_faults(request: web.Request) -> web.Response:
    return envelope({"rules": request.app[STATE_KEY].faults.describe()})


async def set_faults(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.faults.configure(await read_body(request))
    return envelope({"rules": state.faults.describe()})


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE_KEY].faults.configure({"rules": []})
    return envelope()


async def get_changes(request: web.Request) -> web.Response:
    since = decimal(request.query.get("since", "0"))
    if since is None:
        raise invalid("since", "must be a non-negative integer")
    log = request.app[STATE_KEY].changes  # in seq order: found by bisection, not read whole at every poll
    changes = [asdict(change) for change in log[bisect.bisect_right(log, since, key=lambda change: change.seq) :]]
    return envelope({"changes": changes, "total": len(changes)})


async def set_role(request: web.Request) -> web.Response:
    body = await read_body(request)
    role, drop_sessions = body.get("role"), body.get("drop_sessions", False)
    if role not in ("active", "standby"):
        raise invalid("role", "must be active or standby")
    if not isinstance(drop_sessions, bool):
        raise invalid("drop_sessions", "must be true or false")
    state = request.app[STATE_KEY]
    state.role = role
    # A failover moves the management address to the other unit, which knows none of the tokens.
    dropped = state.sessions.expire_all() if drop_sessions else 0
    return envelope({"role": role, "dropped_sessions": dropped})


async def advance_clock(request: web.Request) -> web.Response:
    body = await read_body(request)
    seconds = body.get("advance")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < math.inf:
        raise invalid("advance", "must be a non-negative number of seconds")
    request.app[STATE_KEY].clock.advance(float(seconds))
    return envelope({"offset": request.app[STATE_KEY].clock.offset})


async def expire_sessions(request: web.Request) -> web.Response:
    return envelope({"expired": request.app[STATE_KEY].sessions.expire_all()})


async def change_password(request: web.Request) -> web.Response:
    password = (await read_body(request)).get("password")
    if not isinstance(password, str) or not password:
        raise invalid("password", "must be a non-empty string")
    return envelope({"ended_sessions": request.app[STATE_KEY].change_password(password)})


async def get_stats(request: web.Request) -> web.Response:
    requests = dict(request.app[STATE_KEY].requests)
    return envelope({"requests": requests, "total": sum(requests.values())})


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{PREFIX}/state", get_state)
    router.add_post(f"{PREFIX}/reset", reset)
    router.add_get(f"{PREFIX}/faults", get_faults)
    router.add_post(f"{PREFIX}/faults", set_faults)
    router.add_delete(f"{PREFIX}/faults", clear_faults)
    router.add_get(f"{PREFIX}/changes", get_changes)
    router.add_post(f"{PREFIX}/role", set_role)
    router.add_post(f"{PREFIX}/clock", advance_clock)
    router.add_post(f"{PREFIX}/sessions/expire", expire_sessions)
    router.add_post(f"{PREFIX}/password", change_password)
    router.add_get(f"{PREFIX}/stats", get_stats)
