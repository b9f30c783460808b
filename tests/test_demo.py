"""``make demo`` as a user runs it (with free ports and ``--once``): three processes, one table.

``make demo ADC=bigip`` too: the BIG-IP emulator instead of the mock ADC, the bridge's partition and
the BIG-IP DNS datacenter and GTM server made first over the REST API, the bridge verifying the
emulator's certificate and publishing the names as wide IPs that the emulator's DNS listener answers.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from mocks.acos.show import member_text as acos_member_text
from mocks.bigip.show import member_text
from mocks.demo import PASSWORD as DEMO_PASSWORD
from tests.conftest import PASSWORD
from tests.kubectl import run_kubectl
from tests.live import until


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


async def test_the_acos_demo_fills_the_partition_over_verified_tls_and_sends_the_names_to_bind() -> None:
    out, err = await demo("--adc", "acos")
    assert 'POST /axapi/v3/partition {"partition": {"partition-name": "k8s", "id": 7}}  -> OK' in out
    assert "POST /axapi/v3/write/memory  -> OK" in out
    assert "POST /axapi/v3/logoff  -> OK" in out  # the administrator's session is not left open
    for letter, address in (("a", "10.0.0.11"), ("b", "10.0.0.12"), ("c", "10.0.0.13")):
        server = f"k8s-demo.njet-node-{letter}"
        assert _row(out, "k8s", server) == ["k8s", server, address, "enable", "30080/tcp", "30443/tcp", "yes"]
    members = "10.0.0.11:{0} 10.0.0.12:{0} 10.0.0.13:{0}"
    for port, node_port in ((80, 30080), (443, 30443)):
        group = f"k8s-demo.njet-{port}-tcp"
        assert _row(out, "k8s", group) == [
            "k8s",
            group,
            "tcp",
            "round-robin",
            "-",
            *members.format(node_port).split(),
            "yes",
        ]
    virtual = "k8s-demo.njet-192.0.2.10"
    ports = [row[3:] for row in _rows(out, "k8s", virtual)]
    assert ports == [
        ["80/tcp", "k8s-demo.njet-80-tcp", "automap", "yes"],
        ["443/tcp", "k8s-demo.njet-443-tcp", "automap", "yes"],
    ]
    for host in ("api", "legacy", "pay", "secure", "shop", "static", "vs"):  # in BIND's zone, and what BIND answers
        assert _rows(out, f"{host}.example.com") == [
            [f"{host}.example.com", "A", "192.0.2.10", "192.0.2.10"],
            [f"{host}.example.com", "TXT", '"managed-by=adcbridge;owner=demo.njet"', "-"],
        ]
    assert _rows(out, "example.com") == []  # the zone's own SOA and NS are not listed
    assert _row(out, "intranet.example.com") == ["intranet.example.com", "NXDOMAIN"]
    assert _row(out, "old_site.example.com") == ["old_site.example.com", "NXDOMAIN"]
    assert "Ingress web/legacy  HostRejected  host 'old_site.example.com' not published" in out
    assert DEMO_PASSWORD not in out + err


async def test_the_acos_demo_prints_a_new_name_that_changed_only_the_zone_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "demo.out"
    with log.open("w") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mocks.demo", "--any-ports", "--adc", "acos", stdout=out, stderr=subprocess.STDOUT
        )
    try:
        await until(lambda: _printed(log, "Stop everything with Ctrl-C."), seconds=90, what="the demo's guide")
        text = _text(log)
        kubeconfig = Path(_found(r"export KUBECONFIG=(\S+)", text))
        blog = _found(r"kubectl apply -f (\S+)", text)
        code, said = await run_kubectl(kubeconfig, "apply", "-f", blog, home=tmp_path)
        assert code == 0, said
        await until(lambda: _printed(log, "blog.example.com    A"), seconds=30, what="the new name printed")
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    text = _text(log)
    assert process.returncode == 0, text[-3000:]
    assert text.rstrip().endswith("stopping ..."), text[-3000:]
    printed = re.findall(r"== the ACOS unit and BIND at \S+ \(change #(\d+)\) ==", text)
    assert len(printed) >= 2, text[-3000:]
    assert printed[-1] == printed[-2]  # printed again with no write on the unit: the zone alone moved
    assert _rows(text.split("== the ACOS unit and BIND")[-1], "blog.example.com")[0][:4] == [
        "blog.example.com", "A", "192.0.2.10", "192.0.2.10"
    ]  # fmt: skip


def test_make_demo_adc_bigip_passes_the_appliance_and_the_plain_demo_runs_as_before() -> None:
    assert _make_demo() == ".venv/bin/python -m mocks.demo"
    assert _make_demo("ADC=bigip") == ".venv/bin/python -m mocks.demo --adc bigip"


def test_make_demo_adc_acos_installs_bind_first_and_the_other_demos_do_not() -> None:
    assert _make_demo("ADC=acos") == ".venv/bin/python -m mocks.demo --adc acos"
    assert "install the 'bind9' package" in _make_demo_lines("ADC=acos")
    for variables in ((), ("ADC=bigip",)):
        assert "bind9" not in _make_demo_lines(*variables)


def test_members_are_printed_as_address_and_port_with_drained_ones_starred() -> None:
    assert member_text({"name": "k8s-n1:30080", "address": "10.0.0.1", "session": "user-enabled"}) == "10.0.0.1:30080"
    drained = {"name": "2001:db8::1.443", "address": "2001:db8::1", "session": "user-disabled"}
    assert member_text(drained) == "[2001:db8::1]:443*"
    named_v6 = {"name": "k8s-n2:443", "address": "2001:db8::2", "session": "monitor-enabled"}
    assert member_text(named_v6) == "[2001:db8::2]:443"


def test_acos_members_are_printed_as_their_servers_address_and_port_with_drained_ones_starred() -> None:
    assert acos_member_text({"name": "k8s-n1", "port": 30080, "member-state": "enable"}, "10.0.0.1") == "10.0.0.1:30080"
    drained = {"name": "k8s-n2", "port": 443, "member-state": "disable"}
    assert acos_member_text(drained, "2001:db8::2") == "[2001:db8::2]:443*"


def _make_demo(*variables: str) -> str:
    """The command ``make demo`` runs (``make -n``: printed, not run)."""
    return _make_demo_lines(*variables).strip().splitlines()[-1]


def _make_demo_lines(*variables: str) -> str:
    """Every recipe line ``make demo`` would run, prerequisites' included (``make -n``)."""
    make = shutil.which("make")
    assert make, "make is needed"
    root = Path(__file__).resolve().parent.parent
    # Under `make test` the parent make's MAKELEVEL/MAKEFLAGS would make this one print its directory.
    env = {key: value for key, value in os.environ.items() if key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    command = [make, "--no-print-directory", "-n", "demo", *variables]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True, env=env)
    return done.stdout


async def _printed(log: Path, words: str) -> bool:
    return words in _text(log)


def _text(log: Path) -> str:
    return log.read_text()


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not printed:\n{text[-3000:]}"
    return match.group(1)


def _row(out: str, *first: str) -> list[str]:
    return next(iter(_rows(out, *first)), [])


def _rows(out: str, *first: str) -> list[list[str]]:
    """The printed rows whose first cells are ``first``, split into cells."""
    return [line.split() for line in out.splitlines() if line.split()[: len(first)] == list(first)]
