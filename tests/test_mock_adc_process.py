"""The mock ADC as a real process: its command line, state file, TLS, and the demo path."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.rcode
import httpx
import pytest
import trustme

from mocks.adc.controls import _is_loopback
from tests.conftest import PASSWORD, USERNAME, Appliance
from tests.processes import RunningMock, mock_adc_process, run_cli

NODE = {"name": "n1", "ip": "10.0.0.1"}


@asynccontextmanager
async def logged_in(*args: str) -> AsyncIterator[tuple[RunningMock, Appliance]]:
    """A mock ADC process started with ``args`` and a client logged in to it."""
    async with mock_adc_process("--password", PASSWORD, *args) as mock, httpx.AsyncClient(base_url=mock.url) as http:
        adc = Appliance(http)
        await adc.login()
        yield mock, adc


async def test_curl_then_dig_path_of_the_demo(tmp_path: Path) -> None:
    """What `make demo` promises: a domain POSTed over HTTP answers over DNS."""
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    async with (
        mock_adc_process("--password-file", str(password_file)) as mock,
        httpx.AsyncClient(base_url=mock.url) as http,
    ):
        adc = Appliance(http)
        await adc.login()
        await adc.ok("POST", "dns/domain", {"name": "demo.example.com", "type": "A", "addresses": ["192.0.2.7"]})
        assert mock.dns is not None
        query = dns.message.make_query("demo.example.com", "A")
        response = await dns.asyncquery.udp(query, mock.dns[0], port=mock.dns[1], timeout=3)
        assert [item.to_text() for item in response.answer[0]] == ["192.0.2.7"]


async def test_the_demo_instructions_work_as_printed(tmp_path: Path) -> None:
    """Run the curl lines `make demo` prints (demo.txt) against a mock on a free port."""
    lines = (Path(__file__).parent.parent / "mocks" / "adc" / "demo.txt").read_text().splitlines()
    commands = [line.strip() for line in lines if line.strip().startswith(("TOKEN=", "curl -s -X POST"))]
    assert len(commands) == 2
    async with mock_adc_process("--password", "demo-password") as mock:
        address = mock.url.removeprefix("http://")
        script = "set -euo pipefail\n" + "\n".join(c.replace("127.0.0.1:8443", address) for c in commands)
        done = await asyncio.create_subprocess_exec("bash", "-c", script, stdout=asyncio.subprocess.PIPE)
        out, _ = await done.communicate()
        assert done.returncode == 0
        assert json.loads(out)["res"]["code"] == 0
        async with httpx.AsyncClient(base_url=mock.url) as http:
            state = await Appliance(http).control("GET", "state")
        assert [domain["name"] for domain in state["objects"]["dns/domain"]] == ["www.example.com"]


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "adc.state.json"
    async with logged_in("--state-file", str(state_file)) as (_, adc):
        await adc.ok("POST", "slb/node", NODE)
        await adc.ok("POST", "slb/pool", {"name": "p1", "healthcheck": ["tcp"]})
        await adc.ok("POST", "slb/pool/p1/rserver", {"node": "n1", "port": 30080, "weight": 3})
        vserver = {"name": "v1", "vip": "192.0.2.1:80", "protocol": "tcp", "pool": "p1"}
        await adc.ok("POST", "slb/vserver", vserver)
        await adc.ok("POST", "dns/domain", {"name": "a.example.com", "type": "A", "addresses": ["192.0.2.1"]})
        before = await adc.control("GET", "state")
    assert json.loads(state_file.read_text())["version"] == 1
    async with logged_in("--state-file", str(state_file)) as (_, adc):
        after = await adc.control("GET", "state")
        # Restarted: same objects (uuids included), no sessions, no change history.
        assert after["objects"] == before["objects"]
        assert after["rservers"] == before["rservers"]
        assert after["sessions"] == 1  # only this test's own new login
        assert (await adc.control("GET", "changes"))["total"] == 0
        await adc.fails("DELETE", "slb/node/n1", code=2003)


async def test_state_is_saved_shortly_after_a_change_even_without_a_clean_stop(tmp_path: Path) -> None:
    state_file = tmp_path / "adc.state.json"
    async with logged_in("--state-file", str(state_file)) as (mock, adc):
        await adc.ok("POST", "slb/node", NODE)
        await asyncio.sleep(0.6)  # the save is debounced by 0.2 s
        mock.process.kill()
    async with logged_in("--state-file", str(state_file)) as (_, adc):
        assert (await adc.control("GET", "state"))["counts"]["slb/node"] == 1


async def test_explicit_persistence_keeps_only_the_saved_configuration(tmp_path: Path) -> None:
    """Like appliances whose running configuration is lost on reboot unless it was saved."""
    state_file = tmp_path / "adc.state.json"
    common = ("--state-file", str(state_file), "--persist", "explicit")
    async with logged_in(*common) as (_, adc):
        assert (await adc.ok("GET", "system/info"))["unsaved_changes"] is False
        await adc.ok("POST", "slb/node", NODE)
        assert (await adc.ok("GET", "system/info"))["unsaved_changes"] is True
        await adc.ok("POST", "system/config/save")
        assert (await adc.ok("GET", "system/info"))["unsaved_changes"] is False
        await adc.ok("POST", "slb/node", {"name": "n2", "ip": "10.0.0.2"})
        assert (await adc.control("GET", "state"))["unsaved_changes"] is True
        changes = (await adc.control("GET", "changes"))["changes"]
        assert [(c["method"], c["kind"], c["name"]) for c in changes] == [
            ("POST", "slb/node", "n1"),
            ("POST", "system/config", "save"),
            ("POST", "slb/node", "n2"),
        ]
    async with logged_in(*common) as (_, adc):
        state = await adc.control("GET", "state")
        assert [node["name"] for node in state["objects"]["slb/node"]] == ["n1"]
        assert state["unsaved_changes"] is False


async def test_unwritable_state_file_is_refused_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "adc.state.json"
    code, err = await run_cli("--password", "x", "--state-file", str(missing), "--listen", "127.0.0.1:0")
    assert code == 2
    assert "no-such-dir" in err


async def test_corrupt_state_file_is_refused_with_a_message(tmp_path: Path) -> None:
    state_file = tmp_path / "adc.state.json"
    state_file.write_text('{"version": 1, "objects": {"slb/node": [{"name": "n1", "ip": "bogus", "uuid": "u"}]}}')
    code, err = await run_cli("--password", "x", "--state-file", str(state_file), "--listen", "127.0.0.1:0")
    assert code == 2
    assert "cannot load state file" in err
    assert "ip" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--password"),
        (("--password", "x", "--listen", "nowhere"), "--listen"),
        (("--password", "x", "--max-sessions", "0"), "--max-sessions"),
        (("--password", "x", "--tls-cert", "c.pem"), "--tls-key"),
    ],
)
async def test_bad_arguments_exit_2_naming_the_option(args: tuple[str, ...], message: str) -> None:
    code, err = await run_cli(*args)
    assert code == 2
    assert message in err


async def test_https_with_a_test_ca(tmp_path: Path) -> None:
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    authority.cert_pem.write_to_path(str(ca_file))
    args = ("--password", PASSWORD, "--tls-cert", str(cert_file), "--tls-key", str(key_file))
    async with mock_adc_process(*args) as mock:
        assert mock.url.startswith("https://127.0.0.1:")
        verified = ssl.create_default_context(cafile=str(ca_file))
        async with httpx.AsyncClient(base_url=mock.url, verify=verified) as http:
            response = await http.post("/adc/v3.0/login", json={"username": USERNAME, "password": PASSWORD})
            assert response.json()["res"]["code"] == 0
        async with httpx.AsyncClient(base_url=mock.url) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get("/adc/v3.0/system/info")


@pytest.mark.parametrize(
    ("remote", "allowed"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("10.1.2.3", False), ("192.0.2.1", False), (None, False)],
)
def test_controls_answer_loopback_peers_only(remote: str | None, allowed: bool) -> None:
    assert _is_loopback(remote) is allowed


async def test_ipv6_loopback_listeners() -> None:
    async with mock_adc_process("--password", PASSWORD, "--listen", "[::1]:0", "--dns-listen", "[::1]:0") as mock:
        assert mock.url.startswith("http://[::1]:")
        assert mock.dns is not None
        assert mock.dns[0] == "::1"
        async with httpx.AsyncClient(base_url=mock.url) as http:
            assert (await Appliance(http).login()).json()["res"]["code"] == 0
        query = dns.message.make_query("nothing.example.com", "A")
        response = await dns.asyncquery.udp(query, "::1", port=mock.dns[1], timeout=3)
        assert response.rcode() == dns.rcode.NXDOMAIN
