"""The incremental cluster view equals a full rebuild, whatever the events that led to it.

The watch cache reads each object once, when its event arrives (``objects.ClusterView``), and the
reconciler merges only the host claims that changed into the desired state
(``desired.DesiredBuilder``). Both must give exactly what reading every object again gives
(``objects.snapshot_from``, ``desired.build_desired``): hypothesis plays sequences of ADDED,
MODIFIED and DELETED events over a small cluster where objects share hosts, masters and minions
meet across namespaces, the default class comes and goes and some objects are malformed, and
compares after every event.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from adcbridge.desired import DesiredBuilder, build_desired, changed_claims
from adcbridge.k8s.cache import Feed, WatchCache
from adcbridge.k8s.objects import snapshot_from
from adcbridge.model import HostClaim, ObjectRef
from mocks.kube import manifests as k
from tests.builders import settings

CONFIG = settings()
HOSTS = ("a.example.com", "b.example.com", "A.example.com.", "bad_host.example.com", "")
NAMES = ("one", "two", "three")
NAMESPACES = ("shop", "checkout")


def _ingress(name: str, ns: str, hosts: list[str], variant: str) -> dict[str, Any]:
    mergeable = {"master": "master", "minion": "minion", "invalid": "Master"}.get(variant)
    classes = {"other": "other", "classless": None}
    obj = k.ingress(
        name, ns, *hosts, mergeable=mergeable, class_name=classes.get(variant, k.CLASS), tls_hosts=tuple(hosts[:1])
    )
    if variant == "malformed":
        obj["spec"]["rules"] = [{"host": 12}]
    if variant == "malformed-other":  # malformed hosts in an Ingress of another class: no problem of ours
        obj["spec"]["ingressClassName"] = "other"
        obj["spec"]["rules"] = [{"host": 12}]
    return obj


INGRESSES = st.builds(
    _ingress,
    st.sampled_from(NAMES),
    st.sampled_from(NAMESPACES),
    st.lists(st.sampled_from(HOSTS), max_size=2),
    st.sampled_from(["regular", "master", "minion", "invalid", "other", "classless", "malformed", "malformed-other"]),
)
VIRTUAL_SERVERS = st.builds(
    lambda name, host, class_name: k.virtual_server(name, "shop", host, class_name=class_name),
    st.sampled_from(NAMES),
    st.sampled_from(HOSTS),
    st.sampled_from([k.CLASS, None, "other"]),
)
NODES = st.builds(
    lambda name, ready: k.node(name, "10.0.0.1", ready=ready), st.sampled_from(["n1", "n2"]), st.booleans()
)
CLASSES = st.builds(lambda default: k.ingress_class(default=default), st.booleans())
SLICES = st.builds(lambda nodes: k.endpoint_slice("kic-a", nodes), st.lists(st.sampled_from(["n1", "n2"]), max_size=2))
SERVICES = st.builds(lambda port: k.service(ports=(("http", 80, port),)), st.sampled_from([30080, 30081]))
OBJECTS = st.one_of(INGRESSES, VIRTUAL_SERVERS, NODES, CLASSES, SLICES, SERVICES)
EVENTS = st.lists(st.tuples(st.sampled_from(["put", "put", "delete"]), OBJECTS), max_size=25)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(clock: Clock | None = None) -> tuple[WatchCache, dict[str, list[Feed]]]:
    cache = WatchCache(clock=clock or Clock(), kic=CONFIG.kic)
    feeds: dict[str, list[Feed]] = {}
    for kind, api_version, scopes in (
        ("Service", "v1", [""]),
        ("EndpointSlice", "discovery.k8s.io/v1", [""]),
        ("Node", "v1", [""]),
        ("IngressClass", "networking.k8s.io/v1", [""]),
        ("Ingress", "networking.k8s.io/v1", list(NAMESPACES)),  # one feed per namespace, as with kube.namespaces
        ("VirtualServer", k.NJET, [""]),
    ):
        feeds[kind] = [cache.add_feed(f"{kind} {scope}", kind=kind, api_version=api_version) for scope in scopes]
    for feed in cache.feeds:
        cache.replace(feed, [])
    return cache, feeds


def _feed_of(feeds: dict[str, list[Feed]], obj: dict[str, Any]) -> Feed:
    candidates = feeds[obj["kind"]]
    if len(candidates) == 1:
        return candidates[0]
    return candidates[NAMESPACES.index(obj["metadata"]["namespace"])]


def _stored(cache: WatchCache) -> list[dict[str, Any]]:
    return [copy.deepcopy(obj) for feed in cache.feeds for obj in feed.objects.values()]


@hypothesis_settings(max_examples=300, deadline=None)
@given(EVENTS)
def test_the_view_after_any_events_equals_reading_every_object_again(events: list[tuple[str, dict[str, Any]]]) -> None:
    clock = Clock()
    cache, feeds = _cache(clock)
    builder, carried = DesiredBuilder(CONFIG), {}
    for action, obj in events:
        clock.now += 100  # an unfit node drains for drain_grace_seconds (300) from when it was first seen
        cache.apply(_feed_of(feeds, obj), "DELETED" if action == "delete" else "MODIFIED", copy.deepcopy(obj))
        view = cache.snapshot(CONFIG)
        assert view == snapshot_from(_stored(cache), CONFIG, taken_at=clock.now)
        desired = builder.build(view, unfit_since=carried)
        assert desired == build_desired(view, CONFIG, unfit_since=carried)
        carried = desired.unfit_since
    assert cache.full_reads == 0  # every snapshot was the view's own, kept up to date event by event


@hypothesis_settings(max_examples=100, deadline=None)
@given(st.lists(OBJECTS, max_size=12), st.lists(OBJECTS, max_size=12))
def test_a_fresh_list_equals_reading_every_object_again(
    first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    cache, feeds = _cache()
    for objects in (first, second):  # a relist replaces each feed's objects wholesale
        for kind, kind_feeds in feeds.items():
            for feed in kind_feeds:
                mine = [copy.deepcopy(obj) for obj in objects if obj["kind"] == kind and _feed_of(feeds, obj) is feed]
                cache.replace(feed, mine)
        assert cache.snapshot(CONFIG) == snapshot_from(_stored(cache), CONFIG, taken_at=1000.0)
    assert cache.full_reads == 0


def _hosts_and_orphans(cache: WatchCache) -> tuple[list[str], list[str]]:
    view = cache.snapshot(CONFIG)
    assert view == snapshot_from(_stored(cache), CONFIG, taken_at=1000.0)
    return [claim.host for claim in view.hosts], [f"{r.source.namespace}/{r.source.name}" for r in view.rejections]


def test_minions_follow_their_master_across_namespaces_as_it_comes_changes_and_goes() -> None:
    cache, feeds = _cache()
    shop, checkout = feeds["Ingress"]
    minion = k.ingress("pay", "checkout", "a.example.com", mergeable="minion")
    master = k.ingress("front", "shop", "a.example.com", mergeable="master")
    cache.apply(checkout, "ADDED", copy.deepcopy(minion))
    assert _hosts_and_orphans(cache) == ([], ["checkout/pay"])
    cache.apply(shop, "ADDED", copy.deepcopy(master))
    assert _hosts_and_orphans(cache) == (["a.example.com"], [])
    cache.apply(shop, "MODIFIED", k.ingress("front", "shop", "a.example.com"))  # no longer a master
    assert _hosts_and_orphans(cache) == (["a.example.com"], ["checkout/pay"])
    cache.apply(shop, "MODIFIED", copy.deepcopy(master))
    assert _hosts_and_orphans(cache) == (["a.example.com"], [])
    cache.apply(shop, "DELETED", copy.deepcopy(master))
    assert _hosts_and_orphans(cache) == ([], ["checkout/pay"])
    assert cache.full_reads == 0


def test_the_same_reference_in_two_feeds_falls_back_to_reading_every_object() -> None:
    cache, feeds = _cache()
    shop, checkout = feeds["Ingress"]
    cache.apply(shop, "ADDED", k.ingress("web", "shop", "a.example.com"))
    cache.apply(checkout, "ADDED", k.ingress("web", "shop", "b.example.com"))  # a namespace its feed does not watch
    view = cache.snapshot(CONFIG)
    assert view == snapshot_from(_stored(cache), CONFIG, taken_at=1000.0)
    assert view.problems == ("Ingress shop/web: appears more than once; the last one counts",)
    cache.apply(shop, "DELETED", k.ingress("web", "shop"))
    view = cache.snapshot(CONFIG)
    assert [claim.host for claim in view.hosts] == ["b.example.com"]
    assert view == snapshot_from(_stored(cache), CONFIG, taken_at=1000.0)


CLAIMS = st.lists(
    st.builds(
        HostClaim,
        st.sampled_from(HOSTS),
        st.builds(ObjectRef, st.just("Ingress"), st.just("shop"), st.sampled_from(NAMES)),
    ),
    max_size=80,
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(CLAIMS, CLAIMS, st.booleans())
def test_changed_claims_are_the_multiset_difference(old: list[HostClaim], new: list[HostClaim], ordered: bool) -> None:
    if ordered:
        old, new = (
            sorted(old, key=lambda c: (c.host, c.source.name)),
            sorted(new, key=lambda c: (c.host, c.source.name)),
        )
    removed, added = changed_claims(tuple(old), tuple(new))
    remaining = list(old)
    for claim in removed:
        remaining.remove(claim)
    assert sorted(remaining + added, key=repr) == sorted(new, key=repr)
