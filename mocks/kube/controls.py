"""Test controls under ``/_fake/``: not Kubernetes routes, and never subject to an outage.

They expose over HTTP what ``FakeKube``'s methods offer in process, so a fake started as a
process (``adcbridge-fake-kube``) can be driven by a test or a demo script the same way:
compact the watch history, cut watches, switch an outage on and off, read the request log,
turn the watch knobs. Bodies and answers are plain JSON (no Status envelope).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks.kube.api import STATE_KEY, json_response

Obj = dict[str, Any]


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
            "outage": state.outage,
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
    status = None if request.method == "DELETE" else (await _json(request)).get("status")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise web.HTTPBadRequest(text='{"error": "status must be 400-599 or null"}', content_type="application/json")
    state.set_outage(status)
    return json_response({"outage": status})


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
    return json_response(_settings(request))


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
