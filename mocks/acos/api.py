"""The unit's aXAPI v3 (``/axapi/v3/...``) on aiohttp.

Middlewares, outermost first: error answers in the unit's shapes, the loopback rule for
``/_mock/``, request counting and fault injection. Then one dispatcher: the login and
logoff, which need no session; every other URL needs ``Authorization: A10 <signature>``
and is served in that session's active partition — the unit's own URLs (``system``),
then configuration objects (``objects``). A standby unit refuses configuration writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from mocks.acos import errors, objects, paths, system
from mocks.acos.errors import AcosError, AuthError
from mocks.acos.sessions import Session
from mocks.acos.state import UnitState
from mocks.acos.store import SHARED
from mocks.adc.faults import FaultRule
from mocks.wire_faults import inject

log = logging.getLogger(__name__)
STATE_KEY: web.AppKey[UnitState] = web.AppKey("acos_state", UnitState)
BASE = "/axapi/v3"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = Callable[[UnitState, Session, Any, list[str]], dict[str, Any]]
BUSY_ANSWERS: dict[str, Callable[[], AcosError]] = {
    "system-busy": errors.busy,
    "system-not-ready": errors.system_not_ready,
    "config-manager-not-ready": errors.config_manager_not_ready,
}


def reply(payload: Any, *, status: int = 200) -> web.Response:
    return web.Response(status=status, body=errors.encode(payload), content_type=errors.JSON_TYPE)


def error_reply(failure: AcosError | AuthError) -> web.Response:
    return reply(failure.body(), status=failure.status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (AcosError, AuthError) as failure:
        return error_reply(failure)
    except web.HTTPNotFound:
        return error_reply(errors.unknown_uri(request.path))
    except web.HTTPMethodNotAllowed:
        return error_reply(errors.method_not_allowed(request.method, request.path))
    except web.HTTPException:
        raise
    except Exception:
        # A bug in the emulator: say so in the body and the log, never as a bare traceback page.
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return error_reply(AcosError(500, 1, "internal error in the emulator", origin="HTTP"))


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(BASE):
        return await handler(request)
    state = request.app[STATE_KEY]
    state.requests[request.method] += 1
    state.paths[f"{request.method} {request.path.rstrip('/')}"] += 1
    decision = state.faults.decide(request.method, request.path)
    busy = BUSY_ANSWERS[state.busy_answer]
    return await inject(request, handler, decision, answer=_answer, status=_status_fault, busy=busy)


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (AcosError, AuthError) as failure:
        return error_reply(failure)


def _status_fault(rule: FaultRule) -> web.Response:
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    if rule.body == "html":
        title = f"{rule.status} Service Unavailable" if rule.status == 503 else f"{rule.status} Error"
        page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return web.Response(status=rule.status, text=page, content_type="text/html", headers=headers)
    failure = AcosError(rule.status, rule.status, f"injected fault: HTTP {rule.status}", origin="HTTP")
    response = error_reply(failure)
    response.headers.update(headers)
    return response


async def read_body(request: web.Request) -> Any:
    """The JSON body (None when empty); anything else is the unit's JSON format error."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise errors.json_format("the body is not valid JSON") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Sessions -------------------------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    body = await read_body(request)
    credentials = body.get("credentials") if isinstance(body, dict) else None
    if not isinstance(credentials, dict):
        raise errors.json_format('the body must be {"credentials": {"username", "password"}}')
    session = request.app[STATE_KEY].sessions.login(credentials.get("username"), credentials.get("password"))
    description = "the signature should be set in Authorization header for following request."
    return reply({"authresponse": {"signature": session.signature, "description": description}})


async def logoff(request: web.Request) -> web.Response:
    sessions = request.app[STATE_KEY].sessions
    sessions.logoff(sessions.check(request.headers.get("Authorization")))
    return reply(system.OK)


# Everything else --------------------------------------------------------------------------------------

SYSTEM_GET: dict[str, Callable[[UnitState, Session], dict[str, Any]]] = {
    "system": lambda state, session: system.information(state),
    "version/oper": lambda state, session: system.version(state),
    "partition": lambda state, session: system.partition_list(state),
    "partition-all/oper": lambda state, session: system.partition_all_oper(state),
    "partition-available-id/oper": lambda state, session: system.partition_available_id(state),
    "active-partition": lambda state, session: system.active_partition(session),
    "vcs/vcs-summary/oper": lambda state, session: system.vcs_summary(state),
    "vrrp-a": lambda state, session: system.vrrp_a(state),
    "vrrp-a/vrid/oper": lambda state, session: system.vrid_list_oper(state),
}


async def axapi(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    session = state.sessions.check(request.headers.get("Authorization"))
    relative = request.path.removeprefix(BASE).strip("/")
    method = request.method
    body = await read_body(request) if method in ("POST", "PUT") else None
    if method == "GET" and relative in SYSTEM_GET:
        return reply(SYSTEM_GET[relative](state, session))
    answer = _system_write(state, session, method, relative, body)
    if answer is not None:
        return reply(answer)
    target = paths.parse(relative)
    if target is None:
        raise errors.unknown_uri(request.path)
    partition = state.config.partitions[session.partition]
    if method == "GET":
        return reply(objects.read(partition, target))
    collection_write = target.key is None and method != "POST"
    if target.view is not None or collection_write or method not in ("POST", "PUT", "DELETE"):
        raise errors.method_not_allowed(method, request.path)
    with _audited(
        state, method, request.path, kind=target.table(), partition=partition.name, name=target.name()
    ) as entry:
        if method == "POST" and target.key is None:
            made = objects.create(state.config, partition, target, body)
            entry["name"] = ",".join("/".join(filter(None, [entry["name"], target.kind.url_key(key)])) for key in made)
        elif method == "POST":
            objects.merge(state.config, partition, target, body)
        elif method == "PUT":
            objects.replace(state.config, partition, target, body)
        else:
            objects.delete(state.config, partition, target)
        state.changed(partition.name)
    return reply(system.OK)


def _system_write(state: UnitState, session: Session, method: str, relative: str, body: Any) -> dict[str, Any] | None:
    """The unit's own URLs other than plain reads; None when ``relative`` is not one of them."""
    parts = relative.split("/")
    if relative == "write/memory" and method == "POST":
        path = f"{BASE}/{relative}"
        with _audited(state, method, path, kind="write/memory", partition=session.partition, name="", saving=True):
            return system.write_memory(state, session, body)
    if parts[0] == "active-partition" and len(parts) == 2 and method == "POST":
        return system.activate(state, session, parts[1], body)
    if parts[:2] == ["vrrp-a", "vrid"] and len(parts) == 4 and parts[3] == "oper" and method == "GET":
        if not parts[2].isdigit():
            raise errors.invalid("vrid must be a number")
        return system.vrid_oper(state, int(parts[2]))
    return _partition_route(state, method, relative, body)


def _partition_route(state: UnitState, method: str, relative: str, body: Any) -> dict[str, Any] | None:
    """``partition/<name>`` (GET; a DELETE answers "does not exist"), ``partition`` (POST) and
    ``delete/partition`` (POST, which deletes)."""
    parts = relative.split("/")
    one = parts[0] == "partition" and len(parts) == 2
    if one and method == "GET":
        return system.partition_get(state, parts[1])
    if relative == "partition" and method == "POST":
        with _audited(state, method, f"{BASE}/{relative}", kind="partition", partition=SHARED, name=_named(body)):
            system.partition_create(state, body)
        return system.OK
    if one and method == "DELETE":
        raise errors.not_found("partition")  # a partition goes with POST delete/partition (acos-client's way)
    if relative == "delete/partition" and method == "POST":
        name = _named(body)
        with _audited(state, method, f"{BASE}/{relative}", kind="partition", partition=SHARED, name=name):
            system.partition_delete(state, name)
        return system.OK
    return None


def _named(body: Any) -> str:
    fields = body.get("partition") if isinstance(body, dict) else None
    name = fields.get("partition-name") if isinstance(fields, dict) else None
    return name if isinstance(name, str) else ""


@contextmanager
def _audited(
    state: UnitState, method: str, path: str, *, kind: str, partition: str, name: str, saving: bool = False
) -> Iterator[dict[str, str]]:
    """Refuse a configuration write on a standby unit (saving is allowed); record the request
    in the change log with its outcome."""
    status = 500
    entry = {"name": name}
    try:
        if state.role == "standby" and not saving:
            raise errors.standby()
        yield entry
        status = 200
    except (AcosError, AuthError) as failure:
        status = failure.status
        raise
    finally:
        state.record_change(method=method, path=path, kind=kind, partition=partition, name=entry["name"], status=status)


def add_routes(app: web.Application) -> None:
    router = app.router
    slash = "{slash:/?}"  # every URL also answers with a trailing slash
    router.add_post(f"{BASE}/auth" + slash, login)
    router.add_post(f"{BASE}/logoff" + slash, logoff)
    router.add_route("*", BASE + "/{tail:.*}", axapi)
