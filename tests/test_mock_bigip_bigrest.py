"""The emulated BIG-IP driven by ``bigrest``, the other widely used Python client, as it
drives a real unit: Basic auth or a token login, load/create/modify/save/delete/exist,
commands and transactions. Failures raise bigrest's ``RESTAPIError`` with the device's
body in its text.

bigrest is synchronous: each scenario runs in a worker thread. It verifies TLS against the
unit's certificate through ``REQUESTS_CA_BUNDLE`` (requests lets that variable override a
session's ``verify``). Its token mode sends ``None:None`` as Basic credentials next to the
token, which requests warns about; that warning is ignored in the one test that uses it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from bigrest.bigip import BIGIP
from bigrest.common.exceptions import RESTAPIError
from bigrest.utils.utils import rest_format

from mocks.bigip import MockBigIP
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, Unit, certificate_file


@pytest.fixture
def device(mock_bigip: MockBigIP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``host:port`` of the unit, with its certificate trusted by requests."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate_file(mock_bigip, tmp_path)))
    return mock_bigip.url.removeprefix("https://")


@contextmanager
def connected(device: str, **options: Any) -> Iterator[BIGIP]:
    client = BIGIP(device, BIGIP_USER, BIGIP_PASSWORD, session_verify=True, **options)
    try:
        yield client
    finally:
        client.session.close()


def path(collection: str, full_path: str) -> str:
    return f"/mgmt/tm/{collection}/{rest_format(full_path)}"


def lifecycle(device: str, request_token: bool) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with connected(device, request_token=request_token) as big:
        big.create("/mgmt/tm/sys/folder", {"name": "bigrest", "partition": "/"})
        pool = big.create("/mgmt/tm/ltm/pool", {"name": "/bigrest/bigrest_pool"})
        seen["pool"] = pool.properties["fullPath"]
        big.create(path("ltm/pool", "/bigrest/bigrest_pool") + "/members", {"name": "/bigrest/172.17.0.1:80"})
        seen["node"] = big.load(path("ltm/node", "/bigrest/172.17.0.1")).properties["address"]
        virtual = big.create("/mgmt/tm/ltm/virtual", {"name": "/bigrest/bigrest_vs", "destination": "10.17.0.1%0:80"})
        seen["destination"] = virtual.properties["destination"]
        modified = big.modify(path("ltm/virtual", "/bigrest/bigrest_vs"), {"description": "modified"})
        modified.properties["description"] = "saved"
        seen["saved"] = big.save(modified).properties["description"]
        seen["exist"] = (
            big.exist(path("ltm/pool", "/bigrest/bigrest_pool")),
            big.exist(path("ltm/pool", "/bigrest/nope")),
        )
        seen["list"] = [item.properties["name"] for item in big.load("/mgmt/tm/ltm/pool/")]
        seen["empty"] = big.load("/mgmt/tm/ltm/snatpool").properties["kind"]
        seen["save"] = big.command("/mgmt/tm/sys/config", {"command": "save"})
        big.delete(path("ltm/virtual", "/bigrest/bigrest_vs"))
        big.delete(path("ltm/pool", "/bigrest/bigrest_pool"))
        big.delete(path("ltm/node", "/bigrest/172.17.0.1"))
        big.delete("/mgmt/tm/sys/folder/~bigrest")
        seen["gone"] = big.exist("/mgmt/tm/sys/folder/~bigrest")
    return seen


@pytest.mark.parametrize("request_token", [False, True], ids=["basic", "token"])
async def test_objects_through_bigrest(device: str, bigip: Unit, request_token: bool) -> None:
    seen = await asyncio.to_thread(lifecycle, device, request_token)
    assert seen == {
        "pool": "/bigrest/bigrest_pool",
        "node": "172.17.0.1",
        "destination": "/bigrest/10.17.0.1:80",
        "saved": "saved",
        "exist": (True, False),
        "list": ["bigrest_pool"],
        "empty": "tm:ltm:snatpool:snatpoolcollectionstate",
        "save": "",
        "gone": False,
    }
    state = await bigip.control("GET", "state")
    assert [item["name"] for item in state["objects"]["auth/partition"]] == ["Common"]
    assert state["unsaved_changes"] is True  # deleted after the save


def errors(device: str) -> list[str]:
    texts = []
    with connected(device) as big:
        big.create("/mgmt/tm/ltm/pool", {"name": "p1"})
        for attempt in (
            lambda: big.create("/mgmt/tm/ltm/pool", {"name": "p1"}),
            lambda: big.load("/mgmt/tm/ltm/pool/~Common~missing"),
            lambda: big.modify("/mgmt/tm/ltm/pool/~Common~p1", {"colour": "blue"}),
        ):
            try:
                attempt()
            except RESTAPIError as error:
                texts.append(str(error))
    return texts


async def test_device_errors_reach_bigrest_with_the_device_body(device: str) -> None:
    first, second, third = await asyncio.to_thread(errors, device)
    assert "409" in first
    assert "01020066:3: The requested Pool (/Common/p1) already exists in partition Common." in first
    assert "01020036:3: The requested Pool (/Common/missing) was not found." in second
    assert "Found unexpected json pair at configuration item /ltm/pool." in third


def transactions(device: str) -> tuple[list[str], str]:
    with connected(device) as big:
        with big as transaction:
            assert transaction.properties["state"] == "STARTED"
            big.create("/mgmt/tm/ltm/pool", {"name": "tx1"})
            big.create("/mgmt/tm/ltm/pool", {"name": "tx2"})
        big.transaction_create()
        big.create("/mgmt/tm/ltm/pool", {"name": "tx1"})
        refused = ""
        try:
            big.transaction_validate()
        except RESTAPIError as error:
            refused = str(error)
        big.session.headers.pop(
            "X-F5-REST-Coordination-Id", None
        )  # bigrest puts it back only after a validation that passed
        return [item.properties["name"] for item in big.load("/mgmt/tm/ltm/pool")], refused


async def test_transactions_through_bigrest(device: str) -> None:
    pools, refused = await asyncio.to_thread(transactions, device)
    assert pools == ["tx1", "tx2"]
    assert "transaction failed:01020066:3: The requested Pool (/Common/tx1) already exists" in refused


def token_reuse(device: str) -> tuple[int, int]:
    """A token from one client, used by another that knows nothing else (bigrest ``token=``)."""
    with connected(device, request_token=True) as first:
        token = first._token
        reader = BIGIP(device, token=token, session_verify=True)
        try:
            partitions = reader.load("/mgmt/tm/auth/partition")
            count = len(partitions) if isinstance(partitions, list) else 1
        finally:
            reader.session.close()
        first.session.headers.pop("X-F5-Auth-Token")
        first.session.auth = None
        status = first.session.delete(
            f"https://{device}/mgmt/shared/authz/tokens/{token}", headers={"X-F5-Auth-Token": token}
        ).status_code
    return count, status


@pytest.mark.filterwarnings("ignore:Non-string usernames will no longer be supported:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Non-string passwords will no longer be supported:DeprecationWarning")
async def test_a_token_from_one_client_serves_another_and_can_be_deleted(device: str, bigip: Unit) -> None:
    count, status = await asyncio.to_thread(token_reuse, device)
    assert (count, status) == (1, 200)
    assert (await bigip.control("GET", "tokens"))["total"] == 0
