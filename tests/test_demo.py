"""``make demo`` as a user runs it (with free ports and ``--once``): three processes, one table."""

from __future__ import annotations

import asyncio
import sys

from tests.conftest import PASSWORD


async def test_the_demo_publishes_the_demo_cluster_and_stops_cleanly() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mocks.demo", "--once", "--any-ports",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out_bytes, err_bytes = await asyncio.wait_for(process.communicate(), 90)
    out, err = out_bytes.decode(), err_bytes.decode()
    assert process.returncode == 0, err
    for host in ("api", "legacy", "pay", "secure", "shop", "static", "vs"):
        assert f"{host}.example.com    A     192.0.2.10  192.0.2.10".split() == _row(out, f"{host}.example.com")
    assert _row(out, "intranet.example.com") == ["intranet.example.com", "NXDOMAIN"]
    assert _row(out, "old_site.example.com") == ["old_site.example.com", "NXDOMAIN"]
    assert "10.0.0.11:30080 10.0.0.12:30080 10.0.0.13:30080" in out
    assert "Ingress web/legacy  HostRejected  host 'old_site.example.com' not published" in out
    assert PASSWORD not in out + err


def _row(out: str, first: str) -> list[str]:
    return next((line.split() for line in out.splitlines() if line.split()[:1] == [first]), [])
