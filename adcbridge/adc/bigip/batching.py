"""A plan's writes in iControl REST transactions: few commits, and one bad object blocks nothing.

A BIG-IP applies a transaction all or nothing: ``POST /mgmt/tm/transaction`` opens one, every
write sent with ``X-F5-REST-Coordination-Id: <transId>`` is queued (not applied), and ``PATCH
/mgmt/tm/transaction/<transId> {"state": "VALIDATING"}`` (without the header) runs the queue in
``evalOrder`` and answers ``COMPLETED``, or 400 ``transaction failed:<why>`` having applied nothing.

Choices, and why:

- **A transaction never spans dependency levels.** The plan's levels (``applying.levels``: nodes
  before their members, pools before members and virtual servers, deletes in reverse) are run one
  after another, and a level is cut into batches of at most ``adc.batch_size`` operations. Whether a
  unit checks a command's references in ``evalOrder`` or only once the whole queue ran is not on
  record (F5's lab says the order must be obeyed; an Ansible module queues virtual before pool), so
  the bridge never relies on the order inside a transaction: the operations of one level do not
  depend on each other. This costs one commit per level at least; a cold sync of N objects takes
  about N command requests plus two requests (open, commit) per batch.
- **A refused batch is retried one operation at a time, without a transaction.** When the unit
  refuses the batch (any 4xx while queueing or committing, or a commit that does not end
  ``COMPLETED``), each operation is sent alone through the driver's own write, so the others are
  applied and each operation's result is its own. The races a direct write settles (409 on create:
  converge it if it is ours; 404 on delete: done; 404 on update: create) show up in a transaction
  only as a failed commit; the retry is where they are settled. A commit whose answer was lost is
  retried by the session, is refused as already done, and the retry finds every object in place.
- **An unreachable unit fails the batch as one.** When the unit does not answer (the session's
  retries ran out), the login is refused, or the write may not leave (dry run, no longer the
  leader), every operation of the batch is reported failed with that error: sending them one by one
  would cost a deadline each and meet the same error, and the next cycle observes what was applied
  and plans the rest.
- **A batch of one operation skips the transaction** (one request instead of three).
- Batches of one level run ``adc.concurrency`` at a time, each in its own transaction; the commands
  of a transaction are queued one after another, in the plan's order. A transaction left uncommitted
  (a queueing error) is dropped by the unit after its ``timeoutSeconds`` (120 s); a batch queued
  more slowly than that finds its transaction gone at commit (404), which is a refusal like any.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adcbridge.adc.applying import ReportBuilder, in_workers, levels
from adcbridge.adc.bigip.units import Requests
from adcbridge.errors import AdcError, AdcProtocolError, AdcRejected
from adcbridge.model import Operation

log = logging.getLogger(__name__)
TRANSACTIONS = "tm/transaction"
COORDINATION = "X-F5-REST-Coordination-Id"
COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class Write:
    """One operation as the request that carries it out."""

    method: str
    path: str
    body: dict[str, Any] | None = None


class Batches:
    """Runs one plan's operations, level by level, in transactions of at most ``size`` operations.

    ``write`` gives an operation's request; ``execute`` carries one operation out alone, settling
    the races of a direct write (the driver's)."""

    def __init__(
        self,
        client: Requests,
        *,
        size: int,
        concurrency: int,
        write: Callable[[Operation], Write],
        execute: Callable[[Operation], Awaitable[None]],
    ) -> None:
        self._client = client
        self._size = size
        self._concurrency = concurrency
        self._write = write
        self._execute = execute

    async def run(self, operations: tuple[Operation, ...], report: ReportBuilder) -> None:
        for level in levels(operations):
            ready = [operation for operation in level if not report.skipped(operation)]
            batches = [ready[start : start + self._size] for start in range(0, len(ready), self._size)]
            await in_workers(batches, lambda batch: self._batch(batch, report), concurrency=self._concurrency)

    async def _batch(self, batch: list[Operation], report: ReportBuilder) -> None:
        if len(batch) == 1:
            await report.run(batch[0], self._execute)
            return
        try:
            await self._commit([self._write(operation) for operation in batch])
        except (AdcRejected, AdcProtocolError) as exc:
            log.info("a batch of %d operations was refused (%s); sending them one by one", len(batch), exc)
            for operation in batch:
                await report.run(operation, self._execute)
            return
        except AdcError as exc:
            for operation in batch:
                report.record(operation, "failed", str(exc))
            return
        for operation in batch:
            report.record(operation, "done")

    async def _commit(self, writes: list[Write]) -> None:
        """Open a transaction, queue ``writes`` in order, commit; raise unless it ``COMPLETED``."""
        trans_id = _trans_id(await self._client.request("POST", TRANSACTIONS, {}))
        queued = {COORDINATION: trans_id}
        for write in writes:
            await self._client.request(write.method, write.path, write.body, headers=queued)
        answer = await self._client.request("PATCH", f"{TRANSACTIONS}/{trans_id}", {"state": "VALIDATING"})
        state = answer.get("state") if isinstance(answer, Mapping) else None
        if state != COMPLETED:
            reason = answer.get("failureReason") if isinstance(answer, Mapping) else None
            raise AdcRejected(f"transaction {trans_id} ended {str(state)[:20]}: {str(reason)[:200]}")


def _trans_id(answer: Any) -> str:
    """The ``transId`` (a large integer) of the answer that opened a transaction."""
    value = answer.get("transId") if isinstance(answer, Mapping) else None
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()):
        raise AdcProtocolError("POST /mgmt/tm/transaction: no transId in the answer")
    return text
