"""Everything one emulated BIG-IP knows, in one object shared by its REST API, its mock
controls and its DNS responder; it holds no sockets.

Beyond the configuration (``store``) it keeps what a unit keeps about itself (users and
tokens, open transactions, the HA role, whether the configuration was saved and synced)
and what tests read: the change log (every write that reached the configuration, with
its outcome and transaction) and request counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mocks.adc.faults import Faults
from mocks.bigip.auth import Clock, Users
from mocks.bigip.catalog import DEFAULT_VERSION, fresh_store
from mocks.bigip.store import Store
from mocks.bigip.transactions import Transactions

Role = Literal["active", "standby"]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Change:
    seq: int
    time: float
    method: str
    path: str
    kind: str
    partition: str | None
    name: str
    transaction: int | None
    status: int
    rolled_back: bool = False  # run inside a transaction commit that failed or only validated


@dataclass
class UnitState:
    username: str
    password: str = field(repr=False)
    version: str = DEFAULT_VERSION
    hostname: str = "bigip1.example.com"
    clock: Clock = field(default_factory=Clock)
    role: Role = "active"
    device_group: str | None = None
    changes: list[Change] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    # Persistence: ``save`` writes the configuration where the unit keeps it (the state file).
    on_save: Callable[[], None] = lambda: None
    unsaved: bool = False
    sync_pending: bool = False
    store: Store = field(init=False)
    users: Users = field(init=False)
    faults: Faults = field(init=False)
    transactions: Transactions = field(init=False)

    def __post_init__(self) -> None:
        self.configured_group = self.device_group
        self.store = fresh_store(version=self.version)
        self.users = Users(self.clock, passwords={self.username: self.password})
        self.faults = Faults(methods=METHODS)
        self.transactions = Transactions(self.clock)

    def record_change(
        self,
        *,
        method: str,
        path: str,
        kind: str,
        partition: str | None,
        name: str,
        transaction: int | None,
        status: int,
    ) -> None:
        seq = self.changes[-1].seq + 1 if self.changes else 1
        self.changes.append(Change(seq, self.clock.now(), method, path, kind, partition, name, transaction, status))

    def config_changed(self) -> None:
        self.unsaved = True
        self.sync_pending = True

    def save_config(self) -> None:
        self.on_save()
        self.unsaved = False

    def sync_status(self) -> str:
        """``Standalone`` outside a device group; else ``Changes Pending`` or ``In Sync``."""
        if self.device_group is None:
            return "Standalone"
        return "Changes Pending" if self.sync_pending else "In Sync"

    def failover_status(self) -> str:
        return "STANDBY" if self.role == "standby" else "ACTIVE"

    def set_password(self, username: str, password: str) -> int:
        """Create a user or change a password: every token of that user ends (returns how many)."""
        self.users.passwords[username] = password
        if username == self.username:
            self.password = password
        ended = self.users.of(username)
        for token in ended:
            self.users.delete(token)
        return len(ended)

    def reset(self) -> None:
        """Back to a freshly set-up unit: configuration, tokens, transactions, faults, history."""
        self.store = fresh_store(version=self.version)
        self.users = Users(self.clock, passwords={self.username: self.password})
        self.faults = Faults(methods=METHODS)
        self.transactions.clear()
        self.role = "active"
        self.device_group = self.configured_group
        self.changes.clear()
        self.requests.clear()
        self.paths.clear()
        self.sync_pending = False
        self.save_config()

    def describe(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "failover_status": self.failover_status(),
            "sync_status": self.sync_status(),
            "device_group": self.device_group,
            "unsaved_changes": self.unsaved,
            "generation": self.store.db.generation,
            "version": self.version,
        }

    def change_list(self, since: int) -> list[dict[str, Any]]:
        return [asdict(change) for change in self.changes if change.seq > since]
