"""``make demo`` as a user runs it (with free ports and ``--once``): three processes, one table.

``make demo ADC=bigip`` too: the BIG-IP emulator instead of the mock ADC, the bridge's partition and
the BIG-IP DNS datacenter and GTM server made first over the REST API, the bridge verifying the
emulator's certificate and publishing the names as wide IPs that the emulator's DNS listener answers.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mocks.bigip.show import member_text
from mocks.demo import PASSWORD as DEMO_PASSWORD
from tests.conftest import PASSWORD


async def demo(*arguments: str) -> tuple[str, str]:
    """Run ``python -m mocks.demo --once --any-ports`` with ``arguments``; its stdout and stderr (it must exit 0)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mocks.demo", "--once", "--any-ports", *arguments,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out_bytes, err_bytes = await asyncio.wait_for(process.communicate(), 90)
    out, err = out_bytes.decode(), err_bytes.decode()
    assert process.returncode == 0, out + err
    return out, err


async def test_the_demo_publishes_the_demo_cluster_and_stops_cleanly() -> None:
    out, err = await demo()
    for host in ("api", "legacy", "pay", "secure", "shop", "static", "vs"):
        assert f"{host}.example.com    A     192.0.2.10  192.0.2.10".split() == _row(out, f"{host}.example.com")
    assert _row(out, "intranet.example.com") == ["intranet.example.com", "NXDOMAIN"]
    assert _row(out, "old_site.example.com") == ["old_site.example.com", "NXDOMAIN"]
    assert "10.0.0.11:30080 10.0.0.12:30080 10.0.0.13:30080" in out
    assert "Ingress web/legacy  HostRejected  host 'old_site.example.com' not published" in out
    assert PASSWORD not in out + err


async def test_the_bigip_demo_sets_up_the_partition_and_gtm_server_and_fills_them_over_verified_tls() -> None:
    out, err = await demo("--adc", "bigip")
    prepared = 'POST /mgmt/tm/auth/partition {"name": "k8s", "description": "adcbridge: the bridge\'s own partition"}'
    assert prepared in out
    assert 'POST /mgmt/tm/gtm/datacenter {"name": "dc1", "partition": "Common"}' in out
    server = '{"name": "bigip1", "partition": "Common", "datacenter": "/Common/dc1", "addresses": ["10.1.0.1"]}'
    assert f"POST /mgmt/tm/gtm/server {server}" in out
    for letter, address in (("a", "10.0.0.11"), ("b", "10.0.0.12"), ("c", "10.0.0.13")):
        assert _row(out, f"/k8s/k8s-demo.njet-node-{letter}") == [
            f"/k8s/k8s-demo.njet-node-{letter}",
            address,
            "user-enabled",
            "yes",
        ]
    members = "10.0.0.11:{0} 10.0.0.12:{0} 10.0.0.13:{0}"
    assert _row(out, "/k8s/k8s-demo.njet-80-tcp") == [
        "/k8s/k8s-demo.njet-80-tcp",
        "round-robin",
        "-",
        *members.format(30080).split(),
        "yes",
    ]
    assert _row(out, "/k8s/k8s-demo.njet-443-tcp") == [
        "/k8s/k8s-demo.njet-443-tcp",
        "round-robin",
        "-",
        *members.format(30443).split(),
        "yes",
    ]
    for port in (80, 443):
        assert _row(out, f"/k8s/k8s-demo.njet-192.0.2.10-{port}-tcp") == [
            f"/k8s/k8s-demo.njet-192.0.2.10-{port}-tcp",
            f"/k8s/192.0.2.10:{port}",
            "tcp",
            f"/k8s/k8s-demo.njet-{port}-tcp",
            "automap",
            "yes",
        ]
    for host in ("api", "legacy", "pay", "secure", "shop", "static", "vs"):  # wide IPs the DNS listener answers
        assert _row(out, f"{host}.example.com") == [
            f"{host}.example.com",
            "A",
            "/k8s/k8s-demo.njet-gtm-a-192.0.2.10",
            "192.0.2.10",
        ]
    assert _row(out, "intranet.example.com") == ["intranet.example.com", "NXDOMAIN"]
    assert _row(out, "old_site.example.com") == ["old_site.example.com", "NXDOMAIN"]
    assert "Ingress web/legacy  HostRejected  host 'old_site.example.com' not published" in out
    assert DEMO_PASSWORD not in out + err


def test_make_demo_adc_bigip_passes_the_appliance_and_the_plain_demo_runs_as_before() -> None:
    assert _make_demo() == ".venv/bin/python -m mocks.demo"
    assert _make_demo("ADC=bigip") == ".venv/bin/python -m mocks.demo --adc bigip"


def test_members_are_printed_as_address_and_port_with_drained_ones_starred() -> None:
    assert member_text({"name": "k8s-n1:30080", "address": "10.0.0.1", "session": "user-enabled"}) == "10.0.0.1:30080"
    drained = {"name": "2001:db8::1.443", "address": "2001:db8::1", "session": "user-disabled"}
    assert member_text(drained) == "[2001:db8::1]:443*"
    named_v6 = {"name": "k8s-n2:443", "address": "2001:db8::2", "session": "monitor-enabled"}
    assert member_text(named_v6) == "[2001:db8::2]:443"


def _make_demo(*variables: str) -> str:
    """The command ``make demo`` runs (``make -n``: printed, not run)."""
    make = shutil.which("make")
    assert make, "make is needed"
    root = Path(__file__).resolve().parent.parent
    # Under `make test` the parent make's MAKELEVEL/MAKEFLAGS would make this one print its directory.
    env = {key: value for key, value in os.environ.items() if key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    command = [make, "--no-print-directory", "-n", "demo", *variables]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True, env=env)
    return done.stdout.strip().splitlines()[-1]


def _row(out: str, first: str) -> list[str]:
    return next((line.split() for line in out.splitlines() if line.split()[:1] == [first]), [])
