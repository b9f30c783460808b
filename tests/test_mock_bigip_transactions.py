"""iControl REST transactions on the emulated BIG-IP: queued commands, all-or-nothing
commits in evalOrder, validate-only, expiry, and what the change log says about them."""

from __future__ import annotations

from typing import Any

from tests.bigip_fixtures import PARTITION, Unit

TRANSACTIONS = "/mgmt/tm/transaction"
POOLS = "/mgmt/tm/ltm/pool"
HEADER = "X-F5-REST-Coordination-Id"


async def begin(bigip: Unit) -> int:
    opened = await bigip.ok("POST", TRANSACTIONS, {})
    assert opened["kind"] == "tm:transactionstate"
    assert opened["state"] == "STARTED"
    assert opened["timeoutSeconds"] == 120
    assert opened["transId"] > 10**15
    trans_id: int = opened["transId"]
    return trans_id


async def queue(bigip: Unit, trans_id: int, method: str, path: str, body: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = await bigip.ok(method, path, body, headers={HEADER: str(trans_id)})
    assert answer["kind"] == "tm:transaction:commandsstate"
    return answer


async def pools(bigip: Unit) -> list[str]:
    return [item["fullPath"] for item in (await bigip.ok("GET", POOLS)).get("items", [])]


async def test_commands_queue_in_order_and_apply_on_commit(bigip: Unit) -> None:
    await bigip.partition()
    trans_id = await begin(bigip)
    first = await queue(bigip, trans_id, "POST", POOLS, {"name": "p1", "partition": PARTITION})
    second = await queue(
        bigip, trans_id, "POST", f"{POOLS}/~{PARTITION}~p1/members", {"name": "10.0.0.1:80", "partition": PARTITION}
    )
    third = await queue(bigip, trans_id, "PATCH", f"{POOLS}/~{PARTITION}~p1", {"description": "tx"})
    assert [first["evalOrder"], second["evalOrder"], third["evalOrder"]] == [1, 2, 3]
    assert (first["method"], first["uri"], first["body"]) == (
        "POST",
        "https://localhost/mgmt/tm/ltm/pool",
        first["body"],
    )
    assert await pools(bigip) == []  # nothing applied yet
    assert (await bigip.ok("GET", f"{TRANSACTIONS}/{trans_id}"))["state"] == "UPDATING"
    commands = await bigip.ok("GET", f"{TRANSACTIONS}/{trans_id}/commands")
    assert [item["method"] for item in commands["items"]] == ["POST", "POST", "PATCH"]
    committed = await bigip.ok("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"})
    assert committed["state"] == "COMPLETED"
    pool = await bigip.ok("GET", f"{POOLS}/~{PARTITION}~p1?expandSubcollections=true")
    assert pool["description"] == "tx"
    assert [item["name"] for item in pool["membersReference"]["items"]] == ["10.0.0.1:80"]
    changes = (await bigip.control("GET", "changes"))["changes"]
    assert [(item["method"], item["transaction"], item["rolled_back"]) for item in changes[-3:]] == [
        ("POST", trans_id, False),
        ("POST", trans_id, False),
        ("PATCH", trans_id, False),
    ]


async def test_one_failing_command_applies_nothing(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "taken"})
    before = await bigip.control("GET", "state")
    trans_id = await begin(bigip)
    await queue(bigip, trans_id, "POST", POOLS, {"name": "fresh"})
    await queue(bigip, trans_id, "POST", "/mgmt/tm/ltm/node", {"name": "n1", "address": "10.0.0.1"})
    await queue(bigip, trans_id, "POST", POOLS, {"name": "taken"})
    await queue(bigip, trans_id, "POST", POOLS, {"name": "never"})
    failed = await bigip.fails("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"}, status=400)
    assert failed == {
        "code": 400,
        "message": "transaction failed:01020066:3: The requested Pool (/Common/taken) already exists in partition "
        "Common.",
        "errorStack": [],
        "apiError": 2,
    }
    after = await bigip.control("GET", "state")
    assert after["objects"] == before["objects"]
    assert after["generation"] == before["generation"]
    state = await bigip.ok("GET", f"{TRANSACTIONS}/{trans_id}")
    assert state["state"] == "FAILED"
    assert state["failureReason"].startswith("01020066:3:")
    logged = [item for item in (await bigip.control("GET", "changes"))["changes"] if item["transaction"] == trans_id]
    assert [(item["name"], item["status"], item["rolled_back"]) for item in logged] == [
        ("fresh", 200, True),
        ("n1", 200, True),
        ("taken", 409, True),
    ]


async def test_validate_only_checks_without_applying(bigip: Unit) -> None:
    trans_id = await begin(bigip)
    await queue(bigip, trans_id, "POST", POOLS, {"name": "p1"})
    checked = await bigip.ok("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING", "validateOnly": True})
    assert checked["validateOnly"] is True
    assert await pools(bigip) == []
    await bigip.ok("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"})
    assert await pools(bigip) == ["/Common/p1"]


async def test_a_transaction_expires_silently_after_its_timeout(bigip: Unit) -> None:
    trans_id = await begin(bigip)
    await bigip.control("POST", "clock", {"advance": 121})
    await bigip.fails("GET", f"{TRANSACTIONS}/{trans_id}", status=404)
    await bigip.fails("POST", POOLS, {"name": "late"}, status=404, headers={HEADER: str(trans_id)})
    assert await pools(bigip) == []


async def test_the_coordination_header_is_refused_on_transaction_uris(bigip: Unit) -> None:
    trans_id = await begin(bigip)
    await queue(bigip, trans_id, "POST", POOLS, {"name": "p1"})
    refused = await bigip.fails(
        "PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"}, status=400, headers={HEADER: str(trans_id)}
    )
    assert "is not allowed to be added to transaction." in refused["message"]
    assert await pools(bigip) == []


async def test_reads_in_a_transaction_answer_at_once_and_shape_errors_answer_at_queue_time(bigip: Unit) -> None:
    trans_id = await begin(bigip)
    listed = await bigip.ok("GET", POOLS, headers={HEADER: str(trans_id)})
    assert listed["kind"] == "tm:ltm:pool:poolcollectionstate"
    await bigip.fails("POST", "/mgmt/tm/ltm/nosuch", {"name": "x"}, status=404, headers={HEADER: str(trans_id)})
    await bigip.fails("POST", POOLS, [1, 2], status=400, headers={HEADER: str(trans_id)})
    assert (await bigip.ok("GET", f"{TRANSACTIONS}/{trans_id}"))["state"] == "STARTED"


async def test_commands_can_be_reordered_or_dropped_and_a_transaction_deleted(bigip: Unit) -> None:
    trans_id = await begin(bigip)
    await queue(
        bigip, trans_id, "POST", "/mgmt/tm/ltm/virtual", {"name": "v1", "destination": "192.0.2.1:80", "pool": "p1"}
    )
    await queue(bigip, trans_id, "POST", POOLS, {"name": "p1"})
    await queue(bigip, trans_id, "POST", POOLS, {"name": "p2"})
    moved = await bigip.ok("PATCH", f"{TRANSACTIONS}/{trans_id}/commands/2", {"evalOrder": 1})
    assert moved["evalOrder"] == 1
    await bigip.ok("DELETE", f"{TRANSACTIONS}/{trans_id}/commands/3")
    await bigip.ok("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"})
    assert await pools(bigip) == ["/Common/p1"]
    other = await begin(bigip)
    await bigip.ok("DELETE", f"{TRANSACTIONS}/{other}")
    await bigip.fails("GET", f"{TRANSACTIONS}/{other}", status=404)


async def test_an_empty_transaction_does_not_commit(bigip: Unit) -> None:
    trans_id = await begin(bigip)
    answer = await bigip.fails("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"}, status=400)
    assert answer["apiError"] == 2


async def test_a_finished_transaction_takes_no_more_commands_or_commits(bigip: Unit) -> None:
    trans_id = await begin(bigip)
    await queue(bigip, trans_id, "POST", POOLS, {"name": "p1"})
    await bigip.ok("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"})
    again = await bigip.fails("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"}, status=400)
    assert again["message"] == f"transaction failed:transaction {trans_id} is COMPLETED"
    await bigip.fails("POST", POOLS, {"name": "p2"}, status=400, headers={HEADER: str(trans_id)})


async def test_a_failed_validation_leaves_the_transaction_open(bigip: Unit) -> None:
    await bigip.ok("POST", POOLS, {"name": "taken"})
    trans_id = await begin(bigip)
    await queue(bigip, trans_id, "POST", POOLS, {"name": "taken"})
    await bigip.fails("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING", "validateOnly": True}, status=400)
    assert (await bigip.ok("GET", f"{TRANSACTIONS}/{trans_id}"))["state"] == "UPDATING"
