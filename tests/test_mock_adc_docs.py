"""The API document and the code must not drift apart: every code and control is documented."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from mocks.adc import api, controls
from mocks.adc.codes import Code
from mocks.adc.kinds import KINDS

API_DOCUMENT = (Path(__file__).parent.parent / "mocks" / "adc" / "README.md").read_text()


def test_every_result_code_is_documented() -> None:
    missing = [code.name for code in Code if f"| {int(code)} |" not in API_DOCUMENT]
    assert missing == []


def test_every_mock_control_is_documented() -> None:
    app = web.Application()
    controls.add_routes(app)
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource and r.method != "HEAD"}
    missing = [f"{method} {path}" for method, path in routes if f"{method} {path}" not in API_DOCUMENT]
    assert missing == []


def test_every_fixed_appliance_route_is_documented() -> None:
    app = web.Application()
    api.add_routes(app)
    fixed = {
        f"{route.method} {route.resource.canonical}"
        for route in app.router.routes()
        if route.resource and route.method != "HEAD" and "{" not in route.resource.canonical
    }
    object_collections = {
        f"{method} /adc/v3.0/{kind}" for kind in KINDS if "{" not in kind for method in ("GET", "POST")
    }
    missing = [route for route in fixed - object_collections if f"`{route}`" not in API_DOCUMENT]
    assert missing == []
    assert "POST /adc/v3.0/system/config/save" in fixed
