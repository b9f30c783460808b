"""The appliance's REST API (``/adc/v3.0``) on aiohttp.

Request handling is layered as middlewares, outermost first: the envelope (every answer,
failures included, is ``{"res": ..., "data": ...}``), fault injection and authentication.
Handlers below them translate between HTTP and the store; every configuration write runs
inside ``_audited``, which logs it in the change log whatever its outcome, after the HA
role check (a standby unit refuses writes). Business failures answer HTTP 200 — the quirk
that makes a client which trusts the HTTP status alone fail its tests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mocks.adc.codes import ApiFailure, Code, invalid
from mocks.adc.faults import FaultRule, status_failure
from mocks.adc.kinds import DOMAIN, HEALTHCHECK, KINDS, NODE, POOL, RSERVER, VSERVER
from mocks.adc.state import ApplianceState
from mocks.adc.validation import decimal
from mocks.wire_faults import inject

log = logging.getLogger(__name__)
PREFIX = "/adc/v3.0"
STATE_KEY: web.AppKey[ApplianceState] = web.AppKey("appliance_state", ApplianceState)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
UNGUARDED = frozenset({f"{PREFIX}/login"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def envelope(data: Any = None, *, failure: ApiFailure | None = None) -> web.Response:
    if failure is None:
        res = {"status": "success", "code": int(Code.SUCCESS), "msg": "success"}
        return web.json_response({"res": res, "data": {} if data is None else data})
    res = {"status": "failure", "code": int(failure.code), "msg": failure.msg}
    return web.json_response({"res": res, "data": failure.data()}, status=failure.http_status, headers=failure.headers)


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiFailure as failure:
        return envelope(failure=failure)
    except web.HTTPMethodNotAllowed:
        return envelope(failure=ApiFailure(Code.METHOD_NOT_ALLOWED, "method not allowed", http_status=405))
    except web.HTTPNotFound:
        return envelope(failure=ApiFailure(Code.ROUTE_NOT_FOUND, "no such route", http_status=404))
    except web.HTTPException:
        raise
    except Exception:
        # A bug in the emulator: say so in the envelope and the log, never as a bare traceback page.
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return envelope(failure=ApiFailure(Code.INTERNAL_ERROR, "internal error", http_status=500))


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)
    state = request.app[STATE_KEY]
    state.requests[request.method] += 1
    decision = state.faults.decide(request.method, request.path)
    return await inject(request, handler, decision, answer=_answer, status=_status_fault, busy=_busy)


def _busy() -> ApiFailure:
    return ApiFailure(Code.CONFIG_LOCKED, "configuration is locked by another session; retry later")


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiFailure as failure:
        return envelope(failure=failure)


def _status_fault(rule: FaultRule) -> web.Response:
    failure = status_failure(rule)
    if rule.body == "json":
        raise failure
    page = f"<html><head><title>{rule.status}</title></head><body><h1>{failure.msg}</h1></body></html>"
    return web.Response(text=page, status=rule.status, content_type="text/html", headers=failure.headers)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith(PREFIX) and path not in UNGUARDED:
        state = request.app[STATE_KEY]
        state.sessions.check(request.headers.get("x-access-token"))
    return await handler(request)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strict_loads(text: str) -> Any:
    """JSON as RFC 8259 has it: Python's NaN and Infinity extensions are refused."""
    return json.loads(text, parse_constant=_reject_constant)


async def read_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=_strict_loads)
    except web.HTTPRequestEntityTooLarge:
        raise ApiFailure(Code.MALFORMED_BODY, "request body too large", http_status=413) from None
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting or numbers
        raise ApiFailure(Code.MALFORMED_BODY, "request body is not valid JSON", http_status=400) from None
    if not isinstance(body, dict):
        raise ApiFailure(Code.MALFORMED_BODY, "request body must be a JSON object", http_status=400)
    return body


# Session routes ------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    body = await read_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiFailure(Code.MISSING_FIELD, "username and password are required strings", field="username")
    token, lifetime = request.app[STATE_KEY].sessions.login(username, password)
    return envelope({"token": token, "expires_in": lifetime})


async def logout(request: web.Request) -> web.Response:
    request.app[STATE_KEY].sessions.logout(request.headers.get("x-access-token"))
    return envelope()


async def system_info(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    info = {"hostname": "mock-adc", "version": "3.0.0-mock", "ha_role": state.role, "unsaved_changes": state.unsaved}
    return envelope(info)


async def save_config(request: web.Request) -> web.Response:
    """Write the running configuration to the startup configuration (the state file)."""
    state = request.app[STATE_KEY]
    with _audited(request, "system/config", None, "save", changes_config=False):
        state.save_config()
    return envelope()


# Object routes -------------------------------------------------------------------------


def _object_name(path: str, raw: str) -> str:
    """Domain names are matched case-insensitively and without a trailing dot."""
    return raw.lower().removesuffix(".") if path == DOMAIN else raw


def _page(request: web.Request) -> tuple[int, int]:
    def number(key: str, default: int) -> int:
        raw = request.query.get(key)
        if raw is None:
            return default
        value = decimal(raw)
        if value is None or value < 1:
            raise invalid(key, "must be a positive integer")
        return value

    # Quirk: an oversized page is silently clamped, as appliances do; clients must use "total".
    return number("page", 1), min(number("page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)


def _collection_handlers(path: str) -> tuple[Handler, Handler]:
    kind = KINDS[path]

    async def list_objects(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        pool = request.match_info.get("pool")
        page, size = _page(request)
        records = state.store.objects(path, pool=pool)
        if "name" in request.query:
            wanted = _object_name(path, request.query["name"])
            records = [record for record in records if record["name"] == wanted]
        chosen = records[(page - 1) * size : page * size]
        items = [state.store.public(path, record) for record in chosen]
        return envelope({kind.list_key: items, "total": len(records), "page": page, "page_size": size})

    async def create_object(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        pool = request.match_info.get("pool")
        with _audited(request, path, pool, "?") as audit:
            body = await read_body(request)
            name = f"{body.get('node')}:{body.get('port')}" if kind.nested else body.get("name")
            audit.name = _label(path, pool, name)
            _require_active(state)
            record = state.store.create(path, body, pool=pool)
        return envelope(state.store.public(path, record))

    return list_objects, create_object


def _item_handlers(path: str) -> tuple[Handler, Handler, Handler]:
    async def get_object(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        name = _object_name(path, request.match_info["name"])
        record = state.store.get(path, name, pool=request.match_info.get("pool"))
        return envelope(state.store.public(path, record))

    async def update_object(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        pool = request.match_info.get("pool")
        name = _object_name(path, request.match_info["name"])
        with _audited(request, path, pool, name):
            _require_active(state)
            record = state.store.update(path, name, await read_body(request), pool=pool)
        return envelope(state.store.public(path, record))

    async def delete_object(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        pool = request.match_info.get("pool")
        name = _object_name(path, request.match_info["name"])
        with _audited(request, path, pool, name):
            _require_active(state)
            state.store.delete(path, name, pool=pool)
        return envelope()

    return get_object, update_object, delete_object


def _label(path: str, pool: str | None, name: Any) -> str:
    """How the change log names an object: ``name``, or ``pool/node:port`` for members."""
    text = _object_name(path, str(name)[:300])
    return f"{pool}/{text}" if path == RSERVER else text


def _require_active(state: ApplianceState) -> None:
    if state.role == "standby":
        raise ApiFailure(Code.STANDBY, "this unit is standby: configuration changes are refused")


@dataclass
class _Audit:
    name: str


@contextmanager
def _audited(
    request: web.Request, path: str, pool: str | None, name: str, *, changes_config: bool = True
) -> Iterator[_Audit]:
    """Record one configuration write in the change log with its result code, whatever
    happens inside (the name may be filled in once the body is read); on success, tell the
    state its configuration changed."""
    state = request.app[STATE_KEY]
    audit = _Audit(_label(path, pool, name))
    code = Code.INTERNAL_ERROR
    try:
        yield audit
        code = Code.SUCCESS
        if changes_config:
            state.config_changed()
    except ApiFailure as failure:
        code = failure.code
        raise
    finally:
        state.record_change(method=request.method, kind=path, name=audit.name, code=int(code))


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(f"{PREFIX}/login", login)
    router.add_post(f"{PREFIX}/logout", logout)
    router.add_get(f"{PREFIX}/system/info", system_info)
    router.add_post(f"{PREFIX}/system/config/save", save_config)
    for path in (NODE, POOL, VSERVER, DOMAIN, HEALTHCHECK, RSERVER):
        url = f"{PREFIX}/slb/pool/{{pool}}/rserver" if path == RSERVER else f"{PREFIX}/{path}"
        list_objects, create_object = _collection_handlers(path)
        get_object, update_object, delete_object = _item_handlers(path)
        router.add_get(url, list_objects)
        router.add_get(f"{url}/{{name}}", get_object)
        if KINDS[path].read_only:
            continue
        router.add_post(url, create_object)
        router.add_put(f"{url}/{{name}}", update_object)
        router.add_delete(f"{url}/{{name}}", delete_object)
