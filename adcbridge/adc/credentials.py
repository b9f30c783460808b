"""Where the ADC login comes from: a secrets directory first, then the settings.

The directory is a mounted Kubernetes Secret with the keys ``adc-username`` and
``adc-password``. The files are read at every login, not once at start: Kubernetes
updates a mounted Secret in place, so a rotated password is used at the next login
without a restart. Values are stripped of surrounding whitespace (``echo`` adds a newline).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from adcbridge.adc.client import Credentials, CredentialSource
from adcbridge.errors import ConfigError

USERNAME_FILE = "adc-username"
PASSWORD_FILE = "adc-password"


def credential_source(username: str, password: SecretStr, secrets_dir: Path | None) -> CredentialSource:
    """A function returning the current credentials; ConfigError when there are none."""

    def current() -> Credentials:
        user = _from_file(secrets_dir, USERNAME_FILE) or username
        secret = _from_file(secrets_dir, PASSWORD_FILE) or password.get_secret_value()
        if not user:
            raise ConfigError(f"no ADC username: set ADCBRIDGE_ADC__USERNAME or {USERNAME_FILE} in secrets_dir")
        if not secret:
            raise ConfigError(f"no ADC password: set ADCBRIDGE_ADC__PASSWORD or {PASSWORD_FILE} in secrets_dir")
        return Credentials(user, secret)

    return current


def _from_file(directory: Path | None, name: str) -> str:
    if directory is None:
        return ""
    path = directory / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
