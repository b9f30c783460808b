"""The resolution check, over real DNS on loopback: the mock ADC's responder, and tiny fake servers
for what the mock cannot do (stay silent, refuse, count what is outstanding)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Mapping

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adcbridge.dns.verify import (
    ExpectedAddresses,
    NameCheck,
    Verifier,
    VerifyReport,
    expected_addresses,
    parse_servers,
)
from adcbridge.errors import ConfigError
from adcbridge.model import AdcDomain
from mocks.adc import MockADC, MockConfig
from tests.conftest import Appliance, policy
from tests.fake_dns import StartFake, answering, silent


async def add_domain(adc: Appliance, name: str, kind: str, *addrs: str) -> None:
    await adc.ok("POST", "dns/domain", {"name": name, "type": kind, "addresses": list(addrs)})


def server_of(mock: MockADC) -> tuple[str, int]:
    assert mock.dns_address is not None
    return mock.dns_address


async def check(
    servers: list[tuple[str, int]],
    expected: Mapping[str, tuple[str, ...]],
    *,
    per_query: float = 2.0,
    concurrency: int = 8,
) -> VerifyReport:
    return await Verifier(servers, timeout=per_query, concurrency=concurrency).verify(expected)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the condition is a fake server's counter, not an event
            await asyncio.sleep(0.01)


def by_name(report: VerifyReport) -> dict[str, tuple[str, str]]:
    return {item.name: (item.reason, item.detail) for item in report.checks}


# ---------------------------------------------------------------------------- against the mock ADC


async def test_every_name_resolves(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "shop.example.com", "A", "192.0.2.10")
    await add_domain(adc, "v6.example.com", "AAAA", "2001:db8::10")
    report = await check(
        [server_of(mock_adc)], {"shop.example.com": ("192.0.2.10",), "v6.example.com": ("2001:DB8::0:10",)}
    )
    assert [item.reason for item in report.checks] == ["ok", "ok"]
    assert all(item.detail == "" for item in report.checks)
    assert report.queries == 2
    assert report.failures() == ()
    assert report.counts() == {"ok": 2}
    assert report.summary() == "2 names on 1 server: 2 ok"


async def test_missing_name_other_address_and_disabled_domain(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "moved.example.com", "A", "192.0.2.99")
    await add_domain(adc, "off.example.com", "A", "192.0.2.11")
    await adc.ok("PUT", "dns/domain/off.example.com", {"enable": False})
    expected = {
        "gone.example.com": ("192.0.2.10",),
        "moved.example.com": ("192.0.2.10",),
        "off.example.com": ("192.0.2.11",),
    }
    report = await check([server_of(mock_adc)], expected)
    assert by_name(report) == {
        "gone.example.com": ("nxdomain", "A: NXDOMAIN"),
        "moved.example.com": ("wrong_address", "A: answered 192.0.2.99, expected 192.0.2.10"),
        "off.example.com": ("nxdomain", "A: NXDOMAIN"),
    }
    assert report.summary() == (
        "3 names on 1 server: 0 ok, 2 nxdomain (gone.example.com, off.example.com), 1 wrong_address (moved.example.com)"
    )


async def test_dual_stack_asks_both_types_and_needs_both(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "dual.example.com", "A+AAAA", "192.0.2.10", "2001:db8::10")
    await add_domain(adc, "half.example.com", "A", "192.0.2.11")
    expected = {
        "dual.example.com": ("192.0.2.10", "2001:db8::10"),
        "half.example.com": ("192.0.2.11", "2001:db8::11"),
    }
    report = await check([server_of(mock_adc)], expected)
    assert by_name(report) == {
        "dual.example.com": ("ok", ""),
        "half.example.com": ("nodata", "AAAA: no AAAA record"),
    }
    assert report.queries == 4


async def test_wildcard_is_asked_literally(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "*.apps.example.com", "A", "192.0.2.20")
    report = await check(
        [server_of(mock_adc)], {"*.apps.example.com": ("192.0.2.20",), "*.other.example.com": ("192.0.2.21",)}
    )
    assert by_name(report) == {
        "*.apps.example.com": ("ok", ""),
        "*.other.example.com": ("nxdomain", "A: NXDOMAIN"),
    }


async def test_truncated_answer_falls_back_to_tcp(mock_adc: MockADC, adc: Appliance) -> None:
    many = tuple(f"192.0.2.{index}" for index in range(1, 65))  # over 512 bytes: the mock sets TC over UDP
    await add_domain(adc, "big.example.com", "A", *many)
    await add_domain(adc, "small.example.com", "A", "192.0.2.1")
    report = await check([server_of(mock_adc)], {"big.example.com": many, "small.example.com": ("192.0.2.1",)})
    assert [item.reason for item in report.checks] == ["ok", "ok"]
    assert report.queries == 3  # big: UDP + TCP; small: UDP


async def test_two_servers_report_separately(mock_adc: MockADC, adc: Appliance) -> None:
    await add_domain(adc, "shop.example.com", "A", "192.0.2.10")
    async with MockADC(MockConfig(policy=policy())) as other:  # a second appliance that does not know the name
        first, second = server_of(mock_adc), server_of(other)
        report = await check([first, second], {"shop.example.com": ("192.0.2.10",)})
    assert [(item.server, item.reason) for item in report.checks] == [
        (f"127.0.0.1:{first[1]}", "ok"),
        (f"127.0.0.1:{second[1]}", "nxdomain"),
    ]
    assert report.summary() == f"1 name on 2 servers: 1 ok, 1 nxdomain (shop.example.com@127.0.0.1:{second[1]})"


# ---------------------------------------------------------------------------- failures of the server


async def test_a_silent_server_costs_one_probe_and_one_timeout_whatever_the_names(fake_dns: StartFake) -> None:
    server = await fake_dns(silent)
    started = time.monotonic()
    expected = {f"n{index}.example.com": ("192.0.2.1",) for index in range(200)}
    report = await check([server.address], expected, per_query=0.3)
    elapsed = time.monotonic() - started
    assert server.received == 1  # the probe: the other 199 names are not sent to a server that did not answer
    assert report.queries == 1
    assert report.unreachable == {server.label: "A: no UDP answer within 0.3 s"}
    assert report.counts() == {"ok": 0, "timeout": 200}
    assert not any(item.answered for item in report.checks)  # to be asked again when it answers
    assert by_name(report)["n0.example.com"] == ("timeout", "A: no UDP answer within 0.3 s")
    assert by_name(report)["n1.example.com"] == (
        "timeout",
        f"A: not asked, {server.label} did not answer (A: no UDP answer within 0.3 s)",
    )
    assert report.summary().endswith(f"; {server.label} did not answer (A: no UDP answer within 0.3 s)")
    assert 0.25 < elapsed < 1.5  # one timeout, not 200 / concurrency of them


async def test_a_silent_server_does_not_hold_up_the_one_that_answers(fake_dns: StartFake) -> None:
    quiet, answers = await fake_dns(silent), await fake_dns(answering("192.0.2.1"))
    expected = {f"n{index}.example.com": ("192.0.2.1",) for index in range(20)}
    report = await check([quiet.address, answers.address], expected, per_query=0.3)
    assert (quiet.received, answers.received) == (1, 20)
    assert list(report.unreachable) == [quiet.label]
    assert {item.reason for item in report.checks if item.server == answers.label} == {"ok"}
    assert all(item.answered for item in report.checks if item.server == answers.label)


async def test_the_deadline_ends_a_check_and_says_what_was_not_asked(fake_dns: StartFake) -> None:
    server = await fake_dns(answering("192.0.2.1"), delay=0.1)  # a slow server: 0.1 s per answer
    expected = {f"n{index}.example.com": ("192.0.2.1",) for index in range(40)}
    started = time.monotonic()
    report = await Verifier([server.address], timeout=2.0, concurrency=1, deadline=0.55).verify(expected)
    elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 2.5  # 40 answers one at a time would take 4 s
    assert report.cut
    assert report.unreachable == {}  # a slow server is not a silent one
    answered = [item for item in report.checks if item.answered]
    assert 1 <= len(answered) <= 6  # about five answers fit in the deadline
    assert {item.reason for item in answered} == {"ok"}
    late = by_name(report)["n39.example.com"]
    assert late == ("timeout", "A: not asked within the check's deadline (0.55 s)")
    assert len(report.checks) == 40
    assert not any(item.answered for item in report.checks[len(answered) :])


async def test_closed_port_is_a_timeout() -> None:
    # Nothing listens. The kernel answers ICMP port unreachable, but dnspython's asyncio UDP socket is
    # not connected, so the refusal never reaches it: a closed port looks like a silent server.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = await check([("127.0.0.1", port)], {"a.example.com": ("192.0.2.1",)}, per_query=0.3)
    assert by_name(report) == {"a.example.com": ("timeout", "A: no UDP answer within 0.3 s")}


async def test_server_errors_and_unknown_hosts_are_errors(fake_dns: StartFake) -> None:
    def servfail(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response

    server = await fake_dns(servfail)
    too_long = "x" * 64 + ".example.com"  # a label DNS cannot carry: reported, not raised
    report = await check(
        [server.address, ("no-such-host.invalid", 53)], {"a.example.com": ("192.0.2.1",), too_long: ("192.0.2.2",)}
    )
    failing, unknown, unaskable, _ = report.checks
    assert (unaskable.reason, unaskable.detail) == ("error", "A: UDP LabelTooLong: A DNS label is > 63 octets long.")
    assert (failing.reason, failing.detail) == ("error", "A: SERVFAIL")
    assert unknown.server == "no-such-host.invalid:53"
    assert unknown.reason == "error"
    assert unknown.detail.startswith("A: cannot look up no-such-host.invalid")
    assert report.queries == 1  # nothing is sent to a server whose address is unknown
    assert list(report.unreachable) == ["no-such-host.invalid:53"]  # named once, not once per name


async def test_concurrency_bounds_the_queries_in_flight(fake_dns: StartFake) -> None:
    server = await fake_dns(answering("192.0.2.1"), delay=0.05)
    expected = {f"n{index}.example.com": ("192.0.2.1",) for index in range(24)}
    report = await check([server.address], expected, concurrency=4)
    assert report.counts() == {"ok": 24}
    assert server.received == 24
    assert server.peak == 4  # after the probe (alone), four at a time


async def test_cancelling_verify_cancels_its_queries(fake_dns: StartFake) -> None:
    def probe_only(query: dns.message.Message) -> dns.message.Message | None:  # answers n0, then goes quiet
        return answering("192.0.2.1")(query) if query.question[0].name.to_text().startswith("n0.") else None

    server = await fake_dns(probe_only)
    before = asyncio.all_tasks()
    expected = {f"n{index}.example.com": ("192.0.2.1",) for index in range(10)}
    task = asyncio.create_task(check([server.address], expected, per_query=5.0, concurrency=4))
    await until(lambda: server.received == 5)  # the probe, then four in flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == before
    assert server.received == 5  # no further query was sent after the cancel


# ---------------------------------------------------------------------------- pure parts


def test_expected_addresses_merge_normalise_and_skip_disabled() -> None:
    domains = [
        AdcDomain("dual.example.com", "A+AAAA", ("2001:DB8::0:1", "192.0.2.2", "192.0.2.1")),
        AdcDomain("shop.example.com", "A", ("192.0.2.10",)),
        AdcDomain("off.example.com", "A", ("192.0.2.11",), enable=False),
    ]
    assert expected_addresses(domains) == {
        "dual.example.com": ("192.0.2.1", "192.0.2.2", "2001:db8::1"),
        "shop.example.com": ("192.0.2.10",),
    }


NAMES = [f"n{index}.example.com" for index in range(6)]
ADDRESSES = [("192.0.2.1",), ("192.0.2.2", "192.0.2.1"), ("2001:DB8::1",)]
# What happens to a name from one cycle to the next: its domain object kept (what the desired state
# does for an unchanged name), replaced by a new one, or the name gone.
KEEP, REPLACE, DROP = "keep", "replace", "drop"
domains = st.builds(AdcDomain, st.sampled_from(NAMES), st.just("A"), st.sampled_from(ADDRESSES), enable=st.booleans())


@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(NAMES), st.sampled_from([KEEP, REPLACE, DROP])), domains, st.booleans()
        ),
        max_size=8,
    )
)
def test_expected_addresses_kept_between_cycles_equal_the_whole_computation(
    steps: list[tuple[dict[str, str], AdcDomain, bool]],
) -> None:
    """Whatever happens between two calls: a name's domain kept, replaced (its addresses or its
    state changed), the name gone or new, or the caller's map changed in place (``in_place``)."""
    kept = ExpectedAddresses()
    names: dict[str, AdcDomain] = {}
    for fates, new, in_place in steps:
        following = dict(names)
        for name, fate in fates.items():
            if fate == DROP:
                following.pop(name, None)
            elif fate == REPLACE or name not in following:
                following[name] = AdcDomain(name, "A", new.addresses, enable=new.enable)
        if in_place:
            names.clear()
            names.update(following)
        else:
            names = following
        result = kept.of(names)
        assert result == expected_addresses(names.values())
        assert list(result) == list(expected_addresses(names.values()))  # the same order too


def test_summary_lists_five_names_per_reason_then_counts_the_rest() -> None:
    checks = [NameCheck(f"n{index}.example.com", "192.0.2.53:53", "nxdomain", "A: NXDOMAIN") for index in range(7)]
    checks += [NameCheck("ok.example.com", "192.0.2.53:53", "ok", "")]
    checks += [NameCheck("slow.example.com", "192.0.2.53:53", "timeout", "A: no UDP answer within 2 s")]
    report = VerifyReport(tuple(checks), duration=0.1, queries=9)
    assert report.counts() == {"ok": 1, "nxdomain": 7, "timeout": 1}
    assert report.summary() == (
        "9 names on 1 server: 1 ok, 7 nxdomain (n0.example.com, n1.example.com, n2.example.com, n3.example.com,"
        " n4.example.com and 2 more), 1 timeout (slow.example.com)"
    )
    assert len(report.failures()) == 8


def test_servers_from_settings() -> None:
    assert parse_servers(["192.0.2.53:53", "[2001:db8::53]:5353", "ns.example.net:53"]) == [
        ("192.0.2.53", 53),
        ("2001:db8::53", 5353),
        ("ns.example.net", 53),
    ]
    with pytest.raises(ConfigError, match=r"dns\.verify_servers"):
        parse_servers(["192.0.2.53"])
    with pytest.raises(ConfigError, match="port 0"):
        parse_servers(["192.0.2.53:0"])


async def test_no_query_goes_before_the_gate_lets_it(fake_dns: StartFake) -> None:
    server = await fake_dns(answering("192.0.2.1"))
    expected = {f"n{index}.example.com": ("192.0.2.1",) for index in range(10)}
    opened, waiting = asyncio.Event(), []

    async def gate() -> None:
        waiting.append(server.received)  # how many queries the server had when this one asked to go
        await opened.wait()

    verifier = Verifier([server.address], timeout=2.0, concurrency=4, gate=gate)
    task = asyncio.create_task(verifier.verify(expected))
    await until(lambda: bool(waiting))
    assert server.received == 0  # held at the gate: not even the probe went
    opened.set()
    report = await task
    assert report.counts() == {"ok": 10}
    assert len(waiting) == server.received == 10  # every query waited at the gate first
