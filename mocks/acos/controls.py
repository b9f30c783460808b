"""Mock controls under ``/_mock/``: the test harness's levers, not part of the unit.

They need no credentials and answer loopback peers only; they are never subject to
injected faults and never counted as API requests. ``seed`` applies aXAPI writes as an
administrator would, outside the change log and the counters, so a test can prepare
``shared`` and a partition and still prove that the client under test wrote nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks.acos import objects, paths, system, views
from mocks.acos.api import BASE, BUSY_ANSWERS, STATE_KEY, Handler, read_body, reply
from mocks.acos.errors import AcosError
from mocks.acos.kinds import TOP_LEVEL
from mocks.acos.state import UnitState
from mocks.controls import Emulator, add_shared_routes
from mocks.loopback import is_loopback

PREFIX = "/_mock"


class ControlError(Exception):
    """A bad control request: 400 (403 from a non-loopback peer) with ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        if not is_loopback(request.remote):
            raise ControlError("mock controls answer loopback clients only", 403)
        return await handler(request)
    except ControlError as failure:
        return reply({"error": str(failure)}, status=failure.status)


async def _object(request: web.Request) -> dict[str, Any]:
    try:
        body = await read_body(request)
    except AcosError:
        raise ControlError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def objects_of(state: UnitState) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every object of every partition, as a GET of its collection shows it (children inline)."""
    shown: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, partition in state.config.partitions.items():
        shown[name] = {
            path: [
                views.render(kind, record, f"{BASE}/{path}/{kind.url_key(key)}")
                for key, record in partition.table(path).items()
            ]
            for path, kind in TOP_LEVEL.items()
        }
    return shown


async def get_state(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    partitions = [system.describe_partition(p) for p in state.config.partitions.values()]
    return reply(state.describe() | {"partitions": partitions, "objects": objects_of(state)})


async def set_busy(request: web.Request) -> web.Response:
    answer = (await _object(request)).get("answer")
    if answer not in BUSY_ANSWERS:
        raise ControlError(f"answer must be one of {', '.join(BUSY_ANSWERS)}")
    request.app[STATE_KEY].busy_answer = answer
    return reply({"answer": answer})


async def set_role(request: web.Request) -> web.Response:
    body = await _object(request)
    state = request.app[STATE_KEY]
    if body.get("role") not in ("active", "standby"):
        raise ControlError("role must be active or standby")
    vcs = body.get("vcs", state.vcs)
    if not isinstance(vcs, bool):
        raise ControlError("vcs must be true or false")
    state.role, state.vcs = body["role"], vcs
    return reply(state.describe())


async def get_sessions(request: web.Request) -> web.Response:
    sessions = request.app[STATE_KEY].sessions
    sessions.purge()
    listed = [
        {"signature": s.signature, "user": s.user, "partition": s.partition, "idle": sessions.clock.now() - s.last_used}
        for s in sessions.open.values()
    ]
    counters = {"logins": sessions.logins, "logoffs": sessions.logoffs, "expired": sessions.expired}
    settings = {"limit": sessions.limit, "idle_minutes": sessions.idle_minutes}
    return reply({"sessions": listed, "total": len(listed), **counters, **settings})


async def set_sessions(request: web.Request) -> web.Response:
    """``{"limit": n, "idle_minutes": m}``: the web-service ``axapi-session-limit`` and ``axapi-idle``."""
    body = await _object(request)
    sessions = request.app[STATE_KEY].sessions
    limit, idle = body.get("limit", sessions.limit), body.get("idle_minutes", sessions.idle_minutes)
    if set(body) - {"limit", "idle_minutes"}:
        raise ControlError("the fields are limit and idle_minutes")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1024:
        raise ControlError("limit must be a number from 1 to 1024")
    if isinstance(idle, bool) or not isinstance(idle, int) or not 0 <= idle <= 60:
        raise ControlError("idle_minutes must be a number from 0 (never) to 60")
    sessions.limit, sessions.idle_minutes = limit, idle
    return await get_sessions(request)


async def end_sessions(request: web.Request) -> web.Response:
    return reply({"ended": request.app[STATE_KEY].sessions.end_all()})


async def set_password(request: web.Request) -> web.Response:
    body = await _object(request)
    state = request.app[STATE_KEY]
    username, password = body.get("username", state.username), body.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
        raise ControlError("username and password must be non-empty strings")
    return reply({"username": username, "ended_sessions": state.set_password(username, password)})


async def get_stats(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return reply(
        {
            "requests": dict(state.requests),
            "paths": dict(state.paths),
            "total": sum(state.requests.values()),
            "failed_logins": state.sessions.failed_logins,
            "writes_to_memory": state.writes_to_memory,
        }
    )


async def seed(request: web.Request) -> web.Response:
    """``{"requests": [{"method", "path", "body", "partition"}]}``: object writes, in order, all or nothing."""
    state = request.app[STATE_KEY]
    requests = (await _object(request)).get("requests")
    if not isinstance(requests, list) or not all(isinstance(item, dict) for item in requests):
        raise ControlError('the body must be {"requests": [{"method", "path", "body", "partition"}, ...]}')
    before = state.config.dump()
    try:
        for item in requests:
            _seed_one(state, item)
    except AcosError as failure:
        state.config.load(before)
        return reply(failure.body(), status=failure.status)
    except ControlError:
        state.config.load(before)
        raise
    return reply({"applied": len(requests)})


def _seed_one(state: UnitState, item: dict[str, Any]) -> None:
    method, path, body = str(item.get("method")), str(item.get("path", "")), item.get("body")
    relative = path.removeprefix(BASE).strip("/")
    if relative == "partition" and method == "POST":
        system.partition_create(state, body)
        return
    target = paths.parse(relative)
    partition = state.config.partitions.get(str(item.get("partition", "shared")))
    if target is None or partition is None:
        raise ControlError(f"cannot seed {method} {path} in partition {item.get('partition', 'shared')}")
    if method == "POST" and target.key is None:
        objects.create(state.config, partition, target, body)
    elif method == "POST":
        objects.merge(state.config, partition, target, body)
    elif method == "PUT":
        objects.replace(state.config, partition, target, body)
    elif method == "DELETE":
        objects.delete(state.config, partition, target)
    else:
        raise ControlError(f"cannot seed {method}")


def _unit(request: web.Request) -> UnitState:
    return request.app[STATE_KEY]


LEVERS = Emulator(state=_unit, invalid=ControlError, body=_object, reply=reply)


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{PREFIX}/state", get_state)
    add_shared_routes(app, PREFIX, LEVERS)
    router.add_post(f"{PREFIX}/busy", set_busy)
    router.add_post(f"{PREFIX}/role", set_role)
    router.add_get(f"{PREFIX}/sessions", get_sessions)
    router.add_post(f"{PREFIX}/sessions", set_sessions)
    router.add_post(f"{PREFIX}/sessions/end", end_sessions)
    router.add_post(f"{PREFIX}/password", set_password)
    router.add_get(f"{PREFIX}/stats", get_stats)
    router.add_post(f"{PREFIX}/seed", seed)
