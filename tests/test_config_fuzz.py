"""Every invalid setting exits with code 2 and a message naming the field and its variable.

The fields are found by walking the pydantic models of ``adcbridge.config``, so a new field is
fuzzed without touching this file. Invalid values are derived from each field's type and
constraints (wrong types, numbers out of range, values outside an enum, unparsable JSON for
lists), plus a table of values that break the fields' own validators (URLs, addresses,
selectors, host:port, names). Each goes to ``adcbridge.cli.main`` in-process, once in a YAML
file and once as an ``ADCBRIDGE_*`` variable, next to a canary password that must never show.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from adcbridge.cli import EXIT_USAGE, main
from adcbridge.config import ENV_PREFIX, Settings
from tests.conftest import PASSWORD

TSIG_CANARY = "dHNpZy1jYW5hcnktc2VjcmV0"
# Values that break a field's own validator (not expressible by its type and constraints).
SPECIFIC: dict[str, list[Any]] = {
    "owner_id": ["Not Valid!", "-x", "a" * 64, ""],
    "name_prefix": ["-bad", "", "x" * 33, "a b"],
    "adc.url": ["ftp://adc", "https://adc/path", "adc.example.net", "https:// a", "", [], ["https://a", "https://a/"]],
    "vip.addresses": [["224.0.0.1"], ["0.0.0.0"], ["fe80::1"], ["192.0.2.1", "192.0.2.1"], ["not-an-ip"], []],
    "nodes.label_selector": ["a in (b)", "=x", "!a=b", "a=b c", "a=b/c"],
    "kube.label_selector": ["a in (b)", "role=edge,=x"],
    "kube.namespaces": [["Not_A_Namespace"], ["-x"]],
    "dns.verify_servers": [["no-port"], ["127.0.0.1:0"], ["host:99999"], ["host:"]],
    "dns.targets": [["adc", "adc"], ["dns"]],
    "rfc2136.server": ["no-port", "host:99999", ":x"],
    "rfc2136.zones": [["bad_zone"], ["a.example", "A.example."], [""]],
    "server.listen": ["0.0.0.0:8080", "no-port", "host:70000"],
    "leader.lease_name": ["Bad_Name", "-x"],
    "leader.lease_namespace": ["Bad_Name"],
    "leader.retry_period_seconds": [1, 0.5],
    "leader.renew_deadline_seconds": [1, 20],
}
NOT_A_SETTING = {"nested": ["garbage", {"deeper": None}]}  # a mapping: no leaf field is one


def leaves(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from leaves(annotation, f"{prefix}{name}.")
        else:
            yield prefix + name, info


FIELDS = dict(leaves(Settings))


def variable(dotted: str) -> str:
    return ENV_PREFIX + dotted.replace(".", "__").upper()


def _members(annotation: Any) -> tuple[Any, ...]:
    origin = get_origin(annotation)
    return get_args(annotation) if origin in (Union, types.UnionType) else (annotation,)


def _bound(info: FieldInfo, kind: type) -> Any:
    for item in info.metadata:
        if isinstance(item, kind):
            return item
    return None


def typed_invalid(dotted: str, info: FieldInfo) -> list[Any]:
    """Invalid values derived from the field's type and constraints."""
    values: list[Any] = [NOT_A_SETTING]
    members = [member for member in _members(info.annotation) if member is not type(None)]
    kind = members[0] if len(members) == 1 else None
    origin = get_origin(kind)
    if kind is bool:
        values += ["maybe", 7, [True]]
    elif kind in (int, float):
        values += ["many", [1]] + ([1.5] if kind is int else [])
        if (low := _bound(info, annotated_types.Ge)) is not None:
            values.append(low.ge - 1)
        if (low := _bound(info, annotated_types.Gt)) is not None:
            values += [low.gt, low.gt - 1]
        if (high := _bound(info, annotated_types.Le)) is not None:
            values.append(high.le + 1)
    elif origin is Literal:
        values += ["not-" + str(get_args(kind)[0]), 42]
    elif origin is list:
        values += ["not a list", [NOT_A_SETTING]]
        inner = get_args(kind)[0]
        if get_origin(inner) is Literal:
            values.append(["not-" + str(get_args(inner)[0])])
        if _bound(info, annotated_types.MinLen) is not None:
            values.append([])
    elif kind in (str, SecretStr, Path) or kind is None:
        values += [12345, ["a", "list"]]
        if _bound(info, annotated_types.MinLen) is not None:
            values.append("")
    return values


def as_variable(value: Any) -> str | None:
    """How a value is written in the environment (lists and mappings as JSON); None if it cannot
    be invalid there (any text is a valid string or path)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def textual(info: FieldInfo) -> bool:
    return any(member in (str, SecretStr, Path) for member in _members(info.annotation))


CASES: list[tuple[str, Any, str]] = []
for _dotted, _info in FIELDS.items():
    for _value in [*typed_invalid(_dotted, _info), *SPECIFIC.get(_dotted, [])]:
        CASES.append((_dotted, _value, "yaml"))
        text = as_variable(_value)
        specific = _value in SPECIFIC.get(_dotted, [])
        # any text is a valid plain string or path: as a variable, only what is not (a validated
        # string, a constrained empty string, or a non-string field) can be wrong
        if text is not None and (specific or isinstance(_value, str) or not textual(_info)):
            CASES.append((_dotted, text, "env"))
CASES += [("unknown_top", 1, "yaml"), ("adc.unknown_field", "x", "yaml"), ("adc.unknown_field", "x", "env")]
CASES += [(dotted, "[not json", "env") for dotted, info in FIELDS.items() if get_origin(info.annotation) is list]

BASE = {
    "owner_id": "fuzz",
    "adc": {"url": "http://127.0.0.1:9", "password": PASSWORD, "operation_deadline": 0.2},
    "vip": {"addresses": ["192.0.2.10"]},
    "rfc2136": {"tsig_secret": TSIG_CANARY},
}


def with_value(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    result = json.loads(json.dumps(data))
    *groups, name = dotted.split(".")
    target = result
    for group in groups:
        target = target.setdefault(group, {})
    target[name] = value
    return result


def run(dotted: str, value: Any, source: str, tmp: Path) -> tuple[int, str]:
    """``adcbridge check`` with the value in a file or a variable; exit code and stderr."""
    data = BASE if source == "env" else with_value(BASE, dotted, value)
    config = tmp / "adcbridge.yaml"
    config.write_text(yaml.safe_dump(data))
    environment = {variable(dotted): value} if source == "env" else {}
    return run_cli(["check", "--config", str(config)], environment)


def run_cli(argv: list[str], environment: dict[str, Any]) -> tuple[int, str]:
    """``adcbridge`` in-process with exactly these ``ADCBRIDGE_*`` variables; exit code and stderr."""
    err = io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        for key in [key for key in os.environ if key.upper().startswith(ENV_PREFIX)]:
            patch.delenv(key)
        for key, text in environment.items():
            patch.setenv(key, text)
        code = main(argv)
    return code, err.getvalue()


def test_every_field_is_fuzzed() -> None:
    assert {dotted for dotted, _, _ in CASES} >= set(FIELDS)
    assert {dotted for dotted, _, source in CASES if source == "env"} >= {
        d for d, i in FIELDS.items() if not textual(i)
    }


def check_refused(dotted: str, value: Any, source: str, tmp: Path) -> None:
    code, err = run(dotted, value, source, tmp)
    assert code == EXIT_USAGE, (dotted, value, source, err)
    named = f"invalid setting {dotted} ({variable(dotted)})"
    model_rule = dotted.startswith("leader.") and "retry_period_seconds < renew_deadline_seconds" in err
    assert named in err or model_rule, (dotted, value, source, err)
    assert PASSWORD not in err
    assert TSIG_CANARY not in err


@pytest.mark.parametrize(("dotted", "value", "source"), CASES, ids=[f"{c[2]}-{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_an_invalid_setting_exits_2_naming_the_field(dotted: str, value: Any, source: str, tmp_path: Path) -> None:
    check_refused(dotted, value, source, tmp_path)


NUMERIC = {dotted: info for dotted, info in FIELDS.items() if _members(info.annotation)[0] in (int, float)}
CHOICES = {
    dotted: info
    for dotted, info in FIELDS.items()
    if get_origin(_members(info.annotation)[0]) is Literal or _members(info.annotation)[0] is bool
}
BOOL_WORDS = {"0", "1", "true", "false", "yes", "no", "on", "off", "t", "f", "y", "n"}


@st.composite
def generated_cases(draw: st.DrawFn) -> tuple[str, Any, str]:
    """A numeric field beyond its bounds, or an enum or boolean field with text it does not take."""
    if draw(st.booleans()):
        dotted = draw(st.sampled_from(sorted(NUMERIC)))
        info = NUMERIC[dotted]
        low = _bound(info, annotated_types.Ge) or _bound(info, annotated_types.Gt)
        high = _bound(info, annotated_types.Le)
        beyond = []
        if low is not None:
            edge = getattr(low, "ge", None)
            beyond.append(
                st.floats(max_value=edge, exclude_max=True) if edge is not None else st.floats(max_value=low.gt)
            )
        if high is not None:
            beyond.append(st.integers(min_value=high.le + 1))
        beyond.append(st.text(min_size=1).filter(lambda text: not _numeric(text)))
        value = draw(st.one_of(beyond))  # bounded floats are never NaN
        if _members(info.annotation)[0] is int and isinstance(value, float) and value.is_integer() and low is not None:
            value = int(value)
    else:
        dotted = draw(st.sampled_from(sorted(CHOICES)))
        kind = _members(CHOICES[dotted].annotation)[0]
        allowed = {str(choice).lower() for choice in get_args(kind)} if kind is not bool else BOOL_WORDS
        value = draw(st.text(min_size=1, max_size=20).filter(lambda text: text.strip().lower() not in allowed))
    source = draw(st.sampled_from(["yaml", "env"]))
    if source == "env":
        value = as_variable(value)
        if "\x00" in value:
            value = value.replace("\x00", "")
        if not value.strip() or (_numeric(value) and dotted in CHOICES):
            value = "not-a-choice"
    return dotted, value, source


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=generated_cases())
def test_generated_invalid_values_exit_2_naming_the_field(
    case: tuple[str, Any, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    check_refused(*case, tmp_path_factory.mktemp("fuzz"))


@pytest.mark.parametrize(("dotted", "source"), [("adc.password", "yaml"), ("rfc2136.tsig_secret", "yaml")])
def test_an_invalid_secret_is_named_and_not_echoed(dotted: str, source: str, tmp_path: Path) -> None:
    code, err = run(dotted, [PASSWORD, TSIG_CANARY], source, tmp_path)
    assert code == EXIT_USAGE
    assert f"invalid setting {dotted} ({variable(dotted)})" in err
    assert PASSWORD not in err
    assert TSIG_CANARY not in err


def test_several_bad_variables_of_one_group_each_named(tmp_path: Path) -> None:
    config = tmp_path / "adcbridge.yaml"
    config.write_text(yaml.safe_dump(BASE))
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(err):
        patch.setenv("ADCBRIDGE_KIC__PORTS", "[80,")
        patch.setenv("ADCBRIDGE_KIC__NAMESPACE", "fine")
        code = main(["check", "--config", str(config)])
    assert code == EXIT_USAGE
    assert "invalid setting kic.ports (ADCBRIDGE_KIC__PORTS): cannot parse the value" in err.getvalue()
    assert "KIC__NAMESPACE" not in err.getvalue()  # a plain string is not suspected
