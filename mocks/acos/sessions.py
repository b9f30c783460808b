"""aXAPI sessions: ``POST /axapi/v3/auth`` gives a signature, every later request sends
``Authorization: A10 <signature>``, ``POST /axapi/v3/logoff`` ends it.

Each session has its own active partition (``shared`` at login). A session unused for the
idle timeout (``axapi-idle``, 10 minutes by default; 0 never) ends; at most
``axapi-session-limit`` sessions (30 by default) are open at once, and a login beyond that
is refused until one ends, so a client that logs in per request and never logs off
locks itself out. Time comes from the unit's clock, which the mock controls can move.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from mocks.acos import errors
from mocks.acos.store import SHARED
from mocks.bigip.auth import Clock

DEFAULT_IDLE_MINUTES = 10
DEFAULT_LIMIT = 30


@dataclass
class Session:
    signature: str
    user: str
    partition: str
    last_used: float


@dataclass
class Sessions:
    clock: Clock
    passwords: dict[str, str] = field(repr=False)
    idle_minutes: int = DEFAULT_IDLE_MINUTES
    limit: int = DEFAULT_LIMIT
    open: dict[str, Session] = field(default_factory=dict)
    logins: int = 0
    failed_logins: int = 0
    logoffs: int = 0
    expired: int = 0

    def login(self, username: object, password: object) -> Session:
        if not isinstance(username, str) or not isinstance(password, str) or not self._matches(username, password):
            self.failed_logins += 1
            raise errors.bad_credentials()
        self.purge()
        if len(self.open) >= self.limit:
            raise errors.session_limit(self.limit)
        session = Session(secrets.token_hex(16), username, SHARED, self.clock.now())
        self.open[session.signature] = session
        self.logins += 1
        return session

    def _matches(self, username: str, password: str) -> bool:
        stored = self.passwords.get(username)
        return stored is not None and secrets.compare_digest(stored.encode(), password.encode())

    def check(self, header: str | None) -> Session:
        """The session an ``Authorization: A10 <signature>`` header names; 401 otherwise."""
        self.purge()
        scheme, _sep, signature = (header or "").partition(" ")
        session = self.open.get(signature.strip()) if scheme == "A10" else None
        if session is None:
            raise errors.invalid_session()
        session.last_used = self.clock.now()
        return session

    def logoff(self, session: Session) -> None:
        del self.open[session.signature]
        self.logoffs += 1

    def purge(self) -> None:
        if self.idle_minutes == 0:
            return
        horizon = self.clock.now() - self.idle_minutes * 60
        for signature in [signature for signature, session in self.open.items() if session.last_used <= horizon]:
            del self.open[signature]
            self.expired += 1

    def end_all(self, user: str | None = None) -> int:
        ended = [signature for signature, session in self.open.items() if user is None or session.user == user]
        for signature in ended:
            del self.open[signature]
        return len(ended)

    def leave_partition(self, name: str) -> None:
        """Sessions in a partition that is deleted fall back to ``shared``."""
        for session in self.open.values():
            if session.partition == name:
                session.partition = SHARED
