"""Who is asking and may they: authentication and RBAC authorization of every API request.

The innermost middleware, after the outage switch, so it runs exactly where the real server's
filters do: before any handler looks for the resource (a forbidden list of an uninstalled kind is
403, not 404). It always notes the request's attributes in the request log (verb, group,
resource, subresource, namespace, name). Only with ``KubeState.authorize`` on does it check
anything: the bearer token must be the admin token or an issued service-account token whose
ServiceAccount exists (else 401 ``Unauthorized``), and RBAC must allow the attributes (else 403
``Forbidden``); either way the log gets the user, the decision and, when RBAC allowed it, the
binding, role and rule that did. ``/_fake/`` controls pass untouched and unlogged.
"""

from __future__ import annotations

from aiohttp import web

from mocks.kube import errors, rbac
from mocks.kube.api import STATE_KEY, Handler, flag, record_of
from mocks.kube.attributes import Attributes, attributes_of
from mocks.kube.identities import User, bearer_token
from mocks.kube.resources import SERVICE_ACCOUNTS_KEY
from mocks.kube.state import KubeState, RequestRecord


def _note(record: RequestRecord, attrs: Attributes) -> None:
    record.api_group, record.resource, record.subresource = attrs.api_group, attrs.resource, attrs.subresource
    record.namespace, record.name = attrs.namespace, attrs.name
    if attrs.resource_request:
        record.verb = attrs.verb or "other"  # the handler confirms it; a refused request keeps it


def authenticate(state: KubeState, header: str | None) -> User:
    """The user of an ``Authorization`` header, or 401 (missing, unknown, revoked, or its
    ServiceAccount does not exist)."""
    user = state.tokens.user(bearer_token(header))
    if user is None:
        raise errors.unauthorized()
    account = user.service_account
    if account is not None and state.store.get(SERVICE_ACCOUNTS_KEY, *account) is None:
        raise errors.unauthorized()
    return user


def _authorize(state: KubeState, record: RequestRecord, attrs: Attributes, header: str | None) -> None:
    record.allowed = False
    user = authenticate(state, header)
    record.user = user.name
    decision = rbac.decide(state.store, user, attrs)
    record.allowed, record.reason = decision.allowed, decision.reason
    record.grant = decision.grant.as_dict() if decision.grant is not None else None
    if not decision.allowed:
        raise errors.forbidden(user.name, attrs, decision.reason)


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_fake"):
        return await handler(request)
    state = request.app[STATE_KEY]
    attrs = attributes_of(request.method, request.path, request.query, watch=flag(request.query.get("watch")))
    _note(record_of(request), attrs)
    if state.authorize:
        _authorize(state, record_of(request), attrs, request.headers.get("Authorization"))
    return await handler(request)
