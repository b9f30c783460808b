"""URLs of configuration objects, parsed into what they name.

``slb/server`` is the collection of servers, ``slb/server/s1`` one server,
``slb/server/s1/port/80+tcp`` one of its ports, ``slb/server/s1/port`` their collection;
``.../oper`` and ``.../stats`` after a collection or an object are its operational views.
A trailing slash or none names the same thing; the path arrives percent-decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mocks.acos import errors
from mocks.acos.kinds import TOP_LEVEL, Key, Kind

View = Literal["oper", "stats"]
VIEWS: tuple[View, ...] = ("oper", "stats")


@dataclass(frozen=True)
class Target:
    """``path`` is the top-level type; ``parents`` the objects above; ``key`` None for a collection."""

    path: str
    parents: tuple[tuple[Kind, Key], ...]
    kind: Kind
    key: Key | None
    view: View | None

    def url(self) -> str:
        """The object's ``a10-url`` (or the collection's URL)."""
        parts = [f"/axapi/v3/{self.path}"]
        for index, (kind, key) in enumerate(self.parents):
            parts.append(kind.url_key(key))
            parts.append(self.parents[index + 1][0].segment if index + 1 < len(self.parents) else self.kind.segment)
        if self.key is not None:
            parts.append(self.kind.url_key(self.key))
        return "/".join(parts)

    def table(self) -> str:
        """The change log's kind: ``slb/server``, ``slb/server/port``, ``slb/service-group/member``..."""
        return "/".join(
            [self.path, *(kind.segment for kind, _key in self.parents[1:]), *([self.kind.segment] * bool(self.parents))]
        )

    def name(self) -> str:
        """The change log's name: the keys from the top object down, ``/``-joined."""
        keys = [kind.url_key(key) for kind, key in self.parents]
        if self.key is not None:
            keys.append(self.kind.url_key(self.key))
        return "/".join(keys)


def top_level(segments: list[str]) -> tuple[str, list[str]] | None:
    """The longest top-level type the segments start with, and the rest."""
    for size in (3, 2, 1):
        candidate = "/".join(segments[:size])
        if len(segments) >= size and candidate in TOP_LEVEL:
            return candidate, segments[size:]
    return None


def parse(relative: str) -> Target | None:
    """The object ``relative`` (the path after ``/axapi/v3/``, without its slashes at either end)
    names, or None when it names no object type."""
    segments = relative.split("/") if relative else []
    found = top_level(segments)
    if found is None:
        return None
    path, rest = found
    kind = TOP_LEVEL[path]
    parents: tuple[tuple[Kind, Key], ...] = ()
    position = 0
    while True:
        if position == len(rest):
            return Target(path, parents, kind, None, None)
        if rest[position] in VIEWS and position == len(rest) - 1:
            return Target(path, parents, kind, None, _view(rest[position]))
        key = kind.parse_key(rest[position])
        position += 1
        if position == len(rest):
            return Target(path, parents, kind, key, None)
        if rest[position] in VIEWS and position == len(rest) - 1:
            return Target(path, parents, kind, key, _view(rest[position]))
        child = kind.child(rest[position])
        if child is None:
            raise errors.unknown_uri(f"/axapi/v3/{relative}")
        parents, kind = (*parents, (kind, key)), child
        position += 1


def _view(text: str) -> View:
    return "oper" if text == "oper" else "stats"
