"""An operator's first day with a BIG-IP, as the command line meets it.

The administrator prepares the unit with ``bigrest`` (F5's users' other Python client), exactly as
they would a real one: the bridge's partition, the BIG-IP DNS datacenter and the GTM server that
stands for the unit, and, in ``Common``, LTM and GTM objects of their own that have nothing to do
with the bridge. Then ``adcbridge run --once`` runs with environment variables only, twice (and a
third time, to show tokens do not pile up). The test reads the unit's native objects, its change
log, its token table and its DNS listener; never the bridge's own account of what it did:

- the first run converges the demo cluster and exits 0; the second writes nothing;
- every host the demo publishes answers on the unit's DNS listener with the VIP;
- the administrator's ``Common`` objects are unchanged to the byte (``generation`` included);
- no token of the bridge's user is left on the unit, and no run prints the password.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import pytest
from bigrest.bigip import BIGIP

from mocks.bigip import MockBigIP
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, PARTITION, Unit, bridge_env, certificate_file

VIP = "192.0.2.10"
DEMO = Path(__file__).parent.parent / "config" / "demo"
PUBLISHED = {  # the demo cluster's hosts; old_site.example.com is rejected, intranet.example.com is not ours
    "api.example.com", "legacy.example.com", "pay.example.com", "secure.example.com",
    "shop.example.com", "static.example.com", "vs.example.com",
}  # fmt: skip
ADMIN_COMMON = {  # kind in /_mock/state -> full paths the administrator made in Common
    "ltm/node": "/Common/admin-web",
    "ltm/pool": "/Common/admin-pool",
    "ltm/virtual": "/Common/admin-vs",
    "gtm/pool/a": "/Common/admin-gslb",
    "gtm/wideip/a": "/Common/portal.example.org",
}
RUNS = 3


def prepare(device: str) -> None:
    """What the administrator makes with bigrest before installing the bridge (Basic auth, TLS
    verified against ``REQUESTS_CA_BUNDLE``, which requests prefers to a session's own setting)."""
    big = BIGIP(device, BIGIP_USER, BIGIP_PASSWORD, session_verify=True)
    try:
        big.create("/mgmt/tm/auth/partition", {"name": PARTITION, "description": "for adcbridge"})
        big.create("/mgmt/tm/gtm/datacenter", {"name": "dc1", "partition": "Common"})
        big.create(
            "/mgmt/tm/gtm/server",
            {
                "name": "bigip1",
                "partition": "Common",
                "datacenter": "/Common/dc1",
                "addresses": [{"name": "10.1.0.1", "deviceName": "bigip1.example.net"}],
            },
        )
        big.create("/mgmt/tm/ltm/node", {"name": "admin-web", "partition": "Common", "address": "10.9.0.1"})
        big.create(
            "/mgmt/tm/ltm/pool",
            {"name": "admin-pool", "partition": "Common", "members": [{"name": "admin-web:80"}]},
        )
        big.create(
            "/mgmt/tm/ltm/virtual",
            {"name": "admin-vs", "partition": "Common", "destination": "/Common/192.0.2.99:80", "pool": "admin-pool"},
        )
        big.create("/mgmt/tm/gtm/pool/a", {"name": "admin-gslb", "partition": "Common", "ttl": 300})
        big.create(
            "/mgmt/tm/gtm/wideip/a",
            {"name": "portal.example.org", "partition": "Common", "pools": [{"name": "admin-gslb", "order": 0}]},
        )
        big.command("/mgmt/tm/sys/config", {"command": "save"})
    finally:
        big.session.close()


def administrators(state: dict[str, Any]) -> str:
    """The administrator's Common objects as canonical JSON, exactly as the unit holds them."""
    objects = state["objects"]
    picked = {kind: [item for item in objects[kind] if item["fullPath"] == path] for kind, path in ADMIN_COMMON.items()}
    assert all(len(found) == 1 for found in picked.values()), picked
    return json.dumps(picked, sort_keys=True)


async def answers(mock: MockBigIP, name: str) -> list[str]:
    assert mock.dns_address is not None
    host, port = mock.dns_address
    response = await dns.asyncquery.udp(dns.message.make_query(name, "A"), host, port=port, timeout=3)
    assert response.rcode() == dns.rcode.NOERROR, (name, dns.rcode.to_text(response.rcode()))
    return sorted(item.to_text() for rrset in response.answer for item in rrset)


async def run_once(env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adcbridge", "run", "--once", "--snapshot", str(DEMO),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    text = out.decode()
    assert BIGIP_PASSWORD not in text
    assert process.returncode == 0, text[-3000:]
    return text


async def writes_since(unit: Unit, seq: int) -> list[dict[str, Any]]:
    return (await unit.control("GET", f"changes?since={seq}"))["changes"]  # type: ignore[no-any-return]


async def test_run_once_converges_a_prepared_unit_then_writes_nothing_and_leaves_the_admin_alone(
    mock_bigip: MockBigIP, bigip: Unit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate_file(mock_bigip, tmp_path)))
    await asyncio.to_thread(prepare, mock_bigip.url.removeprefix("https://"))
    prepared = await bigip.control("GET", "state")
    assert prepared["unsaved_changes"] is False
    assert not [item for item in prepared["objects"]["ltm/virtual"] if item["partition"] == PARTITION]
    assert mock_bigip.dns_address is not None
    host, port = mock_bigip.dns_address
    env = bridge_env(  # as the operator's manifest sets it: environment variables only
        mock_bigip,
        ADCBRIDGE_ADC__URL=mock_bigip.url,
        ADCBRIDGE_ADC__VERIFY_TLS="false",
        ADCBRIDGE_ADC__GTM_SERVER="/Common/bigip1",
        ADCBRIDGE_DNS__VERIFY_SERVERS=f'["{host}:{port}"]',
        ADCBRIDGE_VIP__ADDRESSES=f'["{VIP}"]',
    )

    ending = "dns check (what resolves now): 7 names on 1 server: 7 ok\nconverged"
    first = await run_once(env)
    assert "applied 20 of 20 operation(s)" in first, first[-2000:]
    assert first.rstrip().endswith(ending), first[-2000:]
    seq = (await writes_since(bigip, 0))[-1]["seq"]
    for _ in range(RUNS - 1):
        again = await run_once(env)
        assert "applied" not in again, again[-2000:]
        assert again.rstrip().endswith(ending), again[-2000:]  # the check runs every time, on the unit's listener
    assert await writes_since(bigip, seq) == []  # not even a configuration save

    state = await bigip.control("GET", "state")
    ours = [item for item in state["objects"]["ltm/virtual"] if item["partition"] == PARTITION]
    assert sorted(item["destination"] for item in ours) == [f"/{PARTITION}/{VIP}:443", f"/{PARTITION}/{VIP}:80"]
    wide_ips = {item["name"] for item in state["objects"]["gtm/wideip/a"] if item["partition"] == PARTITION}
    assert wide_ips == PUBLISHED
    for name in sorted(wide_ips):
        assert await answers(mock_bigip, name) == [VIP], name
    assert administrators(state) == administrators(prepared)
    assert state["unsaved_changes"] is False  # the run that wrote saved the configuration
    tokens = await bigip.control("GET", "tokens")
    assert tokens["total"] == 0  # each run deleted its token at exit (the administrator used Basic auth)
