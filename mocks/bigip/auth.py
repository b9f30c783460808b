"""Who may talk to the unit: HTTP Basic on every request, or a token from
``/mgmt/shared/authn/login`` in ``X-F5-Auth-Token``.

Tokens live 1200 s from login; a PATCH may set their timeout up to 36000 s, counted from
the login (above: 406). A user holds at most 100 unexpired tokens; the 101st login is
refused with 400 until one is deleted or expires, so a client that logs in per request
locks itself out. An expired token answers "has expired" (the last 4096 are
remembered), a deleted or never-issued one "does not exist". A token wins over the Basic
header sent with it (bigrest sends ``None:None`` next to its token). Time comes from an
injectable clock the mock controls can move forward.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from mocks.bigip import errors

DEFAULT_TIMEOUT = 1200
MAX_TIMEOUT = 36000
MAX_TOKENS = 100
EXPIRED_MEMORY = 4096
PROVIDERS = frozenset({"tmos", "local"})


class Clock:
    """Wall-clock time plus an offset the mock controls can advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Token:
    token: str
    user: str
    issued: float
    timeout: int
    address: str
    updated: float = 0.0

    @property
    def expires(self) -> float:
        return self.issued + self.timeout

    def describe(self) -> dict[str, Any]:
        """The token object of the login answer and of ``/mgmt/shared/authz/tokens/<t>``."""
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.issued))
        return {
            "token": self.token,
            "name": self.token,
            "userName": self.user,
            "authProviderName": "tmos",
            "user": {"link": f"https://localhost/mgmt/shared/authz/users/{self.user}"},
            "groupReferences": [],
            "timeout": self.timeout,
            "startTime": f"{started}.{int(self.issued * 1000) % 1000:03d}{time.strftime('%z')}",
            "address": self.address,
            "partition": "[All]",
            "generation": 1,
            "lastUpdateMicros": int((self.updated or self.issued) * 1_000_000),
            "expirationMicros": int(self.expires * 1_000_000),
            "kind": "shared:authz:tokens:authtokenitemstate",
            "selfLink": f"https://localhost/mgmt/shared/authz/tokens/{self.token}",
        }


@dataclass
class Users:
    """Local users (username → password) and the tokens issued to them."""

    clock: Clock
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    tokens: dict[str, Token] = field(default_factory=dict)
    expired: dict[str, None] = field(default_factory=dict)
    failed_logins: int = 0

    def basic(self, header: str) -> str | None:
        """The user a ``Basic`` Authorization header proves, or None."""
        scheme, _sep, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return username if sep and self.password_matches(username, password) else None

    def password_matches(self, username: str, password: str) -> bool:
        stored = self.passwords.get(username)
        return stored is not None and secrets.compare_digest(stored.encode(), password.encode())

    def login(self, body: dict[str, Any], *, address: str) -> Token:
        username, password = body.get("username"), body.get("password")
        provider = body.get("loginProviderName", "tmos")
        if provider not in PROVIDERS:
            raise errors.rest_error(401, "loginProviderName is invalid.", reason="F5 Authorization Required")
        if (
            not isinstance(username, str)
            or not isinstance(password, str)
            or not self.password_matches(username, password)
        ):
            self.failed_logins += 1
            echoed = {key: value for key, value in body.items() if key != "password"}
            echoed |= {"generation": 0, "lastUpdateMicros": 0}
            raise errors.rest_error(
                401,
                "Authentication failed.",
                reason="F5 Authorization Required",
                originalRequestBody=json.dumps(echoed, separators=(",", ":")),
            )
        self.purge()
        if len(self.of(username)) >= MAX_TOKENS:
            raise errors.rest_error(400, f"user {username} has reached maximum active login tokens")
        token = Token(_new_token(), username, self.clock.now(), DEFAULT_TIMEOUT, address)
        self.tokens[token.token] = token
        return token

    def check(self, value: str) -> str:
        """The user a token belongs to; 401 when it expired or does not exist."""
        self.purge()
        token = self.tokens.get(value)
        if token is not None:
            return token.user
        if value in self.expired:
            raise errors.rest_error(401, "X-F5-Auth-Token has expired.", reason="F5 Authorization Required")
        raise errors.rest_error(401, "X-F5-Auth-Token does not exist.", reason="F5 Authorization Required")

    def owned(self, value: str, user: str) -> Token:
        """A token the requesting user may read, extend or delete."""
        self.purge()
        token = self.tokens.get(value)
        if token is None:
            raise errors.rest_error(404, f"Token {value} does not exist.")
        if token.user != user:
            raise errors.rest_error(400, f"User {user} is not authorized to access token {value}.")
        return token

    def extend(self, token: Token, timeout: Any) -> Token:
        if isinstance(timeout, str) and timeout.isascii() and timeout.isdigit():
            timeout = int(timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise errors.rest_error(400, f"Invalid timeout value: {timeout}")
        if timeout > MAX_TIMEOUT:
            raise errors.rest_error(406, f"Auth-token absolute timeout ({MAX_TIMEOUT} seconds) exceeded")
        token.timeout = timeout
        token.updated = self.clock.now()
        return token

    def delete(self, token: Token) -> None:
        del self.tokens[token.token]

    def of(self, username: str) -> list[Token]:
        return [token for token in self.tokens.values() if token.user == username]

    def expire_all(self) -> int:
        count = len(self.tokens)
        for value in self.tokens:
            self.expired[value] = None
        self.tokens.clear()
        return count

    def purge(self) -> None:
        now = self.clock.now()
        for value in [value for value, token in self.tokens.items() if token.expires <= now]:
            del self.tokens[value]
            self.expired[value] = None
        while len(self.expired) > EXPIRED_MEMORY:
            del self.expired[next(iter(self.expired))]


def _new_token() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode()[:26]
