"""The API document and the code must not drift apart: every code and control is documented."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from mocks.adc import controls
from mocks.adc.codes import Code

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
