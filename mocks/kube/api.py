"""The Kubernetes API on aiohttp: discovery, then objects, lists and watches.

Three middlewares here, outermost first: the request log (every request, with the verb and the
status, for tests that count lists), the error translation (a ``KubeError`` becomes its
``Status`` body; unknown routes and methods become the real server's 404/405 Statuses) and
the outage switch; a fourth, innermost, authenticates and authorizes (``guarding.py``).
Handlers only translate between HTTP and ``Cluster``; the semantics live there.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mocks.kube import discovery, errors
from mocks.kube import openapi_v2 as openapi_v2_document
from mocks.kube.attributes import attributes_of
from mocks.kube.cluster import MERGE, STRATEGIC, present
from mocks.kube.resources import Resource
from mocks.kube.routing import Target, resolve, split_group_version
from mocks.kube.schemas import unknown_fields
from mocks.kube.selectors import field_selector, label_selector
from mocks.kube.state import KubeState, RequestRecord
from mocks.kube.tables import table, wants_table
from mocks.kube.watching import Watcher, stream

Obj = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE_KEY: web.AppKey[KubeState] = web.AppKey("kube_state", KubeState)
RECORD_KEY: web.RequestKey[RequestRecord] = web.RequestKey("fake_kube_record", RequestRecord)
TRUE = frozenset({"true", "True", "TRUE", "1"})


def json_response(body: Obj, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def record_of(request: web.Request) -> RequestRecord:
    return request[RECORD_KEY]


@web.middleware
async def log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    record = RequestRecord(request.method, request.path, dict(request.query))
    request[RECORD_KEY] = record
    if not request.path.startswith("/_fake"):
        request.app[STATE_KEY].requests.append(record)
    response = await handler(request)
    record.status = response.status
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.KubeError as failure:
        return json_response(failure.status(), failure.code)
    except web.HTTPMethodNotAllowed:
        return json_response(errors.method_not_allowed().status(), 405)
    except web.HTTPNotFound:
        return json_response(errors.no_such_route().status(), 404)


@web.middleware
async def outage_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    outage = request.app[STATE_KEY].outage
    if outage is not None and not request.path.startswith("/_fake"):
        attrs = attributes_of(request.method, request.path, request.query, watch=flag(request.query.get("watch")))
        if outage.covers(attrs):
            raise errors.outage_error(outage.status)
    return await handler(request)


def flag(value: str | None) -> bool:
    return value in TRUE


# Discovery ---------------------------------------------------------------------------------


async def version(request: web.Request) -> web.Response:
    record_of(request).verb = "discovery"
    return json_response(discovery.VERSION)


def _discovery(request: web.Request, path: str) -> Obj | None:
    state = request.app[STATE_KEY]
    parts = [part for part in path.split("/") if part]
    if parts == ["api"]:
        return discovery.api_versions(state.server_address)
    if parts == ["apis"]:
        return discovery.api_group_list(state.registry)
    if len(parts) == 2 and parts[0] == "apis":
        return discovery.api_group(state.registry, parts[1])
    if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
        group, version_ = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        return discovery.api_resource_list(state.registry, group, version_)
    raise LookupError(path)


async def openapi_v3(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    record_of(request).verb = "discovery"
    tail = request.match_info.get("tail", "")
    if not tail:
        return json_response(discovery.openapi_v3_root(state.registry))
    located = split_group_version(tail)
    document = discovery.openapi_v3_group(state.registry, located[0], located[1]) if located else None
    if document is None:
        raise errors.no_such_route()
    return json_response(document)


async def openapi_v2(request: web.Request) -> web.Response:
    """The Swagger 2.0 document: protobuf when asked for (kubectl always asks), JSON otherwise."""
    record_of(request).verb = "discovery"
    document = openapi_v2_document.document(request.app[STATE_KEY].registry)
    accept = request.headers.get("Accept", "")
    if openapi_v2_document.wants_protobuf(accept):
        body = openapi_v2_document.protobuf(document)
        return web.Response(body=body, content_type=openapi_v2_document.PROTOBUF_ANSWER)
    return json_response(document)


# Objects -----------------------------------------------------------------------------------


async def dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        found = _discovery(request, request.path)
    except LookupError:
        pass
    else:
        record_of(request).verb = "discovery"
        if found is None:
            raise errors.no_such_route()
        if request.method != "GET":
            raise errors.method_not_allowed()
        return json_response(found)
    located = split_group_version(request.path)
    target = resolve(state.registry, *located) if located else None
    if target is None or (
        target.subresource is not None and (target.subresource != "status" or not target.resource.status)
    ):
        raise errors.no_such_route()
    return await _route(request, state, target)


async def _route(request: web.Request, state: KubeState, target: Target) -> web.StreamResponse:
    method = request.method
    if target.is_collection and method == "GET":
        return (
            await _watch(request, state, target) if flag(request.query.get("watch")) else _list(request, state, target)
        )
    if target.is_collection and method == "POST" and (target.namespace is not None or not target.resource.namespaced):
        return await _write(
            request, target, "create", lambda body: state.cluster.create(target.resource, target.namespace, body), 201
        )
    if target.is_collection or method not in ("GET", "PUT", "PATCH", "DELETE"):
        raise errors.method_not_allowed()
    return await _object(request, state, target)


async def _object(request: web.Request, state: KubeState, target: Target) -> web.StreamResponse:
    cluster, resource, namespace, name = state.cluster, target.resource, target.namespace, target.name or ""
    status = target.subresource == "status"
    if request.method == "GET":
        record_of(request).verb = "get"
        obj = cluster.read(resource, namespace, name)
        return _answer(request, obj, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]})
    if request.method == "PUT":
        return await _write(
            request, target, "update", lambda body: cluster.replace(resource, namespace, name, body, status=status)
        )
    if request.method == "DELETE" and not status:
        return await _delete(request, state, target)
    if request.method == "PATCH":
        record_of(request).verb = "patch"
        _refuse_dry_run(request)
        raw = await request.read()
        if request.content_type in (MERGE, STRATEGIC):
            _check_fields(request, resource, _parsed(raw), patch=True)
        return json_response(cluster.patch(resource, namespace, name, raw, request.content_type, status=status))
    raise errors.method_not_allowed()


def _refuse_dry_run(request: web.Request) -> None:
    if request.query.get("dryRun"):
        raise errors.bad_request("dryRun is not supported by the fake API server")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    if request.content_type not in ("application/json", ""):
        raise errors.unsupported_media_type(request.content_type, ("application/json",))
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


async def _write(
    request: web.Request, target: Target, verb: str, write: Callable[[Any], Obj], status: int = 200
) -> web.Response:
    record_of(request).verb = verb
    _refuse_dry_run(request)
    body = await _body(request)
    _check_fields(request, target.resource, body)
    return json_response(write(body), status)


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None  # the patch itself reports it


def _check_fields(request: web.Request, resource: Resource, body: Any, *, patch: bool = False) -> None:
    """``fieldValidation=Strict``: a field the kind's schema does not know is a 400, as on the real
    server (``Ignore``, ``Warn`` and no parameter accept it silently here)."""
    if request.query.get("fieldValidation") != "Strict":
        return
    unknown = unknown_fields(resource, body)
    if not unknown:
        return
    listed = ", ".join(f'unknown field "{field}"' for field in unknown)
    if patch:
        raise errors.bad_request(f"strict decoding error: {listed}")
    kind = f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}'
    raise errors.bad_request(f"{kind}: strict decoding error: {listed}")


async def _delete(request: web.Request, state: KubeState, target: Target) -> web.Response:
    record_of(request).verb = "delete"
    _refuse_dry_run(request)
    options = await _body(request)
    final = state.cluster.delete(target.resource, target.namespace, target.name or "", options)
    if final["metadata"].get("deletionTimestamp") and state.store.get(
        target.resource.key, target.namespace or "", target.name or ""
    ):
        return json_response(final, 202)  # waiting for finalizers, as the real server answers
    resource = target.resource
    details = {"name": target.name, "group": resource.group, "kind": resource.plural, "uid": final["metadata"]["uid"]}
    return json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
    )


# Lists -------------------------------------------------------------------------------------


def _matcher(request: web.Request, target: Target) -> Callable[[Obj], bool]:
    labels = label_selector(request.query.get("labelSelector"))
    fields = field_selector(request.query.get("fieldSelector"), target.resource.fields)
    return lambda obj: labels(obj) and fields(obj)


def _selects(request: web.Request) -> bool:
    """Whether a selector can leave objects out; without one a list counts instead of matching."""
    return any((request.query.get(name) or "").strip() for name in ("labelSelector", "fieldSelector"))


def _encode_continue(rv: int, after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "after": list(after)}).encode()).decode()


def _decode_continue(token: str, compacted: int) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        rv, after = int(data["rv"]), (str(data["after"][0]), str(data["after"][1]))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise errors.bad_request("continue key is not valid: illegal base64 data") from exc
    if rv < compacted:
        raise errors.expired(
            "The provided continue parameter is too old to display a consistent list result. "
            "You can start a new list without the continue parameter."
        )
    return rv, after


def _limit(request: web.Request) -> int:
    text = request.query.get("limit", "0") or "0"
    if not text.isdigit():
        raise errors.bad_request(f"invalid limit: {text!r}")
    return int(text)


def _list(request: web.Request, state: KubeState, target: Target) -> web.Response:
    record_of(request).verb = "list"
    match = _matcher(request, target)
    rv, token, after = state.store.rv, request.query.get("continue"), None
    if token:
        rv, after = _decode_continue(token, state.store.compacted)
    limit = _limit(request)
    items, remaining = state.cluster.page(
        target.resource, target.namespace, after=after, match=match if _selects(request) else None, limit=limit
    )
    metadata: Obj = {"resourceVersion": str(rv)}
    if remaining > 0:
        metadata["continue"] = _encode_continue(rv, _position(items[-1]))
        metadata["remainingItemCount"] = remaining
    return _answer(request, None, items, metadata, target)


def _position(obj: Obj) -> tuple[str, str]:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def _answer(
    request: web.Request, single: Obj | None, items: list[Obj], metadata: Obj, target: Target | None = None
) -> web.Response:
    if wants_table(request.headers.get("Accept", "")):
        return json_response(table(items, metadata, request.query.get("includeObject", "Metadata")))
    if single is not None:
        return json_response(single)
    assert target is not None
    resource = target.resource
    body = {"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": metadata, "items": items}
    return json_response(body)


# Watches -----------------------------------------------------------------------------------


def _start(state: KubeState, target: Target, match: Callable[[Obj], bool], rv_text: str | None) -> Watcher:
    """Register a watcher and give it its backlog, in one step (nothing awaits in between)."""
    resource = target.resource
    watcher = Watcher(resource, target.namespace, match, limit=state.watch_queue_limit)
    if rv_text in (None, "", "0"):
        backlog = [("ADDED", obj) for obj in state.store.items(resource.key, target.namespace) if match(obj)]
    else:
        if not (rv_text or "").isdigit():
            raise errors.bad_request(f"invalid resource version: {rv_text!r}")
        if int(rv_text or 0) < state.store.compacted:
            watcher.finish("expire", expired=(int(rv_text or 0), state.store.compacted + 1))
            return watcher
        events = state.store.history_since(int(rv_text or 0), resource.key)
        backlog = [item for event in events if (item := watcher.translate(event)) is not None]
    watcher.preload(backlog)
    return watcher


async def _watch(request: web.Request, state: KubeState, target: Target) -> web.StreamResponse:
    record_of(request).verb = "watch"
    match = _matcher(request, target)
    timeout_text = request.query.get("timeoutSeconds")
    if timeout_text is not None and not timeout_text.isdigit():
        raise errors.bad_request(f"invalid timeoutSeconds: {timeout_text!r}")
    watcher = _start(state, target, match, request.query.get("resourceVersion"))
    state.watchers.add(watcher, request)
    record_of(request).status = 200
    try:
        return await stream(
            request,
            watcher,
            present=lambda obj: present(target.resource, obj),
            current_rv=lambda: state.store.rv,
            lifetime=state.watch_timeout(float(timeout_text) if timeout_text is not None else None),
            bookmark_interval=state.bookmark_interval if flag(request.query.get("allowWatchBookmarks")) else None,
        )
    finally:
        state.watchers.discard(watcher)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/version", version)
    app.router.add_get("/openapi/v2", openapi_v2)
    app.router.add_get("/openapi/v3", openapi_v3)
    app.router.add_get("/openapi/v3/{tail:.*}", openapi_v3)
    for prefix in ("/api", "/apis"):
        app.router.add_route("*", prefix, dispatch)
        app.router.add_route("*", prefix + "/{tail:.*}", dispatch)
