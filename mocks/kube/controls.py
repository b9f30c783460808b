"""Test controls under ``/_fake/``: not Kubernetes routes, and never subject to an outage.

They expose over HTTP what ``FakeKube``'s methods offer in process, so a fake started as a
process (``adcbridge-fake-kube``) can be driven by a test or a demo script the same way:
compact the watch history, cut watches, switch an outage on and off, read the request log,
turn the watch knobs and authorization, issue and revoke service-account tokens. Bodies and
answers are plain JSON (no Status envelope). Controls are never authenticated or authorized;
``/_fake/tokens`` mints credentials, so it answers loopback peers only.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from aiohttp import web

from mocks.kube.api import STATE_KEY, json_response

Obj = dict[str, Any]
OUTAGE_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"})


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _json(request: web.Request) -> Obj:
    if not request.can_read_body:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}', content_type="application/json")
    return body


async def state_view(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    counts = {"/".join(part for part in key if part): len(state.store.items(key)) for key in state.store.kinds()}
    return json_response(
        {
            "resourceVersion": state.store.rv,
            "compacted": state.store.compacted,
            "openWatches": len(state.watchers),
            "outage": state.outage.as_dict() if state.outage is not None else None,
            "objects": counts,
            "settings": _settings(request),
        }
    )


async def compact(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await _json(request)
    state.compact(end_watches=bool(body.get("end_watches")))
    return json_response({"compacted": state.store.compacted})


async def drop_watches(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    dropped = state.drop_watches()
    return json_response({"dropped": dropped})


async def set_outage(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = {} if request.method == "DELETE" else await _json(request)
    status = body.get("status")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise _bad("status must be 400-599 or null")
    resources, verbs = _names(body, "resources"), _names(body, "verbs")
    if verbs - OUTAGE_VERBS:
        raise _bad(f"verbs must be among {', '.join(sorted(OUTAGE_VERBS))}")
    state.set_outage(status, resources=resources, verbs=verbs)
    return json_response({"outage": status, "resources": sorted(resources), "verbs": sorted(verbs)})


def _names(body: Obj, key: str) -> frozenset[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _bad(f"{key} must be a list of non-empty strings")
    return frozenset(value)


async def requests_view(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.method == "DELETE":
        state.requests.clear()
    return json_response({"requests": [r.as_dict() for r in state.requests], "stats": state.stats()})


def _settings(request: web.Request) -> Obj:
    state = request.app[STATE_KEY]
    return {
        "bookmark_interval": state.bookmark_interval,
        "watch_timeout_cap": state.watch_timeout_cap,
        "watch_queue_limit": state.watch_queue_limit,
        "authorize": state.authorize,
    }


async def settings(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await _json(request) if request.method == "PUT" else {}
    if "bookmark_interval" in body:
        state.bookmark_interval = float(body["bookmark_interval"])
    if "watch_timeout_cap" in body:
        cap = body["watch_timeout_cap"]
        state.watch_timeout_cap = None if cap is None else float(cap)
    if "watch_queue_limit" in body:
        state.watch_queue_limit = int(body["watch_queue_limit"])
    if "authorize" in body:
        if not isinstance(body["authorize"], bool):
            raise _bad("authorize must be true or false")
        state.authorize = body["authorize"]
    return json_response(_settings(request))


def is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


async def tokens(request: web.Request) -> web.Response:
    """POST ``{"namespace", "name"}`` → ``{"token"}``; DELETE ``{"token"}`` → ``{"revoked": bool}``."""
    if not is_loopback(request.remote):
        message = '{"error": "token controls answer loopback clients only"}'
        raise web.HTTPForbidden(text=message, content_type="application/json")
    state, body = request.app[STATE_KEY], await _json(request)
    if request.method == "DELETE":
        return json_response({"revoked": state.tokens.revoke(str(body.get("token", "")))})
    namespace, name = body.get("namespace"), body.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise _bad("namespace and name must be strings")
    try:
        return json_response({"token": state.tokens.issue(namespace, name)})
    except ValueError as exc:
        raise _bad(str(exc)) from exc


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_fake/state", state_view)
    app.router.add_post("/_fake/compact", compact)
    app.router.add_post("/_fake/drop-watches", drop_watches)
    app.router.add_put("/_fake/outage", set_outage)
    app.router.add_delete("/_fake/outage", set_outage)
    app.router.add_get("/_fake/requests", requests_view)
    app.router.add_delete("/_fake/requests", requests_view)
    app.router.add_get("/_fake/settings", settings)
    app.router.add_put("/_fake/settings", settings)
    app.router.add_post("/_fake/tokens", tokens)
    app.router.add_delete("/_fake/tokens", tokens)
