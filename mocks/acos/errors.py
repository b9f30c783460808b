"""The error answers of the emulated ACOS unit, in the two shapes aXAPI v3 sends.

Configuration and request errors are the fail envelope ``{"response": {"status": "fail",
"err": {"code", "from", "msg"}}}``: clients such as acos-client look only at ``err.code``
(its ``RESPONSE_CODES`` table), never at the HTTP status. Authentication errors are the
``authorizationschema`` body, without ``err.code``: 403 for refused credentials, 401 for an
unknown or expired session. Every code and message here is listed in ``mocks/acos/README.md``
with whether a device was seen sending it.
"""

from __future__ import annotations

import json
from typing import Any

JSON_TYPE = "application/json"

# Codes on record (acos-client's table, fixtures captured from units).
NOT_FOUND = 1023460352  # "Object specified does not exist"; acos-client ignores it on DELETE
EXISTS = 1023459339  # "Object already exists"
IN_USE = 33619969  # acos-client's only in-use mapping
INVALID_PARAMETER = 1023459393  # "invalid input" on create
JSON_FORMAT = 1023508480  # AxapiJsonFormatError
CONFIG_MANAGER_NOT_READY = 1023463424
SYSTEM_NOT_READY = 1023464192
SYSTEM_BUSY = 1023464193
NO_WRITE_PRIVILEGE = 419545856  # a session that may not write (also this emulator's standby answer)
UNKNOWN_URI = 1207959957  # a NotFound code that acos-client does not ignore on DELETE


class AcosError(Exception):
    """One fail envelope: HTTP ``status``, ``err.code``, ``err.msg`` and ``err.from``."""

    def __init__(self, status: int, code: int, msg: str, *, origin: str = "CM", **extra: Any) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.origin = origin
        self.extra = extra

    def body(self) -> dict[str, Any]:
        err = {"code": self.code, "from": self.origin, "msg": self.msg, **self.extra}
        return {"response": {"status": "fail", "err": err}}


class AuthError(Exception):
    """An ``authorizationschema`` answer: 403 refused credentials, 401 an invalid session."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error

    def body(self) -> dict[str, Any]:
        return {
            "authorizationschema": {
                "code": self.status,
                "error": self.error,
                "auth_uri": "/axapi/v3/auth",
                "logoff_uri": "/axapi/v3/logoff",
                "username": "required",
                "password": "required",
            }
        }


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def bad_credentials() -> AuthError:
    return AuthError(403, "Incorrect user name or password")


def invalid_session() -> AuthError:
    return AuthError(401, "Invalid admin session.")


def session_limit(limit: int) -> AuthError:
    return AuthError(403, f"Login failed: the number of aXAPI sessions has reached the limit ({limit}).")


def not_found(label: str) -> AcosError:
    return AcosError(404, NOT_FOUND, f"Object specified does not exist (object: {label})")


def exists(label: str) -> AcosError:
    return AcosError(400, EXISTS, f'Failed to handle object "{label}". Object already exists', location=label)


def in_use(label: str, user: str) -> AcosError:
    return AcosError(400, IN_USE, f"The {label} is in use by {user} and cannot be deleted")


def invalid(msg: str) -> AcosError:
    return AcosError(400, INVALID_PARAMETER, f"Invalid parameter: {msg}")


def json_format(msg: str) -> AcosError:
    return AcosError(400, JSON_FORMAT, f"JSON format error: {msg}", origin="HTTP")


def unknown_uri(path: str) -> AcosError:
    return AcosError(404, UNKNOWN_URI, f"URI not found: {path}", origin="HTTP")


def method_not_allowed(method: str, path: str) -> AcosError:
    return AcosError(405, UNKNOWN_URI, f"Method {method} is not supported on {path}", origin="HTTP")


def standby() -> AcosError:
    return AcosError(400, NO_WRITE_PRIVILEGE, "No write privilege of this admin session.", origin="BACKEND")


def busy() -> AcosError:
    return AcosError(503, SYSTEM_BUSY, "The system is busy, please try again later.", origin="BACKEND")


def config_manager_not_ready() -> AcosError:
    return AcosError(503, CONFIG_MANAGER_NOT_READY, "Configuration manager is not ready.", origin="BACKEND")


PARTITION_ID_EXISTS = 754974733


def system_not_ready() -> AcosError:
    return AcosError(503, SYSTEM_NOT_READY, "The system is not ready, please try again later.", origin="BACKEND")
