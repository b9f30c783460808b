"""``make demo`` as a user runs it (with free ports and ``--once``): three processes, one table.

``make demo ADC=bigip`` too: the BIG-IP emulator instead of the mock ADC, the bridge's partition
made first over the REST API, the bridge verifying the emulator's certificate.
"""

from __future__ import annotations

import asyncio
import sys

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


async def test_the_bigip_demo_sets_up_the_partition_and_fills_it_over_verified_tls() -> None:
    out, err = await demo("--adc", "bigip")
    prepared = 'POST /mgmt/tm/auth/partition {"name": "k8s", "description": "adcbridge: the bridge\'s own partition"}'
    assert prepared in out
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
    assert "Names: not published (dns.targets: [];" in out
    assert "Ingress web/legacy  HostRejected  host 'old_site.example.com' not published" in out
    assert DEMO_PASSWORD not in out + err


def _row(out: str, first: str) -> list[str]:
    return next((line.split() for line in out.splitlines() if line.split()[:1] == [first]), [])
