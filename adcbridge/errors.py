"""The exception tree of adcbridge. Library exceptions are translated into it at the edges.

::

    AdcBridgeError
    ├── ConfigError            invalid settings; the CLI exits 2 with the message
    │   └── KubeNotConfigured      nothing says how to reach the Kubernetes API
    ├── SnapshotError          a cluster snapshot file that cannot be read or parsed
    ├── KubeError              a Kubernetes API request that did not succeed
    │   ├── KubeUnavailable        connect/read failure, timeout, HTTP 429/5xx: retry
    │   ├── KubeExpired            410 Gone: the resourceVersion is compacted; list again
    │   ├── KubeNotFound           404: the object, or the whole kind (a missing CRD)
    │   ├── KubeConflict           409: a stale resourceVersion, or the name is taken
    │   └── KubeRejected           any other 4xx (forbidden, invalid): report it
    ├── DnsError               an RFC 2136 server did not do what we asked
    │   ├── DnsUnavailable         timeouts, SERVFAIL, connection failures (after retries)
    │   └── DnsRejected            REFUSED, NOTAUTH, a bad TSIG signature: check key and zone
    └── AdcError               anything the ADC side did not do
        ├── TransientAdcError  worth retrying: the same request may succeed later
        │   ├── AdcUnavailable     connect/read failure, timeout, reset, HTTP 429/5xx
        │   ├── AdcBusy            configuration locked by another session (3002)
        │   ├── AdcStandby         this unit is standby (3001): wait for the active one
        │   └── AdcSessionLimit    too many sessions (4032): wait for one to expire
        └── PermanentAdcError  retrying the same request cannot help: report it
            ├── AdcAuthError       bad credentials, account locked, forbidden
            ├── AdcRejected        the appliance refused the request (code and field)
            └── AdcProtocolError   an answer that is not the appliance's envelope

``retry_after`` carries the appliance's hint (Retry-After) to the retry policy. Messages
never include credentials or tokens, and quote response bodies truncated.
"""

from __future__ import annotations


class AdcBridgeError(Exception):
    """Base of every error adcbridge raises on purpose."""


class ConfigError(AdcBridgeError):
    """Settings that cannot be used; the message names the field."""


class KubeNotConfigured(ConfigError):
    """No kubeconfig setting, no $KUBECONFIG, no service account and no ~/.kube/config."""


class SnapshotError(AdcBridgeError):
    """A snapshot file that cannot be read or does not hold Kubernetes objects."""


class KubeError(AdcBridgeError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KubeUnavailable(KubeError):
    pass


class KubeExpired(KubeError):
    pass


class KubeNotFound(KubeError):
    pass


class KubeConflict(KubeError):
    pass


class KubeRejected(KubeError):
    pass


class DnsError(AdcBridgeError):
    pass


class DnsUnavailable(DnsError):
    pass


class DnsRejected(DnsError):
    pass


class AdcError(AdcBridgeError):
    def __init__(self, message: str, *, code: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


class TransientAdcError(AdcError):
    retry_after: float | None = None


class AdcUnavailable(TransientAdcError):
    def __init__(self, message: str, *, code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class AdcBusy(TransientAdcError):
    pass


class AdcStandby(TransientAdcError):
    pass


class AdcSessionLimit(TransientAdcError):
    pass


class PermanentAdcError(AdcError):
    pass


class AdcAuthError(PermanentAdcError):
    pass


class AdcRejected(PermanentAdcError):
    pass


class AdcProtocolError(PermanentAdcError):
    pass


BODY_EXCERPT = 200


def excerpt(text: str) -> str:
    """A response body cut short enough for a log line."""
    # Cut before collapsing whitespace: a body can be megabytes of words, and splitting all of
    # it costs many times its size in memory (tests/test_hostile_adc.py, huge bodies).
    head = " ".join(text[: BODY_EXCERPT * 4].split())
    if len(head) <= BODY_EXCERPT and len(text) <= BODY_EXCERPT * 4:
        return head
    return head[:BODY_EXCERPT] + "…"
