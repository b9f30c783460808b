"""The emulated A10 Thunder as a real process: its command line, its certificate, its state file."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from mocks.acos import AcosConfig, MockAcos
from mocks.files import StateFileError
from tests.acos_fixtures import ACOS_PASSWORD, ACOS_USER, Axapi, trust
from tests.processes import mock_acos_process, run_cli

SERVERS = "/axapi/v3/slb/server"


async def test_it_prints_where_it_listens_and_serves_https_with_its_own_certificate(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(ACOS_PASSWORD + "\n")
    async with mock_acos_process("--password-file", str(password_file), "--version", "6.0.2") as mock:
        assert mock.url.startswith("https://127.0.0.1:")
        assert not mock.url.endswith(":0")
        assert mock.dns is None
        async with httpx.AsyncClient(base_url=mock.url, verify=False) as http:
            unit = Axapi(http)
            assert (await unit.login()).status_code == 200
            assert (await unit.ok("GET", "/axapi/v3/system"))["system"]["version"] == "6.0.2"
        assert mock.process.returncode is None
    assert mock.process.returncode == 0  # SIGTERM stops it cleanly


async def test_plain_http_for_tests_that_need_it() -> None:
    async with mock_acos_process("--password", ACOS_PASSWORD, "--plain-http") as mock:
        assert mock.url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=mock.url) as http:
            assert (await Axapi(http).login()).status_code == 200


async def test_a_given_certificate_is_served(tmp_path: Path) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    async with (
        mock_acos_process("--password", ACOS_PASSWORD, "--tls-cert", str(cert), "--tls-key", str(key)) as mock,
        httpx.AsyncClient(base_url=mock.url, verify=context) as http,
    ):
        assert (await Axapi(http).login()).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--password", "pw", "--tls-cert", "c.pem"), "--tls-cert and --tls-key go together"),
        (("--password", "pw", "--plain-http", "--tls-cert", "c.pem", "--tls-key", "k.pem"), "exclude each other"),
        (("--password", "pw", "--state-file", "/nonexistent/dir/acos.json"), "No such file or directory"),
    ],
)
async def test_bad_arguments_exit_2_with_a_message(args: tuple[str, ...], message: str) -> None:
    code, err = await run_cli("--listen", "127.0.0.1:0", *args, module="mocks.acos")
    assert code == 2
    assert message in err


async def test_only_saved_configuration_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "acos.json"
    args = ("--password", ACOS_PASSWORD, "--state-file", str(state))
    async with mock_acos_process(*args) as mock, httpx.AsyncClient(base_url=mock.url, verify=False) as http:
        unit = Axapi(http)
        await unit.login()
        await unit.partition("p1", 4)
        await unit.ok("POST", SERVERS, {"server": {"name": "kept", "host": "10.0.0.1", "user-tag": "t"}})
        await unit.ok("POST", "/axapi/v3/write/memory", {"memory": {"partition": "all"}})
        await unit.ok("POST", SERVERS, {"server": {"name": "lost", "host": "10.0.0.2"}})
    async with mock_acos_process(*args) as mock, httpx.AsyncClient(base_url=mock.url, verify=False) as http:
        unit = Axapi(http)
        await unit.login()
        await unit.ok("POST", "/axapi/v3/active-partition/p1")
        servers = (await unit.ok("GET", SERVERS))["server-list"]
    assert [(s["name"], s["user-tag"]) for s in servers] == [("kept", "t")]


async def test_write_memory_of_one_partition_saves_that_partition(tmp_path: Path) -> None:
    state = tmp_path / "acos.json"
    mock = MockAcos(AcosConfig(ACOS_USER, ACOS_PASSWORD, state_file=state))
    async with mock, httpx.AsyncClient(base_url=mock.url, verify=trust(mock)) as http:
        unit = Axapi(http)
        await unit.login()
        await unit.ok("POST", SERVERS, {"server": {"name": "in-shared", "host": "10.0.0.1"}})
        await unit.partition("p1", 4)
        await unit.ok("POST", SERVERS, {"server": {"name": "in-p1", "host": "10.0.0.2"}})
        body = {"memory": {"partition": "specified", "specified-partition": "p1"}}
        await unit.ok("POST", "/axapi/v3/write/memory", body)
        assert (await unit.control("GET", "state"))["unsaved_partitions"] == ["shared"]
        await unit.logoff()
    saved = json.loads(state.read_text())["config"]
    assert [o["fields"]["name"] for o in saved["p1"]["objects"]["slb/server"]] == ["in-p1"]
    assert saved["shared"]["objects"]["slb/server"] == []


async def test_an_unusable_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "acos.json"
    state.write_text('{"version": 1, "config": {"p1": {"id": 1, "objects": {}}}}')
    with pytest.raises(StateFileError, match="no shared partition"):
        MockAcos(AcosConfig(ACOS_USER, ACOS_PASSWORD, state_file=state))
    state.write_text("not json")
    with pytest.raises(StateFileError, match="cannot load state file"):
        MockAcos(AcosConfig(ACOS_USER, ACOS_PASSWORD, state_file=state))
    state.write_text('{"version": 2, "config": {}}')
    with pytest.raises(StateFileError, match="unsupported state version 2"):
        MockAcos(AcosConfig(ACOS_USER, ACOS_PASSWORD, state_file=state))
