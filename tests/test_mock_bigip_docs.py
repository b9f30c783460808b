"""The BIG-IP emulator's API document and its code must not drift apart: every URI, kind,
default property, mcpd code and mock control the code serves is in the document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web

from mocks.bigip import api, controls
from mocks.bigip.catalog import DEFAULT_VERSION, object_types
from mocks.bigip.kinds import ObjectType

MOCKS = Path(__file__).parent.parent / "mocks" / "bigip"
DOCUMENT = (MOCKS / "README.md").read_text()


def every_kind() -> Iterator[ObjectType]:
    def walk(otype: ObjectType) -> Iterator[ObjectType]:
        yield otype
        for child in otype.children.values():
            yield from walk(child)

    for otype in object_types().values():
        yield from walk(otype)


def test_every_uri_and_kind_is_documented() -> None:
    missing = [f"/mgmt/tm/{path}" for path in object_types() if f"`/mgmt/tm/{path}" not in DOCUMENT]
    missing += [kind.kind for kind in every_kind() if kind.kind not in DOCUMENT]
    missing += [
        kind.collection_kind
        for kind in every_kind()
        if kind.collection_kind.endswith("memberscollectionstate")
        and kind.collection_kind not in DOCUMENT
        and "gtm" not in kind.collection_kind
    ]
    assert missing == []


def test_every_default_property_is_documented() -> None:
    missing = sorted(
        {
            key
            for kind in every_kind()
            for key in kind.defaults
            if f"`{key}`" not in DOCUMENT and f"`{key.rstrip('0123456789')}" not in DOCUMENT
        }
    )
    assert missing == []


def test_every_mcpd_code_the_code_answers_is_documented() -> None:
    codes = {code for source in MOCKS.glob("*.py") for code in re.findall(r"\b(0\d{7}):\d:", source.read_text())}
    assert codes
    assert sorted(code for code in codes if code not in DOCUMENT) == []


def test_every_fixed_route_and_mock_control_is_documented() -> None:
    app = web.Application()
    api.add_routes(app)
    controls.add_routes(app)
    routes = {
        f"{route.method} {route.resource.canonical.replace('{slash}', '')}"
        for route in app.router.routes()
        if route.resource and route.method not in ("HEAD", "*")
    }
    routes |= {f"{method} /mgmt/tm/{path}" for method, path in api.SPECIAL}
    documented = {route for route in routes if f"`{route}" in DOCUMENT or route.replace("{token}", "<t>") in DOCUMENT}
    assert sorted(routes - documented) == []


def test_the_default_version_is_the_documented_one() -> None:
    assert f"--version {DEFAULT_VERSION}" in DOCUMENT
    assert f"?ver={DEFAULT_VERSION}" in DOCUMENT
