"""``KubeError``: one exception for every failure the fake API server answers, as a ``Status``.

The real API server reports every failure as a ``meta/v1`` ``Status`` object whose ``reason``
and ``code`` clients branch on (kubernetes_asyncio raises ``ApiException(status=code)``;
client-go's ``IsNotFound``/``IsConflict`` read ``reason``). The constructors below reproduce
the real messages closely enough that a log line read against the fake reads like one read
against a cluster. Nothing here knows about HTTP handlers or the store.
"""

from __future__ import annotations

from typing import Any

from mocks.kube.attributes import Attributes

Obj = dict[str, Any]


class KubeError(Exception):
    """A failed request: ``code`` is the HTTP status, ``reason`` the Status reason."""

    def __init__(self, code: int, reason: str, message: str, *, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(group: str, plural: str, name: str) -> Obj:
    return {"name": name, "group": group, "kind": plural} if group else {"name": name, "kind": plural}


def not_found(qualified: str, group: str, plural: str, name: str) -> KubeError:
    return KubeError(404, "NotFound", f'{qualified} "{name}" not found', details=_details(group, plural, name))


def no_such_route() -> KubeError:
    return KubeError(404, "NotFound", "the server could not find the requested resource", details={})


def already_exists(qualified: str, group: str, plural: str, name: str) -> KubeError:
    message = f'{qualified} "{name}" already exists'
    return KubeError(409, "AlreadyExists", message, details=_details(group, plural, name))


def conflict(qualified: str, group: str, plural: str, name: str, why: str = "") -> KubeError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    message = f'Operation cannot be fulfilled on {qualified} "{name}": {why}'
    return KubeError(409, "Conflict", message, details=_details(group, plural, name))


def invalid(kind_qualified: str, group: str, kind: str, name: str, causes: list[tuple[str, str, str]]) -> KubeError:
    """``causes`` are ``(reason, field, message)``, e.g. ``("FieldValueRequired", "spec", "Required value")``."""
    text = ", ".join(f"{field}: {message}" for _, field, message in causes)
    details = _details(group, kind, name)
    details["causes"] = [{"reason": reason, "message": message, "field": field} for reason, field, message in causes]
    return KubeError(422, "Invalid", f'{kind_qualified} "{name}" is invalid: {text}', details=details)


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def unprocessable(message: str) -> KubeError:
    """A JSON patch that does not apply: the real server's 422 without field causes."""
    return KubeError(422, "Invalid", message)


def expired(message: str) -> KubeError:
    return KubeError(410, "Expired", message)


def method_not_allowed() -> KubeError:
    return KubeError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", details={}
    )


def unsupported_media_type(content_type: str, accepted: tuple[str, ...]) -> KubeError:
    message = (
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
        if content_type
        else "the body of the request was in an unknown format"
    )
    return KubeError(415, "UnsupportedMediaType", message, details={})


def outage_error(code: int) -> KubeError:
    reasons = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
    return KubeError(code, reasons.get(code, "InternalError"), f"fake outage: answering {code}")


def unauthorized() -> KubeError:
    """A missing, unknown or revoked token, or one whose ServiceAccount is gone: the real bare 401."""
    return KubeError(401, "Unauthorized", "Unauthorized")


def _forbidden_text(user: str, attrs: Attributes) -> str:
    if not attrs.resource_request:
        return f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    what = f'User "{user}" cannot {attrs.verb} resource "{attrs.combined_resource}" in API group "{attrs.api_group}"'
    return f'{what} in the namespace "{attrs.namespace}"' if attrs.namespace else f"{what} at the cluster scope"


def forbidden(user: str, attrs: Attributes, reason: str = "") -> KubeError:
    """RBAC said no: the real message (``ingresses.networking.k8s.io is forbidden: User "…" cannot
    list resource "ingresses" in API group "networking.k8s.io" at the cluster scope``) and details."""
    text = _forbidden_text(user, attrs) + (f": {reason}" if reason else "")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if not qualified:
        message = f"forbidden: {text}"
    elif attrs.name:
        message = f'{qualified} "{attrs.name}" is forbidden: {text}'
    else:
        message = f"{qualified} is forbidden: {text}"
    details = {"name": attrs.name, "group": attrs.api_group, "kind": attrs.resource}
    return KubeError(403, "Forbidden", message, details={k: v for k, v in details.items() if v})
