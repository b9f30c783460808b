"""Everything one emulated appliance knows, in one object shared by its servers.

The REST API, the mock controls and the DNS responder all read and write this; it holds
no sockets. ``changes`` is the audit log tests use to prove a client wrote nothing when
nothing changed; ``requests`` counts every API request by method, so benchmarks can
report how many calls a client made.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from mocks.adc.faults import Faults
from mocks.adc.sessions import AuthPolicy, Clock, Sessions
from mocks.adc.store import Store

Role = Literal["active", "standby"]
Persist = Literal["auto", "explicit"]


@dataclass
class Change:
    seq: int
    time: float
    method: str
    kind: str
    name: str
    code: int


@dataclass
class ApplianceState:
    policy: AuthPolicy
    clock: Clock = field(default_factory=Clock)
    store: Store = field(default_factory=Store)
    faults: Faults = field(default_factory=Faults)
    role: Role = "active"
    changes: list[Change] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    # "auto": every change is persisted shortly after it is made; "explicit": only
    # ``save_config`` persists (what ``POST /adc/v3.0/system/config/save`` calls), as on
    # appliances whose running configuration is lost on reboot unless it was saved.
    persist: Persist = "auto"
    # Persistence hooks: schedule a save after a change, and save now.
    on_mutation: Callable[[], None] = lambda: None
    on_save: Callable[[], None] = lambda: None
    unsaved: bool = False
    sessions: Sessions = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = Sessions(self.policy, self.clock)

    def record_change(self, *, method: str, kind: str, name: str, code: int) -> None:
        seq = self.changes[-1].seq + 1 if self.changes else 1
        self.changes.append(Change(seq, time.time(), method, kind, name, code))

    def config_changed(self) -> None:
        """The configuration changed: persist it now (auto) or remember it is unsaved (explicit)."""
        self.unsaved = self.persist == "explicit"
        self.on_mutation()

    def save_config(self) -> None:
        self.on_save()
        self.unsaved = False

    def change_password(self, password: str) -> int:
        """An administrator sets a new password for the API user: every session ends (returns how many)."""
        self.policy = replace(self.policy, password=password)
        ended = self.sessions.expire_all()
        self.sessions = Sessions(self.policy, self.clock)
        return ended

    def reset(self) -> None:
        """Back to factory state: no objects, sessions, faults or history; role active."""
        self.store = Store()
        self.faults = Faults()
        self.role = "active"
        self.changes.clear()
        self.requests.clear()
        self.sessions = Sessions(self.policy, self.clock)
        self.save_config()  # a factory reset wipes the saved configuration too

    def snapshot(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "unsaved_changes": self.unsaved,
            "sessions": self.sessions.active(),
            "counts": self.store.counts(),
            **self.store.dump(),
        }
