"""The A10 emulator's API document and its code must not drift apart: every object URL,
default field, error code and mock control the code serves is in the document."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from mocks.acos import controls, errors
from mocks.acos.kinds import TOP_LEVEL, Kind

DOCUMENT = (Path(__file__).parent.parent / "mocks" / "acos" / "README.md").read_text()


def every_kind() -> list[Kind]:
    kinds = list(TOP_LEVEL.values())
    return kinds + [child for kind in kinds for child in kind.children]


def test_every_object_url_and_default_field_is_documented() -> None:
    missing = [f"/axapi/v3/{path}" for path in TOP_LEVEL if f"`/axapi/v3/{path}" not in DOCUMENT]
    missing += sorted({name for kind in every_kind() for name in kind.defaults if f"`{name}" not in DOCUMENT})
    assert missing == []


def test_every_error_code_is_documented() -> None:
    numbers = {value for name, value in vars(errors).items() if name.isupper() and isinstance(value, int)}
    assert len(numbers) >= 10
    assert sorted(number for number in numbers if f"| {number} |" not in DOCUMENT) == []


def test_every_mock_control_is_documented() -> None:
    app = web.Application()
    controls.add_routes(app)
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource and r.method != "HEAD"}
    assert len(routes) >= 10
    assert sorted(f"{method} {path}" for method, path in routes if f"`{method} {path}" not in DOCUMENT) == []
