"""An ACOS unit's aXAPI v3 at the HTTP level: signature sessions, the partition, what answers mean.

Sessions: ``POST /axapi/v3/auth`` with the credentials answers a signature, sent on every later
call as ``Authorization: A10 <signature>``; ``POST /axapi/v3/logoff`` ends it. A unit allows few
concurrent aXAPI sessions (30 by default, ``axapi-session-limit``), so the shared client holds one,
re-logs in once when the unit no longer knows it, and logs off when it closes. A session starts in
the ``shared`` partition: right after every login, ``POST /axapi/v3/active-partition/<p>`` moves it
to the bridge's partition (``opened``); a partition the unit does not have fails that login, and
the session is logged off at once.

What an answer means (acos-client's mapping, which ignores the HTTP status of a JSON body):

- ``{"authorizationschema": {"code": 401|403, ...}}`` (no ``err.code``): 403, or 401 to the login,
  the username or password is wrong (never retried until they change), unless its text speaks of
  sessions (the unit's session limit: transient); 401 to anything else, the session is unknown or
  expired (log in again, once);
- ``{"response": {"status": "fail", "err": {"code": N, "msg": ...}}}``: by the code (``ERRORS``):
  an invalid session (log in again), a refused login, an object not found, one that exists, one in
  use, an invalid parameter; the system busy or not ready and the config manager not ready are
  transient (``AdcBusy``, retried with backoff); any other code is a refusal carrying the code;
- anything else that is not JSON (an HTML page from a proxy, a 501) is not an ACOS answer.

``AdcRejected.code`` is the unit's own code, so the driver can tell not found from exists from in
use (``NOT_FOUND``, ``EXISTS``, ``IN_USE``). 408, 429, 500, 502, 503 and 504 are transient and
retried by the shared client before this module sees them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

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
    excerpt,
)

SCHEMA_SESSION, SCHEMA_CREDENTIALS = 401, 403
# A login refused because the unit holds its limit of aXAPI sessions (axapi-session-limit): transient,
# sessions expire. Its wording is not on record; any refusal of a login that speaks of sessions is one.
SESSION_LIMIT_TEXT = "session"
NOT_FOUND = frozenset(
    {
        520749062,
        1023475722,
        1023475727,
        1023509504,
        1023656960,
        1023656962,
        1207959957,
        1208078344,
        1023460352,  # "Object specified does not exist": what a unit answers for a missing object
        1023410176,
        1023410181,
        1023443968,
    }
)
EXISTS = frozenset(
    {
        67371011,
        67240011,
        654311495,
        754974732,
        1023410183,
        1023451144,
        1023451145,
        1023459337,
        1023459339,
        1023459340,
    }
)
IN_USE = frozenset({33619969})
INVALID_SESSION = frozenset({419495936, 1207960052, 1208025092})
LOGIN_REFUSED = frozenset({1208008960})
NO_PRIVILEGE = frozenset({419545856})  # "No write privilege of this admin session"
# ACOSSystemIsBusy / ACOSSystemNotReady, and ConfigManagerNotReady: the same request later succeeds.
TRANSIENT = frozenset({1023464193, 1023464192, 1023463424, 1208025095, 4294967295})


class AcosWire:
    """aXAPI v3 for a session working in ``partition``."""

    base_path = "/axapi/v3"

    def __init__(self, partition: str) -> None:
        self.partition = partition

    def login(self, credentials: Credentials) -> Call:
        return Call(
            "POST", "auth", {"credentials": {"username": credentials.username, "password": credentials.password}}
        )

    def token_of(self, data: Any) -> str:
        answer = data.get("authresponse") if isinstance(data, dict) else None
        signature = answer.get("signature") if isinstance(answer, dict) else None
        return signature if isinstance(signature, str) else ""

    def authenticated(self, token: str) -> dict[str, str]:
        return {"Authorization": f"A10 {token}"}

    def logout(self, token: str) -> Call | None:
        return Call("POST", "logoff", None, self.authenticated(token))

    def opened(self) -> tuple[Call, ...]:
        return (Call("POST", f"active-partition/{quote(self.partition, safe='')}"),)

    def unwrap(self, response: httpx.Response, content: bytes, where: str, *, login: bool) -> Any:
        status = response.status_code
        body = _json(content)
        if body is _NOT_JSON:
            if 200 <= status < 300 and not content.strip():
                return None
            raise AdcProtocolError(f"{where}: HTTP {status}, not an ACOS answer: {_excerpt_of(response, content)}")
        if isinstance(body, dict) and isinstance(body.get("authorizationschema"), dict):
            _raise_schema(body["authorizationschema"], where, login=login)
        failure = _failure(body)
        if failure is not None:
            code, message = failure
            raise error_for(code, f"{where}: {message} (ACOS code {code})", where=where, partition=self.partition)
        if 200 <= status < 300:
            return body
        raise AdcProtocolError(f"{where}: HTTP {status}, not an ACOS answer: {_excerpt_of(response, content)}")

    def bad_credentials(self, error: AdcError) -> bool:
        known = error.code in (SCHEMA_SESSION, SCHEMA_CREDENTIALS) or error.code in LOGIN_REFUSED
        return isinstance(error, AdcAuthError) and known


def error_for(code: int | None, text: str, *, where: str = "", partition: str = "") -> AdcError:
    """The exception an ACOS error code means (``text`` already names the call and the code)."""
    if code in INVALID_SESSION:
        return SessionEnded(text, code=code)
    if code in LOGIN_REFUSED or code in NO_PRIVILEGE:
        return AdcAuthError(text, code=code)
    if code in TRANSIENT:
        return AdcBusy(text, code=code)
    if code in NOT_FOUND and where.startswith("POST active-partition/"):
        # No code: this refusal of the session's set-up is not the answer to the call that logged in
        # (a list read as empty, a unit read as having no VRRP-A).
        return AdcRejected(
            f"partition {partition!r} does not exist on the ACOS unit; create it first "
            f"(the bridge never creates partitions): {text}"
        )
    return AdcRejected(text, code=code)


def _raise_schema(schema: dict[str, Any], where: str, *, login: bool) -> None:
    code = schema.get("code")
    message = excerpt(str(schema.get("error", "")))
    text = f"{where}: {message or 'refused'} (authorization {code})"
    if code == SCHEMA_SESSION and not login:
        raise SessionEnded(text, code=SCHEMA_SESSION)
    if login and SESSION_LIMIT_TEXT in message.lower():
        raise AdcSessionLimit(text, code=code if isinstance(code, int) else None)
    raise AdcAuthError(text, code=code if isinstance(code, int) else SCHEMA_CREDENTIALS)


def _failure(body: Any) -> tuple[int | None, str] | None:
    """(code, message) of a ``response.status: fail`` body; None for any other body."""
    response = body.get("response") if isinstance(body, dict) else None
    if not isinstance(response, dict) or response.get("status") != "fail":
        return None
    err = response.get("err")
    if not isinstance(err, dict):
        return None, "failed, without a code"
    code = err.get("code")
    message = excerpt(str(err.get("msg", "")))
    return (code if isinstance(code, int) and not isinstance(code, bool) else None), message or "failed"


_NOT_JSON = object()


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _excerpt_of(response: httpx.Response, content: bytes) -> str:
    return excerpt(content[: BODY_EXCERPT * 4].decode(response.encoding or "utf-8", errors="replace"))
