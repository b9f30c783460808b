"""Paginated lists of the fake API server: order, pages, counts and writes between pages.

The store keeps each kind's keys sorted instead of sorting them for every page (a 50,000-object
list is 100 pages), so the order must survive every create and delete made after it was built.
The property test checks the store's ordered reads against a plain sort after any sequence of
writes; the HTTP tests check what a client sees: a list follows ``continue`` in (namespace, name)
order, counts what remains (only what matches, with a selector), and a page after a write lists
the cluster as it is then, from where the last page stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mocks.kube import FakeKube
from mocks.kube import manifests as k
from mocks.kube.store import ObjectKey, Store

KIND = ("", "configmaps")
NAMESPACES = ("a", "b", "c")
NAMES = ("x0", "x1", "x2", "x3", "x4")
CONFIGMAPS = "/api/v1/configmaps"


# The store's order after any writes ---------------------------------------------------------

KEYS = st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(NAMES))
WRITES = st.one_of(st.tuples(st.just("put"), KEYS), st.tuples(st.just("remove"), KEYS))
READS = st.tuples(st.just("read"), st.tuples(st.sampled_from((None, *NAMESPACES)), st.none() | KEYS))


def stored(namespace: str, name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}}


def expected(keys: set[ObjectKey], namespace: str | None, after: ObjectKey | None) -> list[ObjectKey]:
    return sorted(key for key in keys if namespace in (None, key[0]) and (after is None or key > after))


@settings(max_examples=150, deadline=None)
@given(operations=st.lists(st.one_of(WRITES, READS), max_size=30))
def test_ordered_reads_follow_every_create_and_delete(operations: list[tuple[str, Any]]) -> None:
    store, keys = Store(), set()
    for operation, argument in [*operations, ("read", (None, None))]:
        if operation == "put":
            store.put(KIND, stored(*argument))
            keys.add(argument)
        elif operation == "remove" and argument in keys:
            store.remove(KIND, *argument)
            keys.discard(argument)
        elif operation == "read":
            namespace, after = argument
            scanned = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in store.scan(KIND, namespace, after)]
            assert scanned == expected(keys, namespace, after)
            assert store.count(KIND, namespace, after) == len(scanned)
            assert store.items(KIND, namespace) == store.view(KIND, namespace)


# Lists over HTTP ----------------------------------------------------------------------------


@pytest.fixture
async def http(fake_kube: FakeKube) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake_kube.url, timeout=5) as session:
        yield session


def configmap(namespace: str, name: str, **labels: str) -> k.Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }


def seed(fake_kube: FakeKube, names: dict[str, list[str]]) -> None:
    """Namespaces and their ConfigMaps, created out of order so the store cannot keep them sorted by chance."""
    for namespace in reversed(names):
        fake_kube.create(k.namespace(namespace))
        for name in reversed(names[namespace]):
            fake_kube.create(configmap(namespace, name, tier="web" if name.endswith(("1", "3")) else "db"))


async def page(http: httpx.AsyncClient, path: str, token: str = "", **query: str) -> dict[str, Any]:
    response = await http.get(path, params={**query, **({"continue": token} if token else {})})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def pages(http: httpx.AsyncClient, path: str, **query: str) -> list[tuple[list[str], int | None]]:
    """Every page of a list: the ``namespace/name`` of its items and its remainingItemCount."""
    found, token = [], ""
    while True:
        body = await page(http, path, token, **query)
        found.append((names_of(body), body["metadata"].get("remainingItemCount")))
        token = body["metadata"].get("continue", "")
        if not token:
            return found


def names_of(body: dict[str, Any]) -> list[str]:
    return [f"{item['metadata']['namespace']}/{item['metadata']['name']}" for item in body["items"]]


async def test_a_list_pages_through_every_namespace_in_order(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    seed(fake_kube, {"a": ["x0", "x1", "x2"], "b": ["x0", "x1"], "c": ["x0", "x1", "x2"]})
    assert await pages(http, CONFIGMAPS, limit="3") == [
        (["a/x0", "a/x1", "a/x2"], 5),
        (["b/x0", "b/x1", "c/x0"], 2),
        (["c/x1", "c/x2"], None),
    ]
    assert await pages(http, CONFIGMAPS, limit="8") == [
        (["a/x0", "a/x1", "a/x2", "b/x0", "b/x1", "c/x0", "c/x1", "c/x2"], None)
    ]
    assert await pages(http, CONFIGMAPS) == [(["a/x0", "a/x1", "a/x2", "b/x0", "b/x1", "c/x0", "c/x1", "c/x2"], None)]


async def test_a_namespace_list_pages_through_that_namespace_only(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    seed(fake_kube, {"a": ["x0", "x1"], "b": ["x0", "x1", "x2", "x3", "x4"], "c": ["x0"]})
    assert await pages(http, "/api/v1/namespaces/b/configmaps", limit="2") == [
        (["b/x0", "b/x1"], 3),
        (["b/x2", "b/x3"], 1),
        (["b/x4"], None),
    ]
    assert await pages(http, "/api/v1/namespaces/c/configmaps", limit="1") == [(["c/x0"], None)]


async def test_a_selector_pages_and_counts_only_what_matches(http: httpx.AsyncClient, fake_kube: FakeKube) -> None:
    seed(fake_kube, {"a": ["x0", "x1", "x2", "x3"], "b": ["x0", "x1", "x3"], "c": ["x1", "x2"]})
    assert await pages(http, CONFIGMAPS, limit="2", labelSelector="tier=web") == [
        (["a/x1", "a/x3"], 3),
        (["b/x1", "b/x3"], 1),
        (["c/x1"], None),
    ]
    assert await pages(http, CONFIGMAPS, limit="4", fieldSelector="metadata.namespace=b") == [
        (["b/x0", "b/x1", "b/x3"], None)
    ]
    namespaced = await pages(http, "/api/v1/namespaces/a/configmaps", limit="1", labelSelector="tier=db")
    assert namespaced == [(["a/x0"], 1), (["a/x2"], None)]


async def test_a_page_after_writes_lists_the_cluster_as_it_is_from_where_the_last_stopped(
    http: httpx.AsyncClient, fake_kube: FakeKube
) -> None:
    seed(fake_kube, {"a": ["x1", "x3"], "b": ["x1", "x3"], "c": []})
    first = await page(http, CONFIGMAPS, limit="2")
    assert (names_of(first), first["metadata"]["remainingItemCount"]) == (["a/x1", "a/x3"], 2)
    fake_kube.create(configmap("a", "x2"))  # before where the first page stopped: not listed
    fake_kube.create(configmap("b", "x2"))  # after it: listed
    fake_kube.delete("v1", "ConfigMap", "x3", namespace="a")  # the key the continue token names
    fake_kube.delete("v1", "ConfigMap", "x1", namespace="b")
    second = await page(http, CONFIGMAPS, first["metadata"]["continue"], limit="1")
    assert (names_of(second), second["metadata"]["remainingItemCount"]) == (["b/x2"], 1)
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    fake_kube.create(configmap("c", "x0"))
    third = await page(http, CONFIGMAPS, second["metadata"]["continue"], limit="1")
    assert (names_of(third), third["metadata"]["remainingItemCount"]) == (["b/x3"], 1)
    last = await page(http, CONFIGMAPS, third["metadata"]["continue"], limit="5")
    assert (names_of(last), "continue" in last["metadata"]) == (["c/x0"], False)
