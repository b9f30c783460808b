"""Query options of the emulated BIG-IP's collections: the partition filter (both
spellings), inline subcollections, field selection and paging."""

from __future__ import annotations

from urllib.parse import quote

from tests.bigip_fixtures import PARTITION, Unit

POOLS = "/mgmt/tm/ltm/pool"


async def two_partitions(bigip: Unit) -> None:
    await bigip.partition()
    for index in range(5):
        await bigip.ok(
            "POST", POOLS, {"name": f"p{index}", "partition": PARTITION, "members": [f"10.0.0.{index + 1}:80"]}
        )
    await bigip.ok("POST", POOLS, {"name": "admins", "partition": "Common"})


async def test_partition_filter_in_either_spelling(bigip: Unit) -> None:
    await two_partitions(bigip)
    plus = await bigip.ok("GET", f"{POOLS}?$filter=partition+eq+{PARTITION}")
    spaced = await bigip.ok("GET", POOLS, params={"$filter": f"partition eq {PARTITION}"})
    assert [item["fullPath"] for item in plus["items"]] == [f"/{PARTITION}/p{index}" for index in range(5)]
    assert spaced["items"] == plus["items"]
    assert plus["selfLink"] == f"https://localhost/mgmt/tm/ltm/pool?$filter=partition+eq+{PARTITION}&ver=17.1.1"
    common = await bigip.ok("GET", f"{POOLS}?$filter=partition%20eq%20Common")
    assert [item["name"] for item in common["items"]] == ["admins"]


async def test_a_filter_on_a_missing_partition_or_another_field_is_refused(bigip: Unit) -> None:
    missing = await bigip.fails("GET", f"{POOLS}?$filter=partition+eq+nope", status=400)
    assert missing["message"] == "The requested folder (/nope) was not found."
    await bigip.fails("GET", POOLS, params={"$filter": "name eq p1"}, status=400)
    await bigip.fails("GET", POOLS, params={"$orderby": "name"}, status=400)


async def test_expand_subcollections_inlines_members(bigip: Unit) -> None:
    await two_partitions(bigip)
    query = f"$filter={quote(f'partition eq {PARTITION}')}&expandSubcollections=true"
    expanded = await bigip.ok("GET", f"{POOLS}?{query}")
    members = expanded["items"][0]["membersReference"]
    assert members["isSubcollection"] is True
    assert [item["fullPath"] for item in members["items"]] == [f"/{PARTITION}/10.0.0.1:80"]
    assert members["items"][0]["kind"] == "tm:ltm:pool:members:membersstate"
    plain = await bigip.ok("GET", f"{POOLS}?$filter=partition+eq+{PARTITION}")
    assert "items" not in plain["items"][0]["membersReference"]
    empty = await bigip.ok("GET", f"{POOLS}/admins?expandSubcollections=true")
    assert "items" not in empty["membersReference"]


async def test_select_keeps_only_the_named_fields(bigip: Unit) -> None:
    await two_partitions(bigip)
    chosen = await bigip.ok("GET", f"{POOLS}?$select=name,partition&$filter=partition+eq+Common")
    assert chosen["items"] == [{"name": "admins", "partition": "Common"}]
    one = await bigip.ok("GET", f"{POOLS}/~{PARTITION}~p1?$select=fullPath,generation")
    assert set(one) == {"fullPath", "generation"}


async def test_top_and_skip_page_through_a_collection(bigip: Unit) -> None:
    await two_partitions(bigip)
    seen: list[str] = []
    for skip in range(0, 20, 2):  # a client pages until a page has no items
        page = await bigip.ok("GET", f"{POOLS}?$top=2&$skip={skip}&$filter=partition+eq+{PARTITION}")
        if "items" not in page:
            break
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
    assert skip == 6
    assert seen == [f"p{index}" for index in range(5)]
    await bigip.fails("GET", f"{POOLS}?$top=-1", status=400)
