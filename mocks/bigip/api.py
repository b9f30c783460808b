"""The unit's REST API (``/mgmt/...``) on aiohttp.

Middlewares, outermost first: error answers in the device's shapes, the loopback rule
for ``/_mock/``, request counting and fault injection, then authentication (Basic or
token; the login URI is open). ``/mgmt/tm/...`` is one dispatcher: transactions, the
system and HA URIs, then configuration objects through ``operations``; a write that
carries ``X-F5-REST-Coordination-Id`` is queued in its transaction instead of applied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from mocks.adc.faults import FaultRule
from mocks.bigip import errors, operations, system
from mocks.bigip.errors import F5Error
from mocks.bigip.state import UnitState
from mocks.bigip.transactions import Transaction
from mocks.bigip.views import Query
from mocks.wire_faults import inject

log = logging.getLogger(__name__)
STATE_KEY: web.AppKey[UnitState] = web.AppKey("bigip_state", UnitState)
LOGIN = "/mgmt/shared/authn/login"
COORDINATION = "X-F5-REST-Coordination-Id"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Special = Callable[[UnitState, Any], dict[str, Any]]


def reply(payload: Any = None, *, status: int = 200) -> web.Response:
    if payload is None:
        return web.Response(status=status, body=b"", headers={"Content-Type": errors.JSON_TYPE})
    body = json.dumps(payload, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, headers={"Content-Type": errors.JSON_TYPE})


def error_reply(request: web.Request, failure: F5Error) -> web.Response:
    content_type, body = failure.render(referer=request.remote or "", path=request.path)
    headers = {"Content-Type": content_type}
    if failure.shape == "html":
        headers["WWW-Authenticate"] = 'Basic realm="Enterprise Manager"'
    return web.Response(status=failure.status, reason=failure.reason, body=body, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except F5Error as failure:
        return error_reply(request, failure)
    except web.HTTPNotFound:
        return error_reply(request, errors.uri_not_registered(request.path))
    except web.HTTPMethodNotAllowed:
        return error_reply(request, errors.method_not_allowed(request.method, request.path))
    except web.HTTPException:
        raise
    except Exception:
        # A bug in the emulator: say so in the body and the log, never as a bare traceback page.
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return error_reply(request, F5Error(500, "internal error in the emulator", api_error=errors.REST))


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/mgmt"):
        return await handler(request)
    state = request.app[STATE_KEY]
    state.requests[request.method] += 1
    state.paths[f"{request.method} {request.path.rstrip('/')}"] += 1
    decision = state.faults.decide(request.method, request.path)

    def status(rule: FaultRule) -> web.Response:
        return _status_fault(request, rule.status, html=rule.body == "html", retry_after=rule.retry_after)

    return await inject(request, handler, decision, answer=_answer, status=status, busy=_busy)


def _busy() -> F5Error:
    return F5Error(500, "The connection to mcpd has been lost, try again.", api_error=32768001)


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except F5Error as failure:
        return error_reply(request, failure)


def _status_fault(request: web.Request, status: int, *, html: bool, retry_after: int | None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if html:
        title = "Configuration Utility restarting..."
        page = f"<html><head><title>{title}</title></head><body>{title}</body></html>"
        return web.Response(status=status, text=page, content_type="text/html", headers=headers)
    failure = F5Error(status, f"injected fault: HTTP {status}", api_error=errors.REST)
    response = error_reply(request, failure)
    response.headers.update(headers)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith("/mgmt") and path.rstrip("/") != LOGIN:
        _authenticate(request)
        if "<" in unquote(request.raw_path) or ">" in unquote(request.raw_path):
            raise errors.html_content()
    return await handler(request)


def _authenticate(request: web.Request) -> str:
    """The user a request proves (a token first, else Basic), or the device's 401."""
    users = request.app[STATE_KEY].users
    token = request.headers.get("X-F5-Auth-Token")
    if token:
        return users.check(token)
    header = request.headers.get("Authorization")
    if not header:
        remote = request.remote or ""
        raise errors.rest_error(
            401,
            "Authorization failed: no user authentication header or token detected. "
            f"Uri:http://localhost:8100{request.path_qs} Referrer:{remote} Sender:{remote}",
        )
    user = users.basic(header)
    if user is None:
        raise errors.basic_refused()
    return user


async def read_body(request: web.Request) -> Any:
    """The JSON body (None when empty); 400 for invalid JSON or HTML-like content."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
        if "<" in text or ">" in text:
            raise errors.html_content()
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise errors.invalid_json() from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Shared endpoints ------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.invalid_json()
    token = request.app[STATE_KEY].users.login(body, address=request.remote or "")
    login_link = "https://localhost/mgmt/cm/system/authn/providers/tmos/1f44a60e-11a7-3c51-a49f-82983026b41b/login"
    return reply(
        {
            "username": token.user,
            "loginReference": {"link": login_link},
            "loginProviderName": body.get("loginProviderName", "tmos"),
            "token": token.describe(),
            "generation": 0,
            "lastUpdateMicros": 0,
        }
    )


async def token_get(request: web.Request) -> web.Response:
    users = request.app[STATE_KEY].users
    return reply(users.owned(request.match_info["token"], _authenticate(request)).describe())


async def token_patch(request: web.Request) -> web.Response:
    users = request.app[STATE_KEY].users
    token = users.owned(request.match_info["token"], _authenticate(request))
    body = await read_body(request)
    if not isinstance(body, dict) or "timeout" not in body:
        raise errors.rest_error(400, "Only the timeout of a token can be changed.")
    return reply(users.extend(token, body["timeout"]).describe())


async def token_delete(request: web.Request) -> web.Response:
    users = request.app[STATE_KEY].users
    token = users.owned(request.match_info["token"], _authenticate(request))
    users.delete(token)
    return reply(token.describe())


async def echo_query(request: web.Request) -> web.Response:
    return reply(system.echo_query(request.app[STATE_KEY]))


async def device_info(request: web.Request) -> web.Response:
    return reply(system.device_info(request.app[STATE_KEY]))


# /mgmt/tm ---------------------------------------------------------------------------------

SPECIAL: dict[tuple[str, str], Special] = {
    ("GET", "sys"): lambda state, body: system.sys_collection(state),
    ("GET", "sys/version"): lambda state, body: system.version(state),
    ("GET", "sys/failover"): lambda state, body: system.failover(state),
    ("GET", "cm/failover-status"): lambda state, body: system.failover_status(state),
    ("GET", "cm/sync-status"): lambda state, body: system.sync_status(state),
    ("POST", "sys/config"): system.save_config,
    ("POST", "cm"): system.run_cm,
    ("POST", "cm/config-sync"): system.run_config_sync,
}
AUDITED = {"sys/config": "save", "cm": "config-sync", "cm/config-sync": "config-sync"}


async def tm(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    path = "/" + request.path.strip("/")
    relative = path.removeprefix(operations.PREFIX) if path.startswith(operations.PREFIX) else ""
    method = request.method
    coordination = request.headers.get(COORDINATION)
    if relative == "transaction" or relative.startswith("transaction/"):
        if coordination:
            raise errors.bad_request(
                f"Transaction {coordination} operation {method} {path} is not allowed to be added to transaction.",
                api_error=errors.REST,
            )
        return await _transaction_route(request, state, relative.split("/")[1:])
    body = await read_body(request) if method in ("POST", "PUT", "PATCH") else None
    special = SPECIAL.get((method, relative))
    if special is not None:
        return reply(_special(state, special, method=method, path=path, relative=relative, body=body))
    if any(relative == route for _method, route in SPECIAL):
        raise errors.method_not_allowed(method, path)
    if method == "GET":
        return reply(
            operations.read(state, operations.parse(state.store.types, path), Query.parse(dict(request.query)))
        )
    if coordination:
        transaction = state.transactions.get(coordination)
        operations.check_shape(state, method, path, body)
        command = state.transactions.queue(transaction, method=method, path=path, body=body)
        return reply(state.transactions.describe_command(transaction, command, version=state.version))
    return reply(operations.write(state, method, path, body))


def _special(state: UnitState, special: Special, *, method: str, path: str, relative: str, body: Any) -> dict[str, Any]:
    if relative not in AUDITED:
        return special(state, body)
    status = 500
    try:
        answer = special(state, body)
        status = 200
        return answer
    except F5Error as failure:
        status = failure.status
        raise
    finally:
        name = AUDITED[relative]
        state.record_change(
            method=method, path=path, kind=relative, partition=None, name=name, transaction=None, status=status
        )


async def _transaction_route(request: web.Request, state: UnitState, parts: list[str]) -> web.Response:
    transactions, method = state.transactions, request.method
    if not parts:
        if method == "POST":
            body = await read_body(request)
            if body is not None and not isinstance(body, dict):
                raise errors.invalid_json()
            return reply(transactions.describe(transactions.create(), version=state.version))
        if method == "GET":
            items = [transactions.describe(item, version=state.version) for item in transactions.all()]
            answer: dict[str, Any] = {
                "kind": "tm:transactioncollectionstate",
                "selfLink": system.link("tm/transaction", state),
            }
            return reply(answer | ({"items": items} if items else {}))
        raise errors.method_not_allowed(method, request.path)
    transaction = transactions.get(parts[0])
    if len(parts) == 1:
        return await _one_transaction(request, state, transaction)
    if parts[1] != "commands" or len(parts) > 3:
        raise errors.uri_not_registered(request.path)
    if len(parts) == 2:
        if method != "GET":
            raise errors.method_not_allowed(method, request.path)
        items = [
            transactions.describe_command(transaction, item, version=state.version) for item in transaction.commands
        ]
        link = system.link(f"tm/transaction/{transaction.trans_id}/commands", state)
        answer = {"kind": "tm:transaction:commandscollectionstate", "selfLink": link}
        return reply(answer | ({"items": items} if items else {}))
    command = transactions.command(transaction, parts[2])
    if method == "DELETE":
        transactions.remove_command(transaction, command)
        return reply()
    if method == "PATCH":
        body = await read_body(request)
        transactions.reorder(transaction, command, body.get("evalOrder") if isinstance(body, dict) else None)
    elif method != "GET":
        raise errors.method_not_allowed(method, request.path)
    return reply(transactions.describe_command(transaction, command, version=state.version))


async def _one_transaction(request: web.Request, state: UnitState, transaction: Transaction) -> web.Response:
    method = request.method
    if method == "GET":
        return reply(state.transactions.describe(transaction, version=state.version))
    if method == "DELETE":
        state.transactions.delete(transaction)
        return reply()
    if method not in ("PATCH", "PUT"):
        raise errors.method_not_allowed(method, request.path)
    body = await read_body(request)
    if not isinstance(body, dict) or body.get("state") != "VALIDATING":
        raise errors.bad_request('Commit a transaction with {"state": "VALIDATING"}.', api_error=errors.REST)
    validate_only = body.get("validateOnly", False) is True
    commit(state, transaction, validate_only=validate_only)
    answer = state.transactions.describe(transaction, version=state.version)
    return reply(answer | {"validateOnly": validate_only})


def commit(state: UnitState, transaction: Transaction, *, validate_only: bool) -> None:
    """Run the queued commands; on failure or validation, the change log marks them rolled back."""
    mark, flags = len(state.changes), (state.unsaved, state.sync_pending)
    try:
        state.transactions.commit(
            transaction,
            atomic=state.store.db.atomic,
            run=lambda command: _run(state, transaction, command.method, command.path, command.body),
            validate_only=validate_only,
        )
    except F5Error:
        _roll_back_log(state, mark, flags)
        raise
    if validate_only:
        _roll_back_log(state, mark, flags)


def _run(state: UnitState, transaction: Transaction, method: str, path: str, body: Any) -> None:
    operations.write(state, method, path, body, transaction=transaction.trans_id)


def _roll_back_log(state: UnitState, mark: int, flags: tuple[bool, bool]) -> None:
    for change in state.changes[mark:]:
        change.rolled_back = True
    state.unsaved, state.sync_pending = flags


def add_routes(app: web.Application) -> None:
    router = app.router
    slash = "{slash:/?}"  # every URI also answers with a trailing slash
    router.add_post(LOGIN + slash, login)
    tokens = "/mgmt/shared/authz/tokens/{token:[^/]+}" + slash
    router.add_get(tokens, token_get)
    router.add_patch(tokens, token_patch)
    router.add_delete(tokens, token_delete)
    router.add_get("/mgmt/shared/echo-query" + slash, echo_query)
    router.add_get("/mgmt/shared/identified-devices/config/device-info" + slash, device_info)
    router.add_route("*", "/mgmt/tm/{tail:.*}", tm)
