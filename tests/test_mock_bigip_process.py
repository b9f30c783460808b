"""The emulated BIG-IP as a real process: its command line, its certificate, its state file."""

from __future__ import annotations

import ssl
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.rcode
import httpx
import trustme

from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER
from tests.processes import mock_bigip_process, run_cli

AUTH = (BIGIP_USER, BIGIP_PASSWORD)


async def test_it_prints_where_it_listens_and_serves_https_with_its_own_certificate(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(BIGIP_PASSWORD + "\n")
    async with mock_bigip_process("--password-file", str(password_file), "--version", "16.1.3") as mock:
        assert mock.url.startswith("https://127.0.0.1:")
        assert not mock.url.endswith(":0")
        async with httpx.AsyncClient(base_url=mock.url, verify=False, auth=AUTH) as http:
            sys = (await http.get("/mgmt/tm/sys/")).json()
        assert sys["selfLink"] == "https://localhost/mgmt/tm/sys?ver=16.1.3"
        assert mock.dns is not None
        query = dns.message.make_query("nothing.example.com", "A")
        answer = await dns.asyncquery.udp(query, mock.dns[0], port=mock.dns[1], timeout=3)
        assert answer.rcode() == dns.rcode.NXDOMAIN


async def test_a_given_certificate_is_served(tmp_path: Path) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    async with (
        mock_bigip_process("--password", BIGIP_PASSWORD, "--tls-cert", str(cert), "--tls-key", str(key)) as mock,
        httpx.AsyncClient(base_url=mock.url, verify=context, auth=AUTH) as http,
    ):
        assert (await http.get("/mgmt/shared/echo-query")).status_code == 200


async def test_only_saved_configuration_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "bigip.json"
    args = ("--password", BIGIP_PASSWORD, "--state-file", str(state))
    async with mock_bigip_process(*args) as mock, httpx.AsyncClient(base_url=mock.url, verify=False, auth=AUTH) as http:
        assert (await http.post("/mgmt/tm/ltm/pool", json={"name": "kept"})).status_code == 200
        assert (await http.post("/mgmt/tm/sys/config", json={"command": "save"})).status_code == 200
        assert (await http.post("/mgmt/tm/ltm/pool", json={"name": "lost"})).status_code == 200
    async with mock_bigip_process(*args) as mock, httpx.AsyncClient(base_url=mock.url, verify=False, auth=AUTH) as http:
        pools = (await http.get("/mgmt/tm/ltm/pool")).json()["items"]
    assert [pool["name"] for pool in pools] == ["kept"]


async def test_bad_arguments_exit_2_naming_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, err = await run_cli("--password", "x", "--state-file", str(broken), module="mocks.bigip")
    assert code == 2
    assert "cannot load state file" in err
    code, err = await run_cli("--password", "x", "--tls-cert", str(broken), module="mocks.bigip")
    assert code == 2
    assert "--tls-cert and --tls-key go together" in err
    empty = tmp_path / "empty"
    empty.write_text("")
    code, err = await run_cli("--password-file", str(empty), module="mocks.bigip")
    assert code == 2
    assert "is empty" in err
