"""Who a bearer token is: the admin token and service-account tokens the tests issue.

Only consulted when authorization is on (``FakeKube(authorize=True)``); otherwise any token, or
none, is accepted as before. ``TOKEN`` — the one written into kubeconfigs by default — is
``system:admin`` in ``system:masters``, the group the real server lets do anything. A
service-account token is an opaque random string standing for
``system:serviceaccount:<ns>:<name>`` with the groups the real token authenticator gives
(``system:serviceaccounts``, ``system:serviceaccounts:<ns>``, ``system:authenticated``).

Real service-account tokens are signed JWTs bound to the ServiceAccount's uid; here a token is
just a key into a table, and the only binding kept is that the ServiceAccount object must exist
when the token is used (checked by the caller, who holds the store) — deleting it makes its
tokens fail with 401, as on a real cluster. Tokens never expire; ``revoke`` forgets one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

TOKEN = "fake-kube-token"
AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    service_account: tuple[str, str] | None = None  # (namespace, name) of a service account's token


ADMIN = User("system:admin", (MASTERS, AUTHENTICATED))


def service_account_user(namespace: str, name: str) -> User:
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED)
    return User(f"{SA_PREFIX}{namespace}:{name}", groups, (namespace, name))


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header (scheme case-insensitive); ``""`` if none."""
    scheme, _, token = (header or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Tokens:
    """Token → user. Starts with the admin token; service-account tokens come and go."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {TOKEN: ADMIN}

    def issue(self, namespace: str, name: str) -> str:
        if not namespace or not name or ":" in namespace + name:
            raise ValueError(f"not a service account: namespace {namespace!r}, name {name!r}")
        token = secrets.token_urlsafe(32)
        self._users[token] = service_account_user(namespace, name)
        return token

    def revoke(self, token: str) -> bool:
        return self._users.pop(token, None) is not None

    def user(self, token: str) -> User | None:
        return self._users.get(token) if token else None
