"""What every dialect's ``apply`` shares: per-operation results, skipping dependants, levels.

A plan is carried out one dependency level at a time (a level = one action on one kind, in the
planner's order), and an operation whose prerequisite failed is skipped, not attempted: a member
is never sent for a pool that could not be created. How a level reaches the appliance (one call
per operation, a transaction, a batch) is the dialect's business; the results look the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
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

    async def run(self, operation: Operation, execute: Callable[[Operation], Awaitable[None]]) -> None:
        blocked = self.blocked(operation)
        if blocked:
            self.record(operation, "skipped", f"needs {', '.join(blocked)}")
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
    """Each level in turn, with ``concurrency`` workers inside it (workers, not a task per
    operation: a level can hold 10,000 domains)."""
    for level in levels(operations):
        pending = iter(level)  # shared by the workers: each takes the next operation when it is free

        async def work() -> None:
            for operation in pending:  # noqa: B023 - each level's workers finish before the next level
                await report.run(operation, execute)

        await all_or_nothing(*(work() for _ in range(min(concurrency, len(level)))))
