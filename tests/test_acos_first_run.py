"""A first run against an ACOS unit, as an operator would do it: ``adcbridge run --once`` as a process.

The unit is prepared with A10's own client (``acos-client`` 2.10.0), as an administrator's
scripts would: the bridge's partition, and the administrator's objects both in ``shared`` and,
without our marker, in the bridge's partition, all saved. The bridge is configured by environment
variables only (``ADCBRIDGE_ADC__DIALECT=acos``, the partition, the unit's URL, TLS verification
off for its self-signed certificate) and publishes the demo cluster's names to a real BIND by RFC
2136, since an ACOS unit publishes none. The first run converges the cluster and saves; the next
writes nothing, not even a save; nothing of the administrator's changed.

acos-client is synchronous (it runs in a worker thread) and does not silence urllib3's
InsecureRequestWarning: that one warning is ignored here and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import acos_client
import pytest

from mocks.acos import MockAcos
from tests.acos_fixtures import ACOS_PASSWORD, ACOS_USER, PARTITION, Axapi, bridge_env
from tests.bind_server import BindServer, ZoneSpec, start_bind
from tests.test_cli import DEMO_SNAPSHOT, adcbridge
from tests.test_rfc2136 import answer

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
__all__ = ["start_bind"]
VIP = "192.0.2.10"
PUBLISHED = {  # the demo cluster's hosts; old_site.example.com is rejected, intranet.example.com is not ours
    "api.example.com", "legacy.example.com", "pay.example.com", "secure.example.com",
    "shop.example.com", "static.example.com", "vs.example.com",
}  # fmt: skip


def prepare(host: str, port: int) -> None:
    """What an administrator makes with acos-client before the bridge first runs."""
    c = acos_client.Client(host, acos_client.AXAPI_30, ACOS_USER, ACOS_PASSWORD, port=port, protocol="https")
    c.system.partition.create(PARTITION)
    slb = c.slb
    slb.server.create("admin-web", "10.9.0.1")  # in shared
    slb.service_group.create("admin-pool", slb.service_group.TCP, slb.service_group.ROUND_ROBIN)
    slb.service_group.member.create("admin-pool", "admin-web", 80)
    slb.virtual_server.create("admin-vs", "192.0.2.99")
    slb.virtual_server.vport.create("admin-vs", "admin-vs_80", slb.virtual_server.vport.TCP, 80, "admin-pool")
    c.system.partition.active(PARTITION)  # in our partition, without our marker
    slb.server.create("legacy-app", "10.9.0.2")
    slb.service_group.create("legacy-pool", slb.service_group.TCP, slb.service_group.LEAST_CONNECTION)
    slb.service_group.member.create("legacy-pool", "legacy-app", 8080)
    slb.virtual_server.create("legacy-vs", "192.0.2.98")
    slb.virtual_server.vport.create("legacy-vs", "legacy-vs_443", slb.virtual_server.vport.TCP, 443, "legacy-pool")
    c.system.action.write_memory()
    c.session.close()


def administrators(state: dict[str, Any]) -> str:
    """Every object in ``shared``, and those of our partition that do not carry a marker."""
    objects = state["objects"]
    theirs = {
        path: [item for item in items if "managed-by=adcbridge" not in str(item.get("user-tag", ""))]
        for path, items in objects[PARTITION].items()
    }
    return json.dumps({"shared": objects["shared"], PARTITION: theirs}, sort_keys=True)


async def run_once(env: dict[str, str]) -> str:
    code, out, err = await adcbridge("run", "--once", "--snapshot", str(DEMO_SNAPSHOT), env=env)
    assert ACOS_PASSWORD not in out + err
    assert code == 0, (out + err)[-3000:]
    return out


async def test_run_once_converges_then_writes_nothing_and_leaves_the_administrators_objects_alone(
    mock_acos: MockAcos, acos: Axapi, start_bind: Any, tmp_path: Path
) -> None:
    host, port = mock_acos.url.removeprefix("https://").rsplit(":", 1)
    await asyncio.to_thread(prepare, host, int(port))
    prepared = await acos.control("GET", "state")
    assert prepared["unsaved_partitions"] == []
    server: BindServer
    async with start_bind([ZoneSpec("example.com")]) as server:
        (tmp_path / "rfc2136-tsig-secret").write_text(server.secret)  # from a mounted Secret
        env = bridge_env(  # as the operator's manifest sets it: environment variables only
            mock_acos,
            ADCBRIDGE_VIP__ADDRESSES=f'["{VIP}"]',
            ADCBRIDGE_DNS__TARGETS='["rfc2136"]',
            ADCBRIDGE_RFC2136__SERVER=f"{server.host}:{server.port}",
            ADCBRIDGE_RFC2136__ZONES='["example.com"]',
            ADCBRIDGE_RFC2136__TSIG_KEY_NAME=server.key_name,
            ADCBRIDGE_SECRETS_DIR=str(tmp_path),
            ADCBRIDGE_SERVER__LISTEN="127.0.0.1:0",
        )
        first = await run_once(env)
        assert "applied 13 of 13 operation(s)" in first, first[-2000:]
        assert f"{len(PUBLISHED)} names on 1 server: {len(PUBLISHED)} ok" in first, first[-2000:]
        assert first.rstrip().endswith("converged"), first[-2000:]
        written = await acos.control("GET", "changes?since=0")
        assert written["changes"][-1]["kind"] == "write/memory"
        again = await run_once(env)
        assert "applied" not in again, again[-2000:]
        assert again.rstrip().endswith("converged"), again[-2000:]
        assert (await acos.control("GET", f"changes?since={written['total']}"))["changes"] == []  # no save either
        for name in sorted(PUBLISHED):
            assert await answer(server, f"{name}.") == [VIP], name
    state = await acos.control("GET", "state")
    ours = [
        item for item in state["objects"][PARTITION]["slb/virtual-server"] if item["name"] == f"k8s-demo.njet-{VIP}"
    ]
    assert [sorted(port["port-number"] for port in item["port-list"]) for item in ours] == [[80, 443]]
    assert administrators(state) == administrators(prepared)
    assert state["unsaved_partitions"] == []  # the run that wrote saved its partition
    sessions = await acos.control("GET", "sessions")
    assert [item["signature"] for item in sessions["sessions"]] == [acos.signature]  # each run logged off
