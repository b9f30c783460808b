"""Everything one emulated ACOS unit knows, shared by its API and its mock controls; it
holds no sockets.

Beyond the running configuration (``config``) it keeps the saved one (what ``write
memory`` last wrote, per partition, and what the state file holds), the sessions, the HA
role, and what tests read: the change log (every write that reached the configuration,
with its outcome) and request counters.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mocks.acos.sessions import Sessions
from mocks.acos.store import Config
from mocks.adc.faults import Faults
from mocks.bigip.auth import Clock

Role = Literal["active", "standby"]
METHODS = ("GET", "POST", "PUT", "DELETE")
DEFAULT_VERSION = "5.2.1-p9"


@dataclass
class Change:
    seq: int
    time: float
    method: str
    path: str
    kind: str
    partition: str
    name: str
    status: int


@dataclass
class UnitState:
    username: str
    password: str = field(repr=False)
    version: str = DEFAULT_VERSION
    hostname: str = "thunder1"
    address: str = "127.0.0.1"
    clock: Clock = field(default_factory=Clock)
    role: Role = "active"
    vcs: bool = False
    changes: list[Change] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    writes_to_memory: int = 0
    busy_answer: str = "system-busy"  # what injected ``busy`` faults answer (``/_mock/busy``)
    on_save: Callable[[], None] = lambda: None
    config: Config = field(default_factory=Config)
    saved: dict[str, Any] = field(default_factory=dict)
    unsaved: set[str] = field(default_factory=set)
    sessions: Sessions = field(init=False)
    faults: Faults = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = Sessions(self.clock, {self.username: self.password})
        self.faults = Faults(methods=METHODS)
        self.saved = self.config.dump()

    def record_change(self, *, method: str, path: str, kind: str, partition: str, name: str, status: int) -> None:
        seq = self.changes[-1].seq + 1 if self.changes else 1
        self.changes.append(Change(seq, self.clock.now(), method, path, kind, partition, name, status))

    def changed(self, partition: str) -> None:
        self.unsaved.add(partition)

    def write_memory(self, partitions: list[str]) -> None:
        """Save ``partitions`` of the running configuration (the others keep their saved copy)."""
        running = self.config.dump()
        saved = {name: value for name, value in self.saved.items() if name in running}
        for name in partitions:
            saved[name] = copy.deepcopy(running[name])
        for name, value in running.items():  # a partition made since the last save exists, empty, once saved
            saved.setdefault(name, value | {"objects": {path: [] for path in value["objects"]}})
        self.saved = saved
        self.unsaved -= set(partitions)
        self.writes_to_memory += 1
        self.on_save()

    def set_password(self, username: str, password: str) -> int:
        """Create a user or change a password: that user's sessions end (returns how many)."""
        self.sessions.passwords[username] = password
        if username == self.username:
            self.password = password
        return self.sessions.end_all(username)

    def reset(self) -> None:
        """A freshly set-up unit again: configuration (the saved one too), sessions, faults, history."""
        self.config = Config()
        self.sessions = Sessions(self.clock, {self.username: self.password})
        self.faults = Faults(methods=METHODS)
        self.role, self.vcs, self.busy_answer = "active", False, "system-busy"
        self.changes.clear()
        self.requests.clear()
        self.paths.clear()
        self.writes_to_memory = 0
        self.unsaved.clear()
        self.saved = self.config.dump()
        self.on_save()

    def describe(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "vcs": self.vcs,
            "unsaved_partitions": sorted(self.unsaved),
            "writes_to_memory": self.writes_to_memory,
            "sessions": len(self.sessions.open),
            "session_limit": self.sessions.limit,
            "idle_minutes": self.sessions.idle_minutes,
            "version": self.version,
        }

    def change_list(self, since: int) -> list[dict[str, Any]]:
        return [asdict(change) for change in self.changes if change.seq > since]
