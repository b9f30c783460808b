"""The error answers of the emulated BIG-IP, in the shapes a real unit sends.

BIG-IP has two error bodies. Configuration errors come from mcpd through the tm REST
layer: ``{"code", "message", "errorStack": [], "apiError"}``, with ``message`` starting
with an mcpd code such as ``01020066:3:`` and ``apiError`` 3 (mcpd), 1 (REST layer), 2
(a failed transaction) or 26214401 (framework validation). Authentication and routing
errors come from restjavad: ``{"code", "message", "referer", "restOperationId", "kind":
":resterrorresponse"}``. A bad Basic password is neither: it is an HTML page. Every
message text here is quoted in ``mocks/bigip/README.md`` with whether a device was seen
sending it.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Literal

JSON_TYPE = "application/json;charset=utf-8"
MCPD = 3
REST = 1
TRANSACTION = 2
FRAMEWORK = 26214401
_operation_ids = itertools.count(4_200_000)

Shape = Literal["mcpd", "rest", "html"]


class F5Error(Exception):
    """One error answer; ``render`` turns it into status, content type and body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        api_error: int = MCPD,
        shape: Shape = "mcpd",
        reason: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.api_error = api_error
        self.shape = shape
        self.reason = reason
        self.extra = extra or {}

    def body(self, *, referer: str) -> dict[str, Any]:
        if self.shape == "rest":
            body: dict[str, Any] = {"code": self.status, "message": self.message, **self.extra}
            return body | {"referer": referer, "restOperationId": next(_operation_ids), "kind": ":resterrorresponse"}
        return {"code": self.status, "message": self.message, "errorStack": [], "apiError": self.api_error}

    def render(self, *, referer: str, path: str) -> tuple[str, bytes]:
        """(content type, body bytes)."""
        if self.shape == "html":
            return "text/html; charset=iso-8859-1", unauthorized_page(path).encode("latin-1")
        return JSON_TYPE, json.dumps(self.body(referer=referer), separators=(",", ":")).encode()


def unauthorized_page(path: str) -> str:
    """The page a unit answers to a wrong Basic password (not JSON)."""
    safe = path.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">\n'
        "<head><title>Authentication required!</title></head>\n"
        "<body><h1>Authentication required!</h1>\n"
        f'<p>This server could not verify that you are authorized to access the URL "{safe}". '
        "You either supplied the wrong credentials (e.g., bad password), or your browser doesn't "
        "understand how to supply the credentials required.</p>\n"
        "<h2>Error 401</h2></body></html>\n"
    )


# mcpd answers ----------------------------------------------------------------------------


def already_exists(label: str, identity: str, partition: str) -> F5Error:
    return F5Error(409, f"01020066:3: The requested {label} ({identity}) already exists in partition {partition}.")


def not_found(label: str, identity: str) -> F5Error:
    return F5Error(404, f"01020036:3: The requested {label} ({identity}) was not found.")


def object_not_found(identity: str) -> F5Error:
    """The REST layer's 404 for a GET of a pool member that does not exist."""
    return F5Error(404, f"Object not found - {identity}", api_error=REST)


def invalid_name(identity: str) -> F5Error:
    return F5Error(400, f"01070088:3: The requested object name ({identity}) is invalid.")


def folder_missing(folder: str) -> F5Error:
    return F5Error(400, f"The requested folder ({folder}) was not found.", api_error=FRAMEWORK)


def foreign_key(values: str, label: str, identity: str, index: str) -> F5Error:
    """A reference to an object that does not exist (wording modelled on 01070712)."""
    return F5Error(
        400,
        f"01070712:3: Values ({values}) specified for {label} ({identity}): foreign key index ({index}) "
        "do not point at an item that exists in the database.",
    )


def cross_partition(label: str, identity: str, partition: str, other: str, other_partition: str) -> F5Error:
    return F5Error(
        400,
        f"01070726:3: {label} {identity} in partition {partition} cannot reference {other} "
        f"in partition {other_partition}",
    )


def in_use(message: str) -> F5Error:
    return F5Error(400, message)


def invalid_value(key: str, value: Any) -> F5Error:
    return F5Error(400, f'invalid property value "{key}":{json.dumps(value)}', api_error=FRAMEWORK)


def unexpected_pair(where: str, key: str, value: Any) -> F5Error:
    return F5Error(
        400,
        f"Found unexpected json pair at configuration item {where}. "
        f'The json pair "{key}":{json.dumps(value)} is not allowed.',
        api_error=FRAMEWORK,
    )


def bad_request(message: str, *, api_error: int = FRAMEWORK) -> F5Error:
    return F5Error(400, message, api_error=api_error)


def invalid_json() -> F5Error:
    return F5Error(400, "Found invalid JSON body in the request.", api_error=REST)


def no_properties() -> F5Error:
    return F5Error(400, "one or more properties must be specified", api_error=FRAMEWORK)


def html_content() -> F5Error:
    return F5Error(400, "HTML Tag-like Content in the Request URL/Body", api_error=FRAMEWORK)


def method_not_allowed(method: str, path: str) -> F5Error:
    return F5Error(405, f"Method {method} is not supported on {path}", api_error=REST)


# restjavad answers -----------------------------------------------------------------------


def uri_not_registered(path: str) -> F5Error:
    return F5Error(404, f"Public URI path not registered: {path.removeprefix('/mgmt')}", shape="rest")


def rest_error(status: int, message: str, *, reason: str | None = None, **extra: Any) -> F5Error:
    return F5Error(status, message, shape="rest", reason=reason, extra=extra)


def basic_refused() -> F5Error:
    return F5Error(401, "Authentication required!", shape="html", reason="F5 Authorization Required")
