"""Settings: the documented example stays complete, errors name fields, secrets stay secret."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from adcbridge.adc import credential_source
from adcbridge.config import Settings, load_settings, parse_selector, public_view, renamed_settings
from adcbridge.errors import ConfigError
from tests.conftest import PASSWORD

EXAMPLE = Path(__file__).parent.parent / "config" / "adcbridge.example.yaml"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [key for key in os.environ if key.startswith("ADCBRIDGE_")]:
        monkeypatch.delenv(key)


def leaf_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= leaf_fields(annotation, f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    return names


def leaf_keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        keys |= leaf_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def test_the_example_documents_every_field_and_loads() -> None:
    assert leaf_keys(yaml.safe_load(EXAMPLE.read_text())) == leaf_fields(Settings)
    loaded = load_settings(EXAMPLE)
    defaults = Settings(owner_id="x", adc={"url": "http://a"}, vip={"addresses": ["192.0.2.10"]})  # type: ignore[arg-type]
    for group in ("kic", "nodes", "pool", "dns", "limits", "reconcile", "server", "log"):
        assert getattr(loaded, group) == getattr(defaults, group), f"{group}: the example shows a non-default value"


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADCBRIDGE_ADC__CONCURRENCY", "3")
    monkeypatch.setenv("ADCBRIDGE_KIC__PORTS", '["https", 8443]')
    loaded = load_settings(EXAMPLE)
    assert loaded.adc.concurrency == 3
    assert loaded.kic.ports == ["https", 8443]
    assert loaded.adc.url == "https://adc.example.net:8443"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ADCBRIDGE_ADC__URL", f"https://adc/{PASSWORD}", "invalid setting adc.url (ADCBRIDGE_ADC__URL)"),
        ("ADCBRIDGE_ADC__CLIENT_CERT", "/tmp/cert.pem", "client_cert and client_key go together"),
        ("ADCBRIDGE_VIP__ADDRESSES", '["192.0.2.1", "192.0.2.1"]', "addresses repeat"),
        ("ADCBRIDGE_VIP__ADDRESSES", "[]", "vip.addresses"),
        ("ADCBRIDGE_NODES__LABEL_SELECTOR", "role=edge,=x", "nodes.label_selector"),
        ("ADCBRIDGE_NAME_PREFIX", "-bad", "name_prefix"),
        ("ADCBRIDGE_LIMITS__MAX_DELETE_PERCENT", "150", "limits.max_delete_percent"),
        ("ADCBRIDGE_KUBE__NAMESPACES", '["Not_A_Namespace"]', "invalid setting kube.namespaces"),
        ("ADCBRIDGE_KUBE__LABEL_SELECTOR", "a in (b)", "invalid setting kube.label_selector"),
        ("ADCBRIDGE_LEADER__RENEW_DEADLINE_SECONDS", "20", "retry_period_seconds < renew_deadline_seconds"),
        ("ADCBRIDGE_LEADER__RETRY_PERIOD_SECONDS", "0.5", "invalid setting leader.retry_period_seconds"),
        ("ADCBRIDGE_LEADER__LEASE_NAME", "Bad_Name", "invalid setting leader.lease_name"),
        ("ADCBRIDGE_UNKNOWN_FIELD", "1", ""),  # unknown variables are ignored, not fatal
    ],
)
def test_errors_name_the_field_and_never_echo_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    if not message:
        assert load_settings(EXAMPLE).owner_id == "demo.njet"
        return
    with pytest.raises(ConfigError) as caught:
        load_settings(EXAMPLE)
    assert message in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_kubeconfig_comes_from_the_setting_then_the_first_kubeconfig_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'first'}{os.pathsep}{tmp_path / 'second'}")
    assert load_settings(EXAMPLE).kube.kubeconfig == tmp_path / "first"
    monkeypatch.setenv("ADCBRIDGE_KUBE__KUBECONFIG", str(tmp_path / "chosen"))
    assert load_settings(EXAMPLE).kube.kubeconfig == tmp_path / "chosen"
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.delenv("ADCBRIDGE_KUBE__KUBECONFIG")
    assert load_settings(EXAMPLE).kube.kubeconfig is None


def test_a_yaml_file_that_does_not_parse_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("adc: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="not a readable file"):
        load_settings(tmp_path / "missing.yaml")


def test_public_view_masks_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADCBRIDGE_ADC__PASSWORD", PASSWORD)
    settings = load_settings(EXAMPLE)
    assert PASSWORD not in str(public_view(settings))
    assert PASSWORD not in repr(settings)
    assert settings.adc.password.get_secret_value() == PASSWORD


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("", ()),
        ("role=edge", (("role", "=", "edge"),)),
        ("role==edge, zone!=b", (("role", "=", "edge"), ("zone", "!=", "b"))),
        (
            "node-role.kubernetes.io/edge,!spot",
            (("node-role.kubernetes.io/edge", "exists", ""), ("spot", "!exists", "")),
        ),
    ],
)
def test_label_selectors(text: str, parsed: tuple[tuple[str, str, str], ...]) -> None:
    assert parse_selector(text) == parsed


@pytest.mark.parametrize("text", ["a in (b)", "!a=b", "a=b c", "=b", "a=b/c"])
def test_unsupported_or_invalid_selectors_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"cannot parse|not a valid"):
        parse_selector(text)


def test_credentials_come_from_the_secrets_directory_first_and_are_reread(tmp_path: Path) -> None:
    current = credential_source("env-user", SecretStr("env-password"), tmp_path)
    assert (current().username, current().password) == ("env-user", "env-password")
    (tmp_path / "adc-password").write_text("rotated-1\n")
    assert current().password == "rotated-1"
    (tmp_path / "adc-password").write_text("rotated-2")
    assert current().password == "rotated-2"
    assert "rotated-2" not in repr(current())
    with pytest.raises(ConfigError, match="no ADC password"):
        credential_source("user", SecretStr(""), None)()
    with pytest.raises(ConfigError, match="no ADC username"):
        credential_source("", SecretStr("pw"), None)()


NEW_WINDOW = "reconcile.batch_window_seconds (ADCBRIDGE_RECONCILE__BATCH_WINDOW_SECONDS)"
OLD_WINDOW = "reconcile.debounce_seconds (ADCBRIDGE_RECONCILE__DEBOUNCE_SECONDS)"


def with_window(tmp_path: Path, line: str) -> Path:
    """The example file with its batch window line replaced by ``line`` ("" to leave it out)."""
    changed = tmp_path / "changed.yaml"
    changed.write_text(EXAMPLE.read_text().replace("  batch_window_seconds: 0.2\n", f"  {line}\n" if line else ""))
    return changed


def test_the_former_name_of_the_batch_window_is_read_with_one_warning_naming_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert renamed_settings(load_settings(EXAMPLE)) == []
    from_file = load_settings(with_window(tmp_path, "debounce_seconds: 0.4"))
    assert from_file.reconcile.batch_window_seconds == 0.4
    monkeypatch.setenv("ADCBRIDGE_RECONCILE__DEBOUNCE_SECONDS", "0.7")
    from_environment = load_settings(with_window(tmp_path, ""))
    assert from_environment.reconcile.batch_window_seconds == 0.7
    for loaded in (from_file, from_environment):
        (warning,) = renamed_settings(loaded)
        assert OLD_WINDOW in warning
        assert NEW_WINDOW in warning


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("ADCBRIDGE_RECONCILE__DEBOUNCE_SECONDS", "batch_window_seconds: 0.3"),  # old in env, new in the file
        ("", "debounce_seconds: 0.3\n  batch_window_seconds: 0.3"),  # both in the file
    ],
)
def test_the_former_and_the_new_name_of_the_batch_window_at_once_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, old: str, new: str
) -> None:
    if old:
        monkeypatch.setenv(old, "0.3")
    with pytest.raises(ConfigError) as caught:
        load_settings(with_window(tmp_path, new))
    assert str(caught.value).startswith(f"invalid setting {OLD_WINDOW}: ")
    assert NEW_WINDOW in str(caught.value)
