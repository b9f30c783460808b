"""The bigip dialect's bridge in-process against the emulated unit, for the BIG-IP-only tests.

Settings for the unit of ``mock_bigip`` (partition ``k8s``, its certificate trusted), a reconciler
opened through ``open_adc`` as production opens it, and a small reader of the unit's native LTM
state (``/_mock/state``, never the dialect's mapping). The engine's own guarantees are proven for
every dialect by ``test_bridge_against_mock.py`` (through ``tests/appliances.py``); these helpers
serve the tests of what only a BIG-IP has (partitions, transactions, HA, BIG-IP DNS, its answers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adcbridge.config import Settings
from mocks.bigip import MockBigIP
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, PARTITION, Unit, certificate_file
from tests.builders import settings
from tests.test_bridge_against_mock import cluster, running_with

MARKER = "managed-by=adcbridge;owner=c1"
ADMIN_SEED = [  # what an administrator keeps in Common, made before the bridge ever runs
    {"method": "POST", "path": "/mgmt/tm/ltm/node", "body": {"name": "admin-web", "address": "10.9.0.1"}},
    {"method": "POST", "path": "/mgmt/tm/ltm/pool", "body": {"name": "admin-pool", "members": ["admin-web:80"]}},
    {
        "method": "POST",
        "path": "/mgmt/tm/ltm/virtual",
        "body": {"name": "admin-vs", "destination": "192.0.2.99:80", "pool": "admin-pool"},
    },
]


def bigip_settings(mock: MockBigIP, tmp_path: Path, **overrides: Any) -> Settings:
    adc = {
        "dialect": "bigip",
        "url": mock.url,
        "username": BIGIP_USER,
        "password": BIGIP_PASSWORD,
        "partition": PARTITION,
        "ca_file": str(certificate_file(mock, tmp_path)),
        "operation_deadline": 5.0,
    }
    return settings(adc={**adc, **overrides.pop("adc", {})}, dns={"targets": [], "verify": False}, **overrides)


def running(config: Settings, view: Any = None) -> Any:
    """The engine's in-process bridge (``test_bridge_against_mock.running_with``) on ``config``."""
    return running_with(config, cluster() if view is None else view)


async def native(unit: Unit, partition: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The unit's LTM objects of one partition by name, as it keeps them (members inline in pools)."""
    objects = (await unit.control("GET", "state"))["objects"]
    return {
        kind: {item["name"]: item for item in objects[kind] if item["partition"] == partition}
        for kind in ("ltm/node", "ltm/pool", "ltm/virtual")
    }


def members(pool: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["fullPath"]: item for item in pool.get("membersReference", {}).get("items", [])}


async def writes_since(unit: Unit, seq: int) -> list[dict[str, Any]]:
    changes = (await unit.control("GET", f"changes?since={seq}"))["changes"]
    return [change for change in changes if change["kind"] != "sys/config"]


async def last_seq(unit: Unit) -> int:
    changes = (await unit.control("GET", "changes"))["changes"]
    return int(changes[-1]["seq"]) if changes else 0
