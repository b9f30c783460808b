"""The ACOS dialect's pure parts: what each aXAPI answer means, the model both ways, a unit's role.

No network: the wire's ``unwrap`` is given answers shaped as A10's own client and fixtures
captured from units show them (the fail envelope with its numeric codes, the
``authorizationschema`` bodies that carry no code, a proxy's HTML page); the objects are turned
into bodies and read back, which must give the same model object (an unchanged object causes no
write); the role is read from aVCS and VRRP-A answers.
"""

from __future__ import annotations

import json
from typing import Any, cast

import httpx
import pytest

from adcbridge.adc import acos
from adcbridge.adc.acos.objects import Objects
from adcbridge.adc.acos.units import read_role, vcs_role, vrrp_role
from adcbridge.adc.acos.wire import AcosWire
from adcbridge.adc.client import AdcClient, Credentials, SessionEnded
from adcbridge.adc.dialects import DIALECTS
from adcbridge.errors import AdcAuthError, AdcBusy, AdcError, AdcProtocolError, AdcRejected, AdcSessionLimit
from adcbridge.model import AdcMember, AdcNode, AdcPool, AdcVserver
from tests.builders import MARK, OTHER_MARK, OWNER, settings
from tests.test_config_fuzz import run_cli

WIRE = AcosWire("k8s")
OBJECTS = Objects(OWNER)


def answer(status: int, body: Any, *, where: str = "GET slb/server", login: bool = False) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WIRE.unwrap(httpx.Response(status, content=content), content, where, login=login)


def fail(code: int, msg: str = "refused") -> dict[str, Any]:
    return {"response": {"status": "fail", "err": {"code": code, "from": "CM", "msg": msg}}}


def schema(code: int, error: str) -> dict[str, Any]:
    body = {"code": code, "error": error, "auth_uri": "/axapi/v3/auth", "logoff_uri": "/axapi/v3/logoff"}
    return {"authorizationschema": body}


# ---------------------------------------------------------------------------- sessions


def test_a_session_is_a_signature_in_an_a10_header_and_the_partition_is_activated_after_login() -> None:
    login = WIRE.login(Credentials("admin", "pw"))
    assert (login.method, login.path, login.body) == (
        "POST",
        "auth",
        {"credentials": {"username": "admin", "password": "pw"}},
    )
    assert WIRE.token_of({"authresponse": {"signature": "abc", "description": "..."}}) == "abc"
    assert WIRE.token_of({"response": {"status": "OK"}}) == ""
    assert WIRE.authenticated("abc") == {"Authorization": "A10 abc"}
    logout = WIRE.logout("abc")
    assert logout is not None
    assert (logout.method, logout.path) == ("POST", "logoff")
    assert [(call.method, call.path, call.body) for call in WIRE.opened()] == [("POST", "active-partition/k8s", None)]


# ---------------------------------------------------------------------------- answers


def test_a_good_answer_is_its_json_and_an_empty_2xx_is_none() -> None:
    assert answer(200, {"server-list": []}) == {"server-list": []}
    assert answer(204, b"") is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (1023460352, AdcRejected),  # not found
        (1023459339, AdcRejected),  # exists
        (33619969, AdcRejected),  # in use
        (1023459393, AdcRejected),  # invalid parameter
        (999, AdcRejected),  # a code of no table: refused, with its code
        (1023464193, AdcBusy),  # system busy
        (1023464192, AdcBusy),  # system not ready
        (1023463424, AdcBusy),  # config manager not ready
        (1207960052, SessionEnded),  # invalid session: log in again
        (1208008960, AdcAuthError),  # authentication failure
        (419545856, AdcAuthError),  # no write privilege
    ],
)
def test_the_fail_envelope_is_read_by_its_code_whatever_the_http_status(code: int, kind: type[AdcError]) -> None:
    for status in (200, 400, 404):
        with pytest.raises(kind) as raised:
            answer(status, fail(code, "Object specified does not exist (object: server)"))
        assert type(raised.value) is kind
        assert raised.value.code == code
        assert f"ACOS code {code}" in str(raised.value)


def test_a_missing_partition_says_so_and_that_the_bridge_never_creates_one() -> None:
    with pytest.raises(
        AdcRejected, match="partition 'k8s' does not exist on the ACOS unit; create it first"
    ) as missing:
        answer(404, fail(1023460352), where="POST active-partition/k8s")
    assert missing.value.code is None  # not to be read as the answer to the call that logged in


def test_authorizationschema_bodies_carry_no_code_and_mean_session_or_credentials() -> None:
    with pytest.raises(SessionEnded):
        answer(401, schema(401, "Invalid admin session."))
    for status in (401, 403):
        with pytest.raises(AdcAuthError) as refused:
            answer(status, schema(status, "Incorrect user name or password"), where="POST auth", login=True)
        assert type(refused.value) is AdcAuthError
        assert WIRE.bad_credentials(refused.value)
    with pytest.raises(AdcAuthError) as forbidden:
        answer(403, schema(403, "Incorrect user name or password"))
    assert WIRE.bad_credentials(forbidden.value)


def test_a_login_refused_for_the_session_limit_is_transient_not_a_wrong_password() -> None:
    limit = schema(403, "Login failed: the number of aXAPI sessions has reached the limit (30).")
    with pytest.raises(AdcSessionLimit) as raised:
        answer(403, limit, where="POST auth", login=True)
    assert not WIRE.bad_credentials(raised.value)


@pytest.mark.parametrize("status", [200, 400, 501, 505])
def test_an_html_page_is_not_an_acos_answer(status: int) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    with pytest.raises(AdcProtocolError, match="not an ACOS answer"):
        answer(status, page)


def test_a_fail_without_err_is_refused_and_an_unknown_4xx_body_is_no_answer() -> None:
    with pytest.raises(AdcRejected, match="without a code"):
        answer(400, {"response": {"status": "fail"}})
    with pytest.raises(AdcProtocolError):
        answer(404, {"message": "no such thing"})


# ---------------------------------------------------------------------------- objects both ways

NODES = [
    AdcNode("k8s-c1-node-1", "10.0.0.1", MARK),
    AdcNode("k8s-c1-node-1_v6", "2001:db8::1", MARK, enable=False),
]
POOLS = [
    AdcPool("k8s-c1-80-tcp", method, healthcheck, MARK)
    for method in ("rr", "wrr", "lc", "ip-hash")
    for healthcheck in ((), ("hm-http",))
]
VSERVERS = [
    AdcVserver("k8s-c1-192.0.2.10-80-tcp", "192.0.2.10:80", "tcp", "k8s-c1-80-tcp", MARK, snat="automap"),
    AdcVserver("k8s-c1-192.0.2.10-53-udp", "192.0.2.10:53", "udp", "k8s-c1-53-udp", MARK, False, snat="none"),
    AdcVserver("k8s-c1-2001-db8--10-443-tcp", "[2001:db8::10]:443", "tcp", "p", MARK, snat="natpool1"),
]


@pytest.mark.parametrize("node", NODES, ids=lambda node: node.ip)
def test_a_server_reads_back_as_the_node_it_was_made_from(node: AdcNode) -> None:
    body = OBJECTS.server_body(node)
    assert ("host" in body) == (":" not in node.ip)
    assert OBJECTS.server(json.loads(json.dumps(body))) == node


def test_a_server_that_is_not_ours_is_not_usable_by_our_members() -> None:
    assert not OBJECTS.server({"name": "legacy", "host": "10.9.9.9"}).shared
    assert not OBJECTS.server({"name": "legacy", "host": "10.9.9.9", "user-tag": OTHER_MARK}).shared
    assert OBJECTS.server({"name": "k8s-c1-node-1", "host": "10.0.0.1", "user-tag": MARK}).shared


@pytest.mark.parametrize("pool", POOLS, ids=lambda pool: f"{pool.method}-{len(pool.healthcheck)}")
def test_a_service_group_reads_back_as_the_pool_it_was_made_from(pool: AdcPool) -> None:
    body = OBJECTS.service_group_body(pool, "tcp")
    present = {key: value for key, value in body.items() if value is not None}  # a unit shows no nulls
    assert OBJECTS.service_group(present, {}) == (pool, [])
    assert "protocol" not in OBJECTS.service_group_body(pool, None)  # a unit does not change it


def test_a_member_reads_back_with_its_state_and_its_server_ports_weight() -> None:
    member = AdcMember("k8s-c1-80-tcp", "k8s-c1-node-1", 30080, 3, MARK, enable=False)
    body = OBJECTS.member_body(member)
    assert body["member-state"] == "disable"
    weights = {"k8s-c1-node-1": {"30080+tcp": 3}}
    assert OBJECTS.member("k8s-c1-80-tcp", "tcp", body, weights) == member
    assert OBJECTS.member("k8s-c1-80-tcp", "tcp", body, {}).weight == 1


@pytest.mark.parametrize("vserver", VSERVERS, ids=lambda vserver: vserver.snat)
def test_a_virtual_port_reads_back_as_the_virtual_server_it_was_made_from(vserver: AdcVserver) -> None:
    made = OBJECTS.virtual_server_body(vserver)
    assert made["user-tag"] == MARK
    present = json.loads(json.dumps(made))
    for port in present["port-list"]:
        for key in [key for key, value in port.items() if value is None]:
            del port[key]
    virtual, ports = OBJECTS.virtual_server(present)
    assert ports == [vserver]
    assert virtual.ours
    assert virtual.name == OBJECTS.virtual_server_name(vserver)


def test_snat_is_auto_for_automap_a_pool_name_for_a_nat_pool_and_neither_for_none() -> None:
    bodies = {vserver.snat: OBJECTS.virtual_port_body(vserver) for vserver in VSERVERS}
    assert (bodies["automap"]["auto"], bodies["automap"]["pool"]) == (1, None)
    assert (bodies["none"]["auto"], bodies["none"]["pool"]) == (0, None)
    assert (bodies["natpool1"]["auto"], bodies["natpool1"]["pool"]) == (0, "natpool1")


def test_the_virtual_ports_of_a_virtual_server_that_is_not_ours_are_never_ours() -> None:
    vserver = VSERVERS[0]
    foreign = {**OBJECTS.virtual_server_body(vserver), "user-tag": None}
    virtual, ports = OBJECTS.virtual_server(foreign)
    assert not virtual.ours
    assert [port.description for port in ports] == [""]  # the marker on the port does not make it ours


def test_a_foreign_l7_port_holds_its_vip_and_port_for_tcp() -> None:
    item = {"name": "legacy", "ip-address": "192.0.2.10", "port-list": [{"port-number": 80, "protocol": "http"}]}
    (port,) = OBJECTS.virtual_server(item)[1]
    assert (port.vip, port.protocol, port.name) == ("192.0.2.10:80", "tcp", "legacy/80+http")


# ---------------------------------------------------------------------------- a unit's role


def vcs(enabled: str, *states: str) -> dict[str, Any]:
    members = [{"id": index, "state": state} for index, state in enumerate(states)]
    return {"vcs-summary": {"oper": {"vcs-enabled": enabled, "member-list": members}}}


def vrids(*states: str) -> dict[str, Any]:
    return {"vrid-list": [{"vrid-val": index, "oper": {"state": state}} for index, state in enumerate(states)]}


def test_the_role_is_the_vmaster_with_avcs_on() -> None:
    assert vcs_role(vcs("Yes", "vMaster(*)", "vBlade")) == "active"
    assert vcs_role(vcs("Yes", "vMaster", "vBlade(*)")) == "standby"
    assert vcs_role(vcs("Yes", "vMaster", "vBlade")) == "?"  # which one is this unit?
    assert vcs_role(vcs("No")) == ""  # aVCS off: ask VRRP-A
    assert vcs_role(None) == ""


class Answers:
    """A session that answers each GET from a table (a missing path: the unit's "not found")."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    async def request(self, method: str, path: str, *, deadline: float) -> Any:
        if path not in self.answers:
            raise AdcRejected(f"GET {path}: not found", code=1023460352)
        return self.answers[path]


@pytest.mark.parametrize(
    ("answers", "role"),
    [
        ({"vcs/vcs-summary/oper": vcs("Yes", "vBlade(*)"), "vrrp-a/vrid/oper": vrids("Active")}, "standby"),
        ({"vcs/vcs-summary/oper": vcs("Yes", "vMaster(*)"), "vrrp-a/vrid/oper": vrids("Standby")}, "active"),
        ({"vcs/vcs-summary/oper": vcs("No"), "vrrp-a/vrid/oper": vrids("Standby")}, "standby"),
        ({"vrrp-a/vrid/oper": vrids("Active")}, "active"),  # a unit without aVCS
        ({}, "active"),  # neither: a standalone unit
    ],
)
async def test_the_role_is_read_from_avcs_first_then_vrrp_a(answers: dict[str, Any], role: str) -> None:
    assert await read_role(cast(AdcClient, Answers(answers)), 0) == role


def test_the_role_is_vrrp_as_with_avcs_off_and_active_only_when_every_vrid_is() -> None:
    assert vrrp_role(vrids("Active")) == "active"
    assert vrrp_role(vrids("Standby")) == "standby"
    assert vrrp_role(vrids("Active", "Standby")) == "standby"
    assert vrrp_role(vrids()) == "active"  # no VRID: a standalone unit
    assert vrrp_role(None) == "active"  # VRRP-A not configured
    assert vrrp_role({"vrid-list": [{"vrid-val": 0}]}) == "?"


# ---------------------------------------------------------------------------- settings

ACOS = {
    "ADCBRIDGE_OWNER_ID": "c1",
    "ADCBRIDGE_ADC__URL": "https://127.0.0.1:9",
    "ADCBRIDGE_ADC__DIALECT": "acos",
    "ADCBRIDGE_VIP__ADDRESSES": '["192.0.2.10"]',
}


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({}, "adc.partition (ADCBRIDGE_ADC__PARTITION): required"),
        ({"ADCBRIDGE_ADC__PARTITION": "shared"}, "adc.partition (ADCBRIDGE_ADC__PARTITION): shared is where"),
        (
            {"ADCBRIDGE_ADC__PARTITION": "k8s", "ADCBRIDGE_DNS__TARGETS": '["adc"]'},
            "dns.targets (ADCBRIDGE_DNS__TARGETS): adc: the bridge does not publish names on an ACOS unit (no GSLB); "
            "use rfc2136",
        ),
        ({"ADCBRIDGE_ADC__PARTITION": "k8s", "ADCBRIDGE_ADC__BATCH_SIZE": "10"}, "adc.batch_size"),
        ({"ADCBRIDGE_ADC__PARTITION": "k8s", "ADCBRIDGE_ADC__PAGE_SIZE": "10"}, "adc.page_size"),
        ({"ADCBRIDGE_ADC__PARTITION": "k8s", "ADCBRIDGE_ADC__GTM_SERVER": "/Common/g"}, "adc.gtm_server"),
        ({"ADCBRIDGE_ADC__PARTITION": "k8s", "ADCBRIDGE_ADC__CONFIG_SYNC_GROUP": "g"}, "adc.config_sync_group"),
    ],
)
def test_settings_an_acos_unit_cannot_honour_exit_2_naming_the_field(variables: dict[str, str], named: str) -> None:
    code, err = run_cli(["check"], {**ACOS, **variables})
    assert code == 2
    assert named in err
    assert "(adc.dialect acos)" in err


def test_names_go_nowhere_by_default_with_acos_and_shared_needs_allowing() -> None:
    assert settings(adc={"dialect": "acos", "partition": "k8s"}).dns.targets == []
    assert settings(adc={"dialect": "acos"}, dns={"ttl": 60}).dns.targets == []
    assert settings(adc={"dialect": "bigip"}).dns.targets == ["adc"]  # the others publish on the ADC by default
    allowed = settings(adc={"dialect": "acos", "partition": "shared", "allow_default_partition": True})
    assert acos.problems(allowed) == []
    rfc2136 = {"server": "127.0.0.1:53", "zones": ["example.com"], "tsig_key_name": "k"}
    assert (
        acos.problems(
            settings(adc={"dialect": "acos", "partition": "k8s"}, dns={"targets": ["rfc2136"]}, rfc2136=rfc2136)
        )
        == []
    )
    assert DIALECTS["acos"].follows_failover  # adc.url may name both units of a pair
