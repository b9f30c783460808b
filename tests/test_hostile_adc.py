"""Malformed ADC answers: the client raises only our errors, short and without secrets, and the
reconcile loop reports a failed cycle and runs the next one.

Narrow cases go through an ``httpx.MockTransport`` (answers the mock ADC cannot be made to give:
wrong types, missing fields, truncated JSON, HTML, 50 MB bodies); hypothesis generates answer
bodies. The HTTP level is shared by the dialects, so those tests run for each wire (``WIRES``),
each with its own definition of a success written here: for the reference, an HTTP 2xx whose
envelope says ``success`` with the integer code 0, giving its ``data``; for a BIG-IP, an HTTP 2xx
whose body is JSON (or empty, for a DELETE), giving that JSON. For the reference it generates
lists mixing good and garbage items (``tests/adc_items.py``), and observing keeps exactly the good
ones, or fails whole when a list itself cannot be read (the BIG-IP's lists:
``tests/test_hostile_bigip.py``); the loop runs the real driver and reconciler against the mock
ADC with faults (truncated answers, HTML 502 pages, connection resets) and against a
garbage-answering transport.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest import mock

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adcbridge.adc import AdcClient, Credentials
from adcbridge.adc import client as client_module
from adcbridge.adc.acos import AcosWire
from adcbridge.adc.bigip import BIGIP_WIRE
from adcbridge.adc.client import Wire
from adcbridge.adc.reference import REFERENCE_WIRE, ReferenceDriver
from adcbridge.config import AdcSettings
from adcbridge.errors import AdcAuthError, AdcBridgeError, AdcProtocolError
from adcbridge.metrics import Metrics
from adcbridge.model import AdcState
from adcbridge.reconciler import Reconciler
from mocks.adc import MockADC
from tests.adc_items import APPLIANCE_LISTS, COLLECTIONS, Item
from tests.builders import OWNER
from tests.builders import settings as make_settings
from tests.conftest import PASSWORD, USERNAME, Appliance
from tests.test_bridge_against_mock import StaticSource, cluster, running_bridge
from tests.test_reconciler_loop import domains

URL = "https://adc.test"
API = f"{URL}/adc/v3.0"
MESSAGE_LIMIT = 400  # what an error may cost a log line: the excerpt (200) plus context
OK_LOGIN = {"res": {"status": "success", "code": 0, "msg": "success"}, "data": {"token": "t0k3n"}}
HTML = "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1>" + "<p>nginx</p>" * 500 + "</body></html>"


def client_for(
    transport: httpx.AsyncBaseTransport | None = None, *, deadline: float = 0.3, wire: Wire = REFERENCE_WIRE
) -> AdcClient:
    settings = AdcSettings(url=URL, operation_deadline=deadline, timeout=2.0)
    return AdcClient(settings, lambda: Credentials(USERNAME, PASSWORD), wire=wire, transport=transport)


def reference_success(status: int, body: bytes) -> tuple[bool, Any]:
    """Whether an answer is a success, and its data: HTTP 2xx, a JSON object whose ``res`` says
    ``success`` with the integer code 0; the data is its ``data`` (None when absent)."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return False, None
    res = envelope.get("res") if isinstance(envelope, dict) else None
    if not (200 <= status < 300 and isinstance(res, dict) and res.get("status") == "success"):
        return False, None
    code = res.get("code")
    return type(code) is int and code == 0, envelope.get("data")


def bigip_success(status: int, body: bytes) -> tuple[bool, Any]:
    """A BIG-IP answers a success with HTTP 2xx and its JSON (a DELETE with nothing); any other
    status is a refusal, whatever its body says."""
    if not 200 <= status < 300:
        return False, None
    if not body.strip():  # whitespace: nothing
        return True, None
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError):
        return False, None


def acos_success(status: int, body: bytes) -> tuple[bool, Any]:
    """An ACOS unit answers a success with HTTP 2xx and its JSON (or nothing), unless that JSON is its
    fail envelope or an ``authorizationschema`` body; any other status is a refusal."""
    success, data = bigip_success(status, body)
    if not success or not isinstance(data, dict):
        return success, data
    response = data.get("response")
    failed = isinstance(response, dict) and response.get("status") == "fail"
    return not (failed or isinstance(data.get("authorizationschema"), dict)), None if failed else data


@dataclass(frozen=True)
class WireCase:
    """One dialect's HTTP level: its wire, where its session calls go, and what a success is."""

    name: str
    wire: Wire
    api: str  # the URL the calls' paths are under
    login: str  # the login call's path under ``api``
    logout: tuple[str, str]  # the logout call's method and path under ``api``
    ok_login: dict[str, Any]
    success: Callable[[int, bytes], tuple[bool, Any]]
    set_up: str = ""  # the call that sets a new session up (ACOS: activating the partition), if any

    def session_call(self, request: httpx.Request) -> bool:
        path = request.url.path
        login = request.method == "POST" and path in {f"{self.api_path}/{self.login}", f"{self.api_path}/{self.set_up}"}
        return login or (request.method == self.logout[0] and path == f"{self.api_path}/{self.logout[1]}")

    @property
    def api_path(self) -> str:
        return httpx.URL(self.api).path

    def answering(self, answer: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
        """``answer`` for every call but the session's own, which succeed."""

        def respond(request: httpx.Request) -> httpx.Response:
            if self.session_call(request):
                return httpx.Response(200, json=self.ok_login)
            return answer(request)

        return httpx.MockTransport(respond)

    def client(self, transport: httpx.AsyncBaseTransport | None = None, *, deadline: float = 0.3) -> AdcClient:
        return client_for(transport, deadline=deadline, wire=self.wire)


REFERENCE = WireCase(
    "reference", REFERENCE_WIRE, API, "login", ("POST", "logout"), OK_LOGIN, reference_success
)  # fmt: skip
BIGIP = WireCase(
    "bigip",
    BIGIP_WIRE,
    f"{URL}/mgmt",
    "shared/authn/login",
    ("DELETE", "shared/authz/tokens/t0k3n"),
    {"username": USERNAME, "token": {"token": "t0k3n", "userName": USERNAME, "timeout": 1200}},
    bigip_success,
)
ACOS = WireCase(
    "acos",
    AcosWire("k8s"),
    f"{URL}/axapi/v3",
    "auth",
    ("POST", "logoff"),
    {"authresponse": {"signature": "s1gn4tur3", "description": "the signature should be set in Authorization header"}},
    acos_success,
    set_up="active-partition/k8s",
)
WIRES = pytest.mark.parametrize("case", [REFERENCE, BIGIP, ACOS], ids=lambda case: case.name)


def assert_ours(error: BaseException) -> None:
    """An error from adcbridge.errors, short, and without the password or the token."""
    assert isinstance(error, AdcBridgeError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert len(message) <= MESSAGE_LIMIT, len(message)
    assert PASSWORD not in message
    assert "t0k3n" not in message


MALFORMED: list[tuple[str, int, bytes]] = [
    ("not JSON", 200, b"hello"),
    ("empty body", 200, b""),
    ("truncated JSON", 200, b'{"res": {"status": "success", "co'),
    ("JSON array", 200, b"[1, 2, 3]"),
    ("JSON null", 200, b"null"),
    ("JSON string", 200, b'"success"'),
    ("res is a list", 200, b'{"res": [], "data": {}}'),
    ("res missing", 200, b'{"data": {"node": []}}'),
    ("status missing", 200, b'{"res": {"code": 0}}'),
    ("code missing", 200, b'{"res": {"status": "success"}}'),
    ("code is text", 200, b'{"res": {"status": "failure", "code": "1002", "msg": "x"}}'),
    ("code is a boolean", 200, b'{"res": {"status": "failure", "code": true, "msg": "x"}}'),
    ("code is a float", 200, b'{"res": {"status": "failure", "code": 1002.5}}'),
    ("negative code", 200, b'{"res": {"status": "failure", "code": -1, "msg": "x"}}'),
    ("unknown code", 200, b'{"res": {"status": "failure", "code": 987654, "msg": "x"}}'),
    ("success with a code", 200, b'{"res": {"status": "success", "code": 7}}'),
    ("failure without a code", 200, b'{"res": {"status": "failure", "code": 0}}'),
    ("msg is a mapping", 200, b'{"res": {"status": "failure", "code": 1002, "msg": {"a": [1]}}}'),
    ("field is a number", 200, b'{"res": {"status": "failure", "code": 1002, "msg": "x"}, "data": {"field": 5}}'),
    ("huge msg", 200, json.dumps({"res": {"status": "failure", "code": 1002, "msg": "m" * 100_000}}).encode()),
    ("HTML 200", 200, HTML.encode()),
    ("HTML 404", 404, HTML.encode()),
    ("HTML 401", 401, HTML.encode()),
    ("HTML 403", 403, HTML.encode()),
    ("HTML 502", 502, HTML.encode()),
    ("binary", 200, bytes(range(256)) * 10),
    ("latin-1", 200, '{"res": "\xe9"}'.encode("latin-1")),
    ("deep nesting", 200, b"[" * 100_000),
    ("words", 200, b"word " * 200_000),
]


def same(got: Any, expected: Any) -> bool:
    """Equal as JSON (NaN, which JSON text may carry, is not equal to itself)."""
    return json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


async def a_success_or_ours(case: WireCase, status: int, body: bytes) -> None:
    """A call answered ``status``/``body`` gives exactly the data of a success, or one of our errors."""
    success, data = case.success(status, body)
    with no_backoff():
        async with case.client(case.answering(lambda _: httpx.Response(status, content=body)), deadline=0.02) as client:
            try:
                got = await client.get("some/thing")
            except Exception as exc:  # any exception: checked to be ours below
                refused: BaseException | None = exc
            else:
                refused = None
    if refused is not None:
        assert_ours(refused)
        assert not success, f"a success refused: {refused}"
    else:
        assert success, f"HTTP {status} {body[:200]!r} taken for a success"
        assert same(got, data)


@WIRES
@pytest.mark.parametrize(("status", "body"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
async def test_a_malformed_answer_is_one_of_our_errors(case: WireCase, status: int, body: bytes) -> None:
    await a_success_or_ours(case, status, body)


@WIRES
@pytest.mark.parametrize(("status", "body"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
async def test_a_malformed_login_answer_is_one_of_our_errors(case: WireCase, status: int, body: bytes) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, content=body))
    with no_backoff():
        async with case.client(transport, deadline=0.05) as client:
            with pytest.raises(AdcBridgeError) as caught:
                await client.login()
    assert_ours(caught.value)


@WIRES
async def test_an_error_page_that_echoes_the_login_request_does_not_leak_the_password(case: WireCase) -> None:
    echo = f"<html><body>400 Bad Request: username={USERNAME}&password={PASSWORD}</body></html>"
    async with case.client(httpx.MockTransport(lambda _: httpx.Response(400, text=echo))) as client:
        with pytest.raises(AdcBridgeError) as caught:
            await client.login()
    assert_ours(caught.value)
    assert "<hidden>" in str(caught.value)


REFUSALS = {  # how each appliance refuses a password, here echoing it
    "reference": {"res": {"status": "failure", "code": 4013, "msg": f"bad password {PASSWORD}"}, "data": {}},
    "bigip": {"code": 401, "message": f"Authentication failed for {PASSWORD}", "errorStack": []},
    "acos": {"authorizationschema": {"code": 401, "error": f"Incorrect user name or password {PASSWORD}"}},
}


@WIRES
async def test_a_login_refused_is_reported_without_the_password(case: WireCase) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(401, json=REFUSALS[case.name]))
    async with case.client(transport) as client:
        with pytest.raises(AdcAuthError) as caught:
            await client.login()
    assert_ours(caught.value)


async def test_a_bigip_401_page_for_a_token_is_one_new_login_then_our_error() -> None:
    """An HTML 401 (a proxy's, or the unit's Basic page) to a call with a token: the token is taken
    for ended, one new login is made, and the second 401 is our error, without the token."""
    logins = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/authn/login"):
            logins.append(request)
            return httpx.Response(200, json=BIGIP.ok_login)
        page = f"<html><title>401</title><body>X-F5-Auth-Token: {request.headers.get('X-F5-Auth-Token')}</body></html>"
        return httpx.Response(401, text=page)

    async with BIGIP.client(httpx.MockTransport(answer)) as client:
        with pytest.raises(AdcAuthError) as caught:
            await client.get("tm/ltm/pool")
    assert len(logins) == 2
    assert_ours(caught.value)


# ---------------------------------------------------------------------------- huge bodies


class Endless(httpx.AsyncByteStream):
    """A body the appliance (or a proxy) never stops sending; counts what was pulled."""

    def __init__(self, first: bytes = b"", chunk: bytes = b"x" * 65536) -> None:
        self.pending = [first] if first else []
        self.chunk = chunk
        self.pulled = 0

    def __aiter__(self) -> Endless:
        return self

    async def __anext__(self) -> bytes:
        if self.pulled > 1 << 33:  # 8 GiB: a bound for the test, never reached
            raise StopAsyncIteration
        data = self.pending.pop() if self.pending else self.chunk
        self.pulled += len(data)
        return data


async def settled() -> None:
    """Let the generators httpx left suspended when the read was cut short be finalised."""
    gc.collect()
    await asyncio.sleep(0.01)


@WIRES
async def test_a_huge_body_is_not_read_into_memory(case: WireCase) -> None:
    body = Endless(b'{"res": {"status": "success", "code": 0}, "data": {"node": [', b'"x",' * 16384)

    async with case.client(case.answering(lambda _: httpx.Response(200, stream=body))) as client:
        with pytest.raises(AdcProtocolError, match="answer over 16777216 bytes; not read") as caught:
            await client.get("slb/node")
    assert_ours(caught.value)
    assert body.pulled <= client_module.MAX_BODY + len(body.chunk)
    await settled()


@WIRES
async def test_a_huge_declared_length_is_refused_before_reading(case: WireCase) -> None:
    body = Endless()

    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(50 * 1024 * 1024)}, stream=body)

    async with case.client(case.answering(answer)) as client:
        with pytest.raises(AdcProtocolError, match="an answer of 52428800 bytes; not read"):
            await client.get("slb/node")
    assert body.pulled == 0
    await settled()


@WIRES
async def test_fifty_megabytes_of_text_make_a_short_error(case: WireCase) -> None:
    words = b"lorem ipsum " * (50 * 1024 * 1024 // 12)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=words[: client_module.MAX_BODY])  # at the cap: read, then refused

    async with case.client(httpx.MockTransport(answer)) as client:
        with pytest.raises(AdcProtocolError) as caught:
            await client.login()
    assert_ours(caught.value)


# ---------------------------------------------------------------------------- generated bodies

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
CODES = st.one_of(st.sampled_from([0, 1002, 2001, 2002, 3001, 3002, 4011, 4013, 4031, 4032, 5000]), JSON_VALUES)
RES = st.fixed_dictionaries({"status": st.sampled_from(["success", "failure", 1]), "code": CODES, "msg": JSON_VALUES})
ENVELOPES = st.fixed_dictionaries({"res": st.one_of(JSON_VALUES, RES)}, optional={"data": JSON_VALUES})
LIST_ITEMS = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.sampled_from(["k8s-c1-a", "x"]), JSON_VALUES),
            "ip": st.one_of(st.sampled_from(["10.0.0.1", "2001:DB8::1", "999.0.0.1", "fe80::1%eth0"]), JSON_VALUES),
            "vip": st.one_of(st.sampled_from(["192.0.2.10:80", "[2001:db8::1]:443", "1.2.3.4", ":80"]), JSON_VALUES),
            "addresses": st.one_of(st.just(["192.0.2.10"]), JSON_VALUES),
            "type": st.one_of(st.sampled_from(["A", "aaaa"]), JSON_VALUES),
            "port": st.one_of(st.sampled_from([80, "80", "٨٠", -1]), JSON_VALUES),
            "rservers": st.one_of(st.lists(JSON_VALUES, max_size=3), JSON_VALUES),
            "description": st.one_of(st.just(OWNER.marker), JSON_VALUES),
            "enable": st.one_of(st.sampled_from([True, "false", "yes"]), JSON_VALUES),
            "protocol": st.one_of(st.just("TCP"), JSON_VALUES),
            "pool": st.one_of(st.just("k8s-c1-p"), JSON_VALUES),
        },
    ),
)  # fmt: skip
BODIES = st.one_of(
    ENVELOPES.map(lambda envelope: json.dumps(envelope).encode()),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),  # a BIG-IP's answers are any JSON
    ENVELOPES.map(lambda envelope: json.dumps(envelope).encode()).flatmap(
        lambda text: st.integers(0, len(text)).map(lambda cut: text[:cut])  # truncated
    ),
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
)
HYPOTHESIS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def no_backoff() -> Any:
    """Retries without sleeping (the backoff itself is tested elsewhere), so examples stay fast."""
    return mock.patch.object(client_module, "_wait_with_retry_after", return_value=0.0)


SUCCESS_CODES = st.sampled_from([0, 0, 0, 0.0, False, "0", None])  # only the integer 0 means success
SUCCESS_RES = st.fixed_dictionaries(
    {"status": st.just("success"), "code": SUCCESS_CODES}, optional={"msg": JSON_VALUES}
)
SUCCESSES = st.fixed_dictionaries({"res": SUCCESS_RES}, optional={"data": JSON_VALUES}).map(
    lambda envelope: json.dumps(envelope).encode()
)


@WIRES
@HYPOTHESIS
@given(status=st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 502]), body=st.one_of(BODIES, SUCCESSES))
@example(status=200, body=b'{"res": {"status": "success", "code": 0}, "data": {"node": []}}')
@example(status=404, body=b'{"res": {"status": "success", "code": 0}, "data": {"node": []}}')  # the status says no
@example(status=200, body=b'{"res": {"status": "success", "code": false}, "data": {}}')  # false == 0 in Python
@example(status=200, body=b'{"res": {"status": "success", "code": 0.0}, "data": {}}')
@example(status=200, body=b"")  # a BIG-IP's answer to a DELETE
@example(status=204, body=b"  ")
@example(status=200, body=b"NaN")
async def test_any_answer_body_gives_its_data_on_success_or_one_of_our_errors(
    case: WireCase, status: int, body: bytes
) -> None:
    await a_success_or_ours(case, status, body)


SHAPE_FAULTS = st.one_of(
    st.just({"rename": "items"}),  # the list under another key
    st.integers(1, 5).map(lambda more: {"total_more": more}),  # a total the pages never reach
    st.one_of(st.none(), st.booleans(), st.floats(-9, 9), st.text(max_size=3)).map(lambda total: {"total": total}),
)


def paged_lists(lists: dict[str, list[Any]], fault: tuple[str, dict[str, Any]] | None) -> httpx.MockTransport:
    """Each collection served page by page as the appliance does, ``fault`` spoiling one of them."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/login", "/logout")):
            return httpx.Response(200, json=OK_LOGIN)
        collection = request.url.path.rsplit("/", 1)[-1]
        page, size = int(request.url.params["page"]), int(request.url.params["page_size"])
        items = lists[collection]
        data: dict[str, Any] = {collection: items[(page - 1) * size : page * size], "total": len(items)}
        if fault is not None and fault[0] == collection:
            spoil = fault[1]
            data["total"] = spoil.get("total", len(items) + spoil.get("total_more", 0))
            if "rename" in spoil:
                data[spoil["rename"]] = data.pop(collection)
        return httpx.Response(200, json={"res": {"status": "success", "code": 0}, "data": data})

    return httpx.MockTransport(answer)


ARABIC_DIGITS_VIP = {"name": "v", "vip": "192.0.2.1:\u0668\u0660", "protocol": "tcp", "pool": "p1"}  # "٨٠"


@HYPOTHESIS
@given(lists=APPLIANCE_LISTS, fault=st.none() | st.tuples(st.sampled_from(COLLECTIONS), SHAPE_FAULTS))
@example(lists={"node": [], "pool": [], "vserver": [Item(ARABIC_DIGITS_VIP, ())], "domain": []}, fault=None)
async def test_observing_garbage_lists_keeps_the_good_items_and_only_them(
    lists: dict[str, list[Item]], fault: tuple[str, dict[str, Any]] | None
) -> None:
    wires = {collection: [item.wire for item in items] for collection, items in lists.items()}
    expected = AdcState.of([obj for items in lists.values() for item in items for obj in item.objects])
    with no_backoff():
        async with client_for(paged_lists(wires, fault), deadline=0.02) as client:
            driver = ReferenceDriver(client, OWNER, page_size=3, concurrency=2, save_config=False)
            if fault is not None:  # a list that cannot be read fails the whole observation
                with pytest.raises(AdcProtocolError) as caught:
                    await driver.observe()
                assert_ours(caught.value)
                return
            state = await driver.observe()
    assert state == expected


# ---------------------------------------------------------------------------- the loop survives


FAULTS: list[dict[str, Any]] = [
    {"kind": "truncate", "path": "/adc/v3.0/slb/*", "methods": ["GET"]},
    {"kind": "status", "status": 502, "body": "html", "retry_after": None},
    {"kind": "reset", "methods": ["GET"]},
    {"kind": "reset", "methods": ["POST"], "path": "/adc/v3.0/dns/*", "after_apply": True},
]


@pytest.mark.parametrize("rule", FAULTS, ids=lambda rule: f"{rule['kind']}-{rule.get('status', '')}")
async def test_a_failing_adc_fails_the_cycle_and_the_next_one_converges(
    mock_adc: MockADC, adc: Appliance, rule: dict[str, Any]
) -> None:
    await adc.control("POST", "faults", {"rules": [rule]})
    async with running_bridge(mock_adc, cluster(), adc={"operation_deadline": 0.3}) as bridge:
        failed = await bridge.cycle()
        assert not failed.converged
        assert failed.error or (failed.applied is not None and failed.applied.failures)
        assert "internal error" not in failed.error
        assert_ours(AdcBridgeError(failed.error))
        await adc.control("DELETE", "faults")
        assert (await bridge.cycle()).converged
    assert await domains(adc) == {"shop.example.com", "api.example.com", "*.apps.example.com"}


async def test_the_loop_keeps_running_while_the_adc_answers_garbage() -> None:
    answers: list[Callable[[httpx.Request], httpx.Response]] = [
        lambda _: httpx.Response(200, content=b"<html>maintenance</html>"),
        lambda _: httpx.Response(200, json={"res": {"status": "success", "code": 0}, "data": {"node": "many"}}),
        lambda _: httpx.Response(200, json={"res": {"status": "success", "code": 0}, "data": None}),
    ]
    current = [0]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/login", "/logout")):
            return httpx.Response(200, json=OK_LOGIN)
        return answers[current[0]](request)

    config = make_settings(adc={"url": URL, "operation_deadline": 0.05})
    async with client_for(httpx.MockTransport(answer)) as client:
        driver = ReferenceDriver(client, OWNER, page_size=500, concurrency=2, save_config=False)
        metrics = Metrics()
        reconciler = Reconciler(config, StaticSource(cluster()), driver, metrics)
        for index in range(len(answers)):
            current[0] = index
            report = await reconciler.run_once()
            assert report.error
            assert "internal error" not in report.error, report.error
            assert_ours(AdcBridgeError(report.error))
    assert metrics.registry.get_sample_value("adcbridge_reconcile_duration_seconds_count", {"result": "failed"}) == 3
