"""The reference appliance's API at the HTTP level: ``/adc/v3.0``, its login and its envelope.

Every answer is ``{"res": {"status", "code", "msg"}, "data"}``; business failures come back as
HTTP 200 with ``status: failure`` and a code (``mocks/adc/README.md`` has the table). The codes
with a meaning of their own: 4011/4012/4014 end the session (log in again), 4013 is a wrong
username or password (never retried), 3001 is a standby unit, 3002 a busy one, 4032 the session
limit (all three retried); other 4xxx are authentication failures, 5xxx the appliance failing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from adcbridge.adc.client import Call, Credentials, SessionEnded
from adcbridge.errors import (
    BODY_EXCERPT,
    AdcAuthError,
    AdcBusy,
    AdcError,
    AdcProtocolError,
    AdcRejected,
    AdcSessionLimit,
    AdcStandby,
    AdcUnavailable,
    excerpt,
)

TOKEN_HEADER = "x-access-token"
BAD_CREDENTIALS = 4013
SPECIAL_CODES: dict[int, type[AdcError]] = {4011: SessionEnded, 4012: SessionEnded, 4014: SessionEnded}
SPECIAL_CODES |= {3001: AdcStandby, 3002: AdcBusy, 4032: AdcSessionLimit}


class ReferenceWire:
    base_path = "/adc/v3.0"

    def login(self, credentials: Credentials) -> Call:
        return Call("POST", "login", {"username": credentials.username, "password": credentials.password})

    def token_of(self, data: Any) -> str:
        token = data.get("token") if isinstance(data, dict) else None
        return token if isinstance(token, str) else ""

    def authenticated(self, token: str) -> dict[str, str]:
        return {TOKEN_HEADER: token}

    def logout(self, token: str) -> Call | None:
        return Call("POST", "logout", None, self.authenticated(token))

    def opened(self) -> tuple[Call, ...]:
        return ()

    def unwrap(self, response: httpx.Response, content: bytes, where: str, *, login: bool) -> Any:
        """The envelope's ``data``, or the error its code means."""
        try:
            envelope = json.loads(content)
            res = envelope["res"]
            status, code, message = res["status"], res["code"], str(res.get("msg", ""))
        except (ValueError, KeyError, TypeError, RecursionError):
            text = content[: BODY_EXCERPT * 4].decode(response.encoding or "utf-8", errors="replace")
            raise AdcProtocolError(
                f"{where}: HTTP {response.status_code}, not an ADC answer: {excerpt(text)}"
            ) from None
        if status == "success" and type(code) is int and code == 0:  # not 0.0, not false: no ADC answers that
            if not response.is_success:
                raise AdcProtocolError(
                    f"{where}: HTTP {response.status_code} with a success envelope: not an ADC answer"
                )
            return envelope.get("data")
        data = envelope.get("data")
        field = data.get("field") if isinstance(data, dict) else None
        shown = code if isinstance(code, int) else excerpt(repr(code))[:40]  # a hostile "code" can be anything
        raise _failure(code, f"{where}: {shown} {excerpt(message)}", field if isinstance(field, str) else None)

    def bad_credentials(self, error: AdcError) -> bool:
        return error.code == BAD_CREDENTIALS


def _failure(code: Any, message: str, field: str | None) -> AdcError:
    if not isinstance(code, int) or isinstance(code, bool):
        return AdcProtocolError(message)
    if code in SPECIAL_CODES:
        return SPECIAL_CODES[code](message, code=code)
    if 4000 <= code < 5000:
        return AdcAuthError(message, code=code)
    if code >= 5000:
        return AdcUnavailable(message, code=code)
    return AdcRejected(message, code=code, field=field)


REFERENCE_WIRE = ReferenceWire()
