"""A BIG-IP's iControl REST at the HTTP level: token sessions and what its answers mean.

Sessions are tokens (``POST /mgmt/shared/authn/login``, header ``X-F5-Auth-Token``), never Basic
authentication on every request: a token is one login for its whole life, where Basic makes the
unit check the password on every call (and remote users cannot use it). A unit keeps at most 100
tokens per user, so the session deletes its token when it closes (``DELETE
/mgmt/shared/authz/tokens/<token>``) and the shared client never holds more than one.

What an answer means, by its HTTP status (a unit's error bodies are ``{"code", "message", ...}``;
its 401 for bad Basic credentials is an HTML page):

- 2xx: the JSON body (a DELETE answers an empty one);
- 401 to the login: the username or password is wrong (never retried until they change); 401 to
  anything else: the token expired or is unknown (log in again, once);
- 400 to the login saying the user "has reached maximum active login tokens": the session limit
  (retried: tokens expire);
- 403: the user's role does not allow the call (an operator must fix the role);
- any other 4xx: the unit refused the request; ``AdcRejected`` carries the status as its code
  (404 not found, 409 already exists, 400 invalid or in use), the message its mcpd text.

408, 429 and 5xx (mcpd restarting answers 500) are transient and retried by the shared client
before this module sees them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from adcbridge.adc.client import Call, Credentials, SessionEnded
from adcbridge.errors import (
    BODY_EXCERPT,
    AdcAuthError,
    AdcError,
    AdcProtocolError,
    AdcRejected,
    AdcSessionLimit,
    excerpt,
)

TOKEN_HEADER = "X-F5-Auth-Token"
LOGIN_PATH = "shared/authn/login"
TOKEN_LIMIT_TEXT = "maximum active login tokens"


class BigipWire:
    base_path = "/mgmt"

    def login(self, credentials: Credentials) -> Call:
        body = {"username": credentials.username, "password": credentials.password, "loginProviderName": "tmos"}
        return Call("POST", LOGIN_PATH, body)

    def token_of(self, data: Any) -> str:
        token = data.get("token") if isinstance(data, dict) else None
        value = token.get("token") if isinstance(token, dict) else None
        return value if isinstance(value, str) else ""

    def authenticated(self, token: str) -> dict[str, str]:
        return {TOKEN_HEADER: token}

    def logout(self, token: str) -> Call | None:
        return Call("DELETE", f"shared/authz/tokens/{token}", None, self.authenticated(token))

    def opened(self) -> tuple[Call, ...]:
        return ()

    def unwrap(self, response: httpx.Response, content: bytes, where: str, *, login: bool) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            return _json(response, content, where) if content.strip() else None
        message = _message(response, content)
        text = f"{where}: HTTP {status} {message}"
        if status == 401:
            if login:
                raise AdcAuthError(text, code=401)
            raise SessionEnded(text, code=401)
        if status == 400 and login and TOKEN_LIMIT_TEXT in message:
            raise AdcSessionLimit(text, code=status)
        if status == 403:
            raise AdcAuthError(text, code=403)
        if 400 <= status < 500:
            raise AdcRejected(text, code=status)
        raise AdcProtocolError(f"{where}: HTTP {status}, not a BIG-IP answer: {message}")

    def bad_credentials(self, error: AdcError) -> bool:
        return error.code == 401


def _json(response: httpx.Response, content: bytes, where: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        raise AdcProtocolError(
            f"{where}: HTTP {response.status_code}, not JSON: {_excerpt_of(response, content)}"
        ) from None


def _message(response: httpx.Response, content: bytes) -> str:
    """The ``message`` of a JSON error body, else an excerpt of the body (an HTML page, a proxy's text)."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    return excerpt(message) if isinstance(message, str) else _excerpt_of(response, content)


def _excerpt_of(response: httpx.Response, content: bytes) -> str:
    return excerpt(content[: BODY_EXCERPT * 4].decode(response.encoding or "utf-8", errors="replace"))


BIGIP_WIRE = BigipWire()
