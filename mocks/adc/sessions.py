"""Logins, tokens, session limits and account lockout of the emulated appliance.

Real appliances punish careless clients: tokens expire, the number of concurrent sessions
is capped (a client that logs in per request soon gets locked out of new sessions), and a
run of bad passwords locks the account for everyone. This module reproduces those rules
against an injectable clock, so tests can jump past expiry instead of sleeping.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from mocks.adc.codes import ApiFailure, Code

EXPIRED_MEMORY = 4096


class Clock:
    """Monotonic time plus an offset that the mock controls can advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass(frozen=True)
class AuthPolicy:
    username: str
    password: str = field(repr=False)
    token_lifetime: float = 600.0
    max_sessions: int = 16
    lockout_threshold: int = 5
    lockout_seconds: float = 300.0


@dataclass
class _Failures:
    consecutive: int = 0
    locked_until: float = 0.0


class Sessions:
    """Issued tokens and per-user login failures."""

    def __init__(self, policy: AuthPolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock
        self._tokens: dict[str, float] = {}
        # Tokens that ran out, remembered so a late request still hears "expired", not "unknown".
        self._expired: dict[str, None] = {}
        self._failures: dict[str, _Failures] = {}

    def login(self, username: str, password: str) -> tuple[str, int]:
        """Check credentials and open a session; returns the token and its lifetime."""
        now = self._clock.now()
        failures = self._failures.setdefault(username, _Failures())
        if failures.locked_until > now:
            retry = int(failures.locked_until - now) + 1
            raise ApiFailure(
                Code.ACCOUNT_LOCKED,
                f"account locked after repeated failed logins; retry in {retry} s",
                http_status=403,
            )
        if not self._credentials_match(username, password):
            self._record_failure(failures, now)
            raise ApiFailure(Code.BAD_CREDENTIALS, "invalid username or password", http_status=401)
        failures.consecutive = 0
        self._purge_expired(now)
        if len(self._tokens) >= self._policy.max_sessions:
            raise ApiFailure(
                Code.SESSION_LIMIT,
                f"maximum of {self._policy.max_sessions} concurrent sessions reached",
                http_status=403,
            )
        token = secrets.token_urlsafe(32)
        self._tokens[token] = now + self._policy.token_lifetime
        return token, int(self._policy.token_lifetime)

    def check(self, token: str | None) -> None:
        """Raise the 401 failure that says why a request's token is not acceptable."""
        if not token:
            raise ApiFailure(Code.TOKEN_MISSING, "missing x-access-token header", http_status=401)
        self._purge_expired(self._clock.now())
        if token in self._expired:
            raise ApiFailure(Code.TOKEN_EXPIRED, "token expired; log in again", http_status=401)
        if token not in self._tokens:
            raise ApiFailure(Code.TOKEN_INVALID, "unknown or logged-out token", http_status=401)

    def logout(self, token: str | None) -> None:
        self.check(token)
        assert token is not None
        del self._tokens[token]

    def expire_all(self) -> int:
        """End every session at once (what a reboot or an admin does); returns how many."""
        count = len(self._tokens)
        self._tokens.clear()
        return count

    def active(self) -> int:
        self._purge_expired(self._clock.now())
        return len(self._tokens)

    def _credentials_match(self, username: str, password: str) -> bool:
        user_ok = secrets.compare_digest(username.encode(), self._policy.username.encode())
        password_ok = secrets.compare_digest(password.encode(), self._policy.password.encode())
        return user_ok and password_ok

    def _record_failure(self, failures: _Failures, now: float) -> None:
        failures.consecutive += 1
        if failures.consecutive >= self._policy.lockout_threshold:
            failures.consecutive = 0
            failures.locked_until = now + self._policy.lockout_seconds

    def _purge_expired(self, now: float) -> None:
        # Tokens are issued with one lifetime, so the dict is ordered by expiry: stop early.
        while self._tokens:
            token, expires = next(iter(self._tokens.items()))
            if expires > now:
                break
            del self._tokens[token]
            self._expired[token] = None
        while len(self._expired) > EXPIRED_MEMORY:
            del self._expired[next(iter(self._expired))]
