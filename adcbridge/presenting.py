"""Plans and cycle results as text for people (``adcbridge plan``, ``run --once``) or JSON,
and as findings for Kubernetes Events.

Formatting only: no I/O besides the returned strings, no decisions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from adcbridge.config import KicSettings
from adcbridge.hostnames import InvalidHost, normalize_host
from adcbridge.k8s.events import Finding
from adcbridge.model import (
    Action,
    AdcMember,
    AdcObject,
    ClusterSnapshot,
    Kind,
    ObjectRef,
    Operation,
    Plan,
    Rejection,
    RejectionCause,
    fields_of,
)
from adcbridge.reconciler import CycleReport
from adcbridge.records import RecordChange

MAX_ROWS = 200


def plan_table(plan: Plan) -> str:
    """ACTION KIND NAME DETAIL, one row per operation (at most MAX_ROWS, then a count)."""
    rows = [("ACTION", "KIND", "NAME", "DETAIL")]
    rows += [_row(operation) for operation in plan.operations[:MAX_ROWS]]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ]
    if len(plan.operations) > MAX_ROWS:
        lines.append(f"... and {len(plan.operations) - MAX_ROWS} more")
    return "\n".join(line.rstrip() for line in lines)


def _row(operation: Operation) -> tuple[str, str, str, str]:
    detail = ""
    if operation.action is Action.UPDATE:
        detail = "changes " + ", ".join(operation.changes)
    elif operation.action is Action.CREATE:
        detail = _describe(operation.obj)
    if operation.replacing:  # a node whose address changed: deleted, then created again
        detail = f"replace (address changed) {detail}".rstrip()
    return operation.action.value, operation.obj.kind.label, operation.obj.key, detail


def _describe(obj: AdcObject) -> str:
    fields = fields_of(obj)
    in_key = ("pool",) if isinstance(obj, AdcMember) else ()  # a member's key already names its pool
    shown = {key: value for key, value in fields.items() if key not in ("name", "description", "enable", *in_key)}
    if fields.get("enable") is False:
        shown["enable"] = False
    return " ".join(f"{key}={_short(value)}" for key, value in shown.items())


def _short(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value) or "-"
    return str(value)


def cycle_text(report: CycleReport) -> str:
    """Everything a person should know about one cycle, plan table included."""
    lines: list[str] = []
    if report.error:
        lines.append(f"error: {report.error}")
    if report.plan is not None:
        lines.append(plan_table(report.plan) if report.plan.operations else "no changes: the ADC matches the cluster")
        lines += [f"conflict: {c.kind.label} {c.key}: {c.reason}" for c in report.plan.conflicts]
        if report.plan.hold_reason:
            lines.append(f"held back: {report.plan.hold_reason}")
    if report.desired is not None:
        lines += [f"rejected host {r.host!r} in {r.source}: {r.reason}" for r in report.desired.rejections]
        lines += [f"degraded: {reason}" for reason in report.desired.degraded]
        if not report.desired.complete:
            lines.append("degraded: the cluster view is incomplete; deletions wait")
    if report.applied is not None:
        applied = report.applied
        lines += [f"{r.outcome}: {r.operation.action.value} {r.operation.ref}: {r.error}" for r in applied.failures]
        lines.append(f"applied {applied.writes} of {len(report.plan.operations) if report.plan else 0} operation(s)")
    if report.records is not None:
        lines += records_text(report)
    lines.append(_verdict(report))
    return "\n".join(lines)


def records_text(report: CycleReport) -> list[str]:
    """The RFC 2136 target's part of a cycle: its changes as a table, then what stood in the way."""
    records = report.records
    assert records is not None
    rows = [("ACTION", "ZONE", "NAME", "ADDRESSES")]
    rows += [(c.action.value, c.zone, c.name, _addresses(c)) for c in records.changes[:MAX_ROWS]]
    lines = ["zones (RFC 2136):"] + (_table(rows) if records.changes else ["no changes: the zones match the cluster"])
    if len(records.changes) > MAX_ROWS:
        lines.append(f"... and {len(records.changes) - MAX_ROWS} more")
    lines += [f"zone conflict: {c.name}: {c.reason}" for c in records.conflicts]
    lines += [f"in no configured zone: {name}" for name in records.unzoned]
    if records.hold_reason:
        lines.append(f"zone deletions held back: {records.hold_reason}")
    applied = report.records_applied
    if applied is not None:
        lines += [f"{r.outcome}: {r.change.action.value} {r.change.name}: {r.error}" for r in applied.failures]
        lines.append(
            f"zones: {len(applied.results) - len(applied.failures)} change(s) in {applied.messages} message(s)"
        )
    return lines


def _addresses(change: RecordChange) -> str:
    records = change.want or change.have
    return ",".join(records.addresses) if records else ""


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _verdict(report: CycleReport) -> str:
    if report.dry_run and report.plan is not None and report.plan.operations:
        return f"dry run: {len(report.plan.operations)} change(s) pending, nothing written"
    return "converged" if report.converged else "not converged"


def cycle_json(report: CycleReport) -> str:
    plan = report.plan
    data: dict[str, Any] = {
        "converged": report.converged,
        "error": report.error or None,
        "operations": [_operation_json(op) for op in plan.operations] if plan else [],
        "held_back": [_operation_json(op) for op in plan.held_back] if plan else [],
        "hold_reason": plan.hold_reason if plan else "",
        "conflicts": [{"kind": c.kind.label, "name": c.key, "reason": c.reason} for c in plan.conflicts]
        if plan
        else [],
        "rejected_hosts": [
            {"host": r.host, "reason": r.reason, "source": str(r.source), "cause": r.cause.value}
            for r in (report.desired.rejections if report.desired else ())
        ],
        "degraded": list(report.desired.degraded) if report.desired else [],
    }
    if report.records is not None:
        data["records"] = _records_json(report)
    if report.applied is not None:
        data["failures"] = [
            {"operation": _operation_json(r.operation), "outcome": r.outcome, "error": r.error}
            for r in report.applied.failures
        ]
        data["writes"] = report.applied.writes
    return json.dumps(data, indent=2)


def _records_json(report: CycleReport) -> dict[str, Any]:
    records = report.records
    assert records is not None
    data: dict[str, Any] = {
        "changes": [{"action": c.action.value, "zone": c.zone, "name": c.name, "addresses": _addresses(c)}
                    for c in records.changes],
        "held_back": [c.name for c in records.held_back],
        "hold_reason": records.hold_reason,
        "conflicts": [{"name": c.name, "reason": c.reason} for c in records.conflicts],
        "unzoned": list(records.unzoned),
    }  # fmt: skip
    if report.records_applied is not None:
        data["failures"] = [
            {"action": r.change.action.value, "name": r.change.name, "outcome": r.outcome, "error": r.error}
            for r in report.records_applied.failures
        ]
    return data


def _operation_json(operation: Operation) -> dict[str, Any]:
    return {
        "action": operation.action.value,
        "kind": operation.obj.kind.label,
        "name": operation.obj.key,
        "changes": list(operation.changes),
        "object": fields_of(operation.obj),
    }


def findings(report: CycleReport, kic: KicSettings) -> list[Finding]:
    """What one cycle found, as Events on the Kubernetes objects concerned."""
    service = ObjectRef("Service", kic.namespace, kic.service)
    found: list[Finding] = []
    if report.desired is not None:
        desired = report.desired
        found += [rejection_finding(rejection) for rejection in desired.rejections]
        problems = set(report.snapshot.problems if report.snapshot else ())
        found += [Finding(service, "Degraded", reason) for reason in desired.degraded if reason not in problems]
    if report.plan is not None:
        domain_conflicts = any(conflict.kind is Kind.DOMAIN for conflict in report.plan.conflicts)
        claims = _claims_by_host(report.snapshot) if domain_conflicts else {}  # only then worth the pass
        for conflict in report.plan.conflicts:
            message = f"ADC {conflict.kind.label} {conflict.key}: {conflict.reason}"
            refs = claims.get(conflict.key, []) if conflict.kind is Kind.DOMAIN else [service]
            found += [Finding(ref, "NameConflict", message) for ref in refs or [service]]
        if report.plan.hold_reason:
            found.append(Finding(service, "DeletionsHeldBack", report.plan.hold_reason))
    return found


def rejection_finding(rejection: Rejection) -> Finding:
    """A refused host claim as a Warning on its object: ``HostRejected`` for a host left out,
    ``OrphanMinion`` for a minion whose paths nobody serves (its host may well be published)."""
    host, reason = rejection.host, rejection.reason
    if rejection.cause is RejectionCause.ORPHAN_MINION:
        return Finding(rejection.source, "OrphanMinion", f"host {host!r}: {reason}" if host else reason)
    return Finding(rejection.source, "HostRejected", f"host {host!r} not published: {reason}")


def _claims_by_host(snapshot: ClusterSnapshot | None) -> dict[str, list[ObjectRef]]:
    claims: dict[str, list[ObjectRef]] = {}
    for claim in snapshot.hosts if snapshot else ():
        try:
            claims.setdefault(normalize_host(claim.host), []).append(claim.source)
        except InvalidHost:
            continue
    return claims
