"""Result codes of the emulated appliance and the one exception that carries them.

Every answer of the mock ADC is an envelope ``{"res": {"status", "code", "msg"}, "data"}``.
Business failures travel with HTTP 200 and a non-zero ``code``; only protocol-level
problems (authentication, unknown routes, malformed bodies, injected faults) change the
HTTP status. The numbers are part of the contract documented in ``mocks/adc/README.md``:
renumbering one breaks every client, so add, never reuse.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class Code(IntEnum):
    """Numeric result codes, grouped by the hundreds they start with."""

    SUCCESS = 0
    # Request shape (1xxx).
    MALFORMED_BODY = 1001
    INVALID_FIELD = 1002
    MISSING_FIELD = 1003
    UNKNOWN_FIELD = 1004
    READ_ONLY_FIELD = 1005
    # Object store (2xxx).
    ALREADY_EXISTS = 2001
    NOT_FOUND = 2002
    IN_USE = 2003
    DUPLICATE_VALUE = 2004
    REFERENCE_NOT_FOUND = 2005
    # High availability (3xxx).
    STANDBY = 3001
    CONFIG_LOCKED = 3002
    # Authentication and sessions (4xxx, HTTP 401/403).
    TOKEN_MISSING = 4011
    TOKEN_EXPIRED = 4012
    BAD_CREDENTIALS = 4013
    TOKEN_INVALID = 4014
    ACCOUNT_LOCKED = 4031
    SESSION_LIMIT = 4032
    FORBIDDEN = 4033
    ROUTE_NOT_FOUND = 4040
    METHOD_NOT_ALLOWED = 4050
    # Overload and faults (5xxx and 4290).
    RATE_LIMITED = 4290
    INTERNAL_ERROR = 5000
    BAD_GATEWAY = 5020
    UNAVAILABLE = 5030
    GATEWAY_TIMEOUT = 5040


class ApiFailure(Exception):
    """A failure the appliance reports in its envelope.

    ``http_status`` is 200 for business failures, as real appliances do; ``field`` names
    the offending request field when there is one, so clients can say which input is bad.
    """

    def __init__(
        self,
        code: Code,
        msg: str,
        *,
        http_status: int = 200,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.field = field
        self.headers = headers or {}

    def data(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


def invalid(field: str, why: str) -> ApiFailure:
    """The failure for a field whose value is not acceptable."""
    return ApiFailure(Code.INVALID_FIELD, f"invalid field '{field}': {why}", field=field)
