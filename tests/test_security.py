"""Security: TLS to the ADC verified by default, secrets never shown, nothing else exposed.

(a) The mock ADC serves HTTPS with a trustme CA: ``adcbridge check`` works with ``adc.ca_file``;
    with another CA it fails closed, saying the certificate could not be verified and pointing
    at ``adc.ca_file``; ``verify_tls=false`` works and logs a WARNING.
(b) A canary password goes through login retries, faults (each of which must have fired), an
    expired session, a password the ADC no longer accepts, TLS failures: it never appears in logs
    (caplog, capsys), metrics, health answers, cycle errors, Kubernetes Events, or the emulator's
    change log and state; for each dialect, against its emulator (the BIG-IP's over HTTPS, with a
    PATCH reset after it applied and its token list too).
(c) The health server of a running bridge, built from settings that carry a canary in every text
    they hold, answers /healthz, /readyz and /metrics to GET, 404 to any other path, 405 to other
    methods, and none of its answers carries the canary or the ADC's address.
(d) The mock ADC's ``/_mock/`` controls answer loopback peers only (``mocks/adc/controls.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from adcbridge.adc import AdcClient, Credentials
from adcbridge.adc.bigip import BIGIP_WIRE
from adcbridge.adc.client import Wire
from adcbridge.adc.reference import REFERENCE_WIRE
from adcbridge.app import Cluster, Service
from adcbridge.config import AdcSettings, Settings
from adcbridge.errors import AdcUnavailable
from adcbridge.k8s.api import KubeApi
from adcbridge.k8s.cluster_source import ClusterSource
from mocks.adc import AuthPolicy, MockADC, MockConfig
from mocks.adc.codes import ApiFailure
from mocks.adc.controls import loopback_only
from mocks.bigip import BigIPConfig, MockBigIP
from mocks.kube import manifests as k
from tests.bigip_fixtures import certificate_file, trust
from tests.builders import settings
from tests.conftest import PASSWORD, USERNAME, policy
from tests.live import live_settings, seeded_kube, until
from tests.processes import RunningMock, mock_adc_process
from tests.test_bridge_against_mock import StaticSource, cluster
from tests.test_cli import adcbridge, bridge_env

# ---------------------------------------------------------------------------- (a) TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_files(ca: trustme.CA, directory: Path) -> tuple[Path, Path, Path]:
    """The mock's certificate and key (for 127.0.0.1 and localhost), and the CA that signs them."""
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, bundle = directory / "server.crt", directory / "server.key", directory / "ca.crt"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(bundle))
    return cert, key, bundle


@pytest.fixture
async def https_mock(ca: trustme.CA, tmp_path: Path) -> AsyncIterator[tuple[RunningMock, Path]]:
    cert, key, bundle = server_files(ca, tmp_path)
    args = ("--username", USERNAME, "--password", PASSWORD, "--tls-cert", str(cert), "--tls-key", str(key), "--no-dns")
    async with mock_adc_process(*args) as running:
        assert running.url.startswith("https://")
        yield running, bundle


async def test_check_over_https_with_the_ca_bundle(https_mock: tuple[RunningMock, Path]) -> None:
    running, bundle = https_mock
    code, out, err = await adcbridge("check", env=bridge_env(running.url, ADCBRIDGE_ADC__CA_FILE=str(bundle)))
    assert code == 0, out + err
    assert "login accepted" in out


async def test_another_ca_fails_closed_with_a_clear_message(
    https_mock: tuple[RunningMock, Path], tmp_path: Path
) -> None:
    running, _ = https_mock
    other = tmp_path / "other-ca.crt"
    trustme.CA().cert_pem.write_to_path(str(other))
    for extra in ({"ADCBRIDGE_ADC__CA_FILE": str(other)}, {}):  # another CA, and the system's CAs
        env = bridge_env(running.url, ADCBRIDGE_ADC__OPERATION_DEADLINE="0.5", **extra)
        code, out, _ = await adcbridge("check", env=env)
        assert code == 1
        assert "FAIL  ADC: POST login: the ADC's TLS certificate could not be verified" in out
        assert "set adc.ca_file to the CA bundle that signs it" in out
        assert "login accepted" not in out
    async with httpx.AsyncClient(verify=False) as http:
        changes = (await http.get(f"{running.url}/_mock/changes")).json()["data"]["changes"]
        stats = (await http.get(f"{running.url}/_mock/stats")).json()["data"]
    assert changes == []
    assert stats["total"] == 0  # not a single request (not the login, with its password) went out


async def test_verify_tls_false_works_and_warns(https_mock: tuple[RunningMock, Path]) -> None:
    running, _ = https_mock
    code, out, err = await adcbridge("check", env=bridge_env(running.url, ADCBRIDGE_ADC__VERIFY_TLS="false"))
    assert code == 0, out + err
    assert "TLS verification of the ADC is OFF (adc.verify_tls=false)" in err
    assert "WARNING" in next(line for line in err.splitlines() if "verify_tls=false" in line)


def test_verification_is_on_by_default_and_off_only_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="adcbridge"):
        verified = AdcClient(
            AdcSettings(url="https://adc.test"), lambda: Credentials(USERNAME, PASSWORD), wire=REFERENCE_WIRE
        )
        assert not caplog.records
        assert isinstance(verified._tls.context, ssl.SSLContext)
        assert verified._tls.context.verify_mode == ssl.CERT_REQUIRED
        assert verified._tls.context.check_hostname
        AdcClient(
            AdcSettings(url="https://adc.test", verify_tls=False),
            lambda: Credentials(USERNAME, PASSWORD),
            wire=REFERENCE_WIRE,
        )
    assert [(r.levelname, "verify_tls=false" in r.getMessage()) for r in caplog.records] == [("WARNING", True)]


# ---------------------------------------------------------------------------- (b) the canary


@dataclass(frozen=True)
class CanaryUnit:
    """One dialect's appliance for the canary: its settings, faults, and the controls that end a
    session and change the password."""

    adc: dict[str, Any]  # the bridge's adc settings
    dns: dict[str, Any]
    controls: httpx.AsyncClient
    faults: list[dict[str, Any]]
    expire: str  # the control that ends every session
    wire: Wire

    async def rules(self) -> list[dict[str, Any]]:
        answer = (await self.controls.get("/_mock/faults")).json()
        rules: list[dict[str, Any]] = answer["data"]["rules"] if "data" in answer else answer["rules"]
        return rules


@asynccontextmanager
async def reference_unit(tmp_path: Path) -> AsyncIterator[CanaryUnit]:
    # Over plain HTTP: TLS failures with the canary are the subprocess tests above (``adcbridge``
    # asserts the password is absent from everything the bridge printed, at DEBUG level). In-process,
    # handshakes cancelled by ``observe`` stay referenced from caplog's records and would outlive the test.
    async with MockADC(MockConfig(policy=policy(), dns_port=None)) as adc, httpx.AsyncClient(base_url=adc.url) as http:
        faults = [
            {"kind": "status", "status": 503, "path": "/adc/v3.0/login", "count": 2, "retry_after": 0},
            {"kind": "status", "status": 500, "methods": ["GET"], "count": 2, "retry_after": None},
            {"kind": "status", "status": 502, "body": "html", "count": 1, "retry_after": None},
            {"kind": "reset", "methods": ["POST"], "count": 1},
        ]
        adc_settings = {"url": adc.url, "username": USERNAME, "password": PASSWORD}
        yield CanaryUnit(adc_settings, {"verify": False}, http, faults, "/_mock/sessions/expire", REFERENCE_WIRE)


@asynccontextmanager
async def bigip_unit(tmp_path: Path) -> AsyncIterator[CanaryUnit]:
    """The BIG-IP emulator over HTTPS (its own certificate trusted), with the bridge's partition."""
    config = BigIPConfig(username=USERNAME, password=PASSWORD, dns_port=None)
    async with MockBigIP(config) as unit, httpx.AsyncClient(base_url=unit.url, verify=trust(unit)) as http:
        await http.post("/_mock/seed", json={"requests": [PARTITION_SEED]})
        faults = [
            {"kind": "status", "status": 503, "path": "/mgmt/shared/authn/login", "count": 1, "retry_after": 0},
            {"kind": "status", "status": 500, "methods": ["GET"], "count": 1, "retry_after": None},
            {"kind": "status", "status": 502, "body": "html", "count": 1, "retry_after": None},
            {"kind": "reset", "methods": ["POST"], "count": 1},
            {"kind": "reset", "methods": ["PATCH"], "count": 1, "after_apply": True},
        ]
        adc_settings = {
            "dialect": "bigip",
            "url": unit.url,
            "username": USERNAME,
            "password": PASSWORD,
            "partition": "k8s",
            "ca_file": str(certificate_file(unit, tmp_path)),
        }
        dns = {"targets": [], "verify": False}
        yield CanaryUnit(adc_settings, dns, http, faults, "/_mock/tokens/expire", BIGIP_WIRE)


PARTITION_SEED = {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": "k8s"}}
CANARY_UNITS = {"reference": reference_unit, "bigip": bigip_unit}


@pytest.mark.parametrize("dialect", sorted(CANARY_UNITS))
async def test_the_password_never_shows_anywhere(
    dialect: str,
    tmp_path: Path,
    ca: trustme.CA,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, third-party libraries included
    seen: list[str] = []
    server_files(ca, tmp_path)
    async with CANARY_UNITS[dialect](tmp_path) as unit, seeded_kube(tmp_path) as kube:
        kube.create(k.ingress("shop", "shop", "shop.example.com"))
        kube.create(k.ingress("bad", "shop", "bad_host.example.com"))  # a HostRejected Event
        await unit.controls.post("/_mock/faults", json={"rules": unit.faults})
        fast = {"batch_window_seconds": 0.05, "resync_seconds": 0.2, "max_backoff_seconds": 0.2}
        settings = live_settings(
            tmp_path,
            adc=unit.adc,
            leader={"enabled": False},
            reconcile=fast,
            server={"listen": "127.0.0.1:0"},
            dns=unit.dns,
        )
        async with await KubeApi.connect(settings.kube) as api, ClusterSource(api, settings) as source:
            service = Service(settings, source, Cluster(api, source))
            stop = asyncio.Event()
            serving = asyncio.create_task(service.serve_until(stop))
            try:
                await until(lambda: _ready(service), what="a converged cycle")
                if dialect == "bigip":  # a drained node: PATCHes, the first of which is reset after it applied
                    kube.patch("v1", "Node", "node-b", {"spec": {"unschedulable": True}})
                    await until(lambda: _faults_fired(unit), what="every fault")
                    await until(lambda: _ready(service), what="a converged cycle after the drain")
                await unit.controls.post(unit.expire)  # a new login with the password
                await unit.controls.post("/_mock/password", json={"password": "rotated-by-the-admin"})
                await until(lambda: _logged(caplog, "login refused"), what="a cycle failing on the refused password")
                seen += [service.readiness()[1], service.metrics.exposition().decode()]
            finally:
                stop.set()
                assert await serving == 0
            events = kube.list_objects("v1", "Event", namespace="shop")
            assert any(event["reason"] == "HostRejected" for event in events)
            seen += [json.dumps(event) for event in kube.list_objects("v1", "Event")]
        rules = await unit.rules()
        assert [rule["fired"] for rule in rules] == [fault["count"] for fault in unit.faults]  # every fault happened
        paths = ("changes", "state", "stats", "tokens") if dialect == "bigip" else ("changes", "state", "stats")
        seen += [json.dumps((await unit.controls.get(f"/_mock/{path}")).json()) for path in paths]

    # an unreachable ADC, with the password ready to be sent
    wrong = AdcSettings(url="https://127.0.0.1:9", operation_deadline=0.2, ca_file=tmp_path / "ca.crt")
    async with AdcClient(wrong, lambda: Credentials(USERNAME, PASSWORD), wire=unit.wire) as client:
        with pytest.raises(AdcUnavailable) as caught:
            await client.login()
    seen.append(str(caught.value))

    captured = capsys.readouterr()
    seen += [caplog.text, captured.out, captured.err]
    seen += [str(record.args) for record in caplog.records]  # arguments, even those a format left out
    assert "login refused: wrong username or password" in caplog.text  # the scenario did happen
    assert "retrying after transient ADC error" in caplog.text
    leaks = [text[max(0, text.find(PASSWORD) - 80) : text.find(PASSWORD) + 30] for text in seen if PASSWORD in text]
    assert leaks == []


async def _faults_fired(unit: CanaryUnit) -> bool:
    return all(rule["fired"] == rule["count"] for rule in await unit.rules())


async def _ready(service: Service) -> bool:
    return service.readiness()[0]


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return text in caplog.text


# ---------------------------------------------------------------------------- (c) the health server


CANARY = "c4n4ry"  # in every setting below that could be shown: none may appear in an answer
CANARY_USERNAME, CANARY_PASSWORD = f"{CANARY}-user", f"{CANARY}-password-5e1b"


def canary_settings(adc_url: str) -> Settings:
    """Real settings, every group that holds text holding the canary (the ADC's URL is the mock's)."""
    return settings(
        owner_id=f"{CANARY}-owner",
        name_prefix=f"{CANARY}-",
        adc={"url": adc_url, "username": CANARY_USERNAME, "password": CANARY_PASSWORD},
        kic={"namespace": f"{CANARY}-ns", "service": f"{CANARY}-svc", "ingress_class": f"{CANARY}-class"},
        rfc2136={
            "server": f"{CANARY}-dns.example:53",
            "zones": [f"{CANARY}.example"],
            "tsig_key_name": f"{CANARY}-key",
            "tsig_secret": f"{CANARY}-tsig-secret",
        },
        kube={"namespaces": [f"{CANARY}-team"], "label_selector": f"{CANARY}=yes", "context": f"{CANARY}-context"},
        leader={"enabled": False, "lease_name": f"{CANARY}-lease", "identity": f"{CANARY}-pod"},
        reconcile={"batch_window_seconds": 0.05, "resync_seconds": 0.5},
        server={"listen": "127.0.0.1:0"},
        dns={"verify": False},
    )


@pytest.fixture
async def health(caplog: pytest.LogCaptureFixture) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """The health server of a running, converged bridge built from ``canary_settings``."""
    caplog.set_level(logging.INFO, logger="adcbridge")
    async with MockADC(MockConfig(policy=AuthPolicy(CANARY_USERNAME, CANARY_PASSWORD), dns_port=None)) as adc:
        config = canary_settings(adc.url)
        service = Service(config, StaticSource(cluster()))
        stop = asyncio.Event()
        serving = asyncio.create_task(service.serve_until(stop))
        try:
            await until(lambda: _logged(caplog, "serving /healthz"), what="the health server")
            port = re.search(r"on port (\d+)", caplog.text)
            assert port is not None
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port.group(1)}") as http:
                await until(lambda: _ready_over_http(http), what="a ready bridge")
                yield http, config
        finally:
            stop.set()
            assert await serving == 0


async def _ready_over_http(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def test_the_health_server_answers_carry_no_settings(health: tuple[httpx.AsyncClient, Settings]) -> None:
    http, config = health
    host_port = config.adc.url.split("//", 1)[1]
    answers = {path: (await http.get(path)).text for path in ("/healthz", "/readyz", "/metrics")}
    assert answers["/healthz"] == "ok\n"
    assert answers["/readyz"] == "ready\n"
    assert "adcbridge_managed_objects" in answers["/metrics"]  # the bridge's own metrics, from its cycles
    for path, body in answers.items():
        assert CANARY not in body, path
        assert host_port not in body, path
        assert "owner" not in body.lower(), path


async def test_the_health_server_serves_three_paths_to_get_and_nothing_else(
    health: tuple[httpx.AsyncClient, Settings],
) -> None:
    http, _ = health
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await http.get(path)).status_code == 200
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert (await http.request(method, path)).status_code == 405, (method, path)
    others = ["/", "/settings", "/config", "/env", "/debug/pprof", "/_mock/state", "/healthz/", "/HEALTHZ"]
    others += ["/metrics/../settings", "/%2e%2e/etc/passwd", "/readyz?verbose=1&x", "/static/x", "/favicon.ico"]
    for path in others:
        answer = await http.get(path)
        if path.startswith("/readyz?"):  # a query string does not make another path
            assert answer.text == "ready\n"
            continue
        assert answer.status_code == 404, path
        assert CANARY not in answer.text
    assert (await http.post("/settings")).status_code in (404, 405)


# ---------------------------------------------------------------------------- (d) mock controls


def peer(address: str) -> mock.Mock:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (address, 40000) if name == "peername" else default
    )
    return transport


async def _passed(_: web.Request) -> web.StreamResponse:
    return web.Response(text="passed")


@pytest.mark.parametrize("address", ["203.0.113.5", "10.0.0.1", "::ffff:203.0.113.5", "2001:db8::1", "fe80::1%eth0"])
@pytest.mark.parametrize("path", ["/_mock/state", "/_mock/password", "/_mock/faults", "/_mock/reset"])
async def test_mock_controls_refuse_other_peers(address: str, path: str) -> None:
    request = make_mocked_request("POST", path, headers={"X-Forwarded-For": "127.0.0.1"}, transport=peer(address))
    with pytest.raises(ApiFailure) as caught:
        await loopback_only(request, _passed)
    assert (caught.value.code, caught.value.http_status) == (4033, 403)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1"])
async def test_mock_controls_answer_loopback_and_the_api_answers_anyone(address: str) -> None:
    response = await loopback_only(make_mocked_request("GET", "/_mock/state", transport=peer(address)), _passed)
    assert isinstance(response, web.Response)
    assert response.text == "passed"
    appliance = make_mocked_request("GET", "/adc/v3.0/system/info", transport=peer("203.0.113.5"))
    assert isinstance(await loopback_only(appliance, _passed), web.Response)


async def test_the_mock_listens_on_loopback_when_told_and_serves_controls_there() -> None:
    async with MockADC(MockConfig(policy=policy(), dns_port=None)) as adc, httpx.AsyncClient(base_url=adc.url) as http:
        assert adc.url.startswith("http://127.0.0.1:")
        answer: Any = (await http.get("/_mock/stats")).json()
        assert answer["res"]["code"] == 0
