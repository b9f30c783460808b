"""What every dialect's ``apply`` shares: per-operation results, skipping dependants, levels.

A plan is carried out one dependency level at a time (a level = one action on one kind, in the
planner's order), and an operation whose prerequisite failed is skipped, not attempted: a member
is never sent for a pool that could not be created. How a level reaches the appliance (one call
per operation, a transaction, a batch) is the dialect's business; the results look the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from adcbridge.errors import AdcError
from adcbridge.model import Action, Operation

T = TypeVar("T")


@dataclass(frozen=True)
class OperationResult:
    operation: Operation
    outcome: str  # "done", "failed" or "skipped"
    error: str = ""


@dataclass
class ApplyReport:
    results: list[OperationResult] = field(default_factory=list)
    saved: bool = False

    @property
    def failures(self) -> list[OperationResult]:
        return [result for result in self.results if result.outcome != "done"]

    @property
    def writes(self) -> int:
        return sum(result.outcome == "done" for result in self.results)


class ReportBuilder:
    """Collects results and remembers failures, so dependants are skipped."""

    def __init__(self) -> None:
        self.report = ApplyReport()
        self._failed: set[str] = set()

    def blocked(self, operation: Operation) -> list[str]:
        """The prerequisites of ``operation`` that failed or were skipped."""
        return [need for need in operation.needs if need in self._failed]

    def skipped(self, operation: Operation) -> bool:
        """Is a prerequisite of ``operation`` failed or skipped? Then it is recorded as skipped."""
        blocked = self.blocked(operation)
        if blocked:
            self.record(operation, "skipped", f"needs {', '.join(blocked)}")
        return bool(blocked)

    async def run(self, operation: Operation, execute: Callable[[Operation], Awaitable[None]]) -> None:
        if self.skipped(operation):
            return
        try:
            await execute(operation)
        except AdcError as exc:
            self.record(operation, "failed", str(exc))
            return
        self.record(operation, "done")

    def record(self, operation: Operation, outcome: str, error: str = "") -> None:
        if outcome != "done":
            self._failed.add(operation.ref)
        self.report.results.append(OperationResult(operation, outcome, error))


async def all_or_nothing(*calls: Coroutine[Any, Any, T]) -> list[T]:
    """Run concurrently; the first failure cancels the others (no task outlives the call) and is raised."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


def levels(operations: tuple[Operation, ...]) -> list[list[Operation]]:
    """Consecutive operations of one phase and kind; the planner already ordered them."""
    grouped: list[list[Operation]] = []
    for operation in operations:
        phase = (operation.action is Action.DELETE, operation.obj.kind)
        if grouped and (grouped[-1][0].action is Action.DELETE, grouped[-1][0].obj.kind) == phase:
            grouped[-1].append(operation)
        else:
            grouped.append([operation])
    return grouped


async def run_levels(
    operations: tuple[Operation, ...],
    execute: Callable[[Operation], Awaitable[None]],
    *,
    concurrency: int,
    report: ReportBuilder,
) -> None:
    """Each level in turn, with ``concurrency`` workers inside it."""
    for level in levels(operations):
        await in_workers(level, lambda operation: report.run(operation, execute), concurrency=concurrency)


async def in_workers(items: Sequence[T], work: Callable[[T], Awaitable[None]], *, concurrency: int) -> None:
    """``work`` on every item, ``concurrency`` at a time (workers, not a task per item: a level can
    hold 10,000 domains); returns when all are done."""
    pending = iter(items)  # shared by the workers: each takes the next item when it is free

    async def worker() -> None:
        for item in pending:
            await work(item)

    await all_or_nothing(*(worker() for _ in range(min(concurrency, len(items)))))
