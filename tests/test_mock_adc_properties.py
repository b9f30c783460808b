"""Property: whatever sequence of writes a client sends, the mock ADC stays consistent.

Random operations (valid and invalid) go over HTTP; after each one, a failed write must
have changed nothing and the whole state must satisfy referential integrity and the
uniqueness rules. This is what lets later tests trust the emulator as a referee.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Appliance

NAMES = st.sampled_from(["a", "b", "c"])
IPS = st.sampled_from(["10.0.0.1", "10.0.0.2", "2001:db8::1", "bogus"])
PORTS = st.sampled_from([80, 443, 0])
DOMAINS = st.sampled_from(["www.example.com", "*.example.com", "WWW.Example.com.", "bad_name.example.com"])

OPERATIONS = st.one_of(
    st.tuples(st.just("POST"), st.just("slb/node"), st.fixed_dictionaries({"name": NAMES, "ip": IPS})),
    st.tuples(st.just("PUT"), NAMES.map(lambda n: f"slb/node/{n}"), st.fixed_dictionaries({"ip": IPS})),
    st.tuples(st.just("DELETE"), NAMES.map(lambda n: f"slb/node/{n}"), st.none()),
    st.tuples(st.just("POST"), st.just("slb/pool"), st.fixed_dictionaries({"name": NAMES})),
    st.tuples(st.just("DELETE"), NAMES.map(lambda n: f"slb/pool/{n}"), st.none()),
    st.tuples(
        st.just("POST"),
        NAMES.map(lambda n: f"slb/pool/{n}/rserver"),
        st.fixed_dictionaries({"node": NAMES, "port": PORTS}),
    ),
    st.tuples(
        st.just("DELETE"),
        st.tuples(NAMES, NAMES, PORTS).map(lambda t: f"slb/pool/{t[0]}/rserver/{t[1]}:{t[2]}"),
        st.none(),
    ),
    st.tuples(
        st.just("POST"),
        st.just("slb/vserver"),
        st.fixed_dictionaries(
            {"name": NAMES, "vip": st.sampled_from(["192.0.2.1:80", "192.0.2.1:443"]), "protocol": st.just("tcp")}
        ).flatmap(lambda body: NAMES.map(lambda pool: {**body, "pool": pool})),
    ),
    st.tuples(st.just("PUT"), NAMES.map(lambda n: f"slb/vserver/{n}"), st.fixed_dictionaries({"pool": NAMES})),
    st.tuples(st.just("DELETE"), NAMES.map(lambda n: f"slb/vserver/{n}"), st.none()),
    st.tuples(
        st.just("PUT"),
        NAMES.map(lambda n: f"slb/pool/{n}"),
        st.fixed_dictionaries({"healthcheck": st.lists(st.sampled_from(["tcp", "http", "nope"]), max_size=2)}),
    ),
    st.tuples(
        st.just("PUT"),
        st.tuples(NAMES, NAMES, PORTS).map(lambda t: f"slb/pool/{t[0]}/rserver/{t[1]}:{t[2]}"),
        st.fixed_dictionaries({"weight": st.sampled_from([1, 5, 0]), "enable": st.booleans()}),
    ),
    st.tuples(
        st.just("POST"),
        st.just("dns/domain"),
        st.fixed_dictionaries(
            {
                "name": DOMAINS,
                "type": st.sampled_from(["A", "AAAA", "A+AAAA"]),
                "addresses": st.lists(IPS, min_size=1, max_size=2),
            }
        ),
    ),
    st.tuples(
        st.just("PUT"), DOMAINS.map(lambda n: f"dns/domain/{n}"), st.fixed_dictionaries({"enable": st.booleans()})
    ),
    st.tuples(st.just("DELETE"), DOMAINS.map(lambda n: f"dns/domain/{n}"), st.none()),
)


def check_integrity(state: dict[str, Any]) -> None:
    objects = state["objects"]
    nodes = {node["name"] for node in objects["slb/node"]}
    pools = {pool["name"] for pool in objects["slb/pool"]}
    ips = [node["ip"] for node in objects["slb/node"]]
    assert len(ips) == len(set(ips)), "node addresses must be unique"
    vips = [(vs["vip"], vs["protocol"]) for vs in objects["slb/vserver"]]
    assert len(vips) == len(set(vips)), "vip+protocol must be unique"
    assert all(vs["pool"] in pools for vs in objects["slb/vserver"]), "virtual servers need their pool"
    assert set(state["rservers"]) <= pools, "members live under existing pools"
    checks = {check["name"] for check in objects["slb/healthcheck"]}
    assert all(set(pool["healthcheck"]) <= checks for pool in objects["slb/pool"]), "pools need their checks"
    domains = [domain["name"] for domain in objects["dns/domain"]]
    assert len(domains) == len(set(domains)), "domain names must be unique"
    for members in state["rservers"].values():
        assert all(member["node"] in nodes for member in members), "members need their node"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATIONS, max_size=14))
async def test_any_write_sequence_keeps_the_store_consistent(
    adc: Appliance, operations: list[tuple[str, str, Any]]
) -> None:
    await adc.control("POST", "reset")
    await adc.login()
    for logged, (method, path, body) in enumerate(operations, start=1):
        before = await adc.control("GET", "state")
        response = await adc.call(method, path, body)
        envelope = response.json()
        after = await adc.control("GET", "state")
        assert (await adc.control("GET", "changes"))["total"] == logged, "every write is logged once"
        if envelope["res"]["code"] != 0:
            assert envelope["res"]["status"] == "failure"
            assert response.status_code == 200
            assert after == before, f"failed {method} {path} changed the state"
        check_integrity(after)
