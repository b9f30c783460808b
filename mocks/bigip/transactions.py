"""iControl REST transactions: ``/mgmt/tm/transaction``.

``POST /mgmt/tm/transaction {}`` opens one (``transId`` is the unit's clock in
microseconds, ``state`` STARTED, ``timeoutSeconds`` 120). Writes sent with the header
``X-F5-REST-Coordination-Id: <transId>`` are only checked for their shape and queued as
commands (``evalOrder`` 1, 2, ...; the state becomes UPDATING). ``PATCH
/mgmt/tm/transaction/<id> {"state": "VALIDATING"}`` runs every command in ``evalOrder``
inside one atomic block: all apply and the transaction is COMPLETED, or the first failure
undoes them all and answers 400 ``transaction failed:<message>`` (apiError 2).
``validateOnly: true`` runs them and undoes them even when they succeed. A transaction
older than its ``timeoutSeconds`` is silently gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from mocks.bigip import errors
from mocks.bigip.auth import Clock

DEFAULT_TIMEOUT = 120
EXECUTION_TIMEOUT = 300


@dataclass
class Command:
    command_id: int
    eval_order: int
    method: str
    path: str
    body: Any


@dataclass
class Transaction:
    trans_id: int
    created: float
    timeout: int = DEFAULT_TIMEOUT
    state: str = "STARTED"
    failure_reason: str = ""
    validate_only: bool = False
    commands: list[Command] = field(default_factory=list)
    next_command: int = 1


class _Validated(Exception):
    """Raised inside the atomic block of a validate-only commit to undo what succeeded."""


class Transactions:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._open: dict[int, Transaction] = {}

    def create(self) -> Transaction:
        trans_id = int(self._clock.now() * 1_000_000)
        while trans_id in self._open:
            trans_id += 1
        transaction = Transaction(trans_id, self._clock.now())
        self._open[trans_id] = transaction
        return transaction

    def get(self, raw: str | int) -> Transaction:
        self._purge()
        trans_id = int(raw) if isinstance(raw, int) or (raw.isascii() and raw.isdigit()) else -1
        found = self._open.get(trans_id)
        if found is None:
            raise errors.F5Error(404, f"Transaction {raw} not found.", api_error=errors.REST)
        return found

    def all(self) -> list[Transaction]:
        self._purge()
        return list(self._open.values())

    def delete(self, transaction: Transaction) -> None:
        self._open.pop(transaction.trans_id, None)

    def clear(self) -> None:
        self._open.clear()

    def queue(self, transaction: Transaction, *, method: str, path: str, body: Any) -> Command:
        if transaction.state not in ("STARTED", "UPDATING"):
            raise errors.bad_request(
                f"Transaction {transaction.trans_id} is {transaction.state}: no command can be added.",
                api_error=errors.REST,
            )
        command = Command(transaction.next_command, len(transaction.commands) + 1, method, path, body)
        transaction.next_command += 1
        transaction.commands.append(command)
        transaction.state = "UPDATING"
        return command

    def command(self, transaction: Transaction, raw: str) -> Command:
        for command in transaction.commands:
            if str(command.command_id) == raw:
                return command
        raise errors.F5Error(
            404, f"Command {raw} not found in transaction {transaction.trans_id}.", api_error=errors.REST
        )

    def remove_command(self, transaction: Transaction, command: Command) -> None:
        transaction.commands.remove(command)
        self._renumber(transaction, transaction.commands)

    def reorder(self, transaction: Transaction, command: Command, order: Any) -> None:
        """Move a command to ``order`` (1-based), shifting the others."""
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= len(transaction.commands):
            raise errors.invalid_value("evalOrder", order)
        ordered = sorted(transaction.commands, key=lambda item: item.eval_order)
        ordered.remove(command)
        ordered.insert(order - 1, command)
        self._renumber(transaction, ordered)

    def commit(
        self,
        transaction: Transaction,
        *,
        atomic: Callable[[], AbstractContextManager[None]],
        run: Callable[[Command], None],
        validate_only: bool,
    ) -> None:
        """Run every command in ``evalOrder``, all or nothing; raise the "transaction failed" answer."""
        if transaction.state not in ("STARTED", "UPDATING"):
            raise errors.F5Error(
                400, f"transaction failed:transaction {transaction.trans_id} is {transaction.state}", api_error=2
            )
        if not transaction.commands:
            raise errors.F5Error(400, "transaction failed:the transaction has no commands", api_error=2)
        try:
            with atomic():
                for command in _in_order(transaction):
                    run(command)
                if validate_only:
                    raise _Validated
        except _Validated:
            return
        except errors.F5Error as failure:
            if not validate_only:
                transaction.state = "FAILED"
                transaction.failure_reason = failure.message
            raise errors.F5Error(400, f"transaction failed:{failure.message}", api_error=2) from None
        transaction.state = "COMPLETED"

    def describe(self, transaction: Transaction, *, version: str) -> dict[str, Any]:
        return {
            "transId": transaction.trans_id,
            "state": transaction.state,
            "timeoutSeconds": transaction.timeout,
            "asyncExecution": False,
            "validateOnly": transaction.validate_only,
            "executionTimeout": EXECUTION_TIMEOUT,
            "executionTime": 0,
            "failureReason": transaction.failure_reason,
            "kind": "tm:transactionstate",
            "selfLink": f"https://localhost/mgmt/tm/transaction/{transaction.trans_id}?ver={version}",
        }

    @staticmethod
    def describe_command(transaction: Transaction, command: Command, *, version: str) -> dict[str, Any]:
        answer: dict[str, Any] = {"method": command.method, "uri": f"https://localhost{command.path}"}
        if command.body is not None:
            answer["body"] = command.body
        link = f"https://localhost/mgmt/tm/transaction/{transaction.trans_id}/commands/{command.command_id}"
        return answer | {
            "evalOrder": command.eval_order,
            "commandId": command.command_id,
            "kind": "tm:transaction:commandsstate",
            "selfLink": f"{link}?ver={version}",
        }

    def _purge(self) -> None:
        now = self._clock.now()
        for trans_id in [key for key, item in self._open.items() if item.created + item.timeout <= now]:
            del self._open[trans_id]

    @staticmethod
    def _renumber(transaction: Transaction, ordered: list[Command]) -> None:
        for order, command in enumerate(ordered, start=1):
            command.eval_order = order
        transaction.commands = ordered


def _in_order(transaction: Transaction) -> Iterator[Command]:
    return iter(sorted(transaction.commands, key=lambda command: command.eval_order))
