"""The ``adcbridge`` command as users run it: real processes, the mock ADC as a real process.

Every test also searches everything the bridge printed for the canary password: secrets
never appear in output, logs or errors, even at DEBUG level.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mocks.kube import manifests
from tests.conftest import PASSWORD, USERNAME
from tests.live import seeded_kube
from tests.processes import START_TIMEOUT, RunningMock, mock_adc_process

DEMO_SNAPSHOT = Path(__file__).parent.parent / "config" / "demo"


def demo_text() -> str:
    """The demo cluster as one YAML stream (for tests that edit it)."""
    return "\n---\n".join(file.read_text() for file in sorted(DEMO_SNAPSHOT.glob("*.yaml")))


EXAMPLE_CONFIG = Path(__file__).parent.parent / "config" / "adcbridge.example.yaml"


def bridge_env(url: str, **extra: str) -> dict[str, str]:
    # Nothing of the developer's machine leaks in: no settings, no kubeconfig, no in-cluster account.
    hidden = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADCBRIDGE_") and key not in hidden}
    env["HOME"] = "/nonexistent-home-of-adcbridge-tests"
    env |= {
        "ADCBRIDGE_ADC__URL": url,
        "ADCBRIDGE_ADC__USERNAME": USERNAME,
        "ADCBRIDGE_ADC__PASSWORD": PASSWORD,
        "ADCBRIDGE_OWNER_ID": "cli-test",
        "ADCBRIDGE_VIP__ADDRESSES": '["192.0.2.10"]',
        "ADCBRIDGE_LOG__LEVEL": "DEBUG",
        "ADCBRIDGE_SERVER__LISTEN": "127.0.0.1:0",
        "ADCBRIDGE_DNS__VERIFY": "false",  # on where a test gives the mock's DNS responder
    }
    return env | extra


async def adcbridge(*args: str, env: dict[str, str], within: float = START_TIMEOUT * 3) -> tuple[int, str, str]:
    """Run the command to its end; one still running after ``within`` seconds is killed and fails the test."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adcbridge",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise AssertionError(f"adcbridge {' '.join(args)} still running after {within:g} s") from None
    assert process.returncode is not None
    stdout, stderr = out.decode(), err.decode()
    assert PASSWORD not in stdout + stderr
    return process.returncode, stdout, stderr


@pytest.fixture
async def mock() -> AsyncIterator[RunningMock]:
    async with mock_adc_process("--username", USERNAME, "--password", PASSWORD) as running:
        yield running


async def state_of(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as http:
        data: dict[str, Any] = (await http.get("/_mock/state")).json()["data"]
        return data


async def test_plan_then_run_once_then_nothing_to_do(mock: RunningMock) -> None:
    env = bridge_env(mock.url)
    code, out, _ = await adcbridge("plan", "--snapshot", str(DEMO_SNAPSHOT), env=env)
    assert code == 0
    assert re.search(r"^create\s+domain\s+shop\.example\.com", out, re.MULTILINE)
    assert "dry run: 20 change(s) pending, nothing written" in out
    assert (await state_of(mock.url))["counts"].get("dns/domain", 0) == 0

    code, out, _ = await adcbridge("run", "--once", "--snapshot", str(DEMO_SNAPSHOT), env=env)
    assert code == 0, out
    assert out.rstrip().endswith("converged")
    assert (await state_of(mock.url))["counts"]["dns/domain"] == 7

    assert mock.dns is not None
    dns_env = env | {
        "ADCBRIDGE_DNS__VERIFY": "true",
        "ADCBRIDGE_DNS__VERIFY_SERVERS": f'["{mock.dns[0]}:{mock.dns[1]}"]',
    }
    code, out, _ = await adcbridge("run", "--once", "--snapshot", str(DEMO_SNAPSHOT), env=dns_env)
    assert code == 0
    assert "no changes: the ADC matches the cluster" in out
    assert "dns check (what resolves now): 7 names on 1 server: 7 ok" in out
    code, out, _ = await adcbridge("check", env=dns_env)
    assert (code, "ok    DNS: 7 names on 1 server: 7 ok" in out) == (0, True), out
    code, out, _ = await adcbridge("check", env=env | {"ADCBRIDGE_DNS__VERIFY": "true"})  # no verify_servers
    assert code == 0, out
    assert "skip  DNS check: names published on the ADC's DNS are not checked; set dns.verify_servers" in out

    code, out, _ = await adcbridge("plan", "--json", "--snapshot", str(DEMO_SNAPSHOT), env=env)
    assert code == 0
    assert '"operations": []' in out


async def test_run_once_exit_code_says_whether_it_converged(mock: RunningMock, tmp_path: Path) -> None:
    snapshot = tmp_path / "bad-host.yaml"
    snapshot.write_text(demo_text().replace("api.example.com", "api_bad.example.com"))
    code, out, _ = await adcbridge("run", "--once", "--snapshot", str(snapshot), env=bridge_env(mock.url))
    assert code == 0  # a rejected host is reported but does not hold back the others
    assert "rejected host 'api_bad.example.com'" in out
    orphan = tmp_path / "orphan-minion.yaml"
    orphan.write_text(
        demo_text()
        + "\n---\n"
        + yaml.safe_dump(manifests.ingress("lost", "checkout", "gone.example.com", mergeable="minion"))
    )
    code, out, _ = await adcbridge("run", "--once", "--snapshot", str(orphan), env=bridge_env(mock.url))
    assert (code, out.rstrip().endswith("\nconverged")) == (0, True), out  # one tenant's mistake blocks nobody
    assert "rejected host 'gone.example.com' in Ingress checkout/lost: minion without a master Ingress" in out
    assert "degraded" not in out
    held = tmp_path / "no-service.yaml"
    held.write_text(demo_text().replace("name: njet-ingress-controller", "name: renamed"))
    code, out, _ = await adcbridge("run", "--once", "--snapshot", str(held), env=bridge_env(mock.url))
    assert code == 1
    assert "degraded: KIC Service njet-ingress/njet-ingress-controller not found" in out


async def test_run_once_gives_up_on_an_unreachable_adc_at_the_connect_timeout_with_the_reason() -> None:
    with socket.socket() as closed:  # bound, never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        env = bridge_env(f"http://127.0.0.1:{closed.getsockname()[1]}")
        started = time.monotonic()
        code, out, _ = await adcbridge(
            "run", "--once", "--snapshot", str(DEMO_SNAPSHOT), "--connect-timeout", "1", env=env, within=20
        )
        elapsed = time.monotonic() - started
    assert code == 1, out
    assert elapsed < 10  # the interpreter's start included; without the bound it takes over a minute
    assert "error: cannot reach the ADC: no login and list within 1 s; last error: POST login: ConnectError" in out
    assert out.rstrip().endswith("not converged")


async def test_connect_timeout_is_a_positive_number_for_one_cycle_only() -> None:
    env = bridge_env("http://127.0.0.1:9")
    code, _, err = await adcbridge("run", "--snapshot", str(DEMO_SNAPSHOT), "--connect-timeout", "5", env=env)
    assert (code, "--connect-timeout applies to run --once" in err) == (2, True)
    code, _, err = await adcbridge("plan", "--snapshot", str(DEMO_SNAPSHOT), "--connect-timeout", "0", env=env)
    assert (code, "'0' is not a positive number of seconds" in err) == (2, True)


async def set_faults(url: str, *rules: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        (await http.post("/_mock/faults", json={"rules": list(rules)})).raise_for_status()


async def fired(url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url) as http:
        return [rule["fired"] for rule in (await http.get("/_mock/faults")).json()["data"]["rules"]]


async def test_an_adc_that_answers_late_but_within_the_connect_timeout_is_reached(mock: RunningMock) -> None:
    login = "/adc/v3.0/login"
    refused = {"kind": "status", "status": 503, "retry_after": None, "path": login, "count": 2}
    await set_faults(mock.url, {"kind": "latency", "latency_ms": 500, "path": login}, refused)
    run = ("run", "--once", "--snapshot", str(DEMO_SNAPSHOT), "--connect-timeout", "8")
    code, out, _ = await adcbridge(*run, env=bridge_env(mock.url))
    assert (code, out.rstrip().endswith("\nconverged")) == (0, True), out
    assert await fired(mock.url) == [3, 2]  # three slow logins, the first two refused, then in
    assert (await state_of(mock.url))["counts"]["dns/domain"] == 7


async def test_a_slow_adc_once_connected_completes_the_cycle_past_the_connect_timeout(mock: RunningMock) -> None:
    slow = [{"kind": "latency", "latency_ms": 800, "path": f"/adc/v3.0/{path}/*"} for path in ("slb", "dns", "system")]
    await set_faults(mock.url, *slow)
    run = ("run", "--once", "--snapshot", str(DEMO_SNAPSHOT), "--connect-timeout", "2")
    code, out, _ = await adcbridge(*run, env=bridge_env(mock.url))
    assert (code, out.rstrip().endswith("\nconverged")) == (0, True), out
    async with httpx.AsyncClient(base_url=mock.url) as http:
        changes = (await http.get("/_mock/changes")).json()["data"]["changes"]
    assert changes[-1]["kind"] == "system/config"  # saved, at the very end
    assert changes[-1]["time"] - changes[0]["time"] > 2  # writing alone outlasted the connect timeout
    assert (await state_of(mock.url))["counts"]["dns/domain"] == 7


async def test_check_reports_reachability_and_login(mock: RunningMock) -> None:
    code, out, _ = await adcbridge("check", env=bridge_env(mock.url))
    assert code == 0
    assert "login accepted" in out
    code, out, _ = await adcbridge("check", env=bridge_env(mock.url, ADCBRIDGE_ADC__PASSWORD="wrong-one"))
    assert code == 1
    assert "wrong username or password" in out
    code, out, _ = await adcbridge("check", env=bridge_env("http://127.0.0.1:9", ADCBRIDGE_ADC__OPERATION_DEADLINE="1"))
    assert code == 1
    assert "FAIL" in out


async def test_check_looks_at_the_cluster_when_one_is_configured(mock: RunningMock, tmp_path: Path) -> None:
    code, out, _ = await adcbridge("check", env=bridge_env(mock.url))
    assert (code, "skip  Kubernetes: invalid setting kube.kubeconfig" in out) == (0, True)
    async with seeded_kube(tmp_path) as kube:
        env = bridge_env(mock.url, ADCBRIDGE_KUBE__KUBECONFIG=str(tmp_path / "kubeconfig"))
        code, out, _ = await adcbridge("check", env=env)
        assert code == 0, out
        assert "ok    Kubernetes API reachable" in out
        assert "ok    KIC Service njet-ingress/njet-ingress-controller (nodePorts [30080])" in out
        assert "warn  VirtualServer CRD not installed" in out
        kube.delete("v1", "Service", "njet-ingress-controller", namespace="njet-ingress")
        code, out, _ = await adcbridge("check", env=env)
        assert (code, "FAIL  KIC Service njet-ingress/njet-ingress-controller not found" in out) == (1, True)
    code, out, _ = await adcbridge("check", env=env)  # the API server is gone
    assert (code, "FAIL  Kubernetes:" in out) == (1, True)


async def test_plan_and_run_once_read_the_live_cluster_without_snapshot(mock: RunningMock, tmp_path: Path) -> None:
    async with seeded_kube(tmp_path) as kube:
        kube.create(manifests.ingress("shop", "shop", "shop.example.com"))
        env = bridge_env(mock.url, ADCBRIDGE_KUBE__KUBECONFIG=str(tmp_path / "kubeconfig"))
        code, out, _ = await adcbridge("plan", env=env)
        assert code == 0, out
        assert re.search(r"^create\s+domain\s+shop\.example\.com", out, re.MULTILINE)
        code, out, _ = await adcbridge("run", "--once", env=env)
        assert (code, out.rstrip().endswith("converged")) == (0, True), out
        assert (await state_of(mock.url))["counts"]["dns/domain"] == 1


async def test_credentials_from_a_secrets_directory(mock: RunningMock, tmp_path: Path) -> None:
    (tmp_path / "adc-username").write_text(USERNAME + "\n")
    (tmp_path / "adc-password").write_text(PASSWORD + "\n")
    env = bridge_env(mock.url, ADCBRIDGE_SECRETS_DIR=str(tmp_path))
    del env["ADCBRIDGE_ADC__PASSWORD"]
    code, out, _ = await adcbridge("check", env=env)
    assert code == 0, out


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ADCBRIDGE_OWNER_ID", "Not Valid!", "owner_id (ADCBRIDGE_OWNER_ID)"),
        ("ADCBRIDGE_VIP__ADDRESSES", '["224.0.0.1"]', "vip.addresses (ADCBRIDGE_VIP__ADDRESSES)"),
        ("ADCBRIDGE_VIP__ADDRESSES", "not-json", "ADCBRIDGE_VIP__ADDRESSES"),
        ("ADCBRIDGE_ADC__URL", "ftp://adc", "adc.url (ADCBRIDGE_ADC__URL)"),
        ("ADCBRIDGE_ADC__CONCURRENCY", "0", "adc.concurrency (ADCBRIDGE_ADC__CONCURRENCY)"),
        ("ADCBRIDGE_SERVER__LISTEN", "0.0.0.0:8080", "server.listen (ADCBRIDGE_SERVER__LISTEN)"),
        ("ADCBRIDGE_POLICY", "delete-all", "policy (ADCBRIDGE_POLICY)"),
        ("ADCBRIDGE_NODES__LABEL_SELECTOR", "a in (b)", "nodes.label_selector"),
        ("ADCBRIDGE_ADC__VERIFY_TLS", "maybe", "adc.verify_tls (ADCBRIDGE_ADC__VERIFY_TLS)"),
    ],
)
async def test_invalid_settings_exit_2_naming_the_field(variable: str, value: str, named: str) -> None:
    code, out, err = await adcbridge("check", env=bridge_env("http://127.0.0.1:9") | {variable: value})
    assert code == 2
    assert named in err
    assert out == ""


async def test_the_former_name_of_the_batch_window_warns_once_at_start_and_both_names_exit_2(
    mock: RunningMock,
) -> None:
    old, new = "ADCBRIDGE_RECONCILE__DEBOUNCE_SECONDS", "ADCBRIDGE_RECONCILE__BATCH_WINDOW_SECONDS"
    code, out, err = await adcbridge("check", env=bridge_env(mock.url, **{old: "0.4"}))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if old in line]
    assert len(warnings) == 1, err
    assert "reconcile.batch_window_seconds" in warnings[0]
    assert new in warnings[0]
    code, out, err = await adcbridge("check", env=bridge_env(mock.url, **{old: "0.4", new: "0.4"}))
    assert (code, out) == (2, "")
    assert f"invalid setting reconcile.debounce_seconds ({old})" in err


async def test_version() -> None:
    code, out, _ = await adcbridge("--version", env=bridge_env("http://127.0.0.1:9"))
    assert (code, out.startswith("adcbridge 0.1.0")) == (0, True)


async def test_missing_settings_and_files_exit_2() -> None:
    env = bridge_env("http://127.0.0.1:9")
    del env["ADCBRIDGE_OWNER_ID"]
    code, _, err = await adcbridge("check", env=env)
    assert (code, "owner_id (ADCBRIDGE_OWNER_ID): Field required" in err) == (2, True)
    code, _, err = await adcbridge("plan", env=bridge_env("http://127.0.0.1:9"))
    assert (code, "nothing says how to reach the Kubernetes API (or use --snapshot FILE)" in err) == (2, True)
    code, _, err = await adcbridge("plan", "--snapshot", "/nonexistent.yaml", env=bridge_env("http://127.0.0.1:9"))
    assert (code, "/nonexistent.yaml" in err) == (2, True)


async def test_the_example_config_file_loads_and_the_environment_wins(mock: RunningMock) -> None:
    env = bridge_env(mock.url)
    code, out, err = await adcbridge("check", "--config", str(EXAMPLE_CONFIG), env=env)
    assert code == 0, err
    assert "owner cli-test" in out  # environment over file
    del env["ADCBRIDGE_OWNER_ID"]
    code, out, _ = await adcbridge("check", "--config", str(EXAMPLE_CONFIG), env=env)
    assert "owner demo.njet" in out  # the file's value


async def test_the_service_serves_health_and_stops_on_sigterm(mock: RunningMock) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adcbridge", "run", "--snapshot", str(DEMO_SNAPSHOT),
        env=bridge_env(mock.url, ADCBRIDGE_LOG__FORMAT="json"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    seen: list[str] = []
    try:
        port = 0
        while not port:
            line = (await asyncio.wait_for(process.stderr.readline(), START_TIMEOUT)).decode()
            assert line, "".join(seen)
            seen.append(line)
            match = re.search(r"on port (\d+)", line)
            port = int(match.group(1)) if match else 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200
            for _ in range(100):
                if (await http.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/readyz")).text == "ready\n"
            metrics = (await http.get("/metrics")).text
            assert 'adcbridge_managed_objects{kind="domain"} 7.0' in metrics
            assert (await http.get("/settings")).status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(process.stderr.read(), START_TIMEOUT)).decode()
        await process.wait()
    output = "".join(seen) + rest
    assert process.returncode == 0, output
    assert '"message": "stopped by signal"' in output
    assert "objects of the first complete view set aside from garbage collection" in output
    assert "objects of the first complete sync set aside from garbage collection" in output
    assert PASSWORD not in output
