"""Injectable faults: overload answers, server errors, connection resets and latency.

Rules are matched in order against the request's method and path (shell-style globs). All
matching ``latency`` rules add their delay; the first other matching rule that fires decides
the outcome: an HTTP error status, a "configuration locked" business failure (HTTP 200, the
transient kind a client must retry), a connection reset before or after the request is
applied, or an answer cut off halfway. A rule fires with probability ``rate`` (from a seeded
random generator, so a run can be replayed) at most ``count`` times, which lets a test say
"the next three writes get 503" deterministically.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mocks.adc.codes import ApiFailure, Code, invalid

FaultKind = Literal["status", "busy", "reset", "truncate", "latency"]
STATUS_CODES: dict[int, Code] = {
    429: Code.RATE_LIMITED,
    500: Code.INTERNAL_ERROR,
    502: Code.BAD_GATEWAY,
    503: Code.UNAVAILABLE,
    504: Code.GATEWAY_TIMEOUT,
}
METHODS = ("GET", "POST", "PUT", "DELETE")  # this API has no PATCH; an emulator whose API has it passes its own


@dataclass
class FaultRule:
    kind: FaultKind
    path: str = "*"
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    rate: float = 1.0
    count: int | None = None
    status: int = 503
    retry_after: int | None = 1
    body: Literal["json", "html"] = "json"
    after_apply: bool = False
    latency_ms: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and fnmatch.fnmatchcase(path, self.path)

    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count


@dataclass(frozen=True)
class Decision:
    """What the server does with one request."""

    latency: float = 0.0
    outcome: FaultRule | None = None


class Faults:
    def __init__(self, *, methods: tuple[str, ...] = METHODS) -> None:
        self.rules: list[FaultRule] = []
        self.methods = methods
        self._random = random.Random(0)

    def configure(self, body: Any) -> None:
        """Replace all rules from a ``POST /_mock/faults`` body (validated whole first)."""
        if not isinstance(body, dict) or not isinstance(body.get("rules", []), list):
            raise invalid("rules", 'body must be {"rules": [...], "seed": N}')
        rules = [parse_rule(index, raw, methods=self.methods) for index, raw in enumerate(body.get("rules", []))]
        seed = body.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise invalid("seed", "must be an integer")
        self.rules = rules
        self._random = random.Random(seed)

    def decide(self, method: str, path: str) -> Decision:
        latency = 0.0
        outcome = None
        for rule in self.rules:
            if rule.exhausted() or not rule.matches(method, path):
                continue
            if rule.kind != "latency" and outcome is not None:
                continue
            if rule.rate < 1.0 and self._random.random() >= rule.rate:
                continue
            rule.fired += 1
            if rule.kind == "latency":
                latency += rule.latency_ms / 1000
            else:
                outcome = rule
        return Decision(latency=latency, outcome=outcome)

    def describe(self) -> list[dict[str, Any]]:
        return [asdict(rule) for rule in self.rules]


def status_failure(rule: FaultRule) -> ApiFailure:
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    return ApiFailure(
        STATUS_CODES[rule.status],
        f"injected fault: HTTP {rule.status}",
        http_status=rule.status,
        headers=headers,
    )


def parse_rule(index: int, raw: Any, *, methods: tuple[str, ...] = METHODS) -> FaultRule:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise invalid(where, "must be an object")
    known = set(FaultRule.__dataclass_fields__) - {"fired"}
    unknown = set(raw) - known
    if unknown:
        raise invalid(f"{where}.{sorted(unknown)[0]}", "unknown fault field")
    try:
        fields: dict[str, Any] = {"methods": list(methods), **raw}
        rule = FaultRule(**fields)
    except TypeError as exc:
        raise invalid(where, str(exc)) from None
    _check_rule(where, rule, methods)
    return rule


def _check_rule(where: str, rule: FaultRule, methods: tuple[str, ...]) -> None:
    if rule.kind not in ("status", "busy", "reset", "truncate", "latency"):
        raise invalid(f"{where}.kind", "must be status, busy, reset, truncate or latency")
    if not isinstance(rule.path, str) or not isinstance(rule.methods, list):
        raise invalid(f"{where}.path", "path must be a glob string and methods a list")
    if any(method not in methods for method in rule.methods):
        raise invalid(f"{where}.methods", f"methods are {', '.join(methods)}")
    if isinstance(rule.rate, bool) or not isinstance(rule.rate, int | float) or not 0 <= rule.rate <= 1:
        raise invalid(f"{where}.rate", "must be a number from 0 to 1")
    if rule.count is not None and (not _is_int(rule.count) or rule.count < 0):
        raise invalid(f"{where}.count", "must be a non-negative integer or null")
    if rule.kind == "status" and (not _is_int(rule.status) or rule.status not in STATUS_CODES):
        raise invalid(f"{where}.status", f"must be one of {sorted(STATUS_CODES)}")
    if rule.retry_after is not None and (not _is_int(rule.retry_after) or rule.retry_after < 0):
        raise invalid(f"{where}.retry_after", "must be a non-negative integer or null")
    if rule.body not in ("json", "html"):
        raise invalid(f"{where}.body", "must be json or html")
    if not _is_int(rule.latency_ms) or not 0 <= rule.latency_ms <= 60_000:
        raise invalid(f"{where}.latency_ms", "must be an integer from 0 to 60000")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
