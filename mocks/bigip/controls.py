"""Mock controls under ``/_mock/``: the test harness's levers, not part of the unit.

They need no credentials and answer loopback peers only; they are never subject to
injected faults and never counted or logged as API requests. ``seed`` applies REST writes
as an administrator would, outside the change log and the counters, so a test can prepare
``/Common`` and still prove that the client under test wrote nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks.bigip import errors, views
from mocks.bigip.api import STATE_KEY, Handler, read_body, reply
from mocks.bigip.operations import write
from mocks.bigip.state import UnitState
from mocks.controls import Emulator, add_shared_routes
from mocks.loopback import is_loopback

PREFIX = "/_mock"
DEFAULT_GROUP = "failover-group"
STATE_TABLES = (
    "auth/partition",
    "ltm/node",
    "ltm/pool",
    "ltm/virtual",
    "ltm/virtual-address",
    "ltm/snatpool",
    "gtm/datacenter",
    "gtm/server",
    "gtm/pool/a",
    "gtm/pool/aaaa",
    "gtm/wideip/a",
    "gtm/wideip/aaaa",
)


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PREFIX) and not is_loopback(request.remote):
        raise errors.F5Error(403, "mock controls answer loopback clients only", api_error=errors.REST)
    return await handler(request)


def _invalid(message: str) -> errors.F5Error:
    return errors.F5Error(400, message, api_error=errors.REST)


async def _object(request: web.Request) -> dict[str, Any]:
    body = await read_body(request)
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    return body


def objects(state: UnitState) -> dict[str, list[dict[str, Any]]]:
    """Every object a client can write, as a GET with ``expandSubcollections=true`` shows it."""
    store = state.store
    shown: dict[str, list[dict[str, Any]]] = {}
    for table in STATE_TABLES:
        otype = store.types[table]
        shown[table] = [
            views.render(store, otype, record, parent=None, parent_path=None, expand=True)
            for record in store.records(otype)
        ]
    return shown


async def get_state(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return reply(state.describe() | {"objects": objects(state)})


async def set_role(request: web.Request) -> web.Response:
    body = await _object(request)
    state = request.app[STATE_KEY]
    if body.get("role") not in ("active", "standby"):
        raise _invalid("role must be active or standby")
    group = body.get("device_group", state.device_group)
    if group is not None and (not isinstance(group, str) or not group):
        raise _invalid("device_group must be a name or null")
    if body["role"] == "standby" and group is None:
        group = DEFAULT_GROUP  # a standby is one unit of a pair: it is in a device group
    state.role, state.device_group = body["role"], group
    return reply(state.describe())


async def get_tokens(request: web.Request) -> web.Response:
    users = request.app[STATE_KEY].users
    users.purge()
    listed = {
        user: [
            {"token": token.token, "timeout": token.timeout, "expirationMicros": int(token.expires * 1e6)}
            for token in users.of(user)
        ]
        for user in sorted(users.passwords)
    }
    return reply({"users": listed, "total": len(users.tokens)})


async def expire_tokens(request: web.Request) -> web.Response:
    return reply({"expired": request.app[STATE_KEY].users.expire_all()})


async def set_password(request: web.Request) -> web.Response:
    body = await _object(request)
    state = request.app[STATE_KEY]
    username, password = body.get("username", state.username), body.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
        raise _invalid("username and password must be non-empty strings")
    return reply({"username": username, "ended_tokens": state.set_password(username, password)})


async def get_stats(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return reply(
        {
            "requests": dict(state.requests),
            "paths": dict(state.paths),
            "total": sum(state.requests.values()),
            "failed_logins": state.users.failed_logins,
        }
    )


async def seed(request: web.Request) -> web.Response:
    """``{"requests": [{"method", "path", "body"}]}``, applied in order and all or nothing."""
    state = request.app[STATE_KEY]
    requests = (await _object(request)).get("requests")
    if not isinstance(requests, list) or not all(isinstance(item, dict) for item in requests):
        raise _invalid('the body must be {"requests": [{"method", "path", "body"}, ...]}')
    mark, flags = len(state.changes), (state.unsaved, state.sync_pending)
    try:
        with state.store.db.atomic():
            answers = [
                write(state, str(item.get("method")), str(item.get("path")), item.get("body")) for item in requests
            ]
    finally:
        del state.changes[mark:]
        state.unsaved, state.sync_pending = flags
    return reply({"applied": len(answers), "answers": answers})


def _unit(request: web.Request) -> UnitState:
    return request.app[STATE_KEY]


LEVERS = Emulator(state=_unit, invalid=_invalid, body=_object, reply=reply)


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{PREFIX}/state", get_state)
    add_shared_routes(app, PREFIX, LEVERS)
    router.add_post(f"{PREFIX}/role", set_role)
    router.add_get(f"{PREFIX}/tokens", get_tokens)
    router.add_post(f"{PREFIX}/tokens/expire", expire_tokens)
    router.add_post(f"{PREFIX}/password", set_password)
    router.add_get(f"{PREFIX}/stats", get_stats)
    router.add_post(f"{PREFIX}/seed", seed)
